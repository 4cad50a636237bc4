#!/bin/bash
# pull-vs-skopeo.sh - side-by-side benchmark: pulling a multi-layer image
# from a local registry (docker-registry on 127.0.0.1) with `cv pull`
# (download + verify + unpack every layer) against `skopeo copy
# docker://... oci:DIR` (download only) and `skopeo copy` + `umoci unpack`
# (download + unpack, the like-for-like figure), plus the download alone
# (the pull example with --no-unpack: verified blobs, fsynced, no layers).
#
# usage: crates/containerv-image/benches/pull-vs-skopeo.sh [RUNS]
#   CV=path/to/cv     time `cv --image-root DIR pull -q REF`
#   (default)         time the `pull` example of containerv-image: the same
#                     library call as `cv pull -q`, built with only this crate
# Needs: docker-registry, skopeo, umoci, hyperfine.
set -euo pipefail
RUNS=${1:-5}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}
cargo build -q --release -p containerv-image --example pull --manifest-path "$repo/Cargo.toml"
if [ -n "${CV:-}" ]; then
  pull() { echo "$CV --image-root $1 pull -q $2"; }
  name="cv pull (download+unpack)"
else
  pull() { echo "$CARGO_TARGET_DIR/release/examples/pull $1 $2"; }
  name="containerv-image pull (download+unpack)"
fi

work=$(mktemp -d /var/tmp/cv-bench.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

addr=$("$repo/tools/registry/start-registry.sh" -d "$work/reg" 2>/dev/null)
pid=$(cat "$work/reg/registry.pid")

# A 4-layer image (gzip, built by umoci): busybox, python3 stdlib, perl, C headers.
oci=$work/oci
umoci init --layout "$oci" >/dev/null
umoci new --image "$oci:bench" >/dev/null
umoci config --image "$oci:bench" --os linux --architecture amd64 --config.cmd /bin/sh >/dev/null
n=0
for src in /bin/busybox /usr/lib/python3.11 /usr/share/perl /usr/include; do
  n=$((n + 1))
  umoci unpack --image "$oci:bench" "$work/u$n" >/dev/null
  mkdir -p "$work/u$n/rootfs$(dirname "$src")"
  cp -a "$src" "$work/u$n/rootfs$src"
  umoci repack --image "$oci:bench" "$work/u$n" >/dev/null
  rm -rf "$work/u$n"
done
skopeo copy -q --dest-tls-verify=false "oci:$oci:bench" "docker://$addr/bench:v1"
size=$(du -sh "$oci/blobs" | cut -f1)
echo "image: $addr/bench:v1, 4 gzip layers, $size compressed; $(nproc) cores; $(uname -r)"

hyperfine -N --warmup 1 --runs "$RUNS" --export-markdown "$work/result.md" \
  --prepare "rm -rf $work/cv $work/cvd $work/sk $work/sku" \
  -n "$name" "$(pull "$work/cv" "$addr/bench:v1")" \
  -n "containerv-image pull --no-unpack (download only)" "$CARGO_TARGET_DIR/release/examples/pull --no-unpack $work/cvd $addr/bench:v1" \
  -n "skopeo copy (download only)" "skopeo copy -q --src-tls-verify=false docker://$addr/bench:v1 oci:$work/sk:v1" \
  -n "skopeo copy + umoci unpack" "bash -c 'skopeo copy -q --src-tls-verify=false docker://$addr/bench:v1 oci:$work/sku:v1 && umoci unpack --image $work/sku:v1 $work/sku/bundle >/dev/null'"
cat "$work/result.md"
