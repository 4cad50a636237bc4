//! The log writer the monitor feeds: splits output into lines, encodes
//! them for the local file (json-file with its `attrs`, local, or the
//! forwarding drivers' cache), hands them to the forwarder if the driver
//! forwards, rotates by size (`.1`, then `.2.gz`, ... when compressing)
//! and never fails the container: a write error (a full disk) drops the
//! line, counts it, and cuts the file back to its last whole record.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;

use super::format::{encode_with, Entry, Stream};
use super::forward::{self, Forwarder, Line, Settings};
use super::tag::Info;
use super::{LogConfig, LogDriver};

/// Longest line kept whole; longer output is split (docker: 16 KiB).
pub const MAX_LINE: usize = 16 * 1024;

/// Writes one container's log files.
#[derive(Debug)]
pub struct LogWriter {
    config: LogConfig,
    /// Encoding of the local file; `None`: no file.
    format: LogDriver,
    path: PathBuf,
    file: Option<File>,
    size: u64,
    /// Lines dropped because they could not be written to the file.
    file_dropped: u64,
    /// json-file's `attrs` (labels, env, tag).
    attrs: BTreeMap<String, String>,
    forwarder: Option<Forwarder>,
    /// Partial lines per stream (stdout, stderr).
    pending: [Vec<u8>; 2],
    scratch: Vec<u8>,
}

impl LogWriter {
    /// Opens (appending) the log of container `id` in `dir`. With the
    /// `none` driver nothing is opened.
    pub fn open(dir: &Path, id: &str, config: &LogConfig) -> io::Result<Self> {
        let info = Info {
            id: id.to_string(),
            ..Default::default()
        };
        Self::open_for(dir, &info, config)
    }

    /// Opens the log of the container `info` describes (its name, image,
    /// labels and env feed the tag and the attributes), starting the
    /// forwarder of a forwarding driver.
    pub fn open_for(dir: &Path, info: &Info, config: &LogConfig) -> io::Result<Self> {
        let file = config.file(&info.id);
        let mut attrs = BTreeMap::new();
        if config.driver == LogDriver::JsonFile {
            attrs = super::attrs::extra(&config.opts, &info.labels, &info.env, &|k| k.to_string());
            // json-file has no default tag: only one the user asked for.
            let tag = super::tag::render(&config.opts, info, "");
            if !tag.is_empty() {
                attrs.insert("tag".into(), tag);
            }
        }
        let forwarder = match Settings::parse(config) {
            Ok(Some(s)) => Some(Forwarder::start(
                &s,
                config.driver.as_str(),
                forward::sink(&s, config, info),
            )),
            Ok(None) => None,
            Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidInput, e.to_string())),
        };
        let mut w = LogWriter {
            config: config.clone(),
            format: file.as_ref().map_or(LogDriver::None, |f| f.format),
            path: dir.join(file.as_ref().map_or("", |f| f.name.as_str())),
            file: None,
            size: 0,
            file_dropped: 0,
            attrs,
            forwarder,
            pending: [Vec::new(), Vec::new()],
            scratch: Vec::new(),
        };
        if w.format != LogDriver::None {
            w.reopen()?;
        }
        Ok(w)
    }

    /// Lines lost so far: not written to the file (full disk) plus not
    /// forwarded (buffer full while the destination was away).
    pub fn dropped(&self) -> u64 {
        self.file_dropped + self.forwarder.as_ref().map_or(0, |f| f.dropped())
    }

    /// Lines handed to the destination so far (forwarding drivers).
    pub fn forwarded(&self) -> u64 {
        self.forwarder.as_ref().map_or(0, |f| f.sent())
    }

    /// True if lines leave through a forwarder.
    pub fn forwards(&self) -> bool {
        self.forwarder.is_some()
    }

    /// Waits (at most `grace`) for the forwarder to send what it holds.
    pub fn drain(&self, grace: Duration) -> bool {
        self.forwarder.as_ref().is_none_or(|f| f.drain(grace))
    }

    /// Sends what the forwarder holds (for up to `grace`), then ends it;
    /// what is still queued then is dropped and counted.
    pub fn close_forwarder(&mut self, grace: Duration) {
        if let Some(f) = self.forwarder.as_mut() {
            f.close(grace);
        }
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
                        self.write_piece(stream, piece, true);
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
            self.write_piece(stream, line, false);
            return;
        }
        let n = line.len().div_ceil(MAX_LINE);
        for (i, chunk) in line.chunks(MAX_LINE).enumerate() {
            self.write_piece(stream, chunk.to_vec(), i + 1 < n);
        }
    }

    /// One record to the file and the forwarder; `partial`: a piece of a
    /// line longer than 16 KiB (not its last).
    fn write_piece(&mut self, stream: Stream, line: Vec<u8>, partial: bool) {
        let e = Entry {
            stream,
            time: Utc::now(),
            line,
        };
        if let Some(f) = &self.forwarder {
            let mut text = e.line.clone();
            if text.last() == Some(&b'\n') {
                text.pop();
            }
            f.push(Line {
                stream,
                time: e.time,
                text,
                partial,
            });
        }
        self.write_entry(&e);
    }

    /// Writes one record to the local file (rotating first if it would
    /// overflow max-size).
    pub fn write_entry(&mut self, e: &Entry) {
        if self.format == LogDriver::None {
            return;
        }
        let mut buf = std::mem::take(&mut self.scratch);
        buf.clear();
        encode_with(self.format, e, Some(&self.attrs), &mut buf);
        if let Some(max) = self.config.max_size {
            if self.size > 0 && self.size + buf.len() as u64 > max {
                if let Err(err) = self.rotate() {
                    tracing::warn!("rotating {}: {err}", self.path.display());
                }
            }
        }
        if self.file.is_none() && self.reopen().is_err() {
            self.file_dropped += 1;
            self.scratch = buf;
            return;
        }
        let file = self.file.as_mut().expect("opened above");
        match file.write_all(&buf) {
            Ok(()) => self.size += buf.len() as u64,
            Err(_) => {
                self.file_dropped += 1;
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
            opts: Default::default(),
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
        assert_eq!(w.dropped(), 0);
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
