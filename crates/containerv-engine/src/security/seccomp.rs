//! Docker-format seccomp profiles → the OCI `linux.seccomp` the core's
//! compiler (`containerv::linux::seccomp`) turns into BPF.
//!
//! The built-in profile is moby's `profiles/seccomp/default.json`, stored
//! unchanged as `seccomp_default.json` beside this file (copied from
//! github.com/moby/moby at commit 00f3d189e420d485e42d15fe494f96d272284e0e,
//! Apache-2.0). Docker's format adds to OCI's: `names` or `name`, an
//! `archMap` (the native architecture and its sub-architectures), and
//! per-rule `includes`/`excludes` on capabilities, architectures and a
//! minimum kernel. [`resolve`] applies those conditions the way moby's
//! `setupSeccomp` does, for this host's architecture (amd64 or arm64) and the container's bounding
//! capabilities: with CAP_SYS_ADMIN, `mount`/`unshare`/`clone` of
//! namespaces are allowed; without it, `clone` is allowed only without
//! namespace flags and `clone3` answers ENOSYS.
//!
//! `--security-opt seccomp=PATH` profiles go through the same code (the
//! file is read at create time and kept in the record, as docker does).

use oci_spec::runtime::LinuxSeccomp;
use serde::Deserialize;

use crate::error::{Error, Result};

/// moby's default profile, as published.
pub const DEFAULT_PROFILE: &str = include_str!("seccomp_default.json");

