//! The forwarding drivers (`syslog`, `fluentd`, `journald`) and the one
//! piece they share: a bounded queue drained by a sender thread.
//!
//! WHY a thread and a bound: the monitor's poll loop must keep reading the
//! container's pipes whatever the destination does — a syslog server that
//! is down, a fluentd that stalls, a full journal. So the loop only
//! enqueues (never blocks): lines wait in memory up to `max-buffer-size`
//! bytes (docker's non-blocking mode, default 1 MiB; fluentd also caps
//! the count at `fluentd-buffer-limit`), and a line that does not fit is
//! dropped and counted. The thread connects, sends in batches, and on an
//! error keeps the batch, reconnects every `retry-wait` and sends it again,
//! so a destination that comes back gets every line that was kept, in
//! order. Transitions (unreachable, back, lines dropped) go to
//! `monitor.log`; the count goes to the record (`State.LogLinesDropped`).
//! Lines travel in [`Chunk`]s, one per pipe read (one buffer, one lock,
//! one wake-up for all its lines), and go out in batches: one write per
//! batch on a stream, `sendmmsg` for datagrams (`dgram.rs`).
//! The clone of the container's init from this (then two-threaded)
//! process is safe: the core's child code is written for that.

mod dgram;
pub mod fluentd;
pub mod journald;
pub mod syslog;

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::config::{parse_size, LogConfig, LogDriver};
use super::format::Stream;
use super::tag::Info;
use crate::error::{Error, Result};

/// One line on its way out (without its newline), as a sink sees it: a
/// view into the [`Chunk`] it came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    pub stream: Stream,
    pub time: DateTime<Utc>,
    pub text: &'a [u8],
    /// A piece of a longer line (cut at 16 KiB, or the output's end).
    pub partial: bool,
}

/// Bytes a line costs in a chunk besides its text (its [`Span`]).
const SPAN_COST: usize = std::mem::size_of::<Span>();

/// Where one line lies in its chunk's bytes.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: u32,
    end: u32,
    stream: Stream,
    partial: bool,
}

/// The lines of one pipe read on their way out: one buffer and one time
/// for all of them (the monitor read them at one instant), so queueing a
/// read's worth of lines costs one allocation and one lock, not one per
/// line.
#[derive(Debug, Clone, Default)]
pub struct Chunk {
    time: Option<DateTime<Utc>>,
    bytes: Vec<u8>,
    spans: Vec<Span>,
}

impl Chunk {
    /// An empty chunk for lines read at `time`.
    pub fn new(time: DateTime<Utc>) -> Self {
        Chunk {
            time: Some(time),
            ..Default::default()
        }
    }

    /// Adds a line (without its newline).
    pub fn push(&mut self, stream: Stream, text: &[u8], partial: bool) {
        let start = self.bytes.len() as u32;
        self.bytes.extend_from_slice(text);
        self.spans.push(Span {
            start,
            end: self.bytes.len() as u32,
            stream,
            partial,
        });
    }

    /// Lines held.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True if it holds no line.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Line `i`.
    pub fn line(&self, i: usize) -> Line<'_> {
        let s = self.spans[i];
        Line {
            stream: s.stream,
            time: self.time.unwrap_or_default(),
            text: &self.bytes[s.start as usize..s.end as usize],
            partial: s.partial,
        }
    }

    /// The queue's charge for line `i`: its text and its span, what it
    /// really holds in memory (a charge of a 64-byte record per line made
    /// one 64 KiB read of `yes` cost 2 MiB, over the default 1 MiB bound).
    fn cost(&self, i: usize) -> usize {
        let s = self.spans[i];
        (s.end - s.start) as usize + SPAN_COST
    }

    /// Charge of every line.
    fn total_cost(&self) -> usize {
        (0..self.len()).map(|i| self.cost(i)).sum()
    }

    /// Keeps the first `n` lines.
    fn truncate(&mut self, n: usize) {
        if n < self.spans.len() {
            self.bytes.truncate(self.spans[n].start as usize);
            self.spans.truncate(n);
        }
    }
}

/// Where lines go and how, parsed from the options.
#[derive(Debug, Clone)]
pub enum Kind {
    Syslog(syslog::Options),
    Fluentd(fluentd::Options),
    Journald(journald::Options),
}

