//! Terminal injection (TIOCSTI, allowed on this host by
//! `dev.tty.legacy_tiocsti=1`): a user's interactive shell on a pty runs
//! a foreground `containerv exec` / `containerv run` without `-t`; the
//! container's program types `touch FILE` into whatever terminal it holds.
//! Before: it held the shell's terminal, in the shell's session, and the
//! shell ran the command as root on the host after the runtime returned.
//! Now every container process has a session of its own and the runtime
//! relays the caller's terminal streams through pipes: no try reaches a
//! terminal and FILE is never made.
#![cfg(target_os = "linux")]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::*;
use containerv_testutil::attack::{build_static, PtyShell, TIOCSTI_C};
use containerv_testutil::temp_root;

/// A host dir for the container's /tmp with the attacker in it.
fn attacker_dir() -> containerv_testutil::TempRoot {
    let d = temp_root();
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
    build_static(TIOCSTI_C, &d.path().join("sti"));
    d
}

fn bind_tmp(c: &mut serde_json::Value, host: &Path) {
    c["mounts"].as_array_mut().unwrap().push(serde_json::json!({
        "destination": "/tmp",
        "type": "bind",
        "source": host,
        "options": ["rbind", "rw"],
    }));
}

/// Has `shell` run `cmd` (a foreground runtime command whose container
/// runs the attacker), then one more line; returns the attacker's report
/// and whether `pwned` exists.
fn attack_through(shell: &PtyShell, cmd: &str, report: &Path, pwned: &Path) -> (String, bool) {
    shell.type_line(&format!("{cmd}; echo CMD-$((40+2))"));
    let ran = shell.wait_output("CMD-42");
    // Anything typed into the terminal by now comes before this line.
    shell.type_line("echo NEXT-$((40+3))");
    let next = shell.wait_output("NEXT-43");
    assert!(ran && next, "the shell did not run: {}", shell.output());
    (
        std::fs::read_to_string(report).unwrap_or_default(),
        pwned.exists(),
    )
}

fn assert_not_injected(report: &str, pwned: bool, output: &str) {
    assert!(
        !pwned && !report.contains("INJECTED"),
        "the container typed into the host shell: report {report:?}, shell output {output:?}"
    );
    // The attack ran: one line per try.
    assert_eq!(report.lines().count(), 4, "{report:?} {output:?}");
}

#[test]
fn exec_without_a_terminal_cannot_type_into_the_callers_shell() {
    let b = Bundle::new(&["sleep", "1000"]);
    let host_tmp = attacker_dir();
    b.edit(|c| bind_tmp(c, host_tmp.path()));
    let id = id("tiocsti-exec");
    b.create(&id);
    b.ok(&["start", &id]);
    let pwned = host_tmp.path().join("pwned-exec");
    let shell = PtyShell::start();
    let cmd = format!(
        "{} --root {} exec {id} /tmp/sti 'touch {}' /tmp/report",
        bin(),
        b.root.path().display(),
        pwned.display()
    );
    let (report, made) = attack_through(&shell, &cmd, &host_tmp.path().join("report"), &pwned);
    let out = shell.exit();
    b.delete(&id, true);
    assert_not_injected(&report, made, &out);
}

#[test]
fn foreground_run_without_a_terminal_cannot_type_into_the_callers_shell() {
    let host_tmp = attacker_dir();
    let pwned = host_tmp.path().join("pwned-run");
    let touch = format!("touch {}", pwned.display());
    let b = Bundle::new(&["/tmp/sti", &touch, "/tmp/report"]);
    b.edit(|c| bind_tmp(c, host_tmp.path()));
    let id = id("tiocsti-run");
    let shell = PtyShell::start();
    let cmd = format!(
        "{} --root {} run --bundle {} {id}",
        bin(),
        b.root.path().display(),
        b.dir.path().display()
    );
    let (report, made) = attack_through(&shell, &cmd, &host_tmp.path().join("report"), &pwned);
    let out = shell.exit();
    containerv_testutil::assert_no_leftovers(b.root.path(), &id);
    assert_not_injected(&report, made, &out);
}

/// What the container's program writes still reaches the caller's
/// terminal (through the relay), and what the user types reaches it.
#[test]
fn the_relay_carries_output_and_input() {
    let b = Bundle::new(&["sleep", "1000"]);
    let id = id("tty-relay-io");
    b.create(&id);
    b.ok(&["start", &id]);
    let shell = PtyShell::start();
    shell.type_line(&format!(
        "{} --root {} exec {id} sh -c 'read x; echo got-$x; echo err-$((6*7)) >&2'",
        bin(),
        b.root.path().display(),
    ));
    std::thread::sleep(std::time::Duration::from_millis(300));
    shell.type_line("hello");
    let got = shell.wait_output("got-hello") && shell.wait_output("err-42");
    let out = shell.exit();
    b.delete(&id, true);
    assert!(got, "{out:?}");
}

/// `exec -d` hands the caller's streams over as they are (as runc): the
/// process holds the terminal, but in a session of its own, so the kernel
/// refuses TIOCSTI (it lacks CAP_SYS_ADMIN) and it has no `/dev/tty`.
#[test]
fn a_detached_exec_holding_the_terminal_is_in_its_own_session() {
    let b = Bundle::new(&["sleep", "1000"]);
    let host_tmp = attacker_dir();
    b.edit(|c| bind_tmp(c, host_tmp.path()));
    let id = id("tiocsti-detached");
    b.create(&id);
    b.ok(&["start", &id]);
    let pwned = host_tmp.path().join("pwned-detached");
    let report = host_tmp.path().join("report");
    let shell = PtyShell::start();
    // Its pid, to reap it: it is re-parented to this subreaper.
    let pid_file = host_tmp.path().join("sti.pid");
    let cmd = format!(
        "{} --root {} exec -d --pid-file {} {id} /tmp/sti 'touch {}' /tmp/report",
        bin(),
        b.root.path().display(),
        pid_file.display(),
        pwned.display()
    );
    shell.type_line(&cmd);
    let t = std::time::Instant::now();
    while std::fs::read_to_string(&report)
        .unwrap_or_default()
        .lines()
        .count()
        < 4
        && t.elapsed() < std::time::Duration::from_secs(10)
    {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let (report, made) = attack_through(&shell, "true", &report, &pwned);
    let out = shell.exit();
    if let Ok(pid) = std::fs::read_to_string(&pid_file) {
        reap(pid.trim().parse().unwrap());
    }
    b.delete(&id, true);
    assert_not_injected(&report, made, &out);
    assert!(
        report.contains("fd0: Operation not permitted"),
        "{report:?}"
    );
}
