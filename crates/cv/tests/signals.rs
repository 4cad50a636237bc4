//! Signals as a docker user relies on them: ^C typed on the terminal of a
//! foreground `cv run` (a real pty, its line discipline sending SIGINT)
//! reaches the container and `cv` exits with the container's status (130
//! under `--init`, whose init forwards it to the app); `--sig-proxy=false`
//! leaves the container running. `cv stop` of a `--init` container whose
//! app traps SIGTERM ends it with the app's status 0 (the init forwards
//! SIGTERM, as tini does), and pid 1 shows as an init.

#![cfg(target_os = "linux")]

mod common;

use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::Cv;

/// `cv args` with a new pty as its controlling terminal and stdio;
/// returns the child and the master.
fn under_pty(cv: &Cv, args: &[&str]) -> (Child, std::fs::File) {
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty fills two fds; no name, termios or size given.
    let r = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(r, 0);
    // SAFETY: fresh fds we own.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let mut c = cv.cmd(args);
    c.stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave));
    // SAFETY: setsid and TIOCSCTTY between fork and exec: system calls only.
    unsafe {
        c.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = c.spawn().unwrap();
    let m = std::fs::File::from(master);
    // Drain the terminal's output so `cv` never blocks on it.
    let mut drain = m.try_clone().unwrap();
    std::thread::spawn(move || {
        let mut b = [0u8; 4096];
        while drain.read(&mut b).is_ok_and(|n| n > 0) {}
    });
    (child, m)
}

