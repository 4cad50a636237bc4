#!/bin/bash
# systemd-driver-tests.sh - runs inside the systemd VM (systemd-vm.sh, as
# root in cv-test.service): the systemd cgroup driver of `containerv`
# (/test/containerv) next to runc (Debian's runc 1.1 in the image), each on
# the same bundle (/test/config.json, cgroupsPath "@CGPATH@" filled in).
#
# For each runtime: create/start with cgroupsPath system.slice:cv-test:ID,
# the scope unit is active in system.slice and delegated, its properties
# (MemoryMax, TasksMax, CPUQuotaPerSecUSec) and its cgroup's files
# (memory.max, cpu.max, pids.max) hold the spec's limits, the cgroup holds
# the init and nothing else, state/ps/events read it, update changes
# properties and files, delete removes unit and cgroup; an empty slice
# (":cv-test:ID") means system.slice; no cgroupsPath gives <prefix>-ID.scope
# (runc: runc-, containerv: containerv-); a container whose last process
# exited is cleaned up by systemd and delete still succeeds; a failing
# create and a cgroupsPath not of the slice:prefix:name form leave no unit;
# a name ending in .slice makes a slice unit (not a scope) holding the
# init (containerv only: runc 1.1.5 asks systemd for PIDs on the slice,
# which systemd refuses, so its run fails); org.systemd.property.* annotations (GVariant text) become unit
# properties; with pids.max 2 the program can still fork once (nothing of
# the runtime's counts against the container's limit).
# Then containerv's observations must equal runc's.
#
# One line per test: "ok - ...", "FAIL - ...". The number of tests is PLAN
# (run-tests.sh checks that all were reported).
PLAN=62
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
pass=0 failn=0
ok() { echo "ok - $*"; pass=$((pass + 1)); }
nok() { echo "FAIL - $*"; failn=$((failn + 1)); }
# check DESC CMD...: one test.
# The output goes to a file, not a pipe: a created container inherits the
# runtime's stdio and holds it open (a $(...) would wait for it).
check() {
  local desc=$1; shift
  if "$@" > /tmp/check.out 2>&1 < /dev/null; then ok "$desc"; else
    nok "$desc"; sed 's/^/    /' /tmp/check.out | head -n 15
  fi
}

rt_containerv() { /test/containerv --root /run/cv-test --systemd-cgroup "$@"; }
rt_runc() { runc --root /run/runc-test --systemd-cgroup "$@"; }

# mkbundle DIR CGPATH [ARG0]: busybox rootfs, the template's config with
# cgroupsPath CGPATH (none when empty) and program ARG0 (default sleep).
mkbundle() {
  local dir=$1 cgpath=$2 arg0=${3:-sleep}
  mkdir -p "$dir"/rootfs/{bin,proc,dev,sys,tmp,etc}
  cp /bin/busybox "$dir/rootfs/bin/"
  for a in sh sleep cat true; do ln -sf busybox "$dir/rootfs/bin/$a"; done
  if [ -n "$cgpath" ]; then
    sed "s|@CGPATH@|$cgpath|; s|\"sleep\"|\"$arg0\"|" /test/config.json > "$dir/config.json"
  else
    sed "/\"cgroupsPath\"/d; s|\"sleep\"|\"$arg0\"|" /test/config.json > "$dir/config.json"
  fi
}

