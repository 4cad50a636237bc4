//! The engine's state store: one directory per container under
//! `<root>/containers/<id>/` (config.json, state.json, lock, logs), names
//! claimed atomically as symlinks `<root>/names/<name>` → id, and room for
//! `volumes/` and `networks/` beside them.
//!
//! Records are replaced atomically, so readers (`ps`) need no lock;
//! writers take the container's `flock` and read-modify-write under it
//! ([`Store::update_state`]). Nothing here needs a daemon.
//!
//! Crash safety: a container directory is built whole as
//! `containers/.new-<id>/` (its creator holds the flock of its `lock`
//! file) and renamed into place; removal renames it to `.rm-<id>` first.
//! A `cv` killed at any point leaves either a complete container or a
//! dot-directory that [`crate::check`] recognises and finishes. A record
//! that cannot be parsed is listed as [`Damaged`], never skipped, so
//! in-use checks can refuse instead of guessing.
//!
//! Durability: records are fsynced (`fdatasync` before the rename) so a
//! power loss keeps every container, except those of a `--rm`
//! container, which carries the empty marker file `volatile` (made
//! before its records, in the staging directory). Such a container is
//! removed when it ends and cannot outlive a power loss usefully, so its
//! records skip the fsync (5 per `cv run --rm`, each a journal commit:
//! 3-10 ms under load); the rename keeps them whole for every reader and
//! through a crash of any process. A record a power loss left empty or
//! torn is listed as [`Damaged`], and `cv system check --repair` removes
//! it when the marker says it was a `--rm` container's.

mod atomic;
mod lock;
mod names;
mod rename;

use std::io::Read;
use std::path::{Path, PathBuf};

