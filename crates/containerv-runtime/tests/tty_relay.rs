//! `run` and `exec` of a process with a terminal and no --console-socket,
//! in the foreground: the runtime relays between its own stdio and the
//! container's pty (runc's behaviour when typed by hand). Driven once
//! with plain pipes, once from a pty of the test's own (raw mode, window
//! size, keys), and refused with --detach.
#![cfg(target_os = "linux")]

mod common;

use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use containerv_testutil::assert_no_leftovers;
use nix::pty::{openpty, Winsize};
use nix::sys::termios::{tcgetattr, LocalFlags};

fn terminal_bundle(args: &[&str]) -> Bundle {
    let b = Bundle::new(args);
    b.edit(|c| c["process"]["terminal"] = true.into());
    b
}

#[test]
fn run_with_a_terminal_and_plain_pipes() {
    let b = terminal_bundle(&["sh", "-c", "tty; echo out; exit 3"]);
    let id = id("tty-pipes");
    let out = b.cv(&["run", "--bundle", b.dir.path().to_str().unwrap(), &id]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{text} {}", stderr(&out));
    assert!(text.contains("/dev/pts/0"), "{text:?}");
    // The pty's line discipline turned \n into \r\n.
    assert!(text.contains("out\r\n"), "{text:?}");
    assert_no_leftovers(b.root.path(), &id);
    assert_no_console_dirs();
}

/// No socket directory of this process left in the temp dir.
fn assert_no_console_dirs() {
    let left: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("containerv-console-"))
        .collect();
    // Other tests' runtimes may be relaying right now: only a dir whose
    // runtime process is gone is a leak.
    for n in left {
        let pid: i32 = n.split('-').nth(2).unwrap().parse().unwrap();
        assert!(
            std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "console socket dir {n} left behind"
        );
    }
}

#[test]
fn run_from_a_terminal_sets_raw_mode_size_and_restores() {
    let b = terminal_bundle(&["sh", "-c", "stty size; read x; echo got:$x"]);
    let id = id("tty-pty");
    let ws = Winsize {
        ws_row: 33,
        ws_col: 77,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = openpty(Some(&ws), None).unwrap();
    for fd in [pty.master.as_fd(), pty.slave.as_fd()] {
        nix::fcntl::fcntl(
            fd,
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
        )
        .unwrap();
    }
    let before = tcgetattr(pty.slave.as_fd()).unwrap();
    assert!(before.local_flags.contains(LocalFlags::ICANON));
    let slave = || Stdio::from(pty.slave.try_clone().unwrap());
    let mut child = Command::new(bin())
        .arg("--root")
        .arg(b.root.path())
        .args(["run", "--bundle", b.dir.path().to_str().unwrap(), &id])
        .stdin(slave())
        .stdout(slave())
        .stderr(slave())
        .spawn()
        .unwrap();
    drop(pty.slave);
    let mut input = std::fs::File::from(pty.master);
    let mut output = input.try_clone().unwrap();
    // Whatever the container prints, through a thread: a read of the
    // master blocks while the container waits for input.
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 1024];
        // EIO once the last slave (the runtime's stdio) is closed.
        while let Ok(n @ 1..) = output.read(&mut buf) {
            if tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let mut wait_for = |want: &str| {
        let t = Instant::now();
        while !String::from_utf8_lossy(&seen).contains(want) {
            let left = Duration::from_secs(10).saturating_sub(t.elapsed());
            match rx.recv_timeout(left) {
                Ok(chunk) => seen.extend_from_slice(&chunk),
                Err(_) => panic!("never saw {want:?}: {:?}", String::from_utf8_lossy(&seen)),
            }
        }
    };
    wait_for("33 77");
    // While relaying, our terminal is raw: keys go through untouched.
    let during = tcgetattr(input.as_fd()).unwrap();
    assert!(!during.local_flags.contains(LocalFlags::ICANON));
    assert!(!during.local_flags.contains(LocalFlags::ECHO));
    // A terminal's Enter is \r; the container's pty makes it \n.
    input.write_all(b"hello\r").unwrap();
    wait_for("got:hello");
    let st = child.wait().unwrap();
    assert!(st.success(), "{st:?}");
    // Our terminal is back in the mode it had (canonical, echo).
    let after = tcgetattr(input.as_fd()).unwrap();
    drop(input);
    reader.join().unwrap();
    assert_eq!(after.local_flags, before.local_flags);
    assert_eq!(after.input_flags, before.input_flags);
    assert_no_leftovers(b.root.path(), &id);
}

#[test]
fn exec_with_a_terminal_relays_and_detach_without_socket_is_refused() {
    let b = Bundle::new(&["sleep", "1000"]);
    let cid = id("tty-exec");
    b.create(&cid);
    b.ok(&["start", &cid]);
    let out = b.cv(&["exec", "-t", &cid, "sh", "-c", "tty; exit 4"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{text} {}", stderr(&out));
    assert!(text.contains("/dev/pts/"), "{text:?}");
    let out = b.cv(&["exec", "-t", "-d", &cid, "true"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("without --console-socket"),
        "{}",
        stderr(&out)
    );
    b.delete(&cid, true);

    // run -d of a terminal process without a socket: refused, nothing made.
    let t = terminal_bundle(&["true"]);
    let id = id("tty-detach");
    let out = t.cv(&["run", "-d", "--bundle", t.dir.path().to_str().unwrap(), &id]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("without --console-socket"),
        "{}",
        stderr(&out)
    );
    assert_no_leftovers(t.root.path(), &id);
    assert_no_console_dirs();
}
