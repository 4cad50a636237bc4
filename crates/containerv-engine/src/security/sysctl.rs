//! `--sysctl key=value`, validated as docker does (`opts.ValidateSysctl`):
//! only namespaced parameters, `net.*` (needs the container's own network
//! namespace), the IPC ones (`kernel.msg*`, `kernel.sem`, `kernel.shm*`,
//! `fs.mqueue.*`: need its own IPC namespace). Anything else would change
//! the host for everyone and is refused.

use std::collections::BTreeMap;

use super::{NsMode, SecurityConfig};
use crate::error::{Error, Result};

const IPC: [&str; 8] = [
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

pub(super) fn parse_all(
    given: &[String],
    sec: &SecurityConfig,
    host_network: bool,
) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for s in given {
        let (k, v) = s
            .split_once('=')
            .ok_or_else(|| Error::option("--sysctl", s.as_str(), "not key=value"))?;
        let k = k.trim();
        if k.is_empty() || k.contains(|c: char| c.is_whitespace() || c == '/') {
            return Err(Error::option("--sysctl", s.as_str(), "not a sysctl name"));
        }
        let ipc = IPC.contains(&k) || k.starts_with("fs.mqueue.");
        if ipc {
            if matches!(sec.ipc, NsMode::Host | NsMode::Container(_)) {
                return Err(Error::option(
                    "--sysctl",
                    s.as_str(),
                    "an IPC sysctl cannot be set with --ipc host or container:",
                ));
            }
        } else if k.starts_with("net.") {
            if host_network {
                return Err(Error::option(
                    "--sysctl",
                    s.as_str(),
                    "a net.* sysctl cannot be set with --network host",
                ));
            }
        } else {
            return Err(Error::option(
                "--sysctl",
                s.as_str(),
                "not a namespaced sysctl (only net.*, fs.mqueue.*, kernel.msg*, kernel.sem, kernel.shm* are allowed)",
            ));
        }
        out.insert(k.to_string(), v.to_string());
    }
    Ok(out)
}
