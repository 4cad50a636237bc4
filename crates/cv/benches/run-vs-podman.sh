#!/bin/bash
# run-vs-podman.sh - side-by-side benchmark of `cv` against podman (with
# conmon and runc), same busybox image (the built-in containerv/busybox,
# saved by `cv save` as an oci-archive and loaded into podman), same host,
# one run:
#   1. `run --rm IMAGE true` latency (hyperfine, N runs each);
#   2. memory per running container with 50 `sleep` containers: the RSS
#      and PSS of cv's monitors against podman's conmons (smaps_rollup).
#
# usage: sudo crates/cv/benches/run-vs-podman.sh [RUNS] [CONTAINERS]
# Needs: podman, conmon, runc, hyperfine (scripts/install-deps).
# Podman runs with private --root/--runroot, the cgroupfs manager, the file
# events logger, runc, and a private tmpfs on /run (it writes to
# /run/containers whatever it is told): the whole script re-executes itself
# in a private mount namespace. Nothing is left behind.
set -euo pipefail
RUNS=${1:-30}
N=${2:-50}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
if [ -z "${CV_BENCH_IN_NS:-}" ]; then
  export CV_BENCH_IN_NS=1
  exec unshare -m --propagation private "$0" "$@"
fi
mount -t tmpfs tmpfs /run

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}
cargo build -q --release -p cv -p containerv-engine --bins --manifest-path "$repo/Cargo.toml"
cvbin=$CARGO_TARGET_DIR/release/cv

work=$(mktemp -d /var/tmp/cv-bench.XXXXXX)
CV="$cvbin --root $work/cv --image-root $work/images"
cat > "$work/containers.conf" <<CONF
[containers]
default_ulimits = []
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
CONF
export CONTAINERS_CONF=$work/containers.conf
PODMAN="podman --root $work/podman --runroot $work/podman-run --storage-driver overlay --cgroup-manager cgroupfs --events-backend file --runtime runc"
cleanup() {
  set +e
  for id in $($CV ps -aq 2>/dev/null); do $CV rm -f "$id" >/dev/null 2>&1; done
  # The engine keeps its default bridge as docker keeps docker0.
  $CV system reset -f >/dev/null 2>&1
  $PODMAN rm -fa -t 0 >/dev/null 2>&1
  $PODMAN rmi -af >/dev/null 2>&1
  $PODMAN system reset -f >/dev/null 2>&1
  grep " $work" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# The same image in both.
$CV run --rm containerv/busybox true
$CV save -o "$work/busybox.tar" containerv/busybox
$PODMAN load -q -i "$work/busybox.tar" >/dev/null
img=$($PODMAN images --format '{{.Repository}}:{{.Tag}}' | head -1)
echo "image: containerv/busybox ($(du -h "$work/busybox.tar" | cut -f1) oci-archive), in podman as $img"
echo "host: $(nproc) cores, $(uname -r), $(podman --version), conmon $(conmon --version | head -1 | awk '{print $3}'), runc $(runc --version | head -1 | awk '{print $3}')"

echo
echo "== run --rm IMAGE true: $RUNS runs each"
hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$work/run.json" \
  -n "cv run --rm" "$CV run --rm containerv/busybox true" \
  -n "podman run --rm" "$PODMAN run --rm --network none $img true"
python3 - "$work/run.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
cv, pm = r["cv run --rm"], r["podman run --rm"]
print(f"cv median {cv['median']*1000:.1f} ms, podman median {pm['median']*1000:.1f} ms: "
      f"cv takes {cv['median']/pm['median']:.3f}x podman's time ({pm['median']/cv['median']:.1f}x faster)")
PY

echo
echo "== memory per running container: $N containers each"
mem() { # pids... -> "rss_kb pss_kb" summed
  local rss=0 pss=0 r p
  for pid in "$@"; do
    r=$(awk '/^Rss:/{print $2}' /proc/"$pid"/smaps_rollup)
    p=$(awk '/^Pss:/{print $2}' /proc/"$pid"/smaps_rollup)
    rss=$((rss + r)); pss=$((pss + p))
  done
  echo "$rss $pss"
}
for i in $(seq "$N"); do $CV run -d containerv/busybox sleep 1000 >/dev/null; done
mons=$(for id in $($CV ps -q --no-trunc); do $CV inspect -f '{{.State.MonitorPid}}' "$id"; done)
read -r cv_rss cv_pss <<<"$(mem $mons)"
for i in $(seq "$N"); do $PODMAN run -d --network none "$img" sleep 1000 >/dev/null; done
conmons=$(pgrep -f "conmon.*$work" || true)
read -r pm_rss pm_pss <<<"$(mem $conmons)"
nm=$(echo $mons | wc -w); nc=$(echo $conmons | wc -w)
echo "cv monitors: $nm, RSS $((cv_rss / nm)) kB, PSS $((cv_pss / nm)) kB per container"
echo "podman conmons: $nc, RSS $((pm_rss / nc)) kB, PSS $((pm_pss / nc)) kB per container"
python3 -c "print(f'cv/conmon per container: RSS {$cv_rss/$nm/($pm_rss/$nc):.2f}x, PSS {$cv_pss/$nm/($pm_pss/$nc):.2f}x')"
