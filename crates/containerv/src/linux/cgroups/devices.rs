//! Device access rules (`linux.resources.devices`): which device nodes a
//! container may create (m), read (r) and write (w).
//!
//! The rule list is applied in order, later rules winning, as the v1
//! `devices.allow`/`devices.deny` files do; v2 has no files, so the same
//! list becomes a BPF_PROG_TYPE_CGROUP_DEVICE program (`devices_bpf`).
//!
//! [`container_rules`] is what a container gets, like runc: deny everything
//! (unless the spec's rules start with their own "a" rule), the spec's
//! rules, then the standard devices every container needs (null, zero,
//! full, random, urandom, tty, console, ptmx, pts, mknod of anything) and
//! the spec's own `linux.devices`.

use std::path::Path;

use oci_spec::runtime::{LinuxDevice, LinuxDeviceCgroup, LinuxDeviceType};

use super::fs;
use crate::error::{Error, Result};

/// One rule, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rule {
    pub allow: bool,
    /// 'a' (all), 'c' or 'b'.
    pub typ: char,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    /// Bits: 1 = mknod, 2 = read, 4 = write (the BPF_DEVCG_ACC_* values).
    pub access: u32,
}

pub(crate) const ACC_MKNOD: u32 = 1;
pub(crate) const ACC_READ: u32 = 2;
pub(crate) const ACC_WRITE: u32 = 4;

/// Check and convert one OCI rule; the error names it.
pub(crate) fn rule(d: &LinuxDeviceCgroup) -> Result<Rule> {
    let bad = |why: &str| {
        Error::InvalidSpec(format!(
            "linux.resources.devices {}: {why}",
            serde_json::to_string(d).unwrap_or_default()
        ))
    };
    let typ = match d.typ() {
        None | Some(LinuxDeviceType::A) => 'a',
        Some(LinuxDeviceType::C) | Some(LinuxDeviceType::U) => 'c',
        Some(LinuxDeviceType::B) => 'b',
        Some(LinuxDeviceType::P) => return Err(bad("type \"p\" has no device access rules")),
    };
    let num = |v: Option<i64>, what: &str| -> Result<Option<u32>> {
        match v {
            None | Some(-1) => Ok(None),
            Some(n) if (0..=u32::MAX as i64).contains(&n) => Ok(Some(n as u32)),
            Some(n) => Err(bad(&format!("{what} {n} is not a device number"))),
        }
    };
    let mut access = 0;
    for c in d.access().as_deref().unwrap_or("rwm").chars() {
        access |= match c {
            'm' => ACC_MKNOD,
            'r' => ACC_READ,
            'w' => ACC_WRITE,
            _ => return Err(bad(&format!("access {c:?} is not one of r, w, m"))),
        };
    }
    if access == 0 {
        access = ACC_MKNOD | ACC_READ | ACC_WRITE;
    }
    Ok(Rule {
        allow: d.allow(),
        typ,
        major: num(d.major(), "major")?,
        minor: num(d.minor(), "minor")?,
        access,
    })
}

/// Every rule of a list, checked.
pub(crate) fn rules(list: &[LinuxDeviceCgroup]) -> Result<Vec<Rule>> {
    list.iter().map(rule).collect()
}

fn allow(typ: char, major: Option<u32>, minor: Option<u32>, access: u32) -> Rule {
    Rule {
        allow: true,
        typ,
        major,
        minor,
        access,
    }
}

/// The devices every container may use (runc's list, without tun/tap).
fn standard() -> Vec<Rule> {
    const RWM: u32 = ACC_MKNOD | ACC_READ | ACC_WRITE;
    vec![
        allow('c', None, None, ACC_MKNOD),
        allow('b', None, None, ACC_MKNOD),
        allow('c', Some(1), Some(3), RWM), // null
        allow('c', Some(1), Some(5), RWM), // zero
        allow('c', Some(1), Some(7), RWM), // full
        allow('c', Some(1), Some(8), RWM), // random
        allow('c', Some(1), Some(9), RWM), // urandom
        allow('c', Some(5), Some(0), RWM), // tty
        allow('c', Some(5), Some(1), RWM), // console
        allow('c', Some(5), Some(2), RWM), // ptmx
        allow('c', Some(136), None, RWM),  // /dev/pts/*
    ]
}

