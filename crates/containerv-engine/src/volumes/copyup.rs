//! Docker's copy-up: a new (empty) volume mounted at a path where the image
//! has a directory starts with a copy of that directory, owners and modes
//! kept, so `-v data:/var/lib/app` sees what the image put there.
//!
//! The source is the image's merged view, computed from the unpacked layers
//! as overlayfs would (whiteouts are 0/0 character devices, opaque
//! directories carry `trusted.overlay.opaque=y`), without mounting
//! anything on the host. Regular files, directories and symlinks are
//! copied (symlinks as links, never followed); device nodes, fifos and
//! sockets are skipped. A path that goes through a symlink in the image is
//! not followed (nothing is copied then; a known gap).

use std::collections::BTreeSet;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

fn is_whiteout(md: &std::fs::Metadata) -> bool {
    md.file_type().is_char_device() && md.rdev() == 0
}

fn is_opaque(p: &Path) -> bool {
    let Ok(c) = CString::new(p.as_os_str().as_bytes()) else {
        return false;
    };
    let mut buf = [0u8; 4];
    // SAFETY: lgetxattr into a buffer of the length we pass.
    let n = unsafe {
        libc::lgetxattr(
            c.as_ptr(),
            c"trusted.overlay.opaque".as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    n == 1 && buf[0] == b'y'
}

/// The directories that make up `path` in the merged view of `layers`
/// (lowest first), topmost first; empty if the image has no directory
/// there.
pub fn sources(layers: &[PathBuf], path: &str) -> Vec<PathBuf> {
    let comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    let mut out = Vec::new();
    'layers: for layer in layers.iter().rev() {
        let mut p = layer.clone();
        for (i, c) in comps.iter().enumerate() {
            p.push(c);
            let Ok(md) = std::fs::symlink_metadata(&p) else {
                continue 'layers; // not in this layer: look lower
            };
            if !md.is_dir() {
                // A file, link or whiteout hides everything below.
                break 'layers;
            }
            if is_opaque(&p) {
                if i + 1 == comps.len() {
                    out.push(p);
                }
                break 'layers;
            }
        }
        out.push(p);
    }
    out
}

/// Copies the merged content of `path` in `layers` into `dest` (an
/// existing, empty directory), which takes the image directory's owner and
/// mode. Returns false when the image has no directory there.
pub fn copy_up(layers: &[PathBuf], path: &str, dest: &Path) -> Result<bool> {
    let srcs = sources(layers, path);
    let Some(top) = srcs.first() else {
        return Ok(false);
    };
    let md = std::fs::symlink_metadata(top).map_err(|e| Error::io("stat", top, e))?;
    merge_dir(&srcs, dest)?;
    set_owner_mode(dest, &md)?;
    Ok(true)
}

fn set_owner_mode(p: &Path, md: &std::fs::Metadata) -> Result<()> {
    std::os::unix::fs::lchown(p, Some(md.uid()), Some(md.gid()))
        .map_err(|e| Error::io("chown", p, e))?;
    if !md.file_type().is_symlink() {
        // After chown, which clears set-id bits.
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(md.mode() & 0o7777))
            .map_err(|e| Error::io("chmod", p, e))?;
    }
    Ok(())
}

