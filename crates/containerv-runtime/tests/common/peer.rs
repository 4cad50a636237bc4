//! For the real-client tests (podman, containerd): a private mount
//! namespace for the calling test thread with a tmpfs on /run (both tools
//! write under /run whatever their config says), a busybox root tarball,
//! and removal of the cgroup directories the clients made.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Give this thread its own mount namespace (private propagation) with a
/// fresh tmpfs on /run. Children spawned from this thread inherit it.
pub fn private_run() {
    // SAFETY: unshare/mount with valid NUL-terminated strings; affects
    // only this thread's mount namespace.
    unsafe {
        assert_eq!(libc::unshare(libc::CLONE_NEWNS), 0, "unshare mount ns");
        let none = c"none";
        assert_eq!(
            libc::mount(
                none.as_ptr(),
                c"/".as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null()
            ),
            0,
            "make / private"
        );
        assert_eq!(
            libc::mount(
                c"tmpfs".as_ptr(),
                c"/run".as_ptr(),
                c"tmpfs".as_ptr(),
                0,
                std::ptr::null()
            ),
            0,
            "tmpfs on /run"
        );
    }
}

/// Is `tool` installed (on PATH)?
pub fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Run, assert success, return stdout.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{cmd:?} failed: {}", describe(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn describe(o: &Output) -> String {
    format!(
        "{}\nstdout: {}\nstderr: {}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The busybox rootfs as a tar file in `dir`.
pub fn rootfs_tar(dir: &Path) -> PathBuf {
    let tar = dir.join("rootfs.tar");
    run_ok(
        Command::new("tar")
            .arg("-C")
            .arg(containerv_testutil::busybox_rootfs())
            .arg("-cf")
            .arg(&tar)
            .arg("."),
    );
    tar
}

/// Remove every cgroup directory whose name contains `needle`, with the
/// directories inside it (podman adds `conmon`), deepest first: only
/// directories this test's clients made.
pub fn remove_cgroups(needle: &str) {
    fn rm_tree(d: &Path) {
        for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                rm_tree(&e.path());
            }
        }
        let _ = std::fs::remove_dir(d);
    }
    for d in containerv_testutil::cgroups_named(needle) {
        rm_tree(&d);
    }
}

/// The value of `file` in the cgroup directory (hierarchy `controller`)
/// whose name contains `needle`.
pub fn cgroup_value(controller: &str, needle: &str, file: &str) -> String {
    let dir = containerv_testutil::cgroups_named(needle)
        .into_iter()
        .find(|p| p.starts_with(format!("/sys/fs/cgroup/{controller}/")))
        .unwrap_or_else(|| panic!("no {controller} cgroup named like {needle}"));
    std::fs::read_to_string(dir.join(file))
        .unwrap()
        .trim()
        .to_string()
}
