//! Helpers of the `limits_*` tests: a cgroup made through the library's
//! manager with a leak check, and busybox processes that join it the way
//! the runtime's children do (writing "0" into `procs_fds()` between fork
//! and exec, no allocation there).
#![allow(dead_code)]

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use containerv::linux::cgroups::{self, CgroupManager};
use containerv::linux::Samples;
use containerv_testutil::{cgroups_named, unique_id, BUSYBOX};
use oci_spec::runtime::LinuxResources;

/// A container cgroup for one test; `finish` kills, removes and checks
/// nothing named after it is left.
pub struct Cg {
    pub id: String,
    pub mgr: Box<dyn CgroupManager>,
    pub samples: Samples,
}

impl Cg {
    pub fn new(prefix: &str, resources: Option<&LinuxResources>) -> Cg {
        containerv_testutil::require_root();
        let id = unique_id(prefix);
        let mgr = cgroups::create(&id, None, resources).expect("create cgroup");
        Cg {
            id,
            mgr,
            samples: Samples::default(),
        }
    }

    /// Runs busybox `args` inside the cgroup.
    pub fn spawn(&self, args: &[&str]) -> Child {
        spawn_joined(&self.mgr.procs_fds().unwrap(), args, false, Stdio::null())
    }

    /// Like `spawn`, in a new network namespace.
    pub fn spawn_netns(&self, args: &[&str]) -> Child {
        spawn_joined(&self.mgr.procs_fds().unwrap(), args, true, Stdio::null())
    }

    /// Like `spawn`, with stderr piped.
    pub fn spawn_piped(&self, args: &[&str]) -> Child {
        spawn_joined(&self.mgr.procs_fds().unwrap(), args, false, Stdio::piped())
    }

    pub fn stats(&mut self) -> containerv::Stats {
        self.samples.stats(&*self.mgr, 0).unwrap()
    }

    /// Kills everything, removes the cgroup, reaps `children`, and asserts
    /// no cgroup named after the id is left.
    pub fn finish(self, children: Vec<Child>) {
        self.mgr.kill_all().unwrap();
        for mut c in children {
            let _ = c.wait();
        }
        self.mgr.remove().unwrap();
        let left = cgroups_named(&self.id);
        assert!(left.is_empty(), "cgroups left: {left:?}");
    }
}

impl Drop for Cg {
    /// A failed test still kills its processes and removes its cgroup.
    fn drop(&mut self) {
        let _ = self.mgr.kill_all();
        let _ = self.mgr.remove();
    }
}

/// Spawns busybox `args`, joined to the cgroup before exec.
pub fn spawn_joined(fds: &[OwnedFd], args: &[&str], netns: bool, stderr: Stdio) -> Child {
    let raw: Vec<i32> = fds.iter().map(|f| f.as_raw_fd()).collect();
    let mut cmd = Command::new(BUSYBOX);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr);
    // SAFETY: the hook only calls write(2) and unshare(2) on data prepared
    // before the fork: no allocation, no locks.
    unsafe {
        cmd.pre_exec(move || {
            for fd in &raw {
                if libc::write(*fd, b"0".as_ptr().cast(), 1) != 1 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            if netns && libc::unshare(libc::CLONE_NEWNET) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.spawn().expect("spawn busybox in the cgroup")
}

/// Polls `f` every 20 ms for up to `timeout`.
pub fn eventually(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    f()
}

/// Resources from the builder's strings (the path users take).
pub fn limits(l: containerv::ResourceLimits) -> LinuxResources {
    containerv::limits::to_linux_resources(&l).unwrap()
}
