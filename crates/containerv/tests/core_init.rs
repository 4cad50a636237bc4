//! The init: its death ends the container; the built-in one reaps zombies.
#![cfg(target_os = "linux")]

use std::time::{Duration, Instant};

use containerv::{ContainerOptions, ProcessOptions, Runtime, Status};
use containerv_testutil::{
    assert_no_leftovers, busybox_rootfs, require_root, temp_root, unique_id,
};

/// Host pids whose pid namespace is `ns` (a /proc/<pid>/ns/pid link text).
fn pids_in_ns(ns: &str) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|p| {
            std::fs::read_link(format!("/proc/{p}/ns/pid")).is_ok_and(|l| l.to_string_lossy() == ns)
        })
        .collect()
}

/// (state, ppid) of a host pid.
fn stat(pid: i32) -> Option<(char, i32)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let mut f = rest.split(' ');
    Some((f.next()?.chars().next()?, f.next()?.parse().ok()?))
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(5);
    while !f() {
        assert!(Instant::now() < end, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn init_death_kills_every_process() {
    require_root();
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("core-death");
    let c = rt
        .create(&id, &ContainerOptions::new().rootfs(busybox_rootfs()))
        .unwrap();
    let ns = std::fs::read_link(format!("/proc/{}/ns/pid", c.pid()))
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let mut sleepers = Vec::new();
    for _ in 0..3 {
        sleepers.push(
            c.spawn(ProcessOptions::new(["/bin/sleep", "1000"]))
                .unwrap(),
        );
    }
    // A detached grandchild too.
    let mut p = c
        .spawn(ProcessOptions::new([
            "/bin/sh",
            "-c",
            "sleep 1000 & exit 0",
        ]))
        .unwrap();
    p.wait().unwrap();
    wait_until("5 processes run in the container", || {
        pids_in_ns(&ns).len() >= 5
    });

    // SAFETY: killing the container's init, a process this test created.
    assert_eq!(unsafe { libc::kill(c.pid(), libc::SIGKILL) }, 0);
    for s in &mut sleepers {
        assert_eq!(s.wait().unwrap(), containerv::ExitStatus::Signaled(9));
    }
    wait_until("no process is left in the pid namespace", || {
        pids_in_ns(&ns)
            .iter()
            .all(|p| stat(*p).is_none_or(|(s, _)| s == 'Z'))
    });
    assert_eq!(c.state().unwrap().status, Status::Stopped);
    c.destroy().unwrap();
    assert_no_leftovers(root.path(), &id);
}

#[test]
fn builtin_init_reaps_orphaned_zombies() {
    require_root();
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("core-reap");
    let c = rt
        .create(&id, &ContainerOptions::new().rootfs(busybox_rootfs()))
        .unwrap();
    // Each sh leaves an orphan that exits soon after: it becomes the init's
    // child and, unless reaped, a zombie.
    for _ in 0..5 {
        let mut o = ProcessOptions::new(["/bin/sh", "-c", "sleep 0.2 & exit 0"]);
        o.wait = true;
        c.spawn(o).unwrap();
    }
    let init = c.pid();
    let children_of_init = || {
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .filter_map(|p| stat(p).filter(|(_, pp)| *pp == init))
            .collect::<Vec<_>>()
    };
    wait_until("the orphans were adopted", || {
        !children_of_init().is_empty()
    });
    wait_until("every orphan is reaped (no zombie)", || {
        children_of_init().is_empty()
    });
    assert_eq!(c.state().unwrap().status, Status::Running);
    c.destroy().unwrap();
    assert_no_leftovers(root.path(), &id);
}

#[test]
fn signals_are_forwarded_by_builtin_init() {
    require_root();
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("core-fwd");
    let c = rt
        .create(&id, &ContainerOptions::new().rootfs(busybox_rootfs()))
        .unwrap();
    let mut p = c
        .spawn(ProcessOptions::new(["/bin/sleep", "1000"]))
        .unwrap();
    // SIGUSR1 to the init reaches every process of the container.
    wait_until("sleep runs", || {
        stat(p.pid()).is_some_and(|(s, _)| s == 'S')
    });
    c.signal(libc::SIGUSR1, false).unwrap();
    assert_eq!(
        p.wait().unwrap(),
        containerv::ExitStatus::Signaled(libc::SIGUSR1)
    );
    c.destroy().unwrap();
    assert_no_leftovers(root.path(), &id);
}
