#!/bin/sh
# Regenerates crates/containerv-runtime/link/hot-functions.txt: the
# functions the OCI runtime runs in the commands podman, containerd and
# `containerv run` use, in first-run order. scripts/build-runtime links
# them first and together.
#
# Why: the static binary is ~7 MB, and a process's peak RSS counts every
# page of it the kernel maps. A page fault on the binary's text maps the
# 64 KiB around it (fault-around), so a command costs 64 KiB for every
# 64 KiB block it touches at all. In link order (by crate and module) a
# `run` touched 37 blocks of scattered code (2.4 MB, most of its 3.9 MB
# peak RSS); its ~600 functions need 11 when they lie together. See
# docs/BENCHMARKS.md ("peak RSS and link order").
#
#   sudo tools/hot-order/profile.sh        # then commit the list
#
# Re-run it when the commands' paths change much (new features on the
# create/start/run path); a stale list degrades gracefully (what is not
# listed is linked after the list), and tests-runtime-static checks the
# peak RSS of `run` against crun's.
set -eu
cd "$(dirname "$0")/../.."
top=$PWD
[ "$(id -u)" = 0 ] || { echo "profile.sh: run as root (it makes containers)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "profile.sh: needs python3" >&2; exit 1; }
[ -x /usr/bin/busybox ] || { echo "profile.sh: needs /usr/bin/busybox (busybox-static)" >&2; exit 1; }

built=$(scripts/build-runtime)
bin=$(echo "$built" | tail -1)
work=$(mktemp -d /tmp/containerv-hot-order.XXXXXX)
cleanup() {
    [ -d "$work/root" ] && for id in $("$work/bin/containerv" --root "$work/root" list -q 2>/dev/null); do
        "$work/bin/containerv" --root "$work/root" delete -f "$id" >/dev/null 2>&1 || true
    done
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

# A bundle of busybox, read-only root.
mkdir -p "$work/bin" "$work/bundle/rootfs/bin" "$work/bundle/rootfs/proc" "$work/bundle/rootfs/dev" \
    "$work/bundle/rootfs/sys" "$work/bundle/rootfs/tmp"
cp /usr/bin/busybox "$work/bundle/rootfs/bin/"
for x in sh true sleep cat; do ln -s busybox "$work/bundle/rootfs/bin/$x"; done
cp "$bin" "$work/bin/containerv"
(cd "$work/bundle" && "$work/bin/containerv" spec)
python3 - "$work/bundle/config.json" <<'EOF'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/sleep", "30"]
c["root"]["readonly"] = True
json.dump(c, open(p, "w"))
EOF
python3 - "$work/bundle/config.json" "$work/true.json" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
c["process"]["args"] = ["/bin/true"]
json.dump(c, open(sys.argv[2], "w"))
EOF

# The first image re-executes itself from a sealed copy (the same file
# through a read-only mount): trace.py follows it by inode.
raw="$work/traced.txt"
sh -eu -c '
work=$1; top=$2; raw=$3
cv="$work/bin/containerv"
t() { python3 "$top/tools/hot-order/trace.py" "$cv" "$raw" -- "$cv" --root "$work/root" "$@"; }
b="$work/bundle"
# containerv run (bench_runtimes: run of /bin/true).
cp "$b/config.json" "$work/sleep.json"; cp "$work/true.json" "$b/config.json"
t run -b "$b" hot-run >/dev/null
cp "$work/sleep.json" "$b/config.json"
# podman and containerd: create, start, state, exec, kill, delete.
t create -b "$b" --pid-file "$work/pid" hot-a
t state hot-a >/dev/null
t start hot-a
t state hot-a >/dev/null
t exec hot-a /bin/true
t exec -d --pid-file "$work/epid" hot-a /bin/sleep 1
t list >/dev/null
t ps hot-a >/dev/null
t pause hot-a
t resume hot-a
t kill hot-a KILL
while [ "$(t state hot-a | grep -c stopped)" = 0 ]; do sleep 0.05; done
t delete hot-a
t run -d -b "$b" hot-b >/dev/null
t delete -f hot-b
t --version >/dev/null
t features >/dev/null
' sh "$work" "$top" "$raw"

python3 tools/hot-order/resolve.py --hot "$bin" "$raw" crates/containerv-runtime/link/hot-functions.txt
