//! The engine's Prometheus figures: every running (or paused) container's
//! [`containerv::Stats`] with the engine's labels (id, name, image), CPU
//! quota from its spec, health status and restart count, rendered by
//! [`containerv::metrics::render`] (cAdvisor's names; see there).
//!
//! A container that stops while being read is left out of that scrape
//! rather than failing it: a scrape never fails because of one container.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use containerv::metrics::{render, MetricsTarget};

use crate::engine::Engine;
use crate::error::Result;
use crate::health::HealthStatus;
use crate::record::{ContainerConfig, ContainerState};

/// A container directory changed this recently may change again within
/// the same tick of the file system's clock (its mtime would not move):
/// its records are read again at the next scrape rather than trusted.
const RACY: Duration = Duration::from_millis(100);

/// What a [`Scraper`] keeps of one container between scrapes.
#[derive(Debug)]
struct Kept {
    /// The container directory's mtime when `config` and `state` were
    /// read; `None`: read them again next time.
    stamp: Option<SystemTime>,
    config: ContainerConfig,
    /// As the store read it (liveness is checked at every scrape).
    state: ContainerState,
    /// Init pid, its start time and the core handle (cgroup files open).
    core: Option<(i32, u64, containerv::Container)>,
}

/// Scrapes the engine, keeping from one scrape to the next each
/// container's records and, while it runs, its core handle (its cgroup
/// files stay open, see the core's `monitor.rs`): a server that scrapes
/// every second neither reopens nor re-parses anything that did not
/// change. Records are read again when the container's directory
/// changed (every record write renames a file into it, so its mtime
/// moves); a handle is dropped once its container stops or is replaced
/// (another init).
#[derive(Debug, Default)]
pub struct Scraper {
    kept: HashMap<String, Kept>,
}

impl Scraper {
    /// The targets of every active container, oldest first.
    pub fn targets(&mut self, engine: &Engine) -> Result<Vec<MetricsTarget>> {
        let mut out = Vec::new();
        let mut kept = HashMap::new();
        let now = SystemTime::now();
        for id in engine.store.ids()? {
            // Removed meanwhile: left out (its handle is dropped below).
            let Ok(mtime) = std::fs::metadata(engine.store.dir(&id)).and_then(|m| m.modified())
            else {
                continue;
            };
            let mut k = match self.kept.remove(&id) {
                Some(k) if k.stamp == Some(mtime) => k,
                old => {
                    // Damaged or half-removed records: left out, as
                    // `Store::list` leaves them.
                    let Ok(e) = engine.store.load(&id) else {
                        continue;
                    };
                    let settled = now.duration_since(mtime).is_ok_and(|d| d >= RACY);
                    Kept {
                        stamp: settled.then_some(mtime),
                        config: e.config,
                        state: e.state,
                        core: old.and_then(|o| o.core),
                    }
                }
            };
            let st = k.state.observed();
            if !st.status.is_active() || st.pid == 0 {
                k.core = None;
                kept.insert(id, k);
                continue;
            }
            let core = match k.core.take() {
                Some((pid, start, c)) if pid == st.pid && start == st.pid_start => Some(c),
                _ => engine.runtime().ok().and_then(|rt| rt.open(&id).ok()),
            };
            let Some(core) = core else {
                kept.insert(id, k);
                continue;
            };
            // A container that stops while being read is left out, and
            // its handle dropped.
            if let Ok(stats) = core.stats() {
                let c = &k.config;
                let mut t =
                    MetricsTarget::new(&id, &c.name, &c.image, stats).with_spec(core.spec());
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
                out.push((c.created, t));
                k.core = Some((st.pid, st.pid_start, core));
            }
            kept.insert(id, k);
        }
        // What is kept of containers gone since the last scrape is
        // dropped here.
        self.kept = kept;
        out.sort_by_key(|(created, _)| *created);
        Ok(out.into_iter().map(|(_, t)| t).collect())
    }

    /// The Prometheus text for every active container.
    pub fn scrape(&mut self, engine: &Engine) -> Result<String> {
        Ok(render(&self.targets(engine)?))
    }
}

/// The targets of every active container, oldest first (one-shot).
pub fn targets(engine: &Engine) -> Result<Vec<MetricsTarget>> {
    Scraper::default().targets(engine)
}

/// The Prometheus text for every active container (one-shot).
pub fn scrape(engine: &Engine) -> Result<String> {
    Scraper::default().scrape(engine)
}
