//! The volume operations that need the container records too: is a volume
//! in use (and by whom), `volume rm` / `prune`, preparing a new
//! container's volumes (made on first use, copy-up), and removing a
//! container's anonymous volumes with it.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{copyup, Volume, VolumeStore, ANONYMOUS_LABEL};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::record::ContainerConfig;
use crate::store::{LockGuard, Store};

/// What `volume prune` removed.
#[derive(Debug, Default)]
pub struct PruneReport {
    pub removed: Vec<String>,
    /// Bytes of the removed volumes' data.
    pub reclaimed: u64,
}

/// A new container's volumes, ready; the volumes lock is held until the
/// container's record exists (then drop it), or [`Prepared::undo`].
pub struct Prepared {
    _lock: Option<LockGuard>,
    store: Option<VolumeStore>,
    created: Vec<String>,
}

impl Prepared {
    /// Removes the volumes this preparation made (the create failed).
    pub fn undo(self) {
        if let Some(s) = &self.store {
            for n in &self.created {
                let _ = s.delete(n);
            }
        }
    }
}

/// Names of the containers (in any state) of `store` that mount `volume`.
/// Fails when a container's config cannot be read: it might be a user
/// (fail safe: the volume is kept).
fn users(store: &Store, volume: &str) -> Result<Vec<String>> {
    let scan = store.scan()?;
    scan.require_configs(&format!("volume {volume:?}"))?;
    let names = scan
        .configs()
        .filter(|c| c.volumes.iter().any(|v| v.name == volume))
        .map(|c| c.name.clone())
        .collect();
    Ok(names)
}

/// Removes the anonymous volumes of `config` that no other container
/// uses (after the container's record is gone). Called by `rm -v` and by
/// the monitor for `--rm`.
pub fn remove_anonymous(store: &Store, config: &ContainerConfig) {
    if !config.volumes.iter().any(|v| v.anonymous) {
        return;
    }
    let Ok(vols) = VolumeStore::open(store.root()) else {
        return;
    };
    let Ok(_g) = vols.lock() else { return };
    for v in config.volumes.iter().filter(|v| v.anonymous) {
        if users(store, &v.name).is_ok_and(|u| u.is_empty()) {
            let _ = vols.delete(&v.name);
        }
    }
}

impl Engine {
    pub fn volumes(&self) -> Result<VolumeStore> {
        VolumeStore::open(self.store.root())
    }

    /// Names of the containers that mount volume `name`.
    pub fn volume_users(&self, name: &str) -> Result<Vec<String>> {
        users(&self.store, name)
    }

    /// `cv volume create [NAME]`: a random 64-hex name when `None`;
    /// `opts` (`--opt K=V`) over the engine file's `default-opts`.
    pub fn volume_create(
        &self,
        name: Option<&str>,
        driver: &str,
        labels: &[String],
        opts: &[String],
    ) -> Result<Volume> {
        let o = self.volume_options(super::options::from_flags("--opt", opts)?)?;
        let mut l = BTreeMap::new();
        for kv in labels {
            let (k, v) = kv.split_once('=').unwrap_or((kv.as_str(), ""));
            if k.is_empty() {
                return Err(Error::option("--label", kv.as_str(), "empty key"));
            }
            l.insert(k.to_string(), v.to_string());
        }
        let name = match name {
            Some(n) => n.to_string(),
            None => super::random_name()?,
        };
        let v = self.volumes()?.create_with(&name, driver, l, o, false)?.0;
        // Docker says `create` for a volume that existed too.
        crate::events::volume(self.store.root(), &v.name, "create", &[]);
        Ok(v)
    }

