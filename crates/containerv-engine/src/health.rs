//! Health checks as docker runs them: the configuration (`--health-*`),
//! the state machine (starting → healthy / unhealthy) and the record
//! `ps` and `inspect` show (status, failing streak, last five results with
//! their output truncated to 4096 bytes).
//!
//! The probe itself (a process spawned in the container with a timeout)
//! lives in the monitor; this module only decides what a result means.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::duration::parse_duration;
use crate::error::{Error, Result};

/// Docker's defaults.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_RETRIES: u32 = 3;
/// Results kept in the record.
pub const MAX_LOG_ENTRIES: usize = 5;
/// Bytes of probe output kept per result.
pub const MAX_OUTPUT_LEN: usize = 4096;

/// `--health-cmd` and friends, stored like docker's `Config.Healthcheck`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthConfig {
    /// `["CMD-SHELL", "cmd"]` or `["CMD", "arg0", ...]`.
    pub test: Vec<String>,
    #[serde(with = "nanos")]
    pub interval: Duration,
    #[serde(with = "nanos")]
    pub timeout: Duration,
    #[serde(with = "nanos")]
    pub start_period: Duration,
    pub retries: u32,
}

impl HealthConfig {
    /// Builds the config from the flags' strings (`None`: the default).
    pub fn from_flags(
        cmd: &str,
        interval: Option<&str>,
        timeout: Option<&str>,
        start_period: Option<&str>,
        retries: Option<i64>,
    ) -> Result<Self> {
        if cmd.trim().is_empty() {
            return Err(Error::option("--health-cmd", cmd, "empty command"));
        }
        let positive = |flag: &str, v: Option<&str>, default: Duration| -> Result<Duration> {
            match v {
                None => Ok(default),
                Some(s) => {
                    let d = parse_duration(flag, s)?;
                    if d.is_zero() {
                        Ok(default)
                    } else if d < Duration::from_millis(1) {
                        Err(Error::option(flag, s, "must be at least 1ms"))
                    } else {
                        Ok(d)
                    }
                }
            }
        };
        let retries = match retries {
            None | Some(0) => DEFAULT_RETRIES,
            Some(n) if n < 0 => {
                return Err(Error::option(
                    "--health-retries",
                    n.to_string(),
                    "must be 0 or more",
                ))
            }
            Some(n) => u32::try_from(n)
                .map_err(|_| Error::option("--health-retries", n.to_string(), "too large"))?,
        };
        Ok(HealthConfig {
            test: vec!["CMD-SHELL".into(), cmd.into()],
            interval: positive("--health-interval", interval, DEFAULT_INTERVAL)?,
            timeout: positive("--health-timeout", timeout, DEFAULT_TIMEOUT)?,
            start_period: positive("--health-start-period", start_period, Duration::ZERO)?,
            retries,
        })
    }

    /// The image's `HEALTHCHECK` with the `--health-*` flags given over it
    /// (docker merges field by field). `None` when the image has none or
    /// says `NONE`; an unknown test kind is refused.
    pub fn from_image(
        image: &containerv_image::spec::ImageHealthcheck,
        interval: Option<&str>,
        timeout: Option<&str>,
        start_period: Option<&str>,
        retries: Option<i64>,
    ) -> Result<Option<Self>> {
        match image.test.first().map(String::as_str) {
            None | Some("NONE") => return Ok(None),
            Some("CMD") | Some("CMD-SHELL") if image.test.len() > 1 => {}
            Some(_) => {
                return Err(Error::option(
                    "image",
                    image.test.join(" "),
                    "unsupported HEALTHCHECK test (expected CMD or CMD-SHELL)",
                ))
            }
        }
        // The flags validated as for --health-cmd (the placeholder command
        // is replaced by the image's test below).
        let mut h = Self::from_flags("true", interval, timeout, start_period, retries)?;
        h.test = image.test.clone();
        let ns = Duration::from_nanos;
        if interval.is_none() && image.interval > 0 {
            h.interval = ns(image.interval);
        }
        if timeout.is_none() && image.timeout > 0 {
            h.timeout = ns(image.timeout);
        }
        if start_period.is_none() && image.start_period > 0 {
            h.start_period = ns(image.start_period);
        }
        if retries.is_none() && image.retries > 0 {
            h.retries = u32::try_from(image.retries).unwrap_or(u32::MAX);
        }
        Ok(Some(h))
    }

    /// The argv to run in the container.
    pub fn argv(&self) -> Vec<String> {
        match self.test.first().map(String::as_str) {
            Some("CMD-SHELL") => vec!["/bin/sh".into(), "-c".into(), self.test[1..].join(" ")],
            Some("CMD") => self.test[1..].to_vec(),
            _ => self.test.clone(),
        }
    }
}

/// `State.Health.Status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    #[default]
    Starting,
    Healthy,
    Unhealthy,
}

impl std::fmt::Display for HealthStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HealthStatus::Starting => "health: starting",
            HealthStatus::Healthy => "healthy",
            HealthStatus::Unhealthy => "unhealthy",
        })
    }
}

/// One probe's result (`State.Health.Log[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProbeResult {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The probe's exit code; -1 when it timed out or could not start.
    pub exit_code: i32,
    pub output: String,
}

