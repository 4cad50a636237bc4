//! The parent's half: an OCI process turned into ready-to-use system call
//! arguments, every allocation done here (C strings, id lists, cap masks,
//! rlimits), every spec error raised here before anything is created.

use std::ffi::CString;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use libc::c_char;
use oci_spec::runtime::Capabilities;

use super::caps::{cap_mask, check_cap_sets, last_cap, CapSets};
use super::limits::{ioprio_value, rlimit_resource, sched_attr};
use super::PreparedProcess;
use crate::error::{Error, Result};
use crate::linux::user;

/// PATH used for the lookup when the process's env has none (runc's).
use crate::options::DEFAULT_PATH;

/// A C string from `s`, or `InvalidSpec` naming `what` if it holds a NUL.
fn cstring(what: &str, s: &[u8]) -> Result<CString> {
    CString::new(s).map_err(|_| {
        Error::InvalidSpec(format!(
            "{what} {:?} contains a NUL byte",
            String::from_utf8_lossy(s)
        ))
    })
}

fn null_terminated(v: &[CString]) -> Vec<*const c_char> {
    v.iter()
        .map(|c| c.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

/// The umask of a process whose spec sets none (runc's and docker's).
const DEFAULT_UMASK: u32 = 0o022;

impl PreparedProcess {
    /// Turn `process` into system call arguments. `root` is the container's
    /// root as the host sees it (to resolve user and group names against
    /// its /etc/passwd and /etc/group).
    ///
    /// `process.user.username`, when set, is a "name[:group]" or
    /// "uid[:gid]" spec resolved in the container; it replaces uid and gid
    /// and adds the user's groups from /etc/group to `additionalGids`.
    pub(crate) fn prepare(process: &oci_spec::runtime::Process, root: &Path) -> Result<Self> {
        Self::prepare_in(process, &[root])
    }

    /// [`Self::prepare`] for a container whose root is not mounted yet:
    /// names are resolved in its overlay `layers` (topmost first, see
    /// [`user::read_in_layers`]).
    pub(crate) fn prepare_in(
        process: &oci_spec::runtime::Process,
        layers: &[&Path],
    ) -> Result<Self> {
        let args = process.args().clone().unwrap_or_default();
        if args.is_empty() {
            return Err(Error::InvalidSpec("process.args is empty".into()));
        }
        let argv = args
            .iter()
            .map(|a| cstring("process.args entry", a.as_bytes()))
            .collect::<Result<Vec<_>>>()?;

        let cwd_path = process.cwd();
        if !cwd_path.is_absolute() {
            return Err(Error::InvalidSpec(format!(
                "process.cwd {:?} is not an absolute path",
                cwd_path.display()
            )));
        }
        let cwd = cstring("process.cwd", cwd_path.as_os_str().as_bytes())?;

        // User: names resolved inside the container's root.
        let spec_user = process.user();
        let mut groups: Vec<u32> = spec_user.additional_gids().clone().unwrap_or_default();
        let root_fds: Result<Vec<OwnedFd>> = layers
            .iter()
            .map(|l| crate::linux::fs_copy::open_root(l))
            .collect();
        let (uid, gid, home) = match spec_user.username() {
            Some(name) if !name.is_empty() => {
                let r = user::resolve(&root_fds?, name)?;
                groups.extend(r.supplementary);
                (r.uid, r.gid, r.home)
            }
            _ => {
                let home = root_fds
                    .ok()
                    .and_then(|fds| user::home_of(&fds, spec_user.uid()));
                (spec_user.uid(), spec_user.gid(), home)
            }
        };
        groups.sort_unstable();
        groups.dedup();

        // Environment (validated), HOME from passwd when missing.
        let mut env: Vec<String> = process.env().clone().unwrap_or_default();
        for e in &env {
            if !e.contains('=') {
                return Err(Error::InvalidSpec(format!(
                    "process.env entry {e:?} is not KEY=VALUE"
                )));
            }
        }
        if !env.iter().any(|e| e.starts_with("HOME=")) {
            env.push(format!("HOME={}", home.as_deref().unwrap_or("/")));
        }
        let envp = env
            .iter()
            .map(|e| cstring("process.env entry", e.as_bytes()))
            .collect::<Result<Vec<_>>>()?;
        let path_value = env
            .iter()
            .rev()
            .find_map(|e| e.strip_prefix("PATH="))
            .unwrap_or(DEFAULT_PATH);
        let path = cstring("PATH", path_value.as_bytes())?;

        let rlimits = process
            .rlimits()
            .iter()
            .flatten()
            .map(|r| {
                if r.soft() > r.hard() {
                    return Err(Error::InvalidSpec(format!(
                        "rlimit {}: soft limit {} is above hard limit {}",
                        r.typ(),
                        r.soft(),
                        r.hard()
                    )));
                }
                Ok((
                    rlimit_resource(r.typ()),
                    libc::rlimit {
                        rlim_cur: r.soft(),
                        rlim_max: r.hard(),
                    },
                ))
            })
            .collect::<Result<Vec<_>>>()?;

        let last_cap = last_cap();
        let caps = match process.capabilities() {
            None => None,
            Some(c) => {
                let m = |s: &Option<Capabilities>| match s {
                    Some(s) => cap_mask(s, last_cap),
                    None => Ok(0),
                };
                let sets = CapSets {
                    bounding: m(c.bounding())?,
                    effective: m(c.effective())?,
                    permitted: m(c.permitted())?,
                    inheritable: m(c.inheritable())?,
                    ambient: m(c.ambient())?,
                };
                check_cap_sets(&sets)?;
                Some(sets)
            }
        };

        let oom_score_adj = match process.oom_score_adj() {
            Some(v) if !(-1000..=1000).contains(&v) => {
                return Err(Error::InvalidSpec(format!(
                    "process.oomScoreAdj {v} is outside -1000..=1000"
                )))
            }
            Some(v) => Some(cstring("oomScoreAdj", v.to_string().as_bytes())?),
            None => None,
        };

        let ioprio = process
            .io_priority()
            .as_ref()
            .map(ioprio_value)
            .transpose()?;
        let sched = process.scheduler().as_ref().map(sched_attr).transpose()?;

        let argv_ptrs = null_terminated(&argv);
        let envp_ptrs = null_terminated(&envp);
        Ok(PreparedProcess {
            args,
            argv,
            argv_ptrs,
            envp,
            envp_ptrs,
            path,
            cwd,
            cwd_display: cwd_path.display().to_string(),
            uid,
            gid,
            groups,
            // runc's default when the spec gives none (its init sets 0022;
            // ours ran at 0 to make the mounts): files a container makes
            // are not world-writable, as under docker.
            umask: Some(spec_user.umask().unwrap_or(DEFAULT_UMASK)),
            rlimits,
            caps,
            last_cap,
            no_new_privs: process.no_new_privileges().unwrap_or(false),
            oom_score_adj,
            ioprio,
            sched,
            personality: None,
            terminal: process.terminal().unwrap_or(false),
            seccomp: None,
            session_keyring: None,
        })
    }
}
