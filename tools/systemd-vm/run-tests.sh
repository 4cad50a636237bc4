#!/bin/bash
# run-tests.sh - the systemd cgroup driver of the OCI runtime, for real:
# `containerv --systemd-cgroup` next to runc (Debian's, in the image) on the
# same bundles, inside the systemd VM (systemd-vm.sh beside this script).
#
# Builds the runtime as a static x86_64-unknown-linux-musl binary, writes
# one bundle template (runc's `runc spec`, made non-interactive, with
# memory/cpu/pids limits and cgroupsPath "@CGPATH@"), boots the VM and runs
# systemd-driver-tests.sh there. Prints its "ok - / FAIL - / SKIP -" lines,
# then one closing line "N passed, N failed, N skipped" (the format
# scripts/lib/count-results.awk reads). When the VM cannot be built (no
# mmdebstrap, no Debian mirror, no qemu) every test is reported skipped
# with the reason, never passed. Honors CARGO_TARGET_DIR.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
TARGET=x86_64-unknown-linux-musl
# The number of tests systemd-driver-tests.sh reports (its PLAN).
NTESTS=$(sed -n 's/^PLAN=\([0-9]*\)$/\1/p' "$here/systemd-driver-tests.sh")

skip_all() { echo "SKIP - systemd VM tests: $*"; echo "0 passed, 0 failed, $NTESTS skipped"; exit 0; }
fail() { echo "run-tests.sh: $*" >&2; echo "0 passed, 1 failed"; exit 1; }

if ! rustup target list --installed 2>/dev/null | grep -qx "$TARGET"; then
  rustup target add "$TARGET" >&2 || fail "cannot add the $TARGET target"
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/cv-systemd-tests.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The VM first: when it cannot be had, nothing else matters.
"$here/systemd-vm.sh" -b 2> "$work/build.log"
rc=$?
if [ $rc -ne 0 ]; then
  cat "$work/build.log" >&2
  [ $rc -eq 3 ] && skip_all "$(grep 'cannot build the VM' "$work/build.log" | tail -n1)"
  fail "building the VM failed (rc=$rc)"
fi

cd "$repo"
json=$(cargo build -p containerv-runtime --bin containerv --target "$TARGET" --message-format=json) \
  || fail "building containerv for $TARGET failed"
bin=$(printf '%s\n' "$json" | sed -n 's/.*"executable":"\([^"]*containerv\)".*/\1/p' | tail -n1)
[ -x "$bin" ] || fail "no containerv binary in cargo's output"
cp "$bin" "$work/containerv" && strip "$work/containerv" 2>/dev/null

# One bundle template for both runtimes (as runc writes it).
mkdir "$work/spec"
python3 - "$work/spec/config.json" <<'EOF' || fail "writing the bundle template failed"
import json, subprocess, sys, tempfile
d = tempfile.mkdtemp()
subprocess.run(["runc", "spec"], cwd=d, check=True)
c = json.load(open(d + "/config.json"))
c["process"]["terminal"] = False
c["process"]["args"] = ["sleep", "1000"]
c["root"]["readonly"] = False
c["hostname"] = "systemd-test"
# first, so that deleting its line (a bundle without one) keeps valid JSON
c["linux"] = {"cgroupsPath": "@CGPATH@", **c["linux"]}
c["linux"]["resources"] = {
    "devices": c["linux"]["resources"]["devices"],
    "memory": {"limit": 67108864},
    "cpu": {"quota": 50000, "period": 100000},
    "pids": {"limit": 42},
}
json.dump(c, open(sys.argv[1], "w"), indent=1)
EOF

"$here/systemd-vm.sh" -t 900 -f "$work/containerv" -f "$work/spec/config.json" \
  "$here/systemd-driver-tests.sh" | tee "$work/vm.log"
vmrc=${PIPESTATUS[0]}
passed=$(grep -c '^ok - ' "$work/vm.log")
failed=$(grep -c '^FAIL - ' "$work/vm.log")
skipped=$(grep -c '^SKIP - ' "$work/vm.log")
if [ $((passed + failed + skipped)) -ne "$NTESTS" ]; then
  echo "run-tests.sh: $((passed + failed + skipped)) of $NTESTS tests reported (VM rc=$vmrc)" >&2
  failed=$((failed + NTESTS - passed - failed - skipped))
fi
if [ "$vmrc" -ne 0 ] && [ "$failed" -eq 0 ]; then
  echo "run-tests.sh: the VM run ended with rc=$vmrc" >&2
  failed=1
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
