//! Container logs: the drivers (`json-file`, docker's default; `local`, a
//! compact binary framing; `none`), `--log-opt` rotation (`max-size`,
//! `max-file`, `compress`) and reading back with `--since`, `--until`,
//! `--tail`, `-t` and `-f` (following across rotations).
//!
//! The monitor owns the writer; `cv logs` reads the files directly, so no
//! process has to be asked. A full disk never blocks the container: a line
//! that cannot be written is dropped and counted.

mod config;
mod format;
mod reader;
mod writer;

pub use config::{LogConfig, LogDriver};
pub use format::{rfc3339_nano, Entry, Stream};
pub use reader::{format_entry, parse_time_filter, read_logs, ReadOptions};
pub use writer::LogWriter;

/// The name of the current log file in a container's directory.
pub fn log_file_name(driver: LogDriver, id: &str) -> String {
    match driver {
        LogDriver::JsonFile | LogDriver::None => format!("{id}-json.log"),
        LogDriver::Local => "container.log".to_string(),
    }
}
