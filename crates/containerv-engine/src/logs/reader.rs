//! Reading logs back for `cv logs`: every file oldest first (`.N.gz` …
//! `.1`, current), filtered by stream and time, the last `--tail` lines,
//! and with `-f` following the current file as lines arrive and across a
//! rotation (the open file is drained, then the new one is opened).

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};

use super::format::{decode, rfc3339_nano, Entry};
use super::{LogConfig, LogDriver};
use crate::duration::parse_duration;
use crate::error::{Error, Result};

/// What `cv logs` asked for.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Only the last N lines (before following).
    pub tail: Option<usize>,
    pub follow: bool,
    /// Poll period while following (default 50 ms). The follower parks
    /// (`std::thread::park_timeout`): a caller that ends `running()`
    /// and unparks the reading thread ends the wait at once.
    pub poll: Option<Duration>,
}

/// `--since` / `--until`: an RFC 3339 time, a Unix time (`1700000000.5`)
/// or a duration before `now` (`10m`).
pub fn parse_time_filter(option: &str, s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(secs) = s.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Ok(Utc.timestamp_nanos((secs * 1e9) as i64));
        }
    }
    let d = parse_duration(option, s).map_err(|_| {
        Error::option(
            option,
            s,
            "not a time (use RFC 3339, a Unix timestamp, or a duration like 10m)",
        )
    })?;
    Ok(now - chrono::Duration::from_std(d).unwrap_or_default())
}

/// Formats an entry as `cv logs` prints it (with `-t`: the time first).
pub fn format_entry(e: &Entry, timestamps: bool, out: &mut Vec<u8>) {
    if timestamps {
        out.extend_from_slice(rfc3339_nano(&e.time).as_bytes());
        out.push(b' ');
    }
    out.extend_from_slice(&e.line);
}

/// The rotated files beside `current`, oldest first.
fn rotated_files(current: &Path) -> Vec<(u32, PathBuf)> {
    let (Some(dir), Some(name)) = (current.parent(), current.file_name()) else {
        return Vec::new();
    };
    let prefix = format!("{}.", name.to_string_lossy());
    let mut v: Vec<(u32, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            let rest = n.strip_prefix(&prefix)?;
            let num = rest.strip_suffix(".gz").unwrap_or(rest);
            Some((num.parse::<u32>().ok()?, e.path()))
        })
        .collect();
    v.sort_by_key(|e| std::cmp::Reverse(e.0));
    v
}

fn read_whole(path: &Path) -> io::Result<Vec<u8>> {
    let f = File::open(path)?;
    let mut buf = Vec::new();
    if path.extension().is_some_and(|e| e == "gz") {
        flate2::read::GzDecoder::new(f).read_to_end(&mut buf)?;
    } else {
        let mut f = f;
        f.read_to_end(&mut buf)?;
    }
    Ok(buf)
}

/// Reads the logs of container `id` (files in `dir`) and hands each
/// selected entry to `sink`. With `follow`, keeps reading until
/// `running()` is false and everything written has been read. A `sink`
/// error (the reader went away) ends the read quietly.
pub fn read_logs(
    dir: &Path,
    id: &str,
    config: &LogConfig,
    opts: &ReadOptions,
    running: &dyn Fn() -> bool,
    sink: &mut dyn FnMut(&Entry) -> io::Result<()>,
) -> Result<()> {
    let Some(file) = config.file(id) else {
        let why = if config.driver == LogDriver::None {
            "the container uses the none log driver: there are no logs to read".to_string()
        } else {
            format!(
                "the container's {} log driver keeps no local copy (cache-disabled=true): there are no logs to read",
                config.driver.as_str()
            )
        };
        return Err(Error::option("logs", id, why));
    };
    let driver = file.format;
    let current = dir.join(&file.name);
    let selected = |e: &Entry| {
        opts.since.is_none_or(|s| e.time >= s) && opts.until.is_none_or(|u| e.time <= u)
    };
    // The rotated files and the current one, from one moment in which no
    // rotation happened.
    let (rotated, mut cur) = read_rotated_stable(driver, &current);
    let mut kept: VecDeque<Entry> = VecDeque::new();
    let cap = opts.tail.unwrap_or(usize::MAX);
    // Entries are read oldest first; one already seen (a file read twice
    // because it rotated while we read) is not newer than the watermark.
    let mut mark = Watermark::default();
    let mut push = |e: Entry, kept: &mut VecDeque<Entry>| {
        if !mark.admit(&e) || cap == 0 || !selected(&e) {
            return;
        }
        if kept.len() == cap {
            kept.pop_front();
        }
        kept.push_back(e);
    };
    for e in rotated {
        push(e, &mut kept);
    }
    let mut pending = Vec::new();
    if let Some(f) = cur.as_mut() {
        f.read_to_end(&mut pending)
            .map_err(|e| Error::io("read log", &current, e))?;
        let mut entries = Vec::new();
        let used = decode(driver, &pending, &mut entries);
        pending.drain(..used);
        for e in entries {
            push(e, &mut kept);
        }
    }
    let mut mark = Watermark::default();
    for e in kept {
        mark.admit(&e);
        if sink(&e).is_err() {
            return Ok(());
        }
    }
    if !opts.follow {
        return Ok(());
    }
    // While following, every entry passes the watermark: after a rotation
    // the rotated files are read again and only what is newer goes out.
    let mut guarded = |e: &Entry| -> io::Result<()> {
        if mark.admit(e) {
            sink(e)
        } else {
            Ok(())
        }
    };
    follow(
        driver,
        &current,
        cur,
        pending,
        opts,
        running,
        &selected,
        &mut guarded,
    )
}

