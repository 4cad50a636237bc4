//! Container logs: the drivers (`json-file`, docker's default; `local`, a
//! compact binary framing; `none`; and the forwarding drivers `syslog`,
//! `fluentd`, `journald` in [`forward`]), `--log-opt` rotation (`max-size`,
//! `max-file`, `compress`), docker's structured options (`tag` templates,
//! `labels`/`env` attributes: [`tag`], [`attrs`]) and reading back with
//! `--since`, `--until`, `--tail`, `-t` and `-f` (following across
//! rotations).
//!
//! The monitor owns the writer; `cv logs` reads the files directly, so no
//! process has to be asked. The forwarding drivers also keep docker
//! 20.10's local cache (`container-cached.log`, `local` format), so `cv
//! logs` works for every driver. Neither a full disk nor a destination
//! that is down blocks the container: a line that cannot be written or
//! queued is dropped and counted.

pub mod attrs;
mod config;
mod format;
pub mod forward;
mod reader;
pub mod tag;
mod writer;

pub use config::{parse_size, LogConfig, LogDriver, LogFile};
pub use format::{rfc3339_nano, Entry, Stream};
pub use reader::{format_entry, parse_time_filter, read_logs, ReadOptions};
pub use writer::LogWriter;