    /// A new volume's options: `opts` over the engine file's
    /// `default-opts`, checked, and a size refused where the kernel cannot
    /// enforce it (the error says what the filesystem lacks).
    pub fn volume_options(
        &self,
        opts: BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>> {
        let mut o = self.config.volumes.default_opts.clone();
        o.extend(opts);
        let parsed = super::options::VolumeOptions::parse(&o)?;
        if let Some(plan) = super::driver::plan(&parsed)? {
            super::driver::check(&plan, &[self.store.root(), self.image_root()])?;
        }
        if parsed.size.is_some() {
            let vols = self.volumes()?;
            containerv::linux::quota::supported(vols.dir())
                .map_err(|why| Error::option("--opt size", o["size"].as_str(), why))?;
        }
        Ok(o)
    }

    /// `cv volume rm`: refused while a container uses it (naming them);
    /// `force` only makes a missing volume not an error.
    pub fn volume_remove(&self, name: &str, force: bool) -> Result<()> {
        let vols = self.volumes()?;
        let _g = vols.lock()?;
        if vols.get(name)?.is_none() {
            return if force {
                Ok(())
            } else {
                Err(Error::NoSuchVolume(name.to_string()))
            };
        }
        let users = self.volume_users(name)?;
        if !users.is_empty() {
            return Err(Error::VolumeInUse {
                name: name.to_string(),
                containers: users.join(", "),
            });
        }
        vols.delete(name).map(|_| ())
    }

    /// `cv volume prune`: removes the anonymous volumes no container uses
    /// (docker 23+); `all`: every unused volume, named ones too.
    pub fn volume_prune(&self, all: bool) -> Result<PruneReport> {
        let vols = self.volumes()?;
        let _g = vols.lock()?;
        let scan = self.store.scan()?;
        scan.require_configs("any volume")?;
        let used: std::collections::BTreeSet<String> = scan
            .configs()
            .flat_map(|c| c.volumes.iter().map(|v| v.name.clone()))
            .collect();
        let mut r = PruneReport::default();
        for v in vols.list()? {
            if !used.contains(&v.name) && (all || v.anonymous) {
                r.reclaimed += vols.delete(&v.name)?;
                r.removed.push(v.name);
            }
        }
        // docker's `volume prune` event: no actor, the bytes reclaimed.
        crate::events::other(
            self.store.root(),
            "volume",
            "prune",
            "",
            &[("reclaimed", r.reclaimed.to_string())],
        );
        Ok(r)
    }

    /// Makes the volumes `config` mounts (missing named ones, anonymous
    /// ones), fills in their paths, and copies the image's content into
    /// each empty one (docker's copy-up, unless `nocopy`).
    pub fn prepare_volumes(&self, config: &mut ContainerConfig) -> Result<Prepared> {
        if config.volumes.is_empty() {
            return Ok(Prepared {
                _lock: None,
                store: None,
                created: vec![],
            });
        }
        let vols = self.volumes()?;
        let lock = vols.lock()?;
        let mut p = Prepared {
            _lock: None,
            store: Some(vols.clone()),
            created: vec![],
        };
        let r = (|| {
            for v in config.volumes.iter_mut() {
                let mut labels = BTreeMap::new();
                if v.anonymous {
                    labels.insert(ANONYMOUS_LABEL.to_string(), String::new());
                }
                let made = match vols.get(&v.name)? {
                    Some(_) => false,
                    None => {
                        let o = self.volume_options(v.options.clone())?;
                        vols.create_with(&v.name, "local", labels, o, v.anonymous)?
                            .1
                    }
                };
                if made {
                    p.created.push(v.name.clone());
                }
                // Docker's `create` for every volume a new container
                // names, made now or not.
                crate::events::volume(self.store.root(), &v.name, "create", &[]);
                v.source = vols.data_dir(&v.name);
                // A volume with mount options is mounted at start: its
                // content is the device's (no copy-up into what it hides).
                if vols.get(&v.name)?.is_some_and(|x| x.mounts()) {
                    continue;
                }
                let empty = std::fs::read_dir(&v.source)
                    .map_err(|e| Error::io("read", &v.source, e))?
                    .next()
                    .is_none();
                if empty && !v.nocopy {
                    copyup::copy_up(&config.layers, &v.destination, &v.source)?;
                }
                // Under a user-namespace remap, what this create made is
                // the container's: owned by its mapped ids, as docker's
                // volumes of a remapped root are.
                if let Some(m) = &config.security.userns_remap {
                    if made || empty {
                        m.shift_tree(&v.source)?;
                    }
                }
            }
            Ok(())
        })();
        match r {
            Ok(()) => {
                p._lock = Some(lock);
                Ok(p)
            }
            Err(e) => {
                drop(lock);
                p.undo();
                Err(e)
            }
        }
    }

    /// `cv rm [-v]`: removes the container; with `volumes`, its anonymous
    /// volumes too (named volumes always stay, as in docker).
    pub fn remove_with_volumes(
        &self,
        reference: &str,
        force: bool,
        volumes: bool,
    ) -> Result<String> {
        let id = self.store.resolve(reference)?;
        let config = self.store.load_config(&id).ok();
        let id = self.remove(&id, force)?;
        if let (true, Some(c)) = (volumes, config) {
            remove_anonymous(&self.store, &c);
        }
        Ok(id)
    }
}

/// docker's `Mounts` of `inspect`: binds and volumes, in mount order.
pub fn mounts_json(c: &ContainerConfig) -> Value {
    let mut v: Vec<Value> = c
        .binds
        .iter()
        .map(|b| {
            json!({
                "Type": "bind",
                "Source": b.source,
                "Destination": b.destination,
                "Mode": if b.read_only { "ro" } else { "" },
                "RW": !b.read_only,
                "Propagation": "rprivate",
            })
        })
        .collect();
    v.extend(c.volumes.iter().map(|m| {
        json!({
            "Type": "volume",
            "Name": m.name,
            "Source": m.source,
            "Destination": m.destination,
            "Driver": "local",
            "Mode": if m.read_only { "ro" } else { "z" },
            "RW": !m.read_only,
            "Propagation": "",
        })
    }));
    Value::Array(v)
}
