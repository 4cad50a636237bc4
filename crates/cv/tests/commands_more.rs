//! The everyday commands and flags docker users reach for, against real
//! containers and images: `version` and `info` (docker's fields),
//! `rename`, `history` (of a podman-built image), `update --restart`
//! (taken up by the running monitor), `--mount type=tmpfs`. Bad input is
//! refused naming what was wrong, changing nothing.

#![cfg(target_os = "linux")]

mod common;

use std::time::Duration;

use common::app_image::{load_app_image, APP_IMAGE};
use common::Cv;
use serde_json::Value;

#[test]
fn version_and_info_have_dockers_fields() {
    let cv = Cv::new();
    let v: Value = serde_json::from_str(&cv.ok(&["version", "--format", "json"])).unwrap();
    assert_eq!(v["Client"]["Version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["Server"]["Os"], "linux");
    assert_eq!(
        cv.ok(&["version", "-f", "{{.Server.Version}}"]).trim(),
        env!("CARGO_PKG_VERSION")
    );
    assert!(cv.ok(&["version"]).contains("Server: containerv engine"));
    let id = cv.run_d(&["containerv/busybox", "sleep", "30"]);
    let i: Value = serde_json::from_str(&cv.ok(&["info", "--format", "json"])).unwrap();
    assert_eq!(i["Containers"], 1);
    assert_eq!(i["ContainersRunning"], 1);
    assert!(i["Images"].as_u64().unwrap() >= 1);
    assert!(i["NCPU"].as_u64().unwrap() >= 1);
    assert_eq!(i["DockerRootDir"], cv.engine_root().display().to_string());
    assert!(cv.ok(&["info"]).contains(" Running: 1\n"));
    cv.ok(&["rm", "-f", &id]);
    cv.assert_gone(&id);
}

#[test]
fn rename_moves_the_name() {
    let cv = Cv::new();
    let id = cv.run_d(&["--name", "first", "containerv/busybox", "sleep", "30"]);
    let other = cv.run_d(&["--name", "taken", "containerv/busybox", "sleep", "30"]);
    cv.ok(&["rename", "first", "second"]);
    assert_eq!(cv.inspect("second", "{{.Id}}"), id);
    assert!(cv.fails(&["inspect", "first"]).contains("first"));
    // Taken, the same, or not a docker name: refused, nothing changes.
    let err = cv.fails(&["rename", "second", "taken"]);
    assert!(err.contains("taken"), "{err}");
    assert!(cv
        .fails(&["rename", "second", "second"])
        .contains("already"));
    assert!(cv
        .fails(&["rename", "second", "bad/name"])
        .contains("bad/name"));
    assert!(cv.fails(&["rename", "nosuch", "x1"]).contains("nosuch"));
    assert_eq!(cv.inspect("second", "{{.Id}}"), id);
    assert_eq!(cv.inspect("taken", "{{.Id}}"), other);
    // The old name is free again.
    let third = cv
        .ok(&["create", "--name", "first", "containerv/busybox"])
        .trim()
        .to_string();
    for c in [&id, &other, &third] {
        cv.ok(&["rm", "-f", c]);
        cv.assert_gone(c);
    }
}

#[test]
fn history_of_a_built_image() {
    let cv = Cv::new();
    load_app_image(&cv);
    let full = cv.ok(&["image", "inspect", "--format", "{{.Id}}", APP_IMAGE]);
    let image_id = full.trim().trim_start_matches("sha256:")[..12].to_string();
    let out = cv.ok(&["history", APP_IMAGE]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("IMAGE "), "{out}");
    assert!(lines[1].starts_with(&image_id), "{out}");
    assert!(lines[2].starts_with("<missing>"), "{out}");
    assert!(out.contains("VOLUME"), "{out}");
    let q = cv.ok(&["history", "-q", APP_IMAGE]);
    assert_eq!(q.lines().count(), lines.len() - 1);
    // Exactly two steps made layers: the base and the useradd one.
    let sizes = cv.ok(&["history", "--format", "{{.Size}}", "-H=false", APP_IMAGE]);
    let nonzero = sizes.lines().filter(|s| *s != "0").count();
    assert_eq!(nonzero, 2, "{sizes}");
    for l in cv
        .ok(&["image", "history", "--format", "json", APP_IMAGE])
        .lines()
    {
        let v: Value = serde_json::from_str(l).unwrap();
        assert!(v["CreatedBy"].is_string() && v["CreatedSince"].is_string());
    }
    assert!(cv
        .fails(&["history", "no-such-image:1"])
        .contains("no-such-image"));
}

#[test]
fn update_restart_is_taken_up_while_running() {
    let cv = Cv::new();
    let id = cv.run_d(&["containerv/busybox", "sh", "-c", "sleep 1; exit 3"]);
    cv.ok(&["update", "--restart", "on-failure:1", &id]);
    assert_eq!(
        cv.inspect(&id, "{{json .HostConfig.RestartPolicy}}"),
        r#"{"MaximumRetryCount":1,"Name":"on-failure"}"#
    );
    cv.wait_for(&id, "{{.RestartCount}}", "1", Duration::from_secs(15));
    cv.wait_for(&id, "{{.State.Status}}", "exited", Duration::from_secs(15));
    // A bad policy changes nothing.
    let err = cv.fails(&["update", "--restart", "sometimes", &id]);
    assert!(err.contains("--restart"), "{err}");
    assert_eq!(
        cv.inspect(&id, "{{json .HostConfig.RestartPolicy}}"),
        r#"{"MaximumRetryCount":1,"Name":"on-failure"}"#
    );
    cv.ok(&["rm", "-f", &id]);
    cv.assert_gone(&id);
}

#[test]
fn mount_type_tmpfs() {
    let cv = Cv::new();
    let out = cv.ok(&[
        "run",
        "--rm",
        "--mount",
        "type=tmpfs,dst=/scratch,tmpfs-size=1m,tmpfs-mode=1770",
        "containerv/busybox",
        "sh",
        "-c",
        "grep ' /scratch ' /proc/mounts; stat -c %a /scratch",
    ]);
    assert!(out.starts_with("tmpfs /scratch tmpfs "), "{out}");
    assert!(out.contains("size=1024k"), "{out}");
    assert!(out.ends_with("1770\n"), "{out}");
    for (m, want) in [
        ("type=tmpfs,src=x,dst=/s", "no src"),
        ("type=tmpfs,dst=/s,tmpfs-size=", "tmpfs-size"),
        ("type=tmpfs,dst=relative", "absolute"),
    ] {
        let o = cv.run(&["run", "--rm", "--mount", m, "containerv/busybox", "true"]);
        assert_eq!(o.status.code(), Some(125), "{m}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("--mount") && err.contains(want), "{m}: {err}");
    }
    assert!(cv.ids().is_empty());
}

#[test]
fn log_opt_compress_gzips_rotated_files() {
    let cv = Cv::new();
    let id = cv.run_d(&[
        "--log-opt",
        "max-size=1k",
        "--log-opt",
        "max-file=3",
        "--log-opt",
        "compress=true",
        "containerv/busybox",
        "sh",
        "-c",
        "for i in $(seq 1 60); do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxx; done",
    ]);
    assert_eq!(cv.ok(&["wait", &id]).trim(), "0");
    let dir = cv.engine_root().join("containers").join(&id);
    let gz: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "gz"))
        .collect();
    assert!(!gz.is_empty(), "no compressed rotated file");
    for f in &gz {
        let o = std::process::Command::new("gzip")
            .arg("-t")
            .arg(f)
            .output()
            .unwrap();
        assert!(o.status.success(), "{} is not valid gzip", f.display());
    }
    // logs reads across the plain and compressed files, in order.
    let logs = cv.ok(&["logs", &id]);
    let nums: Vec<u32> = logs
        .lines()
        .map(|l| l.split('-').nth(1).unwrap().parse().unwrap())
        .collect();
    assert_eq!(*nums.last().unwrap(), 60);
    assert!(nums.windows(2).all(|w| w[1] == w[0] + 1), "{nums:?}");
    let err = cv.fails(&[
        "run",
        "--log-opt",
        "compress=maybe",
        "containerv/busybox",
        "true",
    ]);
    assert!(err.contains("compress"), "{err}");
    cv.ok(&["rm", &id]);
    cv.assert_gone(&id);
}
