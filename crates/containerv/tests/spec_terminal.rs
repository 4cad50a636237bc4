//! `process.terminal` for the container's init: a pty from the container's
//! devpts is the init's controlling terminal and stdio, and its master is
//! sent over the console socket (SCM_RIGHTS) during create, as runc does.
#![cfg(target_os = "linux")]

mod spec_common;

use std::io::{Read, Write};

use containerv::{ExitStatus, StartMode};
use containerv_testutil::fdpass::console_socket;
use spec_common::*;

#[test]
fn init_terminal_master_arrives_on_the_console_socket() {
    let (_root, rt) = runtime();
    let id = unique_id("spec-tty");
    let (mut spec, mut config) = sh_spec(&id, "unused");
    let p = spec.process_mut().as_mut().unwrap();
    p.set_args(Some(vec!["/bin/sh".into()]));
    p.set_terminal(Some(true));
    p.set_console_size(Some(
        oci_spec::runtime::BoxBuilder::default()
            .height(40u64)
            .width(120u64)
            .build()
            .unwrap(),
    ));
    let dir = tempfile::tempdir().unwrap();
    let (sock, receiver) = console_socket(dir.path());
    config.console_socket = Some(sock);
    config.start = StartMode::OnStart;
    let c = rt.create_from_spec(&id, spec, config).unwrap();
    // The master arrives during create, before start.
    let (master, name) = receiver.join().unwrap();
    assert!(name.contains("ptmx") || name.contains("pts"), "{name}");
    c.start().unwrap();
    let mut m = std::fs::File::from(master);
    m.write_all(b"tty; stty size; test -t 0 && echo stdin-is-a-tty; echo sum=$((6*7)); exit 3\n")
        .unwrap();
    let mut out = Vec::new();
    // Reading a pty master after the slave closed ends with EIO.
    let _ = m.read_to_end(&mut out);
    let out = String::from_utf8_lossy(&out).replace('\r', "");
    assert_eq!(c.wait().unwrap(), ExitStatus::Exited(3), "{out}");
    assert!(out.contains("/dev/pts/0"), "{out}");
    assert!(out.contains("40 120"), "{out}");
    assert!(out.contains("stdin-is-a-tty"), "{out}");
    assert!(out.contains("sum=42"), "{out}");
    c.destroy().unwrap();
    containerv_testutil::assert_no_leftovers(rt.root(), &id);
}

#[test]
fn terminal_without_console_socket_is_refused() {
    let (_root, rt) = runtime();
    let id = unique_id("spec-tty-nosock");
    let (mut spec, config) = sh_spec(&id, "true");
    spec.process_mut()
        .as_mut()
        .unwrap()
        .set_terminal(Some(true));
    let e = create_err(&rt, &id, spec, config);
    assert!(e.contains("console socket"), "{e}");

    let id = unique_id("spec-tty-badsock");
    let (mut spec, mut config) = sh_spec(&id, "true");
    spec.process_mut()
        .as_mut()
        .unwrap()
        .set_terminal(Some(true));
    config.console_socket = Some("/nonexistent/console.sock".into());
    let e = create_err(&rt, &id, spec, config);
    assert!(e.contains("/nonexistent/console.sock"), "{e}");
}
