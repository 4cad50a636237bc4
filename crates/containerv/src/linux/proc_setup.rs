//! The last steps before a container process runs its program, shared by
//! the init (OCI `process`) and by `spawn`/`exec`: credentials, rlimits,
//! capabilities, no_new_privs, umask, cwd, environment, and the exec itself
//! with a PATH search inside the container.
//!
//! Split in two halves because the caller may be multi-threaded: `prepare`
//! runs in the parent and does every allocation (C strings, id lists, cap
//! masks); `exec` runs in the forked child and makes system calls only.
//!
//! SKELETON: the interface is fixed; being written.

use std::path::Path;

use crate::error::{Error, Result};

/// An OCI process turned into ready-to-use system call arguments.
#[derive(Debug)]
pub(crate) struct PreparedProcess {}

/// A failed step in the child: what it was doing and the errno.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChildError {
    pub step: &'static str,
    pub errno: i32,
}

impl PreparedProcess {
    /// Turn `process` into system call arguments. `root` is the container's
    /// root as the host sees it (to resolve user and group names against
    /// its /etc/passwd and /etc/group).
    pub(crate) fn prepare(process: &oci_spec::runtime::Process, root: &Path) -> Result<Self> {
        let _ = (process, root);
        Err(Error::Unsupported("prepare process".into()))
    }

    /// In the child, inside the container (namespaces joined, rootfs
    /// entered): apply everything and exec. Returns only on failure.
    ///
    /// # Safety
    /// Call only in a freshly forked child that will `_exit` if this returns.
    pub(crate) unsafe fn exec(&self) -> ChildError {
        ChildError {
            step: "exec",
            errno: libc::ENOSYS,
        }
    }
}
