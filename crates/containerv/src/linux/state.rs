//! A container's state on disk: `<root>/<id>/state.json`, written
//! atomically (temporary file + rename, no fsync: see [`State::write`]) and guarded by an flock on the
//! state directory, so any process can find, inspect and destroy a
//! container another process created.
//!
//! The init is recorded with its start time (from /proc/<pid>/stat), so a
//! recycled pid is never mistaken for the container's init.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;
use serde::{Deserialize, Serialize};

use super::cgroups::CgroupState;
use crate::error::{Error, Result};

pub(crate) const STATE_FILE: &str = "state.json";
pub(crate) const FIFO: &str = "exec.fifo";

/// Overlay directories of a container and what destroy does with them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct OverlayState {
    pub upper: PathBuf,
    pub work: PathBuf,
    pub keep_upper: bool,
    /// Where a kept upper inside the state directory is moved on destroy.
    pub keep_at: Option<PathBuf>,
}

/// What `state.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct State {
    pub id: String,
    /// Host pid of the init.
    pub pid: i32,
    /// The init's start time (clock ticks since boot, /proc/<pid>/stat field 22).
    pub pid_start: u64,
    /// True when the init is pid 1 of its own pid namespace.
    pub new_pidns: bool,
    pub bundle: Option<PathBuf>,
    pub rootfs: PathBuf,
    pub created: String,
    pub cgroup: CgroupState,
    pub overlay: Option<OverlayState>,
    /// The host end of the container's veth pair, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub veth: Option<crate::linux::net::veth::VethState>,
    pub annotations: HashMap<String, String>,
    /// Made with `no_new_keyring`: its processes keep their maker's
    /// session keyring (runc's `--no-new-keyring`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_new_keyring: bool,
    pub spec: Spec,
}

impl State {
    pub(crate) fn write(&self, dir: &Path) -> Result<()> {
        let tmp = dir.join(".state.json.tmp");
        let data = serde_json::to_vec(self)
            .map_err(|e| Error::sys("serialize container state", std::io::Error::other(e)))?;
        // No fsync: a state describes processes, which no power loss
        // leaves running, and the rename alone keeps it whole for every
        // reader and through a crash of this process (runc writes its
        // state the same way). A record a power loss left empty belongs
        // to a previous boot: the engine drops those states by boot id;
        // an OCI root lives on /run, which no boot keeps. The fsync was
        // one journal commit per create, 3-10 ms under load.
        let mut f = File::create(&tmp).map_err(|e| Error::io("write state", &tmp, e))?;
        f.write_all(&data)
            .map_err(|e| Error::io("write state", &tmp, e))?;
        let dst = dir.join(STATE_FILE);
        std::fs::rename(&tmp, &dst).map_err(|e| Error::io("write state", &dst, e))
    }

    pub(crate) fn read(dir: &Path, id: &str) -> Result<State> {
        let p = dir.join(STATE_FILE);
        let data = match std::fs::read(&p) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound(id.to_string()))
            }
            Err(e) => return Err(Error::io("read state", &p, e)),
        };
        serde_json::from_slice(&data).map_err(|e| {
            Error::io(
                "parse state",
                &p,
                std::io::Error::new(std::io::ErrorKind::InvalidData, e),
            )
        })
    }
}

/// An exclusive flock on a container's state directory, held while alive.
pub(crate) struct Lock(#[allow(dead_code)] File);

impl Lock {
    pub(crate) fn acquire(dir: &Path) -> Result<Lock> {
        let f = File::open(dir).map_err(|e| Error::io("lock container state", dir, e))?;
        loop {
            // SAFETY: flock on an fd we own.
            if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } == 0 {
                return Ok(Lock(f));
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(Error::io("lock container state", dir, e));
            }
        }
    }
}

/// What /proc/<pid>/stat says about a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProcStat {
    pub state: char,
    pub ppid: i32,
    /// Kernel task flags (PF_*).
    pub flags: u64,
    pub start: u64,
}

/// PF_EXITING: the task is in do_exit (a pid-namespace init waits there,
/// sleeping, until every process of its namespace is reaped).
const PF_EXITING: u64 = 0x4;

pub(crate) fn proc_stat(pid: i32) -> Option<ProcStat> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and ')': fields follow the last ')'.
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    Some(ProcStat {
        state: f.first()?.chars().next()?,
        ppid: f.get(1)?.parse().ok()?,
        flags: f.get(6)?.parse().ok()?,
        start: f.get(19)?.parse().ok()?,
    })
}

/// True while the init recorded in a state runs (same start time, neither
/// a zombie nor exiting).
pub(crate) fn init_alive(pid: i32, start: u64) -> bool {
    match proc_stat(pid) {
        Some(st) => {
            st.start == start && st.state != 'Z' && st.state != 'X' && st.flags & PF_EXITING == 0
        }
        None => false,
    }
}

/// Now as RFC 3339 UTC with nanoseconds, e.g. `2024-05-01T12:00:00.123456789Z`.
pub(crate) fn now_rfc3339() -> String {
    crate::time::rfc3339(std::time::SystemTime::now(), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_stat() {
        let me = std::process::id() as i32;
        let st = proc_stat(me).unwrap();
        assert!(st.state != 'Z', "{st:?}");
        assert!(init_alive(me, st.start));
        assert!(!init_alive(me, st.start + 1));
    }
}