/// A forwarding driver's settings, checked at `create`.
#[derive(Debug, Clone)]
pub struct Settings {
    pub kind: Kind,
    /// Bytes of lines kept while the destination is slow or away.
    pub max_buffer: usize,
    /// Lines kept (fluentd's `fluentd-buffer-limit`), else unbounded.
    pub max_lines: usize,
    /// Between connection attempts.
    pub retry_wait: Duration,
    /// Attempts for one batch before it is dropped (None: forever).
    pub max_retries: Option<u64>,
}

impl Settings {
    /// The settings of a forwarding driver (None for the file drivers);
    /// also checks `mode` and `max-buffer-size`, which every driver takes.
    pub fn parse(c: &LogConfig) -> Result<Option<Settings>> {
        let o = &c.opts;
        if let Some(m) = o.get("mode") {
            if m != "blocking" && m != "non-blocking" {
                return Err(Error::option(
                    "--log-opt mode",
                    m.as_str(),
                    "must be blocking or non-blocking",
                ));
            }
        }
        let max_buffer = match o.get("max-buffer-size") {
            Some(v) => parse_size(v).filter(|n| *n > 0).ok_or_else(|| {
                Error::option(
                    "--log-opt max-buffer-size",
                    v.as_str(),
                    "not a positive size (e.g. 4m)",
                )
            })? as usize,
            None => 1 << 20,
        };
        let mut s = Settings {
            kind: Kind::Journald(journald::Options::default()),
            max_buffer,
            max_lines: usize::MAX,
            retry_wait: Duration::from_secs(1),
            max_retries: None,
        };
        s.kind = match c.driver {
            LogDriver::Syslog => Kind::Syslog(syslog::Options::parse(o)?),
            LogDriver::Fluentd => {
                let f = fluentd::Options::parse(o)?;
                s.max_lines = f.buffer_limit;
                s.retry_wait = f.retry_wait;
                s.max_retries = f.max_retries;
                if o.get("max-buffer-size").is_none() {
                    // Lines are counted by fluentd-buffer-limit; bytes
                    // still need a bound.
                    s.max_buffer = 8 << 20;
                }
                Kind::Fluentd(f)
            }
            LogDriver::Journald => Kind::Journald(journald::Options::default()),
            _ => return Ok(None),
        };
        Ok(Some(s))
    }
}

/// A connection to a destination.
pub trait Sink: Send {
    /// Where, for messages (`tcp://127.0.0.1:514`).
    fn describe(&self) -> String;
    /// (Re)connects.
    fn connect(&mut self) -> io::Result<()>;
    /// Sends every line of `batch`, in order; an error means "reconnect
    /// and send the batch again".
    fn send(&mut self, batch: &[Line<'_>]) -> io::Result<()>;
}

/// The sink for `settings`, for container `info`.
pub fn sink(settings: &Settings, c: &LogConfig, info: &Info) -> Box<dyn Sink> {
    match &settings.kind {
        Kind::Syslog(o) => Box::new(syslog::SyslogSink::new(o.clone(), c, info)),
        Kind::Fluentd(o) => Box::new(fluentd::FluentdSink::new(o.clone(), c, info)),
        Kind::Journald(o) => Box::new(journald::JournaldSink::new(o.clone(), c, info)),
    }
}

#[derive(Default)]
struct Queue {
    chunks: VecDeque<Chunk>,
    /// Lines in `chunks`.
    lines: usize,
    bytes: usize,
    closing: Option<Instant>,
}

struct Shared {
    q: Mutex<Queue>,
    wake: Condvar,
    dropped: AtomicU64,
    sent: AtomicU64,
    /// Lines queued or being sent.
    pending: AtomicU64,
}

/// The sending half the monitor holds.
pub struct Forwarder {
    shared: Arc<Shared>,
    max_buffer: usize,
    max_lines: usize,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Forwarder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forwarder")
            .field("dropped", &self.dropped())
            .finish()
    }
}

/// Lines taken per send (at least: whole chunks are taken).
const BATCH: usize = 512;

impl Forwarder {
    /// Starts the sender thread for `sink`.
    pub fn start(settings: &Settings, driver: &'static str, mut sink: Box<dyn Sink>) -> Self {
        let shared = Arc::new(Shared {
            q: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            dropped: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            pending: AtomicU64::new(0),
        });
        let sh = shared.clone();
        let retry_wait = settings.retry_wait;
        let max_retries = settings.max_retries;
        let max_buffer = settings.max_buffer;
        let thread = std::thread::Builder::new()
            .name("log-forward".into())
            .spawn(move || run(&sh, driver, &mut *sink, retry_wait, max_retries, max_buffer))
            .ok();
        Forwarder {
            shared,
            max_buffer: settings.max_buffer,
            max_lines: settings.max_lines,
            thread,
        }
    }