/// Waits until container `name` exists and runs.
fn wait_running(cv: &Cv, name: &str) {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let o = cv.run(&["inspect", "-f", "{{.State.Status}}", name]);
        if String::from_utf8_lossy(&o.stdout).trim() == "running" {
            return;
        }
        assert!(Instant::now() < end, "{name} never ran");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_with_limit(c: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let end = Instant::now() + limit;
    loop {
        if let Some(s) = c.try_wait().unwrap() {
            return s;
        }
        if Instant::now() > end {
            let _ = c.kill();
            panic!("cv did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn ctrl_c_on_the_terminal_reaches_the_container() {
    let cv = Cv::new();
    let (mut child, mut master) = under_pty(
        &cv,
        &[
            "run",
            "--name",
            "sigint1",
            "--init",
            "containerv/busybox",
            "sleep",
            "60",
        ],
    );
    wait_running(&cv, "sigint1");
    master.write_all(b"\x03").unwrap();
    let st = wait_with_limit(&mut child, Duration::from_secs(10));
    assert_eq!(st.code(), Some(130), "{st}");
    assert_eq!(cv.inspect("sigint1", "{{.State.ExitCode}}"), "130");
    let id = cv.inspect("sigint1", "{{.Id}}");
    cv.ok(&["rm", "sigint1"]);
    cv.assert_gone(&id);

    // Without --init: a shell trapping INT exits with its own status.
    let (mut child, mut master) = under_pty(
        &cv,
        &[
            "run",
            "--rm",
            "--name",
            "sigint2",
            "containerv/busybox",
            "sh",
            "-c",
            "trap 'exit 7' INT; echo trapped; while :; do sleep 0.1; done",
        ],
    );
    wait_running(&cv, "sigint2");
    // The trap is set once the shell said so.
    let end = Instant::now() + Duration::from_secs(10);
    while !cv.ok(&["logs", "sigint2"]).contains("trapped") {
        assert!(Instant::now() < end, "the shell never set its trap");
        std::thread::sleep(Duration::from_millis(20));
    }
    master.write_all(b"\x03").unwrap();
    let st = wait_with_limit(&mut child, Duration::from_secs(10));
    assert_eq!(st.code(), Some(7), "{st}");
    assert!(cv.ids().is_empty(), "left: {:?}", cv.ids());
}

#[test]
fn no_sig_proxy_leaves_the_container_running() {
    let cv = Cv::new();
    let (mut child, mut master) = under_pty(
        &cv,
        &[
            "run",
            "--sig-proxy=false",
            "--name",
            "nosp",
            "--init",
            "containerv/busybox",
            "sleep",
            "60",
        ],
    );
    wait_running(&cv, "nosp");
    master.write_all(b"\x03").unwrap();
    let st = wait_with_limit(&mut child, Duration::from_secs(10));
    assert_eq!(st.signal(), Some(libc::SIGINT), "{st}");
    assert_eq!(cv.inspect("nosp", "{{.State.Status}}"), "running");
    let id = cv.inspect("nosp", "{{.Id}}");
    cv.ok(&["rm", "-f", "nosp"]);
    cv.assert_gone(&id);
}

#[test]
fn stop_under_init_lets_a_term_trapping_app_exit_cleanly() {
    let cv = Cv::new();
    let id = cv.run_d(&[
        "--init",
        "containerv/busybox",
        "sh",
        "-c",
        "trap 'echo got TERM; exit 0' TERM; echo trapped; while :; do sleep 0.1; done",
    ]);
    let end = Instant::now() + Duration::from_secs(10);
    while !cv.ok(&["logs", &id]).contains("trapped") {
        assert!(Instant::now() < end, "the shell never set its trap");
        std::thread::sleep(Duration::from_millis(20));
    }
    let ps = cv.ok(&["exec", &id, "ps", "-o", "pid,args"]);
    let pid1 = ps.lines().nth(1).unwrap_or("").trim().to_string();
    assert_eq!(pid1, "1 /sbin/cv-init", "{ps}");
    let t = Instant::now();
    cv.ok(&["stop", &id]);
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "stop took {:?}",
        t.elapsed()
    );
    assert_eq!(cv.inspect(&id, "{{.State.ExitCode}}"), "0");
    assert!(cv.ok(&["logs", &id]).contains("got TERM"));
    cv.ok(&["rm", &id]);
    cv.assert_gone(&id);
}

/// Waits until process `pid` blocks SIGINT (attach and run block it for
/// their signal proxy before following the container).
fn wait_sigint_blocked(pid: u32) {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let blocked = status
            .lines()
            .find_map(|l| l.strip_prefix("SigBlk:"))
            .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
            .unwrap_or(0);
        if blocked & (1 << (libc::SIGINT - 1)) != 0 {
            return;
        }
        assert!(Instant::now() < end, "{pid} never blocked SIGINT");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn attach_follows_output_proxies_signals_and_returns_the_code() {
    let cv = Cv::new();
    let id = cv.run_d(&[
        "containerv/busybox",
        "sh",
        "-c",
        "while [ ! -e /tmp/go ]; do sleep 0.05; done; echo one; echo err >&2; sleep 0.3; echo two; exit 4",
    ]);
    let child = cv
        .cmd(&["attach", &id])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_sigint_blocked(child.id());
    std::thread::sleep(Duration::from_millis(100));
    cv.ok(&["exec", &id, "touch", "/tmp/go"]);
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(4), "{o:?}");
    assert_eq!(String::from_utf8_lossy(&o.stdout), "one\ntwo\n");
    assert_eq!(String::from_utf8_lossy(&o.stderr), "err\n");
    let err = cv.fails(&["attach", &id]);
    assert!(err.contains("stopped"), "{err}");
    cv.ok(&["rm", &id]);
    cv.assert_gone(&id);

    // ^C on attach's terminal reaches the container (via --init: 130).
    let id = cv.run_d(&[
        "--name",
        "att2",
        "--init",
        "containerv/busybox",
        "sleep",
        "60",
    ]);
    let (mut child, mut master) = under_pty(&cv, &["attach", "att2"]);
    wait_sigint_blocked(child.id());
    master.write_all(b"\x03").unwrap();
    let st = wait_with_limit(&mut child, Duration::from_secs(10));
    assert_eq!(st.code(), Some(130), "{st}");
    cv.ok(&["rm", "-f", &id]);
    cv.assert_gone(&id);
}
