//! upload / download: copying files into and out of a running container.
//!
//! The container's filesystem is reached through the init's root
//! (`/proc/<pid>/root`, which sees the container's own mounts), and every
//! path inside it is resolved with `openat2(RESOLVE_IN_ROOT)`, so `..` and
//! symlinks (absolute or relative) stay inside the container's root: a
//! hostile symlink never makes a copy read or write outside it.
//!
//! SKELETON: being written.

use std::path::Path;

use crate::error::{Error, Result};

/// Copy host file or directory `host_src` to `dest` inside the root `root`.
pub(crate) fn upload(root: &Path, host_src: &Path, dest: &Path) -> Result<()> {
    let _ = (root, host_src, dest);
    Err(Error::Unsupported("upload".into()))
}

/// Copy `src` inside the root `root` to host path `host_dest`.
pub(crate) fn download(root: &Path, src: &Path, host_dest: &Path) -> Result<()> {
    let _ = (root, src, host_dest);
    Err(Error::Unsupported("download".into()))
}
