#!/usr/bin/env bash
# Specs as the OCI runtime-tools validation programs write them, run on
# containerv, runc and crun side by side.
#
# The runtime-tools validation suite itself (its 58 programs and
# runtimetest) is not installable here: Debian ships only its library
# packages (golang-github-opencontainers-runtime-tools-dev: generate,
# validate, specerror, ...), the Debian mirror serves no source tarball
# for it, and its TAP library (mndrix/tap-go) is not packaged. This
# harness uses that library the way the suite does: gen/ builds each
# bundle with runtime-tools' generator (generate.New("linux") +
# encoding/json: Go's omitempty shape, 0700 bundle directories as
# os.MkdirTemp makes them), and each container prints what it sees.
#
#   tools/conformance/run.sh [CONTAINERV_BINARY]
#
# Needs root, golang-go and golang-github-opencontainers-runtime-tools-dev
# (apt-get install), busybox-static, runc and crun. Ends with
# "containerv: N passed, N failed" (what scripts/test counts) and, for
# comparison only, "reference runc: ..." and "reference crun: ..." (runc
# 1.1 ignores kernelTCP, leaves a shared rootfsPropagation private and
# cannot bind a rootfs from an unbindable tree). Exit 1 if containerv
# failed any case.
set -uo pipefail
cd "$(dirname "$0")/../.."
top=$PWD
cv=${1:-$top/target/debug/containerv}
[ -x "$cv" ] || { echo "run.sh: no containerv binary at $cv (cargo build -p containerv-runtime)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "run.sh: run as root" >&2; exit 2; }
for t in go busybox; do
  command -v "$t" >/dev/null || { echo "run.sh: $t is needed" >&2; exit 2; }
done
[ -d /usr/share/gocode/src/github.com/opencontainers/runtime-tools/generate ] ||
  { echo "run.sh: apt-get install golang-github-opencontainers-runtime-tools-dev" >&2; exit 2; }

work=$(mktemp -d /tmp/cv-conformance.XXXXXX)
trap 'rm -rf "$work"' EXIT
# A busybox rootfs readable by a mapped root (user-namespace case).
rootfs=$work/rootfs
mkdir -p "$rootfs"/{bin,proc,sys,dev,etc,tmp}
cp "$(command -v busybox)" "$rootfs/bin/busybox"
for a in $("$rootfs/bin/busybox" --list); do
  [ "$a" = busybox ] || ln -sf busybox "$rootfs/bin/$a"
done
chmod 755 "$work"

GOPATH=/usr/share/gocode GO111MODULE=off GOCACHE=$work/gocache \
  go build -o "$work/gen" ./tools/conformance/gen || { echo "run.sh: building gen failed" >&2; exit 2; }
mkdir "$work/bundles"
"$work/gen" "$work/bundles" "$rootfs" || exit 2

# crun 1.8 refuses hybrid hosts unless cgroup2's controller list looks
# empty: it runs in a mount namespace with an empty file over it.
: > "$work/empty"
run_crun() {
  if [ -e /sys/fs/cgroup/unified/cgroup.controllers ]; then
    unshare -m --propagation private sh -c \
      'mount --bind "$0" /sys/fs/cgroup/unified/cgroup.controllers && exec crun "$@"' "$work/empty" "$@"
  else
    crun "$@"
  fi
}

total_rc=0
for rt in containerv runc crun; do
  case $rt in
    containerv) cmd=("$cv") ;;
    runc) command -v runc >/dev/null || { echo "$rt: not installed"; continue; }; cmd=(runc) ;;
    crun) command -v crun >/dev/null || { echo "$rt: not installed"; continue; }; cmd=(run_crun) ;;
  esac
  root=$work/root-$rt
  mkdir -m 0700 "$root"
  pass=0 fail=0
  for b in "$work"/bundles/*/; do
    name=$(basename "$b")
    id="cvconf-$rt-$name-$$"
    out=$(cd "$b" && "${cmd[@]}" --root "$root" run "$id" </dev/null 2>"$work/err")
    want=$(cat "$b/expect")
    if [ "$out" = "$want" ]; then
      pass=$((pass + 1)); echo "ok $rt $name"
    else
      fail=$((fail + 1))
      echo "not ok $rt $name: got '$out', want '$want': $(tail -1 "$work/err")"
    fi
    "${cmd[@]}" --root "$root" delete -f "$id" >/dev/null 2>&1
  done
  if [ "$rt" = containerv ]; then
    echo "$rt: $pass passed, $fail failed"
  else
    echo "reference $rt: $pass passed, $fail failed"
  fi
  [ "$rt" = containerv ] && [ "$fail" != 0 ] && total_rc=1
done
exit $total_rc
