//! The log writer the monitor feeds: splits output into lines, encodes
//! them for the local file (json-file with its `attrs`, local, or the
//! forwarding drivers' cache), hands them to the forwarder if the driver
//! forwards, rotates by size (`.1`, then `.2.gz`, ... when compressing)
//! and never fails the container: a write error (a full disk) drops the
//! lines that did not make it, counts them, and cuts the file back to its
//! last whole record.
//!
//! WHY batches: a chatty container writes short lines by the hundred
//! thousand a second, and a cost per line (a `write(2)`, a clock read, an
//! allocation, a lock of the forwarder's queue) made the monitor, not the
//! container, the bottleneck. So one pipe read is one batch: its lines
//! take the time the monitor read them (as conmon stamps them), plus one
//! nanosecond per record so times stay strictly increasing (a follower
//! takes a record with the time and text of the one before for a copy
//! re-read after a rotation); their records are encoded into one buffer
//! and written with one
//! `write(2)` at the end of the feed, and handed to the forwarder as one
//! [`Chunk`]. Rotation stays exact: before a record that would push the
//! file past `max-size`, the records before it are written and the file
//! rotated, so a file never holds a partial record or more than
//! `max-size` bytes (unless one record alone is bigger).

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::format::{encode_json, encode_local, json_attrs, rfc3339_nano, Entry, Stream, TimeText};
use super::forward::{self, Chunk, Forwarder, Settings};
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
    /// Bytes in the file (written, not counting `out`).
    size: u64,
    /// Lines dropped because they could not be written to the file.
    file_dropped: u64,
    /// json-file's `,"attrs":{…}` (labels, env, tag), or empty.
    attrs: Vec<u8>,
    forwarder: Option<Forwarder>,
    /// Partial lines per stream (stdout, stderr).
    pending: [Vec<u8>; 2],
    /// Records encoded but not written yet, and where each one ends.
    out: Vec<u8>,
    ends: Vec<usize>,
    /// Holds a record while the ones before it are written (rotation).
    spare: Vec<u8>,
    /// Lines for the forwarder, not handed over yet.
    chunk: Chunk,
    /// The time of the next record, in nanoseconds: the time of the pipe
    /// read, then one nanosecond more per record, so records of one read
    /// keep strictly increasing times (readers take an entry with the
    /// time and text of the previous one for a duplicate).
    next_ns: i64,
    /// json-file's text of those times.
    time_text: TimeText,
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
            attrs: json_attrs(Some(&attrs)),
            forwarder,
            pending: [Vec::new(), Vec::new()],
            out: Vec::new(),
            ends: Vec::new(),
            spare: Vec::new(),
            chunk: Chunk::default(),
            next_ns: 0,
            time_text: TimeText::default(),
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

    /// Takes the time of the lines about to be fed.
    fn stamp(&mut self, now: DateTime<Utc>) {
        let ns = now.timestamp_nanos_opt().unwrap_or(0);
        self.next_ns = self.next_ns.max(ns);
        if self.forwarder.is_some() && self.chunk.is_empty() {
            self.chunk = Chunk::new(now);
        }
    }

    /// Feeds raw output of `stream` (one pipe read); every complete line
    /// is written, all of them with one write.
    pub fn feed(&mut self, stream: Stream, data: &[u8]) {
        self.stamp(Utc::now());
        let i = stream as usize;
        let mut rest = data;
        while let Some(nl) = memchr::memchr(b'\n', rest) {
            let (line, r) = rest.split_at(nl + 1);
            rest = r;
            if self.pending[i].is_empty() {
                self.line(stream, line);
            } else {
                let mut whole = std::mem::take(&mut self.pending[i]);
                whole.extend_from_slice(line);
                self.line(stream, &whole);
                whole.clear();
                self.pending[i] = whole;
            }
        }
        if !rest.is_empty() {
            let mut p = std::mem::take(&mut self.pending[i]);
            p.extend_from_slice(rest);
            // Whole 16 KiB pieces go out now; the rest waits for its
            // newline.
            let mut at = 0;
            while p.len() - at >= MAX_LINE {
                self.record(stream, &p[at..at + MAX_LINE], true);
                at += MAX_LINE;
            }
            p.drain(..at);
            self.pending[i] = p;
        }
        self.flush();
    }

    /// Writes what is left of a stream's partial line (at its end).
    pub fn flush_stream(&mut self, stream: Stream) {
        let line = std::mem::take(&mut self.pending[stream as usize]);
        if !line.is_empty() {
            self.stamp(Utc::now());
            self.line(stream, &line);
            self.flush();
        }
    }

    /// One line (with its newline, if it had one), in 16 KiB pieces.
    fn line(&mut self, stream: Stream, line: &[u8]) {
        if line.len() <= MAX_LINE {
            self.record(stream, line, false);
            return;
        }
        let n = line.len().div_ceil(MAX_LINE);
        for (i, piece) in line.chunks(MAX_LINE).enumerate() {
            self.record(stream, piece, i + 1 < n);
        }
    }

    /// One record for the file and the forwarder; `partial`: a piece of a
    /// line longer than 16 KiB (not its last).
    fn record(&mut self, stream: Stream, line: &[u8], partial: bool) {
        if self.forwarder.is_some() {
            let text = line.strip_suffix(b"\n").unwrap_or(line);
            self.chunk.push(stream, text, partial);
        }
        if self.format == LogDriver::None {
            return;
        }
        let start = self.out.len();
        let ns = self.next_ns;
        self.next_ns += 1;
        match self.format {
            LogDriver::Local => encode_local(stream, ns, line, &mut self.out),
            _ => encode_json(
                stream,
                self.time_text.of(ns),
                &self.attrs,
                line,
                &mut self.out,
            ),
        }
        self.end_record(start);
    }

    /// Accounts for the record encoded at `out[start..]`: if it would take
    /// the file past max-size, the records before it are written and the
    /// file is rotated first.
    fn end_record(&mut self, start: usize) {
        if let Some(max) = self.config.max_size {
            let len = (self.out.len() - start) as u64;
            if self.size + self.out.len() as u64 > max && self.size + start as u64 > 0 {
                let mut rec = std::mem::take(&mut self.spare);
                rec.clear();
                rec.extend_from_slice(&self.out[start..]);
                self.out.truncate(start);
                self.write_out();
                if self.size > 0 && self.size + len > max {
                    if let Err(err) = self.rotate() {
                        tracing::warn!("rotating {}: {err}", self.path.display());
                    }
                }
                self.out.extend_from_slice(&rec);
                self.spare = rec;
            }
        }
        self.ends.push(self.out.len());
    }

    /// Writes the encoded records and hands the lines to the forwarder.
    fn flush(&mut self) {
        self.write_out();
        if let Some(f) = &self.forwarder {
            if !self.chunk.is_empty() {
                f.push_chunk(std::mem::take(&mut self.chunk));
            }
        }
    }

    /// Writes one record, at its own time, to the local file (rotating
    /// first if it would overflow max-size).
    pub fn write_entry(&mut self, e: &Entry) {
        if self.format == LogDriver::None {
            return;
        }
        self.write_out();
        let start = self.out.len();
        match self.format {
            LogDriver::Local => encode_local(
                e.stream,
                e.time.timestamp_nanos_opt().unwrap_or(0),
                &e.line,
                &mut self.out,
            ),
            _ => encode_json(
                e.stream,
                &rfc3339_nano(&e.time),
                &self.attrs,
                &e.line,
                &mut self.out,
            ),
        }
        self.end_record(start);
        self.write_out();
    }

    /// Writes `out` to the file with one write (more only if the kernel
    /// takes part of it). On an error, the records the kernel took whole
    /// stay, a partly written one is cut off, and the rest are counted
    /// as dropped.
    fn write_out(&mut self) {
        if self.ends.is_empty() {
            self.out.clear();
            return;
        }
        let records = self.ends.len() as u64;
        if self.file.is_none() && self.reopen().is_err() {
            self.file_dropped += records;
            self.out.clear();
            self.ends.clear();
            return;
        }
        let file = self.file.as_mut().expect("opened above");
        let mut done = 0;
        let mut failed = false;
        while done < self.out.len() {
            match file.write(&self.out[done..]) {
                Ok(0) => {
                    failed = true;
                    break;
                }
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        if failed {
            let whole = self.ends.iter().take_while(|&&e| e <= done).count();
            let kept = if whole == 0 { 0 } else { self.ends[whole - 1] };
            // Cut a partly written record so readers see whole ones.
            if kept < done {
                let _ = file.set_len(self.size + kept as u64);
            }
            self.size += kept as u64;
            self.file_dropped += records - whole as u64;
        } else {
            self.size += done as u64;
        }
        self.out.clear();
        self.ends.clear();
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
    fn batched_reads_keep_rotation_bounds_exact_and_every_line_whole() {
        let dir = tempfile::tempdir().unwrap();
        let max = 2000u64;
        let mut w = LogWriter::open(dir.path(), "c", &cfg(max, 4, false)).unwrap();
        let line = |i: usize| format!("line {i} {}\n", "x".repeat(i % 37));
        let total = 3000;
        let all: Vec<u8> = (0..total).flat_map(|i| line(i).into_bytes()).collect();
        // Reads of up to 16 KiB, cut anywhere (mid-line too), as a fast
        // writer's pipe gives them: many records per write(2).
        let (mut at, mut step) = (0, 1);
        while at < all.len() {
            let n = (step * 997 % 16384).clamp(1, all.len() - at);
            w.feed(Stream::Stdout, &all[at..at + n]);
            at += n;
            step += 1;
        }
        assert_eq!(
            names(dir.path()),
            ["c-json.log", "c-json.log.1", "c-json.log.2", "c-json.log.3"]
        );
        let oldest_first = ["c-json.log.3", "c-json.log.2", "c-json.log.1", "c-json.log"];
        let texts: Vec<String> = oldest_first
            .iter()
            .map(|n| std::fs::read_to_string(dir.path().join(n)).unwrap())
            .collect();
        let mut got = Vec::new();
        for (k, text) in texts.iter().enumerate() {
            assert!(
                text.len() as u64 <= max,
                "{}: {} bytes",
                oldest_first[k],
                text.len()
            );
            assert!(
                text.ends_with('\n'),
                "{}: ends in a whole record",
                oldest_first[k]
            );
            if let Some(next) = texts.get(k + 1) {
                // Rotated only when the next record did not fit.
                let first = next.lines().next().unwrap().len() + 1;
                assert!(
                    text.len() + first > max as usize,
                    "{} rotated early",
                    oldest_first[k]
                );
            }
            for r in text.lines() {
                let v: serde_json::Value = serde_json::from_str(r).unwrap();
                got.push(v["log"].as_str().unwrap().to_string());
            }
        }
        // What is kept is the newest lines, whole, none lost or repeated.
        let first: usize = got[0].split(' ').nth(1).unwrap().parse().unwrap();
        let want: Vec<String> = (first..total).map(line).collect();
        assert_eq!(got, want);
        assert_eq!(w.dropped(), 0);
    }

    #[test]
    fn local_format_rotates_exactly_too() {
        let dir = tempfile::tempdir().unwrap();
        let c = LogConfig {
            driver: LogDriver::Local,
            ..cfg(500, 3, false)
        };
        let mut w = LogWriter::open(dir.path(), "c", &c).unwrap();
        let all: Vec<u8> = (0..400)
            .flat_map(|i| format!("l{i}\n").into_bytes())
            .collect();
        for piece in all.chunks(333) {
            w.feed(Stream::Stderr, piece);
        }
        let mut got = Vec::new();
        for n in ["container.log.2", "container.log.1", "container.log"] {
            let buf = std::fs::read(dir.path().join(n)).unwrap();
            assert!(buf.len() <= 500, "{n}: {}", buf.len());
            let used = super::super::format::decode(LogDriver::Local, &buf, &mut got);
            assert_eq!(used, buf.len(), "{n}: whole records only");
        }
        let first: usize = std::str::from_utf8(&got[0].line[1..])
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let want: Vec<Vec<u8>> = (first..400)
            .map(|i| format!("l{i}\n").into_bytes())
            .collect();
        assert_eq!(got.into_iter().map(|e| e.line).collect::<Vec<_>>(), want);
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
