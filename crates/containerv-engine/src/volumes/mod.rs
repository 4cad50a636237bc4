//! Named volumes, docker's `local` driver: a volume is a directory
//! `<root>/volumes/<name>/_data` that outlives the containers mounting it,
//! with its metadata in `<root>/volumes/<name>/meta.json`.
//!
//! Why a directory per volume, made whole and renamed into place: a reader
//! (`volume ls`, another `cv`) sees a volume completely or not at all, and
//! a failed create leaves nothing. Removal is the reverse: rename out of
//! the namespace, then delete. Whether a volume is in use is read from the
//! container records (the truth), under one volumes lock
//! (`<root>/volumes/.lock`) that `create` of a container and `volume rm` /
//! `prune` both take, so a volume cannot vanish between a container's
//! check and its record.
//!
//! - [`mounts`]: `-v` / `--mount` parsing and the record a container keeps.
//! - [`copyup`]: docker's copy-up of the image's content into a new volume.
//! - [`driver`]: mounting a volume's type/device/o options, and their checks.
//! - [`ops`]: the engine operations that need the container store too.
//! - [`options`]: the local driver's `--opt`s (type, device, o, size).

pub mod copyup;
pub mod driver;
pub mod mounts;
mod ops;
pub mod options;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use mounts::VolumeMount;
pub use ops::{mounts_json, remove_anonymous, Prepared, PruneReport};

use crate::error::{Error, Result};
use crate::store::LockGuard;

/// The label docker puts on anonymous volumes.
pub const ANONYMOUS_LABEL: &str = "com.docker.volume.anonymous";

/// A volume's metadata (docker's `volume inspect` names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Volume {
    pub name: String,
    pub driver: String,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// Made for `-v /path` (removed with the container by `rm -v`/`--rm`).
    #[serde(default)]
    pub anonymous: bool,
}

impl Volume {
    /// Whether its options mount something on `_data` (type/device/o).
    pub fn mounts(&self) -> bool {
        self.options.contains_key("type")
    }
}

/// The volumes directory of an engine root.
#[derive(Debug, Clone)]
pub struct VolumeStore {
    dir: PathBuf,
}

/// Checks a volume name: docker's `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub fn validate_name(name: &str) -> Result<()> {
    use crate::store::{docker_name_fault, NameFault};
    let bad = |why: &str| Err(Error::option("volume name", name, why.to_string()));
    let fault = docker_name_fault(name);
    match fault {
        Some(NameFault::Empty) => return bad("empty name"),
        Some(NameFault::Start) => {
            return bad(
                "must start with a letter or digit; only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed \
                 (to bind a host directory, use an absolute path)",
            )
        }
        _ => {}
    }
    if name.len() < 2 {
        return bad("too short (at least two characters)");
    }
    if name.len() > 255 {
        return bad("longer than 255 characters");
    }
    if fault == Some(NameFault::Char) {
        return bad(
            "only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed (to bind a host directory, use an absolute path)",
        );
    }
    Ok(())
}

/// A random 64-hex name (docker's for unnamed volumes).
pub fn random_name() -> Result<String> {
    crate::store::Store::new_id()
}

