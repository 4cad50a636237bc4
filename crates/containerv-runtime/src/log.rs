//! Error and debug lines the way runc writes them, so callers that read
//! runc's log read ours: containerd's shim passes `--log <bundle>/log.json
//! --log-format json` and reports the last `"level":"error"` line's `msg`.
//!
//! - No `--log`: the line goes to stderr (logrus text, or JSON).
//! - `--log FILE`: the line is appended to FILE, and the bare message goes
//!   to stderr as well (what runc does).
//!
//! The library's `tracing` events (seccomp agent, cgroup fallbacks...)
//! become such lines too, through [`Forward`], a subscriber of a few lines
//! (no formatting crate: the runtime's start-up is on every `create`):
//! warnings and errors always, debug and trace with `--debug`.

use std::io::Write;
use std::sync::OnceLock;

use crate::cli::LogFormat;

struct Logger {
    file: Option<std::fs::File>,
    json: bool,
    debug: bool,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

/// Set up logging from the global flags. A log file that cannot be opened
/// is reported on stderr and logging falls back to stderr.
pub fn init(path: Option<&std::path::Path>, format: LogFormat, debug: bool) {
    let file = path.and_then(|p| {
        match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
        {
            Ok(f) => Some(f),
            Err(e) => {
                eprintln!("containerv: cannot open log file {}: {e}", p.display());
                None
            }
        }
    });
    let _ = LOGGER.set(Logger {
        file,
        json: format == LogFormat::Json,
        debug,
    });
    let _ = tracing::subscriber::set_global_default(Forward { debug });
}

/// The `tracing` subscriber: each event is one log line at its level.
struct Forward {
    debug: bool,
}

impl Forward {
    fn max(&self) -> tracing::Level {
        if self.debug {
            tracing::Level::TRACE
        } else {
            tracing::Level::WARN
        }
    }
}

impl tracing::Subscriber for Forward {
    fn enabled(&self, m: &tracing::Metadata<'_>) -> bool {
        *m.level() <= self.max()
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(self.max().into())
    }

    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }

    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, e: &tracing::Event<'_>) {
        let mut msg = Message(String::new());
        e.record(&mut msg);
        let level = match *e.metadata().level() {
            tracing::Level::ERROR => "error",
            tracing::Level::WARN => "warning",
            tracing::Level::INFO => "info",
            _ => "debug",
        };
        write(level, &msg.0);
    }

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}

/// An event's text: its message, then any other field as `name=value`.
struct Message(String);

impl tracing::field::Visit for Message {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        use std::fmt::Write as _;
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, "{}={value:?}", field.name());
        }
    }
}

/// Log an error line (the message the caller shows its user).
pub fn error(msg: &str) {
    write("error", msg);
    if LOGGER.get().is_some_and(|l| l.file.is_some()) {
        eprintln!("{msg}");
    }
}

/// Log a debug line (only with `--debug`).
pub fn debug(msg: impl FnOnce() -> String) {
    if LOGGER.get().is_some_and(|l| l.debug) {
        write("debug", &msg());
    }
}

fn write(level: &str, msg: &str) {
    let (json, file) = match LOGGER.get() {
        Some(l) => (l.json, l.file.as_ref()),
        None => (false, None),
    };
    let time = now_rfc3339();
    let line = if json {
        let mut s = String::with_capacity(msg.len() + 64);
        s.push_str("{\"level\":");
        s.push_str(&serde_json::to_string(level).unwrap_or_default());
        s.push_str(",\"msg\":");
        s.push_str(&serde_json::to_string(msg).unwrap_or_default());
        s.push_str(",\"time\":\"");
        s.push_str(&time);
        s.push_str("\"}\n");
        s
    } else {
        format!(
            "time=\"{time}\" level={level} msg={}\n",
            serde_json::to_string(msg).unwrap_or_default()
        )
    };
    match file {
        Some(mut f) => {
            let _ = f.write_all(line.as_bytes());
        }
        None => {
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
    }
}

/// Now, as RFC 3339 in UTC with seconds (logrus' default).
fn now_rfc3339() -> String {
    containerv::time::rfc3339(std::time::SystemTime::now(), false)
}

#[cfg(test)]
mod tests {
    #[test]
    fn time_shape() {
        let t = super::now_rfc3339();
        assert_eq!(t.len(), 20, "{t}");
        assert!(t.ends_with('Z') && t.as_bytes()[10] == b'T', "{t}");
    }
}