/// Fills `dest` with the union of `dirs` (topmost first).
fn merge_dir(dirs: &[PathBuf], dest: &Path) -> Result<()> {
    let mut names = BTreeSet::new();
    for d in dirs {
        let rd = std::fs::read_dir(d).map_err(|e| Error::io("read", d, e))?;
        for e in rd.flatten() {
            names.insert(e.file_name());
        }
    }
    for name in names {
        // The topmost layer that has the name decides what it is.
        let mut sub: Vec<PathBuf> = Vec::new();
        let mut leaf: Option<(PathBuf, std::fs::Metadata)> = None;
        for d in dirs {
            let p = d.join(&name);
            let Ok(md) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            if is_whiteout(&md) {
                break;
            }
            if md.is_dir() {
                let opaque = is_opaque(&p);
                sub.push(p);
                if opaque {
                    break;
                }
            } else {
                if sub.is_empty() {
                    leaf = Some((p, md));
                }
                break; // a non-directory hides lower layers
            }
        }
        let target = dest.join(&name);
        if let Some(top) = sub.first() {
            let md = std::fs::symlink_metadata(top).map_err(|e| Error::io("stat", top, e))?;
            std::fs::create_dir(&target).map_err(|e| Error::io("create", &target, e))?;
            merge_dir(&sub, &target)?;
            set_owner_mode(&target, &md)?;
        } else if let Some((src, md)) = leaf {
            let ft = md.file_type();
            if ft.is_symlink() {
                let t = std::fs::read_link(&src).map_err(|e| Error::io("readlink", &src, e))?;
                std::os::unix::fs::symlink(&t, &target)
                    .map_err(|e| Error::io("symlink", &target, e))?;
            } else if ft.is_file() {
                std::fs::copy(&src, &target).map_err(|e| Error::io("copy", &src, e))?;
            } else {
                continue; // devices, fifos, sockets
            }
            set_owner_mode(&target, &md)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn whiteout(p: &Path) {
        nix::sys::stat::mknod(
            p,
            nix::sys::stat::SFlag::S_IFCHR,
            nix::sys::stat::Mode::empty(),
            0,
        )
        .unwrap();
    }

    #[test]
    fn merges_layers_like_overlayfs_keeping_owner_and_mode() {
        containerv_testutil::require_root(); // whiteouts, chown
        let t = tempfile::tempdir().unwrap();
        let (low, up) = (t.path().join("low"), t.path().join("up"));
        std::fs::create_dir_all(low.join("app/sub")).unwrap();
        std::fs::create_dir_all(up.join("app")).unwrap();
        std::fs::write(low.join("app/old"), "low").unwrap();
        std::fs::write(low.join("app/gone"), "x").unwrap();
        std::fs::write(low.join("app/sub/f"), "deep").unwrap();
        std::fs::write(up.join("app/old"), "up").unwrap();
        whiteout(&up.join("app/gone"));
        symlink("old", up.join("app/link")).unwrap();
        std::os::unix::fs::chown(up.join("app/old"), Some(1234), Some(5678)).unwrap();
        std::fs::set_permissions(up.join("app/old"), PermissionsExt::from_mode(0o4751)).unwrap();
        std::os::unix::fs::chown(up.join("app"), Some(7), Some(8)).unwrap();
        std::fs::set_permissions(up.join("app"), PermissionsExt::from_mode(0o1777)).unwrap();

        let dest = t.path().join("dest");
        std::fs::create_dir(&dest).unwrap();
        assert!(copy_up(&[low.clone(), up.clone()], "/app", &dest).unwrap());
        assert_eq!(std::fs::read_to_string(dest.join("old")).unwrap(), "up");
        assert_eq!(std::fs::read_to_string(dest.join("sub/f")).unwrap(), "deep");
        assert!(!dest.join("gone").exists());
        assert_eq!(
            std::fs::read_link(dest.join("link")).unwrap(),
            Path::new("old")
        );
        let md = std::fs::metadata(dest.join("old")).unwrap();
        assert_eq!(
            (md.uid(), md.gid(), md.mode() & 0o7777),
            (1234, 5678, 0o4751)
        );
        let md = std::fs::metadata(&dest).unwrap();
        assert_eq!((md.uid(), md.gid(), md.mode() & 0o7777), (7, 8, 0o1777));

        // A whiteout of the directory itself, or no such path: nothing.
        whiteout(&up.join("gone2"));
        std::fs::create_dir(low.join("gone2")).unwrap();
        assert!(sources(&[low.clone(), up.clone()], "/gone2").is_empty());
        assert!(sources(&[low, up], "/nope").is_empty());
    }
}