/// The rules a container's cgroup gets: deny all unless the spec starts
/// with its own "all devices" rule, the spec's rules, the standard devices,
/// then an allow rule for each of the spec's `linux.devices` that no spec
/// rule names by its exact type and numbers: where one does (docker's
/// `--device /dev/x:/dev/x:r` is a node plus a "c M:N r" rule), the spec
/// has said what access it gets, and an "rwm" after it would widen it.
pub(crate) fn container_rules(
    spec_rules: &[LinuxDeviceCgroup],
    devices: &[LinuxDevice],
) -> Result<Vec<LinuxDeviceCgroup>> {
    let checked = rules(spec_rules)?;
    let mut out = Vec::new();
    if checked.first().is_none_or(|r| r.typ != 'a') {
        out.push(Rule {
            allow: false,
            typ: 'a',
            major: None,
            minor: None,
            access: ACC_MKNOD | ACC_READ | ACC_WRITE,
        });
    }
    out.extend(checked.iter().copied());
    out.extend(standard());
    for d in devices {
        let typ = match d.typ() {
            LinuxDeviceType::B => 'b',
            LinuxDeviceType::P => continue,
            _ => 'c',
        };
        let n = |v: i64| u32::try_from(v).ok();
        let (major, minor) = (n(d.major()), n(d.minor()));
        if checked
            .iter()
            .any(|r| r.typ == typ && r.major.is_some() && r.major == major && r.minor == minor)
        {
            continue;
        }
        out.push(allow(
            typ,
            n(d.major()),
            n(d.minor()),
            ACC_MKNOD | ACC_READ | ACC_WRITE,
        ));
    }
    Ok(out.iter().map(to_oci).collect())
}

fn to_oci(r: &Rule) -> LinuxDeviceCgroup {
    let mut d = LinuxDeviceCgroup::default();
    d.set_allow(r.allow);
    d.set_typ(Some(match r.typ {
        'c' => LinuxDeviceType::C,
        'b' => LinuxDeviceType::B,
        _ => LinuxDeviceType::A,
    }));
    d.set_major(r.major.map(i64::from));
    d.set_minor(r.minor.map(i64::from));
    d.set_access(Some(access_string(r.access)));
    d
}

fn access_string(a: u32) -> String {
    let mut s = String::new();
    if a & ACC_READ != 0 {
        s.push('r');
    }
    if a & ACC_WRITE != 0 {
        s.push('w');
    }
    if a & ACC_MKNOD != 0 {
        s.push('m');
    }
    s
}

/// The v1 `devices.allow`/`devices.deny` line of a rule.
fn v1_line(r: &Rule) -> String {
    if r.typ == 'a' {
        // "a" covers every device and access (the kernel ignores the rest).
        return "a".into();
    }
    let n = |v: Option<u32>| v.map_or("*".to_string(), |n| n.to_string());
    format!(
        "{} {}:{} {}",
        r.typ,
        n(r.major),
        n(r.minor),
        access_string(r.access)
    )
}

/// Apply `list` in order to the v1 devices cgroup `dir`.
pub(crate) fn apply_v1(dir: &Path, list: &[LinuxDeviceCgroup]) -> Result<()> {
    for r in rules(list)? {
        let file = if r.allow {
            "devices.allow"
        } else {
            "devices.deny"
        };
        fs::write(dir, file, &v1_line(&r))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxDeviceCgroupBuilder;

    #[test]
    fn default_is_deny_all_then_standard_devices() {
        let r = rules(&container_rules(&[], &[]).unwrap()).unwrap();
        assert_eq!(v1_line(&r[0]), "a");
        assert!(!r[0].allow);
        let lines: Vec<String> = r[1..].iter().map(v1_line).collect();
        assert!(lines.contains(&"c 1:3 rwm".to_string()), "{lines:?}");
        assert!(lines.contains(&"c 136:* rwm".to_string()), "{lines:?}");
        assert!(lines.contains(&"b *:* m".to_string()), "{lines:?}");
    }

    #[test]
    fn a_spec_rule_for_a_device_is_not_widened() {
        use oci_spec::runtime::LinuxDeviceBuilder;
        let tun = LinuxDeviceBuilder::default()
            .path("/dev/tun0")
            .typ(LinuxDeviceType::C)
            .major(10)
            .minor(200)
            .build()
            .unwrap();
        let read_only = LinuxDeviceCgroupBuilder::default()
            .allow(true)
            .typ(LinuxDeviceType::C)
            .major(10)
            .minor(200)
            .access("r")
            .build()
            .unwrap();
        let lines = |spec: &[LinuxDeviceCgroup]| -> Vec<String> {
            rules(&container_rules(spec, std::slice::from_ref(&tun)).unwrap())
                .unwrap()
                .iter()
                .filter(|r| r.major == Some(10))
                .map(v1_line)
                .collect()
        };
        assert_eq!(lines(&[read_only]), ["c 10:200 r"]);
        // A node with no rule of its own: usable, as before.
        assert_eq!(lines(&[]), ["c 10:200 rwm"]);
    }

    #[test]
    fn spec_rules_are_checked_and_kept_in_order() {
        let allow_all = LinuxDeviceCgroupBuilder::default()
            .allow(true)
            .access("rwm")
            .build()
            .unwrap();
        let r = rules(&container_rules(&[allow_all], &[]).unwrap()).unwrap();
        assert!(
            r[0].allow && r[0].typ == 'a',
            "no deny-all before a spec 'a' rule"
        );
        let bad = LinuxDeviceCgroupBuilder::default()
            .allow(true)
            .typ(LinuxDeviceType::C)
            .access("rwx")
            .build()
            .unwrap();
        let e = container_rules(&[bad], &[]).unwrap_err().to_string();
        assert!(
            e.contains("linux.resources.devices") && e.contains("'x'"),
            "{e}"
        );
    }
}
