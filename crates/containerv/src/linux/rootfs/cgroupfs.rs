//! What a container's `cgroup` mount becomes on this host.
//!
//! - Unified (cgroup2 at /sys/fs/cgroup): a cgroup2 mount.
//! - v1 or hybrid: a tmpfs with one cgroup v1 mount per host hierarchy
//!   (same controller set, read from /proc/self/mountinfo) plus cgroup2 at
//!   `unified` when the host has it, then the tmpfs made read-only if asked.
//!
//! The hierarchies are mounted only with a cgroup namespace (its root is
//! the container's cgroup); without one the mount is an empty tmpfs, so the
//! host's tree is never exposed.

use std::ffi::CString;

use super::{cstr, step};
use crate::error::Result;
use crate::linux::init::plan::{Op, Step, TargetKind};

const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;

/// One v1 hierarchy of the host: its directory name and mount data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hierarchy {
    pub name: String,
    pub data: String,
}

/// True when /sys/fs/cgroup itself is cgroup2.
pub(crate) fn host_is_unified() -> bool {
    // SAFETY: statfs into a local with a NUL-terminated path.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let r = unsafe { libc::statfs(c"/sys/fs/cgroup".as_ptr(), &mut st) };
    r == 0 && st.f_type as i64 == CGROUP2_SUPER_MAGIC
}

/// The host's cgroup v1 hierarchies under /sys/fs/cgroup, and whether
/// cgroup2 is mounted at /sys/fs/cgroup/unified.
pub(crate) fn host_hierarchies(mountinfo: &str) -> (Vec<Hierarchy>, bool) {
    let mut out = Vec::new();
    let mut unified = false;
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let point = left.split(' ').nth(4).unwrap_or("");
        let Some(name) = point.strip_prefix("/sys/fs/cgroup/") else {
            continue;
        };
        if name.contains('/') {
            continue;
        }
        let mut r = right.split(' ');
        let fstype = r.next().unwrap_or("");
        let superopts = r.nth(1).unwrap_or("");
        if fstype == "cgroup2" && name == "unified" {
            unified = true;
        } else if fstype == "cgroup" {
            let data: Vec<&str> = superopts
                .split(',')
                .filter(|o| {
                    !matches!(
                        *o,
                        "rw" | "ro" | "xattr" | "noprefix" | "clone_children" | "cpuset_v2_mode"
                    ) && !o.starts_with("release_agent=")
                })
                .collect();
            if !data.is_empty() && !out.iter().any(|h: &Hierarchy| h.name == name) {
                out.push(Hierarchy {
                    name: name.to_string(),
                    data: data.join(","),
                });
            }
        }
    }
    (out, unified)
}

/// Steps for a cgroup mount at `rel` (relative to the root) with `flags`.
pub(crate) fn steps(
    rel: &str,
    flags: libc::c_ulong,
    cgroupns: bool,
    out: &mut Vec<Step>,
) -> Result<()> {
    let dest = format!("/{rel}");
    if cgroupns && host_is_unified() {
        out.push(step(
            format!("mount cgroup2 on {dest}"),
            mount(rel, "cgroup2", flags, None)?,
        ));
        return Ok(());
    }
    out.push(step(
        format!("mount tmpfs on {dest}"),
        mount(
            rel,
            "tmpfs",
            flags & !libc::MS_RDONLY,
            Some("mode=755".to_string()),
        )?,
    ));
    if cgroupns && !host_is_unified() {
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let (hier, unified) = host_hierarchies(&mountinfo);
        for h in hier {
            let sub = format!("{rel}/{}", h.name);
            out.push(step(
                format!("mount cgroup ({}) on /{sub}", h.data),
                mount(&sub, "cgroup", flags, Some(h.data.clone()))?,
            ));
        }
        if unified {
            let sub = format!("{rel}/unified");
            out.push(step(
                format!("mount cgroup2 on /{sub}"),
                mount(&sub, "cgroup2", flags, None)?,
            ));
        }
    }
    if flags & libc::MS_RDONLY != 0 {
        out.push(step(
            format!("make {dest} read-only"),
            Op::Remount {
                target: cstr(rel)?,
                flags: libc::MS_REMOUNT | libc::MS_RDONLY | (flags & !libc::MS_RDONLY),
            },
        ));
    }
    Ok(())
}

fn mount(rel: &str, fstype: &str, flags: libc::c_ulong, data: Option<String>) -> Result<Op> {
    let source = if fstype == "tmpfs" { "tmpfs" } else { "cgroup" };
    Ok(Op::Mount {
        source: Some(cstr(source)?),
        target: cstr(rel)?,
        kind: TargetKind::Dir,
        fstype: Some(cstr(fstype)?),
        flags,
        data: data.map(CString::new).transpose().ok().flatten(),
        remount: None,
        propagation: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_hybrid_mountinfo() {
        let mi = "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n\
                  40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n\
                  41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n\
                  42 31 0:38 / /other rw - tmpfs tmpfs rw\n";
        let (h, unified) = host_hierarchies(mi);
        assert!(unified);
        assert_eq!(
            h,
            vec![
                Hierarchy {
                    name: "cpu".into(),
                    data: "cpu".into()
                },
                Hierarchy {
                    name: "systemd".into(),
                    data: "name=systemd".into()
                }
            ]
        );
    }
}