/// The newest entry handed out so far (time, then the line for equal
/// times): entries not newer are duplicates from a re-read file.
#[derive(Default)]
struct Watermark {
    last: Option<(DateTime<Utc>, Vec<u8>)>,
}

impl Watermark {
    /// True (and the mark moves) if `e` is newer than everything before.
    fn admit(&mut self, e: &Entry) -> bool {
        if let Some((t, line)) = &self.last {
            if e.time < *t || (e.time == *t && e.line == *line) {
                return false;
            }
        }
        self.last = Some((e.time, e.line.clone()));
        true
    }
}

/// The rotated files' names and inodes and the current file's inode: a
/// rotation changes them.
fn snapshot(current: &Path) -> Vec<(u32, u64)> {
    let mut v: Vec<(u32, u64)> = rotated_files(current)
        .iter()
        .filter_map(|(n, p)| Some((*n, std::fs::metadata(p).ok()?.ino())))
        .collect();
    v.push((0, std::fs::metadata(current).map(|m| m.ino()).unwrap_or(0)));
    v
}

/// Every entry of the rotated files (oldest first) and the current file
/// opened, taken while no rotation ran: a pass that raced with one (files
/// renamed or compressed under it) is done again.
fn read_rotated_stable(driver: LogDriver, current: &Path) -> (Vec<Entry>, Option<File>) {
    let mut entries = Vec::new();
    let mut cur = None;
    for _ in 0..50 {
        let before = snapshot(current);
        cur = File::open(current).ok();
        entries.clear();
        for (_, path) in rotated_files(current) {
            let Ok(buf) = read_whole(&path) else { continue };
            decode(driver, &buf, &mut entries);
        }
        if snapshot(current) == before {
            break;
        }
    }
    (entries, cur)
}

/// What draining the open file found.
enum Drained {
    Nothing,
    Some,
    /// The sink went away or `--until` passed: stop following.
    Stop,
}

