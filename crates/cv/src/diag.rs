//! Diagnostics that reach the user: the `tracing` events of the library
//! crates (seccomp agent, registry retries, log rotation...) printed on
//! stderr at docker's `--log-level` (`-D` is debug), and passed on to a
//! container's monitor (whose stderr is the container's `monitor.log`)
//! through [`LEVEL_ENV`]. And errors printed with their causes once.

use tracing_subscriber::filter::LevelFilter;

/// A log level as `--log-level` takes it.
pub type Level = LevelFilter;

/// The environment variable a monitor started by this `cv` reads its
/// level from.
pub const LEVEL_ENV: &str = "CONTAINERV_LOG_LEVEL";

/// docker's level names (`fatal` is `error` here: nothing logs above it).
pub fn parse_level(s: &str) -> Result<Level, String> {
    Ok(match s.to_ascii_lowercase().as_str() {
        "debug" => LevelFilter::DEBUG,
        "info" => LevelFilter::INFO,
        "warn" | "warning" => LevelFilter::WARN,
        "error" | "fatal" | "panic" => LevelFilter::ERROR,
        "trace" => LevelFilter::TRACE,
        _ => {
            return Err(format!(
                "unknown level {s:?}: one of debug, info, warn, error, fatal"
            ))
        }
    })
}

/// The CLI's subscriber: `LEVEL message` lines on stderr, no colours.
/// Monitors started from here log at the same level.
pub fn init(level: Level) {
    // Set in main before any thread exists.
    std::env::set_var(LEVEL_ENV, level.to_string());
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_target(false)
        .without_time()
        .try_init();
}

/// A monitor's subscriber: timestamped lines on its stderr (monitor.log),
/// at the level of the `cv` that started it (info when unset).
pub fn init_monitor() {
    let level = std::env::var(LEVEL_ENV)
        .ok()
        .and_then(|l| parse_level(&l).ok())
        .unwrap_or(LevelFilter::INFO);
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_target(false)
        .try_init();
}

/// `e` and its causes, joined by ": ", each cause once: the library errors
/// (`Io`, `Sys`, `Setup`...) name their OS cause in their own message and
/// also return it as `source()`, which `{:#}` would print a second time.
pub fn chain(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_level_names() {
        assert_eq!(parse_level("debug").unwrap(), LevelFilter::DEBUG);
        assert_eq!(parse_level("INFO").unwrap(), LevelFilter::INFO);
        assert_eq!(parse_level("warn").unwrap(), LevelFilter::WARN);
        assert_eq!(parse_level("fatal").unwrap(), LevelFilter::ERROR);
        let e = parse_level("loud").unwrap_err();
        assert!(e.contains("loud") && e.contains("fatal"), "{e}");
        // What init() hands a monitor reads back as the same level.
        for l in [LevelFilter::DEBUG, LevelFilter::WARN, LevelFilter::ERROR] {
            assert_eq!(parse_level(&l.to_string()).unwrap(), l);
        }
    }

    #[test]
    fn os_cause_printed_once() {
        let io = std::io::Error::from_raw_os_error(libc::ENOENT);
        let os = io.to_string();
        let e = containerv::Error::io("open", "/nowhere", io);
        let e = anyhow::Error::new(e).context("starting container x");
        let s = chain(&e);
        assert_eq!(s.matches(&os).count(), 1, "{s}");
        assert!(
            s.starts_with("starting container x: open /nowhere: "),
            "{s}"
        );
        // Plain contexts are all kept.
        let e = anyhow::anyhow!("inner").context("middle").context("outer");
        assert_eq!(chain(&e), "outer: middle: inner");
    }
}
