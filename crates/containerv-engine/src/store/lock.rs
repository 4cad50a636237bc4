//! Exclusive `flock` locks on files, so two `cv` processes (or a `cv` and
//! a monitor) working on one container never interleave their
//! read-modify-write of its records. The lock is released when the guard
//! (and so the descriptor) is dropped, also when the holder dies.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::Path;

use crate::error::{Error, Result};

/// A held lock.
#[derive(Debug)]
pub struct LockGuard {
    _file: File,
}

/// Blocks until the exclusive lock on `path` (created if missing) is held.
pub fn lock_exclusive(path: &Path) -> Result<LockGuard> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| Error::io("open lock file", path, e))?;
    loop {
        // SAFETY: flock on a descriptor we own.
        let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        if r == 0 {
            return Ok(LockGuard { _file: file });
        }
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EINTR) {
            return Err(Error::io("lock", path, err));
        }
    }
}

/// Takes the exclusive lock on `path` if it is free; `None` if another
/// process holds it.
pub fn try_lock(path: &Path) -> Result<Option<LockGuard>> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| Error::io("open lock file", path, e))?;
    loop {
        // SAFETY: flock on a descriptor we own.
        let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if r == 0 {
            return Ok(Some(LockGuard { _file: file }));
        }
        let err = std::io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EWOULDBLOCK) => return Ok(None),
            _ => return Err(Error::io("lock", path, err)),
        }
    }
}

/// Like [`try_lock`], but never creates the lock file: `Ok(None)` also
/// when it does not exist (yet). For judging someone else's directory
/// (is its creator alive?) without racing it: creating the file there
/// could let a sweep take a directory whose creator has not locked it yet,
/// or leave a file in one a live `rm` is deleting.
pub fn try_lock_existing(path: &Path) -> Result<Option<LockGuard>> {
    let file = match OpenOptions::new().write(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("open lock file", path, e)),
    };
    loop {
        // SAFETY: flock on a descriptor we own.
        let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if r == 0 {
            return Ok(Some(LockGuard { _file: file }));
        }
        let err = std::io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EWOULDBLOCK) => return Ok(None),
            _ => return Err(Error::io("lock", path, err)),
        }
    }
}
