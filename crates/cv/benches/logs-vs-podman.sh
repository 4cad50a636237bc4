#!/bin/bash
# logs-vs-podman.sh - a chatty container (`yes | head -c SIZE`: SIZE/2
# lines of "y") through each of cv's log drivers and through podman's
# k8s-file driver (conmon), one run, same image, same host:
#   - the container's throughput (MB/s of output: SIZE over the time from
#     `run -d` until the monitor / conmon has exited, start-up included),
#     as a ratio to `--log-driver none`;
#   - the CPU the monitor (cv-monitor, all its threads) or conmon spent,
#     per MB logged (utime+stime from /proc/PID/stat, sampled every 20 ms
#     until it exits);
#   - lines dropped (cv's State.LogLinesDropped).
# Destinations: syslog over udp and tcp and fluentd over tcp to small
# discard servers on 127.0.0.1 (python3: they read and throw away, so the
# figure is the sender's cost), journald to a real systemd-journald in this
# script's private mount namespace (its rate limit drops most lines: the
# sender's cost again). json-file and podman's k8s-file rotate at 20 MB so
# the disk holds a 200 MB run.
#
# usage: sudo crates/cv/benches/logs-vs-podman.sh [SIZE] [DRIVER...]
#   SIZE    bytes of output, head -c syntax (default 200M)
#   DRIVER  none json-file local syslog-udp syslog-tcp fluentd journald
#           podman-none podman-k8s-file (default: all)
# CV_BIN=PATH: the cv to measure (default: a release build of this tree).
# CV_BIN_BEFORE=PATH: another cv (e.g. a build of an older revision, with
#   its cv-monitor beside it); each cv driver then runs with it first
#   ("before:DRIVER" rows), in the same run.
# Needs: podman, conmon, runc, python3, systemd (scripts/install-deps).
set -euo pipefail
SIZE=${1:-200M}
shift || true
DRIVERS=("$@")
[ ${#DRIVERS[@]} -gt 0 ] || DRIVERS=(none json-file local syslog-udp syslog-tcp fluentd journald podman-none podman-k8s-file)
# shellcheck source=lib/peers.sh
. "$(dirname "$0")/lib/peers.sh"
bench_enter_ns "$SIZE" "${DRIVERS[@]}"
mkdir -p /run/systemd /run/log
# CV_BIN: another cv (e.g. a debug build, to try the script quickly).
bench_cv
bench_setup logbench
CV_AFTER=$CV
CV_BEFORE=${CV_BIN_BEFORE:+$CV_BIN_BEFORE --root $work/cv --image-root $work/images}
if [ -n "$CV_BEFORE" ]; then
  rows=()
  for d in "${DRIVERS[@]}"; do
    case $d in podman-*) ;; *) rows+=("before:$d") ;; esac
    rows+=("$d")
  done
CV=$CV_AFTER
  DRIVERS=("${rows[@]}")
fi
pids=()
bench_cleanup_extra() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
CV=$CV_AFTER; }

# Discard servers: udp and tcp (each connection read to its end).
read -r UDP TCP < <(python3 -c 'import socket
a=socket.socket(); a.bind(("127.0.0.1",0)); b=socket.socket(); b.bind(("127.0.0.1",0))
print(a.getsockname()[1], b.getsockname()[1])')
python3 - "$UDP" "$TCP" <<'PY' &
import socket, sys, threading
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
u.bind(("127.0.0.1", int(sys.argv[1])))
def udp():
    while True:
        u.recv(65536)
threading.Thread(target=udp, daemon=True).start()
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("127.0.0.1", int(sys.argv[2]))); t.listen(16)
def drain(c):
    while c.recv(1 << 20):
        pass
while True:
    c, _ = t.accept()
    threading.Thread(target=drain, args=(c,), daemon=True).start()
PY
pids+=($!)
/lib/systemd/systemd-journald >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -S /run/systemd/journal/socket ] && break; sleep 0.1; done
CV=$CV_AFTER

