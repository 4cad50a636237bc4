//! The last steps before a container process runs its program, shared by
//! the init (OCI `process`) and by `spawn`/`exec`: credentials, rlimits,
//! capabilities, no_new_privs, umask, cwd, environment, and the exec itself
//! with a PATH search inside the container.
//!
//! Split in two halves because the caller may be multi-threaded:
//! [`prepare`] runs in the parent and does every allocation (C strings, id
//! lists, cap masks); [`child`] runs in the forked child and makes system
//! calls only. [`caps`] and [`limits`] hold both halves of their concern.
//! A failure in the child is a [`ChildError`] (a [`Step`] and an errno,
//! sent with [`crate::linux::report`]); [`PreparedProcess::error`] turns it
//! into a message naming the program or directory.

mod caps;
mod child;
mod limits;
mod prepare;
#[cfg(test)]
mod tests;

use std::ffi::CString;

use libc::c_char;
use oci_spec::runtime::LinuxPersonality;

use caps::CapSets;
pub use caps::CAPABILITIES;
use limits::{RlimitResource, SchedAttr};

use crate::error::{Error, Result};
use crate::linux::step::{ChildError, Step};

/// An OCI process turned into ready-to-use system call arguments.
#[derive(Debug)]
pub(crate) struct PreparedProcess {
    /// argv as given (for error messages).
    args: Vec<String>,
    argv: Vec<CString>,
    /// Pointers into `argv`, NULL-terminated.
    argv_ptrs: Vec<*const c_char>,
    /// Owns the strings `envp_ptrs` points to (read only through them).
    #[allow(dead_code)]
    envp: Vec<CString>,
    /// Pointers into `envp`, NULL-terminated.
    envp_ptrs: Vec<*const c_char>,
    /// The PATH the program is looked up in (from env, or the default).
    path: CString,
    cwd: CString,
    cwd_display: String,
    uid: u32,
    gid: u32,
    groups: Vec<libc::gid_t>,
    umask: Option<u32>,
    rlimits: Vec<(RlimitResource, libc::rlimit)>,
    /// `None`: capabilities are left as they are (spec has none).
    caps: Option<CapSets>,
    last_cap: u32,
    no_new_privs: bool,
    /// oom_score_adj, pre-formatted.
    oom_score_adj: Option<CString>,
    /// `process.ioPriority` as the `ioprio_set` value (class << 13 | level).
    ioprio: Option<i32>,
    /// `process.scheduler` for `sched_setattr`.
    sched: Option<SchedAttr>,
    /// `linux.personality` (the init only: see [`Self::set_personality`]).
    personality: Option<libc::c_ulong>,
    /// `process.terminal`.
    pub terminal: bool,
    /// `linux.seccomp`, compiled (see [`Self::set_seccomp`]).
    seccomp: Option<super::seccomp::Prepared>,
    /// The session keyring to join (see [`Self::set_session_keyring`]).
    session_keyring: Option<CString>,
}

// SAFETY: the raw pointers point into the CStrings owned by the same struct
// (heap buffers that never move or change after `prepare`); nothing is
// shared mutably.
unsafe impl Send for PreparedProcess {}
// SAFETY: as above; all access after `prepare` is read-only.
unsafe impl Sync for PreparedProcess {}

impl PreparedProcess {
    /// Apply `linux.personality` before the exec (the container's init).
    pub(crate) fn set_personality(&mut self, p: Option<&LinuxPersonality>) -> Result<()> {
        self.personality = p.map(limits::personality).transpose()?;
        Ok(())
    }

    /// Compile and carry `linux.seccomp` (the init and every exec get it,
    /// as in runc). Errors (unknown syscall, bad argument...) come here,
    /// before anything is created.
    pub(crate) fn set_seccomp(&mut self, ctx: super::seccomp::Context<'_>) -> Result<()> {
        self.seccomp = super::seccomp::Prepared::new(ctx, self.no_new_privs)?;
        Ok(())
    }

    /// Join a new session keyring named `name` before the exec (runc's
    /// `_ses.<id>`; `None` with `--no-new-keyring`): otherwise the process
    /// shares the session keyring of whoever made it, and can search and
    /// read the keys the host's user put there.
    pub(crate) fn set_session_keyring(&mut self, name: Option<&str>) -> Result<()> {
        self.session_keyring = name
            .map(|n| CString::new(n).map_err(|_| Error::InvalidSpec(format!("keyring name {n:?}"))))
            .transpose()?;
        Ok(())
    }

    /// A descriptor the child must keep until exec (the seccomp agent socket).
    pub(crate) fn seccomp_fd(&self) -> Option<std::os::fd::RawFd> {
        self.seccomp.as_ref().and_then(|s| s.keep_fd())
    }

    /// The uid and gid the process will run as.
    pub(crate) fn ids(&self) -> (u32, u32) {
        (self.uid, self.gid)
    }

    /// A child's failure as the library's error, naming the program for
    /// `exec` (`exec "/bin/nosuch": No such file or directory`) and the
    /// directory for `chdir`.
    pub(crate) fn error(&self, e: ChildError) -> Error {
        let step = match e.step {
            Step::Exec => format!("exec {:?}", self.args[0]),
            // runc's words, which podman turns into exit code 127.
            Step::Lookup if e.errno == libc::ENOENT && !self.args[0].contains('/') => {
                format!(
                    "exec: {:?}: executable file not found in $PATH",
                    self.args[0]
                )
            }
            Step::Lookup => format!("exec: {:?}", self.args[0]),
            Step::Chdir => format!("chdir {:?}", self.cwd_display),
            Step::CwdOutsideContainer => {
                format!(
                    "process.cwd {:?}: resolves outside the container",
                    self.cwd_display
                )
            }
            Step::Setresuid => format!("setresuid {}", self.uid),
            Step::Setresgid => format!("setresgid {}", self.gid),
            _ => return e.into_error(),
        };
        Error::Setup {
            step,
            source: std::io::Error::from_raw_os_error(e.errno),
        }
    }
}
