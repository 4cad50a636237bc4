//! docker's default seccomp profile turned into OCI `linux.seccomp` form
//! the way docker/podman do it for a root container with the default
//! capabilities on amd64. Also used by `examples/seccomp_bench.rs`.

use serde_json::{json, Value};

/// docker's default capabilities (what `includes.caps`/`excludes.caps` test).
const DOCKER_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// docker's default profile (docker's own JSON form, as shipped in
/// containers-common: `tests/seccomp_docker_default.json`) converted to
/// `linux.seccomp` for amd64 and [`DOCKER_CAPS`], minus the syscalls in
/// `drop` (so a test can see the default action).
pub fn docker_default(drop: &[&str]) -> Value {
    let text = include_str!("../seccomp_docker_default.json");
    let d: Value = serde_json::from_str(text).unwrap();
    let list = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    };
    let mut syscalls = Vec::new();
    for s in d["syscalls"].as_array().unwrap() {
        let inc = &s["includes"];
        let exc = &s["excludes"];
        let arches = list(&inc["arches"]);
        if !arches.is_empty() && !arches.iter().any(|a| a == "amd64") {
            continue;
        }
        if list(&exc["arches"]).iter().any(|a| a == "amd64") {
            continue;
        }
        if !list(&inc["caps"])
            .iter()
            .all(|c| DOCKER_CAPS.contains(&c.as_str()))
        {
            continue;
        }
        if list(&exc["caps"])
            .iter()
            .any(|c| DOCKER_CAPS.contains(&c.as_str()))
        {
            continue;
        }
        let names: Vec<String> = list(&s["names"])
            .into_iter()
            .filter(|n| !drop.contains(&n.as_str()))
            .collect();
        if names.is_empty() {
            continue;
        }
        let mut rule = json!({"names": names, "action": s["action"]});
        if let Some(args) = s["args"].as_array().filter(|a| !a.is_empty()) {
            rule["args"] = Value::Array(args.clone());
        }
        if !s["errnoRet"].is_null() {
            rule["errnoRet"] = s["errnoRet"].clone();
        }
        syscalls.push(rule);
    }
    json!({
        "defaultAction": d["defaultAction"],
        "defaultErrnoRet": d["defaultErrnoRet"],
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": syscalls,
    })
}