    /// Queues the lines of `chunk` that fit, in order; the rest are
    /// dropped and counted. One lock and one wake-up for the lot; never
    /// blocks on the destination.
    pub fn push_chunk(&self, mut chunk: Chunk) {
        if chunk.is_empty() {
            return;
        }
        let mut q = lock(&self.shared.q);
        let mut fit = 0;
        let mut bytes = 0;
        if self.thread.is_some() {
            let room_lines = self.max_lines.saturating_sub(q.lines);
            while fit < chunk.len().min(room_lines) {
                let n = chunk.cost(fit);
                if q.bytes + bytes + n > self.max_buffer {
                    break;
                }
                bytes += n;
                fit += 1;
            }
        }
        let lost = chunk.len() - fit;
        chunk.truncate(fit);
        if fit > 0 {
            q.bytes += bytes;
            q.lines += fit;
            q.chunks.push_back(chunk);
            self.shared.pending.fetch_add(fit as u64, Ordering::Relaxed);
        }
        drop(q);
        if lost > 0 {
            self.shared
                .dropped
                .fetch_add(lost as u64, Ordering::Relaxed);
        }
        if fit > 0 {
            self.shared.wake.notify_one();
        }
    }

    /// Lines dropped so far (buffer full, or given up on).
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Lines delivered so far.
    pub fn sent(&self) -> u64 {
        self.shared.sent.load(Ordering::Relaxed)
    }

