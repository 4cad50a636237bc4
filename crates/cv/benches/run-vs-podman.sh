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
# shellcheck source=lib/peers.sh
. "$(dirname "$0")/lib/peers.sh"
bench_enter_ns "$@"
bench_cv
bench_setup bench

# The same image in both.
bench_image
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
