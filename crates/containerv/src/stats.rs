//! Monitoring figures, the same types on every platform.
//!
//! A field that a platform cannot fill is documented here and reads 0 (or
//! `None`); it is never estimated.

use serde::{Deserialize, Serialize};

/// One sample of a container's resource use (the original `containerv_stats`,
/// plus OOM kills, the memory limit and CPU throttling).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// When the sample was taken: nanoseconds since the Unix epoch.
    pub timestamp_ns: u64,
    /// Memory in use now, in bytes (Linux: cgroup memory usage less
    /// inactive file cache, as docker reports it; Windows: the job's
    /// committed memory).
    pub memory_usage: u64,
    /// Memory charged to the container, page cache included, in bytes
    /// (Linux: `memory.usage_in_bytes` or `memory.current`; Windows: the
    /// same as `memory_usage`). cAdvisor's `container_memory_usage_bytes`.
    #[serde(default)]
    pub memory_charged: u64,
    /// Highest memory use seen, in bytes (Linux: `memory.max_usage_in_bytes`
    /// or `memory.peak`; Windows: `PeakJobMemoryUsed`).
    pub memory_peak: u64,
    /// The memory limit in force, in bytes; `None` when unlimited.
    pub memory_limit: Option<u64>,
    /// CPU time used by all processes of the container, user + system, ns.
    pub cpu_time_ns: u64,
    /// CPU use since the previous sample of this same container, in percent
    /// of one CPU (200.0 = two CPUs busy). 0 on the first sample.
    pub cpu_percent: f64,
    /// Bytes read from block devices (Linux) or by I/O operations (Windows).
    pub read_bytes: u64,
    /// Bytes written to block devices (Linux) or by I/O operations (Windows).
    pub write_bytes: u64,
    /// Read operations.
    pub read_ops: u64,
    /// Write operations.
    pub write_ops: u64,
    /// Bytes received on the container's own network interfaces (loopback
    /// excluded). Windows: always 0, a job has no network accounting.
    pub net_rx_bytes: u64,
    /// Bytes sent on the container's own network interfaces.
    pub net_tx_bytes: u64,
    /// Packets received.
    pub net_rx_packets: u64,
    /// Packets sent.
    pub net_tx_packets: u64,
    /// Processes alive in the container now.
    pub active_processes: u64,
    /// Linux: tasks (processes and threads) in the container's cgroup now,
    /// the figure the pids limit counts; Windows: every process ever
    /// associated with the job.
    pub total_processes: u64,
    /// Processes killed by the out-of-memory killer in this container.
    pub oom_kills: u64,
    /// CPU quota periods that have elapsed (0 without a CPU quota).
    pub cpu_periods: u64,
    /// Periods in which the container was throttled.
    pub cpu_throttled_periods: u64,
    /// Total time the container was throttled, ns.
    pub cpu_throttled_ns: u64,
}

/// One process of a container, as `processes()` lists it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProcessInfo {
    /// Process id as seen from the host.
    pub pid: i32,
    /// Short command name (Linux `comm`, Windows image name).
    pub name: String,
    /// Resident memory (Linux RSS, Windows working set), bytes.
    pub memory: u64,
    /// CPU use since the previous `processes()` call of this container, in
    /// percent of one CPU. 0 for a process seen for the first time.
    pub cpu_percent: f64,
}
