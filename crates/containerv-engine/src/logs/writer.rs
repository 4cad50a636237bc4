//! The log writer the monitor feeds: splits output into lines, encodes
//! them for the driver, rotates by size (`.1`, then `.2.gz`, ... when
//! compressing) and never fails the container: a write error (a full disk)
//! drops the line, counts it, and cuts the file back to its last whole
//! record.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use chrono::Utc;

use super::format::{encode, Entry, Stream};
use super::{log_file_name, LogConfig, LogDriver};

/// Longest line kept whole; longer output is split (docker: 16 KiB).
pub const MAX_LINE: usize = 16 * 1024;

/// Writes one container's log files.
#[derive(Debug)]
pub struct LogWriter {
    config: LogConfig,
    path: PathBuf,
    file: Option<File>,
    size: u64,
    /// Lines dropped because they could not be written.
    pub dropped: u64,
    /// Partial lines per stream (stdout, stderr).
    pending: [Vec<u8>; 2],
    scratch: Vec<u8>,
}

impl LogWriter {
    /// Opens (appending) the log of container `id` in `dir`. With the
    /// `none` driver nothing is opened.
    pub fn open(dir: &Path, id: &str, config: &LogConfig) -> io::Result<Self> {
        let path = dir.join(log_file_name(config.driver, id));
        let mut w = LogWriter {
            config: config.clone(),
            path,
            file: None,
            size: 0,
            dropped: 0,
            pending: [Vec::new(), Vec::new()],
            scratch: Vec::new(),
        };
        if config.driver != LogDriver::None {
            w.reopen()?;
        }
        Ok(w)
    }

    /// Path of the current log file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn reopen(&mut self) -> io::Result<()> {
        let f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        self.size = f.metadata()?.len();
        self.file = Some(f);
        Ok(())
    }

    /// Feeds raw output of `stream`; every complete line is written.
    pub fn feed(&mut self, stream: Stream, mut data: &[u8]) {
        let i = stream as usize;
        while !data.is_empty() {
            match data.iter().position(|&b| b == b'\n') {
                Some(nl) => {
                    let mut line = std::mem::take(&mut self.pending[i]);
                    line.extend_from_slice(&data[..=nl]);
                    data = &data[nl + 1..];
                    self.write_chunks(stream, line);
                }
                None => {
                    self.pending[i].extend_from_slice(data);
                    data = &[];
                    // Whole 16 KiB pieces go out now; the rest waits for
                    // its newline.
                    while self.pending[i].len() >= MAX_LINE {
                        let rest = self.pending[i].split_off(MAX_LINE);
                        let piece = std::mem::replace(&mut self.pending[i], rest);
                        self.write_chunks(stream, piece);
                    }
                }
            }
        }
    }

    /// Writes what is left of a stream's partial line (at its end).
    pub fn flush_stream(&mut self, stream: Stream) {
        let line = std::mem::take(&mut self.pending[stream as usize]);
        if !line.is_empty() {
            self.write_chunks(stream, line);
        }
    }

    fn write_chunks(&mut self, stream: Stream, line: Vec<u8>) {
        if line.len() <= MAX_LINE {
            self.write_entry(&Entry {
                stream,
                time: Utc::now(),
                line,
            });
            return;
        }
        for chunk in line.chunks(MAX_LINE) {
            self.write_entry(&Entry {
                stream,
                time: Utc::now(),
                line: chunk.to_vec(),
            });
        }
    }

    /// Writes one record (rotating first if it would overflow max-size).
    pub fn write_entry(&mut self, e: &Entry) {
        if self.config.driver == LogDriver::None {
            return;
        }
        let mut buf = std::mem::take(&mut self.scratch);
        buf.clear();
        encode(self.config.driver, e, &mut buf);
        if let Some(max) = self.config.max_size {
            if self.size > 0 && self.size + buf.len() as u64 > max {
                if let Err(err) = self.rotate() {
                    tracing::warn!("rotating {}: {err}", self.path.display());
                }
            }
        }
        if self.file.is_none() && self.reopen().is_err() {
            self.dropped += 1;
            self.scratch = buf;
            return;
        }
        let file = self.file.as_mut().expect("opened above");
        match file.write_all(&buf) {
            Ok(()) => self.size += buf.len() as u64,
            Err(_) => {
                self.dropped += 1;
                // Cut a partly written record so readers see whole ones.
                let _ = file.set_len(self.size);
            }
        }
        self.scratch = buf;
    }

    fn rotated(&self, n: u32, gz: bool) -> PathBuf {
        let mut s = self.path.clone().into_os_string();
        s.push(format!(".{n}{}", if gz { ".gz" } else { "" }));
        PathBuf::from(s)
    }

    /// Shifts `.N` files up, moves the current file to `.1` and starts a
    /// new one. With compress, `.1` stays plain (a follower may still be
    /// reading it) and is gzipped as it becomes `.2`.
    fn rotate(&mut self) -> io::Result<()> {
        self.file = None;
        let keep = self.config.max_file;
        if keep <= 1 {
            let f = OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(&self.path)?;
            drop(f);
            return self.reopen();
        }
        let gz = self.config.compress;
        // The oldest falls off.
        let _ = std::fs::remove_file(self.rotated(keep - 1, gz));
        let _ = std::fs::remove_file(self.rotated(keep - 1, false));
        for n in (3..keep).rev() {
            let from = self.rotated(n - 1, gz);
            if from.exists() {
                std::fs::rename(&from, self.rotated(n, gz))?;
            }
        }
        if keep >= 3 || (keep == 2 && !gz) {
            let one = self.rotated(1, false);
            if one.exists() && keep >= 3 {
                if gz {
                    gzip_file(&one, &self.rotated(2, true))?;
                    std::fs::remove_file(&one)?;
                } else {
                    std::fs::rename(&one, self.rotated(2, false))?;
                }
            }
        }
        std::fs::rename(&self.path, self.rotated(1, false))?;
        self.reopen()
    }
}

