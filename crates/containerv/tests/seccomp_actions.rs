//! seccomp on real containers (root, real kernel, busybox rootfs): every
//! action as the process sees it, argument comparisons, the filter flags,
//! and exec'd processes getting the container's filter.
#![cfg(target_os = "linux")]

mod seccomp_common;
mod spec_common;

use std::io::Read;

use containerv::{ExitStatus, ProcessOptions, Stdio};
use containerv_testutil::assert_no_leftovers;
use seccomp_common::{one_rule, seccomp_spec};
use serde_json::{json, Value};
use spec_common::{run, runtime, unique_id};

const SIGSYS: i32 = 31;

/// Run `script` under `profile`; (status, output).
fn under(prefix: &str, script: &str, profile: Value, nnp: bool) -> (ExitStatus, String) {
    let (_root, rt) = runtime();
    let id = unique_id(prefix);
    let (spec, config) = seccomp_spec(&id, script, profile, nnp);
    run(&rt, &id, spec, config)
}

#[test]
fn errno_with_its_code() {
    let p = one_rule(
        &["mkdir", "mkdirat"],
        "SCMP_ACT_ERRNO",
        json!({"errnoRet": 18}),
    );
    let (st, out) = under(
        "sc-errno",
        "mkdir /dev/shm/x; grep '^Seccomp:' /proc/self/status",
        p,
        true,
    );
    assert!(st.success(), "{st}: {out}");
    assert!(out.contains("Invalid cross-device link"), "{out}");
    assert!(out.contains("Seccomp:\t2"), "{out}");
    // Without errnoRet: EPERM.
    let p = one_rule(&["mkdir", "mkdirat"], "SCMP_ACT_ERRNO", json!({}));
    let (_, out) = under("sc-eperm", "mkdir /dev/shm/x", p, true);
    assert!(out.contains("Operation not permitted"), "{out}");
}

#[test]
fn kill_process_and_kill_thread_end_with_sigsys() {
    for action in [
        "SCMP_ACT_KILL_PROCESS",
        "SCMP_ACT_KILL_THREAD",
        "SCMP_ACT_KILL",
    ] {
        let p = one_rule(&["mkdir", "mkdirat"], action, json!({}));
        let (st, out) = under("sc-kill", "exec mkdir /dev/shm/x", p, true);
        assert_eq!(st, ExitStatus::Signaled(SIGSYS), "{action}: {out}");
    }
}

#[test]
fn trap_delivers_sigsys_to_a_handler() {
    // The shell itself calls chdir for `cd`: its SIGSYS trap runs, the
    // call fails, the shell goes on.
    let p = one_rule(&["chdir"], "SCMP_ACT_TRAP", json!({}));
    let (st, out) = under(
        "sc-trap",
        "trap 'echo trapped' SYS; cd /tmp; echo after",
        p.clone(),
        true,
    );
    assert!(st.success(), "{st}: {out}");
    assert!(out.contains("trapped") && out.contains("after"), "{out}");
    // Without a handler SIGSYS ends the process.
    let (st, out) = under("sc-trap2", "cd /tmp; echo after", p, true);
    assert_eq!(st, ExitStatus::Signaled(SIGSYS), "{out}");
}

#[test]
fn log_allows_and_trace_without_tracer_is_enosys() {
    let p = one_rule(&["mkdir", "mkdirat"], "SCMP_ACT_LOG", json!({}));
    let (st, out) = under("sc-log", "mkdir /dev/shm/x && echo made", p, true);
    assert!(st.success() && out.contains("made"), "{st}: {out}");
    let p = one_rule(
        &["mkdir", "mkdirat"],
        "SCMP_ACT_TRACE",
        json!({"errnoRet": 1}),
    );
    let (_, out) = under("sc-trace", "mkdir /dev/shm/x || echo failed", p, true);
    assert!(
        out.contains("Function not implemented") && out.contains("failed"),
        "{out}"
    );
}

#[test]
fn argument_comparisons_on_the_real_kernel() {
    // chmod(path, mode): EXDEV only when (mode & 0777) == 0700 and path != 0
    // (two comparisons on one rule); otherwise the explicit allow.
    let p = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            {"names": ["chmod"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18, "args": [
                {"index": 1, "value": 0o777, "valueTwo": 0o700, "op": "SCMP_CMP_MASKED_EQ"},
                {"index": 0, "value": 0, "op": "SCMP_CMP_NE"}]},
            // personality(PER_LINUX32) denied, personality(0) allowed.
            {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13, "args": [
                {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
        ]
    });
    let (st, out) = under(
        "sc-args",
        "touch /dev/shm/f; chmod 755 /dev/shm/f && echo a-done; chmod 700 /dev/shm/f || echo b-denied; \
         linux64 echo p64-ok; linux32 echo p32-ran || echo p32-denied",
        p,
        false, // early install: the filter also sees the runtime's own set-up calls
    );
    assert!(st.success(), "{st}: {out}");
    for want in [
        "a-done",
        "Invalid cross-device link",
        "b-denied",
        "p64-ok",
        "p32-denied",
    ] {
        assert!(out.contains(want), "{want} missing: {out}");
    }
    assert!(!out.contains("p32-ran"), "{out}");
}

#[test]
fn filter_flags_are_accepted() {
    let mut p = one_rule(&["mkdir", "mkdirat"], "SCMP_ACT_LOG", json!({}));
    p["flags"] = json!([
        "SECCOMP_FILTER_FLAG_LOG",
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        "SECCOMP_FILTER_FLAG_TSYNC"
    ]);
    let (st, out) = under(
        "sc-flags",
        "mkdir /dev/shm/x && grep -E '^Seccomp(_filters)?:' /proc/self/status",
        p,
        true,
    );
    assert!(st.success(), "{st}: {out}");
    assert!(
        out.contains("Seccomp:\t2") && out.contains("Seccomp_filters:\t1"),
        "{out}"
    );
}

#[test]
fn exec_gets_the_containers_filter() {
    let (_root, rt) = runtime();
    let id = unique_id("sc-exec");
    let p = one_rule(
        &["mkdir", "mkdirat"],
        "SCMP_ACT_ERRNO",
        json!({"errnoRet": 18}),
    );
    let (spec, config) = seccomp_spec(&id, "sleep 60", p, false);
    let c = rt.create_from_spec(&id, spec, config).unwrap();
    let mut o = ProcessOptions::new([
        "sh",
        "-c",
        "mkdir /dev/shm/y; grep '^Seccomp:' /proc/self/status",
    ]);
    o.stdout = Stdio::Pipe;
    o.stderr = Stdio::Pipe;
    let mut proc_ = c.spawn(o).unwrap();
    let mut out = String::new();
    proc_
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    proc_
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let st = proc_.wait().unwrap();
    c.destroy().unwrap();
    assert_no_leftovers(rt.root(), &id);
    assert!(st.success(), "{st}: {out}");
    assert!(
        out.contains("Invalid cross-device link") && out.contains("Seccomp:\t2"),
        "{out}"
    );
}