impl VolumeStore {
    /// The volumes of the engine store at `store_root` (made if missing).
    pub fn open(store_root: &Path) -> Result<Self> {
        let dir = store_root.join("volumes");
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("create", &dir, e))?;
        Ok(VolumeStore { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The engine root this volume store belongs to.
    pub fn store_root(&self) -> &Path {
        self.dir.parent().unwrap_or(&self.dir)
    }

    /// Every directory of the engine with a project id (volume data and
    /// containers' writable layers, being made too): their ids are taken.
    pub fn quota_dirs(&self) -> Vec<PathBuf> {
        crate::storage_opt::quota_dirs(self.store_root())
    }

    /// `<root>/volumes/<name>/_data`: what containers mount.
    pub fn data_dir(&self, name: &str) -> PathBuf {
        self.dir.join(name).join("_data")
    }

    /// The lock serialising "is it in use?" against container creates.
    pub fn lock(&self) -> Result<LockGuard> {
        crate::store::lock_exclusive(&self.dir.join(".lock"))
    }

    /// The volume `name`, if it exists.
    pub fn get(&self, name: &str) -> Result<Option<Volume>> {
        validate_name(name)?;
        let meta = self.dir.join(name).join("meta.json");
        if !meta.exists() {
            return Ok(None);
        }
        crate::store::read_json(&meta).map(Some)
    }

    /// The volume `name` or [`Error::NoSuchVolume`].
    pub fn inspect(&self, name: &str) -> Result<Volume> {
        self.get(name)?
            .ok_or_else(|| Error::NoSuchVolume(name.to_string()))
    }

    /// Every volume, by name.
    pub fn list(&self) -> Result<Vec<Volume>> {
        let rd = std::fs::read_dir(&self.dir).map_err(|e| Error::io("list", &self.dir, e))?;
        let mut v: Vec<Volume> = rd
            .flatten()
            .filter_map(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                if n.starts_with('.') {
                    return None;
                }
                self.get(&n).ok().flatten()
            })
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(v)
    }

    /// Creates volume `name` (driver `local` only). An existing volume is
    /// returned as it is, as docker does; `Ok((volume, created))`.
    pub fn create(
        &self,
        name: &str,
        driver: &str,
        labels: BTreeMap<String, String>,
        anonymous: bool,
    ) -> Result<(Volume, bool)> {
        self.create_with(name, driver, labels, BTreeMap::new(), anonymous)
    }

    /// [`VolumeStore::create`] with the local driver's options (checked
    /// by [`options::VolumeOptions::parse`] first); `size` ties the new
    /// `_data` to a project quota before it is renamed into place.
    pub fn create_with(
        &self,
        name: &str,
        driver: &str,
        labels: BTreeMap<String, String>,
        options: BTreeMap<String, String>,
        anonymous: bool,
    ) -> Result<(Volume, bool)> {
        let parsed = options::VolumeOptions::parse(&options)?;
        validate_name(name)?;
        if driver != "local" {
            return Err(Error::option(
                "--driver",
                driver,
                "unsupported volume driver (only \"local\")",
            ));
        }
        if let Some(v) = self.get(name)? {
            return Ok((v, false));
        }
        let vol = Volume {
            name: name.to_string(),
            driver: driver.to_string(),
            created_at: Utc::now(),
            labels,
            options,
            anonymous,
        };
        let tmp = self
            .dir
            .join(format!(".new-{}", &crate::store::Store::new_id()?[..16]));
        let made = std::fs::create_dir(&tmp)
            .map_err(|e| Error::io("create", &tmp, e))
            .and_then(|_| {
                std::fs::create_dir(tmp.join("_data"))
                    .map_err(|e| Error::io("create", tmp.join("_data"), e))
            })
            .and_then(|_| match parsed.size {
                Some(bytes) => {
                    let _q = crate::store::lock_exclusive(&self.store_root().join("quota.lock"))?;
                    containerv::linux::quota::limit(&tmp.join("_data"), bytes, &self.quota_dirs())
                        .map(|_| ())
                        .map_err(Error::from)
                }
                None => Ok(()),
            })
            .and_then(|_| crate::store::write_json(&tmp.join("meta.json"), &vol))
            .and_then(|_| {
                // rename(2) onto an existing non-empty directory fails:
                // whoever renamed first owns the name.
                std::fs::rename(&tmp, self.dir.join(name))
                    .map_err(|e| Error::io("create volume", self.dir.join(name), e))
            });
        match made {
            Ok(()) => Ok((vol, true)),
            Err(e) => {
                let _ = std::fs::remove_dir_all(&tmp);
                match self.get(name)? {
                    Some(v) => Ok((v, false)), // made by a racing create
                    None => Err(e),
                }
            }
        }
    }

    /// Deletes volume `name` and its data (no in-use check: see
    /// [`crate::Engine::volume_remove`]). Returns the bytes it held.
    pub fn delete(&self, name: &str) -> Result<u64> {
        validate_name(name)?;
        let dir = self.dir.join(name);
        if !dir.join("meta.json").exists() {
            return Err(Error::NoSuchVolume(name.to_string()));
        }
        // Never delete through a mount (a bind's host directory, a device):
        // unmount first, and stop if it stays.
        let data = dir.join("_data");
        if driver::is_mounted(&data) {
            driver::unmount(&data);
            if driver::is_mounted(&data) {
                return Err(Error::io(
                    "remove volume (still mounted)",
                    &data,
                    std::io::Error::from_raw_os_error(libc::EBUSY),
                ));
            }
        }
        let size = if Volume::mounts(&self.inspect(name)?) {
            0
        } else {
            disk_usage(&data)
        };
        // The limit goes with the volume (its data is deleted below).
        if let Err(e) = containerv::linux::quota::release(&dir.join("_data")) {
            tracing::warn!("volume {name}: releasing its quota: {e}");
        }
        let gone = self
            .dir
            .join(format!(".rm-{}", &crate::store::Store::new_id()?[..16]));
        std::fs::rename(&dir, &gone).map_err(|e| Error::io("remove volume", &dir, e))?;
        crate::events::volume(self.store_root(), name, "destroy", &[]);
        std::fs::remove_dir_all(&gone).map_err(|e| Error::io("remove volume", &gone, e))?;
        Ok(size)
    }
}

/// Docker's `volume mount` events of a container starting (one per
/// volume it mounts, named or anonymous; binds have none), with the
/// attributes docker gives them.
pub fn mounted(root: &Path, config: &crate::record::ContainerConfig) {
    for v in &config.volumes {
        crate::events::volume(
            root,
            &v.name,
            "mount",
            &[
                ("container", config.id.clone()),
                ("destination", v.destination.clone()),
                ("propagation", String::new()),
                ("read/write", (!v.read_only).to_string()),
            ],
        );
    }
}

/// Docker's `volume unmount` events of a container that stopped.
pub fn unmounted(root: &Path, config: &crate::record::ContainerConfig) {
    for v in &config.volumes {
        crate::events::volume(
            root,
            &v.name,
            "unmount",
            &[("container", config.id.clone())],
        );
    }
}

/// Bytes in regular files under `p` (not following symlinks).
pub fn disk_usage(p: &Path) -> u64 {
    let Ok(md) = std::fs::symlink_metadata(p) else {
        return 0;
    };
    if md.is_dir() {
        std::fs::read_dir(p)
            .map(|rd| rd.flatten().map(|e| disk_usage(&e.path())).sum())
            .unwrap_or(0)
    } else if md.is_file() {
        md.len()
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_docker() {
        for ok in ["ab", "data", "my_vol-1.x", "0a"] {
            validate_name(ok).unwrap();
        }
        for bad in ["", "a", "-x", ".x", "a/b", "../x", "has space", "x:y"] {
            let e = validate_name(bad).unwrap_err().to_string();
            assert!(e.contains("volume name"), "{bad}: {e}");
        }
    }

    #[test]
    fn create_is_atomic_idempotent_and_delete_leaves_nothing() {
        let root = tempfile::tempdir().unwrap();
        let s = VolumeStore::open(root.path()).unwrap();
        let mut l = BTreeMap::new();
        l.insert("k".to_string(), "v".to_string());
        let (v, made) = s.create("data", "local", l.clone(), false).unwrap();
        assert!(made);
        assert_eq!(v.labels, l);
        assert!(s.data_dir("data").is_dir());
        let (again, made) = s.create("data", "local", BTreeMap::new(), false).unwrap();
        assert!(!made);
        assert_eq!(again, v);
        std::fs::write(s.data_dir("data").join("f"), b"12345").unwrap();
        assert_eq!(s.list().unwrap().len(), 1);
        assert_eq!(s.delete("data").unwrap(), 5);
        assert!(matches!(s.delete("data"), Err(Error::NoSuchVolume(_))));
        let left: Vec<_> = std::fs::read_dir(s.dir())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn bad_driver_and_names_create_nothing() {
        let root = tempfile::tempdir().unwrap();
        let s = VolumeStore::open(root.path()).unwrap();
        let e = s.create("data", "nfs", BTreeMap::new(), false).unwrap_err();
        assert!(e.to_string().contains("--driver"), "{e}");
        assert!(s.create("../x", "local", BTreeMap::new(), false).is_err());
        assert_eq!(std::fs::read_dir(s.dir()).unwrap().count(), 0);
    }

    #[test]
    fn racing_creates_of_one_name_agree() {
        let root = tempfile::tempdir().unwrap();
        let s = VolumeStore::open(root.path()).unwrap();
        let made: usize = (0..6)
            .map(|_| {
                let s = s.clone();
                std::thread::spawn(move || s.create("race", "local", BTreeMap::new(), false))
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| t.join().unwrap().unwrap().1 as usize)
            .sum();
        assert_eq!(made, 1);
        assert_eq!(std::fs::read_dir(s.dir()).unwrap().count(), 1);
    }
}