bench_image --network none
bytes=$(python3 -c "import sys; s=sys.argv[1]; m={'K':1<<10,'M':1<<20,'G':1<<30}; print(int(s[:-1])*m[s[-1]] if s[-1] in m else int(s))" "$SIZE")
mb=$(python3 -c "print($bytes/1e6)")
tck=$(getconf CLK_TCK)
echo "host: $(nproc) cores, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg), $(podman --version), conmon $(conmon --version | head -1 | awk '{print $3}')"
echo "workload: sh -c 'yes | head -c $SIZE' ($bytes bytes, $((bytes / 2)) lines)"

# "STATE UTIME+STIME" of a pid (a zombie reads 0 ticks: it has ended).
cpu_of() { awk '{print $3, $14 + $15}' "/proc/$1/stat" 2>/dev/null; }
# watch PID: prints "SECONDS_SINCE_T0 CPU_TICKS" once PID has ended
# (gone, or a zombie: this sandbox's pid 1 reaps late).
watch_pid() {
  local pid=$1 last=0 st c
  while read -r st c < <(cpu_of "$pid") && [ -n "${st:-}" ] && [ "$st" != Z ]; do
    last=$c
    sleep 0.02
  done
CV=$CV_AFTER
  echo "$(python3 -c "import time; print(time.time() - $t0)") $last"
}

printf '\n%-16s %9s %9s %12s %12s %9s\n' driver seconds "MB/s" "vs none" "CPU ms/MB" dropped
# "vs none": against the none row of the same kind (before, cv, podman;
# podman rows fall back to cv's none when podman-none did not run).
declare -A base
for row in "${DRIVERS[@]}"; do
  d=${row#before:}
  if [ "$d" != "$row" ]; then CV=$CV_BEFORE; else CV=$CV_AFTER; fi
  opts=()
  case $d in
    none) opts=(--log-driver none) ;;
    json-file) opts=(--log-driver json-file --log-opt max-size=20m --log-opt max-file=2) ;;
    local) opts=(--log-driver local) ;;
    syslog-udp) opts=(--log-driver syslog --log-opt "syslog-address=udp://127.0.0.1:$UDP") ;;
    syslog-tcp) opts=(--log-driver syslog --log-opt "syslog-address=tcp://127.0.0.1:$TCP") ;;
    fluentd) opts=(--log-driver fluentd --log-opt "fluentd-address=127.0.0.1:$TCP") ;;
    journald) opts=(--log-driver journald) ;;
    podman-none | podman-k8s-file) ;;
    *) echo "unknown driver $d" >&2; exit 2 ;;
  esac
  t0=$(python3 -c 'import time; print(time.time())')
  if [ "${d#podman-}" != "$d" ]; then
    if [ "$d" = podman-none ]; then popts=(--log-driver none); else popts=(--log-driver k8s-file --log-opt max-size=20mb); fi
    id=$($PODMAN run -d --network none "${popts[@]}" "$img" sh -c "yes | head -c $bytes")
    mon=$($PODMAN inspect -f '{{.State.ConmonPid}}' "$id")
    read -r secs ticks < <(watch_pid "$mon")
    dropped=-
    $PODMAN rm -f "$id" >/dev/null
  else
    id=$($CV run -d --network none "${opts[@]}" containerv/busybox sh -c "yes | head -c $bytes")
    mon=$($CV inspect -f '{{.State.MonitorPid}}' "$id")
    read -r secs ticks < <(watch_pid "$mon")
    dropped=$($CV inspect -f '{{.State.LogLinesDropped}}' "$id")
    $CV rm -f "$id" >/dev/null
  fi
  rate=$(python3 -c "print(f'{$mb/$secs:.1f}')")
  case $row in before:*) kind=before ;; podman-*) kind=podman ;; *) kind=cv ;; esac
  if [ "$d" = none ] || [ "$d" = podman-none ]; then base[$kind]=$rate; fi
  b=${base[$kind]:-${base[cv]:-$rate}}
  ratio=$(python3 -c "print(f'{$rate/$b:.3f}x')")
  cpu=$(python3 -c "print(f'{$ticks*1000/$tck/$mb:.1f}')")
  printf '%-16s %9.2f %9s %12s %12s %9s\n' "$row" "$secs" "$rate" "$ratio" "$cpu" "$dropped"
done
CV=$CV_AFTER
