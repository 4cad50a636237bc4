#!/bin/bash
# seccomp-cost.sh - what docker's default isolation costs `cv run --rm`:
# the same container with moby's default seccomp profile (cv's default)
# and with `--security-opt seccomp=unconfined`, side by side in one
# hyperfine run (so the ratio holds on a noisy machine). The profile is
# resolved and compiled by the engine at create and again by the runtime
# at start; the filter itself runs on every syscall of the container.
#
# usage: sudo crates/cv/benches/seccomp-cost.sh [RUNS]
# Needs: hyperfine. Uses a private engine root; nothing is left behind.
set -euo pipefail
RUNS=${1:-40}
# shellcheck source=lib/peers.sh
. "$(dirname "$0")/lib/peers.sh"
bench_cv
work=$(mktemp -d /var/tmp/cv-seccomp-bench.XXXXXX)
CV="$cvbin --root $work/cv --image-root $work/images"
# The engine keeps its default bridge as docker keeps docker0: reset it.
trap '$CV system reset -f >/dev/null 2>&1; rm -rf "$work"' EXIT
$CV run --rm containerv/busybox true # makes the built-in image
uptime
hyperfine -N --warmup 3 --runs "$RUNS" --export-markdown "$work/r.md" \
  -n "default seccomp" "$CV run --rm containerv/busybox true" \
  -n "seccomp=unconfined" "$CV run --rm --security-opt seccomp=unconfined containerv/busybox true"
cat "$work/r.md"
# The compile alone: a create of the same container (no start).
hyperfine -N --warmup 3 --runs "$RUNS" \
  -n "create (default)" "$CV create containerv/busybox true" \
  -n "create (unconfined)" "$CV create --security-opt seccomp=unconfined containerv/busybox true" \
  || true
$CV container prune -f >/dev/null
uptime
