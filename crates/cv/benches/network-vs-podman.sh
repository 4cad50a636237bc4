#!/bin/bash
# network-vs-podman.sh - side-by-side benchmark of a container's network
# set-up: `cv run --rm IMAGE true` on cv's default bridge network and with
# --network none, against podman (conmon, runc, netavark 1.4) on its
# default network and with --network none. Same image (the built-in
# containerv/busybox, `cv save`d and `podman load`ed), one run, as ratios.
#
# usage: sudo crates/cv/benches/network-vs-podman.sh [RUNS]
# Needs: podman, conmon, runc, netavark, hyperfine (scripts/install-deps).
# Runs in a private mount namespace with a private /run (podman and
# netavark write there). podman's netavark adds its own iptables chains
# while its containers run and removes them afterwards; cv's nftables
# table and default bridge are made once (with the first bridge) and kept,
# as docker keeps docker0; `cv system reset` at the end removes them.
set -euo pipefail
RUNS=${1:-30}
# shellcheck source=lib/peers.sh
. "$(dirname "$0")/lib/peers.sh"
bench_enter_ns "$@"
bench_cv
bench_setup netbench netavark
bench_image --network none
echo "host: $(nproc) cores, $(uname -r), $(podman --version), netavark $(/usr/lib/podman/netavark --version | awk '{print $2}'), load: $(cut -d' ' -f1-3 /proc/loadavg)"
# Both networks answer before timing (podman's default network, cv's bridge).
$CV run --rm containerv/busybox true
$PODMAN run --rm "$img" true

hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$work/run.json" \
  -n "cv bridge" "$CV run --rm containerv/busybox true" \
  -n "podman bridge" "$PODMAN run --rm $img true" \
  -n "cv none" "$CV run --rm --network none containerv/busybox true" \
  -n "podman none" "$PODMAN run --rm --network none $img true"
python3 - "$work/run.json" <<'PY'
import json, sys
r = {x["command"]: x["median"] * 1000 for x in json.load(open(sys.argv[1]))["results"]}
for mode in ("bridge", "none"):
    cv, pm = r[f"cv {mode}"], r[f"podman {mode}"]
    print(f"{mode}: cv {cv:.1f} ms, podman {pm:.1f} ms: cv takes {cv/pm:.3f}x podman's time")
PY
