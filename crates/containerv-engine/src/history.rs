//! Stats history of managed containers: the `--stats-interval` and
//! `--stats-retention` flags, and reading a container's samples back.
//!
//! The container's monitor samples it (`monitor/sampler.rs`) into a ring
//! file in the container's directory ([`HISTORY_FILE`], the core's
//! [`containerv::history`] format), so the samples outlive the monitor (a
//! replacement continues the same ring), are readable by any `cv`
//! process, go away with `cv rm`, and cost a bounded amount of disk
//! ([`containerv::history::file_size`]) and no memory beyond one
//! descriptor in the monitor.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use containerv::history::{
    capacity_for, DEFAULT_INTERVAL, DEFAULT_RETENTION, MAX_CAPACITY, MIN_INTERVAL,
};

use crate::duration::parse_duration;
use crate::error::{Error, Result};
use crate::store::Store;

/// The ring file in a container's directory.
pub const HISTORY_FILE: &str = "stats.ring";

/// The longest sampling interval accepted.
const MAX_INTERVAL: Duration = Duration::from_secs(3600);

/// The flags as given (`cv run`/`create`).
#[derive(Debug, Clone, Default)]
pub struct HistoryOptions {
    /// `--stats-interval` (Go duration; `0` turns sampling off).
    pub interval: Option<String>,
    /// `--stats-retention` (Go duration).
    pub retention: Option<String>,
}

/// How a container is sampled (in its config record).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryConfig {
    /// Milliseconds between samples; 0 = no history.
    pub interval_ms: u64,
    /// How far back the ring reaches, in seconds.
    pub retention_s: u64,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        HistoryConfig {
            interval_ms: DEFAULT_INTERVAL.as_millis() as u64,
            retention_s: DEFAULT_RETENTION.as_secs(),
        }
    }
}

impl HistoryConfig {
    /// The sampling interval, `None` when sampling is off.
    pub fn interval(&self) -> Option<Duration> {
        (self.interval_ms > 0).then(|| Duration::from_millis(self.interval_ms))
    }

    /// Slots of the container's ring.
    pub fn capacity(&self) -> u64 {
        capacity_for(
            self.interval().unwrap_or(DEFAULT_INTERVAL),
            Duration::from_secs(self.retention_s),
        )
    }
}

impl HistoryOptions {
    /// Validates the flags (errors name the flag and the bounds).
    pub fn to_config(&self) -> Result<HistoryConfig> {
        let mut c = HistoryConfig::default();
        if let Some(s) = &self.interval {
            let d = parse_duration("--stats-interval", s)?;
            if !d.is_zero() && !(MIN_INTERVAL..=MAX_INTERVAL).contains(&d) {
                return Err(Error::option(
                    "--stats-interval",
                    s.as_str(),
                    "must be 0 (no history) or between 100ms and 1h",
                ));
            }
            if d.subsec_nanos() % 1_000_000 != 0 {
                return Err(Error::option(
                    "--stats-interval",
                    s.as_str(),
                    "must be a whole number of milliseconds",
                ));
            }
            c.interval_ms = d.as_millis() as u64;
        }
        if let Some(s) = &self.retention {
            let d = parse_duration("--stats-retention", s)?;
            if d < Duration::from_secs(1) {
                return Err(Error::option(
                    "--stats-retention",
                    s.as_str(),
                    "must be at least 1s",
                ));
            }
            let interval = c.interval().unwrap_or(DEFAULT_INTERVAL);
            if d.as_nanos() > interval.as_nanos() * u128::from(MAX_CAPACITY) {
                let most = interval * MAX_CAPACITY as u32;
                return Err(Error::option(
                    "--stats-retention",
                    s.as_str(),
                    format!(
                        "a container keeps at most {MAX_CAPACITY} samples ({} at a {} interval)",
                        short(most),
                        short(interval),
                    ),
                ));
            }
            c.retention_s = d.as_secs();
        }
        Ok(c)
    }
}

/// `1h`, `10m`, `30s`, `100ms`: the largest unit that divides `d`.
fn short(d: Duration) -> String {
    let ms = d.as_millis();
    match ms {
        m if m % 3_600_000 == 0 => format!("{}h", m / 3_600_000),
        m if m % 60_000 == 0 => format!("{}m", m / 60_000),
        m if m % 1000 == 0 => format!("{}s", m / 1000),
        m => format!("{m}ms"),
    }
}

/// Container `id`'s samples taken at or after `since`, oldest first.
pub fn read(store: &Store, id: &str, since: Option<SystemTime>) -> Result<Vec<containerv::Stats>> {
    Ok(containerv::history::read(
        &store.dir(id).join(HISTORY_FILE),
        since,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(i: Option<&str>, r: Option<&str>) -> HistoryOptions {
        HistoryOptions {
            interval: i.map(Into::into),
            retention: r.map(Into::into),
        }
    }

    #[test]
    fn defaults_and_bounds() {
        let d = opts(None, None).to_config().unwrap();
        assert_eq!(d.interval(), Some(Duration::from_secs(1)));
        assert_eq!(d.capacity(), 3600);
        let c = opts(Some("100ms"), Some("10m")).to_config().unwrap();
        assert_eq!(c.capacity(), 6000);
        assert_eq!(opts(Some("0"), None).to_config().unwrap().interval(), None);
        for (i, r) in [
            (Some("50ms"), None),
            (Some("2h"), None),
            (Some("abc"), None),
            (Some("-1s"), None),
            (Some("100500us"), None),
            (None, Some("500ms")),
            (None, Some("11h")),
            (Some("100ms"), Some("2h")),
        ] {
            let e = opts(i, r).to_config().unwrap_err().to_string();
            assert!(e.contains("--stats-"), "{e}");
        }
    }
}
