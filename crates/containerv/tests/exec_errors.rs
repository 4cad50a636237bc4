//! Bad spawns into a real container: a missing binary, an unknown user, a
//! bad cwd, an empty argv. Each gives a clear error naming the problem and
//! leaves nothing behind (no process in the container's cgroup besides the
//! init, no zombie of ours). One test per binary so the zombie check sees
//! only its own children.
#![cfg(target_os = "linux")]

use containerv::{ContainerOptions, Error, ProcessOptions, Runtime, User};
use containerv_testutil::{
    assert_no_leftovers, busybox_rootfs, processes_mentioning, require_root, temp_root, unique_id,
};

/// Our children that are zombies (not yet reaped).
fn zombie_children() -> Vec<i32> {
    let me = std::process::id().to_string();
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let st = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let get = |k: &str| {
            st.lines()
                .find_map(|l| l.strip_prefix(k))
                .map(|v| v.trim().to_string())
                .unwrap_or_default()
        };
        if get("PPid:") == me && get("State:").starts_with('Z') {
            out.push(pid);
        }
    }
    out
}

#[test]
fn bad_spawns_name_the_problem_and_leave_nothing() {
    require_root();
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("exec-bad");
    let c = rt
        .create(&id, &ContainerOptions::new().rootfs(busybox_rootfs()))
        .unwrap();
    let check_clean = |what: &str| {
        assert_eq!(processes_mentioning(&id), vec![c.pid()], "after {what}");
        assert!(zombie_children().is_empty(), "zombies after {what}");
    };

    let e = c.spawn(ProcessOptions::new(["/bin/nosuch"])).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, Error::Setup { .. }), "{msg}");
    assert!(
        msg.contains("exec \"/bin/nosuch\"") && msg.contains("No such file or directory"),
        "{msg}"
    );
    check_clean("missing absolute binary");

    let e = c.spawn(ProcessOptions::new(["nosuch-cmd"])).unwrap_err();
    assert!(e.to_string().contains("exec \"nosuch-cmd\""), "{e}");
    check_clean("missing binary in PATH");

    // Not executable: EACCES, named.
    let e = c.spawn(ProcessOptions::new(["/etc/passwd"])).unwrap_err();
    assert!(e.to_string().contains("Permission denied"), "{e}");
    check_clean("not executable");

    let mut o = ProcessOptions::new(["true"]);
    o.user = Some(User::Name("nosuch".into()));
    let e = c.spawn(o).unwrap_err();
    assert!(matches!(&e, Error::UnknownUser(u) if u == "nosuch"), "{e}");
    let mut o = ProcessOptions::new(["true"]);
    o.user = Some(User::Name("app:nogroup-xyz".into()));
    let e = c.spawn(o).unwrap_err();
    assert!(
        matches!(&e, Error::UnknownUser(u) if u == "nogroup-xyz"),
        "{e}"
    );
    check_clean("unknown user");

    let mut o = ProcessOptions::new(["true"]);
    o.cwd = Some("/no/such/dir".into());
    let e = c.spawn(o).unwrap_err();
    assert!(e.to_string().contains("chdir \"/no/such/dir\""), "{e}");
    let mut o = ProcessOptions::new(["true"]);
    o.cwd = Some("relative".into());
    let e = c.spawn(o).unwrap_err();
    assert!(e.to_string().contains("\"relative\""), "{e}");
    check_clean("bad cwd");

    let e = c
        .spawn(ProcessOptions::new(Vec::<String>::new()))
        .unwrap_err();
    assert!(e.to_string().contains("args"), "{e}");
    let mut o = ProcessOptions::new(["true"]);
    o.stdout = containerv::Stdio::File("/nonexistent-dir/out".into());
    let e = c.spawn(o).unwrap_err();
    assert!(e.to_string().contains("/nonexistent-dir/out"), "{e}");
    check_clean("bad options");

    // A terminal without a console socket is refused up front.
    let mut p = oci_spec::runtime::ProcessBuilder::default()
        .args(vec!["true".to_string()])
        .cwd("/")
        .build()
        .unwrap();
    p.set_terminal(Some(true));
    let e = c.exec(&p, Default::default()).unwrap_err();
    assert!(e.to_string().contains("console socket"), "{e}");
    check_clean("terminal without socket");

    c.destroy().unwrap();
    assert_no_leftovers(root.path(), &id);
}
