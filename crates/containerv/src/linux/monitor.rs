//! Monitoring: `stats()` and `processes()` of a container, and the limit
//! operations on a running one (pause, resume, update).
//!
//! CPU percent comes from the delta since the previous sample of the same
//! container, kept in [`Samples`] inside the `Container`, never globally.
//! Sampling only opens and reads small files into a buffer kept in
//! `Samples` (no process is spawned); the per-container state is a few
//! words plus one entry per live process.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use oci_spec::runtime::LinuxResources;

use super::cgroups::{read_seq, CgroupManager};
use super::netstat::NetReader;
use super::Container;
use crate::error::Result;
use crate::stats::{ProcessInfo, Stats};

/// Previous samples of one container (for CPU percent deltas), and the
/// read buffer reused by every sample.
#[derive(Debug, Default)]
pub struct Samples {
    /// (cgroup CPU time ns, monotonic ns) of the previous `stats()`.
    last: Option<(u64, u64)>,
    /// Per pid: (utime + stime in clock ticks, monotonic ns) of the
    /// previous `processes()`; only live pids are kept.
    procs: HashMap<i32, (u64, u64)>,
    /// The init's network counters, read through a kept descriptor.
    net: NetReader,
    buf: Vec<u8>,
}

fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn percent(delta_work_ns: u64, delta_wall_ns: u64) -> f64 {
    if delta_wall_ns == 0 {
        0.0
    } else {
        delta_work_ns as f64 * 100.0 / delta_wall_ns as f64
    }
}

/// Fields of `/proc/<pid>/stat` this module needs.
struct PidStat {
    comm: String,
    ticks: u64,
    rss_pages: u64,
}

fn parse_pid_stat(text: &str) -> Option<PidStat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text.get(open + 1..close)?.to_string();
    // Fields after the comm start at field 3 (state).
    let rest: Vec<&str> = text.get(close + 2..)?.split_ascii_whitespace().collect();
    let field = |n: usize| rest.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    Some(PidStat {
        comm,
        ticks: field(14)? + field(15)?,
        rss_pages: field(24)?,
    })
}

impl Samples {
    /// One sample of the cgroup `cg` (whose init is `init_pid`, for the
    /// network counters; 0 when there is none).
    pub fn stats(&mut self, cg: &dyn CgroupManager, init_pid: i32) -> Result<Stats> {
        let c = cg.stats()?;
        let now = monotonic_ns();
        let cpu_percent = match self.last {
            Some((cpu, t)) => percent(c.cpu_time_ns.saturating_sub(cpu), now.saturating_sub(t)),
            None => 0.0,
        };
        self.last = Some((c.cpu_time_ns, now));
        // The init may have just died: its network is gone with it.
        let net = self.net.read(init_pid);
        Ok(Stats {
            timestamp_ns: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64),
            memory_usage: c.memory_usage,
            memory_charged: c.memory_charged,
            memory_peak: c.memory_peak,
            memory_limit: c.memory_limit,
            cpu_time_ns: c.cpu_time_ns,
            cpu_percent,
            read_bytes: c.read_bytes,
            write_bytes: c.write_bytes,
            read_ops: c.read_ops,
            write_ops: c.write_ops,
            net_rx_bytes: net.rx_bytes,
            net_tx_bytes: net.tx_bytes,
            net_rx_packets: net.rx_packets,
            net_tx_packets: net.tx_packets,
            active_processes: c.processes,
            total_processes: c.tasks,
            oom_kills: c.oom_kills,
            cpu_periods: c.cpu_periods,
            cpu_throttled_periods: c.cpu_throttled_periods,
            cpu_throttled_ns: c.cpu_throttled_ns,
        })
    }

    /// The processes of cgroup `cg`: pid, name, RSS, CPU percent since the
    /// previous call. A process that exits while being read is skipped.
    pub fn processes(&mut self, cg: &dyn CgroupManager) -> Result<Vec<ProcessInfo>> {
        let pids = cg.pids()?;
        let now = monotonic_ns();
        let tick_ns = 1_000_000_000 / clock_ticks();
        let page = page_size();
        let mut out = Vec::with_capacity(pids.len());
        let mut seen = HashMap::with_capacity(pids.len());
        for pid in pids {
            let path = format!("/proc/{pid}/stat");
            let ok = std::fs::File::open(&path)
                .and_then(|f| read_seq(&f, &mut self.buf))
                .is_ok();
            let text = std::str::from_utf8(&self.buf).unwrap_or("");
            let Some(st) = ok.then(|| parse_pid_stat(text)).flatten() else {
                continue;
            };
            let cpu_percent = match self.procs.get(&pid) {
                Some(&(ticks, t)) if st.ticks >= ticks => {
                    percent((st.ticks - ticks) * tick_ns, now.saturating_sub(t))
                }
                _ => 0.0,
            };
            seen.insert(pid, (st.ticks, now));
            out.push(ProcessInfo {
                pid,
                name: st.comm,
                memory: st.rss_pages * page,
                cpu_percent,
            });
        }
        self.procs = seen;
        Ok(out)
    }
}

fn clock_ticks() -> u64 {
    // SAFETY: sysconf has no memory effects.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as u64
    } else {
        100
    }
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no memory effects.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as u64
    } else {
        4096
    }
}

impl Container {
    fn samples(&self) -> std::sync::MutexGuard<'_, Samples> {
        self.samples.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One sample of the container's resource use.
    pub fn stats(&self) -> Result<Stats> {
        let pid = self.pid();
        self.samples().stats(&*self.cgroup, pid)
    }

    /// The container's processes.
    pub fn processes(&self) -> Result<Vec<ProcessInfo>> {
        self.samples().processes(&*self.cgroup)
    }

    /// Host pids of the container's processes (its cgroup's members).
    pub fn pids(&self) -> Result<Vec<i32>> {
        self.cgroup.pids()
    }

    /// Freeze every process.
    pub fn pause(&self) -> Result<()> {
        self.cgroup.freeze()
    }

    /// Thaw a paused container.
    pub fn resume(&self) -> Result<()> {
        self.cgroup.thaw()
    }

    /// Change limits of a running container.
    pub fn update(&self, resources: &LinuxResources) -> Result<()> {
        self.cgroup.apply(resources)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_stat() {
        let t = "1234 (my (odd) name) S 1 1234 1234 0 -1 4194304 100 0 0 0 7 3 0 0 20 0 1 0 100 1000000 250 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
        let s = parse_pid_stat(t).unwrap();
        assert_eq!(s.comm, "my (odd) name");
        assert_eq!(s.ticks, 10);
        assert_eq!(s.rss_pages, 250);
    }
}
