# Lifecycle cases of the runtime-tools validation suite, as shell: the
# scenarios of its create, state, start, kill, killsig, kill_no_effect,
# delete, delete_resources, delete_only_create_resources, pidfile,
# config_updates_without_affect, hooks, hooks_stdin, prestart_fail,
# poststart_fail, poststop_fail, linux_ns_path, linux_ns_path_type,
# linux_ns_itype and linux_ns_nopath programs (their assertions, our
# code). Sourced by run.sh, which defines:
#   rt ARGS...        the runtime under test with its --root
#   $rt_exec          the same as an executable (CV_CONF_PRIVATE_NS=1: the
#                     caller made a private mount namespace already)
#   check NAME COND [DETAIL]  count one assertion (COND: 0 = pass)
#   $gen $rootfs $lc  the generator, the shared rootfs, a scratch dir
#   $cg_abs           an absolute cgroupsPath prefix of our own
#   v1_hierarchies    "MOUNTPOINT SUPEROPTIONS" of each cgroup v1 mount
# Every case removes what it made (containers, bundles, processes).

lc_n=0
# A fresh 0700 bundle (as os.MkdirTemp makes it) from `gen spec` options;
# prints its directory.
bundle() {
  local d
  d=$(mktemp -d "$lc/bundle.XXXXXX") && "$gen" spec "$d" "$rootfs" "$@" >&2 && echo "$d"
}
# Sets $id to a new container id.
nextid() { lc_n=$((lc_n + 1)); id="cvlc-$rt_name-$lc_n-$$"; }
ok_if() { if "$@" >/dev/null 2>&1; then return 0; else return 1; fi; }
fails() { if "$@" >/dev/null 2>&1; then return 1; else return 0; fi; }
st() { rt state "$1" 2>/dev/null | "$gen" field "$2"; }
# Wait up to 10 s for one of the statuses ("stopped", "created|stopped").
wait_status() {
  local i s
  for i in $(seq 100); do
    s=$(st "$1" status)
    case "|$2|" in *"|$s|"*) return 0 ;; esac
    sleep 0.1
  done
  return 1
}
wait_file() {
  local i
  for i in $(seq 100); do [ -e "$1" ] && return 0; sleep 0.1; done
  return 1
}
gone() { rt delete -f "$1" >/dev/null 2>&1; }
# Host path of a file the container writes under /tmp.
out() { echo "$rootfs/tmp/$1"; }

lc_create() {
  local b id
  nextid; b=$(bundle -- true)
  fails rt create --bundle "$b"; check create-without-id $?
  ok_if rt create --bundle "$b" "$id"; check create $?
  [ "$(st "$id" id)" = "$id" ]; check create-state-id $?
  fails rt create --bundle "$b" "$id"; check create-duplicate-id $?
  [ "$(st "$id" status)" = created ]; check create-duplicate-id-no-effect $?
  gone "$id"
  fails rt create --bundle "$lc/no-such-bundle" "$id-x"; check create-missing-bundle $?
  fails rt state "$id-x"; check create-missing-bundle-leaves-nothing $?
  gone "$id-x"
}

lc_state() {
  local b id pid
  nextid; b=$(bundle annotation=org.cvconformance.state=yes -- true)
  fails rt state; check state-without-id $?
  fails rt state "$id"; check state-nonexistent $?
  rt create --bundle "$b" "$id" >/dev/null 2>&1
  pid=$(st "$id" pid)
  [ -n "$(st "$id" ociVersion)" ] && [ "$(st "$id" status)" = created ] && [ "$(st "$id" bundle)" = "$b" ] &&
    [ -n "$pid" ] && [ "$pid" -gt 0 ] && [ -d "/proc/$pid" ] &&
    [ "$(st "$id" annotations)" = '{"org.cvconformance.state":"yes"}' ]
  check state-fields $? "$(rt state "$id" 2>&1 | tr -d '\n')"
  gone "$id"
}