impl ProbeResult {
    /// A result with `output` truncated to [`MAX_OUTPUT_LEN`] bytes (on a
    /// character boundary).
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>, exit_code: i32, output: &[u8]) -> Self {
        let mut s = String::from_utf8_lossy(output).into_owned();
        if s.len() > MAX_OUTPUT_LEN {
            let mut cut = MAX_OUTPUT_LEN;
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            s.truncate(cut);
        }
        ProbeResult {
            start,
            end,
            exit_code,
            output: s,
        }
    }

    /// The result docker records for a probe that ran past its timeout.
    pub fn timed_out(start: DateTime<Utc>, end: DateTime<Utc>, timeout: Duration) -> Self {
        ProbeResult::new(
            start,
            end,
            -1,
            format!("Health check exceeded timeout ({:?})", timeout).as_bytes(),
        )
    }
}

/// `State.Health`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Health {
    pub status: HealthStatus,
    pub failing_streak: u32,
    pub log: Vec<ProbeResult>,
}

impl Health {
    /// Records a result; `since_start` is the time from the container's
    /// start to the probe's start. Returns the new status. Docker's rules:
    /// success → healthy, streak 0; a failure while still `starting` and
    /// inside the start period does not count; otherwise the streak grows
    /// and reaching `retries` makes it unhealthy.
    pub fn record(
        &mut self,
        config: &HealthConfig,
        result: ProbeResult,
        since_start: Duration,
    ) -> HealthStatus {
        if result.exit_code == 0 {
            self.status = HealthStatus::Healthy;
            self.failing_streak = 0;
        } else {
            let in_grace =
                self.status == HealthStatus::Starting && since_start < config.start_period;
            if !in_grace {
                self.failing_streak += 1;
                if self.failing_streak >= config.retries {
                    self.status = HealthStatus::Unhealthy;
                }
            }
        }
        self.log.push(result);
        if self.log.len() > MAX_LOG_ENTRIES {
            let extra = self.log.len() - MAX_LOG_ENTRIES;
            self.log.drain(..extra);
        }
        self.status
    }
}

/// Durations as integer nanoseconds, as docker stores them.
mod nanos {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_nanos() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_nanos(u64::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(retries: u32, start_period: Duration) -> HealthConfig {
        HealthConfig {
            test: vec!["CMD-SHELL".into(), "true".into()],
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            start_period,
            retries,
        }
    }

    fn res(code: i32) -> ProbeResult {
        let now = Utc::now();
        ProbeResult::new(now, now, code, b"out")
    }

    #[test]
    fn failing_then_passing() {
        let c = cfg(3, Duration::ZERO);
        let mut h = Health::default();
        let late = Duration::from_secs(100);
        assert_eq!(h.status, HealthStatus::Starting);
        assert_eq!(h.record(&c, res(1), late), HealthStatus::Starting);
        assert_eq!(h.record(&c, res(1), late), HealthStatus::Starting);
        assert_eq!(h.record(&c, res(1), late), HealthStatus::Unhealthy);
        assert_eq!(h.failing_streak, 3);
        assert_eq!(h.record(&c, res(0), late), HealthStatus::Healthy);
        assert_eq!(h.failing_streak, 0);
        assert_eq!(h.record(&c, res(1), late), HealthStatus::Healthy);
        assert_eq!(h.record(&c, res(2), late), HealthStatus::Healthy);
        assert_eq!(h.record(&c, res(-1), late), HealthStatus::Unhealthy);
    }

    #[test]
    fn failures_inside_the_start_period_do_not_count() {
        let c = cfg(1, Duration::from_secs(10));
        let mut h = Health::default();
        assert_eq!(
            h.record(&c, res(1), Duration::from_secs(2)),
            HealthStatus::Starting
        );
        assert_eq!(h.failing_streak, 0);
        assert_eq!(
            h.record(&c, res(1), Duration::from_secs(11)),
            HealthStatus::Unhealthy
        );
        // Once healthy, the start period no longer shields failures.
        let mut h = Health::default();
        h.record(&c, res(0), Duration::from_secs(1));
        assert_eq!(
            h.record(&c, res(1), Duration::from_secs(2)),
            HealthStatus::Unhealthy
        );
    }

    #[test]
    fn keeps_five_results_and_truncates_output() {
        let c = cfg(3, Duration::ZERO);
        let mut h = Health::default();
        for i in 0..8 {
            let now = Utc::now();
            h.record(
                &c,
                ProbeResult::new(now, now, 0, format!("run {i}").as_bytes()),
                Duration::ZERO,
            );
        }
        assert_eq!(h.log.len(), MAX_LOG_ENTRIES);
        assert_eq!(h.log[0].output, "run 3");
        let now = Utc::now();
        let big = "é".repeat(3000);
        let r = ProbeResult::new(now, now, 0, big.as_bytes());
        assert_eq!(r.output.len(), MAX_OUTPUT_LEN);
    }

    #[test]
    fn flags_with_defaults_and_errors() {
        let c = HealthConfig::from_flags("curl -f x", None, Some("2s"), None, None).unwrap();
        assert_eq!(c.interval, DEFAULT_INTERVAL);
        assert_eq!(c.timeout, Duration::from_secs(2));
        assert_eq!(c.retries, DEFAULT_RETRIES);
        assert_eq!(c.argv(), ["/bin/sh", "-c", "curl -f x"]);
        let e = HealthConfig::from_flags("x", Some("often"), None, None, None).unwrap_err();
        assert!(e.to_string().contains("--health-interval"), "{e}");
        let e = HealthConfig::from_flags("x", None, None, None, Some(-2)).unwrap_err();
        assert!(e.to_string().contains("--health-retries"), "{e}");
        let e = HealthConfig::from_flags(" ", None, None, None, None).unwrap_err();
        assert!(e.to_string().contains("--health-cmd"), "{e}");
        let j = serde_json::to_value(&c).unwrap();
        assert_eq!(j["Timeout"], 2_000_000_000u64);
        assert_eq!(j["Test"][0], "CMD-SHELL");
    }
}
