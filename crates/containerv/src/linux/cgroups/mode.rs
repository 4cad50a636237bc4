//! Which cgroup layout the host runs, detected at run time.
//!
//! - `/sys/fs/cgroup` is itself cgroup2 → [`Mode::Unified`].
//! - Otherwise it holds the v1 hierarchies; if `/sys/fs/cgroup/unified` is a
//!   cgroup2 mount too → [`Mode::Hybrid`] (v1 controllers, plus whatever the
//!   kernel left on cgroup2: on the development host only `hugetlb`).
//! - Otherwise → [`Mode::Legacy`].

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The cgroup layout of a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// cgroup v1 only.
    Legacy,
    /// cgroup v1 controllers plus a cgroup2 mount at `/sys/fs/cgroup/unified`.
    Hybrid,
    /// cgroup v2 only, at `/sys/fs/cgroup`.
    Unified,
}

/// Where cgroups are mounted.
pub const CGROUP_ROOT: &str = "/sys/fs/cgroup";
/// The cgroup2 mount in hybrid mode.
pub const HYBRID_UNIFIED: &str = "/sys/fs/cgroup/unified";

const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;

// The statfs type field is i64 on glibc and u64/u32 elsewhere (musl).
#[allow(clippy::unnecessary_cast)]
fn is_cgroup2(path: &Path) -> Result<bool> {
    match nix::sys::statfs::statfs(path) {
        Ok(s) => Ok(s.filesystem_type().0 as i64 == CGROUP2_SUPER_MAGIC),
        Err(nix::errno::Errno::ENOENT) => Ok(false),
        Err(e) => Err(Error::io("statfs", path, e.into())),
    }
}

/// Detects the host's mode (a few `statfs` calls; cheap, not cached so a
/// test VM or a remount is always seen as it is).
pub fn detect() -> Result<Mode> {
    let root = Path::new(CGROUP_ROOT);
    if !root.exists() {
        return Err(Error::Unsupported(format!(
            "cgroups: {CGROUP_ROOT} does not exist (is cgroupfs mounted?)"
        )));
    }
    if is_cgroup2(root)? {
        return Ok(Mode::Unified);
    }
    if is_cgroup2(Path::new(HYBRID_UNIFIED))? {
        return Ok(Mode::Hybrid);
    }
    Ok(Mode::Legacy)
}
