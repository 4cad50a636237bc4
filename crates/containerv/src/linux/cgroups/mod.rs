//! cgroups: one manager per mode (v1, hybrid, unified v2) behind one trait.
//!
//! No code outside this module knows which mode the host runs. The rest of
//! the library creates a container's cgroup with [`create`], keeps its
//! [`CgroupState`] in the container's state file, and gets the manager back
//! with [`open`] in any later process.
//!
//! - [`mode`]: run-time detection (legacy v1, hybrid, unified v2).
//! - `placement`: where the cgroup goes and making its directories.
//! - `v1`: the legacy/hybrid manager; `v2`: the unified manager.
//! - `validate`: checks of `linux.resources` before anything is created.
//! - `systemd`: the systemd driver (a transient scope made over D-Bus; its
//!   files handled by the v2 code).

use std::os::fd::{FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;
use serde::{Deserialize, Serialize};

pub use crate::config::CgroupDriver;
use crate::error::Result;

pub(crate) mod devices;
mod devices_bpf;
mod fs;
mod join;
pub mod mode;
mod placement;
mod systemd;
mod v1;
mod v2;
mod validate;

pub(crate) use fs::read_seq;
pub use join::{ChildJoin, IntoCgroup};
pub use mode::{detect as detect_mode, Mode};
pub use v2::{blkio_to_io_weight, shares_to_weight};

/// The container's directory in one hierarchy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placed {
    /// The v1 controllers of this hierarchy; empty for cgroup2.
    pub controllers: Vec<String>,
    /// The container's cgroup directory in it.
    pub dir: PathBuf,
}

/// What identifies a container's cgroup on this host; stored in the
/// container's state so any process can manage it later.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CgroupState {
    /// The host's mode when the cgroup was made.
    pub mode: Option<Mode>,
    /// The container's directory in each hierarchy.
    pub hierarchies: Vec<Placed>,
    /// Directories this library created, in creation order (removed in
    /// reverse; pre-existing ancestors are never removed).
    pub created: Vec<PathBuf>,
    /// The systemd scope holding the cgroup (systemd driver): systemd made
    /// the directories and removes them when the unit stops.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub systemd_unit: Option<String>,
}

impl CgroupState {
    /// The container's cgroup directories, one per hierarchy.
    pub fn dirs(&self) -> impl Iterator<Item = &Path> {
        self.hierarchies.iter().map(|h| h.dir.as_path())
    }
}

/// Raw figures read from a container's cgroup. A figure whose controller
/// the host lacks reads 0.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CgroupStats {
    /// Usage less inactive file cache (as docker reports it).
    pub memory_usage: u64,
    /// Usage with the page cache (memory.usage_in_bytes / memory.current).
    pub memory_charged: u64,
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
    /// Processes (thread-group leaders) now in the cgroup.
    pub processes: u64,
}

/// A container's cgroup, whatever the host's mode.
pub trait CgroupManager: Send + Sync + std::fmt::Debug {
    /// What to store to find this cgroup again ([`open`]).
    fn state(&self) -> CgroupState;
    /// Set (or update) limits. Validated first: a bad value changes nothing.
    fn apply(&self, resources: &LinuxResources) -> Result<()>;
    /// The container's init has joined the cgroup (the systemd driver
    /// then lets go of the placeholder that kept its new scope alive).
    fn settled(&self) {}
    /// Whether a process other than the container's holds the cgroup until
    /// [`settled`](Self::settled) (the systemd driver's placeholder): the
    /// init then waits, once it has joined, until the runtime let go of it,
    /// so the placeholder never counts against `pids.max` in the container.
    fn holds_placeholder(&self) -> bool {
        false
    }
    /// Every `cgroup.procs` of this cgroup, opened for writing, so a child
    /// between clone and exec can join with `write(fd, "0")` and no allocation.
    fn procs_fds(&self) -> Result<Vec<OwnedFd>>;
    /// How a new single-threaded child joins without the kernel's global
    /// migration lock (see `join`): v1 `tasks` files and a cgroup2
    /// directory to be cloned into. By default the `cgroup.procs` files.
    fn child_join(&self) -> Result<ChildJoin> {
        Ok(ChildJoin {
            write_zero: self.procs_fds()?,
            into: None,
        })
    }
    /// Move a process into the cgroup.
    fn add_pid(&self, pid: i32) -> Result<()>;
    /// Processes in the cgroup (host pids).
    fn pids(&self) -> Result<Vec<i32>>;
    /// Freeze every process (pause); returns once the kernel says frozen.
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
/// `resources`. Values are checked before anything is made; on any error
/// nothing is left behind. The cgroupfs driver; see [`create_with`].
pub fn create(
    id: &str,
    cgroups_path: Option<&Path>,
    resources: Option<&LinuxResources>,
) -> Result<Box<dyn CgroupManager>> {
    create_with(id, cgroups_path, resources, CgroupDriver::Cgroupfs, None)
}

/// [`create`] with a choice of driver: with [`CgroupDriver::Systemd`] the
/// cgroup is a systemd scope (or slice) and `cgroups_path` has the form
/// `slice:prefix:name`; the spec's `annotations` named
/// `org.systemd.property.NAME` become unit properties (the cgroupfs driver
/// ignores them, as runc does).
pub fn create_with(
    id: &str,
    cgroups_path: Option<&Path>,
    resources: Option<&LinuxResources>,
    driver: CgroupDriver,
    annotations: Option<&std::collections::HashMap<String, String>>,
) -> Result<Box<dyn CgroupManager>> {
    crate::id::validate_id(id)?;
    if driver == CgroupDriver::Systemd {
        if let Some(r) = resources {
            validate::validate(r)?;
        }
        let path = cgroups_path.map(|p| p.to_string_lossy());
        return Ok(Box::new(systemd::Systemd::create(
            id,
            path.as_deref(),
            resources,
            annotations,
        )?));
    }
    if let Some(p) = cgroups_path {
        placement::validate_cgroups_path(p)?;
    }
    if let Some(r) = resources {
        validate::validate(r)?;
    }
    let mode = mode::detect()?;
    Ok(match mode {
        Mode::Legacy | Mode::Hybrid => Box::new(v1::V1::create(mode, id, cgroups_path, resources)?),
        Mode::Unified => Box::new(v2::V2::create(id, cgroups_path, resources)?),
    })
}

/// The manager of a cgroup made earlier (perhaps by another process).
pub fn open(state: &CgroupState) -> Result<Box<dyn CgroupManager>> {
    if state.systemd_unit.is_some() {
        return Ok(Box::new(systemd::Systemd::open(state)));
    }
    Ok(match state.mode {
        Some(Mode::Unified) => Box::new(v2::V2::open(state)),
        Some(Mode::Legacy | Mode::Hybrid) => Box::new(v1::V1::open(state)),
        None => {
            return Err(crate::error::Error::Cgroup {
                path: String::new(),
                message: "no cgroup recorded in the container's state".into(),
            })
        }
    })
}

/// Opens `dir/cgroup.procs` write-only, close-on-exec.
fn open_procs(dir: &Path) -> Result<OwnedFd> {
    use std::os::unix::ffi::OsStrExt;
    let path = dir.join("cgroup.procs");
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| fs::cg_err(&path, "path has a NUL byte"))?;
    // SAFETY: `c` is a valid NUL-terminated path; the result is checked.
    let fd = unsafe { libc::open(c.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(fs::cg_err(
            &path,
            format!("open for writing: {}", std::io::Error::last_os_error()),
        ));
    }
    // SAFETY: `fd` was just opened and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}
