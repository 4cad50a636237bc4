//! Terminal injection (TIOCSTI, allowed on this host by
//! `dev.tty.legacy_tiocsti=1`) through `cv exec` without `-t`: a user's
//! interactive shell on a pty runs it; the container's program types
//! `touch FILE` into every terminal it holds. Before: it held the shell's
//! terminal in the shell's session and the shell ran the command as root
//! after `cv exec` returned. Now the process has a session of its own and
//! `cv` relays its terminal through pipes: nothing is typed, FILE is never
//! made, and output and input still flow.
#![cfg(target_os = "linux")]

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{path_str, Cv};
use containerv_testutil::attack::{build_static, PtyShell, TIOCSTI_C};
use containerv_testutil::temp_root;

const IMG: &str = "containerv/busybox";

#[test]
fn cv_exec_without_a_terminal_cannot_type_into_the_callers_shell() {
    let cv = Cv::new();
    let host_tmp = temp_root();
    std::fs::set_permissions(host_tmp.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
    build_static(TIOCSTI_C, &host_tmp.path().join("sti"));
    let tmp = format!("{}:/tmp", path_str(host_tmp.path()));
    let id = cv.run_d(&["-v", &tmp, IMG, "sleep", "1000"]);
    let pwned = host_tmp.path().join("pwned");
    let cv_line = format!(
        "CV_MONITOR_BUILTIN=1 {} --root {} --image-root {}",
        env!("CARGO_BIN_EXE_cv"),
        path_str(&cv.engine_root()),
        path_str(&cv.images)
    );
    let shell = PtyShell::start();
    shell.type_line(&format!(
        "{cv_line} exec {id} /tmp/sti 'touch {}' /tmp/report; echo CMD-$((40+2))",
        pwned.display()
    ));
    let ran = shell.wait_output("CMD-42");
    // Anything typed into the terminal by now comes before this line.
    shell.type_line("echo NEXT-$((40+3))");
    let next = shell.wait_output("NEXT-43");
    // The relay still carries output and input.
    shell.type_line(&format!(
        "{cv_line} exec -i {id} sh -c 'read x; echo got-$x; echo err-$((6*7)) >&2'"
    ));
    std::thread::sleep(std::time::Duration::from_millis(500));
    shell.type_line("hello");
    let relayed = shell.wait_output("got-hello") && shell.wait_output("err-42");
    let out = shell.exit();
    let report = std::fs::read_to_string(host_tmp.path().join("report")).unwrap_or_default();
    cv.ok(&["rm", "-f", &id]);
    cv.assert_gone(&id);

    assert!(ran && next, "the shell did not run: {out:?}");
    assert!(
        !pwned.exists() && !report.contains("INJECTED"),
        "the container typed into the host shell: report {report:?}, shell output {out:?}"
    );
    assert_eq!(report.lines().count(), 4, "{report:?} {out:?}");
    assert!(relayed, "{out:?}");
}

/// `cv run -i` without `-t` from a terminal: the caller's terminal reaches
/// the container only through a pipe `cv` relays. Even `--privileged`
/// (CAP_SYS_ADMIN, which lets TIOCSTI into any terminal the process holds)
/// finds no terminal to type into, and input still arrives.
#[test]
fn cv_run_interactive_without_a_terminal_cannot_type_into_the_callers_shell() {
    let cv = Cv::new();
    let host_tmp = temp_root();
    std::fs::set_permissions(host_tmp.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
    build_static(TIOCSTI_C, &host_tmp.path().join("sti"));
    let tmp = format!("{}:/tmp", path_str(host_tmp.path()));
    let pwned = host_tmp.path().join("pwned");
    let cv_line = format!(
        "CV_MONITOR_BUILTIN=1 {} --root {} --image-root {}",
        env!("CARGO_BIN_EXE_cv"),
        path_str(&cv.engine_root()),
        path_str(&cv.images)
    );
    let shell = PtyShell::start();
    shell.type_line(&format!(
        "{cv_line} run --rm -i --privileged -v {tmp} {IMG} /tmp/sti 'touch {}' /tmp/report; echo CMD-$((40+2))",
        pwned.display()
    ));
    let ran = shell.wait_output("CMD-42");
    shell.type_line("echo NEXT-$((40+3))");
    let next = shell.wait_output("NEXT-43");
    shell.type_line(&format!(
        "{cv_line} run --rm -i {IMG} sh -c 'read x; echo got-$x'"
    ));
    std::thread::sleep(std::time::Duration::from_millis(800));
    shell.type_line("hello");
    let relayed = shell.wait_output("got-hello");
    let out = shell.exit();
    let report = std::fs::read_to_string(host_tmp.path().join("report")).unwrap_or_default();
    for id in cv.ids() {
        let _ = cv.run(&["rm", "-f", &id]);
    }

    assert!(ran && next, "the shell did not run: {out:?}");
    assert!(
        !pwned.exists() && !report.contains("INJECTED"),
        "the container typed into the host shell: report {report:?}, shell output {out:?}"
    );
    assert_eq!(report.lines().count(), 4, "{report:?} {out:?}");
    assert!(relayed, "{out:?}");
}