pub(crate) use atomic::{read_json, write_json, write_json_volatile};
pub(crate) use lock::lock_exclusive;
pub use lock::{try_lock, try_lock_existing, LockGuard};
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

    /// Where container `id` is built before it is renamed into place.
    pub(crate) fn staging_dir(&self, id: &str) -> PathBuf {
        self.root.join("containers").join(format!(".new-{id}"))
    }

    /// True while anything of container `id` is on disk (being built,
    /// in place, or being removed).
    pub fn present(&self, id: &str) -> bool {
        self.dir(id).exists() || self.removing_dir(id).exists() || self.staging_dir(id).exists()
    }

    /// Where container `id` goes while it is being removed.
    pub(crate) fn removing_dir(&self, id: &str) -> PathBuf {
        self.root.join("containers").join(format!(".rm-{id}"))
    }

    /// Starts building container `id` in its staging directory (held
    /// under its lock until [`Staged::commit`] or drop).
    pub fn stage(&self, id: &str) -> Result<Staged> {
        let dir = self.staging_dir(id);
        // Made and locked under a name the implicit check ignores, then
        // renamed: a `.new-<id>` is never seen unlocked while its creator
        // lives (a check between mkdir and flock took it for a killed
        // create and removed it under 20 parallel `run`s).
        let pre = self.root.join("containers").join(format!(".stage-{id}"));
        std::fs::create_dir(&pre).map_err(|e| Error::io("create container directory", &pre, e))?;
        let lock = match lock::lock_exclusive(&pre.join("lock")) {
            Ok(l) => l,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&pre);
                return Err(e);
            }
        };
        if let Err(e) = std::fs::rename(&pre, &dir) {
            let _ = std::fs::remove_dir_all(&pre);
            return Err(Error::io("create container directory", &dir, e));
        }
        Ok(Staged {
            store: self.clone(),
            id: id.to_string(),
            dir,
            lock: Some(lock),
            committed: false,
        })
    }

    /// Records a new container: writes its records in a staging
    /// directory, claims its name, renames the directory into place.
    /// Fails with [`Error::NameInUse`] if the name is taken; leaves
    /// nothing behind on failure (and only what `cv system check`
    /// removes if killed).
    pub fn create(&self, config: &ContainerConfig) -> Result<()> {
        names::validate(&config.name)?;
        self.stage(&config.id)?.commit(config)
    }

    /// Claims `name` for `id`; a link left by a creator that died (its
    /// container neither exists nor is being built) is taken over.
    fn claim_name(&self, name: &str, id: &str) -> Result<()> {
        let link = self.name_link(name);
        for _ in 0..2 {
            match std::os::unix::fs::symlink(id, &link) {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let owner = std::fs::read_link(&link)
                        .map(|p| p.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    if !owner.is_empty() && self.name_owner_is_dead(&owner) {
                        // Remove it only if it still names the dead owner.
                        let tmp = self.root.join("names").join(format!(".stale-{id}"));
                        if std::fs::rename(&link, &tmp).is_ok() {
                            if std::fs::read_link(&tmp).is_ok_and(|t| t == Path::new(&owner)) {
                                let _ = std::fs::remove_file(&tmp);
                            } else {
                                let _ = std::fs::rename(&tmp, &link);
                            }
                        }
                        continue;
                    }
                    return Err(Error::NameInUse {
                        name: name.to_string(),
                        id: owner,
                    });
                }
                Err(e) => return Err(Error::io("claim name", &link, e)),
            }
        }
        Err(Error::NameInUse {
            name: name.to_string(),
            id: String::new(),
        })
    }

    /// True if a name link's target `id` is no container and no live
    /// creation (a `cv create` killed after claiming the name).
    pub(crate) fn name_owner_is_dead(&self, id: &str) -> bool {
        if self.dir(id).exists() {
            return false;
        }
        let staging = self.staging_dir(id);
        if !staging.exists() {
            return true;
        }
        staging_is_dead(&staging)
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

    /// Every container whose records can be read, oldest first.
    /// Containers removed while listing are skipped; damaged ones are
    /// left out here (see [`Store::scan`], which callers deciding "in
    /// use" must call).
    pub fn list(&self) -> Result<Vec<Entry>> {
        Ok(self.scan()?.entries)
    }

    /// Every container: the readable ones (oldest first) and the ones
    /// whose records cannot be read, with the error.
    pub fn scan(&self) -> Result<Scan> {
        let mut out = Scan::default();
        for id in self.ids()? {
            match self.load(&id) {
                Ok(e) => out.entries.push(e),
                // Removed while we listed.
                Err(Error::NoSuchContainer(_)) if !self.dir(&id).join("config.json").exists() => {}
                Err(e) => {
                    let config = self.load_config(&id).ok();
                    let name = config
                        .as_ref()
                        .map(|c| c.name.clone())
                        .or_else(|| self.names_of(&id).into_iter().next());
                    out.damaged.push(Damaged {
                        id,
                        name,
                        config,
                        error: e.to_string(),
                    });
                }
            }
        }
        out.entries.sort_by_key(|e| e.config.created);
        Ok(out)
    }

    /// The names linked to container `id` (normally one).
    pub fn names_of(&self, id: &str) -> Vec<String> {
        let d = self.root.join("names");
        std::fs::read_dir(&d)
            .map(|rd| {
                rd.flatten()
                    .filter(|e| std::fs::read_link(e.path()).is_ok_and(|t| t == Path::new(id)))
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| !n.starts_with('.'))
                    .collect()
            })
            .unwrap_or_default()
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
        let dir = self.dir(id);
        let p = dir.join("state.json");
        if !p.exists() {
            return Err(Error::NoSuchContainer(id.to_string()));
        }
        let mut s: ContainerState = atomic::read_json(&p)?;
        if dir.join(STOP_MARK).exists() {
            s.manually_stopped = true;
        }
        if s.status.is_active() {
            if let Some((code, at)) = exit_marker(&dir) {
                s.status = crate::record::Status::Exited;
                s.pid = 0;
                s.exit_code = code;
                s.finished_at = at.map(chrono::DateTime::<chrono::Utc>::from);
            }
        }
        Ok(s)
    }

    /// Records an exit the monitor could not write into state.json (a
    /// full disk) as an empty file named after the code.
    pub(crate) fn record_exit_marker(&self, id: &str, code: i32) {
        let _ = std::fs::File::create(self.dir(id).join(format!("{EXIT_MARK}{code}")));
    }

    /// Records a user's stop (restart policies no longer apply) without
    /// failing: on a full disk the state cannot be rewritten, so an empty
    /// marker file (no data blocks) says it instead, folded into every
    /// [`Store::load_state`]. The caller acts (signals) either way.
    pub fn request_stop(&self, id: &str) -> Result<()> {
        match self.update_state(id, |s| {
            s.manually_stopped = true;
            Ok(())
        }) {
            Ok(_) => Ok(()),
            Err(Error::NoSuchContainer(n)) => Err(Error::NoSuchContainer(n)),
            Err(_) => {
                let _ = std::fs::File::create(self.dir(id).join(STOP_MARK));
                Ok(())
            }
        }
    }

    /// Drops a stop marker (the container is being started again). The
    /// caller has saved `manually_stopped = false` already.
    pub fn clear_stop_request(&self, id: &str) {
        let dir = self.dir(id);
        let _ = std::fs::remove_file(dir.join(STOP_MARK));
        while let Some((code, _)) = exit_marker(&dir) {
            if std::fs::remove_file(dir.join(format!("{EXIT_MARK}{code}"))).is_err() {
                break;
            }
        }
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
        let dir = self.dir(id);
        atomic::write_json_durable(&dir.join("state.json"), state, durable(&dir))
    }

    /// Replaces the config record. The caller holds the lock.
    pub fn save_config(&self, config: &ContainerConfig, _lock: &LockGuard) -> Result<()> {
        let dir = self.dir(&config.id);
        atomic::write_json_durable(&dir.join("config.json"), config, durable(&dir))
    }

    /// True if container `id` is a `--rm` one whose records skip the
    /// fsync (see the module docs).
    pub fn is_volatile(&self, id: &str) -> bool {
        !durable(&self.dir(id))
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
    /// the lock (it goes with the directory). The directory is renamed
    /// away first (one atomic step hides it from every lookup), then its
    /// name and the directory go; a `cv` killed half way leaves a
    /// `.rm-<id>` that [`crate::check`] finishes.
    pub fn remove(&self, id: &str, _lock: LockGuard) -> Result<()> {
        let dir = self.dir(id);
        if !dir.join("config.json").exists() {
            return Err(Error::NoSuchContainer(id.to_string()));
        }
        let gone = self.removing_dir(id);
        std::fs::rename(&dir, &gone)
            .map_err(|e| Error::io("remove container directory", &dir, e))?;
        self.finish_remove(id)
    }

    /// The rest of a removal once the directory is `.rm-<id>`: the image
    /// hold (while the config still says where), the name links to `id`,
    /// then the directory.
    pub(crate) fn finish_remove(&self, id: &str) -> Result<()> {
        let gone = self.removing_dir(id);
        if let Ok(c) = atomic::read_json::<ContainerConfig>(&gone.join("config.json")) {
            if let Some(images) = c
                .image_root
                .and_then(|r| containerv_image::ImageStore::open(r).ok())
            {
                let _ = images.release(id);
            }
        }
        for n in self.names_of(id) {
            let _ = std::fs::remove_file(self.name_link(&n));
        }
        // A `--storage-opt size` goes with the layer it bounds.
        crate::storage_opt::release(&gone);
        match std::fs::remove_dir_all(&gone) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io("remove container directory", &gone, e)),
        }
    }
}

