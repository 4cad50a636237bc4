//! The engine's Prometheus figures: every running (or paused) container's
//! [`containerv::Stats`] with the engine's labels (id, name, image), CPU
//! quota from its spec, health status and restart count, rendered by
//! [`containerv::metrics::render`] (cAdvisor's names; see there).
//!
//! A container that stops while being read is left out of that scrape
//! rather than failing it: a scrape never fails because of one container.
//!
//! A kept [`Scraper`] (the `--listen` server's) serves each container's
//! newest sample from the stats history ring its monitor writes
//! (`crate::history`, every second by default) while that sample is at
//! most [`MAX_AGE`] old, as cAdvisor serves the figures of its 1 s
//! housekeeping: the cgroup is read once per interval by the monitor
//! rather than once more per scrape, and a scrape reads a few hundred
//! bytes of each ring. Without a fresh sample (history off, a late or
//! dead monitor, a run not sampled yet) it reads the cgroup itself. What
//! it serves of a container never goes back in time, so its counters
//! never seem to reset. A one-shot scrape ([`scrape`]) reads every cgroup.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use containerv::history::Newest;
use containerv::metrics::{render, MetricsTarget};
use containerv::Stats;

use crate::engine::Engine;
use crate::error::Result;
use crate::health::HealthStatus;
use crate::history::HISTORY_FILE;
use crate::proc::{poll_exited, Watch};
use crate::record::{ContainerConfig, ContainerState};

/// A container directory changed this recently may change again within
/// the same tick of the file system's clock (its mtime would not move):
/// its records are read again at the next scrape rather than trusted.
const RACY: Duration = Duration::from_millis(100);

/// The oldest sample a kept [`Scraper`] serves: the default sampling
/// interval, and half of one more for a late monitor.
pub const MAX_AGE: Duration = Duration::from_millis(1500);

/// A directory opened `O_PATH` (no read access, nothing but a name that
/// stays bound to the directory): `fstat` of it costs no path walk.
fn open_dir(p: &Path) -> Option<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(p)
        .ok()
}

/// The mtime of `dir` and whether it was changed long enough ago to be
/// trusted (see [`RACY`]).
fn settled_mtime(dir: &File, now: SystemTime) -> std::io::Result<(SystemTime, bool)> {
    let mtime = dir.metadata()?.modified()?;
    Ok((mtime, now.duration_since(mtime).is_ok_and(|d| d >= RACY)))
}

/// What a [`Scraper`] keeps of one container between scrapes.
#[derive(Debug)]
struct Kept {
    /// The container's directory, for its mtime.
    dir: File,
    /// The directory's mtime when `config` and `state` were read; `None`:
    /// read them again next time.
    stamp: Option<SystemTime>,
    config: ContainerConfig,
    /// As the store read it (liveness is checked at every scrape).
    state: ContainerState,
    /// Its init and its monitor, watched (pidfds).
    init: Option<Watch>,
    monitor: Option<Watch>,
    /// Init pid, its start time and the core handle (cgroup files open).
    core: Option<(i32, u64, containerv::Container)>,
    /// The container's stats history ring, followed.
    ring: Option<Newest>,
    /// The sample served last.
    last: Option<Stats>,
}

impl Kept {
    /// Whether the record says the container is active and runs an init.
    fn claims_active(&self) -> bool {
        self.state.status.is_active() && self.state.pid != 0
    }
}

/// Scrapes the engine, keeping from one scrape to the next each
/// container's records, pidfds of its init and monitor (liveness for all
/// containers in one `poll`) and, while it runs, its core handle (its
/// cgroup files stay open, see the core's `monitor.rs`) and its history
/// ring: a server that scrapes every second neither reopens nor re-parses
/// anything that did not change. Records are read again when the
/// container's directory changed (every record write renames a file into
/// it, so its mtime moves; one `fstat` of a kept `O_PATH` descriptor
/// tells), and the containers directory is listed again when its mtime
/// moved; a handle is dropped once its container stops or is replaced
/// (another init).
#[derive(Debug)]
pub struct Scraper {
    /// Boxed: a `Kept` is large (the records), and it moves out of the
    /// map and back at every scrape.
    kept: HashMap<String, Box<Kept>>,
    /// The engine's containers directory and the ids listed in it, with
    /// its mtime then (`None`: list it again next time).
    listing: Option<(File, Option<SystemTime>, Vec<String>)>,
    /// The oldest kept sample served; zero: read every cgroup every time.
    max_age: Duration,
}

