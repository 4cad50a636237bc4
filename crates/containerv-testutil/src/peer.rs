//! For tests against real clients of the OCI ecosystem (podman, containerd,
//! umoci): a private mount namespace with its own /run for the calling
//! thread (both tools write under /run whatever their config says), a
//! podman with private config and storage, running a command and showing
//! all of its output on failure, and removing the cgroups the clients made.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use nix::mount::{mount, MsFlags};
use nix::sched::{unshare, CloneFlags};

use crate::TempRoot;

/// Give this thread its own mount namespace (private propagation) with a
/// fresh tmpfs on /run. Children spawned from this thread inherit it; the
/// rest of the test process keeps the host's.
pub fn private_run() {
    unshare(CloneFlags::CLONE_NEWNS).expect("unshare mount ns");
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .expect("make / private");
    mount(
        Some("tmpfs"),
        "/run",
        Some("tmpfs"),
        MsFlags::empty(),
        None::<&str>,
    )
    .expect("tmpfs on /run");
}

/// Is `tool` installed (on PATH)?
pub fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Run, assert success, return stdout (all output in the failure message).
pub fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?} failed: {}", describe(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Status, stdout and stderr of a finished command, for failure messages.
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
            .arg(crate::busybox_rootfs())
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
    for d in crate::cgroups_named(needle) {
        rm_tree(&d);
    }
}

/// The value of `file` in the cgroup directory (hierarchy `controller`)
/// whose name contains `needle`.
pub fn cgroup_value(controller: &str, needle: &str, file: &str) -> String {
    let dir = crate::cgroups_named(needle)
        .into_iter()
        .find(|p| p.starts_with(format!("/sys/fs/cgroup/{controller}/")))
        .unwrap_or_else(|| panic!("no {controller} cgroup named like {needle}"));
    std::fs::read_to_string(dir.join(file))
        .unwrap()
        .trim()
        .to_string()
}

/// podman 4.3 set up the way it works here (ENVIRONMENT.md): the cgroupfs
/// manager, the file events logger, no default ulimits, vfs storage, all
/// of it under a private temp dir (removed on drop). Use it after
/// [`private_run`] in the same thread.
pub struct PodmanConfig {
    pub dir: TempRoot,
}

impl PodmanConfig {
    /// Writes containers.conf and storage.conf; `containers` and `engine`
    /// are extra lines for those sections of containers.conf (e.g.
    /// `log_driver = "k8s-file"`, `runtime = "runc"`), each ending in a
    /// newline, or empty.
    pub fn new(containers: &str, engine: &str) -> PodmanConfig {
        let dir = crate::temp_root();
        let t = dir.path().display().to_string();
        std::fs::write(
            dir.path().join("containers.conf"),
            format!(
                "[containers]\ndefault_ulimits = []\n{containers}\
                 [engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n\
                 events_logfile_path = \"{t}/events.log\"\n{engine}"
            ),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("storage.conf"),
            format!(
                "[storage]\ndriver = \"vfs\"\nrunroot = \"{t}/runroot\"\n\
                 graphroot = \"{t}/graph\"\n"
            ),
        )
        .unwrap();
        PodmanConfig { dir }
    }

    /// `podman` reading this config and storage.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new("podman");
        c.env("CONTAINERS_CONF", self.dir.path().join("containers.conf"))
            .env(
                "CONTAINERS_STORAGE_CONF",
                self.dir.path().join("storage.conf"),
            );
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ok_returns_stdout_and_names_failures() {
        assert_eq!(run_ok(Command::new("sh").args(["-c", "echo hi"])), "hi\n");
        let e = std::thread::spawn(|| {
            run_ok(Command::new("sh").args(["-c", "echo out; echo err >&2; exit 4"]))
        })
        .join()
        .expect_err("a failing command panics");
        let msg = e.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(
            msg.contains("exit status: 4")
                && msg.contains("stdout: out")
                && msg.contains("stderr: err"),
            "{msg}"
        );
        assert!(have("sh"));
        assert!(!have("no-such-tool-containerv"));
    }

    #[test]
    fn podman_config_lines_land_in_their_sections() {
        let p = PodmanConfig::new("log_driver = \"k8s-file\"\n", "runtime = \"runc\"\n");
        let conf = std::fs::read_to_string(p.dir.path().join("containers.conf")).unwrap();
        let (containers, engine) = conf.split_once("[engine]").unwrap();
        assert!(containers.contains("log_driver = \"k8s-file\"\n"), "{conf}");
        assert!(engine.contains("runtime = \"runc\"\n"), "{conf}");
        assert!(engine.contains("cgroup_manager = \"cgroupfs\""), "{conf}");
        let storage = std::fs::read_to_string(p.dir.path().join("storage.conf")).unwrap();
        assert!(storage.contains("driver = \"vfs\""), "{storage}");
        let envs: Vec<_> = p.cmd().get_envs().map(|(k, _)| k.to_owned()).collect();
        assert_eq!(envs.len(), 2, "{envs:?}");
    }

    #[test]
    fn private_run_is_this_threads_own() {
        crate::require_root();
        let host_run = std::fs::read_link("/proc/self/ns/mnt").unwrap();
        std::thread::spawn(move || {
            private_run();
            let mine = std::fs::read_link("/proc/thread-self/ns/mnt").unwrap();
            assert_ne!(mine, host_run);
            std::fs::write("/run/containerv-peer-test", "x").unwrap();
        })
        .join()
        .unwrap();
        // The host's /run never saw the file.
        assert!(!Path::new("/run/containerv-peer-test").exists());
    }
}
