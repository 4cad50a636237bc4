#!/bin/bash
# push-random-image.sh - build an OCI image whose layers each add one file of
# random (incompressible) or text-like (compressible) data, and push it with
# skopeo to a plain-HTTP registry. For transfer tests (retries, kills half
# way, zstd) and the pull benchmark.
#
# usage: push-random-image.sh [-u USER:PASSWORD] [-z] [-t] ADDR REPO:TAG KIB...
#   ADDR     host:port of the registry
#   REPO:TAG destination in the registry
#   KIB...   one layer per argument: /layerN.bin of that many KiB
#   -z       compress layers with zstd instead of gzip
#   -t       text-like compressible data (base64 of random bytes) instead of
#            random bytes
#   -u       credentials for the registry
# Layer 1 also holds a static busybox (so the image can run). Host needs:
# umoci, skopeo, busybox, base64.
set -euo pipefail

CRED= ZSTD=0 TEXT=0
while getopts "u:zth" o; do
  case $o in u) CRED=$OPTARG ;; z) ZSTD=1 ;; t) TEXT=1 ;; *) sed -n '2,/^set -e/p' "$0" | sed '$d'; exit 2 ;; esac
done
shift $((OPTIND - 1))
[ $# -ge 3 ] || { echo "usage: $0 [-u USER:PASS] [-z] [-t] ADDR REPO:TAG KIB..." >&2; exit 2; }
ADDR=$1 DEST=$2; shift 2
BUSYBOX=${BUSYBOX:-$(command -v busybox)}

work=$(mktemp -d "${TMPDIR:-/tmp}/oci-random.XXXXXX")
trap 'rm -rf "$work"' EXIT
oci=$work/oci
umoci init --layout "$oci"
umoci new --image "$oci:img"
umoci config --image "$oci:img" --os linux --architecture amd64 \
  --config.cmd /bin/sh --config.env PATH=/bin
n=0
for kib in "$@"; do
  n=$((n + 1))
  umoci unpack --image "$oci:img" "$work/b"
  rfs=$work/b/rootfs
  if [ "$n" = 1 ]; then
    mkdir -p "$rfs/bin" "$rfs/etc" "$rfs/tmp"
    cp "$BUSYBOX" "$rfs/bin/busybox"
    ln -s busybox "$rfs/bin/sh"
  fi
  if [ "$TEXT" = 1 ]; then
    head -c $((kib * 768)) /dev/urandom | base64 -w 76 > "$rfs/layer$n.bin"
  else
    head -c $((kib * 1024)) /dev/urandom > "$rfs/layer$n.bin"
  fi
  umoci repack --image "$oci:img" "$work/b"
  rm -rf "$work/b"
done
umoci gc --layout "$oci"

args=(copy -q --dest-tls-verify=false)
[ -n "$CRED" ] && args+=(--dest-creds "$CRED")
[ "$ZSTD" = 1 ] && args+=(--dest-compress-format zstd)
skopeo "${args[@]}" "oci:$oci:img" "docker://$ADDR/$DEST"
echo "$ADDR/$DEST"
