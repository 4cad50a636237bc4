//! cgroups: one manager per mode (v1, hybrid, unified v2) behind one trait.
//!
//! No code outside this module knows which mode the host runs. The rest of
//! the library creates a container's cgroup with [`create`], keeps its
//! [`CgroupState`] in the container's state file, and gets the manager back
//! with [`open`] in any later process.
//!
//! SKELETON: the interface is fixed; the managers are being written.

use std::os::fd::OwnedFd;
use std::path::Path;

use oci_spec::runtime::LinuxResources;
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// What identifies a container's cgroup on this host; stored in the
/// container's state so any process can manage it later.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CgroupState {
    /// Directories this library created, one per hierarchy.
    pub dirs: Vec<std::path::PathBuf>,
}

/// Raw figures read from a container's cgroup.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CgroupStats {
    pub memory_usage: u64,
    pub memory_peak: u64,
    pub memory_limit: Option<u64>,
    pub oom_kills: u64,
    pub cpu_time_ns: u64,
    pub cpu_periods: u64,
    pub cpu_throttled_periods: u64,
    pub cpu_throttled_ns: u64,
    pub read_bytes: u64,
    pub write_bytes: u64,
    pub read_ops: u64,
    pub write_ops: u64,
    /// Tasks (processes and threads) now in the cgroup.
    pub tasks: u64,
}

/// A container's cgroup, whatever the host's mode.
pub trait CgroupManager: Send + Sync + std::fmt::Debug {
    /// What to store to find this cgroup again ([`open`]).
    fn state(&self) -> CgroupState;
    /// Set (or update) limits.
    fn apply(&self, resources: &LinuxResources) -> Result<()>;
    /// Every `cgroup.procs` of this cgroup, opened for writing, so a child
    /// between clone and exec can join with `write(fd, "0")` and no allocation.
    fn procs_fds(&self) -> Result<Vec<OwnedFd>>;
    /// Move a process into the cgroup.
    fn add_pid(&self, pid: i32) -> Result<()>;
    /// Processes in the cgroup (host pids).
    fn pids(&self) -> Result<Vec<i32>>;
    /// Freeze every process (pause).
    fn freeze(&self) -> Result<()>;
    /// Thaw (resume).
    fn thaw(&self) -> Result<()>;
    /// True while frozen.
    fn is_frozen(&self) -> Result<bool>;
    /// Raw figures.
    fn stats(&self) -> Result<CgroupStats>;
    /// SIGKILL every process in the cgroup and wait until it is empty.
    fn kill_all(&self) -> Result<()>;
    /// Remove the cgroup's directories (it must be empty).
    fn remove(&self) -> Result<()>;
}

/// Create the cgroup of container `id`: at `cgroups_path` (OCI
/// `cgroupsPath`, absolute or relative to the caller's own cgroup) or, by
/// default, `containerv-<id>` under the caller's own cgroup; then apply
/// `resources`. On error nothing is left behind.
pub fn create(
    id: &str,
    cgroups_path: Option<&Path>,
    resources: Option<&LinuxResources>,
) -> Result<Box<dyn CgroupManager>> {
    let _ = (id, cgroups_path, resources);
    Ok(Box::new(Noop))
}

/// The manager of a cgroup made earlier (perhaps by another process).
pub fn open(state: &CgroupState) -> Result<Box<dyn CgroupManager>> {
    let _ = state;
    Ok(Box::new(Noop))
}

/// Placeholder until the real managers land.
#[derive(Debug)]
struct Noop;

impl CgroupManager for Noop {
    fn state(&self) -> CgroupState {
        CgroupState::default()
    }
    fn apply(&self, _: &LinuxResources) -> Result<()> {
        Ok(())
    }
    fn procs_fds(&self) -> Result<Vec<OwnedFd>> {
        Ok(Vec::new())
    }
    fn add_pid(&self, _: i32) -> Result<()> {
        Ok(())
    }
    fn pids(&self) -> Result<Vec<i32>> {
        Ok(Vec::new())
    }
    fn freeze(&self) -> Result<()> {
        Ok(())
    }
    fn thaw(&self) -> Result<()> {
        Ok(())
    }
    fn is_frozen(&self) -> Result<bool> {
        Ok(false)
    }
    fn stats(&self) -> Result<CgroupStats> {
        Ok(CgroupStats::default())
    }
    fn kill_all(&self) -> Result<()> {
        Ok(())
    }
    fn remove(&self) -> Result<()> {
        Ok(())
    }
}
