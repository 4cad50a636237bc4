//! spec: write runc's default config.json (busybox-friendly: `sh`, a
//! terminal, read-only root at `rootfs`), or with `--rootless` one with a
//! user namespace mapping the caller's ids to root.

use std::path::Path;

use serde_json::{json, Value};

use super::SPEC_VERSION;
use crate::error::{fail, Fail, Result};

pub fn spec(bundle: Option<&Path>, rootless: bool) -> Result<i32> {
    let dir = bundle.unwrap_or(Path::new("."));
    let path = dir.join("config.json");
    if path.exists() {
        return fail(format!("File {} exists. Remove it first", path.display()));
    }
    if !dir.is_dir() {
        return fail(format!("bundle {}: not a directory", dir.display()));
    }
    let mut v = default_spec();
    if rootless {
        make_rootless(&mut v);
    }
    let text = serde_json::to_string_pretty(&v).map_err(|e| Fail::new(e.to_string()))?;
    std::fs::write(&path, text + "\n")
        .map_err(|e| Fail::new(format!("write {}: {e}", path.display())))?;
    Ok(0)
}

fn default_spec() -> Value {
    let caps = json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    json!({
        "ociVersion": SPEC_VERSION,
        "process": {
            "terminal": true,
            "user": { "uid": 0, "gid": 0 },
            "args": ["sh"],
            "env": [
                containerv::options::DEFAULT_PATH_ENV,
                "TERM=xterm"
            ],
            "cwd": "/",
            "capabilities": {
                "bounding": caps, "effective": caps, "permitted": caps, "ambient": caps
            },
            "rlimits": [{ "type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024 }],
            "noNewPrivileges": true
        },
        "root": { "path": "rootfs", "readonly": true },
        "hostname": "containerv",
        "mounts": [
            { "destination": "/proc", "type": "proc", "source": "proc" },
            { "destination": "/dev", "type": "tmpfs", "source": "tmpfs",
              "options": ["nosuid", "strictatime", "mode=755", "size=65536k"] },
            { "destination": "/dev/pts", "type": "devpts", "source": "devpts",
              "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
            { "destination": "/dev/shm", "type": "tmpfs", "source": "shm",
              "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
            { "destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
              "options": ["nosuid", "noexec", "nodev"] },
            { "destination": "/sys", "type": "sysfs", "source": "sysfs",
              "options": ["nosuid", "noexec", "nodev", "ro"] },
            { "destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
              "options": ["nosuid", "noexec", "nodev", "relatime", "ro"] }
        ],
        "linux": {
            "resources": { "devices": [{ "allow": false, "access": "rwm" }] },
            "namespaces": [
                { "type": "pid" }, { "type": "network" }, { "type": "ipc" },
                { "type": "uts" }, { "type": "mount" }, { "type": "cgroup" }
            ],
            "maskedPaths": [
                "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                "/proc/sched_debug", "/sys/firmware", "/proc/scsi"
            ],
            "readonlyPaths": [
                "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"
            ]
        }
    })
}

/// runc's `spec --rootless` changes: a user namespace mapping the caller's
/// uid/gid to root, no device cgroup rules, /sys bound from the host
/// (sysfs cannot be mounted without owning the network namespace), no
/// cgroup mount, devpts without gid=5.
fn make_rootless(v: &mut Value) {
    // SAFETY: geteuid/getegid have no preconditions.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    let linux = &mut v["linux"];
    linux["namespaces"]
        .as_array_mut()
        .expect("built above")
        .push(json!({ "type": "user" }));
    linux["uidMappings"] = json!([{ "containerID": 0, "hostID": uid, "size": 1 }]);
    linux["gidMappings"] = json!([{ "containerID": 0, "hostID": gid, "size": 1 }]);
    linux.as_object_mut().expect("object").remove("resources");
    let mounts = v["mounts"].as_array_mut().expect("built above");
    mounts.retain(|m| m["type"] != "cgroup");
    for m in mounts.iter_mut() {
        if m["destination"] == "/sys" {
            *m = json!({ "destination": "/sys", "type": "none", "source": "/sys",
                         "options": ["rbind", "nosuid", "noexec", "nodev", "ro"] });
        } else if m["destination"] == "/dev/pts" {
            if let Some(o) = m["options"].as_array_mut() {
                o.retain(|x| x != "gid=5");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn default_parses_as_a_spec() {
        let v = super::default_spec();
        let s: oci_spec::runtime::Spec = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(
            s.process().as_ref().unwrap().args().as_ref().unwrap()[0],
            "sh"
        );
        let mut r = v;
        super::make_rootless(&mut r);
        let s: oci_spec::runtime::Spec = serde_json::from_value(r).unwrap();
        assert!(s.linux().as_ref().unwrap().uid_mappings().is_some());
    }
}
