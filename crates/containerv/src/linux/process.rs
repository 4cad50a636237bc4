//! A process started in a container by `spawn`/`exec`, and the stdio and
//! terminal choices for `exec`.
//!
//! The process is a direct child of the caller (the exec path clones it with
//! `CLONE_PARENT`), so [`Process::wait`] is a plain `waitpid`. A pidfd is
//! kept from the moment the child exists so [`Process::kill`] never signals
//! a recycled pid.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::process::ExitStatus;

/// Stdio and terminal for `exec`.
#[derive(Debug, Default)]
pub struct ProcessIo {
    pub stdin: crate::process::Stdio,
    pub stdout: crate::process::Stdio,
    pub stderr: crate::process::Stdio,
    /// With `process.terminal`: the pty master is sent over this unix
    /// socket (SCM_RIGHTS, the runc protocol).
    pub console_socket: Option<PathBuf>,
    /// Write the process's host pid here once it exists.
    pub pid_file: Option<PathBuf>,
    /// Pass this many descriptors after stdio (3, 4, ...) to the process.
    pub preserve_fds: u32,
}

/// A process started by `spawn`/`exec`.
#[derive(Debug)]
pub struct Process {
    pid: i32,
    /// pidfd of the process (None on kernels without pidfd_open).
    pidfd: Option<OwnedFd>,
    /// Set once reaped; later waits return it again.
    status: Option<ExitStatus>,
    pub stdin: Option<std::fs::File>,
    pub stdout: Option<std::fs::File>,
    pub stderr: Option<std::fs::File>,
}

impl Process {
    /// A process with host pid `pid`, a child of the caller.
    pub(crate) fn new(pid: i32, pidfd: Option<OwnedFd>) -> Self {
        Process {
            pid,
            pidfd,
            status: None,
            stdin: None,
            stdout: None,
            stderr: None,
        }
    }

    /// Host pid.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Wait for it to end (only the process that spawned it can). Waiting
    /// again returns the same status.
    pub fn wait(&mut self) -> Result<ExitStatus> {
        if let Some(s) = self.status {
            return Ok(s);
        }
        // Close our end of its stdin so a process reading it sees EOF.
        self.stdin = None;
        let status = wait_pid(self.pid)?;
        self.status = Some(status);
        self.pidfd = None;
        Ok(status)
    }

    /// The status if it has ended, without blocking.
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>> {
        if let Some(s) = self.status {
            return Ok(Some(s));
        }
        let mut raw = 0;
        // SAFETY: waitpid on our own child, with a valid out pointer.
        let r = unsafe { libc::waitpid(self.pid, &mut raw, libc::WNOHANG) };
        match r {
            0 => Ok(None),
            r if r == self.pid => {
                let s = decode(raw);
                self.status = Some(s);
                self.pidfd = None;
                Ok(Some(s))
            }
            _ => Err(Error::sys(
                format!("waitpid {}", self.pid),
                std::io::Error::last_os_error(),
            )),
        }
    }

    /// Send a signal. Through the pidfd when there is one, so a pid that
    /// was reaped and reused is never signalled; after the process has been
    /// reaped this fails with ESRCH.
    pub fn kill(&self, signal: i32) -> Result<()> {
        let what = || format!("kill {} with signal {signal}", self.pid);
        if self.status.is_some() {
            return Err(Error::sys(
                what(),
                std::io::Error::from_raw_os_error(libc::ESRCH),
            ));
        }
        let r = match &self.pidfd {
            // SAFETY: pidfd_send_signal with a pidfd we own and no siginfo.
            Some(fd) => unsafe {
                libc::syscall(
                    libc::SYS_pidfd_send_signal,
                    fd.as_raw_fd(),
                    signal,
                    std::ptr::null::<libc::siginfo_t>(),
                    0,
                ) as i32
            },
            // SAFETY: kill(2) on our own unreaped child: the pid cannot be reused.
            None => unsafe { libc::kill(self.pid, signal) },
        };
        if r < 0 {
            return Err(Error::sys(what(), std::io::Error::last_os_error()));
        }
        Ok(())
    }
}

/// Block until child `pid` ends (retrying on EINTR) and decode its status.
pub(crate) fn wait_pid(pid: i32) -> Result<ExitStatus> {
    loop {
        let mut raw = 0;
        // SAFETY: waitpid on our own child, with a valid out pointer.
        let r = unsafe { libc::waitpid(pid, &mut raw, 0) };
        if r == pid {
            return Ok(decode(raw));
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(Error::sys(format!("waitpid {pid}"), e));
        }
    }
}

/// A raw wait status as an [`ExitStatus`].
pub(crate) fn decode(raw: i32) -> ExitStatus {
    if libc::WIFSIGNALED(raw) {
        ExitStatus::Signaled(libc::WTERMSIG(raw))
    } else {
        ExitStatus::Exited(libc::WEXITSTATUS(raw))
    }
}