fn gzip_file(from: &Path, to: &Path) -> io::Result<()> {
    let mut src = File::open(from)?;
    let tmp = to.with_extension("gz.tmp");
    let out = File::create(&tmp)?;
    let mut enc = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
    io::copy(&mut src, &mut enc)?;
    enc.finish()?.sync_all()?;
    std::fs::rename(&tmp, to)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(max_size: u64, max_file: u32, compress: bool) -> LogConfig {
        LogConfig {
            driver: LogDriver::JsonFile,
            max_size: Some(max_size),
            max_file,
            compress,
        }
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn splits_lines_across_feeds_and_flushes_partial_ones() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = LogWriter::open(dir.path(), "c", &LogConfig::default()).unwrap();
        w.feed(Stream::Stdout, b"hel");
        w.feed(Stream::Stderr, b"err\n");
        w.feed(Stream::Stdout, b"lo\nwor");
        w.flush_stream(Stream::Stdout);
        let text = std::fs::read_to_string(dir.path().join("c-json.log")).unwrap();
        let logs: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(logs.len(), 3);
        assert_eq!(logs[0]["log"], "err\n");
        assert_eq!(logs[0]["stream"], "stderr");
        assert_eq!(logs[1]["log"], "hello\n");
        assert_eq!(logs[2]["log"], "wor");
        assert!(logs[2]["time"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn long_lines_are_split_at_16k() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = LogWriter::open(dir.path(), "c", &LogConfig::default()).unwrap();
        w.feed(Stream::Stdout, &vec![b'x'; MAX_LINE * 2 + 10]);
        w.feed(Stream::Stdout, b"\n");
        let text = std::fs::read_to_string(w.path()).unwrap();
        assert_eq!(text.lines().count(), 3);
    }

    #[test]
    fn rotates_and_compresses_like_docker() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = LogWriter::open(dir.path(), "c", &cfg(1000, 3, true)).unwrap();
        for i in 0..100 {
            w.feed(Stream::Stdout, format!("line {i:04}\n").as_bytes());
        }
        assert_eq!(
            names(dir.path()),
            ["c-json.log", "c-json.log.1", "c-json.log.2.gz"]
        );
        for n in ["c-json.log", "c-json.log.1"] {
            assert!(std::fs::metadata(dir.path().join(n)).unwrap().len() <= 1000);
        }
        let gz = std::fs::File::open(dir.path().join("c-json.log.2.gz")).unwrap();
        let mut text = String::new();
        io::Read::read_to_string(&mut flate2::read::GzDecoder::new(gz), &mut text).unwrap();
        assert!(text.lines().all(|l| l.contains("line 0")));
        assert_eq!(w.dropped, 0);
    }

    #[test]
    fn rotates_without_compression_and_with_one_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = LogWriter::open(dir.path(), "c", &cfg(500, 4, false)).unwrap();
        for i in 0..100 {
            w.feed(Stream::Stdout, format!("line {i:04}\n").as_bytes());
        }
        assert_eq!(
            names(dir.path()),
            ["c-json.log", "c-json.log.1", "c-json.log.2", "c-json.log.3"]
        );
        let dir = tempfile::tempdir().unwrap();
        let mut w = LogWriter::open(dir.path(), "c", &cfg(500, 1, false)).unwrap();
        for i in 0..100 {
            w.feed(Stream::Stdout, format!("line {i:04}\n").as_bytes());
        }
        assert_eq!(names(dir.path()), ["c-json.log"]);
        assert!(std::fs::metadata(w.path()).unwrap().len() <= 500);
    }

    #[test]
    fn none_driver_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let c = LogConfig {
            driver: LogDriver::None,
            ..Default::default()
        };
        let mut w = LogWriter::open(dir.path(), "c", &c).unwrap();
        w.feed(Stream::Stdout, b"gone\n");
        assert!(names(dir.path()).is_empty());
    }
}
