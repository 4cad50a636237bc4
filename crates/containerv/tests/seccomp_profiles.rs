//! Whole profiles and bad ones: docker's default profile compiles, loads
//! and runs a busybox container (its default errno is what an unlisted
//! syscall returns); an unknown syscall name is skipped (runc's and crun's
//! rule); an unknown action or architecture, a bad argument or listener
//! path is a clear error and leaves nothing behind.
#![cfg(target_os = "linux")]

mod seccomp_common;
mod spec_common;

use containerv::Spec;
use seccomp_common::{docker_default, one_rule, seccomp_spec};
use serde_json::json;
use spec_common::{create_err, run, runtime, unique_id};

#[test]
fn docker_default_profile_runs_busybox() {
    let (_root, rt) = runtime();
    let id = unique_id("sc-docker");
    let p = docker_default(&[]);
    let n: usize = p["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["names"].as_array().unwrap().len())
        .sum();
    assert!(n > 300, "{n} syscalls in the converted profile");
    let started = std::time::Instant::now();
    let program =
        containerv::linux::seccomp::compile(&serde_json::from_value(p.clone()).unwrap()).unwrap();
    let compile_time = started.elapsed();
    assert!(compile_time.as_millis() < 200, "{compile_time:?}");
    assert!(program.instructions().len() < 4096);
    let script = "echo hello; ls / >/dev/null && echo listed; mkdir /dev/shm/d && echo made; \
                  grep '^Seccomp:' /proc/self/status";
    let (spec, config) = seccomp_spec(&id, script, p, false);
    let (st, out) = run(&rt, &id, spec, config);
    assert!(st.success(), "{st}: {out}");
    for want in ["hello", "listed", "made", "Seccomp:\t2"] {
        assert!(out.contains(want), "{want} missing: {out}");
    }
}

#[test]
fn default_errno_ret_reaches_the_process() {
    // docker's profile without mkdir/mkdirat: they get defaultErrnoRet (ENOSYS).
    let (_root, rt) = runtime();
    let id = unique_id("sc-deferr");
    let p = docker_default(&["mkdir", "mkdirat"]);
    let (spec, config) = seccomp_spec(&id, "mkdir /dev/shm/d || echo refused", p, true);
    let (st, out) = run(&rt, &id, spec, config);
    assert!(st.success(), "{st}: {out}");
    assert!(
        out.contains("Function not implemented") && out.contains("refused"),
        "{out}"
    );
}

/// A name no table knows is skipped, as runc and crun do (a profile made
/// for a newer kernel), and the profile's other names still apply.
#[test]
fn unknown_syscall_name_is_ignored_like_runc() {
    let (_root, rt) = runtime();
    let id = unique_id("sc-badname");
    let p = one_rule(
        &["mkdir", "mkdirat", "not_a_syscall"],
        "SCMP_ACT_ERRNO",
        json!({}),
    );
    let (spec, config) = seccomp_spec(
        &id,
        "mkdir /tmp/x 2>/dev/null && echo made || echo refused",
        p,
        true,
    );
    let (st, out) = run(&rt, &id, spec, config);
    assert!(st.success(), "{st}: {out}");
    assert!(out.contains("refused"), "{out}");
}

#[test]
fn bad_arguments_and_listener_paths_are_named() {
    let (_root, rt) = runtime();
    let cases = [
        (
            one_rule(
                &["getpid"],
                "SCMP_ACT_ERRNO",
                json!({"args": [{"index": 9, "value": 1, "op": "SCMP_CMP_EQ"}]}),
            ),
            "argument index 9",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "relative.sock",
                   "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}),
            "\"relative.sock\" is not an absolute path",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 100000}),
            "errnoRet 100000",
        ),
    ];
    for (p, want) in cases {
        let id = unique_id("sc-badarg");
        let (spec, config) = seccomp_spec(&id, "true", p, true);
        let e = create_err(&rt, &id, spec, config);
        assert!(e.contains(want), "{want}: {e}");
    }
}

#[test]
fn unknown_action_and_architecture_are_refused_with_their_name() {
    // Caught where the spec is read (config.json), before any runtime work.
    let (spec, _) = spec_common::sh_spec("sc-parse", "true");
    for (field, bad) in [
        (
            "action",
            json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_BOGUS"}]}),
        ),
        (
            "architecture",
            json!({"defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_PDP11"]}),
        ),
        ("default action", json!({"defaultAction": "SCMP_ACT_MAYBE"})),
    ] {
        let mut v = serde_json::to_value(&spec).unwrap();
        v["linux"]["seccomp"] = bad;
        let e = serde_json::from_value::<Spec>(v).unwrap_err().to_string();
        let name = ["SCMP_ACT_BOGUS", "SCMP_ARCH_PDP11", "SCMP_ACT_MAYBE"]
            .into_iter()
            .find(|n| e.contains(n));
        assert!(name.is_some(), "{field}: {e}");
    }
}
