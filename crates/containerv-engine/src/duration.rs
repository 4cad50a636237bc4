//! Docker's duration strings (`30s`, `1m30s`, `500ms`, `1h`) for
//! `--health-interval`, `--stop-timeout`-like flags and `logs --since`.
//!
//! Go's `time.ParseDuration` grammar: one or more `<number><unit>` pairs,
//! units `ns us µs ms s m h`, decimals allowed (`1.5s`). A bare `0` is
//! zero.

use std::time::Duration;

use crate::error::{Error, Result};

/// Parses a Go-style duration for option `option` (used in the error).
pub fn parse_duration(option: &str, s: &str) -> Result<Duration> {
    let bad = |why: &str| Error::option(option, s, why.to_string());
    let t = s.trim();
    if t.is_empty() {
        return Err(bad("empty duration"));
    }
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    if t.starts_with('-') {
        return Err(bad("negative duration"));
    }
    let mut total: f64 = 0.0;
    let mut rest = t;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| bad("missing unit (use ms, s, m or h, e.g. 30s)"))?;
        if num_len == 0 {
            return Err(bad("expected a number"));
        }
        let n: f64 = rest[..num_len].parse().map_err(|_| bad("bad number"))?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale = match unit {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad("unknown unit (use ms, s, m or h)")),
        };
        total += n * scale;
    }
    if !total.is_finite() || total > 1e12 {
        return Err(bad("too large"));
    }
    Ok(Duration::from_secs_f64(total))
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
