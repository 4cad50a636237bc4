//! Bad input through the binary: a clear error naming what was wrong, the
//! right exit code, runc's JSON log lines, and nothing left behind.

#![cfg(target_os = "linux")]

mod common;

use common::{id, stderr, Bundle};
use containerv_testutil::assert_no_leftovers;

/// `create` must fail with `want` in its message and leave nothing.
fn create_fails(b: &Bundle, want: &str) {
    let id = id("bad");
    let log = b.dir.path().join("log.json");
    let _ = std::fs::remove_file(&log);
    let out = b.cv(&[
        "--log",
        log.to_str().unwrap(),
        "--log-format",
        "json",
        "create",
        "--bundle",
        b.dir.path().to_str().unwrap(),
        &id,
    ]);
    assert_eq!(out.status.code(), Some(1));
    // With --log, stderr carries the bare message and the log a JSON line.
    assert!(
        stderr(&out).contains(want),
        "stderr {:?} lacks {want:?}",
        stderr(&out)
    );
    let text = std::fs::read_to_string(&log).unwrap();
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["level"], "error");
    assert!(last["msg"].as_str().unwrap().contains(want), "{last}");
    assert!(last["time"].as_str().unwrap().ends_with('Z'));
    assert_no_leftovers(b.root.path(), &id);
}

#[test]
fn malformed_json() {
    let b = Bundle::new(&["true"]);
    std::fs::write(b.config(), "{\"ociVersion\": \"1.2.0\", \"process\": ").unwrap();
    create_fails(&b, "config.json is not valid JSON");
}

#[test]
fn unknown_capability() {
    let b = Bundle::new(&["true"]);
    b.edit(|c| {
        c["process"]["capabilities"]["bounding"] = serde_json::json!(["CAP_KILL", "CAP_FLY"])
    });
    create_fails(&b, "CAP_FLY");
}

#[test]
fn bad_mounts() {
    let b = Bundle::new(&["true"]);
    b.edit(|c| {
        c["mounts"].as_array_mut().unwrap().push(serde_json::json!({
            "destination": "/data", "type": "bind", "source": "/nonexistent-containerv-src",
            "options": ["rbind"]
        }))
    });
    create_fails(&b, "/nonexistent-containerv-src");
    b.edit(|c| {
        let m = c["mounts"].as_array_mut().unwrap();
        m.pop();
        m.push(serde_json::json!({ "destination": "/x", "type": "nosuchfs", "source": "none" }));
    });
    create_fails(&b, "/x");
}

#[test]
fn missing_rootfs_and_program() {
    let b = Bundle::new(&["true"]);
    b.edit(|c| c["root"]["path"] = "/nonexistent-containerv-rootfs".into());
    create_fails(&b, "/nonexistent-containerv-rootfs");
    let b = Bundle::new(&["/bin/nosuch-program"]);
    // `run` of a spec without hooks starts the program at create, so the
    // library reports a failed exec as an error naming the program.
    let id = id("noprog");
    let out = b.cv(&["run", &id]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("nosuch-program"), "{}", stderr(&out));
    assert_no_leftovers(b.root.path(), &id);
    // `create` waits for `start` before the exec, yet fails now, as runc's
    // does, with runc's words for a PATH search (podman maps them to 127).
    let b = Bundle::new(&["nosuch-program"]);
    let id = common::id("noprog-create");
    let out = b.cv(&["create", &id]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("nosuch-program")
            && stderr(&out).contains("executable file not found in $PATH"),
        "{}",
        stderr(&out)
    );
    assert_no_leftovers(b.root.path(), &id);
    // A file that is not executable: permission denied (podman: 126).
    let b = Bundle::new(&["/etc/passwd"]);
    let id = common::id("noexec-create");
    let out = b.cv(&["create", &id]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Permission denied"),
        "{}",
        stderr(&out)
    );
    assert_no_leftovers(b.root.path(), &id);
}

#[test]
fn systemd_cgroup_and_text_log() {
    let b = Bundle::new(&["true"]);
    let id = id("sysd");
    let out = b.cv(&["--systemd-cgroup", "run", &id]);
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    // No --log: logrus text on stderr, like runc.
    assert!(e.starts_with("time=\"") && e.contains("level=error"), "{e}");
    // This host has no systemd on D-Bus (the systemd driver itself is
    // tested in tools/systemd-vm): the error says what is missing.
    assert!(e.contains("systemd") && e.contains("D-Bus"), "{e}");
    assert_no_leftovers(b.root.path(), &id);
    // A cgroupsPath not of the systemd form: named, before anything else.
    let b = Bundle::new(&["true"]);
    b.edit(|c| c["linux"]["cgroupsPath"] = "/sys/fs/cgroup/x".into());
    let id = common::id("sysd-path");
    let out = b.cv(&["--systemd-cgroup", "create", &id]);
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    assert!(
        e.contains("cgroupsPath") && e.contains("slice:prefix:name"),
        "{e}"
    );
    assert_no_leftovers(b.root.path(), &id);
    // State-only commands accept the flag.
    let out = b.cv(&["--systemd-cgroup", "list", "-q"]);
    assert!(out.status.success());
}

#[test]
fn version_features_spec() {
    let out = std::process::Command::new(common::bin())
        .arg("--version")
        .output()
        .unwrap();
    let v = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<_> = v.lines().collect();
    assert_eq!(lines.len(), 3, "{v}");
    assert!(lines[0].starts_with("containerv version "));
    assert!(lines[1].starts_with("commit: "));
    assert_eq!(lines[2], "spec: 1.2.0");

    let out = std::process::Command::new(common::bin())
        .arg("features")
        .output()
        .unwrap();
    let f: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(f["ociVersionMax"], "1.2.0");
    assert!(f["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .contains(&"user".into()));
    assert!(f["hooks"].as_array().unwrap().contains(&"poststop".into()));

    // spec refuses to overwrite.
    let b = Bundle::new(&["true"]);
    let out = b.cv(&["spec", "--bundle", b.dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("exists"));
}

/// The library's `tracing` events reach runc's log: a debug event of the
/// seccomp compiler (an ignored errnoRet) is a `"level":"debug"` line with
/// `--debug` and absent without it; the error follows as the last line.
#[test]
fn library_events_reach_the_log() {
    let b = Bundle::new(&["true"]);
    let mut spec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(b.config()).unwrap()).unwrap();
    spec["linux"]["seccomp"] = serde_json::json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            {"names": ["mkdir"], "action": "SCMP_ACT_LOG", "errnoRet": 5},
            {"names": [], "action": "SCMP_ACT_ERRNO"}
        ]
    });
    std::fs::write(b.config(), spec.to_string()).unwrap();
    for debug in [true, false] {
        let id = id("trace");
        let log = b.dir.path().join("log.json");
        let _ = std::fs::remove_file(&log);
        let mut args = vec!["--log", log.to_str().unwrap(), "--log-format", "json"];
        if debug {
            args.push("--debug");
        }
        args.extend(["create", "--bundle", b.dir.path().to_str().unwrap(), &id]);
        let out = b.cv(&args);
        assert_eq!(out.status.code(), Some(1));
        let text = std::fs::read_to_string(&log).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let ignored = lines
            .iter()
            .any(|l| l["level"] == "debug" && l["msg"].as_str().unwrap().contains("errnoRet"));
        assert_eq!(ignored, debug, "{text}");
        let last = lines.last().unwrap();
        assert_eq!(last["level"], "error", "{text}");
        assert!(
            last["msg"].as_str().unwrap().contains("names is empty"),
            "{text}"
        );
        assert_no_leftovers(b.root.path(), &id);
    }
}
