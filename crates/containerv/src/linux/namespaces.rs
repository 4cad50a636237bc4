//! Which namespaces a container's init gets: new ones become `clone`
//! flags, ones given by `path` are joined with `setns` in the child.
//!
//! Limits: joining a mount namespace is refused (the rootfs needs its own);
//! with a new user namespace, joining a namespace owned by the host's user
//! namespace (e.g. a prepared network namespace) fails with EPERM, as the
//! init has no capabilities there.

use std::os::fd::OwnedFd;
use std::path::PathBuf;

use oci_spec::runtime::{LinuxNamespaceType, Spec};

use super::init::plan::{Op, Step};
use crate::error::{Error, Result};

/// The namespace set-up of one container.
#[derive(Debug, Default)]
pub(crate) struct NsPlan {
    /// CLONE_NEW* flags for the init's clone.
    pub clone_flags: libc::c_int,
    /// Namespaces to join, in setns order (user first).
    pub join: Vec<(LinuxNamespaceType, PathBuf)>,
    pub new_user: bool,
    pub new_pid: bool,
    /// A new cgroup namespace (unshared after joining the cgroup).
    pub new_cgroup: bool,
    /// A new UTS namespace (the hostname is set only then; without one
    /// the spec's hostname is ignored rather than changing the host's).
    pub uts: bool,
    /// The container has a cgroup namespace (new or joined).
    pub cgroup: bool,
}

fn flag(t: LinuxNamespaceType) -> libc::c_int {
    match t {
        LinuxNamespaceType::Mount => libc::CLONE_NEWNS,
        LinuxNamespaceType::Cgroup => libc::CLONE_NEWCGROUP,
        LinuxNamespaceType::Uts => libc::CLONE_NEWUTS,
        LinuxNamespaceType::Ipc => libc::CLONE_NEWIPC,
        LinuxNamespaceType::User => libc::CLONE_NEWUSER,
        LinuxNamespaceType::Pid => libc::CLONE_NEWPID,
        LinuxNamespaceType::Network => libc::CLONE_NEWNET,
        LinuxNamespaceType::Time => libc::CLONE_NEWTIME,
    }
}

/// Validate the spec's namespaces and plan them.
pub(crate) fn plan(spec: &Spec) -> Result<NsPlan> {
    let list = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().clone())
        .unwrap_or_default();
    let mut p = NsPlan::default();
    let mut seen = Vec::new();
    for ns in &list {
        let t = ns.typ();
        if seen.contains(&t) {
            return Err(Error::InvalidSpec(format!(
                "linux.namespaces: {t:?} namespace listed twice"
            )));
        }
        seen.push(t);
        match ns.path() {
            Some(path) => {
                if t == LinuxNamespaceType::Mount {
                    return Err(Error::InvalidSpec(format!(
                        "linux.namespaces: joining a mount namespace ({}) is not supported",
                        path.display()
                    )));
                }
                if !path.exists() {
                    return Err(Error::InvalidSpec(format!(
                        "linux.namespaces: {t:?} namespace path {} does not exist",
                        path.display()
                    )));
                }
                p.join.push((t, path.clone()));
            }
            None => {
                if t == LinuxNamespaceType::Time {
                    return Err(Error::Unsupported("a new time namespace".into()));
                }
                match t {
                    LinuxNamespaceType::Cgroup => p.new_cgroup = true,
                    _ => p.clone_flags |= flag(t),
                }
                p.new_user |= t == LinuxNamespaceType::User;
                p.new_pid |= t == LinuxNamespaceType::Pid;
            }
        }
        p.uts |= t == LinuxNamespaceType::Uts && ns.path().is_none();
        p.cgroup |= t == LinuxNamespaceType::Cgroup;
    }
    if !seen.contains(&LinuxNamespaceType::Mount) {
        return Err(Error::InvalidSpec(
            "linux.namespaces: a mount namespace is required (the rootfs is mounted in it)".into(),
        ));
    }
    p.join
        .sort_by_key(|(t, _)| if *t == LinuxNamespaceType::User { 0 } else { 1 });
    let linux = spec.linux().as_ref();
    let has_maps = linux
        .map(|l| {
            l.uid_mappings().as_ref().is_some_and(|m| !m.is_empty())
                && l.gid_mappings().as_ref().is_some_and(|m| !m.is_empty())
        })
        .unwrap_or(false);
    if p.new_user && !has_maps {
        return Err(Error::InvalidSpec(
            "linux.uidMappings/gidMappings: a new user namespace needs both".into(),
        ));
    }
    if !p.new_user && has_maps {
        return Err(Error::InvalidSpec(
            "linux.uidMappings/gidMappings given without a new user namespace".into(),
        ));
    }
    Ok(p)
}

impl NsPlan {
    /// Open the namespaces to join and turn them into setns steps.
    pub(crate) fn join_steps(&self) -> Result<Vec<Step>> {
        self.join
            .iter()
            .map(|(t, path)| {
                let fd: OwnedFd = std::fs::File::open(path)
                    .map_err(|e| Error::io("open namespace", path, e))?
                    .into();
                Ok(Step {
                    desc: format!("join {t:?} namespace {}", path.display()),
                    op: Op::SetNs {
                        fd,
                        nstype: flag(*t),
                    },
                })
            })
            .collect()
    }
}
