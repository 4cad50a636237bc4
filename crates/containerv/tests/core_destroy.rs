//! destroy cleans up whatever happened before: the creator crashed, the
//! init was killed, processes still run.
#![cfg(target_os = "linux")]

use containerv::{ContainerOptions, ProcessOptions, Runtime, Status};
use containerv_testutil::{
    assert_no_leftovers, busybox_rootfs, require_root, temp_root, unique_id,
};

#[test]
fn destroy_after_the_creator_crashed() {
    require_root();
    let root = temp_root();
    let id = unique_id("core-crash");
    let rootfs = busybox_rootfs().to_path_buf();
    // Like a container manager (containerd's shim), be the subreaper of
    // what our children leave, so the orphaned init is reparented to us
    // and reaped by destroy instead of lingering as the host init's zombie.
    // SAFETY: prctl on this process.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    // Create in a forked child that exits without destroying: the
    // container outlives its creator, as with `containerv create`.
    // SAFETY: the child only creates a container and _exits.
    let child = unsafe { libc::fork() };
    assert!(child >= 0);
    if child == 0 {
        let code = match Runtime::new(root.path())
            .and_then(|rt| rt.create(&id, &ContainerOptions::new().rootfs(&rootfs)))
        {
            Ok(c) => {
                std::mem::forget(c);
                0
            }
            Err(_) => 1,
        };
        // SAFETY: leave the forked child without unwinding into the test harness.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: reaping our forked child.
    unsafe { libc::waitpid(child, &mut status, 0) };
    assert_eq!(status, 0, "create in the child failed");

    let rt = Runtime::new(root.path()).unwrap();
    let c = rt.open(&id).unwrap();
    assert_eq!(c.state().unwrap().status, Status::Running);
    // A process the test spawned (so the test reaps it) still runs.
    let mut p = c
        .spawn(ProcessOptions::new(["/bin/sleep", "1000"]))
        .unwrap();
    c.destroy().unwrap();
    assert_eq!(p.wait().unwrap(), containerv::ExitStatus::Signaled(9));
    // The init finishes exiting once its namespace's last zombie (our
    // sleep) is reaped; destroy left a thread to reap it.
    let end = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !containerv_testutil::processes_mentioning(&id).is_empty() {
        assert!(std::time::Instant::now() < end, "init not reaped");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_no_leftovers(root.path(), &id);
}

#[test]
fn destroy_after_the_init_was_killed() {
    require_root();
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("core-killed");
    let c = rt
        .create(&id, &ContainerOptions::new().rootfs(busybox_rootfs()))
        .unwrap();
    // SAFETY: killing the init this test created.
    unsafe { libc::kill(c.pid(), libc::SIGKILL) };
    let other = rt.open(&id).unwrap();
    other.destroy().unwrap();
    assert_no_leftovers(root.path(), &id);
    // The first handle's destroy is now a no-op, not an error.
    c.destroy().unwrap();
}

#[test]
fn destroy_without_pid_namespace_kills_everything_in_the_cgroup() {
    require_root();
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("core-nopidns");
    let ns = containerv::Namespaces {
        pid: false,
        ..Default::default()
    };
    let c = rt
        .create(
            &id,
            &ContainerOptions::new()
                .rootfs(busybox_rootfs())
                .namespaces(ns),
        )
        .unwrap();
    let mut p = c
        .spawn(ProcessOptions::new(["/bin/sleep", "1000"]))
        .unwrap();
    c.destroy().unwrap();
    assert_eq!(p.wait().unwrap(), containerv::ExitStatus::Signaled(9));
    assert_no_leftovers(root.path(), &id);
}
