//! What a container's processes get by default, as under docker: umask
//! 0022 (files not world-writable, also on a host bind mount, for the
//! init and for exec); `HOSTNAME` in the environment and `TERM=xterm`
//! with `-t`; a `-w` directory the image lacks is made; `-v` of a missing
//! host path makes it (`--mount` refuses, leaving nothing); `exec` into a
//! paused container refused at once with a clear error (not hanging on
//! the frozen cgroup).

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

#[test]
fn hostname_and_term_in_the_environment() {
    let cv = Cv::new();
    let id = cv.run_d(&[
        "-t",
        "containerv/busybox",
        "sh",
        "-c",
        "echo $TERM $HOSTNAME",
    ]);
    assert_eq!(cv.ok(&["wait", &id]).trim(), "0");
    let out = cv.ok(&["logs", &id]);
    assert_eq!(out.trim_end(), format!("xterm {}", &id[..12]));
    cv.ok(&["rm", &id]);
    let out = cv.ok(&[
        "run",
        "--rm",
        "-h",
        "box1",
        "containerv/busybox",
        "sh",
        "-c",
        "echo ${TERM:-none} $HOSTNAME",
    ]);
    assert_eq!(out, "none box1\n");
    // -e wins over both.
    let out = cv.ok(&[
        "run",
        "--rm",
        "-e",
        "HOSTNAME=mine",
        "containerv/busybox",
        "sh",
        "-c",
        "echo $HOSTNAME",
    ]);
    assert_eq!(out, "mine\n");
}

#[test]
fn missing_workdir_and_v_host_path_are_made() {
    let cv = Cv::new();
    let out = cv.ok(&[
        "run",
        "--rm",
        "-w",
        "/new/work/dir",
        "containerv/busybox",
        "pwd",
    ]);
    assert_eq!(out, "/new/work/dir\n");

    let host = temp_root();
    let missing = host.path().join("made/by/v");
    let v = format!("{}:/x", path_str(&missing));
    let out = cv.ok(&[
        "run",
        "--rm",
        "-v",
        &v,
        "containerv/busybox",
        "sh",
        "-c",
        "echo hi > /x/f; ls /x",
    ]);
    assert_eq!(out, "f\n");
    assert_eq!(mode(&missing), 0o755);
    assert_eq!(std::fs::read_to_string(missing.join("f")).unwrap(), "hi\n");

    // --mount refuses a missing source; a bad flag with -v makes nothing.
    let other = host.path().join("not/made");
    let m = format!("type=bind,src={},dst=/x", path_str(&other));
    let err = cv.fails(&["run", "--rm", "--mount", &m, "containerv/busybox", "true"]);
    assert!(err.contains("does not exist"), "{err}");
    let v = format!("{}:/x", path_str(&other));
    let err = cv.fails(&[
        "run",
        "--rm",
        "-v",
        &v,
        "--memory",
        "lots",
        "containerv/busybox",
        "true",
    ]);
    assert!(err.contains("--memory"), "{err}");
    assert!(!host.path().join("not").exists());
    assert!(cv.ids().is_empty(), "left: {:?}", cv.ids());
}
