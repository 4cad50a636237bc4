//! Starting a container's init: a fork-like raw `clone` into the new
//! namespaces, the user-namespace id maps written by the parent, and the
//! child's report read back.
//!
//! The parent builds a [`plan::Plan`] (every string, buffer and fd ready);
//! the child ([`child`]) executes it with system calls only, then becomes
//! the built-in [`reaper`] or execs the container's program.

pub(crate) mod child;
pub(crate) mod hostfds;
pub(crate) mod plan;
pub(crate) mod reaper;
pub(crate) mod sys;

use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};

use oci_spec::runtime::LinuxIdMapping;

use crate::error::{Error, Result};
use crate::linux::report::{self, Report};
use plan::Plan;

/// The id maps of a new user namespace, written by the parent.
pub(crate) struct UserMaps<'a> {
    pub uid: &'a [LinuxIdMapping],
    pub gid: &'a [LinuxIdMapping],
    /// Write end of the pipe the child waits on.
    pub sync: OwnedFd,
}

/// The parent's part of a `WaitForParent` step right after the init joined
/// its cgroup: wait for the init's byte on `joined`, run `run` (let go of
/// the systemd driver's placeholder), then release the init (`release`).
pub(crate) struct Settle<'a> {
    pub joined: OwnedFd,
    pub release: OwnedFd,
    pub run: &'a dyn Fn(),
}

/// What the parent does for the init between clone and its report, in
/// the order the init's steps wait for it.
pub(crate) struct ParentSync<'a> {
    pub settle: Option<Settle<'a>>,
    pub maps: Option<UserMaps<'a>>,
}

/// The parent's part of a `SyncHooks` step: the write end of the child's
/// sync pipe, what to run (given the init's host pid) as soon as the init
/// exists (`early`: it goes on with its plan meanwhile, up to the sync
/// step), and what to run once it waits there, before releasing it.
pub(crate) struct HookSync<'a> {
    pub release: OwnedFd,
    pub early: &'a mut dyn FnMut(i32) -> Result<()>,
    pub run: &'a mut dyn FnMut(i32) -> Result<()>,
}

