//! Restart policies and docker's restart backoff.
//!
//! The monitor asks [`RestartManager::should_restart`] each time the
//! container's init exits. The rules are docker's (moby's
//! `restartmanager`): `no`, `on-failure[:max]`, `always`,
//! `unless-stopped`; a manual stop never restarts; the delay before a
//! restart starts at 100 ms and doubles up to 1 minute, and goes back to
//! 100 ms after a run of at least 10 s.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// First restart delay.
pub const INITIAL_BACKOFF: Duration = Duration::from_millis(100);
/// Largest restart delay.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// A run at least this long resets the delay to [`INITIAL_BACKOFF`].
pub const RESET_AFTER: Duration = Duration::from_secs(10);

/// `--restart`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "Name", content = "MaximumRetryCount")]
pub enum RestartPolicy {
    /// Never restart.
    #[default]
    #[serde(rename = "no")]
    No,
    /// Restart after a non-zero exit, at most `max` times (0: no limit).
    #[serde(rename = "on-failure")]
    OnFailure(u32),
    /// Always restart (except after a manual stop).
    #[serde(rename = "always")]
    Always,
    /// Restart unless the user stopped it.
    #[serde(rename = "unless-stopped")]
    UnlessStopped,
}

impl RestartPolicy {
    /// Parses `no`, `on-failure`, `on-failure:N`, `always`, `unless-stopped`.
    pub fn parse(s: &str) -> Result<Self> {
        let bad = |why: &str| Error::option("--restart", s, why.to_string());
        let (name, max) = match s.split_once(':') {
            Some((n, m)) => (n, Some(m)),
            None => (s, None),
        };
        let policy = match name {
            "" | "no" => RestartPolicy::No,
            "on-failure" => {
                let n = match max {
                    None => 0,
                    Some(m) => m
                        .parse::<u32>()
                        .map_err(|_| bad("the maximum retry count must be a number >= 0"))?,
                };
                return Ok(RestartPolicy::OnFailure(n));
            }
            "always" => RestartPolicy::Always,
            "unless-stopped" => RestartPolicy::UnlessStopped,
            _ => {
                return Err(bad(
                    "unknown policy (use no, on-failure[:max], always or unless-stopped)",
                ))
            }
        };
        if max.is_some() {
            return Err(bad("only on-failure takes a maximum retry count"));
        }
        Ok(policy)
    }

    /// True for every policy but `no`.
    pub fn restarts(&self) -> bool {
        *self != RestartPolicy::No
    }
}

impl fmt::Display for RestartPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RestartPolicy::No => f.write_str("no"),
            RestartPolicy::OnFailure(0) => f.write_str("on-failure"),
            RestartPolicy::OnFailure(n) => write!(f, "on-failure:{n}"),
            RestartPolicy::Always => f.write_str("always"),
            RestartPolicy::UnlessStopped => f.write_str("unless-stopped"),
        }
    }
}

/// The restart decision and delay for one container (one per monitor).
#[derive(Debug, Clone)]
pub struct RestartManager {
    policy: RestartPolicy,
    /// Restarts done so far (docker's `RestartCount`).
    pub restart_count: u32,
    /// The current delay; `None` before the first restart decision.
    delay: Option<Duration>,
}

impl RestartManager {
    pub fn new(policy: RestartPolicy, restart_count: u32) -> Self {
        RestartManager {
            policy,
            restart_count,
            delay: None,
        }
    }

    /// A new policy (`cv update --restart`); the backoff and count stay.
    pub fn set_policy(&mut self, policy: RestartPolicy) {
        self.policy = policy;
    }

    pub fn policy(&self) -> RestartPolicy {
        self.policy
    }

