//! The same bundle and profile under runc and under containerv must give
//! the process the same outcome (output and exit code): errno codes,
//! argument comparisons, kill, trace, default errno, extra architectures.
#![cfg(target_os = "linux")]

mod spec_common;

use std::path::Path;
use std::process::Command;

use containerv::{CreateConfig, InitKind, Spec, Stdio};
use serde_json::{json, Value};
use spec_common::{run, runtime, unique_id};

mod seccomp_common;
use seccomp_common::{docker_default, one_rule};

/// A `runc spec` bundle on the shared busybox rootfs (read-only) running
/// `sh -c script` under `profile`.
fn bundle(dir: &Path, id: &str, script: &str, profile: &Value, nnp: bool) {
    let st = Command::new("runc")
        .args(["spec", "--bundle"])
        .arg(dir)
        .status()
        .expect("runc is installed (apt-get install runc)");
    assert!(st.success());
    let p = dir.join("config.json");
    let mut v: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
    v["root"] = json!({"path": containerv_testutil::busybox_rootfs(), "readonly": true});
    v["process"]["args"] = json!(["/bin/sh", "-c", script]);
    v["process"]["terminal"] = json!(false);
    v["process"]["noNewPrivileges"] = json!(nnp);
    v["linux"]["cgroupsPath"] = json!(format!("containerv-{id}"));
    v["linux"]["seccomp"] = profile.clone();
    std::fs::write(&p, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
}

/// (exit code, output) under runc and under containerv.
fn both(script: &str, profile: Value, nnp: bool) -> ((i32, String), (i32, String)) {
    let (root, rt) = runtime();
    let id = unique_id("sc-vs-runc");
    let dir = root.path().join("bundle");
    std::fs::create_dir(&dir).unwrap();
    bundle(&dir, &id, script, &profile, nnp);
    let out = Command::new("runc")
        .arg("--root")
        .arg(root.path().join("runc-state"))
        .args(["run", "--bundle"])
        .arg(&dir)
        .arg(&id)
        .output()
        .unwrap();
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    let runc = (out.status.code().unwrap_or(-1), text);

    let spec = Spec::load(dir.join("config.json")).unwrap();
    let config = CreateConfig {
        init: InitKind::SpecProcess,
        bundle: Some(dir.clone()),
        stdout: Stdio::Pipe,
        stderr: Stdio::Pipe,
        ..Default::default()
    };
    let (st, text) = run(&rt, &id, spec, config);
    (runc, (st.code(), text))
}

fn same(script: &str, profile: Value, nnp: bool) -> (i32, String) {
    let (runc, ours) = both(script, profile, nnp);
    assert_eq!(ours, runc, "containerv vs runc for {script:?}");
    ours
}

#[test]
fn errno_codes_and_default_errno_match_runc() {
    let p = one_rule(
        &["mkdir", "mkdirat"],
        "SCMP_ACT_ERRNO",
        json!({"errnoRet": 18}),
    );
    let (_, out) = same("mkdir /dev/shm/x; echo rc=$?", p, true);
    assert!(out.contains("Invalid cross-device link"), "{out}");
    let (_, out) = same(
        "mkdir /dev/shm/x; echo rc=$?; ls /dev/shm",
        docker_default(&["mkdir", "mkdirat"]),
        false,
    );
    assert!(out.contains("Function not implemented"), "{out}");
}

#[test]
fn argument_comparisons_match_runc() {
    let p = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            {"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18, "args": [
                {"index": 1, "value": 0o777, "valueTwo": 0o700, "op": "SCMP_CMP_MASKED_EQ"}]},
            {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13, "args": [
                {"index": 0, "value": 8, "op": "SCMP_CMP_GE"},
                {"index": 0, "value": 0xffffffffu64, "op": "SCMP_CMP_LT"}]},
        ]
    });
    let (code, out) = same(
        "touch /dev/shm/f; chmod 755 /dev/shm/f; echo a=$?; chmod 700 /dev/shm/f; echo b=$?; \
         linux64 true; echo c=$?; linux32 true; echo d=$?",
        p,
        false,
    );
    assert_eq!(code, 0);
    // personality: 8 <= x OR x < 0xffffffff (one argument compared twice:
    // runc splits the rule), so both personality calls are refused.
    for want in ["a=0", "b=1", "c=1", "d=1"] {
        assert!(out.contains(want), "{want}: {out}");
    }
}

#[test]
fn kill_trace_and_log_match_runc() {
    let p = one_rule(&["mkdir", "mkdirat"], "SCMP_ACT_KILL_PROCESS", json!({}));
    let (code, _) = same("exec mkdir /dev/shm/x", p, true);
    assert_eq!(code, 128 + 31);
    let p = one_rule(&["mkdir", "mkdirat"], "SCMP_ACT_TRACE", json!({}));
    let (_, out) = same("mkdir /dev/shm/x; echo rc=$?", p, true);
    assert!(out.contains("Function not implemented"), "{out}");
    let mut p = one_rule(&["mkdir", "mkdirat"], "SCMP_ACT_LOG", json!({}));
    p["architectures"] = json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]);
    let (code, out) = same("mkdir /dev/shm/x && echo made", p, true);
    assert_eq!((code, out.trim()), (0, "made"));
}
