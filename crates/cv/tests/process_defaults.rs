//! What a container's processes get by default, as under docker: umask
//! 0022 (files not world-writable, also on a host bind mount, for the
//! init and for exec), and `exec` into a paused container refused at once
//! with a clear error (not hanging on the frozen cgroup).

#![cfg(target_os = "linux")]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use common::{path_str, Cv};
use containerv_testutil::temp_root;

fn mode(p: &std::path::Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

#[test]
fn umask_is_0022_inside_and_on_a_bind_mount() {
    let cv = Cv::new();
    let host = temp_root();
    let bind = format!("{}:/m", path_str(host.path()));
    let out = cv.ok(&[
        "run",
        "--rm",
        "-v",
        &bind,
        "containerv/busybox",
        "sh",
        "-c",
        "umask; touch /tmp/f /m/file; mkdir /m/dir; stat -c %a /tmp/f",
    ]);
    assert_eq!(out, "0022\n644\n");
    assert_eq!(mode(&host.path().join("file")), 0o644);
    assert_eq!(mode(&host.path().join("dir")), 0o755);

    let id = cv.run_d(&["-v", &bind, "containerv/busybox", "sleep", "30"]);
    let out = cv.ok(&["exec", &id, "sh", "-c", "umask; touch /m/from-exec"]);
    assert_eq!(out, "0022\n");
    assert_eq!(mode(&host.path().join("from-exec")), 0o644);
    cv.ok(&["rm", "-f", &id]);
    cv.assert_gone(&id);
}

#[test]
fn exec_in_a_paused_container_fails_at_once() {
    let cv = Cv::new();
    let id = cv.run_d(&["containerv/busybox", "sleep", "30"]);
    cv.ok(&["pause", &id]);
    let t = Instant::now();
    let err = cv.fails(&["exec", &id, "true"]);
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "took {:?}",
        t.elapsed()
    );
    assert!(
        err.contains("paused") && err.contains("unpause"),
        "unclear error: {err}"
    );
    cv.ok(&["unpause", &id]);
    assert_eq!(cv.ok(&["exec", &id, "echo", "ok"]), "ok\n");
    let t = Instant::now();
    cv.ok(&["rm", "-f", &id]);
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "rm took {:?}",
        t.elapsed()
    );
    cv.assert_gone(&id);
}
