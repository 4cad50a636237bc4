//! `cv system check [--repair]`: reconciles what a killed `cv`, a killed
//! monitor or a reboot left with what the records say.
//!
//! Every store change is made so that a crash leaves a recognisable
//! state (see [`crate::store`]): `containers/.new-<id>` whose creator's
//! lock is free (a `create` killed before the rename), `.rm-<id>` (a
//! removal killed after hiding the directory), a name link to no
//! container, a core runtime state of no container, `volumes/.rm-*` (a
//! `volume rm` killed half way), a running container whose monitor died
//! (`--repair` gives it a replacement monitor). Image holds are released with the
//! `.new-`/`.rm-` directory that names them (the image store may be
//! shared by several engine roots, so a hold by an id unknown here is
//! not ours to judge). The check
//! lists them; `--repair` finishes each one. Records that cannot be read
//! are reported, never removed here: `cv rm -f` removes them (and stops
//! their processes); except those of a `--rm` container with no monitor
//! left, whose records skip the fsync (see [`crate::store`]): a power
//! loss may tear them, and `--repair` removes them as `rm -f` would. Running containers are not touched, and anything a
//! live `cv` is still building (its lock is held) is left alone.

use std::path::Path;
use std::time::Duration;

use crate::engine::Engine;
use crate::error::Result;
use crate::store::try_lock_existing;

/// One thing found: what it is, and whether it was repaired.
#[derive(Debug, Clone)]
pub struct Finding {
    pub what: String,
    pub repaired: bool,
}

/// Temporary volume directories younger than this may belong to a
/// `volume create` still running.
const YOUNG: Duration = Duration::from_secs(60);

/// How long a live create may stay `.stage-<id>` (it takes microseconds).
const INIT_GRACE: Duration = Duration::from_secs(2);

