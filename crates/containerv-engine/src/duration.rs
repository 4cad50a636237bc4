//! Docker's duration strings (`30s`, `1m30s`, `500ms`, `1h`) for
//! `--health-interval`, `--stop-timeout`-like flags and `logs --since`.
//!
//! The grammar (Go's `time.ParseDuration`) is parsed by
//! `containerv::time::parse_go_duration`, shared with the runtime.

use std::time::Duration;

use crate::error::{Error, Result};

/// Parses a Go-style duration for option `option` (used in the error):
/// `containerv::time::parse_go_duration`, the one parser.
pub fn parse_duration(option: &str, s: &str) -> Result<Duration> {
    containerv::time::parse_go_duration(s).map_err(|why| Error::option(option, s, why.to_string()))
}

/// Formats a duration the way `docker ps` does in "Up 5 seconds".
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => "Less than a second".into(),
        1 => "1 second".into(),
        2..=59 => format!("{s} seconds"),
        60..=119 => "About a minute".into(),
        120..=3599 => format!("{} minutes", s / 60),
        3600..=7199 => "About an hour".into(),
        7200..=172_799 => format!("{} hours", s / 3600),
        _ => format!("{} days", s / 86400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_durations() {
        assert_eq!(parse_duration("x", "30s").unwrap(), Duration::from_secs(30));
        assert_eq!(
            parse_duration("x", "1m30s").unwrap(),
            Duration::from_secs(90)
        );
        assert_eq!(
            parse_duration("x", "500ms").unwrap(),
            Duration::from_millis(500)
        );
        assert_eq!(
            parse_duration("x", "1.5s").unwrap(),
            Duration::from_millis(1500)
        );
        assert_eq!(
            parse_duration("x", "2h").unwrap(),
            Duration::from_secs(7200)
        );
        assert_eq!(parse_duration("x", "0").unwrap(), Duration::ZERO);
    }

    #[test]
    fn rejects_bad_durations_naming_the_option() {
        for bad in ["", "10", "abc", "5 parsecs", "-1s", "s", "1x"] {
            let e = parse_duration("--health-interval", bad)
                .unwrap_err()
                .to_string();
            assert!(e.contains("--health-interval"), "{e}");
        }
    }

    #[test]
    fn human_durations_like_docker() {
        assert_eq!(human(Duration::from_secs(5)), "5 seconds");
        assert_eq!(human(Duration::from_secs(90)), "About a minute");
        assert_eq!(human(Duration::from_secs(600)), "10 minutes");
    }
}
