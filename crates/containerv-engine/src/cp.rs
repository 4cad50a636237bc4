//! `cv cp`, as docker: into and out of a container in any state (see
//! `rootfs_access.rs`), and `-` for a tar stream on either side. Every
//! path inside the container goes through the core's copy, which
//! resolves it inside the container's root: a symlink in the container
//! (even one naming a host path) never leads out.
//!
//! A tar stream is unpacked into a private temporary directory first (the
//! `tar` crate refuses entries that would land outside it) and then
//! uploaded entry by entry; going out, the copy lands in a temporary
//! directory and is archived from there (symlinks stored as symlinks).

use std::io::{Read, Write};
use std::path::Path;

use crate::engine::Engine;
use crate::error::{Error, Result};

impl Engine {
    /// Host file or directory `host_src` into `dest` in the container.
    pub fn copy_in(&self, reference: &str, host_src: &Path, dest: &Path) -> Result<()> {
        self.with_root(reference, true, |root| {
            Ok(containerv::linux::upload_into_root(root, host_src, dest)?)
        })
    }

    /// `src` in the container to `host_dest`.
    pub fn copy_out(&self, reference: &str, src: &Path, host_dest: &Path) -> Result<()> {
        self.with_root(reference, false, |root| {
            Ok(containerv::linux::download_from_root(root, src, host_dest)?)
        })
    }

    /// A tar stream from `input` unpacked into directory `dest` of the
    /// container (which must exist, as docker requires).
    pub fn copy_in_tar(&self, reference: &str, input: impl Read, dest: &Path) -> Result<()> {
        let tmp = tempfile::tempdir().map_err(|e| Error::sys("make a temporary directory", e))?;
        let mut a = tar::Archive::new(input);
        a.set_preserve_permissions(true);
        a.set_preserve_ownerships(true);
        a.set_overwrite(true);
        a.unpack(tmp.path())
            .map_err(|e| Error::option("cp", "-", format!("bad tar stream: {e}")))?;
        let mut entries: Vec<_> = std::fs::read_dir(tmp.path())
            .map_err(|e| Error::io("read", tmp.path(), e))?
            .flatten()
            .map(|e| e.path())
            .collect();
        entries.sort();
        self.with_root(reference, true, |root| {
            if !containerv::linux::is_dir_in_root(root, dest)? {
                return Err(Error::option(
                    "cp",
                    dest.display().to_string(),
                    "the destination of a tar stream must be a directory in the container",
                ));
            }
            for e in &entries {
                containerv::linux::upload_into_root(root, e, dest)?;
            }
            Ok(())
        })
    }

    /// `src` in the container as a tar stream on `out` (its last
    /// component as the top entry, as docker writes it).
    pub fn copy_out_tar(&self, reference: &str, src: &Path, out: impl Write) -> Result<()> {
        let tmp = tempfile::tempdir().map_err(|e| Error::sys("make a temporary directory", e))?;
        let name = src
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_else(|| ".".into());
        let staged = tmp.path().join("out");
        self.with_root(reference, false, |root| {
            Ok(containerv::linux::download_from_root(root, src, &staged)?)
        })?;
        let io = |e: std::io::Error| Error::sys("write the tar stream", e);
        let mut b = tar::Builder::new(out);
        b.follow_symlinks(false);
        b.mode(tar::HeaderMode::Complete);
        if std::fs::symlink_metadata(&staged)
            .map_err(|e| Error::io("stat", &staged, e))?
            .is_dir()
        {
            b.append_dir_all(&name, &staged).map_err(io)?;
        } else {
            b.append_path_with_name(&staged, &name).map_err(io)?;
        }
        b.into_inner().map_err(io)?.flush().map_err(io)
    }
}
