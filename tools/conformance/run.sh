#!/usr/bin/env bash
# The scenarios of the OCI runtime-tools validation programs, run on
# containerv, runc and crun side by side.
#
# The runtime-tools validation suite itself (its 58 programs and
# runtimetest) is not installable here: Debian ships only its library
# packages (golang-github-opencontainers-runtime-tools-dev: generate,
# cgroups, validate, specerror, ...), the Debian mirror serves no source
# tarball for it, and its TAP library (mndrix/tap-go) is not packaged.
# This harness uses that library the way the suite does:
# - gen/ builds every spec with runtime-tools' generator
#   (generate.New("linux") + encoding/json: Go's omitempty shape, 0700
#   bundle directories as os.MkdirTemp makes them) and reads cgroups back
#   with runtime-tools' cgroups package, as linux_cgroups_* do;
# - bundle cases (gen/cases.go): the container prints what it sees
#   (`run`), or `create` must fail (`fail`), or the cgroup is read back
#   after `create` (`cgroup`);
# - lifecycle cases (lifecycle.sh): create/state/start/kill/delete with
#   and without ids, in every status, pid files, hooks and their stdin,
#   failing hooks, namespaces by path, of the wrong type, inherited, new.
# Not covered, and why: linux_cgroups_hugetlb and _network (hugetlb,
# net_cls and net_prio are not mounted as v1 here), blkio weights (no
# weight files on this kernel: throttling is checked), apparmor/selinux
# (neither is on this host).
#
#   tools/conformance/run.sh [CONTAINERV_BINARY]
#
# Needs root, golang-go and golang-github-opencontainers-runtime-tools-dev
# (apt-get install), busybox-static, runc and crun. Prints one line per
# assertion ("ok RUNTIME CASE" / "not ok RUNTIME CASE: why"), ends with
# "reference runc: N passed, N failed" and the same for crun (for
# comparison; containerv's own raw count is in the summary line), then
# the cases where the runtimes differ, and last "containerv: N passed, N
# failed, N skipped" (what scripts/test counts): an assertion containerv
# fails counts as failed when runc or crun passes it, as skipped when
# both fail it too (CV_CONF_STRICT=1: failed). Exit 1 on any failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
top=$PWD
cv=${1:-$top/target/debug/containerv}
[ -x "$cv" ] || { echo "run.sh: no containerv binary at $cv (cargo build -p containerv-runtime)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "run.sh: run as root" >&2; exit 2; }
for t in go busybox unshare setsid; do
  command -v "$t" >/dev/null || { echo "run.sh: $t is needed" >&2; exit 2; }
done
[ -d /usr/share/gocode/src/github.com/opencontainers/runtime-tools/generate ] ||
  { echo "run.sh: apt-get install golang-github-opencontainers-runtime-tools-dev" >&2; exit 2; }

work=$(mktemp -d /tmp/cv-conformance.XXXXXX)
# Absolute cgroupsPaths go below our own memory cgroup (so the container
# stays inside what we were given); every directory of that path that
# was not there before is removed at the end, in every hierarchy (v1 and
# the hybrid host's cgroup2 mount).
own_mem=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ { print $3 }' /proc/self/cgroup)
cg_abs="${own_mem%/}/cvconf-abs-$$"
cg_rel="cvconf-rel-$$"
# Every cgroup v1 hierarchy: "MOUNTPOINT SUPEROPTIONS" per line.
v1_hierarchies() {
  awk '{ for (i = 7; $i != "-"; i++) {}; if ($(i + 1) == "cgroup") print $5, $(i + 3) }' /proc/self/mountinfo
}
# ...and the cgroup2 mount of a hybrid host (/sys/fs/cgroup/unified),
# where runtimes make the container's directories too.
cg_mounts=$(v1_hierarchies | cut -d' ' -f1
  awk '{ for (i = 7; $i != "-"; i++) {}; if ($(i + 1) == "cgroup2") print $5 }' /proc/self/mountinfo)
pre_existing=$(for m in $cg_mounts; do
  p=$cg_abs; while [ "$p" != / ] && [ -n "$p" ]; do [ -d "$m$p" ] && echo "$m$p"; p=$(dirname "$p"); done
done)
cleanup() {
  local m p
  for m in $cg_mounts; do
    for p in "$m$cg_abs" "$m/$cg_rel" "$m${own_mem%/}/$cg_rel"; do
      # Our own uniquely named directory, with whatever a runtime left in it.
      [ -d "$p" ] && find "$p" -depth -type d -exec rmdir {} + 2>/dev/null
      # Then its ancestors that were not there before, if empty.
      p=$(dirname "$p")
      while [ "$p" != "$m" ] && [ "$p" != / ] && ! grep -qxF "$p" <<<"$pre_existing"; do
        rmdir "$p" 2>/dev/null
        p=$(dirname "$p")
      done
    done
  done
  rm -rf "$work"
}
trap cleanup EXIT

# A busybox rootfs readable by a mapped root (user-namespace case).
rootfs=$work/rootfs
mkdir -p "$rootfs"/{bin,proc,sys,dev,etc,tmp,mnt}
chmod 1777 "$rootfs/tmp"
cp "$(command -v busybox)" "$rootfs/bin/busybox"
for a in $("$rootfs/bin/busybox" --list); do
  [ "$a" = busybox ] || ln -sf busybox "$rootfs/bin/$a"
done
chmod 755 "$work"

gen=$work/gen
GOPATH=/usr/share/gocode GO111MODULE=off GOCACHE=$work/gocache \
  go build -o "$gen" ./tools/conformance/gen || { echo "run.sh: building gen failed" >&2; exit 2; }
mkdir "$work/bundles"
"$gen" bundles "$work/bundles" "$rootfs" "$cg_abs" "$cg_rel" || exit 2

# One executable per runtime, with its --root. crun 1.8 refuses hybrid
# hosts unless cgroup2's controller list looks empty: it runs in a mount
# namespace with an empty file over it (in the caller's namespace when
# that is a private one already: CV_CONF_PRIVATE_NS=1).
: > "$work/empty"
for r in containerv runc crun; do
  mkdir -m 0700 "$work/root-$r"
  case $r in
    containerv) cmd="exec \"$cv\" --root \"$work/root-$r\" \"\$@\"" ;;
    runc) cmd="exec runc --root \"$work/root-$r\" \"\$@\"" ;;
    crun) cmd="f=/sys/fs/cgroup/unified/cgroup.controllers
