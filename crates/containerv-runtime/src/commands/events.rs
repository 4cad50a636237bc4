//! events: `--stats` prints one stats event; otherwise a stats event every
//! `--interval` and an `oom` event whenever the OOM-kill count grows, until
//! the container stops (runc's stream).

use std::io::Write;
use std::time::Duration;

use containerv::Status;

use super::{open, require_alive, status};
use crate::cli::Cli;
use crate::error::{Fail, Result};
use crate::stats_json;

pub fn events(cli: &Cli, id: &str, once: bool, interval: &str) -> Result<i32> {
    let c = open(cli, id)?;
    require_alive(&c)?;
    let pids_limit = c
        .spec()
        .linux()
        .as_ref()
        .and_then(|l| l.resources().as_ref())
        .and_then(|r| r.pids().as_ref())
        .map(|p| p.limit());
    let every = parse_duration(interval)?;
    let mut ooms = None;
    let mut out = std::io::stdout().lock();
    loop {
        let s = c.stats()?;
        let mut lines = String::new();
        if ooms.is_some_and(|n| s.oom_kills > n) {
            lines.push_str(&stats_json::event("oom", id, None));
            lines.push('\n');
        }
        ooms = Some(s.oom_kills);
        lines.push_str(&stats_json::event(
            "stats",
            id,
            Some(stats_json::stats(&s, pids_limit)),
        ));
        lines.push('\n');
        out.write_all(lines.as_bytes())
            .and_then(|_| out.flush())
            .map_err(|e| Fail::new(format!("write output: {e}")))?;
        if once {
            return Ok(0);
        }
        std::thread::sleep(every);
        if status(&c)? == Status::Stopped {
            return Ok(0);
        }
    }
}

/// Go-style durations: "5s", "500ms", "1m", "1.5s", "100us" (the one
/// parser, `containerv::time::parse_go_duration`); zero is refused.
fn parse_duration(s: &str) -> Result<Duration> {
    let bad = || Fail::new(format!("--interval {s:?}: not a duration (e.g. 5s, 500ms)"));
    match containerv::time::parse_go_duration(s) {
        Ok(d) if !d.is_zero() => Ok(d),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("0s").is_err());
    }
}
