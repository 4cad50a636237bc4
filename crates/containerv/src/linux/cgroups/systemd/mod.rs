//! The systemd cgroup driver (`--systemd-cgroup`): the container's cgroup
//! is a transient scope that systemd creates and owns, as runc makes it.
//!
//! Why: on a systemd host, systemd owns the cgroup tree. podman's default
//! cgroup manager there and containerd's `SystemdCgroup = true` (the
//! Kubernetes default) ask the runtime for this driver; a cgroup made
//! behind systemd's back can be moved or trimmed by it.
//!
//! How (cgroup v2 only, like every systemd host that runs containers
//! today):
//! 1. `cgroupsPath` `slice:prefix:name` names the scope ([`path`]); a
//!    name ending in `.slice` names a slice unit instead (runc's rule).
//! 2. StartTransientUnit on org.freedesktop.systemd1 ([`bus`]) with
//!    Description, Slice, Delegate=yes, the accounting switches,
//!    DefaultDependencies=no, PIDs, and the limits as unit properties
//!    ([`props`]); for a slice, Wants= its parent instead of Slice,
//!    Delegate and PIDs. Then the spec's `org.systemd.property.NAME`
//!    annotations ([`annotations`], GVariant text as runc reads it). Then
//!    wait for the job.
//! 3. The limits, and everything systemd has no property for (io, hugetlb,
//!    devices, `unified`), are written to the scope's files by the cgroupfs
//!    driver's code ([`super::v2`]): Delegate=yes hands the scope to us.
//!
//! zbus runs threads of its own; the runtime clones the container's init
//! later and code between clone and exec must not meet a lock another
//! thread held. So every D-Bus conversation happens in a forked child
//! ([`bus::in_child`]) and the runtime itself stays single-threaded.
//!
//! A scope cannot start empty, and the container's init joins its cgroup
//! itself between clone and exec (through a `cgroup.procs` descriptor
//! opened before the clone). So the scope starts with a *placeholder*: a
//! forked child that only sleeps. The init's first step joins the scope,
//! its second waits until the runtime has killed the placeholder
//! ([`CgroupManager::settled`], `init::Settle`), so the placeholder never
//! counts against the container's `pids.max` (with a limit of 1 or 2 the
//! program's first fork would fail). If the runtime dies first, the
//! placeholder dies with it (PR_SET_PDEATHSIG) and systemd collects the
//! empty scope. When the container's last process exits, systemd stops
//! and removes the scope on its own: reads of a scope that is gone see an
//! empty cgroup.

mod annotations;
mod bus;
mod path;
mod props;

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::Mutex;

use oci_spec::runtime::LinuxResources;
use zbus::zvariant::Value;

use super::v2::V2;
use super::{CgroupManager, CgroupState, CgroupStats, Mode, Placed};
use crate::error::{Error, Result};

pub(crate) use path::parse as parse_path;

#[derive(Debug)]
pub(crate) struct Systemd {
    unit: String,
    /// The cgroupfs code on the scope's directory.
    files: V2,
    /// The placeholder that keeps the scope alive until the init joined.
    placeholder: Mutex<Option<i32>>,
}

impl Systemd {
    pub fn create(
        id: &str,
        cgroups_path: Option<&str>,
        resources: Option<&LinuxResources>,
        annotations: Option<&HashMap<String, String>>,
    ) -> Result<Systemd> {
        let where_ = parse_path(cgroups_path, id)?;
        let mut res_props = match resources {
            Some(r) => props::resources(r)?,
            None => Vec::new(),
        };
        // Last, so they can set or override anything (runc's order).
        res_props.extend(annotations::properties(annotations)?);
        let mount = super::placement::mounts()?
            .1
            .map(|(m, _)| m)
            .unwrap_or_else(|| PathBuf::from(super::mode::CGROUP_ROOT));
        let dir = mount.join(&where_.cgroup);
        // A slice lives without processes; a scope cannot start empty.
        let placeholder = match where_.is_slice {
            true => None,
            false => Some(spawn_placeholder()?),
        };
        let mgr = Systemd {
            unit: where_.unit.clone(),
            files: V2::open(&CgroupState {
                mode: Some(Mode::Unified),
                hierarchies: vec![Placed {
                    controllers: Vec::new(),
                    dir: dir.clone(),
                }],
                created: Vec::new(),
                systemd_unit: Some(where_.unit.clone()),
            }),
            placeholder: Mutex::new(placeholder),
        };
        let started = bus::in_child(|| {
            // systemd first: without it nothing else matters.
            let bus = bus::Systemd1::connect()?;
            if super::mode::detect()? != Mode::Unified {
                return Err(Error::Unsupported(
                    "the systemd cgroup driver (--systemd-cgroup) is implemented for cgroup v2 \
                     (unified) hosts only; this host runs cgroup v1 or hybrid: use the cgroupfs driver"
                        .into(),
                ));
            }
            if bus.unit_loaded(&where_.unit)? || dir.exists() {
                return Err(Error::option(
                    "cgroupsPath",
                    cgroups_path.unwrap_or_default().to_string(),
                    format!(
                        "unit {} (cgroup {}) already exists: another container uses it",
                        where_.unit,
                        dir.display()
                    ),
                ));
            }
            let mut all: Vec<props::Prop> = vec![(
                "Description".into(),
                Value::from(format!("containerv container {id}")),
            )];
            match placeholder {
                // A scope: in its slice, delegated to us, born with the
                // placeholder.
                Some(pid) => all.extend([
                    ("Slice".into(), Value::from(where_.slice.clone())),
                    ("Delegate".into(), Value::Bool(true)),
                    ("PIDs".into(), Value::from(vec![pid as u32])),
                ]),
                // A slice: a weak dependency on its parent (runc's Wants=).
                None => all.push(("Wants".into(), Value::from(vec![where_.slice.clone()]))),
            }
            all.extend([
                ("MemoryAccounting".into(), Value::Bool(true)),
                ("CPUAccounting".into(), Value::Bool(true)),
                ("IOAccounting".into(), Value::Bool(true)),
                ("TasksAccounting".into(), Value::Bool(true)),
                ("DefaultDependencies".into(), Value::Bool(false)),
            ]);
            all.extend(res_props);
            if let Err(e) = bus.start_transient(&where_.unit, &all) {
                let _ = bus.stop(&where_.unit);
                return Err(e);
            }
            Ok(())
        });
        if let Err(e) = started {
            mgr.release_placeholder();
            return Err(e);
        }
        let applied = (|| {
            if !dir.is_dir() {
                return Err(Error::Cgroup {
                    path: dir.display().to_string(),
                    message: format!(
                        "systemd started {} but its cgroup is not there",
                        where_.unit
                    ),
                });
            }
            match resources {
                Some(r) => mgr.files.apply(r),
                None => Ok(()),
            }
        })();
        if let Err(e) = applied {
            mgr.release_placeholder();
            let _ = bus::in_child(|| bus::Systemd1::connect()?.stop(&where_.unit));
            return Err(e);
        }
        Ok(mgr)
    }

