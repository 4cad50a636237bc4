#!/bin/bash
# userns-cost.sh - what dockerd-style `userns-remap` costs `cv run --rm`:
# the same container with the engine file's remap (a user namespace, each
# image layer an idmapped mount, the writable layer chowned) and with
# `--userns host`, side by side in one hyperfine run (so the ratio holds on
# a noisy machine).
#
# usage: sudo crates/cv/benches/userns-cost.sh [RUNS]
# Needs: hyperfine. Uses a private engine root and private subuid/subgid
# files; nothing is left behind.
set -euo pipefail
RUNS=${1:-30}
# shellcheck source=lib/peers.sh
. "$(dirname "$0")/lib/peers.sh"
bench_cv
work=$(mktemp -d /var/tmp/cv-userns-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "cvbench:431072:65536" > "$work/subuid"
cp "$work/subuid" "$work/subgid"
cat > "$work/engine.toml" <<TOML
[security]
userns-remap = "cvbench"
subuid-file = "$work/subuid"
subgid-file = "$work/subgid"
TOML
export CONTAINERV_CONFIG_FILE=$work/engine.toml
CV="$cvbin --root $work/cv --image-root $work/images"
$CV run --rm --network none containerv/busybox true # makes the built-in image
uptime
hyperfine -N --warmup 3 --runs "$RUNS" --export-markdown "$work/r.md" \
  -n "remapped" "$CV run --rm --network none containerv/busybox true" \
  -n "userns=host" "$CV run --rm --network none --userns host containerv/busybox true"
cat "$work/r.md"
$CV container prune -f >/dev/null
uptime
