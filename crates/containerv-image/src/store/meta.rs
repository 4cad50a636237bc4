//! The reference index: which images the store holds (by manifest digest)
//! and which names point at them (`registry/repo:tag` → manifest digest).
//! One small JSON file, `images.json`, rewritten whole on every change:
//! written to a temporary file, fsynced, renamed over the old one and the
//! directory fsynced, under an exclusive flock so concurrent changes do not
//! lose each other. A crash mid-write leaves the old file intact.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::blobs::fsync_dir;
use super::lock::StoreLock;
use crate::error::{Error, IoContext, Result};

/// One image the store holds.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ImageRecord {
    /// Media type of the manifest.
    pub media_type: String,
    /// The config blob digest (docker's image id).
    pub config: String,
    /// The repository it was last named in (for `<none>` listings).
    #[serde(default)]
    pub repository: String,
    /// RFC 3339 time it entered the store.
    #[serde(default)]
    pub added: String,
}

/// The whole index.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Meta {
    #[serde(default)]
    pub version: u32,
    /// manifest digest → record.
    #[serde(default)]
    pub images: BTreeMap<String, ImageRecord>,
    /// full reference (`registry/repo:tag` or `registry/repo@digest`) →
    /// manifest digest.
    #[serde(default)]
    pub refs: BTreeMap<String, String>,
    /// holder (a container id) → manifest digest of the image it uses.
    /// A held image is never pruned, and `rmi` refuses it unless forced
    /// (then it is untagged but kept until released).
    #[serde(default)]
    pub holds: BTreeMap<String, String>,
}

impl Meta {
    /// The references that point at manifest `digest`.
    pub fn refs_of(&self, digest: &str) -> Vec<String> {
        self.refs
            .iter()
            .filter(|(_, d)| d.as_str() == digest)
            .map(|(r, _)| r.clone())
            .collect()
    }

    /// The holders (containers) that use manifest `digest`.
    pub fn holders_of(&self, digest: &str) -> Vec<String> {
        self.holds
            .iter()
            .filter(|(_, d)| d.as_str() == digest)
            .map(|(h, _)| h.clone())
            .collect()
    }
}

/// Reads and updates `images.json`.
#[derive(Clone, Debug)]
pub struct MetaStore {
    path: PathBuf,
    lock: PathBuf,
    dir: PathBuf,
}

impl MetaStore {
    pub fn open(root: &Path) -> Self {
        MetaStore {
            path: root.join("images.json"),
            lock: root.join("images.lock"),
            dir: root.to_path_buf(),
        }
    }

    /// The current index (empty if none was written yet).
    pub fn load(&self) -> Result<Meta> {
        match std::fs::read(&self.path) {
            Ok(b) => serde_json::from_slice(&b)
                .map_err(|e| Error::invalid(self.path.display().to_string(), e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Meta {
                version: 1,
                ..Meta::default()
            }),
            Err(e) => Err(Error::io("read", &self.path, e)),
        }
    }

    /// Applies `f` to the index under the lock and writes it back
    /// atomically. `f`'s result is returned; on error nothing is written.
    pub fn update<T>(&self, f: impl FnOnce(&mut Meta) -> Result<T>) -> Result<T> {
        let _g = StoreLock::acquire(&self.lock, true)?;
        let mut m = self.load()?;
        let out = f(&mut m)?;
        m.version = 1;
        self.write(&m)?;
        Ok(out)
    }

    fn write(&self, m: &Meta) -> Result<()> {
        let tmp = self
            .dir
            .join(format!("images.json.tmp-{}", std::process::id()));
        let data = serde_json::to_vec_pretty(m).map_err(|e| Error::invalid("index", e))?;
        let mut f = std::fs::File::create(&tmp).ctx("create", &tmp)?;
        f.write_all(&data).ctx("write", &tmp)?;
        f.sync_all().ctx("fsync", &tmp)?;
        drop(f);
        std::fs::rename(&tmp, &self.path).ctx("rename into place", &self.path)?;
        fsync_dir(&self.dir)
    }
}