    pub fn open(state: &CgroupState) -> Systemd {
        Systemd {
            unit: state.systemd_unit.clone().unwrap_or_default(),
            files: V2::open(state),
            placeholder: Mutex::new(None),
        }
    }

    fn dir(&self) -> PathBuf {
        self.files
            .state()
            .hierarchies
            .first()
            .map(|h| h.dir.clone())
            .unwrap_or_default()
    }

    /// The scope is gone once its last process exited (systemd removes it).
    fn gone(&self) -> bool {
        !self.dir().is_dir()
    }

    fn release_placeholder(&self) {
        let pid = self
            .placeholder
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(pid) = pid {
            // SAFETY: kill and waitpid of our own child; no memory effects.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, std::ptr::null_mut(), 0);
            }
        }
    }
}

/// Forks a child that sleeps until killed (or until its parent dies).
fn spawn_placeholder() -> Result<i32> {
    // SAFETY: the child only calls async-signal-safe functions (prctl,
    // getppid, pause, _exit) and never returns into Rust code.
    let pid = unsafe { libc::fork() };
    match pid {
        -1 => Err(Error::sys(
            "fork the scope's placeholder",
            std::io::Error::last_os_error(),
        )),
        0 => {
            // SAFETY: see above: async-signal-safe calls only, then _exit.
            unsafe {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                // The parent may have died before prctl took effect.
                if libc::getppid() == 1 {
                    libc::_exit(0);
                }
                loop {
                    libc::pause();
                }
            }
        }
        pid => Ok(pid),
    }
}

impl CgroupManager for Systemd {
    fn state(&self) -> CgroupState {
        self.files.state()
    }

    fn apply(&self, r: &LinuxResources) -> Result<()> {
        super::validate::validate(r)?;
        let p = props::resources(r)?;
        if !p.is_empty() {
            bus::in_child(|| bus::Systemd1::connect()?.set_properties(&self.unit, &p))?;
        }
        self.files.apply(r)
    }

    fn settled(&self) {
        self.release_placeholder();
    }

    fn holds_placeholder(&self) -> bool {
        self.placeholder
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    fn procs_fds(&self) -> Result<Vec<OwnedFd>> {
        self.files.procs_fds()
    }

    fn add_pid(&self, pid: i32) -> Result<()> {
        self.files.add_pid(pid)
    }

    fn pids(&self) -> Result<Vec<i32>> {
        if self.gone() {
            return Ok(Vec::new());
        }
        self.files.pids()
    }

    fn freeze(&self) -> Result<()> {
        self.files.freeze()
    }

    fn thaw(&self) -> Result<()> {
        self.files.thaw()
    }

    fn is_frozen(&self) -> Result<bool> {
        if self.gone() {
            return Ok(false);
        }
        self.files.is_frozen()
    }

    fn stats(&self) -> Result<CgroupStats> {
        if self.gone() {
            return Ok(CgroupStats::default());
        }
        self.files.stats()
    }

    fn kill_all(&self) -> Result<()> {
        self.release_placeholder();
        if self.gone() {
            return Ok(());
        }
        match self.files.kill_all() {
            Err(_) if self.gone() => Ok(()),
            r => r,
        }
    }

    fn remove(&self) -> Result<()> {
        self.release_placeholder();
        bus::in_child(|| bus::Systemd1::connect()?.stop(&self.unit))?;
        let dir = self.dir();
        if dir.is_dir() {
            // systemd removes a stopped scope's cgroup; make sure.
            let _ = std::fs::remove_dir(&dir);
        }
        if dir.is_dir() {
            return Err(Error::Cgroup {
                path: dir.display().to_string(),
                message: format!("still there after systemd stopped {}", self.unit),
            });
        }
        Ok(())
    }
}
