//! The monitor's stats sampler: every `--stats-interval` one
//! `Container::stats()` (cgroup files kept open by the core handle, one
//! `pread` each) appended to the container's ring file
//! ([`crate::history`]). The ring is reopened by each run and by a
//! replacement monitor, which carry on after its last sample.
//!
//! Nothing is kept in memory but the ring's descriptor: memory stays flat
//! however long the container runs. A failed write (a full disk) is
//! reported once in `monitor.log` and sampling goes on.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use containerv::history::HistoryWriter;
use containerv::Container;

use crate::history::HISTORY_FILE;
use crate::record::ContainerConfig;
use crate::store::Store;

pub(super) struct Sampler {
    ring: HistoryWriter,
    interval: Duration,
    /// When the next sample is due.
    pub(super) next: Instant,
    failing: bool,
    /// OOM kills seen so far (from the first sample on), and whether
    /// any were reported as `oom` events while the container ran.
    oom_seen: Option<u64>,
    pub(super) oom_reported: bool,
}

impl Sampler {
    /// The sampler of `config`'s container; `None` with `--stats-interval
    /// 0` or when the ring cannot be opened (said in `monitor.log`).
    pub(super) fn open(store: &Store, config: &ContainerConfig) -> Option<Sampler> {
        let h = config.stats_history;
        let interval = h.interval()?;
        let path = store.dir(&config.id).join(HISTORY_FILE);
        match HistoryWriter::open(&path, h.capacity()) {
            Ok(ring) => Some(Sampler {
                ring,
                interval,
                next: Instant::now(),
                failing: false,
                oom_seen: None,
                oom_reported: false,
            }),
            Err(e) => {
                eprintln!("cv monitor {}: no stats history: {e}", config.id);
                None
            }
        }
    }

    /// Milliseconds until the next sample (for a poll timeout).
    pub(super) fn wait_ms(&self) -> i32 {
        self.next
            .saturating_duration_since(Instant::now())
            .as_micros()
            .div_ceil(1000)
            .min(60_000) as i32
    }

    /// Takes a sample of `c` if one is due; returns how many OOM kills
    /// the kernel counted since the last sample (for docker's live `oom`
    /// event: a process killed while the container runs on).
    pub(super) fn tick(&mut self, c: &Container) -> u64 {
        let now = Instant::now();
        if now < self.next {
            return 0;
        }
        self.next += self.interval;
        if self.next <= now {
            // Late (a stopped machine, a long stall): skip, do not burst.
            self.next = now + self.interval;
        }
        let Ok(mut s) = c.stats() else { return 0 };
        let new_ooms = s
            .oom_kills
            .saturating_sub(self.oom_seen.unwrap_or(s.oom_kills));
        self.oom_seen = Some(s.oom_kills);
        if new_ooms > 0 {
            self.oom_reported = true;
        }
        if s.timestamp_ns == 0 {
            s.timestamp_ns = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
        }
        match self.ring.append(&s) {
            Ok(()) => self.failing = false,
            Err(e) if !self.failing => {
                eprintln!("stats history: {e}");
                self.failing = true;
            }
            Err(_) => {}
        }
        new_ooms
    }
}