lc_start() {
  local b id o
  nextid; o=$(out "$id")
  b=$(bundle -- sh -c "echo 'process called' >> /tmp/$id")
  fails rt start; check start-without-id $?
  fails rt start "$id"; check start-nonexistent $?
  rt create --bundle "$b" "$id" >/dev/null 2>&1
  [ ! -e "$o" ]; check start-args-not-run-before-start $?
  ok_if rt start "$id" && wait_status "$id" stopped && [ "$(cat "$o")" = "process called" ]
  check start-runs-process $?
  fails rt start "$id"; check start-stopped $?
  sleep 0.2
  [ "$(cat "$o")" = "process called" ]; check start-stopped-no-effect $?
  gone "$id"; rm -f "$o"
  # A spec without a process cannot be started.
  nextid; b=$(bundle noprocess -- true)
  ! { rt create --bundle "$b" "$id" >/dev/null 2>&1 && rt start "$id" >/dev/null 2>&1; }
  check start-without-process $?
  gone "$id"
}

lc_kill() {
  local b id before
  nextid; b=$(bundle -- true)
  fails rt kill; check kill-without-id $?
  fails rt kill "$id" KILL; check kill-nonexistent $?
  rt create --bundle "$b" "$id" >/dev/null 2>&1
  ok_if rt kill "$id" KILL && wait_status "$id" stopped; check kill-created $?
  gone "$id"
  rt create --bundle "$b" "$id" >/dev/null 2>&1 && rt start "$id" >/dev/null 2>&1
  wait_status "$id" stopped
  before=$(rt state "$id" 2>&1)
  fails rt kill "$id" KILL; check kill-stopped $?
  [ "$(rt state "$id" 2>&1)" = "$before" ]; check kill-stopped-no-effect $?
  gone "$id"
  nextid; b=$(bundle -- sleep 30)
  rt create --bundle "$b" "$id" >/dev/null 2>&1 && rt start "$id" >/dev/null 2>&1
  ok_if rt kill "$id" KILL && wait_status "$id" stopped; check kill-running $?
  gone "$id"
}

lc_killsig() {
  local b id sig
  for sig in TERM USR1 USR2; do
    nextid
    b=$(bundle -- sh -c "trap 'touch /tmp/$id-$sig' $sig; touch /tmp/$id-ready; sleep 10 & wait \$!")
    rt create --bundle "$b" "$id" >/dev/null 2>&1 && rt start "$id" >/dev/null 2>&1
    wait_file "$(out "$id-ready")"
    ok_if rt kill "$id" "$sig" && wait_status "$id" stopped && [ -e "$(out "$id-$sig")" ]
    check "killsig-$sig" $?
    gone "$id"; rm -f "$(out "$id-$sig")" "$(out "$id-ready")"
  done
}

lc_delete() {
  local b id
  nextid; b=$(bundle -- sleep 30)
  fails rt delete; check delete-without-id $?
  rt create --bundle "$b" "$id" >/dev/null 2>&1
  fails rt delete "$id"; check delete-created $?
  [ "$(st "$id" status)" = created ]; check delete-created-no-effect $?
  gone "$id"
  rt create --bundle "$b" "$id" >/dev/null 2>&1 && rt start "$id" >/dev/null 2>&1
  fails rt delete "$id"; check delete-running $?
  [ "$(st "$id" status)" = running ]; check delete-running-no-effect $?
  rt kill "$id" KILL >/dev/null 2>&1; wait_status "$id" stopped
  ok_if rt delete "$id" && fails rt state "$id"; check delete-stopped $?
  gone "$id"
}

# delete_resources, delete_only_create_resources (pids hierarchy).
lc_delete_resources() {
  local pids b id keep
  pids=$(v1_hierarchies | awk '$2 ~ /(^|,)pids(,|$)/ { print $1; exit }')
  [ -n "$pids" ] || { echo "skip delete-resources: no v1 pids hierarchy"; return; }
  nextid
  b=$(bundle "cgroup=$cg_abs/del-$rt_name" pids=1000 -- true)
  rt create --bundle "$b" "$id" >/dev/null 2>&1
  [ -d "$pids$cg_abs/del-$rt_name" ]; check delete-resources-created $?
  rt start "$id" >/dev/null 2>&1; wait_status "$id" stopped
  rt delete "$id" >/dev/null 2>&1
  [ ! -e "$pids$cg_abs/del-$rt_name" ]; check delete-resources $?
  gone "$id"
  # A cgroup the container was moved into (not made by create) stays.
  keep="$pids/cvconf-keep-$rt_name-$$"
  mkdir "$keep"
  nextid; b=$(bundle -- true)
  rt create --bundle "$b" "$id" >/dev/null 2>&1
  st "$id" pid > "$keep/cgroup.procs"
  rt start "$id" >/dev/null 2>&1; wait_status "$id" stopped
  rt delete "$id" >/dev/null 2>&1
  [ -d "$keep" ]; check delete-only-created-resources $?
  gone "$id"; rmdir "$keep" 2>/dev/null
}