# unit_is UNIT PROP=VALUE...: systemctl show agrees.
unit_is() {
  local unit=$1 kv k v got rc=0; shift
  for kv in "$@"; do
    k=${kv%%=*} v=${kv#*=}
    got=$(systemctl show -p "$k" --value "$unit")
    [ "$got" = "$v" ] || { echo "$unit: $k=$got, want $v"; rc=1; }
  done
  return $rc
}

# files_are DIR FILE=VALUE...
files_are() {
  local dir=$1 kv f v got rc=0; shift
  for kv in "$@"; do
    f=${kv%%=*} v=${kv#*=}
    got=$(cat "$dir/$f" 2>&1)
    [ "$got" = "$v" ] || { echo "$dir/$f: $got, want $v"; rc=1; }
  done
  return $rc
}

# procs_are DIR PID: the cgroup holds exactly that process.
procs_are() {
  local got
  got=$(tr '\n' ' ' < "$1/cgroup.procs")
  [ "$got" = "$2 " ] || { echo "$1/cgroup.procs: '$got', want '$2 '"; return 1; }
}

# gone UNIT DIR: systemd forgot the unit and its cgroup (within 5 s).
gone() {
  local i
  for i in $(seq 50); do
    if [ "$(systemctl show -p LoadState --value "$1")" = not-found ] && [ ! -e "$2" ]; then
      return 0
    fi
    sleep 0.1
  done
  echo "$1: LoadState=$(systemctl show -p LoadState --value "$1") ActiveState=$(systemctl show -p ActiveState --value "$1"); $2 exists: $([ -e "$2" ] && echo yes || echo no)"
  return 1
}

state_field() { "rt_$1" state "$2" | tr -d ' \n' | sed -n "s/.*\"$3\":\"\{0,1\}\([^,\"}]*\).*/\1/p"; }
state_is() { local s; s=$(state_field "$1" "$2" status); [ "$s" = "$3" ] || { echo "status $s, want $3"; return 1; }; }
ps_has() { "rt_$1" ps "$2" | awk 'NR > 1 {print $2}' | grep -qx "$3" || { "rt_$1" ps "$2"; return 1; }; }
events_limit() { local o; o=$("rt_$1" events --stats "$2"); grep -q "\"limit\":$3" <<<"$o" || { echo "$o"; return 1; }; }
wait_stopped() {
  local i
  for i in $(seq 100); do [ "$(state_field "$1" "$2" status)" = stopped ] && return 0; sleep 0.1; done
  echo "not stopped: $(state_field "$1" "$2" status)"; return 1
}
fails_naming() { # fails_naming WORD CMD...: CMD fails, its stderr names WORD
  local word=$1; shift
  if "$@" > /tmp/fails.out 2>&1 < /dev/null; then echo "succeeded: $(cat /tmp/fails.out)"; return 1; fi
  grep -q -- "$word" /tmp/fails.out || { echo "error does not name '$word': $(cat /tmp/fails.out)"; return 1; }
}
observe() { # the observable results of a scope, one per line
  local unit=$1 dir=$2
  for p in ActiveState Slice Delegate MemoryMax TasksMax CPUQuotaPerSecUSec; do
    echo "$p=$(systemctl show -p "$p" --value "$unit")"
  done
  for f in memory.max cpu.max pids.max; do echo "$f=$(cat "$dir/$f")"; done
}

echo "systemd $(systemctl --version | head -n1 | cut -d' ' -f2), $(runc --version | head -n1), cgroup $(stat -fc %T /sys/fs/cgroup)"
for rt in containerv runc; do
  # 1. create/start with system.slice:cv-test:ID, then update and delete.
  id=${rt}1 unit=cv-test-${rt}1.scope
  cg=/sys/fs/cgroup/system.slice/$unit
  mkbundle "/tmp/b-$id" "system.slice:cv-test:$id"
  check "$rt: create --systemd-cgroup (system.slice:cv-test:$id)" "rt_$rt" create --bundle "/tmp/b-$id" "$id"
  check "$rt: start" "rt_$rt" start "$id"
  pid=$(state_field "$rt" "$id" pid)
  check "$rt: $unit is active in system.slice, delegated" \
    unit_is "$unit" ActiveState=active Slice=system.slice Delegate=yes
  check "$rt: $unit has the limits as properties" \
    unit_is "$unit" MemoryMax=67108864 TasksMax=42 CPUQuotaPerSecUSec=500ms
  check "$rt: $cg holds the init ($pid) and nothing else" procs_are "$cg" "$pid"
  check "$rt: memory.max, cpu.max, pids.max hold the limits" \
    files_are "$cg" memory.max=67108864 "cpu.max=50000 100000" pids.max=42
  observe "$unit" "$cg" > "/tmp/obs-create-$rt"
  check "$rt: state says running" state_is "$rt" "$id" running
  check "$rt: ps lists the init" ps_has "$rt" "$id" "$pid"
  check "$rt: events --stats reads the scope's memory limit" events_limit "$rt" "$id" 67108864
  check "$rt: update --memory --pids-limit --cpu-quota" \
    "rt_$rt" update --memory 134217728 --pids-limit 50 --cpu-quota 20000 "$id"
  check "$rt: update changed the files" \
    files_are "$cg" memory.max=134217728 "cpu.max=20000 100000" pids.max=50
  check "$rt: update changed the unit's properties" \
    unit_is "$unit" MemoryMax=134217728 TasksMax=50 CPUQuotaPerSecUSec=200ms
  observe "$unit" "$cg" > "/tmp/obs-update-$rt"
  check "$rt: delete -f" "rt_$rt" delete -f "$id"
  check "$rt: delete removed $unit and its cgroup" gone "$unit" "$cg"

  # 2. run -d with an empty slice; the container exits; delete.
  id=${rt}2 unit=cv-test-${rt}2.scope
  cg=/sys/fs/cgroup/system.slice/$unit
  mkbundle "/tmp/b-$id" ":cv-test:$id"
  check "$rt: run -d with :cv-test:$id (empty slice)" "rt_$rt" run -d --bundle "/tmp/b-$id" "$id"
  check "$rt: an empty slice means system.slice" unit_is "$unit" Slice=system.slice ActiveState=active
  check "$rt: kill KILL, the container stops" bash -c "$(declare -f rt_$rt state_field wait_stopped); rt_$rt kill $id KILL && wait_stopped $rt $id"
  check "$rt: delete of the exited container, unit and cgroup gone" bash -c "$(declare -f rt_$rt gone); rt_$rt delete $id && gone $unit $cg"

  # 3. no cgroupsPath: <prefix>-ID.scope in system.slice.
  id=${rt}3 unit=$rt-${rt}3.scope
  mkbundle "/tmp/b-$id" ""
  check "$rt: run -d, no cgroupsPath" "rt_$rt" run -d --bundle "/tmp/b-$id" "$id"
  check "$rt: no cgroupsPath gives $unit in system.slice" unit_is "$unit" Slice=system.slice ActiveState=active
  check "$rt: delete -f removes $unit" bash -c "$(declare -f rt_$rt gone); rt_$rt delete -f $id && gone $unit /sys/fs/cgroup/system.slice/$unit"

  # 4. failures leave nothing.
  id=${rt}bad unit=cv-test-${rt}bad.scope
  mkbundle "/tmp/b-$id" "system.slice:cv-test:$id" /nonexistent
  check "$rt: create of a missing program fails" fails_naming nonexistent "rt_$rt" create --bundle "/tmp/b-$id" "$id"
  "rt_$rt" delete -f "$id" >/dev/null 2>&1
  check "$rt: the failed create left no unit, no cgroup" gone "$unit" "/sys/fs/cgroup/system.slice/$unit"
  # 5. a name ending in .slice: a slice unit, Wants= its parent (runc
  # 1.1.5 cannot start one: it passes PIDs, which a slice refuses).
  if [ "$rt" = containerv ]; then
    id=${rt}5 unit=system-cvtest${rt}.slice
    cg=/sys/fs/cgroup/system.slice/$unit
    mkbundle "/tmp/b-$id" "system.slice:ignored:$unit"
    check "$rt: run -d with system.slice:ignored:$unit" "rt_$rt" run -d --bundle "/tmp/b-$id" "$id"
    pid=$(state_field "$rt" "$id" pid)
    check "$rt: $unit is an active slice holding the init ($pid)" \
      bash -c "$(declare -f unit_is procs_are); unit_is $unit ActiveState=active Wants=system.slice && procs_are $cg $pid"
    # systemd keeps a stopped slice loaded (inactive); its cgroup goes.
    check "$rt: delete -f stops the slice and removes its cgroup" \
      bash -c "$(declare -f rt_$rt unit_is); rt_$rt delete -f $id && unit_is $unit ActiveState=inactive && [ ! -e $cg ]"
  fi

  # 6. org.systemd.property.* annotations (runc's documented example).
  id=${rt}6 unit=cv-test-${rt}6.scope
  mkbundle "/tmp/b-$id" "system.slice:cv-test:$id"
  sed -i '1a "annotations": {"org.systemd.property.TimeoutStopUSec": "uint64 123456789", "org.systemd.property.CollectMode": "'"'inactive-or-failed'"'"},' "/tmp/b-$id/config.json"
  check "$rt: run -d with org.systemd.property annotations" "rt_$rt" run -d --bundle "/tmp/b-$id" "$id"
  check "$rt: the annotations are unit properties" \
    unit_is "$unit" "TimeoutStopUSec=2min 3.456789s" CollectMode=inactive-or-failed
  "rt_$rt" delete -f "$id" >/dev/null 2>&1

  # 7. pids.max 2: the program forks once, then sleeps.
  id=${rt}7
  mkbundle "/tmp/b-$id" "system.slice:cv-test:$id"
  sed -i 's/"limit": 42/"limit": 2/; s/"sleep",/"sh", "-c", "(exec sleep 0) \&\& exec sleep 1000",/' "/tmp/b-$id/config.json"
  check "$rt: run -d with pids.limit 2" "rt_$rt" run -d --bundle "/tmp/b-$id" "$id"
  check "$rt: under pids.max 2 the program's fork worked (still running)" \
    bash -c "sleep 1; $(declare -f rt_$rt state_field state_is); state_is $rt $id running"
  "rt_$rt" delete -f "$id" >/dev/null 2>&1

  mkbundle "/tmp/b-${rt}path" "/cv-test-not-systemd"
  check "$rt: a cgroupsPath not of the slice:prefix:name form is refused, named" \
    fails_naming "slice:prefix:name" "rt_$rt" create --bundle "/tmp/b-${rt}path" "${rt}path"
  "rt_$rt" delete -f "${rt}path" >/dev/null 2>&1
done

# 5. containerv and runc: the same observable results.
check "containerv and runc: same unit properties and files after create" diff /tmp/obs-create-containerv /tmp/obs-create-runc
check "containerv and runc: same unit properties and files after update" diff /tmp/obs-update-containerv /tmp/obs-update-runc
check "nothing left in system.slice" bash -c '! ls -d /sys/fs/cgroup/system.slice/cv-test-* /sys/fs/cgroup/system.slice/system-cvtest* /sys/fs/cgroup/system.slice/runc-* /sys/fs/cgroup/system.slice/containerv-* 2>/dev/null'

echo "PLAN $PLAN, reported $((pass + failn))"
[ "$failn" -eq 0 ] && [ $((pass + failn)) -eq "$PLAN" ]
