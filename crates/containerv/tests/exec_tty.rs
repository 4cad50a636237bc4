//! exec with `process.terminal`: a pty from the container's devpts whose
//! master arrives on the console socket (SCM_RIGHTS, the runc protocol)
//! and whose slave is the process's controlling terminal.
#![cfg(target_os = "linux")]

use std::io::Read;

use containerv::{ContainerOptions, Runtime};
use containerv_testutil::fdpass::console_socket;
use containerv_testutil::{
    assert_no_leftovers, busybox_rootfs, require_root, temp_root, unique_id,
};

#[test]
fn terminal_master_is_sent_to_the_console_socket() {
    require_root();
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("exec-tty");
    let c = rt
        .create(&id, &ContainerOptions::new().rootfs(busybox_rootfs()))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (sock, receiver) = console_socket(dir.path());
    let mut process = oci_spec::runtime::ProcessBuilder::default()
        .args(vec![
            "sh".to_string(),
            "-c".into(),
            "tty; test -t 0 && test -t 1 && echo isatty; stty size".into(),
        ])
        .cwd("/")
        .console_size(
            oci_spec::runtime::BoxBuilder::default()
                .height(33u64)
                .width(101u64)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    process.set_terminal(Some(true));
    let io = containerv::linux::ProcessIo {
        console_socket: Some(sock.clone()),
        ..Default::default()
    };
    let mut p = c.exec(&process, io).unwrap();
    let (master, _) = receiver.join().unwrap();
    let status = p.wait().unwrap();
    let mut out = Vec::new();
    // Reading a pty master after the slave closed ends with EIO.
    let _ = std::fs::File::from(master).read_to_end(&mut out);
    let out = String::from_utf8_lossy(&out).replace('\r', "");
    assert!(status.success(), "{status}: {out}");
    assert!(out.contains("/dev/pts/"), "{out}");
    assert!(out.contains("isatty"), "{out}");
    assert!(out.contains("33 101"), "{out}");
    c.destroy().unwrap();
    assert_no_leftovers(root.path(), &id);
}