lc_pidfile() {
  local b id
  nextid; b=$(bundle -- true)
  rt create --pid-file "$lc/pidfile-$id" --bundle "$b" "$id" >/dev/null 2>&1
  [ -n "$(st "$id" pid)" ] && [ "$(cat "$lc/pidfile-$id" 2>/dev/null)" = "$(st "$id" pid)" ]
  check pidfile $?
  gone "$id"
}

lc_config_updates() {
  local b id o
  nextid; o=$(out "$id")
  b=$(bundle -- sh -c "echo original > /tmp/$id")
  rt create --bundle "$b" "$id" >/dev/null 2>&1
  echo '{"ociVersion": "1.0.0"}' > "$b/config.json"
  ok_if rt start "$id" && wait_status "$id" stopped && [ "$(cat "$o")" = original ]
  check config-updates-without-affect $?
  gone "$id"; rm -f "$o"
}

lc_hooks() {
  local b id o pid k
  nextid; o="$lc/hooks-$id"
  b=$(bundle "hook=prestart:echo prestart >> $o" "hook=poststart:echo poststart >> $o" \
    "hook=poststop:echo poststop >> $o" -- true)
  rt create --bundle "$b" "$id" >/dev/null 2>&1 && rt start "$id" >/dev/null 2>&1
  wait_status "$id" stopped; rt delete "$id" >/dev/null 2>&1
  [ "$(cat "$o" 2>/dev/null | tr '\n' ' ')" = "prestart poststart poststop " ]
  check hooks-order $? "$(cat "$o" 2>/dev/null | tr '\n' ' ')"
  gone "$id"
  # hooks_stdin
  nextid; o="$lc/stdin-$id"
  b=$(bundle "annotation=org.cvconformance.hook=stdin test" "hook=prestart:cat > $o.prestart" \
    "hook=poststart:cat > $o.poststart" "hook=poststop:cat > $o.poststop" -- true)
  rt create --bundle "$b" "$id" >/dev/null 2>&1
  pid=$(st "$id" pid)
  rt start "$id" >/dev/null 2>&1; wait_status "$id" stopped; rt delete "$id" >/dev/null 2>&1
  for k in prestart:created poststart:running poststop:-; do
    local r want_pid=$pid
    [ "${k%%:*}" = poststop ] && want_pid=-
    r=$("$gen" hookstate "$o.${k%%:*}" "$id" "$b" "$want_pid" "${k#*:}")
    [ "$r" = ok ]; check "hooks-stdin-${k%%:*}" $? "$r"
  done
  gone "$id"
  # prestart_fail: an error, and the program never runs.
  nextid; o=$(out "$id")
  b=$(bundle "hook=prestart:exit 1" -- sh -c "echo ran > /tmp/$id")
  ! { rt create --bundle "$b" "$id" >/dev/null 2>&1 && rt start "$id" >/dev/null 2>&1; }
  check prestart-fail-error $?
  sleep 0.3
  [ ! -e "$o" ]; check prestart-fail-not-run $?
  gone "$id"; rm -f "$o"
  # poststart_fail: a warning; the program runs.
  nextid; o=$(out "$id")
  b=$(bundle "hook=poststart:exit 1" -- sh -c "echo ran > /tmp/$id")
  rt create --bundle "$b" "$id" >/dev/null 2>&1 && rt start "$id" >/dev/null 2>&1
  wait_file "$o"; check poststart-fail-runs $?
  gone "$id"; rm -f "$o"
  # poststop_fail: a warning; delete deletes.
  nextid; b=$(bundle "hook=poststop:exit 1" -- true)
  rt create --bundle "$b" "$id" >/dev/null 2>&1 && rt start "$id" >/dev/null 2>&1
  wait_status "$id" stopped
  ok_if rt delete "$id" && fails rt state "$id"; check poststop-fail-deletes $?
  gone "$id"
}

