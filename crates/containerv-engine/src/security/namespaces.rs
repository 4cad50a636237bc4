//! `--pid`, `--ipc`, `--uts`, `--userns`: a private namespace (the
//! default) or the host's. `--ipc shareable|private|none` keep a private
//! IPC namespace (`none`: docker mounts no /dev/shm; cv keeps its tmpfs).
//! `--uts host` also drops the container hostname: the runtime must not
//! call sethostname in the host's namespace. `container:NAME` is not
//! supported yet and is refused by name.

use oci_spec::runtime::{LinuxNamespaceType, Spec};
use serde::{Deserialize, Serialize};

use super::SecurityConfig;
use crate::error::{Error, Result};

/// One namespace choice.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NsMode {
    #[default]
    Private,
    Host,
    Shareable,
    None,
}

pub(super) fn parse(flag: &str, v: Option<&str>, allowed: &[&str]) -> Result<NsMode> {
    let Some(v) = v else {
        return Ok(NsMode::Private);
    };
    if v.starts_with("container:") {
        return Err(Error::option(
            flag,
            v,
            "joining another container's namespace is not supported yet",
        ));
    }
    if v.is_empty() || !allowed.contains(&v) {
        return Err(Error::option(
            flag,
            v,
            format!("unknown mode (use {})", allowed.join(", ")),
        ));
    }
    Ok(match v {
        "host" => NsMode::Host,
        "shareable" => NsMode::Shareable,
        "none" => NsMode::None,
        _ => NsMode::Private,
    })
}

pub(super) fn apply(spec: &mut Spec, sec: &SecurityConfig) -> Result<()> {
    let host: Vec<LinuxNamespaceType> = [
        (sec.pid, LinuxNamespaceType::Pid),
        (sec.ipc, LinuxNamespaceType::Ipc),
        (sec.uts, LinuxNamespaceType::Uts),
        (sec.userns, LinuxNamespaceType::User),
    ]
    .into_iter()
    .filter(|(m, _)| *m == NsMode::Host)
    .map(|(_, t)| t)
    .collect();
    if host.is_empty() {
        return Ok(());
    }
    if let Some(linux) = spec.linux_mut().as_mut() {
        if let Some(ns) = linux.namespaces_mut().as_mut() {
            ns.retain(|n| !host.contains(&n.typ()));
        }
    }
    if sec.uts == NsMode::Host {
        spec.set_hostname(None);
    }
    Ok(())
}