impl Default for Scraper {
    fn default() -> Self {
        Scraper::new()
    }
}

/// Nanoseconds since the Unix epoch.
fn epoch_ns(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

impl Scraper {
    /// A scraper for a server: serves samples up to [`MAX_AGE`] old.
    pub fn new() -> Self {
        Scraper::with_max_age(MAX_AGE)
    }

    /// A scraper that serves samples up to `max_age` old (zero: reads
    /// every container's cgroup at every scrape).
    pub fn with_max_age(max_age: Duration) -> Self {
        Scraper {
            kept: HashMap::new(),
            listing: None,
            max_age,
        }
    }

    /// The targets of every active container, oldest first.
    pub fn targets(&mut self, engine: &Engine) -> Result<Vec<MetricsTarget>> {
        let now = SystemTime::now();
        // What is not taken back from here (containers gone since the
        // last scrape) is dropped at the end.
        let mut before = std::mem::take(&mut self.kept);
        self.kept.reserve(before.len());
        // 1. Records, read again where they changed.
        let mut kept = Vec::with_capacity(before.len());
        for id in self.ids(engine, now)? {
            // Removed meanwhile: left out (what was kept of it is dropped
            // below). Damaged or half-removed records: left out, as
            // `Store::list` leaves them.
            let mut k = match before.remove(&id) {
                Some(mut k) => {
                    let Ok((mtime, settled)) = settled_mtime(&k.dir, now) else {
                        continue;
                    };
                    if k.stamp != Some(mtime) {
                        let Ok(e) = engine.store.load(&id) else {
                            continue;
                        };
                        (k.config, k.state) = (e.config, e.state);
                        k.stamp = settled.then_some(mtime);
                    }
                    k
                }
                None => {
                    let Some(dir) = open_dir(&engine.store.dir(&id)) else {
                        continue;
                    };
                    let Ok((mtime, settled)) = settled_mtime(&dir, now) else {
                        continue;
                    };
                    let Ok(e) = engine.store.load(&id) else {
                        continue;
                    };
                    Box::new(Kept {
                        dir,
                        stamp: settled.then_some(mtime),
                        config: e.config,
                        state: e.state,
                        init: None,
                        monitor: None,
                        core: None,
                        ring: None,
                        last: None,
                    })
                }
            };
            if k.claims_active() {
                let s = &k.state;
                k.init = Some(Watch::keep(k.init.take(), s.pid, s.pid_start));
                k.monitor = Some(Watch::keep(
                    k.monitor.take(),
                    s.monitor_pid,
                    s.monitor_start,
                ));
            } else {
                (k.init, k.monitor) = (None, None);
            }
            kept.push((id, k));
        }
        // 2. Which inits and monitors have exited: one poll for all.
        let mut watches: Vec<&mut Watch> = kept
            .iter_mut()
            .flat_map(|(_, k)| [k.init.as_mut(), k.monitor.as_mut()])
            .flatten()
            .collect();
        poll_exited(&mut watches);
        // 3. The figures of every container still active.
        let mut out = Vec::with_capacity(kept.len());
        for (id, mut k) in kept {
            let st = {
                let (init, monitor) = (k.init.as_ref(), k.monitor.as_ref());
                k.state.observed_with(|pid, start| {
                    [init, monitor]
                        .into_iter()
                        .flatten()
                        .any(|w| w.is(pid, start) && w.alive())
                })
            };
            if !st.status.is_active() || st.pid == 0 {
                k.core = None;
                k.last = None;
                self.kept.insert(id, k);
                continue;
            }
            // The handle stays in its slot (a `Container` is large: moved
            // out and back it cost a copy per container and scrape).
            let same_init = |c: &(i32, u64, _)| c.0 == st.pid && c.1 == st.pid_start;
            if !k.core.as_ref().is_some_and(same_init) {
                k.core = engine
                    .runtime()
                    .ok()
                    .and_then(|rt| rt.open(&id).ok())
                    .map(|c| (st.pid, st.pid_start, c));
            }
            if k.core.is_none() {
                self.kept.insert(id, k);
                continue;
            }
            let started_ns = st.started_at.map_or(0, |s| {
                s.timestamp_nanos_opt().map_or(0, |n| n.max(0) as u64)
            });
            let kept = self.kept_sample(engine, &id, &mut k, epoch_ns(now), started_ns);
            let Some((_, _, core)) = &k.core else {
                continue;
            };
            let Some(stats) = kept.or_else(|| core.stats().ok()) else {
                // A container that stops while being read is left out,
                // and its handle dropped.
                k.core = None;
                self.kept.insert(id, k);
                continue;
            };
            let c = &k.config;
            let mut t = MetricsTarget::new(&id, &c.name, &c.image, stats).with_spec(core.spec());
            t.start_time = st
                .started_at
                .map(|s| s.timestamp() as f64 + f64::from(s.timestamp_subsec_millis()) / 1e3);
            t.health = st.health.as_ref().map(|h| {
                match h.status {
                    HealthStatus::Starting => "starting",
                    HealthStatus::Healthy => "healthy",
                    HealthStatus::Unhealthy => "unhealthy",
                }
                .to_string()
            });
            t.restarts = Some(u64::from(st.restart_count));
            k.last = Some(t.stats.clone());
            out.push((c.created, t));
            self.kept.insert(id, k);
        }
        out.sort_by_key(|(created, _)| *created);
        Ok(out.into_iter().map(|(_, t)| t).collect())
    }

    /// The ids in the engine's containers directory, listed again only
    /// when the directory changed (an entry created, renamed or removed
    /// moves its mtime).
    fn ids(&mut self, engine: &Engine, now: SystemTime) -> Result<Vec<String>> {
        if self.listing.is_none() {
            let d = engine.store.root().join("containers");
            self.listing = open_dir(&d).map(|f| (f, None, Vec::new()));
        }
        let Some((dir, stamp, ids)) = &mut self.listing else {
            // No such directory (yet): as `Store::ids` says it.
            return engine.store.ids();
        };
        match settled_mtime(dir, now) {
            Ok((mtime, _)) if *stamp == Some(mtime) => {}
            Ok((mtime, settled)) => {
                *ids = engine.store.ids()?;
                *stamp = settled.then_some(mtime);
            }
            Err(_) => {
                self.listing = None;
                return engine.store.ids();
            }
        }
        Ok(ids.clone())
    }

    /// The newest sample known of the container's current run (taken at
    /// or after `started_ns`) if it is at most `max_age` old at `now_ns`:
    /// its ring's newest, or the one served last if that is newer (a
    /// cgroup read when the ring was not fresh: served again rather than
    /// an older sample). `None` without a ring.
    fn kept_sample(
        &self,
        engine: &Engine,
        id: &str,
        k: &mut Kept,
        now_ns: u64,
        started_ns: u64,
    ) -> Option<Stats> {
        if self.max_age.is_zero() {
            return None;
        }
        let max_age = self.max_age.as_nanos() as u64;
        let fresh = |s: &&Stats| {
            s.timestamp_ns >= started_ns && now_ns.saturating_sub(s.timestamp_ns) <= max_age
        };
        if k.ring.is_none() && k.config.stats_history.interval().is_some() {
            // Not there yet (a monitor that has not opened it): tried
            // again next time.
            k.ring = Newest::open(&engine.store.dir(id).join(HISTORY_FILE))
                .ok()
                .flatten();
        }
        // No ring (history off): the cgroup is read at every scrape.
        let ring = k.ring.as_mut()?.newest().filter(fresh);
        let last = k.last.as_ref().filter(fresh);
        match (ring, last) {
            (Some(r), Some(l)) if l.timestamp_ns > r.timestamp_ns => Some(l.clone()),
            (r, l) => r.or(l).cloned(),
        }
    }

    /// The Prometheus text for every active container.
    pub fn scrape(&mut self, engine: &Engine) -> Result<String> {
        Ok(render(&self.targets(engine)?))
    }
}

/// The targets of every active container, oldest first (one-shot: every
/// cgroup read now).
pub fn targets(engine: &Engine) -> Result<Vec<MetricsTarget>> {
    Scraper::with_max_age(Duration::ZERO).targets(engine)
}

/// The Prometheus text for every active container (one-shot: every
/// cgroup read now).
pub fn scrape(engine: &Engine) -> Result<String> {
    Scraper::with_max_age(Duration::ZERO).scrape(engine)
}