# linux_ns_path: join another process's namespace by path.
lc_ns_path() {
  local ns opt proc sleeper target b id pid i
  for ns in ipc:--ipc:ipc mount:--mount:mnt network:--net:net pid:--pid:pid uts:--uts:uts; do
    IFS=: read -r ns opt proc <<<"$ns"
    setsid unshare "$opt" --fork sleep 1000 &
    sleeper=$!
    target=/proc/$sleeper/ns/$proc
    [ "$proc" = pid ] && target=/proc/$sleeper/ns/pid_for_children
    for i in $(seq 50); do
      [ "$(readlink "$target")" != "$(readlink "/proc/self/ns/$proc")" ] && break
      sleep 0.1
    done
    nextid; b=$(bundle "ns=$ns:$target" -- sleep 30)
    rt create --bundle "$b" "$id" >/dev/null 2>&1
    pid=$(st "$id" pid)
    [ -n "$pid" ] && [ "$(readlink "/proc/$pid/ns/$proc")" = "$(readlink "$target")" ]
    check "ns-path-$ns" $?
    gone "$id"
    kill -KILL -- "-$sleeper" 2>/dev/null; wait "$sleeper" 2>/dev/null
  done
}

# linux_ns_path_type: a path to a namespace of another type is an error.
lc_ns_path_type() {
  local p b id
  for p in cgroup:ipc ipc:mnt mount:net network:pid pid:user user:uts uts:cgroup; do
    nextid; b=$(bundle "ns=${p%%:*}:/proc/self/ns/${p#*:}" -- true)
    fails rt create --bundle "$b" "$id"; check "ns-path-type-${p%%:*}" $?
    gone "$id"
  done
}

# linux_ns_itype: no namespace of a type means the runtime's own. Runs in
# a private mount namespace of its own (a container without one mounts
# its /proc and /dev there), whose namespaces are the reference.
lc_ns_inherit() {
  local b id pid ns ref
  nextid; b=$(bundle nons -- sleep 30)
  ref="$lc/ns-ref-$id"
  unshare -m --propagation private sh -c \
    'for n in cgroup ipc mnt net pid user uts; do echo "$n $(readlink /proc/self/ns/$n)"; done > "$0"
     export CV_CONF_PRIVATE_NS=1; exec "$@"' "$ref" "$rt_exec" create --bundle "$b" "$id" >/dev/null 2>&1
  pid=$(st "$id" pid)
  for ns in cgroup ipc mnt net pid user uts; do
    [ -n "$pid" ] && [ "$(readlink "/proc/$pid/ns/$ns")" = "$(awk -v n="$ns" '$1 == n { print $2 }' "$ref")" ]
    check "ns-inherit-$ns" $?
  done
  gone "$id"
}

# linux_ns_nopath: a namespace without a path is a new one.
lc_ns_new() {
  local b id pid ns
  nextid; b=$(bundle ns=cgroup: -- sleep 30)
  rt create --bundle "$b" "$id" >/dev/null 2>&1
  pid=$(st "$id" pid)
  for ns in cgroup ipc mnt net pid uts; do
    [ -n "$pid" ] && [ -e "/proc/$pid/ns/$ns" ] && [ "$(readlink "/proc/$pid/ns/$ns")" != "$(readlink "/proc/self/ns/$ns")" ]
    check "ns-new-$ns" $?
  done
  gone "$id"
}

lifecycle_cases() {
  lc_create; lc_state; lc_start; lc_kill; lc_killsig; lc_delete; lc_delete_resources
  lc_pidfile; lc_config_updates; lc_hooks; lc_ns_path; lc_ns_path_type; lc_ns_inherit; lc_ns_new
}
