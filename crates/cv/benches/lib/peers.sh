# peers.sh - the set-up every cv-vs-podman benchmark shares (sourced by
# crates/cv/benches/*-vs-podman.sh): the same engine build, the same
# podman configuration, the same image in both, and a cleanup that leaves
# nothing behind.
#
#   bench_enter_ns ARGS...      re-run the calling script in a private mount
#                               namespace with a private tmpfs on /run
#                               (podman, conmon and netavark write there)
#   bench_cv                    $cvbin: $CV_BIN, else a release build of cv
#   bench_setup NAME [netavark] $work, $CV, $PODMAN (private --root/--runroot,
#                               cgroupfs, file events, runc; netavark with
#                               its config in $work), the EXIT trap; a
#                               script's own cleanup goes in bench_cleanup_extra
#   bench_image [CV-RUN-FLAGS]  the built-in containerv/busybox made by cv,
#                               `cv save`d and `podman load`ed: $img
#
# Needs: podman, conmon, runc (netavark), scripts/install-deps.

bench_here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench_repo=$(cd "$bench_here/../../.." && pwd)

bench_enter_ns() {
  if [ -z "${CV_BENCH_IN_NS:-}" ]; then
    export CV_BENCH_IN_NS=1
    exec unshare -m --propagation private "$0" "$@"
  fi
  mount -t tmpfs tmpfs /run
}

bench_cv() {
  if [ -n "${CV_BIN:-}" ]; then
    cvbin=$CV_BIN
  else
    export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$bench_repo/target}
    cargo build -q --release --locked -p cv -p containerv-engine --bins \
      --manifest-path "$bench_repo/Cargo.toml"
    cvbin=$CARGO_TARGET_DIR/release/cv
  fi
}

# Overridden by a script for what only it makes (servers, networks).
bench_cleanup_extra() { :; }

bench_cleanup() {
  set +e
  bench_cleanup_extra
  for id in $($CV ps -aq 2>/dev/null); do $CV rm -f "$id" >/dev/null 2>&1; done
  # The engine keeps its default bridge as docker keeps docker0.
  $CV system reset -f >/dev/null 2>&1
  $PODMAN rm -fa -t 0 >/dev/null 2>&1
  $PODMAN rmi -af >/dev/null 2>&1
  $PODMAN system reset -f >/dev/null 2>&1
  grep " $work" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$work"
}

bench_setup() {
  local name=$1 backend=${2:-}
  work=$(mktemp -d "/var/tmp/cv-$name.XXXXXX")
  CV="$cvbin --root $work/cv --image-root $work/images"
  {
    printf '[containers]\ndefault_ulimits = []\n'
    printf '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\nruntime = "runc"\n'
    if [ "$backend" = netavark ]; then
      printf '[network]\nnetwork_backend = "netavark"\nnetwork_config_dir = "%s/netconf"\n' "$work"
    fi
  } > "$work/containers.conf"
  export CONTAINERS_CONF=$work/containers.conf
  PODMAN="podman --root $work/podman --runroot $work/podman-run --storage-driver overlay --cgroup-manager cgroupfs --events-backend file --runtime runc"
  trap bench_cleanup EXIT
}

bench_image() {
  $CV run --rm "$@" containerv/busybox true
  $CV save -o "$work/busybox.tar" containerv/busybox
  $PODMAN load -q -i "$work/busybox.tar" >/dev/null
  img=$($PODMAN images --format '{{.Repository}}:{{.Tag}}' | head -1)
}
