//! Which namespaces a container's init gets: new ones become `clone`
//! flags, ones given by `path` are joined with `setns` in the child.
//!
//! A pid namespace given by `path` is entered by the parent just around the
//! init's clone (setns(CLONE_NEWPID) only moves later children), so the
//! init is born in it, as runc's nsexec does. A mount namespace given by
//! `path` is joined and the rootfs set up in it (as crun and runc do); the
//! runtime's own mount namespace is refused (pivot_root there would move
//! the host's root). A spec without a mount namespace shares the
//! runtime's, as with runc and crun: the rootfs and the spec's mounts are
//! made under the container's mount point in the state directory (made
//! private first, so nothing propagates from it), the init chroots there,
//! and `delete` detaches that mount point with everything below it (runc
//! leaves them behind).
//!
//! Limits: with a new user namespace, joining a namespace owned by the
//! host's user namespace (e.g. a prepared network namespace) fails with
//! EPERM, as the init has no capabilities there.

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
    /// Namespaces to join, in setns order (user first), pid excepted.
    pub join: Vec<(LinuxNamespaceType, PathBuf)>,
    /// A pid namespace to be born in (entered around the clone).
    pub join_pid: Option<PathBuf>,
    pub new_user: bool,
    pub new_pid: bool,
    /// A new cgroup namespace (unshared after joining the cgroup).
    pub new_cgroup: bool,
    /// A new UTS namespace (the hostname is set only then; without one
    /// the spec's hostname is ignored rather than changing the host's).
    pub uts: bool,
    /// The container has a cgroup namespace (new or joined).
    pub cgroup: bool,
    /// No mount namespace in the spec: the container shares the runtime's.
    pub shared_mount: bool,
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
                if !path.exists() {
                    return Err(Error::InvalidSpec(format!(
                        "linux.namespaces: {t:?} namespace path {} does not exist",
                        path.display()
                    )));
                }
                if t == LinuxNamespaceType::Mount && same_file(path, "/proc/self/ns/mnt") {
                    return Err(Error::InvalidSpec(format!(
                        "linux.namespaces: mount namespace {} is the runtime's own (the rootfs set-up would pivot_root the host)",
                        path.display()
                    )));
                }
                if t == LinuxNamespaceType::Pid {
                    p.join_pid = Some(path.clone());
                } else {
                    p.join.push((t, path.clone()));
                }
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
    p.shared_mount = !seen.contains(&LinuxNamespaceType::Mount);
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

/// Same inode on the same device (a namespace file opened two ways).
fn same_file(a: &std::path::Path, b: &str) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

impl NsPlan {
    /// The pid namespace to be born in, opened.
    pub(crate) fn open_pid(&self) -> Result<Option<OwnedFd>> {
        self.join_pid
            .as_ref()
            .map(|path| {
                std::fs::File::open(path)
                    .map(OwnedFd::from)
                    .map_err(|e| Error::io("open namespace", path, e))
            })
            .transpose()
    }

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
