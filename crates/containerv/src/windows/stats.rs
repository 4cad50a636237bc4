//! The shared [`Stats`] and [`ProcessInfo`] from a job object.
//!
//! - `memory_usage`: the sum of the commit charge (private committed bytes,
//!   `PagefileUsage` of `K32GetProcessMemoryInfo`, equal to `PrivateUsage`
//!   on Windows and the one Wine fills) of the job's processes now, the
//!   figure the job memory limit counts;
//! - `memory_peak`: `PeakJobMemoryUsed`; `memory_limit`: `JobMemoryLimit`
//!   when set;
//! - `cpu_time_ns`: `TotalUserTime + TotalKernelTime` of the job (every
//!   process that was ever in it); `cpu_percent`: its delta over wall time
//!   since this container's previous `stats()` (0 on the first);
//! - I/O bytes and operations: the job's `IO_COUNTERS` (all I/O, files and
//!   devices, not only block devices);
//! - `active_processes` / `total_processes`: the job's counts;
//! - network, OOM kills and CPU throttling periods: 0, a job object does
//!   not account for them.
//!
//! `processes()`: pid from the job's process id list, image name, working
//! set, and CPU percent from each pid's CPU time delta since this
//! container's previous `processes()` (0 for a pid seen the first time).

use std::collections::HashMap;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use windows_sys::Win32::System::JobObjects::JOB_OBJECT_LIMIT_JOB_MEMORY;

use super::job::Job;
use super::procinfo;
use crate::error::Result;
use crate::stats::{ProcessInfo, Stats};

/// Previous samples of one container, for CPU percentages.
#[derive(Debug, Default)]
pub(crate) struct Samples {
    job: Option<(Instant, u64)>,
    pids: HashMap<u32, (Instant, u64)>,
}

fn percent(prev: Option<(Instant, u64)>, now: Instant, cpu_ns: u64) -> f64 {
    match prev {
        Some((t, c)) => {
            let wall = now.duration_since(t).as_nanos() as f64;
            if wall > 0.0 {
                cpu_ns.saturating_sub(c) as f64 * 100.0 / wall
            } else {
                0.0
            }
        }
        None => 0.0,
    }
}

/// One sample of the container's figures.
pub(crate) fn stats(job: &Job, samples: &mut Samples) -> Result<Stats> {
    let acct = job.accounting()?;
    let ext = job.extended_limits()?;
    let now = Instant::now();
    let mut memory_usage = 0u64;
    for pid in job.process_ids()? {
        if let Some(m) = procinfo::open(pid).and_then(|h| procinfo::memory(&h)) {
            memory_usage += m.PagefileUsage as u64;
        }
    }
    let cpu_percent = percent(samples.job, now, acct.cpu_ns);
    samples.job = Some((now, acct.cpu_ns));
    let limited = ext.BasicLimitInformation.LimitFlags & JOB_OBJECT_LIMIT_JOB_MEMORY != 0;
    Ok(Stats {
        timestamp_ns: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
        memory_usage,
        memory_charged: memory_usage,
        memory_peak: ext.PeakJobMemoryUsed as u64,
        memory_limit: limited.then_some(ext.JobMemoryLimit as u64),
        cpu_time_ns: acct.cpu_ns,
        cpu_percent,
        read_bytes: acct.read_bytes,
        write_bytes: acct.write_bytes,
        read_ops: acct.read_ops,
        write_ops: acct.write_ops,
        active_processes: acct.active_processes,
        total_processes: acct.total_processes,
        ..Default::default()
    })
}

/// The container's processes now.
pub(crate) fn processes(job: &Job, samples: &mut Samples) -> Result<Vec<ProcessInfo>> {
    let now = Instant::now();
    let mut seen = HashMap::new();
    let mut out = Vec::new();
    for pid in job.process_ids()? {
        let Some(h) = procinfo::open(pid) else {
            continue;
        };
        let cpu = procinfo::cpu_ns(&h).unwrap_or(0);
        let memory = procinfo::memory(&h).map_or(0, |m| m.WorkingSetSize as u64);
        out.push(ProcessInfo {
            pid: pid as i32,
            name: procinfo::name(&h).unwrap_or_default(),
            memory,
            cpu_percent: percent(samples.pids.get(&pid).copied(), now, cpu),
        });
        seen.insert(pid, (now, cpu));
    }
    samples.pids = seen;
    Ok(out)
}
