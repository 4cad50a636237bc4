//! /dev inside a container: the standard device nodes plus the spec's
//! `linux.devices`, and the /dev/fd, stdio and ptmx symlinks.
//!
//! Without a user namespace the nodes are made with `mknod`; inside one
//! (where mknod is refused) the host's nodes are bind-mounted instead.

use oci_spec::runtime::{LinuxDevice, LinuxDeviceType};

use super::{cstr, step};
use crate::error::{Error, Result};
use crate::linux::init::plan::{Op, Step, TargetKind};

/// name, major, minor (all 0666 character devices, like runc).
const DEFAULT: [(&str, u64, u64); 6] = [
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("tty", 5, 0),
];

const LINKS: [(&str, &str); 5] = [
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
    ("ptmx", "pts/ptmx"),
];

/// Steps creating the device nodes and links under `dev/` of the root.
pub(crate) fn steps(extra: &[LinuxDevice], userns: bool, out: &mut Vec<Step>) -> Result<()> {
    for (name, major, minor) in DEFAULT {
        if extra
            .iter()
            .any(|d| d.path().as_os_str() == format!("/dev/{name}").as_str())
        {
            continue;
        }
        node(
            &format!("/dev/{name}"),
            libc::S_IFCHR | 0o666,
            major,
            minor,
            0,
            0,
            userns,
            out,
        )?;
    }
    for d in extra {
        let kind = match d.typ() {
            LinuxDeviceType::C | LinuxDeviceType::U => libc::S_IFCHR,
            LinuxDeviceType::B => libc::S_IFBLK,
            LinuxDeviceType::P => libc::S_IFIFO,
            LinuxDeviceType::A => {
                return Err(Error::InvalidSpec(format!(
                    "linux.devices {}: type \"a\" is not a device node type",
                    d.path().display()
                )))
            }
        };
        let path = d.path().to_string_lossy().into_owned();
        if !path.starts_with("/dev/") || path.contains("/../") {
            return Err(Error::InvalidSpec(format!(
                "linux.devices {path}: must be a path under /dev"
            )));
        }
        let mode = kind | d.file_mode().unwrap_or(0o666) & 0o7777;
        node(
            &path,
            mode,
            d.major() as u64,
            d.minor() as u64,
            d.uid().unwrap_or(0),
            d.gid().unwrap_or(0),
            userns,
            out,
        )?;
    }
    for (name, to) in LINKS {
        out.push(step(
            format!("symlink /dev/{name} -> {to}"),
            Op::Symlink {
                link: cstr(&format!("dev/{name}"))?,
                to: cstr(to)?,
            },
        ));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn node(
    path: &str,
    mode: libc::mode_t,
    major: u64,
    minor: u64,
    uid: u32,
    gid: u32,
    userns: bool,
    out: &mut Vec<Step>,
) -> Result<()> {
    let rel = path.trim_start_matches('/');
    if userns {
        out.push(step(
            format!("bind {path} from the host"),
            Op::Mount {
                source: Some(cstr(path)?),
                target: cstr(rel)?,
                kind: TargetKind::File,
                fstype: None,
                flags: libc::MS_BIND,
                data: None,
                remount: None,
                propagation: 0,
            },
        ));
    } else {
        out.push(step(
            format!("mknod {path}"),
            Op::Mknod {
                target: cstr(rel)?,
                mode,
                dev: libc::makedev(major as u32, minor as u32),
                uid,
                gid,
            },
        ));
    }
    Ok(())
}