#[allow(clippy::too_many_arguments)]
fn drain(
    driver: LogDriver,
    current: &Path,
    f: &mut File,
    pending: &mut Vec<u8>,
    chunk: &mut [u8],
    opts: &ReadOptions,
    selected: &dyn Fn(&Entry) -> bool,
    sink: &mut dyn FnMut(&Entry) -> io::Result<()>,
) -> Result<Drained> {
    let mut got = Drained::Nothing;
    loop {
        let n = f
            .read(chunk)
            .map_err(|e| Error::io("read log", current, e))?;
        if n == 0 {
            return Ok(got);
        }
        got = Drained::Some;
        pending.extend_from_slice(&chunk[..n]);
        let mut entries = Vec::new();
        let used = decode(driver, pending, &mut entries);
        pending.drain(..used);
        for e in entries {
            if opts.until.is_some_and(|u| e.time > u) {
                return Ok(Drained::Stop);
            }
            if selected(&e) && sink(&e).is_err() {
                return Ok(Drained::Stop);
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn follow(
    driver: LogDriver,
    current: &Path,
    mut cur: Option<File>,
    mut pending: Vec<u8>,
    opts: &ReadOptions,
    running: &dyn Fn() -> bool,
    selected: &dyn Fn(&Entry) -> bool,
    sink: &mut dyn FnMut(&Entry) -> io::Result<()>,
) -> Result<()> {
    let poll = opts.poll.unwrap_or(Duration::from_millis(50));
    let mut chunk = vec![0u8; 64 * 1024];
    let mut finishing = false;
    loop {
        let mut got_any = false;
        if let Some(f) = cur.as_mut() {
            match drain(
                driver,
                current,
                f,
                &mut pending,
                &mut chunk,
                opts,
                selected,
                sink,
            )? {
                Drained::Stop => return Ok(()),
                Drained::Some => got_any = true,
                Drained::Nothing => {}
            }
        }
        // Rotated? The path now names another file: drain ours once more
        // (the writer may have added to it before renaming), then switch.
        let path_ino = std::fs::metadata(current).ok().map(|m| m.ino());
        let our_ino = cur
            .as_ref()
            .and_then(|f| f.metadata().ok())
            .map(|m| m.ino());
        if path_ino.is_some() && path_ino != our_ino {
            if let Some(f) = cur.as_mut() {
                let d = drain(
                    driver,
                    current,
                    f,
                    &mut pending,
                    &mut chunk,
                    opts,
                    selected,
                    sink,
                )?;
                if matches!(d, Drained::Stop) {
                    return Ok(());
                }
            }
            // Rotated more than once since we looked? Files we never
            // opened are among the rotated ones now: read them all, oldest
            // first; the watermark lets only newer entries through.
            let (rotated, next) = read_rotated_stable(driver, current);
            for e in rotated {
                if opts.until.is_some_and(|u| e.time > u) {
                    return Ok(());
                }
                if selected(&e) && sink(&e).is_err() {
                    return Ok(());
                }
            }
            cur = next;
            pending.clear();
            continue;
        }
        if got_any {
            continue;
        }
        if finishing {
            return Ok(());
        }
        if !running() {
            // One more pass to catch what was written just before the end.
            finishing = true;
            continue;
        }
        // Parked, not slept: `cv run` unparks this thread when the
        // container ends, so its last lines and its exit are not held up
        // by a poll period (a spurious wake-up only polls once more).
        std::thread::park_timeout(poll);
    }
}

#[cfg(test)]
mod tests {
    use super::super::{LogConfig, LogWriter, Stream};
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    fn collect(dir: &Path, driver: LogDriver, opts: &ReadOptions) -> Vec<String> {
        collect_while(dir, driver, opts, &|| false)
    }

    /// The lines `read_logs` hands out while `running` says the container
    /// runs (what `--follow` waits on).
    fn collect_while(
        dir: &Path,
        driver: LogDriver,
        opts: &ReadOptions,
        running: &dyn Fn() -> bool,
    ) -> Vec<String> {
        let mut out = Vec::new();
        let config = LogConfig {
            driver,
            ..Default::default()
        };
        read_logs(dir, "c", &config, opts, running, &mut |e| {
            out.push(String::from_utf8_lossy(&e.line).into_owned());
            Ok(())
        })
        .unwrap();
        out
    }

    /// Follows the JSON-file logs of container "c" in `dir` (polling every
    /// `poll`) while a writer thread runs `feed`, until the writer marks
    /// the container stopped; every line read.
    fn follow_while_writing(
        dir: &Path,
        cfg: &LogConfig,
        poll: Duration,
        feed: impl FnOnce(&mut LogWriter) + Send + 'static,
    ) -> Vec<String> {
        let running = Arc::new(AtomicBool::new(true));
        let (wdir, wcfg, flag) = (dir.to_path_buf(), cfg.clone(), running.clone());
        let writer = std::thread::spawn(move || {
            let mut w = LogWriter::open(&wdir, "c", &wcfg).unwrap();
            feed(&mut w);
            flag.store(false, Ordering::SeqCst);
        });
        let opts = ReadOptions {
            follow: true,
            poll: Some(poll),
            ..Default::default()
        };
        let got = collect_while(dir, LogDriver::JsonFile, &opts, &move || {
            running.load(Ordering::SeqCst)
        });
        writer.join().unwrap();
        got
    }

    fn write_lines(dir: &Path, cfg: &LogConfig, from: u32, to: u32) {
        let mut w = LogWriter::open(dir, "c", cfg).unwrap();
        for i in from..to {
            w.feed(Stream::Stdout, format!("line {i:04}\n").as_bytes());
        }
    }

    #[test]
    fn identical_lines_of_one_read_all_come_back() {
        // `yes`: thousands of equal lines per pipe read, written as one
        // batch; none may pass for a re-read copy of the one before.
        for driver in [LogDriver::JsonFile, LogDriver::Local] {
            let dir = tempfile::tempdir().unwrap();
            let cfg = LogConfig {
                driver,
                ..Default::default()
            };
            let mut w = LogWriter::open(dir.path(), "c", &cfg).unwrap();
            w.feed(Stream::Stdout, "y\n".repeat(5000).as_bytes());
            w.feed(Stream::Stdout, "y\n".repeat(5000).as_bytes());
            let got = collect(dir.path(), driver, &ReadOptions::default());
            assert_eq!(got.len(), 10_000, "{driver:?}");
            if driver == LogDriver::JsonFile {
                let followed =
                    follow_while_writing(dir.path(), &cfg, Duration::from_millis(5), |w| {
                        w.feed(Stream::Stdout, "n\n".repeat(3000).as_bytes());
                    });
                assert_eq!(followed.len(), 13_000);
            }
        }
    }

    #[test]
    fn reads_across_rotated_and_compressed_files_in_order() {
        for driver in [LogDriver::JsonFile, LogDriver::Local] {
            let dir = tempfile::tempdir().unwrap();
            let cfg = LogConfig {
                driver,
                max_size: Some(2000),
                max_file: 4,
                compress: true,
                opts: Default::default(),
            };
            write_lines(dir.path(), &cfg, 0, 100);
            let got = collect(dir.path(), driver, &ReadOptions::default());
            assert!(got.len() > 40, "{driver:?}: {}", got.len());
            let last = got.last().unwrap().clone();
            assert_eq!(last, "line 0099\n");
            let mut sorted = got.clone();
            sorted.sort();
            assert_eq!(got, sorted, "{driver:?}: out of order");
            let tail = collect(
                dir.path(),
                driver,
                &ReadOptions {
                    tail: Some(3),
                    ..Default::default()
                },
            );
            assert_eq!(tail, ["line 0097\n", "line 0098\n", "line 0099\n"]);
        }
    }

    #[test]
    fn since_and_until_filter_by_time() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = LogConfig::default();
        let mut w = LogWriter::open(dir.path(), "c", &cfg).unwrap();
        for (i, secs) in [100, 200, 300].iter().enumerate() {
            w.write_entry(&Entry {
                stream: Stream::Stdout,
                time: Utc.timestamp_opt(*secs, 0).unwrap(),
                line: format!("{i}\n").into_bytes(),
            });
        }
        let opts = ReadOptions {
            since: Some(Utc.timestamp_opt(150, 0).unwrap()),
            until: Some(Utc.timestamp_opt(250, 0).unwrap()),
            ..Default::default()
        };
        assert_eq!(collect(dir.path(), LogDriver::JsonFile, &opts), ["1\n"]);
    }

    #[test]
    fn time_filters_parse_like_docker() {
        let now = Utc.timestamp_opt(1_000_000, 0).unwrap();
        assert_eq!(
            parse_time_filter("--since", "10m", now).unwrap(),
            Utc.timestamp_opt(1_000_000 - 600, 0).unwrap()
        );
        assert_eq!(
            parse_time_filter("--since", "1700000000", now).unwrap(),
            Utc.timestamp_opt(1_700_000_000, 0).unwrap()
        );
        assert!(parse_time_filter("--since", "2023-11-14T22:13:20Z", now).is_ok());
        let e = parse_time_filter("--until", "yesterday", now).unwrap_err();
        assert!(e.to_string().contains("--until"));
    }

    #[test]
    fn follow_streams_new_lines_across_rotation_and_stops_at_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = LogConfig {
            driver: LogDriver::JsonFile,
            max_size: Some(600),
            max_file: 3,
            compress: true,
            opts: Default::default(),
        };
        write_lines(dir.path(), &cfg, 0, 2);
        let got = follow_while_writing(dir.path(), &cfg, Duration::from_millis(2), |w| {
            for i in 2..60 {
                w.feed(Stream::Stdout, format!("line {i:04}\n").as_bytes());
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        let want: Vec<String> = (0..60).map(|i| format!("line {i:04}\n")).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_slow_follower_loses_nothing_across_several_rotations_per_poll() {
        let dir = tempfile::tempdir().unwrap();
        // ~60-byte records, 300-byte files: a burst of 20 lines rotates
        // about four times, and two bursts may fall between two polls of
        // the reader (20 files kept, so none is gone before it is read).
        let cfg = LogConfig {
            driver: LogDriver::JsonFile,
            max_size: Some(300),
            max_file: 20,
            compress: true,
            opts: Default::default(),
        };
        write_lines(dir.path(), &cfg, 0, 1);
        let got = follow_while_writing(dir.path(), &cfg, Duration::from_millis(100), |w| {
            for burst in 0..5 {
                std::thread::sleep(Duration::from_millis(60));
                for i in 0..20 {
                    let n = 1 + burst * 20 + i;
                    w.feed(Stream::Stdout, format!("line {n:04}\n").as_bytes());
                }
            }
            std::thread::sleep(Duration::from_millis(60));
        });
        let want: Vec<String> = (0..101).map(|i| format!("line {i:04}\n")).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn the_none_driver_has_no_logs() {
        let dir = tempfile::tempdir().unwrap();
        let e = read_logs(
            dir.path(),
            "c",
            &LogConfig {
                driver: LogDriver::None,
                ..Default::default()
            },
            &ReadOptions::default(),
            &|| false,
            &mut |_| Ok(()),
        )
        .unwrap_err();
        assert!(e.to_string().contains("none log driver"));
    }
}
