#!/bin/bash
# systemd-vm.sh - run a test program as root inside a throw-away QEMU VM that
# boots systemd as pid 1 on cgroup v2 (Debian bookworm userland: systemd,
# dbus, journald, busybox-static, runc). The test runs as a systemd service
# (cv-test.service) once multi-user.target is reached, so it sees what a
# program on a systemd host sees: systemd on D-Bus, system.slice, journald.
#
# usage: systemd-vm.sh [options] TEST [ARG...]
#   TEST      executable (static binary, or a script for the guest's bash /
#             busybox sh), run as /test/<basename> with cwd /test; its exit
#             code is the script's.
#   -f FILE   copy FILE (or directory) into /test/ too (repeatable)
#   -m MIB    guest RAM (default 1024)    -c N  vCPUs (default 2)
#   -t SEC    wall-clock timeout (default 600)
#   -o DIR    whatever the test leaves in guest /out is copied to DIR
#   -v        print the guest console (kernel + systemd) to stderr afterwards
#   -b        only build (or find) the cached image and kernel, then exit 0
#
# Environment:
#   SYSTEMD_VM_CACHE  cache dir (default ${XDG_CACHE_HOME:-~/.cache}/containerv-systemd-vm)
#   SYSTEMD_VM_MIRROR Debian mirror for mmdebstrap (default: the host's apt
#                     source, else http://deb.debian.org/debian)
#   KERNEL            vmlinuz to boot (default: Debian's linux-image-amd64,
#                     fetched once with `apt-get download`)
#   KERNEL_APPEND     extra kernel command line
#
# Exit codes: the test's; 125 on a timeout or guest crash; 3 when the VM
# cannot be built (no mmdebstrap, no mirror, no kernel, no qemu): callers
# report that as skipped.
#
# Output protocol: the guest console (kernel, systemd) on ttyS0 -> a log (-v);
# the test's stdout/stderr on ttyS1 -> this script's stdout, framed by
#   ==== SYSTEMD-VM BEGIN uptime=<s> ...
#   ==== SYSTEMD-VM EXIT rc=<n> uptime=<s>
# Host needs: mmdebstrap, qemu-system-x86_64, cpio, gzip, xz, dpkg-deb + apt-get.
set -euo pipefail

MEM=1024 CPUS=2 TIMEOUT=600 OUTDIR= VERBOSE=0 BUILD_ONLY=0
FILES=()
while getopts "f:m:c:t:o:vbh" opt; do
  case $opt in
    f) FILES+=("$OPTARG") ;;
    m) MEM=$OPTARG ;;
    c) CPUS=$OPTARG ;;
    t) TIMEOUT=$OPTARG ;;
    o) OUTDIR=$OPTARG ;;
    v) VERBOSE=1 ;;
    b) BUILD_ONLY=1 ;;
    *) sed -n '2,/^set -e/p' "$0" | sed '$d'; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
if [ "$BUILD_ONLY" = 0 ]; then
  [ $# -ge 1 ] || { echo "usage: $0 [options] TEST [ARG...]  (-h for help)" >&2; exit 2; }
  TEST=$1; shift
  [ -f "$TEST" ] || { echo "no such test: $TEST" >&2; exit 2; }
fi

log() { echo "systemd-vm: $*" >&2; }
# shellcheck source=../lib/vm-run.sh
. "$(dirname "$0")/../lib/vm-run.sh"
cant() { log "cannot build the VM: $*"; exit 3; }
t0=$(date +%s.%N)
here=$(cd "$(dirname "$0")" && pwd)
CACHE=${SYSTEMD_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/containerv-systemd-vm}
mkdir -p "$CACHE"

# One builder at a time (parallel test steps share the cache).
exec 9>"$CACHE/.lock"
flock 9

# ---------------------------------------------------------------- kernel ---
if [ -z "${KERNEL:-}" ]; then
  if ! ls "$CACHE"/kernel/boot/vmlinuz-* >/dev/null 2>&1; then
    log "fetching Debian linux-image-amd64 into $CACHE/kernel"
    command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || cant "no apt-get/dpkg-deb"
    dl=$(mktemp -d "$CACHE/dl.XXXXXX")
    meta=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -n1)
    [ -n "$meta" ] || { rm -rf "$dl"; cant "cannot resolve linux-image-amd64 (apt-get update?)"; }
    (cd "$dl" && apt-get download -q -o APT::Sandbox::User=root "$meta" >&2) || { rm -rf "$dl"; cant "apt-get download $meta failed"; }
    rm -rf "$CACHE/kernel.tmp" && mkdir "$CACHE/kernel.tmp"
    dpkg-deb -x "$dl"/linux-image-*.deb "$CACHE/kernel.tmp"
    rm -rf "$dl" "$CACHE/kernel" && mv "$CACHE/kernel.tmp" "$CACHE/kernel"
  fi
  KERNEL=$(ls "$CACHE"/kernel/boot/vmlinuz-* | head -n1)
