//! The reference index: which images the store holds (by manifest digest)
//! and which names point at them (`registry/repo:tag` → manifest digest).
//! One small JSON file, `images.json`, rewritten whole on every change:
//! written to a temporary file, fsynced, renamed over the old one and the
//! directory fsynced, under an exclusive flock so concurrent changes do not
//! lose each other. A crash mid-write leaves the old file intact.
//!
//! Holds for this boot only (`holds/<holder>`, see
//! [`MetaStore::hold_for_boot`]) live beside it, one small file each,
//! written without fsync: a container that cannot outlive the boot (the
//! engine's `--rm`) holds its image for as long as it can run, for the
//! price of a rename instead of four journal commits, and nothing a power
//! loss leaves of such a file (torn, or a release that never reached the
//! disk) holds anything in the next boot.

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
    /// Holds of this boot (`holds/<holder>` files, see
    /// [`MetaStore::hold_for_boot`]): holder → manifest digest. Read with
    /// the index, never written into it.
    #[serde(skip)]
    pub boot_holds: BTreeMap<String, String>,
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
            .chain(&self.boot_holds)
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
    /// `holds/`: the holds of this boot.
    boot_holds: PathBuf,
}

/// This boot's id (`/proc/sys/kernel/random/boot_id`; "" if unknown).
fn boot_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    })
}

impl MetaStore {
    pub fn open(root: &Path) -> Self {
        MetaStore {
            path: root.join("images.json"),
            lock: root.join("images.lock"),
            dir: root.to_path_buf(),
            boot_holds: root.join("holds"),
        }
    }

    /// The current index (empty if none was written yet), with the
    /// holds of this boot.
    pub fn load(&self) -> Result<Meta> {
        let mut m: Meta = match std::fs::read(&self.path) {
            Ok(b) => serde_json::from_slice(&b)
                .map_err(|e| Error::invalid(self.path.display().to_string(), e))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Meta {
                version: 1,
                ..Meta::default()
            },
            Err(e) => return Err(Error::io("read", &self.path, e)),
        };
        m.boot_holds = self.boot_holds();
        Ok(m)
    }

    /// The holds of this boot: files of another boot, torn ones (a power
    /// loss) and temporaries are no holds.
    fn boot_holds(&self) -> BTreeMap<String, String> {
        let Ok(rd) = std::fs::read_dir(&self.boot_holds) else {
            return BTreeMap::new();
        };
        let now = boot_id();
        rd.flatten()
            .filter_map(|e| {
                let holder = e.file_name().into_string().ok()?;
                if holder.starts_with('.') || now.is_empty() {
                    return None;
                }
                let text = std::fs::read_to_string(e.path()).ok()?;
                let (boot, digest) = text.trim_end().split_once(' ')?;
                (boot == now && digest.starts_with("sha256:")).then(|| (holder, digest.to_string()))
            })
            .collect()
    }

    /// Runs `f` on the index under the lock, writing nothing back.
    pub fn with_locked<T>(&self, f: impl FnOnce(&Meta) -> Result<T>) -> Result<T> {
        let _g = StoreLock::acquire(&self.lock, true)?;
        f(&self.load()?)
    }

    /// Records that `holder` uses `digest` for this boot only: a file
    /// `holds/<holder>` ("<boot id> <digest>"), replaced by rename and
    /// never fsynced (see the module docs). Call it under the lock
    /// ([`MetaStore::with_locked`]) so a prune sees it or runs first.
    pub fn hold_for_boot(&self, holder: &str, digest: &str) -> Result<()> {
        let now = boot_id();
        if now.is_empty() {
            return Err(Error::invalid(
                "/proc/sys/kernel/random/boot_id",
                "unreadable: no hold for this boot can be told from an old one",
            ));
        }
        std::fs::create_dir_all(&self.boot_holds).ctx("create", &self.boot_holds)?;
        let path = self.boot_holds.join(holder);
        let tmp = self
            .boot_holds
            .join(format!(".{holder}.tmp-{}", std::process::id()));
        std::fs::write(&tmp, format!("{now} {digest}\n")).ctx("write", &tmp)?;
        std::fs::rename(&tmp, &path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Error::io("rename into place", &path, e)
        })
    }

    /// Drops `holder`'s hold of this boot; true if it had one.
    pub fn release_boot_hold(&self, holder: &str) -> Result<bool> {
        let path = self.boot_holds.join(holder);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io("remove", &path, e)),
        }
    }

    /// Removes the hold files that hold nothing any more (another
    /// boot's, torn ones, temporaries of a killed writer). Call it under
    /// the lock.
    pub fn drop_stale_boot_holds(&self) {
        let live = self.boot_holds();
        let Ok(rd) = std::fs::read_dir(&self.boot_holds) else {
            return;
        };
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            let young_tmp = n.starts_with('.')
                && e.metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age.as_secs() < 60);
            if !live.contains_key(&n) && !young_tmp {
                let _ = std::fs::remove_file(e.path());
            }
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
