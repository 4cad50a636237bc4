//! Filesystem operations confined to a layer directory. Every path from a
//! tar entry is resolved with `openat2(RESOLVE_IN_ROOT)` against the layer
//! root's file descriptor, so `..`, absolute symlinks and symlinks to `/`
//! all resolve inside the layer; the final component is then created or
//! changed with `*at` calls relative to its parent's descriptor, never
//! following a symlink there. Nothing here takes a whole path string to a
//! path-based syscall.

use std::ffi::{CString, OsStr};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use rustix::fs::{AtFlags, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

/// Normalises a tar entry path to a relative path with only normal
/// components. `None` for the root itself; an error for any `..`.
pub fn clean_path(p: &Path) -> Result<Option<PathBuf>, String> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir => return Err("path contains '..'".into()),
            Component::Prefix(_) => return Err("path has a prefix".into()),
        }
    }
    Ok(if out.as_os_str().is_empty() {
        None
    } else {
        Some(out)
    })
}

/// The layer directory being written, with a one-entry cache of the last
/// parent directory (tar entries come grouped by directory).
pub struct Root {
    fd: OwnedFd,
    cache: Option<(PathBuf, Arc<OwnedFd>)>,
}

const DIR_FLAGS: OFlags = OFlags::DIRECTORY
    .union(OFlags::RDONLY)
    .union(OFlags::CLOEXEC);
const RESOLVE: ResolveFlags = ResolveFlags::IN_ROOT
    .union(ResolveFlags::NO_MAGICLINKS)
    .union(ResolveFlags::NO_XDEV);

impl Root {
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        let fd = rustix::fs::open(dir, DIR_FLAGS | OFlags::NOFOLLOW, Mode::empty())?;
        Ok(Root { fd, cache: None })
    }

    /// The root's own descriptor.
    pub fn fd(&self) -> &OwnedFd {
        &self.fd
    }

    /// Opens directory `rel` (resolved inside the root).
    pub fn open_dir(&self, rel: &Path) -> Result<OwnedFd, Errno> {
        if rel.as_os_str().is_empty() {
            return rustix::io::fcntl_dupfd_cloexec(&self.fd, 0);
        }
        loop {
            match rustix::fs::openat2(&self.fd, rel, DIR_FLAGS, Mode::empty(), RESOLVE) {
                Err(Errno::AGAIN) | Err(Errno::INTR) => continue,
                r => return r,
            }
        }
    }

    /// The parent directory of `rel`, created (0755, root-owned) with its
    /// ancestors if missing.
    pub fn parent(&mut self, rel: &Path) -> Result<Arc<OwnedFd>, Errno> {
        let parent = rel.parent().unwrap_or(Path::new(""));
        if let Some((p, fd)) = &self.cache {
            if p == parent {
                return Ok(fd.clone());
            }
        }
        let fd = match self.open_dir(parent) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => self.mkdir_all(parent)?,
            Err(e) => return Err(e),
        };
        let fd = Arc::new(fd);
        self.cache = Some((parent.to_path_buf(), fd.clone()));
        Ok(fd)
    }

    fn mkdir_all(&self, rel: &Path) -> Result<OwnedFd, Errno> {
        let mut cur = self.open_dir(Path::new(""))?;
        let mut prefix = PathBuf::new();
        for c in rel.components() {
            prefix.push(c);
            cur = match self.open_dir(&prefix) {
                Ok(fd) => fd,
                Err(Errno::NOENT) => {
                    match rustix::fs::mkdirat(&cur, c.as_os_str(), Mode::from_raw_mode(0o755)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => return Err(e),
                    }
                    self.open_dir(&prefix)?
                }
                Err(e) => return Err(e),
            };
        }
        Ok(cur)
    }

    /// Forgets the cached parent if `changed` is it or one of its
    /// ancestors (it may have been replaced).
    pub fn invalidate(&mut self, changed: &Path) {
        if let Some((p, _)) = &self.cache {
            if p.starts_with(changed) {
                self.cache = None;
            }
        }
    }
}

/// Removes whatever is at `name` in `dir`, unless it is a directory and
/// `keep_dir` is set. Returns whether a directory was kept.
pub fn clear(dir: &OwnedFd, name: &OsStr, keep_dir: bool) -> Result<bool, Errno> {
    let st = match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => st,
        Err(Errno::NOENT) => return Ok(false),
        Err(e) => return Err(e),
    };
    let is_dir = rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Directory;
    if is_dir && keep_dir {
        return Ok(true);
    }
    if is_dir {
        remove_tree(dir, name)?;
    } else {
        rustix::fs::unlinkat(dir, name, AtFlags::empty())?;
    }
    Ok(false)
}

/// Removes directory `name` in `dir` and everything below, never following
/// a symlink.
fn remove_tree(dir: &OwnedFd, name: &OsStr) -> Result<(), Errno> {
    let sub = rustix::fs::openat(dir, name, DIR_FLAGS | OFlags::NOFOLLOW, Mode::empty())?;
    let mut names = Vec::new();
    {
        let mut rd = rustix::fs::Dir::read_from(&sub)?;
        while let Some(e) = rd.read() {
            let e = e?;
            let n = e.file_name().to_bytes();
            if n == b"." || n == b".." {
                continue;
            }
            names.push((
                std::ffi::OsString::from_vec(n.to_vec()),
                e.file_type() == rustix::fs::FileType::Directory,
            ));
        }
    }
    for (n, is_dir) in names {
        if is_dir {
            remove_tree(&sub, &n)?;
        } else {
            rustix::fs::unlinkat(&sub, &n, AtFlags::empty())?;
        }
    }
    rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR)
}

use std::os::unix::ffi::OsStringExt;

/// `/proc/self/fd/<dir>/<name>`: a path for the few calls that have no
/// `*at` form with no-follow (lsetxattr, chmod of a device node). The
/// final component is never a symlink we did not just create ourselves.
pub fn proc_path(dir: &impl AsFd, name: &OsStr) -> PathBuf {
    let mut p = PathBuf::from(format!("/proc/self/fd/{}", dir.as_fd().as_raw_fd()));
    p.push(name);
    p
}

/// Sets an extended attribute on an open file or directory.
pub fn set_xattr_fd(fd: &impl AsFd, key: &[u8], value: &[u8]) -> Result<(), Errno> {
    let k = CString::new(key).map_err(|_| Errno::INVAL)?;
    rustix::fs::fsetxattr(fd, k.as_c_str(), value, rustix::fs::XattrFlags::empty())
}

/// Sets an extended attribute on `name` in `dir` without following it.
pub fn set_xattr_at(dir: &impl AsFd, name: &OsStr, key: &[u8], value: &[u8]) -> Result<(), Errno> {
    let k = CString::new(key).map_err(|_| Errno::INVAL)?;
    rustix::fs::lsetxattr(
        proc_path(dir, name),
        k.as_c_str(),
        value,
        rustix::fs::XattrFlags::empty(),
    )
}

/// Whether `name` is a single safe path component.
pub fn is_plain_name(name: &OsStr) -> bool {
    let b = name.as_bytes();
    !b.is_empty() && b != b"." && b != b".." && !b.contains(&b'/')
}
