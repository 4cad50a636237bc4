//! Helpers shared by the integration tests of every containerv crate, so no
//! test copies them: a busybox rootfs, unique container ids and runtime
//! roots, checks that nothing was left behind, running a runtime CLI
//! detached ([`cli`]), receiving passed descriptors ([`fdpass`]),
//! comparing copied trees ([`tree`]) and driving real peers such as podman
//! and containerd ([`peer`]).
//!
//! Tests need root and a real kernel (CI is root). A test that cannot run
//! must be `#[ignore = "why"]` (reported as skipped), never silently pass.

use std::path::{Path, PathBuf};
#[cfg(unix)]
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
#[cfg(unix)]
use std::sync::OnceLock;

/// Where static busybox is installed by Debian's busybox-static.
pub const BUSYBOX: &str = "/bin/busybox";

/// Panics with a clear message unless running as root (CI is root; the
/// test command runs the suite as root).
pub fn require_root() {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(2))
        .unwrap_or("1");
    assert_eq!(
        euid, "0",
        "these tests create real containers and need root"
    );
}

/// A read-only busybox rootfs, built once per test run (per process) in a
/// temporary directory: /bin/busybox plus a symlink per applet, /etc
/// with passwd, group and a user `nobody` (65534) and `app` (1000:1000),
/// empty /proc /sys /dev /tmp. Tests that write into the rootfs must use an
/// overlay or their own copy ([`busybox_rootfs_copy`]).
#[cfg(unix)]
pub fn busybox_rootfs() -> &'static Path {
    static ROOTFS: OnceLock<PathBuf> = OnceLock::new();
    ROOTFS.get_or_init(|| {
        // One shared copy for every test process of a run (tests only read
        // it): built under a private name, then renamed into place, so a
        // concurrent builder never sees half a rootfs and nothing piles up
        // in /tmp run after run.
        let dir = std::env::temp_dir().join("containerv-test-rootfs");
        if dir.join("etc/group").exists() {
            return dir;
        }
        let tmp =
            std::env::temp_dir().join(format!("containerv-test-rootfs.tmp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        build_busybox_rootfs(&tmp);
        if std::fs::rename(&tmp, &dir).is_err() {
            // Another process won the race: use its copy.
            let _ = std::fs::remove_dir_all(&tmp);
        }
        dir
    })
}

/// A fresh writable copy of the busybox rootfs in `dir` (created).
#[cfg(unix)]
pub fn busybox_rootfs_copy(dir: &Path) -> PathBuf {
    build_busybox_rootfs(dir);
    dir.to_path_buf()
}

#[cfg(unix)]
fn build_busybox_rootfs(dir: &Path) {
    assert!(
        Path::new(BUSYBOX).exists(),
        "{BUSYBOX} is missing: install busybox-static (the test command does)"
    );
    for d in [
        "bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "tmp", "root",
        "home/app", "var/tmp", "run",
    ] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    std::fs::copy(BUSYBOX, dir.join("bin/busybox")).unwrap();
    let out = Command::new(BUSYBOX).arg("--list-full").output().unwrap();
    for applet in String::from_utf8_lossy(&out.stdout).lines() {
        let link = dir.join(applet);
        if applet == "bin/busybox" || link.symlink_metadata().is_ok() {
            continue;
        }
        std::os::unix::fs::symlink("/bin/busybox", &link).unwrap();
    }
    std::fs::write(
        dir.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("etc/group"),
        "root:x:0:\nwheel:x:10:app\napp:x:1000:\nnogroup:x:65534:\n",
    )
    .unwrap();
    std::fs::set_permissions(
        dir.join("tmp"),
        std::os::unix::fs::PermissionsExt::from_mode(0o1777),
    )
    .unwrap();
}

/// A container id unique to this test process: `<prefix>-<pid>-<n>`.
pub fn unique_id(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A private runtime root for one test (removed by the returned guard).
pub fn temp_root() -> TempRoot {
    let dir = std::env::temp_dir().join(unique_id("containerv-root"));
    std::fs::create_dir_all(&dir).unwrap();
    TempRoot(dir)
}

/// A runtime root directory that is removed when dropped.
pub struct TempRoot(pub PathBuf);

impl TempRoot {
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempRoot {
    /// A test that failed half-way (a panic between create and destroy)
    /// still ends its containers: the processes in each container's
    /// cgroup (the core's default `containerv-<id>`, for every state
    /// directory under this root) are killed and the cgroups removed, so
    /// a failed assertion does not leave a busy loop running for the rest
    /// of the suite (seen: a CPU-burning test container ran on for 15
    /// minutes after its test failed).
    fn drop(&mut self) {
        #[cfg(target_os = "linux")]
        if std::thread::panicking() {
            if let Ok(rd) = std::fs::read_dir(&self.0) {
                for e in rd.flatten() {
                    let id = e.file_name().to_string_lossy().into_owned();
                    if !id.starts_with('.') {
                        kill_container_cgroups(&id);
                    }
                }
            }
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Kills what runs in the cgroups named exactly `containerv-<id>` (any
/// hierarchy; a frozen one is thawed first) and removes them. Only
/// directories of exactly that name: never another cgroup.
#[cfg(target_os = "linux")]
pub fn kill_container_cgroups(id: &str) {
    let name = format!("containerv-{id}");
    let mut dirs: Vec<PathBuf> = cgroups_named(&name)
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy() == name))
        .collect();
    for d in &dirs {
        let _ = std::fs::write(d.join("freezer.state"), "THAWED");
        let _ = std::fs::write(d.join("cgroup.freeze"), "0");
        for pid in std::fs::read_to_string(d.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse::<i32>().ok())
        {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
    // Deepest first; a cgroup empties once the kernel reaped its tasks.
    dirs.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    let end = std::time::Instant::now() + std::time::Duration::from_secs(3);
    for d in dirs {
        while std::fs::remove_dir(&d).is_err() && std::time::Instant::now() < end {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

/// Mount points (from /proc/self/mountinfo, the host's view) whose mount
/// point or source mentions `needle`.
pub fn mounts_mentioning(needle: &str) -> Vec<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(needle))
        .map(str::to_string)
        .collect()
}

/// Cgroup directories (any hierarchy under /sys/fs/cgroup, depth ≤ 8)
/// whose name contains `needle`.
pub fn cgroups_named(needle: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, depth: u32, needle: &str, out: &mut Vec<PathBuf>) {
        if depth == 0 {
            return;
        }
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let Ok(ft) = e.file_type() else { continue };
            if !ft.is_dir() || ft.is_symlink() {
                continue;
            }
            let p = e.path();
            if e.file_name().to_string_lossy().contains(needle) {
                out.push(p.clone());
            }
            walk(&p, depth - 1, needle, out);
        }
    }
    let mut out = Vec::new();
    walk(Path::new("/sys/fs/cgroup"), 8, needle, &mut out);
    out
}

/// Host pids whose /proc/PID/cgroup or cmdline mentions `needle`.
pub fn processes_mentioning(needle: &str) -> Vec<i32> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in rd.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let cg = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
        if cg.contains(needle) {
            out.push(pid);
        }
    }
    out
}

/// Asserts that nothing named after `id` is left: no mount, no cgroup, no
/// process in such a cgroup, no state directory under `root`.
pub fn assert_no_leftovers(root: &Path, id: &str) {
    let m = mounts_mentioning(id);
    assert!(m.is_empty(), "mounts left for {id}: {m:#?}");
    let c = cgroups_named(id);
    assert!(c.is_empty(), "cgroups left for {id}: {c:#?}");
    // A killed init can still be on its way out for a moment (a zombie
    // whose reaper thread has not run yet, or one waiting for its pid
    // namespace to empty): only a process that stays is a leak.
    let mut p = processes_mentioning(id);
    let t = std::time::Instant::now();
    while !p.is_empty() && t.elapsed() < std::time::Duration::from_secs(3) {
        std::thread::sleep(std::time::Duration::from_millis(20));
        p = processes_mentioning(id);
    }
    assert!(p.is_empty(), "processes left for {id}: {p:?}");
    assert!(
        !root.join(id).exists(),
        "state directory left: {}",
        root.join(id).display()
    );
}

#[cfg(target_os = "linux")]
pub mod attack;
#[cfg(unix)]
pub mod cli;
#[cfg(target_os = "linux")]
pub mod fdpass;
#[cfg(target_os = "linux")]
pub mod net;
#[cfg(target_os = "linux")]
pub mod peer;
#[cfg(unix)]
pub mod tree;
#[cfg(windows)]
pub mod windows;

#[cfg(unix)]
pub mod registry;
