//! Turning the caller's [`Stdio`] choices into descriptors before a fork:
//! the child's end of each stream (dup'ed onto 0/1/2 in the child) and the
//! caller's end of each pipe (returned on [`super::Process`]).
//!
//! Everything is opened in the parent with `O_CLOEXEC`, so nothing leaks
//! into another process; `dup2` in the child gives the program its copy.

use std::fs::{File, OpenOptions};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;

use super::init::sys::errno;
use crate::error::{Error, Result};
use crate::process::Stdio;

/// The three streams of one new process.
#[derive(Debug, Default)]
pub(crate) struct StdioSet {
    /// What becomes fd 0, 1, 2 in the child (`None`: the caller's own).
    pub child: [Option<OwnedFd>; 3],
    /// The caller's ends of the pipes (stdin: write end; out/err: read end).
    pub parent: [Option<File>; 3],
}

impl StdioSet {
    /// Open `[stdin, stdout, stderr]`.
    pub(crate) fn open(streams: [Stdio; 3]) -> Result<StdioSet> {
        let mut set = StdioSet::default();
        for (n, s) in streams.into_iter().enumerate() {
            let input = n == 0;
            let (child, parent) = match s {
                Stdio::Inherit => (None, None),
                Stdio::Null => {
                    let f = OpenOptions::new()
                        .read(input)
                        .write(!input)
                        .open("/dev/null")
                        .map_err(|e| Error::io("open", "/dev/null", e))?;
                    (Some(OwnedFd::from(f)), None)
                }
                Stdio::Pipe => {
                    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
                        .map_err(|e| Error::sys("pipe for stdio", e.into()))?;
                    if input {
                        (Some(r), Some(File::from(w)))
                    } else {
                        (Some(w), Some(File::from(r)))
                    }
                }
                Stdio::File(path) => {
                    let mut o = OpenOptions::new();
                    if input {
                        o.read(true);
                    } else {
                        o.append(true).create(true).mode(0o644);
                    }
                    let f = o
                        .open(&path)
                        .map_err(|e| Error::io("open stdio file", &path, e))?;
                    (Some(OwnedFd::from(f)), None)
                }
                Stdio::Fd(fd) => (Some(fd), None),
            };
            set.child[n] = child;
            set.parent[n] = parent;
        }
        Ok(set)
    }

    /// Raw child fds for the child (-1: inherit).
    pub(crate) fn child_raw(&self) -> [RawFd; 3] {
        let raw = |o: &Option<OwnedFd>| o.as_ref().map_or(-1, |f| f.as_raw_fd());
        [
            raw(&self.child[0]),
            raw(&self.child[1]),
            raw(&self.child[2]),
        ]
    }
}

/// In the child: put `fds` (-1: leave as is) on 0, 1, 2. Each is first
/// duplicated above 2 so a source that already sits on 0..2 is not
/// clobbered by an earlier `dup2`. System calls only. Err(errno).
pub(crate) fn install_in_child(fds: &[RawFd; 3]) -> Result<(), i32> {
    let mut high = [-1; 3];
    for n in 0..3 {
        if fds[n] >= 0 {
            // SAFETY: fcntl on a descriptor we hold.
            high[n] = unsafe { libc::fcntl(fds[n], libc::F_DUPFD_CLOEXEC, 3) };
            if high[n] < 0 {
                return Err(errno());
            }
        }
    }
    for (n, fd) in high.iter().enumerate() {
        if *fd >= 0 {
            // SAFETY: dup2 onto a standard stream (clears CLOEXEC there).
            if unsafe { libc::dup2(*fd, n as RawFd) } < 0 {
                return Err(errno());
            }
            // SAFETY: closing our temporary copy.
            unsafe { libc::close(*fd) };
        }
    }
    Ok(())
}
