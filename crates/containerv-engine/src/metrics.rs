//! The engine's Prometheus figures: every running (or paused) container's
//! [`containerv::Stats`] with the engine's labels (id, name, image), CPU
//! quota from its spec, health status and restart count, rendered by
//! [`containerv::metrics::render`] (cAdvisor's names; see there).
//!
//! A container that stops while being read is left out of that scrape
//! rather than failing it: a scrape never fails because of one container.

use std::collections::HashMap;

use containerv::metrics::{render, MetricsTarget};

use crate::engine::Engine;
use crate::error::Result;
use crate::health::HealthStatus;

/// Scrapes the engine, keeping each running container's core handle (its
/// cgroup files stay open, see the core's `monitor.rs`) from one scrape to
/// the next: a server that scrapes every second reopens nothing. A handle
/// is dropped once its container stops or is replaced (another init).
#[derive(Debug, Default)]
pub struct Scraper {
    /// id → (init pid, its start time, the core handle).
    cores: HashMap<String, (i32, u64, containerv::Container)>,
}

impl Scraper {
    /// The targets of every active container, oldest first.
    pub fn targets(&mut self, engine: &Engine) -> Result<Vec<MetricsTarget>> {
        let mut out = Vec::new();
        let mut live = HashMap::new();
        for e in engine.store.list()? {
            let st = e.state.observed();
            if !st.status.is_active() || st.pid == 0 {
                continue;
            }
            let id = &e.config.id;
            let core = match self.cores.remove(id) {
                Some((pid, start, c)) if pid == st.pid && start == st.pid_start => c,
                _ => match engine.core(id) {
                    Ok(c) => c,
                    Err(_) => continue,
                },
            };
            let Ok(stats) = core.stats() else {
                continue;
            };
            let mut t = MetricsTarget::new(id, &e.config.name, &e.config.image, stats)
                .with_spec(core.spec());
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
            out.push(t);
            live.insert(id.clone(), (st.pid, st.pid_start, core));
        }
        // Handles of containers gone since the last scrape are dropped here.
        self.cores = live;
        Ok(out)
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
