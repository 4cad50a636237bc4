#!/bin/bash
# run-tests.sh - containerv's cgroup tests on cgroup v2 for real.
#
# Builds the cgroup integration tests of crates/containerv (limits_cgroup:
# the enforcement tests shared with the host; limits_v2: v2-only ones,
# #[ignore]d on other hosts) as static x86_64-unknown-linux-musl binaries,
# boots the v2-only VM (cgroup2-vm.sh beside this script) and runs them
# there as root, one test at a time (the VM is emulated: timing tests need
# the CPUs to themselves).
#
# Prints the tests' output, then one closing line "N passed, N failed";
# exits non-zero when a test failed, the build failed or the VM did not
# finish.  Honors CARGO_TARGET_DIR.  Needs: rustup (the musl target is
# added if missing), qemu-system-x86, busybox-static, and the Debian kernel
# the VM script fetches once with apt-get download.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
TARGET=x86_64-unknown-linux-musl
TESTS=(limits_cgroup limits_v2 spec_devices spec_cgroupfs quota_fs)

fail() { echo "run-tests.sh: $*" >&2; echo "0 passed, 1 failed"; exit 1; }

if ! rustup target list --installed 2>/dev/null | grep -qx "$TARGET"; then
  rustup target add "$TARGET" >&2 || fail "cannot add the $TARGET target"
fi
cd "$repo"
args=()
for t in "${TESTS[@]}"; do args+=(--test "$t"); done
json=$(cargo test -p containerv --target "$TARGET" --no-run --message-format=json "${args[@]}") \
  || fail "building the tests for $TARGET failed"
mapfile -t bins < <(printf '%s\n' "$json" | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p')
[ ${#bins[@]} -eq ${#TESTS[@]} ] || fail "expected ${#TESTS[@]} test binaries, got: ${bins[*]}"

work=$(mktemp -d "${TMPDIR:-/tmp}/cv-cg2-tests.XXXXXX")
trap 'rm -rf "$work"' EXIT
files=()
for b in "${bins[@]}"; do
  name=$(basename "$b"); name=${name%%-*}
  cp "$b" "$work/$name.test" && strip "$work/$name.test" 2>/dev/null
  files+=(-f "$work/$name.test")
done
# quota_fs: an xfs and an ext4 (project feature) image, made here with
# mkfs (the VM has no mkfs; this host's kernel has no quotas). xfsprogs
# refuses a filesystem under 300 MiB unless its own test suite runs it:
# the variables say so.
truncate -s 64M "$work/quota-xfs.img" "$work/quota-ext4.img"
TEST_DIR=1 TEST_DEV=1 QA_CHECK_FS=1 mkfs.xfs -q -f "$work/quota-xfs.img" \
  || fail "mkfs.xfs failed (scripts/install-deps installs xfsprogs)"
mkfs.ext4 -q -F -O project,quota "$work/quota-ext4.img" \
  || fail "mkfs.ext4 failed (scripts/install-deps installs e2fsprogs)"
files+=(-f "$work/quota-xfs.img" -f "$work/quota-ext4.img")
cat > "$work/run-all" <<'EOS'
#!/bin/sh
# inside the VM: run every test binary, all tests including the ignored
# (v2-only) ones
rc=0
for t in /test/*.test; do
  echo "==== running $(basename "$t" .test)"
  "$t" --include-ignored --test-threads=1 2>&1 || rc=1
done
exit $rc
EOS
chmod +x "$work/run-all"

out="$work/vm.log"
"$here/cgroup2-vm.sh" -m 768 -t 900 -k brd -k crc32c_generic -k loop -k xfs -k ext4 -k quota_v2 -k overlay "${files[@]}" "$work/run-all" | tee "$out"
vmrc=${PIPESTATUS[0]}
passed=$(sed -n 's/^test result: .*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\1/p' "$out" | awk '{s+=$1} END {print s+0}')
failed=$(sed -n 's/^test result: .*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\2/p' "$out" | awk '{s+=$1} END {print s+0}')
results=$(grep -c '^test result:' "$out")
if [ "$results" -ne ${#TESTS[@]} ] && [ "$failed" -eq 0 ]; then
  echo "run-tests.sh: only $results of ${#TESTS[@]} test binaries reported (VM rc=$vmrc)" >&2
  failed=1
fi
if [ "$vmrc" -ne 0 ] && [ "$failed" -eq 0 ]; then
  echo "run-tests.sh: the VM run ended with rc=$vmrc" >&2
  failed=1
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
