//! The monitor's stats sampler: every `--stats-interval` one
//! `Container::stats()` (cgroup files kept open by the core handle, one
//! `pread` each) appended to the container's ring file
//! ([`crate::history`]). The ring is reopened by each run and by a
//! replacement monitor, which carry on after its last sample.
//!
//! Nothing is kept in memory but the ring's descriptor: memory stays flat
//! however long the container runs. A failed write (a full disk) is
//! reported once in `monitor.log` and sampling goes on.
//!
//! Samples fall due on multiples of the interval on `CLOCK_MONOTONIC`,
//! which every monitor of the machine shares: 100 monitors at 1 s wake
//! in the same instant (one timer interrupt per CPU coalesces them) and
//! sample one after the other while the kernel's code and data for
//! reading cgroup files are hot in the caches, instead of 100 wake-ups
//! spread over the second, each from cold caches. Measured with
//! `monitoring_ab` (docs/BENCHMARKS.md). The first sample is taken at
//! once and the second on the first tick at least one interval later;
//! after that a sample is due on the next tick, never less than half an
//! interval after the previous one (a late wake-up skips a tick rather
//! than bursting).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use containerv::history::HistoryWriter;
use containerv::Container;

use crate::history::HISTORY_FILE;
use crate::record::ContainerConfig;
use crate::store::Store;

pub(super) struct Sampler {
    ring: HistoryWriter,
    /// The interval, ns (at least 100 ms).
    interval: u64,
    /// When the next sample is due, `CLOCK_MONOTONIC` ns.
    next: u64,
    /// No sample taken yet.
    first: bool,
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
                interval: (interval.as_nanos() as u64).max(1),
                next: monotonic_ns(),
                first: true,
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

    /// Time until the next sample (for a poll timeout; at most 60 s).
    pub(super) fn wait(&self) -> Duration {
        Duration::from_nanos(self.next.saturating_sub(monotonic_ns()).min(60_000_000_000))
    }

    /// Takes a sample of `c` if one is due; returns how many OOM kills
    /// the kernel counted since the last sample (for docker's live `oom`
    /// event: a process killed while the container runs on).
    pub(super) fn tick(&mut self, c: &Container) -> u64 {
        let now = monotonic_ns();
        if now < self.next {
            return 0;
        }
        let gap = if self.first {
            self.interval
        } else {
            self.interval / 2
        };
        self.first = false;
        self.next = next_due(now, self.interval, gap);
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

/// `CLOCK_MONOTONIC` now, ns: the clock of poll timeouts, the same in
/// every process of the machine.
fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// When the sample after one taken at `now` is due: the first multiple
/// of `interval` at least `gap` away (with half an interval: on time, the
/// next tick of the grid; late by more than half an interval, the tick
/// after it).
fn next_due(now: u64, interval: u64, gap: u64) -> u64 {
    (now + gap).div_ceil(interval) * interval
}

#[cfg(test)]
mod tests {
    use super::next_due;

    #[test]
    fn samples_fall_due_on_the_shared_grid() {
        let s = 1_000_000_000;
        let due = |now| next_due(now, s, s / 2);
        // On time (or a little late): the next tick.
        assert_eq!(due(5 * s), 6 * s);
        assert_eq!(due(5 * s + 3_000_000), 6 * s);
        // Late by half an interval or more: the tick after.
        assert_eq!(due(5 * s + s / 2), 6 * s);
        assert_eq!(due(5 * s + s / 2 + 1), 7 * s);
        // After the first sample: a whole interval at least.
        assert_eq!(next_due(5 * s + 1, s, s), 7 * s);
        assert_eq!(next_due(5 * s, s, s), 6 * s);
        // 100 ms: multiples of 100 ms.
        let i = 100_000_000;
        assert_eq!(next_due(1_234_567_890, i, i / 2), 1_300_000_000);
        for now in (0..3 * s).step_by(7_654_321) {
            let d = next_due(now, i, i / 2);
            assert_eq!(d % i, 0);
            assert!(d - now >= i / 2 && d - now <= i + i / 2, "{now} -> {d}");
            let d = next_due(now, i, i);
            assert!(d % i == 0 && d - now >= i && d - now < 2 * i);
        }
    }
}