/// Clone the init with `flags` (CLONE_NEW*), let it run `plan`, and wait
/// for its report. Returns the init's host pid; on a failure the child is
/// killed and reaped before the error is returned.
/// `pidns`: a pid namespace (linux.namespaces by path) this thread enters
/// just for the clone, so the init is born in it. `host_paths`: opened for
/// the init by `hostfds::send` once its id maps are written.
pub(crate) fn start(
    mut plan: Plan,
    flags: libc::c_int,
    pidns: Option<OwnedFd>,
    host_paths: Option<hostfds::HostPaths>,
    parent: ParentSync<'_>,
    report_rx: OwnedFd,
    mut hooks: Option<HookSync<'_>>,
) -> Result<i32> {
    let process = plan.process;
    plan.seal();
    let _back = match &pidns {
        Some(ns) => Some(PidNsGuard::enter(ns)?),
        None => None,
    };
    // SAFETY: a fork-like clone (no new stack: the child continues on a
    // copy of ours), born in the container's cgroup2 directory when the
    // kernel can. The child only runs `child::run`, which makes system
    // calls on data prepared here and never returns.
    let forked =
        unsafe { crate::linux::fork::fork(flags, plan.into_cgroup.as_ref().map(|f| f.as_fd())) };
    let pid = match forked {
        // SAFETY: we are the new child.
        Ok(crate::linux::fork::Forked::Child { placed }) => unsafe { child::run(&plan, placed) },
        Ok(crate::linux::fork::Forked::Parent(pid)) => pid,
        Err(e) => return Err(Error::sys("clone the container's init", e)),
    };
    drop(_back);
    let descs: Vec<String> = plan.steps.iter().map(|s| s.desc.clone()).collect();
    // Close our copies of the child's fds so its exec closes the report pipe.
    drop(plan);
    let ParentSync { settle, maps } = parent;
    let result = (|| {
        if let Some(s) = settle {
            // EOF: the init failed before; its report below says why.
            let mut b = [0u8; 1];
            if std::fs::File::from(s.joined).read_exact(&mut b).is_ok() {
                (s.run)();
                std::fs::File::from(s.release)
                    .write_all(b"1")
                    .map_err(|e| Error::sys("signal the init that its cgroup is settled", e))?;
            }
        }
        if let Some(m) = maps {
            write_map(pid, "uid_map", m.uid)?;
            write_map(pid, "gid_map", m.gid)?;
            if let Some(hp) = &host_paths {
                hostfds::send(pid, hp)?;
            }
            let mut f = std::fs::File::from(m.sync);
            f.write_all(b"1")
                .map_err(|e| Error::sys("signal the init that its id maps are written", e))?;
        }
        if let Some(h) = hooks.as_mut() {
            (h.early)(pid)?;
        }
        let mut rx = std::fs::File::from(report_rx);
        let mut report =
            report::receive(&mut rx).map_err(|e| Error::sys("read the init's set-up report", e))?;
        if report == Report::Hooks {
            let h = hooks.as_mut().ok_or_else(|| {
                Error::sys(
                    "the init asked for hooks nobody planned",
                    std::io::Error::from_raw_os_error(libc::EPROTO),
                )
            })?;
            (h.run)(pid)?;
            let mut f = std::fs::File::from(
                h.release
                    .try_clone()
                    .map_err(|e| Error::sys("release the init after the create hooks", e))?,
            );
            f.write_all(b"1")
                .map_err(|e| Error::sys("release the init after the create hooks", e))?;
            report = report::receive(&mut rx)
                .map_err(|e| Error::sys("read the init's set-up report", e))?;
        }
        match report {
            Report::Ready | Report::Eof => Ok(()),
            Report::Hooks => Err(Error::sys(
                "the init asked for the create hooks twice",
                std::io::Error::from_raw_os_error(libc::EPROTO),
            )),
            Report::Pid(_) => Err(Error::sys(
                "the init sent an exec helper's pid report",
                std::io::Error::from_raw_os_error(libc::EPROTO),
            )),
            Report::Failed(e) => Err(match process {
                Some(p) => p.error(e),
                None => e.into_error(),
            }),
            Report::PlanFailed { index, errno } => Err(Error::Setup {
                step: descs
                    .get(index as usize)
                    .cloned()
                    .unwrap_or_else(|| format!("step {index}")),
                source: std::io::Error::from_raw_os_error(errno),
            }),
        }
    })();
    if let Err(e) = result {
        kill_and_reap(pid);
        return Err(e);
    }
    Ok(pid)
}

/// SIGKILL our child `pid` and reap it.
pub(crate) fn kill_and_reap(pid: i32) {
    // SAFETY: signalling and reaping our own child.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        libc::waitpid(pid, std::ptr::null_mut(), 0);
    }
}

fn write_map(pid: i32, file: &str, maps: &[LinuxIdMapping]) -> Result<()> {
    let text: String = maps
        .iter()
        .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
        .collect();
    let path = format!("/proc/{pid}/{file}");
    std::fs::write(&path, text).map_err(|e| Error::io("write user namespace map", path, e))
}

/// This thread's children go to another pid namespace until drop, which
/// returns them to the thread's own (the only way back setns allows).
struct PidNsGuard(OwnedFd);

impl PidNsGuard {
    fn enter(ns: &OwnedFd) -> Result<PidNsGuard> {
        use std::os::fd::AsRawFd;
        let own: OwnedFd = std::fs::File::open("/proc/thread-self/ns/pid")
            .map_err(|e| Error::io("open", "/proc/thread-self/ns/pid", e))?
            .into();
        // SAFETY: setns on a namespace fd we hold; only this thread's
        // pid_for_children changes.
        if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWPID) } != 0 {
            return Err(Error::sys(
                "join the pid namespace (linux.namespaces)",
                std::io::Error::last_os_error(),
            ));
        }
        Ok(PidNsGuard(own))
    }
}

impl Drop for PidNsGuard {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        // SAFETY: back to this thread's own pid namespace (its active one).
        if unsafe { libc::setns(self.0.as_raw_fd(), libc::CLONE_NEWPID) } != 0 {
            tracing::warn!(
                "returning to the runtime's pid namespace: {}",
                std::io::Error::last_os_error()
            );
        }
    }
}