fi
[ -r "$KERNEL" ] || cant "kernel $KERNEL not readable"
# PVH direct boot of the uncompressed vmlinux (saves ~3 s of in-guest XZ
# decompression under TCG); extracted once, cached.
if [ "${PVH:-1}" = 1 ] && [ "$(head -c 4 "$KERNEL" | od -An -c | tr -d ' ')" != '177ELF' ]; then
  vml="$CACHE/vmlinux-$(basename "$KERNEL")-$(stat -c %s-%Y "$KERNEL")"
  if [ ! -s "$vml" ]; then
    off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$KERNEL" | head -n1 | cut -d: -f1 || true)
    if [ -n "$off" ] && { tail -c +$((off + 1)) "$KERNEL" | xz -dcq --single-stream > "$vml.tmp" 2>/dev/null \
       || [ "$(head -c 4 "$vml.tmp" 2>/dev/null | od -An -c | tr -d ' ')" = '177ELF' ]; }; then
      mv "$vml.tmp" "$vml"
    else
      rm -f "$vml.tmp"; log "could not extract vmlinux (not XZ?), booting bzImage"
    fi
  fi
  [ -s "$vml" ] && KERNEL=$vml
fi

# ----------------------------------------------------------------- image ---
# The userland: a Debian bookworm minbase made by mmdebstrap, trimmed, with
# the test unit installed, packed once as an uncompressed cpio (the kernel
# unpacks it into the initramfs tmpfs; no gzip to run under emulation). Its
# name carries a hash of this recipe, so changing the recipe rebuilds it.
PKGS=systemd,dbus,busybox-static,runc,procps,iproute2,ca-certificates
recipe_hash=$(sed -n '/^# ----------------------------------------------------------------- image ---/,/^# ------------------------------------------------------------------ run ---/p' "$0" \
  | cat - "$here/cv-test.service" "$here/guest-run" | sha256sum | cut -c1-12)
