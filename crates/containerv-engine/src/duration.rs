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

/// Go-units' `HumanDuration`, which docker prints everywhere a relative
/// time appears: `docker ps`'s "Up 5 seconds" / "3 weeks ago" and the
/// CREATED column of `docker images`. The one copy.
pub fn human(d: Duration) -> String {
    let secs = d.as_secs();
    let minutes = secs / 60;
    // go-units: int(d.Hours() + 0.5)
    let hours = (d.as_secs_f64() / 3600.0 + 0.5) as u64;
    match () {
        _ if secs < 1 => "Less than a second".into(),
        _ if secs == 1 => "1 second".into(),
        _ if secs < 60 => format!("{secs} seconds"),
        _ if minutes == 1 => "About a minute".into(),
        _ if minutes < 60 => format!("{minutes} minutes"),
        _ if hours == 1 => "About an hour".into(),
        _ if hours < 48 => format!("{hours} hours"),
        _ if hours < 24 * 7 * 2 => format!("{} days", hours / 24),
        _ if hours < 24 * 30 * 2 => format!("{} weeks", hours / 24 / 7),
        _ if hours < 24 * 365 * 2 => format!("{} months", hours / 24 / 30),
        // go-units: int(d.Hours())/24/365, not rounded
        _ => format!("{} years", secs / 3600 / 24 / 365),
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
        // go-units' own table (units/duration_test.go)
        let h = |s: u64| human(Duration::from_secs(s));
        assert_eq!(h(0), "Less than a second");
        assert_eq!(h(1), "1 second");
        assert_eq!(h(59), "59 seconds");
        assert_eq!(h(60), "About a minute");
        assert_eq!(h(119), "About a minute");
        assert_eq!(h(120), "2 minutes");
        assert_eq!(h(3599), "59 minutes");
        assert_eq!(h(3600), "About an hour");
        assert_eq!(h(5399), "About an hour");
        assert_eq!(h(5400), "2 hours");
        assert_eq!(h(47 * 3600), "47 hours");
        assert_eq!(h(48 * 3600), "2 days");
        assert_eq!(h(13 * 86400), "13 days");
        assert_eq!(h(14 * 86400), "2 weeks");
        assert_eq!(h(59 * 86400), "8 weeks");
        assert_eq!(h(60 * 86400), "2 months");
        assert_eq!(h(729 * 86400), "24 months");
        assert_eq!(h(730 * 86400), "2 years");
        assert_eq!(h(3 * 365 * 86400), "3 years");
    }
}