impl Engine {
    /// Checks the store; with `repair`, fixes what it can. Returns what
    /// was found (nothing: consistent).
    pub fn check(&self, repair: bool) -> Result<Vec<Finding>> {
        let mut out = self.check_containers_dir(repair, false)?;
        let mut note = |what: String, repaired: bool| out.push(Finding { what, repaired });
        // Name links to no container (and no live create).
        let names = self.store.root().join("names");
        if let Ok(rd) = std::fs::read_dir(&names) {
            for e in rd.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                let target = std::fs::read_link(e.path())
                    .map(|t| t.to_string_lossy().into_owned())
                    .unwrap_or_default();
                if n.starts_with(".stale-")
                    || target.is_empty()
                    || self.store.name_owner_is_dead(&target)
                {
                    if repair {
                        let _ = std::fs::remove_file(e.path());
                    }
                    note(format!("name {n:?} of no container ({target})"), repair);
                }
            }
        }
        // Core runtime states of no container.
        if let Ok(rd) = std::fs::read_dir(self.runtime_root()) {
            for e in rd.flatten() {
                let id = e.file_name().to_string_lossy().into_owned();
                if !e.path().is_dir()
                    || self.store.dir(&id).exists()
                    || !self.store.name_owner_is_dead(&id)
                {
                    continue;
                }
                if repair {
                    self.cleanup_core(&id);
                    remove_stale_core(self.runtime_root(), &id);
                }
                note(format!("runtime state of no container ({id})"), repair);
            }
        }
        // Containers whose monitor and init are gone but whose record
        // says they run: record the exit.
        let scan = self.store.scan()?;
        for e in &scan.entries {
            let s = &e.state;
            if e.state.observed().monitor_gone {
                let done = repair && self.adopt(&e.config.id).is_ok();
                note(
                    format!(
                        "container {} runs without its monitor{}",
                        e.config.name,
                        if done {
                            " (a replacement monitor watches it now)"
                        } else {
                            ""
                        }
                    ),
                    done,
                );
                continue;
            }
            if s.status.is_active() && !e.state.observed().status.is_active() {
                if repair {
                    self.settle(&e.config.id);
                }
                note(
                    format!(
                        "container {} recorded as {} but its processes are gone",
                        e.config.name, s.status
                    ),
                    repair,
                );
            }
        }
        for d in &scan.damaged {
            let short = &d.id[..d.id.len().min(12)];
            let name = d.name.as_deref().unwrap_or("no name");
            // A `--rm` container's records skip the fsync: a power loss
            // may tear them. Removed like `rm -f` once no monitor is left.
            if self.store.is_volatile(&d.id) && self.monitor_gone(&d.id) {
                let done = repair && self.remove(&d.id, true).is_ok();
                note(
                    format!(
                        "torn record of --rm container {short} ({name}): {}{}",
                        d.error,
                        if done { " (removed)" } else { "" }
                    ),
                    done,
                );
                continue;
            }
            note(
                format!(
                    "unreadable record of container {short} ({name}): {}; `cv rm -f {short}` removes it",
                    d.error,
                ),
                false,
            );
        }
        // Volumes: removals killed half way, creates that never finished.
        let vols = self.store.root().join("volumes");
        if let Ok(rd) = std::fs::read_dir(&vols) {
            for e in rd.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                let old = e
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age >= YOUNG);
                if n.starts_with(".rm-") || (n.starts_with(".new-") && old) {
                    if repair {
                        let _ = std::fs::remove_dir_all(e.path());
                    }
                    note(format!("unfinished volume operation ({n})"), repair);
                }
            }
        }
        Ok(out)
    }

    /// True if no monitor holds container `id`'s `monitor.lock`.
    fn monitor_gone(&self, id: &str) -> bool {
        let lock = self.store.dir(id).join("monitor.lock");
        !matches!(crate::store::try_lock(&lock), Ok(None))
    }

    /// Finishes what killed `create`s and `rm`s left (`.new-<id>` whose
    /// creator is gone, `.rm-<id>`): one readdir, so every `create` runs
    /// it (the implicit part of `cv system check --repair`).
    pub(crate) fn finish_unfinished(&self) {
        let _ = self.check_containers_dir(true, true);
    }

    /// The `containers/` part of the check. `implicit`: only the
    /// unfinished creates and removals (safe beside live commands).
    fn check_containers_dir(&self, repair: bool, implicit: bool) -> Result<Vec<Finding>> {
        let mut out = Vec::new();
        let mut note = |what: String, repaired: bool| out.push(Finding { what, repaired });
        let containers = self.store.root().join("containers");
        let images = self.images().ok();
        for e in std::fs::read_dir(&containers)
            .map_err(|e| crate::Error::io("list", &containers, e))?
            .flatten()
        {
            let name = e.file_name().to_string_lossy().into_owned();
            if !name.starts_with('.') && !e.path().join("config.json").exists() {
                if implicit {
                    continue;
                }
                // Left by an older `cv rm` killed half way (it deleted
                // config.json first): finish it as a removal.
                if repair {
                    let _ = std::fs::rename(e.path(), self.store.removing_dir(&name));
                    self.cleanup_core(&name);
                    let _ = self.store.finish_remove(&name);
                    if let Some(i) = &images {
                        let _ = i.release(&name);
                    }
                }
                note(
                    format!("container directory without records ({name})"),
                    repair,
                );
            } else if name.starts_with(".stage-") {
                // A create lives microseconds as `.stage-` (mkdir, lock,
                // rename): one still there after INIT_GRACE was killed.
                // The explicit check waits that long for a young one.
                if implicit {
                    continue;
                }
                let age = e
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .unwrap_or_default();
                if age < INIT_GRACE {
                    std::thread::sleep(INIT_GRACE - age);
                    if !e.path().exists() {
                        continue;
                    }
                }
                if repair {
                    let _ = std::fs::remove_dir_all(e.path());
                }
                note(format!("unfinished create ({name})"), repair);
            } else if let Some(id) = name.strip_prefix(".new-") {
                if !crate::store::staging_is_dead(&e.path()) {
                    continue; // a live create
                }
                if repair {
                    for n in self.store.names_of(id) {
                        let _ = std::fs::remove_file(self.store.root().join("names").join(n));
                    }
                    if let Some(i) = &images {
                        let _ = i.release(id);
                    }
                    let _ = std::fs::remove_dir_all(e.path());
                }
                note(format!("unfinished create of container {id}"), repair);
            } else if let Some(id) = name.strip_prefix(".rm-") {
                // A live removal holds the container's lock until done.
                let lock = e.path().join("lock");
                let _held = match try_lock_existing(&lock) {
                    Ok(Some(g)) => Some(g),
                    // Its lock file already deleted by a removal killed
                    // in the middle of deleting: the explicit check only.
                    Ok(None) if !implicit && !lock.exists() => None,
                    _ => continue,
                };
                if repair {
                    self.cleanup_core(id);
                    if let Ok(Some(_held)) = try_lock_existing(&e.path().join("monitor.lock")) {
                        remove_stale_core(self.runtime_root(), id);
                    }
                    let _ = self.store.finish_remove(id);
                    if let Some(i) = &images {
                        let _ = i.release(id);
                    }
                }
                note(format!("unfinished removal of container {id}"), repair);
            }
        }
        Ok(out)
    }
}

/// Removes the core state directory of container `id` that the core can
/// no longer open (its cgroups are gone: a reboot, or a removal killed
/// half way). Never descends into a mount.
pub(crate) fn remove_stale_core(runtime_root: &Path, id: &str) {
    let dir = runtime_root.join(id);
    if id.is_empty() || id.starts_with('.') || !dir.is_dir() || has_mounts_under(&dir) {
        return;
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// True if a mount point lies at or under `dir` (in our mount namespace).
fn has_mounts_under(dir: &Path) -> bool {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return true;
    };
    let prefix = dir.to_string_lossy();
    info.lines().any(|l| {
        l.split(' ').nth(4).is_some_and(|m| {
            let m = m.replace("\\040", " ");
            m == prefix || m.starts_with(&format!("{prefix}/"))
        })
    })
}