    /// Waits (at most `grace`) until everything queued has been sent or
    /// given up on; true if nothing is left.
    pub fn drain(&self, grace: Duration) -> bool {
        let end = Instant::now() + grace;
        loop {
            if self.shared.pending.load(Ordering::Relaxed) == 0 {
                return true;
            }
            if Instant::now() >= end {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Lets the thread send what is queued until `grace` has passed, then
    /// drops (and counts) the rest and ends it.
    pub fn close(&mut self, grace: Duration) {
        lock(&self.shared.q).closing = Some(Instant::now() + grace);
        self.shared.wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.close(Duration::from_secs(2));
    }
}

fn lock(m: &Mutex<Queue>) -> std::sync::MutexGuard<'_, Queue> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The sender thread: batches out, reconnecting as needed.
fn run(
    sh: &Shared,
    driver: &str,
    sink: &mut dyn Sink,
    retry_wait: Duration,
    max_retries: Option<u64>,
    max_buffer: usize,
) {
    let mut connected = false;
    let mut down_since_drops: Option<u64> = None;
    loop {
        // Wait for lines (or the end); take whole chunks, at least BATCH
        // lines when that many wait.
        let (chunks, closing) = {
            let mut q = lock(&sh.q);
            while q.chunks.is_empty() && q.closing.is_none() {
                q = sh.wake.wait(q).unwrap_or_else(|p| p.into_inner());
            }
            let mut taken = Vec::new();
            let mut n = 0;
            while n < BATCH {
                let Some(c) = q.chunks.pop_front() else {
                    break;
                };
                n += c.len();
                q.lines -= c.len();
                q.bytes -= c.total_cost();
                taken.push(c);
            }
            (taken, q.closing)
        };
        let batch: Vec<Line<'_>> = chunks
            .iter()
            .flat_map(|c| (0..c.len()).map(move |i| c.line(i)))
            .collect();
        if batch.is_empty() {
            return; // closing, nothing left
        }
        let mut attempts = 0u64;
        loop {
            let past_grace = closing.is_some_and(|d| Instant::now() >= d)
                || lock(&sh.q).closing.is_some_and(|d| Instant::now() >= d);
            let result = if connected {
                sink.send(&batch)
            } else {
                sink.connect().and_then(|()| {
                    connected = true;
                    if let Some(before) = down_since_drops.take() {
                        let now = sh.dropped.load(Ordering::Relaxed);
                        eprintln!(
                            "log driver {driver}: {} reachable again; {} lines dropped while it was not",
                            sink.describe(),
                            now - before
                        );
                    }
                    sink.send(&batch)
                })
            };
            match result {
                Ok(()) => {
                    sh.sent.fetch_add(batch.len() as u64, Ordering::Relaxed);
                    sh.pending.fetch_sub(batch.len() as u64, Ordering::Relaxed);
                    break;
                }
                Err(e) => {
                    connected = false;
                    attempts += 1;
                    if down_since_drops.is_none() {
                        down_since_drops = Some(sh.dropped.load(Ordering::Relaxed));
                        eprintln!(
                            "log driver {driver}: {}: {e}; keeping up to {max_buffer} bytes of lines, then dropping (counted)",
                            sink.describe()
                        );
                    }
                    if past_grace || max_retries.is_some_and(|m| attempts > m) {
                        sh.dropped.fetch_add(batch.len() as u64, Ordering::Relaxed);
                        sh.pending.fetch_sub(batch.len() as u64, Ordering::Relaxed);
                        if past_grace {
                            // The container is gone: drop what is left.
                            let mut q = lock(&sh.q);
                            let rest = q.lines as u64;
                            q.chunks.clear();
                            q.lines = 0;
                            q.bytes = 0;
                            sh.dropped.fetch_add(rest, Ordering::Relaxed);
                            sh.pending.fetch_sub(rest, Ordering::Relaxed);
                            eprintln!(
                                "log driver {driver}: {} still unreachable at the end; {} lines dropped in all",
                                sink.describe(),
                                sh.dropped.load(Ordering::Relaxed)
                            );
                            return;
                        }
                        break;
                    }
                    // Sleep, but wake for the end.
                    let q = lock(&sh.q);
                    let _ = sh.wake.wait_timeout(q, retry_wait);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// Collects what it is sent; `connect` waits for the test's go.
    struct Collect {
        got: Arc<Mutex<Vec<String>>>,
        go: Option<mpsc::Receiver<()>>,
    }

    impl Sink for Collect {
        fn describe(&self) -> String {
            "test".into()
        }
        fn connect(&mut self) -> io::Result<()> {
            if let Some(go) = self.go.take() {
                let _ = go.recv();
            }
            Ok(())
        }
        fn send(&mut self, batch: &[Line<'_>]) -> io::Result<()> {
            let mut g = self.got.lock().unwrap();
            g.extend(
                batch
                    .iter()
                    .map(|l| String::from_utf8_lossy(l.text).into_owned()),
            );
            Ok(())
        }
    }

    fn settings(max_buffer: usize, max_lines: usize) -> Settings {
        Settings {
            kind: Kind::Journald(journald::Options::default()),
            max_buffer,
            max_lines,
            retry_wait: Duration::from_millis(10),
            max_retries: None,
        }
    }

    fn chunk(from: usize, n: usize) -> Chunk {
        let mut c = Chunk::new(Utc::now());
        for i in from..from + n {
            c.push(Stream::Stdout, format!("{i:03}").as_bytes(), false);
        }
        c
    }

    #[test]
    fn a_chunk_that_does_not_fit_keeps_its_first_lines_and_counts_the_rest() {
        let got = Arc::new(Mutex::new(Vec::new()));
        let (go, wait) = mpsc::channel();
        // Room for 4 lines of 3 bytes (each charged 3 + its span).
        let mut f = Forwarder::start(
            &settings(4 * (3 + SPAN_COST), usize::MAX),
            "test",
            Box::new(Collect {
                got: got.clone(),
                go: Some(wait),
            }),
        );
        f.push_chunk(chunk(0, 10));
        assert_eq!(f.dropped(), 6);
        go.send(()).unwrap();
        assert!(f.drain(Duration::from_secs(5)));
        f.push_chunk(chunk(10, 3));
        f.close(Duration::from_secs(5));
        assert_eq!(
            *got.lock().unwrap(),
            ["000", "001", "002", "003", "010", "011", "012"]
        );
        assert_eq!(f.sent(), 7);
        assert_eq!(f.dropped(), 6);
    }

    #[test]
    fn the_line_bound_applies_across_chunks() {
        let got = Arc::new(Mutex::new(Vec::new()));
        let (go, wait) = mpsc::channel();
        let mut f = Forwarder::start(
            &settings(1 << 20, 5),
            "test",
            Box::new(Collect {
                got: got.clone(),
                go: Some(wait),
            }),
        );
        // The thread may take the first chunk before it blocks in connect:
        // then that chunk no longer counts against the bound.
        f.push_chunk(chunk(0, 3));
        std::thread::sleep(Duration::from_millis(50));
        f.push_chunk(chunk(3, 3));
        f.push_chunk(chunk(6, 3));
        let dropped = f.dropped();
        go.send(()).unwrap();
        f.close(Duration::from_secs(5));
        let got = got.lock().unwrap().clone();
        assert_eq!(got.len() as u64 + dropped, 9);
        assert!(dropped >= 1, "the bound of 5 lines held: {got:?}");
        assert!(got.windows(2).all(|w| w[0] < w[1]), "in order: {got:?}");
    }
}
