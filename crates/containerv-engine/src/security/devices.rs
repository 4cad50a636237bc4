//! `--device HOST[:CTR[:rwm]]`, `--device-cgroup-rule 'c 1:3 rwm'` and
//! `--privileged`'s every host device.
//!
//! A device becomes a `linux.devices` node (made by the runtime inside
//! the container's /dev with the host node's type, numbers and mode) and
//! an allow rule in `linux.resources.devices`. The host node is checked
//! at create time and read again at every start (a device may be
//! replugged with other numbers). Privileged containers get every
//! character and block device under the host's /dev (runc's
//! `HostDevices` walk: not pts, shm, fd, mqueue; not console) and an
//! "allow all" rule first, so the runtime adds no deny-all.

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxDevice, LinuxDeviceCgroup, LinuxDeviceType, Spec};
use serde::{Deserialize, Serialize};

use super::SecurityConfig;
use crate::error::{Error, Result};

/// One `--device`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceMapping {
    pub host: PathBuf,
    pub container: PathBuf,
    /// Some of "rwm".
    pub permissions: String,
}

/// One `--device-cgroup-rule` (docker's syntax).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRule {
    /// 'a', 'b' or 'c'.
    pub typ: char,
    pub major: Option<i64>,
    pub minor: Option<i64>,
    pub access: String,
}

fn is_perms(s: &str) -> bool {
    !s.is_empty() && s.len() <= 3 && s.chars().all(|c| "rwm".contains(c))
}

/// (type, major, minor, mode) of a host device node.
fn host_node(flag: &str, given: &str, p: &Path) -> Result<(LinuxDeviceType, i64, i64, u32)> {
    let md = std::fs::metadata(p)
        .map_err(|e| Error::option(flag, given, format!("{}: {e}", p.display())))?;
    let ft = md.file_type();
    let typ = if ft.is_char_device() {
        LinuxDeviceType::C
    } else if ft.is_block_device() {
        LinuxDeviceType::B
    } else {
        return Err(Error::option(
            flag,
            given,
            format!("{} is not a device node", p.display()),
        ));
    };
    let rdev = md.rdev();
    // glibc's major()/minor() encoding.
    let major = ((rdev >> 32) & 0xffff_f000) | ((rdev >> 8) & 0xfff);
    let minor = ((rdev >> 12) & 0xffff_ff00) | (rdev & 0xff);
    Ok((
        typ,
        major as i64,
        minor as i64,
        md.permissions().mode() & 0o7777,
    ))
}

pub(super) fn parse_devices(given: &[String]) -> Result<Vec<DeviceMapping>> {
    given
        .iter()
        .map(|d| {
            let parts: Vec<&str> = d.split(':').collect();
            let (host, ctr, perms) = match parts.as_slice() {
                [h] => (*h, *h, "rwm"),
                [h, p] if is_perms(p) => (*h, *h, *p),
                [h, c] => (*h, *c, "rwm"),
                [h, c, p] => (*h, *c, *p),
                _ => {
                    return Err(Error::option(
                        "--device",
                        d.as_str(),
                        "not HOST[:CONTAINER[:PERMISSIONS]]",
                    ))
                }
            };
            if !is_perms(perms) {
                return Err(Error::option(
                    "--device",
                    d.as_str(),
                    format!("bad permissions {perms:?} (some of r, w, m)"),
                ));
            }
            for p in [host, ctr] {
                if !p.starts_with('/') {
                    return Err(Error::option(
                        "--device",
                        d.as_str(),
                        format!("{p:?} is not an absolute path"),
                    ));
                }
            }
            if Path::new(ctr)
                .components()
                .any(|c| c == std::path::Component::ParentDir)
            {
                return Err(Error::option(
                    "--device",
                    d.as_str(),
                    "the container path may not contain '..'",
                ));
            }
            host_node("--device", d, Path::new(host))?;
            Ok(DeviceMapping {
                host: host.into(),
                container: ctr.into(),
                permissions: perms.to_string(),
            })
        })
        .collect()
}