if [ ! -e \$f ]; then exec crun --root \"$work/root-$r\" \"\$@\"; fi
if [ -n \"\${CV_CONF_PRIVATE_NS:-}\" ]; then mount --bind \"$work/empty\" \$f && exec crun --root \"$work/root-$r\" \"\$@\"; fi
exec unshare -m --propagation private sh -c 'mount --bind \"\$0\" '\$f' && exec crun --root \"$work/root-$r\" \"\$@\"' \"$work/empty\" \"\$@\"" ;;
  esac
  printf '#!/bin/sh\n%s\n' "$cmd" > "$work/rt-$r"
  chmod 755 "$work/rt-$r"
done

# shellcheck source=lifecycle.sh
. "$top/tools/conformance/lifecycle.sh"

rt() { "$rt_exec" "$@"; }
check() {
  if [ "$2" = 0 ]; then
    pass=$((pass + 1)); echo "ok $rt_name $1"
  else
    fail=$((fail + 1)); echo "not ok $rt_name $1${3:+: $3}"
  fi
  echo "$1 $2" >> "$work/results-$rt_name"
}

bundle_case() {
  local b=$1 name id kind want got pid
  name=$(basename "$b") id="cvconf-$rt_name-$(basename "$b")-$$"
  kind=$(cat "$b/kind") want=$(cat "$b/expect")
  case $kind in
    run)
      got=$(cd "$b" && rt run "$id" </dev/null 2>"$work/err")
      [ "$got" = "$want" ]; check "$name" $? "got '$got', want '$want': $(tail -1 "$work/err")" ;;
    fail)
      ! rt create --bundle "$b" "$id" </dev/null >/dev/null 2>"$work/err" && ! rt state "$id" >/dev/null 2>&1
      check "$name" $? "create succeeded" ;;
    cgroup)
      if rt create --bundle "$b" "$id" </dev/null >/dev/null 2>"$work/err"; then
        pid=$(rt state "$id" | "$gen" field pid)
        got=$("$gen" cgcheck "$b" "$pid" 2>&1)
      else
        got="create failed: $(tail -1 "$work/err")"
      fi
      [ "$got" = ok ]; check "$name" $? "$got" ;;
  esac
  rt delete -f "$id" >/dev/null 2>&1
}

ran=()
for rt_name in containerv runc crun; do
  case $rt_name in
    runc | crun) command -v "$rt_name" >/dev/null || { echo "$rt_name: not installed"; continue; } ;;
  esac
  ran+=("$rt_name")
  rt_exec=$work/rt-$rt_name
  lc=$work/lc-$rt_name
  mkdir -m 0700 "$lc"
  pass=0 fail=0
  : > "$work/results-$rt_name"
  for b in "$work"/bundles/*/; do
    bundle_case "${b%/}"
  done
  lifecycle_cases
  [ "$rt_name" = containerv ] || echo "reference $rt_name: $pass passed, $fail failed"
  echo "$rt_name $pass $fail" >> "$work/summary"
done

# Side by side: every assertion where the runtimes do not agree.
echo "--- where the runtimes differ (0 = pass) ---"
printf '%-40s' case; printf ' %-10s' "${ran[@]}"; echo
cut -d' ' -f1 "$work/results-containerv" | while read -r c; do
  line=() differ=0 first=
  for r in "${ran[@]}"; do
    v=$(awk -v c="$c" '$1 == c { print ($2 == 0 ? "ok" : "FAIL"); exit }' "$work/results-$r")
    line+=("${v:--}")
    [ -z "$first" ] && first=$v
    [ "$v" != "$first" ] && differ=1
  done
  [ $differ = 1 ] && { printf '%-40s' "$c"; printf ' %-10s' "${line[@]}"; echo; }
done
printf 'summary (passed/failed):'; while read -r r p f; do printf ' %s %s/%s' "$r" "$p" "$f"; done < "$work/summary"; echo

# containerv's count, last (scripts/test reads the last such line): an
# assertion it fails is a failure when runc or crun passes it, and is
# counted as skipped when both fail it too (named above, in the table).
cv_pass=0 cv_fail=0 cv_skip=0
while read -r c v; do
  if [ "$v" = 0 ]; then cv_pass=$((cv_pass + 1)); continue; fi
  ref_passes=0
  for r in "${ran[@]}"; do
    [ "$r" = containerv ] && continue
    awk -v c="$c" '$1 == c && $2 == 0 { f = 1 } END { exit !f }' "$work/results-$r" && ref_passes=1
  done
  if [ $ref_passes = 1 ] || [ ${#ran[@]} = 1 ] || [ "${CV_CONF_STRICT:-0}" = 1 ]; then
    cv_fail=$((cv_fail + 1)); echo "containerv fails $c (a reference passes it)"
  else
    cv_skip=$((cv_skip + 1)); echo "containerv fails $c, as every reference does: counted as skipped"
  fi
done < "$work/results-containerv"
echo "containerv: $cv_pass passed, $cv_fail failed, $cv_skip skipped"
[ "$cv_fail" = 0 ]
