#!/bin/bash
# network-throughput-vs-podman.sh - side-by-side benchmarks of the data
# path and of many containers on one network, cv against podman (conmon,
# runc, netavark 1.4), in one run, as ratios:
#   1. iperf3 for SECS seconds container -> container on one user network;
#   2. iperf3 for SECS seconds host -> a published port (127.0.0.1:HOSTPORT);
#   3. N containers (`sleep`) started one after another on one user
#      network: total time, and memory per container (the supervisor's
#      RSS: cv's monitor vs podman's conmon, plus the container's cgroup
#      memory as each tool reports it).
# iperf3 runs from the host's /usr, bound read-only into the busybox image.
#
# usage: sudo crates/cv/benches/network-throughput-vs-podman.sh [SECS] [N]
# Needs: podman, conmon, runc, netavark, iperf3 (scripts/install-deps).
# Runs in a private mount namespace with a private /run (podman and
# netavark write there). Traffic stays on this host: container addresses
# on the tools' own bridges and 127.0.0.1.
set -euo pipefail
SECS=${1:-10}
N=${2:-50}
# shellcheck source=lib/peers.sh
. "$(dirname "$0")/lib/peers.sh"
bench_enter_ns "$@"
bench_cv
bench_setup tputbench netavark
bench_cleanup_extra() { $PODMAN network rm -f cvbench >/dev/null 2>&1; }
bench_image --network none
echo "host: $(nproc) cores, $(uname -r), $(podman --version), netavark $(/usr/lib/podman/netavark --version | awk '{print $2}'), $(iperf3 --version | head -1 | cut -d' ' -f1-2), load: $(cut -d' ' -f1-3 /proc/loadavg)"
$CV network create cvbench >/dev/null
$PODMAN network create cvbench >/dev/null
IPERF=(-v /usr:/usr:ro)
# Through the host's loader, so no /lib or /lib64 of the host is needed.
ld=/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
IPERF3=("$ld" --library-path /usr/lib/x86_64-linux-gnu /usr/bin/iperf3)

# iperf3 -J → bits per second received.
bps() { python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"])'; }

# 1. container -> container on one network.
c2c() { # tool-cmd
  local T="$1"
  $T run -d --name srv --network cvbench "${IPERF[@]}" "$2" "${IPERF3[@]}" -s -1 >/dev/null
  local ip
  ip=$($T inspect -f '{{(index .NetworkSettings.Networks "cvbench").IPAddress}}' srv)
  sleep 1
  $T run --rm --network cvbench "${IPERF[@]}" "$2" "${IPERF3[@]}" -J -t "$SECS" -c "$ip" | bps
  $T rm -f "${RMOPT[@]}" srv >/dev/null
}
# 2. host -> published port.
h2p() {
  local T="$1"
  $T run -d --name srv -p 127.0.0.1::5201 --network cvbench "${IPERF[@]}" "$2" "${IPERF3[@]}" -s -1 >/dev/null
  local hp
  hp=$($T port srv 5201/tcp | head -1 | awk -F: '{print $NF}')
  sleep 1
  iperf3 -J -t "$SECS" -c 127.0.0.1 -p "$hp" | bps
  $T rm -f "${RMOPT[@]}" srv >/dev/null
}
RMOPT=()
cv_c2c=$(c2c "$CV" containerv/busybox)
cv_h2p=$(h2p "$CV" containerv/busybox)
RMOPT=(-t 0)
pm_c2c=$(c2c "$PODMAN" "$img")
pm_h2p=$(h2p "$PODMAN" "$img")

# 3. N containers on one network.
many() { # tool image supervisor-name
  local T="$1" start end
  start=$(date +%s.%N)
  for i in $(seq 1 "$N"); do $T run -d --network cvbench "$2" sleep 600 >/dev/null; done
  end=$(date +%s.%N)
  local rss=0
  for p in $(pgrep -f "$3"); do
    rss=$((rss + $(awk '/^VmRSS/ {print $2}' /proc/$p/status 2>/dev/null || echo 0)))
  done
  local mem
  mem=$($T stats --no-stream --format '{{.MemUsage}}' | awk '{print $1}' | python3 -c '
import sys
u = {"B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "kB": 1000, "MB": 1e6, "GB": 1e9}
t = 0
for l in sys.stdin:
    l = l.strip()
    for k in sorted(u, key=len, reverse=True):
        if l.endswith(k):
            try:
                t += float(l[: -len(k)]) * u[k]
            except ValueError:
                pass
            break
print(t)')
  echo "$(python3 -c "print($end - $start)") $rss $mem"
  $T rm -f "${RMOPT[@]}" $($T ps -aq) >/dev/null
}
RMOPT=()
read -r cv_t cv_rss cv_mem < <(many "$CV" containerv/busybox "(__monitor|cv-monitor) $work/cv ")
RMOPT=(-t 0)
read -r pm_t pm_rss pm_mem < <(many "$PODMAN" "$img" "conmon .*$work/podman")

python3 - "$cv_c2c" "$pm_c2c" "$cv_h2p" "$pm_h2p" "$N" "$cv_t" "$pm_t" "$cv_rss" "$pm_rss" "$cv_mem" "$pm_mem" <<'PY'
import sys
a = sys.argv[1:]
cc, pc, ch, ph = (float(x) / 1e9 for x in a[:4])
n = int(a[4]); ct, pt = float(a[5]), float(a[6])
crss, prss = int(a[7]) / n, int(a[8]) / n
cmem, pmem = float(a[9]) / n / 1024, float(a[10]) / n / 1024
print(f"iperf3 container->container: cv {cc:.2f} Gbit/s, podman {pc:.2f} Gbit/s: cv {cc/pc:.3f}x podman's")
print(f"iperf3 host->published port: cv {ch:.2f} Gbit/s, podman {ph:.2f} Gbit/s: cv {ch/ph:.3f}x podman's")
print(f"{n} containers on one network: cv {ct:.1f} s, podman {pt:.1f} s: cv takes {ct/pt:.3f}x podman's time")
print(f"per container: supervisor RSS cv {crss:.0f} KiB (monitor), podman {prss:.0f} KiB (conmon): {crss/prss:.3f}x; "
      f"container cgroup memory cv {cmem:.0f} KiB, podman {pmem:.0f} KiB")
PY