pub(super) fn parse_rules(given: &[String]) -> Result<Vec<DeviceRule>> {
    given
        .iter()
        .map(|r| {
            let bad = || {
                Error::option(
                    "--device-cgroup-rule",
                    r.as_str(),
                    "not 'TYPE MAJOR:MINOR ACCESS' (e.g. 'c 1:3 rwm', 'b *:* m')",
                )
            };
            let f: Vec<&str> = r.split_whitespace().collect();
            let [typ, nums, access] = f.as_slice() else {
                return Err(bad());
            };
            let typ = match *typ {
                "a" => 'a',
                "b" => 'b',
                "c" => 'c',
                _ => return Err(bad()),
            };
            let (maj, min) = nums.split_once(':').ok_or_else(bad)?;
            let num = |s: &str| -> Result<Option<i64>> {
                if s == "*" {
                    Ok(None)
                } else {
                    s.parse::<u32>().map(|n| Some(n as i64)).map_err(|_| bad())
                }
            };
            if !is_perms(access) {
                return Err(bad());
            }
            Ok(DeviceRule {
                typ,
                major: num(maj)?,
                minor: num(min)?,
                access: access.to_string(),
            })
        })
        .collect()
}

fn cgroup_rule(
    typ: LinuxDeviceType,
    major: Option<i64>,
    minor: Option<i64>,
    access: &str,
) -> LinuxDeviceCgroup {
    let mut c = LinuxDeviceCgroup::default();
    c.set_allow(true);
    c.set_typ(Some(typ));
    c.set_major(major);
    c.set_minor(minor);
    c.set_access(Some(access.to_string()));
    c
}

fn node(path: PathBuf, typ: LinuxDeviceType, major: i64, minor: i64, mode: u32) -> LinuxDevice {
    let mut d = LinuxDevice::default();
    d.set_path(path);
    d.set_typ(typ);
    d.set_major(major);
    d.set_minor(minor);
    d.set_file_mode(Some(mode));
    d.set_uid(Some(0));
    d.set_gid(Some(0));
    d
}

/// Every device node under the host's /dev (runc's `HostDevices`).
fn host_devices(dir: &Path, out: &mut Vec<LinuxDevice>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        let name = e.file_name();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            if ![".lxc", ".lxd-mounts", ".udev", "fd", "mqueue", "pts", "shm"]
                .iter()
                .any(|n| name == *n)
            {
                host_devices(&p, out);
            }
            continue;
        }
        if name == "console" || !(ft.is_char_device() || ft.is_block_device()) {
            continue;
        }
        if let Ok((typ, major, minor, mode)) = host_node("--privileged", "", &p) {
            out.push(node(p, typ, major, minor, mode));
        }
    }
}

pub(super) fn apply(spec: &mut Spec, sec: &SecurityConfig) -> Result<()> {
    if !sec.privileged && sec.devices.is_empty() && sec.device_cgroup_rules.is_empty() {
        return Ok(());
    }
    let linux = spec.linux_mut().as_mut().expect("built spec has linux");
    let mut nodes = linux.devices().clone().unwrap_or_default();
    let mut resources = linux.resources().clone().unwrap_or_default();
    let mut rules = resources.devices().clone().unwrap_or_default();
    if sec.privileged {
        rules.insert(0, cgroup_rule(LinuxDeviceType::A, None, None, "rwm"));
        let mut all = Vec::new();
        host_devices(Path::new("/dev"), &mut all);
        all.sort_by(|a, b| a.path().cmp(b.path()));
        nodes.extend(all);
    }
    for d in &sec.devices {
        let given = format!("{}:{}", d.host.display(), d.container.display());
        let (typ, major, minor, mode) = host_node("--device", &given, &d.host)?;
        nodes.retain(|n| n.path() != &d.container);
        nodes.push(node(d.container.clone(), typ, major, minor, mode));
        rules.push(cgroup_rule(typ, Some(major), Some(minor), &d.permissions));
    }
    for r in &sec.device_cgroup_rules {
        let typ = match r.typ {
            'b' => LinuxDeviceType::B,
            'c' => LinuxDeviceType::C,
            _ => LinuxDeviceType::A,
        };
        rules.push(cgroup_rule(typ, r.major, r.minor, &r.access));
    }
    resources.set_devices(Some(rules));
    linux.set_resources(Some(resources));
    linux.set_devices(Some(nodes));
    Ok(())
}
