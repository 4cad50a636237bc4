# vm-run.sh - boot a test VM under qemu and stream what its test prints
# (sourced by tools/cgroup2-vm/cgroup2-vm.sh and tools/systemd-vm/systemd-vm.sh,
# which differ in how they build the guest, not in how they run it).
#
#   vm_run TAG CONSOLE_LOG APPEND QEMU_ARGS...
#
# The guest prints "==== TAG ..." markers on its second serial port:
# "==== TAG OUT-BEGIN/OUT-END" around a base64 tar of files for $OUTDIR and
# "==== TAG EXIT rc=N" last. The kernel's console goes to CONSOLE_LOG.
# Uses the caller's $work, $KERNEL, $INITRD, $MEM, $CPUS, $TIMEOUT,
# $OUTDIR, $VERBOSE, $t0, log(), and sets $qpid while qemu runs (for the
# caller's cleanup trap). Exits the script with the guest's rc, or 125 when
# the guest gave no result (timeout, crash).
vm_run() {
  local tag=$1 console=$2 append=$3
  shift 3
  local t1 t2 qrc rc skip line
  t1=$(date +%s.%N)
  # The log exists before `tail -f` below looks for it: the background job
  # opens its redirection only when it gets to run (later under load), and
  # a tail that finds no file gives up, losing the whole test output.
  : > "$work/test.log"
  timeout --foreground -k 5 "$TIMEOUT" qemu-system-x86_64 "$@" -m "$MEM" -smp "$CPUS" \
    -nodefaults -no-user-config -display none -no-reboot -monitor none \
    -serial "file:$console" -serial stdio \
    -kernel "$KERNEL" -initrd "$INITRD" \
    -append "$append" \
    < /dev/null >> "$work/test.log" 2>"$work/qemu.err" &
  qpid=$!
  # Stream the test's output (minus the OUT payload), timestamping the markers.
  skip=0
  while IFS= read -r line; do
    line=${line%$'\r'}
    case $line in
      "==== $tag OUT-BEGIN"*) skip=1 ;;
      "==== $tag OUT-END"*) skip=0 ;;
      "==== $tag "*) echo "$line"
        log "$(awk -v a="$t1" -v b="$(date +%s.%N)" -v m="${line:$((6 + ${#tag})):5}" 'BEGIN{printf "%s seen %.2fs after qemu start", m, b-a}')" ;;
      *) [ $skip = 1 ] || echo "$line" ;;
    esac
  done < <(tail -n +1 --pid="$qpid" -f "$work/test.log")
  qrc=0; wait "$qpid" || qrc=$?; qpid=
  t2=$(date +%s.%N)
  tr -d '\r' < "$work/test.log" > "$work/test.clean"
  if [ -n "$OUTDIR" ] && grep -q "^==== $tag OUT-BEGIN" "$work/test.clean"; then
    mkdir -p "$OUTDIR"
    sed -n "/^==== $tag OUT-BEGIN/,/^==== $tag OUT-END/{/^====/d;p}" "$work/test.clean" \
      | base64 -d | tar -xzf - -C "$OUTDIR"
  fi
  [ "$VERBOSE" = 1 ] && tr -d '\r' < "$console" >&2
  rc=$(sed -n "s/^==== $tag EXIT rc=\([0-9]*\).*/\1/p" "$work/test.clean" | tail -n1)
  log "$(awk -v a="$t0" -v b="$t1" -v c="$t2" -v r="$qrc" 'BEGIN{printf "qemu wall %.2fs (host setup %.2fs), qemu rc=%s", c-b, b-a, r}')"
  if [ -z "$rc" ]; then
    log "no result marker (timeout or guest crash); qemu stderr / console tail:"
    cat "$work/qemu.err" >&2
    [ -f "$console" ] && tr -d '\r' < "$console" | tail -n 40 >&2
    exit 125
  fi
  exit "$rc"
}
