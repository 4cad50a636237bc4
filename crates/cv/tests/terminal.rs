//! `cv run -it` on a real terminal (a pty this test owns): the container
//! sees `TERM=xterm`, the terminal's size at start, and a resize of the
//! caller's terminal while it runs (SIGWINCH in the container, the new
//! size from `stty size`), as under docker; `cv exec -it` the same.

#![cfg(target_os = "linux")]

mod common;

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::Cv;

fn set_size(fd: i32, rows: u16, cols: u16) {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a valid winsize.
    assert_eq!(unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, &ws) }, 0);
}

fn wait_for_output(out: &Mutex<Vec<u8>>, want: &str) {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let text = String::from_utf8_lossy(&out.lock().unwrap()).into_owned();
        if text.contains(want) {
            return;
        }
        assert!(Instant::now() < end, "never saw {want:?} in {text:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `cv ARGS` with a fresh pty as its controlling terminal and stdio;
/// returns the child, the master and everything read from it so far.
fn spawn_on_pty(
    cv: &Cv,
    args: &[&str],
    rows: u16,
    cols: u16,
) -> (std::process::Child, std::fs::File, Arc<Mutex<Vec<u8>>>) {
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty fills two fds.
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
    set_size(master.as_raw_fd(), rows, cols);
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
    let out = Arc::new(Mutex::new(Vec::new()));
    let mut reader = m.try_clone().unwrap();
    let sink = out.clone();
    std::thread::spawn(move || {
        let mut b = [0u8; 4096];
        while let Ok(n) = reader.read(&mut b) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&b[..n]);
        }
    });
    (child, m, out)
}

fn wait_exit(child: &mut std::process::Child, what: &str) {
    let end = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < end, "{what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

const SHOW_SIZE: &str = "trap 'echo size=$(stty size)' WINCH; echo term=$TERM; echo size=$(stty size); while :; do sleep 0.1; done";

#[test]
fn run_it_sees_term_and_resizes() {
    let cv = Cv::new();
    let args = [
        "run",
        "-it",
        "--name",
        "tty1",
        "containerv/busybox",
        "sh",
        "-c",
        SHOW_SIZE,
    ];
    let (mut child, m, out) = spawn_on_pty(&cv, &args, 30, 100);
    wait_for_output(&out, "term=xterm");
    wait_for_output(&out, "size=30 100");
    set_size(m.as_raw_fd(), 50, 132);
    wait_for_output(&out, "size=50 132");
    let id = cv.inspect("tty1", "{{.Id}}");
    cv.ok(&["rm", "-f", "tty1"]);
    let _ = (&m).write_all(b"");
    wait_exit(&mut child, "cv run did not end after rm -f");
    cv.assert_gone(&id);
}

/// `cv exec -it` follows the caller's terminal too (docker resizes exec
/// sessions): the size at start and after a resize reach the process.
#[test]
fn exec_it_sees_size_and_resizes() {
    let cv = Cv::new();
    cv.ok(&[
        "run",
        "-d",
        "--name",
        "tty2",
        "containerv/busybox",
        "sleep",
        "1000",
    ]);
    let id = cv.inspect("tty2", "{{.Id}}");
    let args = ["exec", "-it", "tty2", "sh", "-c", SHOW_SIZE];
    let (mut child, m, out) = spawn_on_pty(&cv, &args, 24, 80);
    wait_for_output(&out, "size=24 80");
    set_size(m.as_raw_fd(), 40, 120);
    wait_for_output(&out, "size=40 120");
    cv.ok(&["rm", "-f", "tty2"]);
    wait_exit(&mut child, "cv exec did not end after rm -f");
    cv.assert_gone(&id);
}
