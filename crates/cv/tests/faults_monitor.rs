//! The monitor under faults: it must not keep the caller's descriptors
//! (`cv run -d … 9>&1 | cat` returned only when the container exited),
//! and after a kill -9 of the monitor `ps`/`inspect` say so instead of a
//! silent `Up`, `stop` still works, an exit it could not see reads
//! `Exited (-1)` without a made-up time, `cv system restart-policy`
//! applies `--restart always`, and `cv system check --repair` gives a
//! running container a replacement monitor that restarts it when it ends.

mod common;
mod faults_common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{monitors_of, Cv};
use faults_common::{assert_nothing_left, init_pid, kill9, wait_gone};

#[test]
fn the_monitor_does_not_keep_the_callers_descriptors() {
    let cv = Cv::new();
    let cmd = cv.cmd(&[]);
    let argv: Vec<String> = std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| format!("'{}'", a.to_string_lossy()))
        .collect();
    // fd 9 is the pipe to `cat`: `cat` ends only when every holder of
    // the pipe's write end is gone.
    let script = format!(
        "{} run -d --name fdtest containerv/busybox sleep 60 9>&1 | cat",
        argv.join(" ")
    );
    let t0 = Instant::now();
    let mut child = Command::new("/bin/sh")
        .arg("-c")
        .arg(&script)
        .env("CV_MONITOR_BUILTIN", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let end = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if Instant::now() > end {
            kill9(child.id() as i32);
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = t0.elapsed();
    let id = cv.inspect("fdtest", "{{.Id}}");
    assert!(
        status.is_some_and(|s| s.success()),
        "the pipeline hung ({took:?})"
    );
    assert!(took < Duration::from_secs(10), "{took:?}");
    // And the monitor kept none of the caller's descriptors: nothing
    // open on fd 9 or above but what it opened itself (no pipe of ours
    // is left: `cat` saw EOF above).
    assert_eq!(monitors_of(&id).len(), 1);
    cv.ok(&["rm", "-f", "fdtest"]);
    assert_nothing_left(&cv, &[id]);
}

#[test]
fn a_killed_monitor_is_visible_and_its_container_still_managed() {
    let cv = Cv::new();
    let id = cv.run_d(&[
        "--name",
        "orphan",
        "--restart",
        "always",
        "containerv/busybox",
        "sleep",
        "300",
    ]);
    let m = monitors_of(&id);
    assert_eq!(m.len(), 1);
    kill9(m[0]);
    wait_gone(m[0], Duration::from_secs(3));
    let ps = cv.ok(&["ps"]);
    assert!(ps.contains("(monitor gone)"), "{ps}");
    let err = cv.inspect("orphan", "{{.State.Error}}");
    assert!(err.contains("monitor died"), "{err}");
    assert_eq!(cv.inspect("orphan", "{{.State.Status}}"), "running");

    // The init ends unseen: Exited (-1), no invented end time.
    let pid = init_pid(&cv, "orphan");
    kill9(pid);
    wait_gone(pid, Duration::from_secs(3));
    let ps = cv.ok(&["ps", "-a"]);
    assert!(
        ps.contains("Exited (-1)") && !ps.contains("Less than a second ago"),
        "{ps}"
    );
    // The boot step (also the way to apply a policy after a killed
    // monitor) starts it again under a new monitor.
    let out = cv.ok(&["system", "restart-policy"]);
    assert!(out.contains("orphan"), "{out}");
    assert_eq!(cv.inspect("orphan", "{{.State.Status}}"), "running");
    assert_eq!(monitors_of(&id).len(), 1);

    // Killed monitor, running init: stop still works.
    kill9(monitors_of(&id)[0]);
    let pid = init_pid(&cv, "orphan");
    cv.ok(&["stop", "-t", "1", "orphan"]);
    wait_gone(pid, Duration::from_secs(3));
    assert_eq!(cv.inspect("orphan", "{{.State.Status}}"), "exited");

    // Killed monitor, running init: `system check --repair` gives it a
    // replacement monitor, which applies `--restart always` when the init
    // ends.
    cv.ok(&["start", "orphan"]);
    let m = monitors_of(&id)[0];
    kill9(m);
    wait_gone(m, Duration::from_secs(3));
    let out = cv.run(&["system", "check"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("runs without its monitor"));
    let out = cv.ok(&["system", "check", "--repair"]);
    assert!(out.contains("replacement monitor"), "{out}");
    assert!(!cv.ok(&["ps"]).contains("monitor gone"));
    assert_eq!(monitors_of(&id).len(), 1);
    let pid = init_pid(&cv, "orphan");
    kill9(pid);
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let now = init_pid(&cv, "orphan");
        if now != 0 && now != pid && cv.inspect("orphan", "{{.State.Status}}") == "running" {
            break;
        }
        assert!(
            Instant::now() < end,
            "not restarted: {}",
            cv.ok(&["ps", "-a"])
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    cv.ok(&["rm", "-f", "orphan"]);
    cv.ok(&["system", "check"]);
    assert_nothing_left(&cv, &[id]);
}
