//! upload / download: copying files into and out of a running container.
//!
//! The container's filesystem is reached through the init's root
//! (`/proc/<pid>/root`, which sees the container's own mounts), and every
//! path inside it is resolved with `openat2(RESOLVE_IN_ROOT)`, so `..` and
//! symlinks (absolute or relative) stay inside the container's root: a
//! hostile symlink never makes a copy read or write outside it.
//!
//! SKELETON: being written.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Component, Path};

use nix::fcntl::{OFlag, OpenHow, ResolveFlag};

use crate::error::{Error, Result};

/// Open the container root `root` (e.g. `/proc/<pid>/root`) as a directory
/// handle that every in-root resolution starts from.
pub(crate) fn open_root(root: &Path) -> Result<OwnedFd> {
    nix::fcntl::open(
        root,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| Error::io("open container root", root, e.into()))
}

/// Open `path` inside the directory `root` as if `root` were `/`:
/// `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`, so `..`, absolute
/// and relative symlinks all stay inside it. `path` may be absolute
/// (taken from the root) or relative; `""` and `"/"` are the root itself.
/// `O_CLOEXEC` is always added.
pub(crate) fn open_in_root(
    root: &impl AsFd,
    path: &Path,
    flags: OFlag,
    mode: u32,
) -> std::io::Result<OwnedFd> {
    let rel: std::path::PathBuf = path
        .components()
        .filter(|c| !matches!(c, Component::RootDir | Component::Prefix(_)))
        .collect();
    let rel = if rel.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rel.as_path()
    };
    let how = OpenHow::new()
        .flags(flags | OFlag::O_CLOEXEC)
        .mode(nix::sys::stat::Mode::from_bits_truncate(mode))
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    let mut tries = 0;
    loop {
        match nix::fcntl::openat2(root.as_fd(), rel, how) {
            // EAGAIN: a concurrent rename raced the lookup; retry a few times.
            Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) if tries < 16 => tries += 1,
            r => return r.map_err(Into::into),
        }
    }
}

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
