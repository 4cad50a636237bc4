//! The engine's state store: one directory per container under
//! `<root>/containers/<id>/` (config.json, state.json, lock, logs), names
//! claimed atomically as symlinks `<root>/names/<name>` → id, and room for
//! `volumes/` and `networks/` beside them.
//!
//! Records are replaced atomically, so readers (`ps`) need no lock;
//! writers take the container's `flock` and read-modify-write under it
//! ([`Store::update_state`]). Nothing here needs a daemon.

mod atomic;
mod lock;
mod names;

use std::io::Read;
use std::path::{Path, PathBuf};

pub(crate) use atomic::{read_json, write_json};
pub(crate) use lock::lock_exclusive;
pub use lock::{try_lock, LockGuard};
pub use names::random_name;
pub(crate) use names::{docker_name_fault, NameFault};

use crate::error::{Error, Result};
use crate::record::{ContainerConfig, ContainerState};

/// Default store root.
pub const DEFAULT_ROOT: &str = "/var/lib/containerv/engine";

/// A container's two records.
#[derive(Debug, Clone)]
pub struct Entry {
    pub config: ContainerConfig,
    pub state: ContainerState,
}

/// The store.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    /// Opens (creating) the store at `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        for d in ["containers", "names", "volumes", "networks"] {
            let p = root.join(d);
            std::fs::create_dir_all(&p).map_err(|e| Error::io("create store directory", &p, e))?;
        }
        Ok(Store { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory of container `id`.
    pub fn dir(&self, id: &str) -> PathBuf {
        self.root.join("containers").join(id)
    }

    fn name_link(&self, name: &str) -> PathBuf {
        self.root.join("names").join(name)
    }

    /// A new random id (64 hex digits).
    pub fn new_id() -> Result<String> {
        let mut b = [0u8; 32];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut b))
            .map_err(|e| Error::io("read", "/dev/urandom", e))?;
        Ok(b.iter().map(|x| format!("{x:02x}")).collect())
    }

    /// Records a new container: claims its name, writes its records.
    /// Fails with [`Error::NameInUse`] if the name is taken; leaves
    /// nothing behind on failure.
    pub fn create(&self, config: &ContainerConfig) -> Result<()> {
        names::validate(&config.name)?;
        let link = self.name_link(&config.name);
        if let Err(e) = std::os::unix::fs::symlink(&config.id, &link) {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                let id = std::fs::read_link(&link)
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default();
                return Err(Error::NameInUse {
                    name: config.name.clone(),
                    id,
                });
            }
            return Err(Error::io("claim name", &link, e));
        }
        let dir = self.dir(&config.id);
        let made = std::fs::create_dir(&dir)
            .map_err(|e| Error::io("create container directory", &dir, e))
            .and_then(|_| atomic::write_json(&dir.join("config.json"), config))
            .and_then(|_| atomic::write_json(&dir.join("state.json"), &ContainerState::default()));
        if let Err(e) = made {
            let _ = std::fs::remove_dir_all(&dir);
            let _ = std::fs::remove_file(&link);
            return Err(e);
        }
        Ok(())
    }

    /// Finds a container by full id, name, or unique id prefix.
    pub fn resolve(&self, reference: &str) -> Result<String> {
        let r = reference.strip_prefix('/').unwrap_or(reference);
        if r.is_empty() || r.contains('/') || r.starts_with('.') {
            return Err(Error::NoSuchContainer(reference.to_string()));
        }
        if self.dir(r).join("config.json").exists() {
            return Ok(r.to_string());
        }
        if let Ok(id) = std::fs::read_link(self.name_link(r)) {
            let id = id.to_string_lossy().into_owned();
            if self.dir(&id).join("config.json").exists() {
                return Ok(id);
            }
        }
        let mut found = None;
        for id in self.ids()? {
            if id.starts_with(r) {
                if found.is_some() {
                    return Err(Error::Ambiguous(reference.to_string()));
                }
                found = Some(id);
            }
        }
        found.ok_or_else(|| Error::NoSuchContainer(reference.to_string()))
    }

    /// Ids of every container.
    pub fn ids(&self) -> Result<Vec<String>> {
        let d = self.root.join("containers");
        let rd = std::fs::read_dir(&d).map_err(|e| Error::io("list", &d, e))?;
        Ok(rd
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.'))
            .collect())
    }

    /// Every container with its records, oldest first. Containers removed
    /// while listing are skipped.
    pub fn list(&self) -> Result<Vec<Entry>> {
        let mut v: Vec<Entry> = self
            .ids()?
            .into_iter()
            .filter_map(|id| self.load(&id).ok())
            .collect();
        v.sort_by_key(|e| e.config.created);
        Ok(v)
    }

    /// Both records of `id`.
    pub fn load(&self, id: &str) -> Result<Entry> {
        Ok(Entry {
            config: self.load_config(id)?,
            state: self.load_state(id)?,
        })
    }

    pub fn load_config(&self, id: &str) -> Result<ContainerConfig> {
        let p = self.dir(id).join("config.json");
        if !p.exists() {
            return Err(Error::NoSuchContainer(id.to_string()));
        }
        atomic::read_json(&p)
    }

    pub fn load_state(&self, id: &str) -> Result<ContainerState> {
        let p = self.dir(id).join("state.json");
        if !p.exists() {
            return Err(Error::NoSuchContainer(id.to_string()));
        }
        atomic::read_json(&p)
    }

    /// Takes the container's exclusive lock (blocks until free).
    pub fn lock(&self, id: &str) -> Result<LockGuard> {
        let dir = self.dir(id);
        if !dir.exists() {
            return Err(Error::NoSuchContainer(id.to_string()));
        }
        let g = lock::lock_exclusive(&dir.join("lock"))?;
        // Removed while we waited?
        if !dir.join("config.json").exists() {
            return Err(Error::NoSuchContainer(id.to_string()));
        }
        Ok(g)
    }

    /// Replaces the state record. The caller holds the lock.
    pub fn save_state(&self, id: &str, state: &ContainerState, _lock: &LockGuard) -> Result<()> {
        atomic::write_json(&self.dir(id).join("state.json"), state)
    }

    /// Replaces the config record. The caller holds the lock.
    pub fn save_config(&self, config: &ContainerConfig, _lock: &LockGuard) -> Result<()> {
        atomic::write_json(&self.dir(&config.id).join("config.json"), config)
    }

    /// Read-modify-write of the state under the lock; returns the result.
    pub fn update_state<T>(
        &self,
        id: &str,
        f: impl FnOnce(&mut ContainerState) -> Result<T>,
    ) -> Result<(ContainerState, T)> {
        let g = self.lock(id)?;
        let mut s = self.load_state(id)?;
        let out = f(&mut s)?;
        self.save_state(id, &s, &g)?;
        Ok((s, out))
    }

    /// Removes the container's records, logs and name. The caller holds
    /// the lock (it goes with the directory).
    pub fn remove(&self, id: &str, _lock: LockGuard) -> Result<()> {
        let config = self.load_config(id)?;
        let dir = self.dir(id);
        // Hide it from lookups first, then delete.
        let _ = std::fs::remove_file(dir.join("config.json"));
        let link = self.name_link(&config.name);
        if std::fs::read_link(&link).is_ok_and(|t| t == Path::new(id)) {
            let _ = std::fs::remove_file(&link);
        }
        std::fs::remove_dir_all(&dir).map_err(|e| Error::io("remove container directory", &dir, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Status;

    pub(crate) fn config(id: &str, name: &str) -> ContainerConfig {
        ContainerConfig {
            id: id.into(),
            name: name.into(),
            created: chrono::Utc::now(),
            image: "busybox".into(),
            image_id: "sha256:0".into(),
            image_root: None,
            layers: vec![],
            command: vec!["true".into()],
            env: vec![],
            working_dir: None,
            user: None,
            hostname: None,
            binds: vec![],
            tmpfs: vec![],
            read_only: false,
            network: Default::default(),
            resources: Default::default(),
            restart_policy: Default::default(),
            auto_remove: false,
            healthcheck: None,
            log_config: Default::default(),
            stop_signal: 15,
            stop_timeout: 10,
            init: false,
            interactive: false,
            tty: false,
            labels: Default::default(),
            volumes: vec![],
            networks: vec![],
            security: Default::default(),
        }
    }

    #[test]
    fn create_resolve_and_remove() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let id = Store::new_id().unwrap();
        assert_eq!(id.len(), 64);
        s.create(&config(&id, "web")).unwrap();
        assert_eq!(s.resolve("web").unwrap(), id);
        assert_eq!(s.resolve(&id[..12]).unwrap(), id);
        assert_eq!(s.resolve("/web").unwrap(), id);
        assert!(matches!(s.resolve("nope"), Err(Error::NoSuchContainer(_))));
        assert!(matches!(s.resolve("../x"), Err(Error::NoSuchContainer(_))));
        let e = s
            .create(&config(&Store::new_id().unwrap(), "web"))
            .unwrap_err();
        assert!(matches!(e, Error::NameInUse { .. }), "{e}");
        assert_eq!(s.list().unwrap().len(), 1);
        let g = s.lock(&id).unwrap();
        s.remove(&id, g).unwrap();
        assert!(s.ids().unwrap().is_empty());
        assert!(std::fs::read_dir(dir.path().join("names"))
            .unwrap()
            .next()
            .is_none());
    }

    #[test]
    fn bad_names_are_refused_and_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        for bad in ["", "a/b", "-x", "has space", ".hidden"] {
            let e = s
                .create(&config(&Store::new_id().unwrap(), bad))
                .unwrap_err();
            assert!(e.to_string().contains("--name"), "{e}");
        }
        assert!(s.ids().unwrap().is_empty());
    }

    #[test]
    fn concurrent_updates_under_the_lock_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let id = Store::new_id().unwrap();
        s.create(&config(&id, "race")).unwrap();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let s = s.clone();
                let id = id.clone();
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        s.update_state(&id, |st| {
                            st.restart_count += 1;
                            Ok(())
                        })
                        .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let st = s.load_state(&id).unwrap();
        assert_eq!(st.restart_count, 200);
        assert_eq!(st.status, Status::Created);
    }

    #[test]
    fn racing_creates_with_one_name_one_wins() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let s = s.clone();
                std::thread::spawn(move || {
                    s.create(&config(&Store::new_id().unwrap(), "one")).is_ok()
                })
            })
            .collect();
        let wins = threads
            .into_iter()
            .filter(|_| true)
            .map(|t| t.join().unwrap())
            .filter(|ok| *ok)
            .count();
        assert_eq!(wins, 1);
        assert_eq!(s.ids().unwrap().len(), 1);
    }
}
