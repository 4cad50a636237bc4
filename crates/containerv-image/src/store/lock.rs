//! Advisory locks (flock) that keep garbage collection and writers apart:
//! a pull or import holds the GC lock shared for its whole run, so several
//! may run at once; `prune` holds it exclusive, so it never deletes a blob
//! that a running pull has just written but not yet referenced. A process
//! killed with -9 drops its locks with its file descriptors.

use std::fs::File;
use std::path::Path;

use rustix::fs::FlockOperation;

use crate::error::{IoContext, Result};

/// A held flock; released on drop.
#[derive(Debug)]
pub struct StoreLock {
    _file: File,
}

impl StoreLock {
    /// Takes the lock at `path` shared (`exclusive == false`) or exclusive,
    /// waiting for it.
    pub fn acquire(path: &Path, exclusive: bool) -> Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .ctx("open lock file", path)?;
        let op = if exclusive {
            FlockOperation::LockExclusive
        } else {
            FlockOperation::LockShared
        };
        rustix::fs::flock(&file, op).ctx("flock", path)?;
        Ok(StoreLock { _file: file })
    }
}
