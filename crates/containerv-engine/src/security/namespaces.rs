//! `--pid`, `--ipc`, `--uts`, `--userns`: a private namespace (the
//! default) or the host's. `--ipc shareable|private|none` keep a private
//! IPC namespace (`none`: docker mounts no /dev/shm; cv keeps its tmpfs).
//! `--ipc host` also binds the host's /dev/shm over the container's (as
//! docker does: POSIX shared memory lives there, so the host's IPC
//! namespace without it would be half shared; see `super::apply`).
//! `--uts host` also drops the container hostname: the runtime must not
//! call sethostname in the host's namespace. `--pid container:NAME` and
//! `--ipc container:NAME` join another container's namespace (the core's
//! init is born in a pid namespace given by path): the name is resolved to an id at
//! create ([`super::SecurityConfig::resolve_joins`], an unknown container
//! is refused then), and at every start the target's running init
//! (pid + start time from its state record) gives `/proc/PID/ns/...`; a
//! target that is not running refuses the start, as docker does.
//! `--ipc container:NAME` also shares the donor's /dev/shm (POSIX shared
//! memory), as docker does: the core binds the donor's /dev/shm from its
//! mount namespace (`CreateConfig::shm_from`); only a donor made with
//! `--ipc shareable` can be joined (docker's rule, checked at create).

use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxNamespaceBuilder, LinuxNamespaceType, Spec};
use serde::{Deserialize, Serialize};

use super::SecurityConfig;
use crate::error::{Error, Result};

/// One namespace choice.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NsMode {
    #[default]
    Private,
    Host,
    Shareable,
    None,
    /// `container:NAME` (the id once resolved at create).
    Container(String),
}

pub(super) fn parse(flag: &str, v: Option<&str>, allowed: &[&str]) -> Result<NsMode> {
    let Some(v) = v else {
        return Ok(NsMode::Private);
    };
    if let Some(name) = v.strip_prefix("container:") {
        if !allowed.contains(&"container:") {
            return Err(Error::option(
                flag,
                v,
                "joining another container's namespace is not supported for this flag yet",
            ));
        }
        if name.is_empty() {
            return Err(Error::option(
                flag,
                v,
                "container: needs a container name or id",
            ));
        }
        return Ok(NsMode::Container(name.to_string()));
    }
    if v.is_empty() || !allowed.contains(&v) {
        let list: Vec<String> = allowed
            .iter()
            .map(|a| {
                if a.ends_with(':') {
                    format!("{a}NAME")
                } else {
                    a.to_string()
                }
            })
            .collect();
        return Err(Error::option(
            flag,
            v,
            format!("unknown mode (use {})", list.join(", ")),
        ));
    }
    Ok(match v {
        "host" => NsMode::Host,
        "shareable" => NsMode::Shareable,
        "none" => NsMode::None,
        _ => NsMode::Private,
    })
}

/// The running init of container `id` in the store at `root`.
fn running_init(root: &Path, id: &str) -> Option<i32> {
    let text = std::fs::read_to_string(root.join("containers").join(id).join("state.json")).ok()?;
    let st: crate::record::ContainerState = serde_json::from_str(&text).ok()?;
    crate::proc::is_alive(st.pid, st.pid_start).then_some(st.pid)
}

/// The running init of the container whose IPC namespace `sec` joins.
pub(super) fn ipc_donor(sec: &SecurityConfig) -> Option<i32> {
    match (&sec.ipc, &sec.store_root) {
        (NsMode::Container(id), Some(root)) => running_init(root, id),
        _ => None,
    }
}

pub(super) fn apply(spec: &mut Spec, sec: &SecurityConfig, upper: &Path) -> Result<()> {
    let mut joins = Vec::new();
    for (flag, mode, typ, file) in [
        ("--pid", &sec.pid, LinuxNamespaceType::Pid, "pid"),
        ("--ipc", &sec.ipc, LinuxNamespaceType::Ipc, "ipc"),
    ] {
        if let NsMode::Container(id) = mode {
            let root = sec.store_root.as_deref().ok_or_else(|| {
                Error::option(
                    flag,
                    format!("container:{id}"),
                    "the engine's store is unknown",
                )
            })?;
            // create's check builds the spec outside `<root>/containers`:
            // the joined container need not run yet.
            let checking = upper.parent().and_then(Path::parent) != Some(&root.join("containers"));
            match running_init(root, id) {
                Some(pid) => joins.push((typ, PathBuf::from(format!("/proc/{pid}/ns/{file}")))),
                None if checking => {}
                None => {
                    return Err(Error::option(
                        flag,
                        format!("container:{id}"),
                        "that container is not running",
                    ))
                }
            }
        }
    }
    let host: Vec<LinuxNamespaceType> = [
        (&sec.pid, LinuxNamespaceType::Pid),
        (&sec.ipc, LinuxNamespaceType::Ipc),
        (&sec.uts, LinuxNamespaceType::Uts),
        (&sec.userns, LinuxNamespaceType::User),
    ]
    .into_iter()
    .filter(|(m, _)| **m == NsMode::Host)
    .map(|(_, t)| t)
    .collect();
    if let Some(linux) = spec.linux_mut().as_mut() {
        if let Some(ns) = linux.namespaces_mut().as_mut() {
            ns.retain(|n| !host.contains(&n.typ()));
            for (typ, path) in joins {
                ns.retain(|n| n.typ() != typ);
                ns.push(
                    LinuxNamespaceBuilder::default()
                        .typ(typ)
                        .path(path)
                        .build()
                        .map_err(|e| Error::option("--pid", "", e.to_string()))?,
                );
            }
        }
    }
    if sec.uts == NsMode::Host {
        spec.set_hostname(None);
    }
    // Joining another container's IPC namespace: its /dev/shm is bound
    // in its place by the core (`CreateConfig::shm_from`), no tmpfs here.
    if matches!(sec.ipc, NsMode::Container(_)) {
        if let Some(m) = spec.mounts_mut().as_mut() {
            m.retain(|m| m.destination() != Path::new("/dev/shm"));
        }
    }
    Ok(())
}