/// False for a container directory with the [`VOLATILE_MARK`].
fn durable(dir: &Path) -> bool {
    !dir.join(VOLATILE_MARK).exists()
}

/// True if the creator of staging directory `dir` (`.new-<id>`, locked
/// before it got that name) is gone: its lock is free.
pub(crate) fn staging_is_dead(dir: &Path) -> bool {
    matches!(try_lock_existing(&dir.join("lock")), Ok(Some(_)))
}

/// The marker of a container whose records need not survive a power
/// loss (`--rm`; see the module docs). Empty: its existence is metadata,
/// never torn.
pub(crate) const VOLATILE_MARK: &str = "volatile";

/// The marker file of [`Store::request_stop`].
const STOP_MARK: &str = "stop-requested";

/// Prefix of the marker of [`Store::record_exit_marker`] (`exited-137`).
const EXIT_MARK: &str = "exited-";

/// The exit code (and the marker's time) of an exit recorded by name.
fn exit_marker(dir: &Path) -> Option<(i32, Option<std::time::SystemTime>)> {
    std::fs::read_dir(dir).ok()?.flatten().find_map(|e| {
        let n = e.file_name();
        let code = n.to_str()?.strip_prefix(EXIT_MARK)?.parse().ok()?;
        Some((code, e.metadata().and_then(|m| m.modified()).ok()))
    })
}

/// What [`Store::scan`] found.
#[derive(Debug, Default)]
pub struct Scan {
    pub entries: Vec<Entry>,
    pub damaged: Vec<Damaged>,
}

impl Scan {
    /// Fails (naming the first damaged record) unless every record whose
    /// config cannot be read is absent: an in-use check cannot decide
    /// without it.
    pub fn require_configs(&self, what: &str) -> Result<()> {
        match self.damaged.iter().find(|d| d.config.is_none()) {
            None => Ok(()),
            Some(d) => Err(Error::InUseUnknown {
                what: what.to_string(),
                reason: format!(
                    "the record of container {} is unreadable ({}); remove it with `cv rm -f {}`",
                    &d.id[..d.id.len().min(12)],
                    d.error,
                    &d.id[..d.id.len().min(12)]
                ),
            }),
        }
    }