/// Go's name for this architecture (moby compares `includes.arches` with
/// `runtime.GOARCH`) and libseccomp's (the `archMap` key).
#[cfg(target_arch = "aarch64")]
const GOARCH: &str = "arm64";
#[cfg(target_arch = "aarch64")]
const NATIVE: &str = "SCMP_ARCH_AARCH64";
#[cfg(not(target_arch = "aarch64"))]
const GOARCH: &str = "amd64";
#[cfg(not(target_arch = "aarch64"))]
const NATIVE: &str = "SCMP_ARCH_X86_64";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Profile {
    default_action: serde_json::Value,
    #[serde(default)]
    default_errno_ret: Option<u32>,
    #[serde(default)]
    architectures: Option<Vec<String>>,
    #[serde(default)]
    arch_map: Option<Vec<ArchMap>>,
    #[serde(default)]
    syscalls: Option<Vec<Syscall>>,
    #[serde(default)]
    flags: Option<Vec<serde_json::Value>>,
    #[serde(default)]
    listener_path: Option<String>,
    #[serde(default)]
    listener_metadata: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ArchMap {
    architecture: String,
    #[serde(default)]
    sub_architectures: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Syscall {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    names: Option<Vec<String>>,
    action: serde_json::Value,
    #[serde(default)]
    errno_ret: Option<u32>,
    #[serde(default)]
    args: Option<Vec<serde_json::Value>>,
    #[serde(default)]
    comment: Option<String>,
    #[serde(default)]
    includes: Option<Filter>,
    #[serde(default)]
    excludes: Option<Filter>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Filter {
    #[serde(default)]
    caps: Option<Vec<String>>,
    #[serde(default)]
    arches: Option<Vec<String>>,
    #[serde(default)]
    min_kernel: Option<String>,
}

/// "6.1.0-18-amd64" → (6, 1).
fn kernel_version(release: &str) -> Option<(u32, u32)> {
    let mut it = release.split(|c: char| !c.is_ascii_digit());
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

fn host_kernel() -> (u32, u32) {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .ok()
        .and_then(|r| kernel_version(r.trim()))
        .unwrap_or((0, 0))
}

/// The OCI filter for `profile` (docker's JSON) in a container whose
/// bounding set is `caps`. Errors name `--security-opt seccomp`.
pub fn resolve(profile: &str, caps: &[String]) -> Result<LinuxSeccomp> {
    resolve_for(profile, caps, host_kernel())
}

fn bad(why: impl Into<String>) -> Error {
    Error::option("--security-opt", "seccomp", why)
}

fn resolve_for(profile: &str, caps: &[String], kernel: (u32, u32)) -> Result<LinuxSeccomp> {
    let p: Profile =
        serde_json::from_str(profile).map_err(|e| bad(format!("not a seccomp profile: {e}")))?;
    let has = |c: &String| caps.iter().any(|x| x == c);
    let kernel_at_least = |v: &str| -> Result<bool> {
        let want = kernel_version(v).ok_or_else(|| bad(format!("bad minKernel {v:?}")))?;
        Ok(kernel >= want)
    };
    if p.architectures.as_ref().is_some_and(|a| !a.is_empty())
        && p.arch_map.as_ref().is_some_and(|a| !a.is_empty())
    {
        return Err(bad("both 'architectures' and 'archMap' are given"));
    }
    let mut arches: Vec<String> = p.architectures.clone().unwrap_or_default();
    if let Some(m) = p
        .arch_map
        .iter()
        .flatten()
        .find(|m| m.architecture == NATIVE)
    {
        arches.push(m.architecture.clone());
        arches.extend(m.sub_architectures.clone().unwrap_or_default());
    }
    let mut syscalls = Vec::new();
    'rules: for call in p.syscalls.iter().flatten() {
        let names = match (&call.name, &call.names) {
            (Some(_), Some(n)) if !n.is_empty() => {
                return Err(bad("a rule gives both 'name' and 'names'"))
            }
            (Some(n), _) => vec![n.clone()],
            (None, Some(n)) => n.clone(),
            (None, None) => return Err(bad("a rule names no syscall")),
        };
        let _ = &call.comment;
        let ex = call.excludes.as_ref();
        let inc = call.includes.as_ref();
        if ex
            .and_then(|e| e.arches.as_ref())
            .is_some_and(|a| a.iter().any(|x| x == GOARCH))
            || ex
                .and_then(|e| e.caps.as_ref())
                .is_some_and(|c| c.iter().any(has))
        {
            continue 'rules;
        }
        if let Some(v) = ex.and_then(|e| e.min_kernel.as_deref()) {
            if kernel_at_least(v)? {
                continue 'rules;
            }
        }
        if inc
            .and_then(|i| i.arches.as_ref())
            .is_some_and(|a| !a.is_empty() && !a.iter().any(|x| x == GOARCH))
            || inc
                .and_then(|i| i.caps.as_ref())
                .is_some_and(|c| !c.iter().all(has))
        {
            continue 'rules;
        }
        if let Some(v) = inc.and_then(|i| i.min_kernel.as_deref()) {
            if !kernel_at_least(v)? {
                continue 'rules;
            }
        }
        let mut rule = serde_json::json!({ "names": names, "action": call.action });
        if let Some(e) = call.errno_ret {
            rule["errnoRet"] = e.into();
        }
        if let Some(a) = &call.args {
            rule["args"] = a.clone().into();
        }
        syscalls.push(rule);
    }
    let mut oci = serde_json::json!({
        "defaultAction": p.default_action,
        "syscalls": syscalls,
    });
    if !arches.is_empty() {
        oci["architectures"] = arches.into();
    }
    if let Some(e) = p.default_errno_ret {
        oci["defaultErrnoRet"] = e.into();
    }
    if let Some(f) = p.flags {
        oci["flags"] = f.into();
    }
    if let Some(l) = p.listener_path {
        oci["listenerPath"] = l.into();
    }
    if let Some(m) = p.listener_metadata {
        oci["listenerMetadata"] = m.into();
    }
    serde_json::from_value(oci).map_err(|e| bad(format!("not a seccomp profile: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::caps;

    fn names(s: &LinuxSeccomp) -> Vec<String> {
        s.syscalls()
            .iter()
            .flatten()
            .flat_map(|c| c.names().clone())
            .collect()
    }

    #[test]
    fn default_profile_follows_the_capabilities() {
        let default = caps::tweak(&[], &[], false).unwrap();
        let s = resolve_for(DEFAULT_PROFILE, &default, (6, 1)).unwrap();
        let n = names(&s);
        for allowed in [
            "read",
            "arch_prctl",
            "modify_ldt",
            "ptrace",
            "chroot",
            "clone",
        ] {
            assert!(n.iter().any(|x| x == allowed), "{allowed} missing");
        }
        for denied in [
            "mount",
            "unshare",
            "setns",
            "keyctl",
            "reboot",
            "bpf",
            "s390_runtime_instr",
        ] {
            assert!(!n.iter().any(|x| x == denied), "{denied} allowed");
        }
        assert_eq!(s.default_errno_ret(), Some(1));
        #[cfg(target_arch = "x86_64")]
        assert_eq!(s.architectures().as_ref().map(|a| a.len()), Some(3));
        // CAP_SYS_ADMIN opens mount/unshare and drops the clone flag check.
        let admin = caps::tweak(&["SYS_ADMIN".into()], &[], false).unwrap();
        let s = resolve_for(DEFAULT_PROFILE, &admin, (6, 1)).unwrap();
        let n = names(&s);
        assert!(n.iter().any(|x| x == "mount") && n.iter().any(|x| x == "unshare"));
        assert!(!s
            .syscalls()
            .iter()
            .flatten()
            .any(|c| c.names() == &["clone3".to_string()]));
        // An old kernel does not get ptrace from the minKernel rule.
        let s = resolve_for(DEFAULT_PROFILE, &default, (4, 4)).unwrap();
        assert!(!names(&s).iter().any(|x| x == "ptrace"));
    }

    /// `validate` compiles only a `seccomp=PATH` profile at create: the
    /// built-in one compiles for every bounding set (docker's, all, none,
    /// and one cap at a time).
    #[test]
    fn the_builtin_profile_compiles_for_any_capabilities() {
        let mut sets: Vec<Vec<String>> = vec![
            caps::tweak(&[], &[], false).unwrap(),
            caps::ALL.iter().map(|c| c.to_string()).collect(),
            vec![],
        ];
        sets.extend(caps::ALL.iter().map(|c| vec![c.to_string()]));
        for set in sets {
            let s = resolve(DEFAULT_PROFILE, &set).unwrap();
            containerv::linux::seccomp::compile(&s).unwrap_or_else(|e| panic!("{set:?}: {e}"));
        }
    }

    #[test]
    fn bad_profiles_are_refused() {
        for p in [
            "",
            "{}",
            r#"{"defaultAction":"SCMP_ACT_NOPE"}"#,
            r#"{"defaultAction":"SCMP_ACT_ALLOW","bogus":1}"#,
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"action":"SCMP_ACT_ALLOW"}]}"#,
        ] {
            let e = resolve_for(p, &[], (6, 1)).unwrap_err().to_string();
            assert!(e.contains("seccomp"), "{p}: {e}");
        }
        // OCI's own format is a docker profile too.
        let oci = r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"],
                      "syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}"#;
        assert_eq!(names(&resolve_for(oci, &[], (6, 1)).unwrap()), ["mkdir"]);
    }
}