IMAGE="$CACHE/bookworm-systemd-$recipe_hash.cpio"
if [ ! -s "$IMAGE" ]; then
  command -v mmdebstrap >/dev/null || cant "mmdebstrap is not installed (scripts/install-deps)"
  if [ -z "${SYSTEMD_VM_MIRROR:-}" ]; then
    SYSTEMD_VM_MIRROR=$(grep -hsE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null \
      | grep -v security | sed -E 's/^URIs: *//; s/^deb (\[[^]]*\] )?//; s/ .*//' | grep -m1 '^http' || true)
    : "${SYSTEMD_VM_MIRROR:=http://deb.debian.org/debian}"
  fi
  log "building the bookworm+systemd image (mmdebstrap from $SYSTEMD_VM_MIRROR) into $IMAGE"
  tb=$(date +%s)
  rootdir=$(mktemp -d "$CACHE/root.XXXXXX")
  trap 'rm -rf "$rootdir"' EXIT
  if ! mmdebstrap --quiet --variant=minbase --include="$PKGS" \
      --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
      --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
      bookworm "$rootdir" "$SYSTEMD_VM_MIRROR" >&2; then
    cant "mmdebstrap failed (is the Debian mirror $SYSTEMD_VM_MIRROR reachable?)"
  fi
  r=$rootdir
  rm -rf "$r"/var/cache/apt/* "$r"/var/lib/apt/lists/* "$r"/usr/share/{doc,man,locale,info}
  echo systemd-vm > "$r/etc/hostname"
  : > "$r/etc/machine-id"   # generated at boot
  # Nothing the test does not need: fewer units, faster boot under TCG.
  for u in getty@tty1.service serial-getty@ttyS0.service serial-getty@ttyS1.service \
           console-getty.service systemd-timesyncd.service apt-daily.timer \
           apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer dpkg-db-backup.timer \
           systemd-tmpfiles-clean.timer systemd-firstboot.service systemd-update-utmp.service \
           systemd-update-utmp-runlevel.service man-db.timer remote-fs.target \
           systemd-hwdb-update.service ldconfig.service systemd-journal-catalog-update.service \
           getty.target modprobe@configfs.service modprobe@dm_mod.service modprobe@drm.service \
           modprobe@efi_pstore.service modprobe@fuse.service modprobe@loop.service \
           systemd-random-seed.service e2scrub_reap.service systemd-remount-fs.service \
           systemd-modules-load.service systemd-logind.service systemd-pstore.service \
           systemd-user-sessions.service; do
    ln -sf /dev/null "$r/etc/systemd/system/$u"
  done
  # The initramfs root cannot be pivot_root'ed away from (EINVAL), and
  # container runtimes pivot_root: /init moves the userland onto a tmpfs
  # and starts systemd there (a few seconds of copying under TCG).
  mkdir -p "$r/newroot"
  cat > "$r/init" <<'EOS'
#!/bin/busybox sh
/bin/busybox mount -t tmpfs -o mode=0755,size=90% tmpfs /newroot
for d in /*; do
  [ "$d" = /newroot ] || [ "$d" = /init ] || /bin/busybox cp -a "$d" /newroot/
done
exec /bin/busybox switch_root /newroot /lib/systemd/systemd "$@"
EOS
  chmod 0755 "$r/init"
  install -m 0644 "$here/cv-test.service" "$r/etc/systemd/system/cv-test.service"
  install -m 0755 "$here/guest-run" "$r/usr/local/sbin/cv-test-run"
  mkdir -p "$r/etc/systemd/system/multi-user.target.wants" "$r/test" "$r/out"
  ln -sf ../cv-test.service "$r/etc/systemd/system/multi-user.target.wants/cv-test.service"
  (cd "$r" && find . | cpio --quiet -o -H newc -R 0:0) > "$IMAGE.tmp" || cant "cpio failed"
  mv "$IMAGE.tmp" "$IMAGE"
  rm -rf "$rootdir"; trap - EXIT
  find "$CACHE" -maxdepth 1 -name 'bookworm-systemd-*.cpio' ! -name "$(basename "$IMAGE")" -delete
  log "image built in $(($(date +%s) - tb)) s ($(du -m "$IMAGE" | cut -f1) MiB)"
fi
flock -u 9
if [ "$BUILD_ONLY" = 1 ]; then
  log "kernel=$KERNEL image=$IMAGE"
  exit 0
fi
command -v qemu-system-x86_64 >/dev/null || cant "qemu-system-x86_64 is not installed"

# ------------------------------------------------------------------ run ---
work=$(mktemp -d "${TMPDIR:-/tmp}/systemd-vm.XXXXXX")
cleanup() { [ -n "${qpid:-}" ] && kill "$qpid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
# The test's files ride in a second, small cpio appended to the image
# (the kernel unpacks concatenated archives in order).
mkdir -p "$work/add/test"
cp "$TEST" "$work/add/test/"; chmod +x "$work/add/test/$(basename "$TEST")"
for f in "${FILES[@]}"; do cp -r "$f" "$work/add/test/"; done
printf '%s\n' "$@" > "$work/add/test/.args"
basename "$TEST" > "$work/add/test/.name"
(cd "$work/add" && find . | cpio --quiet -o -H newc -R 0:0 | gzip -1) > "$work/add.cpio.gz"
cat "$IMAGE" "$work/add.cpio.gz" > "$work/initrd"

log "kernel=$KERNEL accel=tcg mem=${MEM}M cpus=$CPUS"
INITRD=$work/initrd
vm_run SYSTEMD-VM "$work/console.log" \
  "console=ttyS0 rdinit=/init panic=-1 loglevel=4 cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1 systemd.show_status=false systemd.unit=multi-user.target ${KERNEL_APPEND:-}" \
  -accel tcg,thread=multi -cpu max
