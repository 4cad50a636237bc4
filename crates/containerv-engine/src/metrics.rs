//! The engine's Prometheus figures: every running (or paused) container's
//! [`containerv::Stats`] with the engine's labels (id, name, image), CPU
//! quota from its spec, health status and restart count, rendered by
//! [`containerv::metrics::render`] (cAdvisor's names; see there).
//!
//! A container that stops while being read is left out of that scrape
//! rather than failing it: a scrape never fails because of one container.

use containerv::metrics::{render, MetricsTarget};

use crate::engine::Engine;
use crate::error::Result;
use crate::health::HealthStatus;

/// The targets of every active container, oldest first.
pub fn targets(engine: &Engine) -> Result<Vec<MetricsTarget>> {
    let mut out = Vec::new();
    for e in engine.store.list()? {
        let st = e.state.observed();
        if !st.status.is_active() {
            continue;
        }
        let Ok(core) = engine.core(&e.config.id) else {
            continue;
        };
        let Ok(stats) = core.stats() else {
            continue;
        };
        let mut t = MetricsTarget::new(&e.config.id, &e.config.name, &e.config.image, stats)
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
    }
    Ok(out)
}

/// The Prometheus text for every active container.
pub fn scrape(engine: &Engine) -> Result<String> {
    Ok(render(&targets(engine)?))
}