    /// Called when the init exited with `exit_code` after running for
    /// `ran_for`. Returns the delay to wait before restarting, or `None`
    /// when the container stays down.
    pub fn should_restart(
        &mut self,
        exit_code: i32,
        manually_stopped: bool,
        ran_for: Duration,
    ) -> Option<Duration> {
        if ran_for >= RESET_AFTER {
            self.delay = None;
        }
        let next = match self.delay {
            None => INITIAL_BACKOFF,
            Some(d) => (d * 2).min(MAX_BACKOFF),
        };
        self.delay = Some(next);
        if manually_stopped {
            return None;
        }
        let restart = match self.policy {
            RestartPolicy::No => false,
            RestartPolicy::Always | RestartPolicy::UnlessStopped => true,
            RestartPolicy::OnFailure(max) => {
                exit_code != 0 && (max == 0 || self.restart_count < max)
            }
        };
        if !restart {
            return None;
        }
        self.restart_count += 1;
        Some(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHORT: Duration = Duration::from_millis(5);

    #[test]
    fn parses_every_policy() {
        assert_eq!(RestartPolicy::parse("no").unwrap(), RestartPolicy::No);
        assert_eq!(
            RestartPolicy::parse("on-failure").unwrap(),
            RestartPolicy::OnFailure(0)
        );
        assert_eq!(
            RestartPolicy::parse("on-failure:3").unwrap(),
            RestartPolicy::OnFailure(3)
        );
        assert_eq!(
            RestartPolicy::parse("always").unwrap(),
            RestartPolicy::Always
        );
        assert_eq!(
            RestartPolicy::parse("unless-stopped").unwrap(),
            RestartPolicy::UnlessStopped
        );
        for p in [
            "no",
            "on-failure",
            "on-failure:3",
            "always",
            "unless-stopped",
        ] {
            assert_eq!(RestartPolicy::parse(p).unwrap().to_string(), p);
        }
    }

    #[test]
    fn rejects_bad_policies_clearly() {
        for bad in ["sometimes", "on-failure:x", "on-failure:-1", "always:3"] {
            let e = RestartPolicy::parse(bad).unwrap_err().to_string();
            assert!(e.contains("--restart") && e.contains(bad), "{e}");
        }
    }

    #[test]
    fn backoff_doubles_to_a_minute_and_resets_after_ten_seconds() {
        let mut m = RestartManager::new(RestartPolicy::Always, 0);
        let mut delays = Vec::new();
        for _ in 0..12 {
            delays.push(m.should_restart(1, false, SHORT).unwrap());
        }
        let ms: Vec<u128> = delays.iter().map(|d| d.as_millis()).collect();
        assert_eq!(
            ms,
            [100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000]
        );
        assert_eq!(m.restart_count, 12);
        // A long run resets the delay.
        assert_eq!(
            m.should_restart(1, false, Duration::from_secs(10)),
            Some(INITIAL_BACKOFF)
        );
        assert_eq!(
            m.should_restart(1, false, SHORT),
            Some(Duration::from_millis(200))
        );
    }

    #[test]
    fn no_never_restarts() {
        let mut m = RestartManager::new(RestartPolicy::No, 0);
        assert_eq!(m.should_restart(1, false, SHORT), None);
        assert_eq!(m.should_restart(0, false, SHORT), None);
        assert_eq!(m.restart_count, 0);
    }

    #[test]
    fn on_failure_only_on_nonzero_and_up_to_max() {
        let mut m = RestartManager::new(RestartPolicy::OnFailure(2), 0);
        assert_eq!(m.should_restart(0, false, SHORT), None);
        assert!(m.should_restart(3, false, SHORT).is_some());
        assert!(m.should_restart(3, false, SHORT).is_some());
        assert_eq!(m.should_restart(3, false, SHORT), None);
        assert_eq!(m.restart_count, 2);
        let mut unlimited = RestartManager::new(RestartPolicy::OnFailure(0), 0);
        for _ in 0..50 {
            assert!(unlimited.should_restart(1, false, SHORT).is_some());
        }
    }

    #[test]
    fn always_and_unless_stopped_restart_on_success_but_not_after_stop() {
        for p in [RestartPolicy::Always, RestartPolicy::UnlessStopped] {
            let mut m = RestartManager::new(p, 0);
            assert!(m.should_restart(0, false, SHORT).is_some());
            assert!(m.should_restart(137, false, SHORT).is_some());
            assert_eq!(m.should_restart(0, true, SHORT), None);
        }
    }

    #[test]
    fn serializes_like_docker_host_config() {
        let j = serde_json::to_string(&RestartPolicy::OnFailure(3)).unwrap();
        assert_eq!(j, r#"{"Name":"on-failure","MaximumRetryCount":3}"#);
        let back: RestartPolicy = serde_json::from_str(&j).unwrap();
        assert_eq!(back, RestartPolicy::OnFailure(3));
    }
}
