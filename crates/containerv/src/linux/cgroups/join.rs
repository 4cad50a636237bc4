//! How a freshly cloned, single-threaded child joins its container's
//! cgroup without the kernel's global migration lock.
//!
//! Writing a pid to `cgroup.procs` moves a whole thread group, so the
//! kernel takes `cgroup_threadgroup_rwsem` for writing; its percpu rwsem
//! waits for a full RCU grace period (`rcu_sync_enter` →
//! `synchronize_rcu`) unless another writer came just before. On the
//! development VM that wait was 5-14 ms of a ~10 ms `run` whenever the
//! lock had gone idle (e.g. after any other runtime's run: bench_runtimes
//! measured containerv 15 ms after runc, 10.6 ms without runc in the
//! run). Two ways around it, both what crun does in spirit:
//!
//! - cgroup v1: write `0` to the hierarchy's `tasks` file instead. It moves
//!   only the calling thread, for which the kernel skips the global lock
//!   (`cgroup_procs_write_start`: a single thread that is `current` cannot
//!   exit or exec under it). The child is the only thread of its process
//!   (a fork-like clone copies just the calling thread), so its whole
//!   process moves.
//! - cgroup v2 (pure, or the unified hierarchy of a hybrid host): the
//!   child is born in the cgroup, `clone3(CLONE_INTO_CGROUP)` with a
//!   directory descriptor ([`crate::linux::fork`]); `cgroup.procs` stays as
//!   the fallback where clone3 is refused (kernels before 5.7, seccomp
//!   profiles of an outer container that deny clone3).
//!
//! [`CgroupManager::procs_fds`](super::CgroupManager::procs_fds) keeps the
//! `cgroup.procs` semantics for callers that may have other threads
//! (`join_caller`).

use std::os::fd::{FromRawFd, OwnedFd};
use std::path::Path;

use super::fs;
use crate::error::Result;

/// What a new child needs to join a container's cgroup.
#[derive(Debug, Default)]
pub struct ChildJoin {
    /// Files the child writes `0` into (v1 `tasks`; `cgroup.procs` where no
    /// thread-level file exists).
    pub write_zero: Vec<OwnedFd>,
    /// A cgroup v2 directory to be born in, with its `cgroup.procs` for
    /// when the clone cannot place the child.
    pub into: Option<IntoCgroup>,
}

/// A cgroup v2 directory for `CLONE_INTO_CGROUP`.
#[derive(Debug)]
pub struct IntoCgroup {
    /// `O_DIRECTORY` descriptor of the cgroup (what clone3 takes).
    pub dir: OwnedFd,
    /// Its `cgroup.procs`, written by the child when clone3 was refused.
    pub procs: OwnedFd,
}

impl ChildJoin {
    /// v1 hierarchy: its `tasks` file.
    pub(super) fn add_v1(&mut self, dir: &Path) -> Result<()> {
        self.write_zero
            .push(open(dir, "tasks", libc::O_WRONLY | libc::O_CLOEXEC)?);
        Ok(())
    }

    /// cgroup2 directory (the only one there can be).
    pub(super) fn set_v2(&mut self, dir: &Path) -> Result<()> {
        let d = open(
            dir,
            "",
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )?;
        let procs = super::open_procs(dir)?;
        self.into = Some(IntoCgroup { dir: d, procs });
        Ok(())
    }
}

/// Opens `dir/name` (`dir` itself for an empty name) with `flags`.
fn open(dir: &Path, name: &str, flags: libc::c_int) -> Result<OwnedFd> {
    use std::os::unix::ffi::OsStrExt;
    let path = if name.is_empty() {
        dir.to_path_buf()
    } else {
        dir.join(name)
    };
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| fs::cg_err(&path, "path has a NUL byte"))?;
    // SAFETY: `c` is a valid NUL-terminated path; the result is checked.
    let fd = unsafe { libc::open(c.as_ptr(), flags) };
    if fd < 0 {
        return Err(fs::cg_err(
            &path,
            format!("open: {}", std::io::Error::last_os_error()),
        ));
    }
    // SAFETY: `fd` was just opened and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}
