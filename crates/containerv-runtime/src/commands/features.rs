//! features: the OCI runtime features document (runtime-spec
//! features.md), saying what this build of containerv handles.

use serde_json::json;

use super::SPEC_VERSION;
use crate::error::{Fail, Result};

const CAPS: &[&str] = &containerv::linux::CAPABILITIES;

const MOUNT_OPTIONS: &[&str] = &[
    "async",
    "atime",
    "bind",
    "defaults",
    "dev",
    "diratime",
    "dirsync",
    "exec",
    "mand",
    "noatime",
    "nodev",
    "nodiratime",
    "noexec",
    "nomand",
    "norelatime",
    "nostrictatime",
    "nosuid",
    "private",
    "rbind",
    "relatime",
    "rprivate",
    "rshared",
    "rslave",
    "runbindable",
    "ro",
    "rw",
    "shared",
    "slave",
    "strictatime",
    "suid",
    "sync",
    "tmpcopyup",
    "unbindable",
];

pub fn features() -> Result<i32> {
    let doc = json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": SPEC_VERSION,
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer",
                  "poststart", "poststop"],
        "mountOptions": MOUNT_OPTIONS,
        "linux": {
            "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "user", "uts"],
            "capabilities": CAPS,
            "cgroup": { "v1": true, "v2": true, "systemd": true, "systemdUser": false },
            "seccomp": containerv::linux::seccomp::features(),
            "apparmor": { "enabled": false },
            "selinux": { "enabled": false }
        },
        "annotations": {
            "org.opencontainers.runtime-spec.version": SPEC_VERSION,
            "io.github.containerv.version": env!("CARGO_PKG_VERSION"),
            "io.github.containerv.commit": env!("CONTAINERV_COMMIT")
        }
    });
    let text = serde_json::to_string_pretty(&doc).map_err(|e| Fail::new(e.to_string()))?;
    println!("{text}");
    Ok(0)
}