    /// Every readable config: the good entries' and the damaged ones'
    /// whose config.json could still be read.
    pub fn configs(&self) -> impl Iterator<Item = &ContainerConfig> {
        self.entries
            .iter()
            .map(|e| &e.config)
            .chain(self.damaged.iter().filter_map(|d| d.config.as_ref()))
    }
}

/// A container whose records cannot be read.
#[derive(Debug, Clone)]
pub struct Damaged {
    pub id: String,
    /// From config.json, or from the name links.
    pub name: Option<String>,
    /// When only state.json is damaged.
    pub config: Option<ContainerConfig>,
    pub error: String,
}

/// A container being built (see [`Store::stage`]): its directory is
/// `.new-<id>` and locked until [`Staged::commit`]; dropped uncommitted,
/// it is removed.
#[derive(Debug)]
pub struct Staged {
    store: Store,
    id: String,
    dir: PathBuf,
    lock: Option<LockGuard>,
    committed: bool,
}

impl Staged {
    /// The staging directory (scratch space for checks before commit).
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Writes the records, claims the name and renames the directory
    /// into place.
    pub fn commit(mut self, config: &ContainerConfig) -> Result<()> {
        names::validate(&config.name)?;
        // The marker before the records: a directory whose records a
        // power loss may tear always says so.
        let durable = !config.auto_remove;
        if !durable {
            let mark = self.dir.join(VOLATILE_MARK);
            std::fs::File::create(&mark).map_err(|e| Error::io("create", &mark, e))?;
        }
        atomic::write_json_durable(&self.dir.join("config.json"), config, durable)?;
        atomic::write_json_durable(
            &self.dir.join("state.json"),
            &ContainerState::default(),
            durable,
        )?;
        self.store.claim_name(&config.name, &self.id)?;
        let dest = self.store.dir(&self.id);
        if let Err(e) = std::fs::rename(&self.dir, &dest) {
            let link = self.store.name_link(&config.name);
            if std::fs::read_link(&link).is_ok_and(|t| t == Path::new(&self.id)) {
                let _ = std::fs::remove_file(&link);
            }
            return Err(Error::io("create container directory", &dest, e));
        }
        self.committed = true;
        self.lock.take();
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
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
            endpoint: Default::default(),
            stats_history: Default::default(),
            storage_size: None,
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
    fn markers_stand_in_for_records_a_full_disk_could_not_write() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let id = Store::new_id().unwrap();
        s.create(&config(&id, "full")).unwrap();
        let g = s.lock(&id).unwrap();
        let running = ContainerState {
            status: Status::Running,
            pid: 4242,
            ..Default::default()
        };
        s.save_state(&id, &running, &g).unwrap();
        drop(g);
        // What stop and the monitor do when state.json cannot be written.
        std::fs::File::create(s.dir(&id).join(STOP_MARK)).unwrap();
        s.record_exit_marker(&id, 137);
        let st = s.load_state(&id).unwrap();
        assert!(st.manually_stopped);
        assert_eq!((st.status, st.exit_code, st.pid), (Status::Exited, 137, 0));
        assert!(st.finished_at.is_some());
        // A new start drops both.
        s.clear_stop_request(&id);
        let st = s.load_state(&id).unwrap();
        assert!(!st.manually_stopped);
        assert_eq!(st.status, Status::Running);
    }

    #[test]
    fn a_killed_create_leaves_a_name_the_next_create_takes_over() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        // Killed after claiming the name, before the rename: the staging
        // directory stays, its lock is free.
        let dead = Store::new_id().unwrap();
        let staged = s.stage(&dead).unwrap();
        std::os::unix::fs::symlink(&dead, dir.path().join("names/taken")).unwrap();
        std::mem::forget(staged);
        // (forget kept the lock's descriptor open: release it as a kill would.)
        let lock = s.staging_dir(&dead).join("lock");
        std::fs::remove_file(&lock).unwrap();
        std::fs::File::create(&lock).unwrap();
        let id = Store::new_id().unwrap();
        s.create(&config(&id, "taken")).unwrap();
        assert_eq!(s.resolve("taken").unwrap(), id);
        // A name whose creator is alive is not taken over.
        let live = Store::new_id().unwrap();
        let _staged = s.stage(&live).unwrap();
        std::os::unix::fs::symlink(&live, dir.path().join("names/busy")).unwrap();
        let e = s
            .create(&config(&Store::new_id().unwrap(), "busy"))
            .unwrap_err();
        assert!(matches!(e, Error::NameInUse { .. }), "{e}");
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
