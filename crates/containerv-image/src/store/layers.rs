//! Unpacked layers: one directory per layer under `layers/sha256/<hex>`,
//! keyed by the layer's diff-id (the digest of its uncompressed tar), so a
//! layer shared by several images is unpacked once. A layer is unpacked
//! into `layers/tmp/…` and renamed into place when complete: a directory
//! under `layers/sha256` is always a whole layer. These directories are
//! the `lower` dirs of a container's overlayfs.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::digest::Digest;
use crate::error::{Error, IoContext, Result};
use crate::unpack::{unpack_layer, UnpackLimits};

/// The unpacked-layer part of the store.
#[derive(Clone, Debug)]
pub struct LayerStore {
    dir: PathBuf,
    tmp: PathBuf,
}

impl LayerStore {
    pub fn open(root: &Path) -> Result<Self> {
        let dir = root.join("layers/sha256");
        let tmp = root.join("layers/tmp");
        for d in [&dir, &tmp] {
            std::fs::create_dir_all(d).ctx("create directory", d)?;
        }
        // Layer contents (device nodes, setuid files) are for containers
        // only: keep other users out.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(root.join("layers"), std::fs::Permissions::from_mode(0o700))
            .ctx("chmod", root.join("layers"))?;
        Ok(LayerStore { dir, tmp })
    }

    /// Where the layer with diff-id `d` is (or would be) unpacked.
    pub fn path(&self, diff_id: &Digest) -> PathBuf {
        self.dir.join(diff_id.hex())
    }

    /// The temporary directory of unpacks in progress.
    pub fn tmp_dir(&self) -> &Path {
        &self.tmp
    }

    /// Whether the layer is unpacked.
    pub fn contains(&self, diff_id: &Digest) -> bool {
        self.path(diff_id).is_dir()
    }

    /// Unpacks blob file `blob` (gzip, zstd or plain tar) whose
    /// uncompressed content must hash to `diff_id`, unless already done.
    pub fn ensure(&self, blob: &Path, diff_id: &Digest, limits: &UnpackLimits) -> Result<PathBuf> {
        let dest = self.path(diff_id);
        if dest.is_dir() {
            return Ok(dest);
        }
        static N: AtomicU64 = AtomicU64::new(0);
        let tmp = self.tmp.join(format!(
            "{}-{}-{}",
            diff_id.hex(),
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir(&tmp).ctx("create directory", &tmp)?;
        let result = (|| {
            let f = std::fs::File::open(blob).ctx("open blob", blob)?;
            let got = unpack_layer(f, &tmp, diff_id.short(), limits)?;
            if got != *diff_id {
                return Err(Error::DigestMismatch {
                    what: format!("uncompressed layer {}", blob.display()),
                    expected: diff_id.to_string(),
                    actual: got.to_string(),
                });
            }
            Ok(())
        })();
        if let Err(e) = result {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
        match std::fs::rename(&tmp, &dest) {
            Ok(()) => Ok(dest),
            // Another process unpacked the same layer first: keep theirs.
            Err(_) if dest.is_dir() => {
                let _ = std::fs::remove_dir_all(&tmp);
                Ok(dest)
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(&tmp);
                Err(Error::io("rename into place", dest, e))
            }
        }
    }

    /// Every unpacked layer's diff-id.
    pub fn list(&self) -> Result<Vec<Digest>> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(&self.dir).ctx("read directory", &self.dir)? {
            let e = e.ctx("read directory", &self.dir)?;
            if let Ok(d) = Digest::parse(&format!("sha256:{}", e.file_name().to_string_lossy())) {
                out.push(d);
            }
        }
        Ok(out)
    }

    /// Removes an unpacked layer: renamed away first so a half-removed
    /// layer is never seen under its name.
    pub fn remove(&self, diff_id: &Digest) -> Result<()> {
        let p = self.path(diff_id);
        if !p.exists() {
            return Ok(());
        }
        let doomed = self
            .tmp
            .join(format!("rm-{}-{}", diff_id.hex(), std::process::id()));
        std::fs::rename(&p, &doomed).ctx("rename for removal", &p)?;
        std::fs::remove_dir_all(&doomed).ctx("remove layer", &doomed)
    }
}

/// Disk usage of a directory tree in bytes (allocated blocks, not apparent
/// size, so sparse files count for what they take), not following
/// symlinks, not crossing into other filesystems' mounts.
pub fn disk_usage(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(md) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    let mut total = md.blocks() * 512;
    if md.is_dir() {
        if let Ok(rd) = std::fs::read_dir(path) {
            for e in rd.flatten() {
                total += disk_usage(&e.path());
            }
        }
    }
    total
}
