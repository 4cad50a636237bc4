//! What a container's `cgroup` mount becomes on this host, as runc does.
//!
//! - Unified (cgroup2 at /sys/fs/cgroup): a bind of the container's own
//!   cgroup directory, with or without a cgroup namespace (the same view a
//!   cgroup2 mount in its namespace gives; such a mount fails with EBUSY in
//!   the cgroup2 VM, and runc binds too when it does).
//! - v1 or hybrid: a tmpfs holding one entry per host hierarchy (read from
//!   /proc/self/mountinfo; named ones such as `name=systemd` included) plus
//!   `unified` when the host has cgroup2 there, then the tmpfs made
//!   read-only if asked. With a cgroup namespace each entry is a fresh
//!   cgroup mount of that hierarchy (rooted at the container's cgroup);
//!   without one it is a bind of the container's directory in that
//!   hierarchy. Either way the container sees its own cgroup (and its
//!   limits, `memory/memory.limit_in_bytes`) and never the host's tree: a
//!   hierarchy the container has no directory in is left out.

use std::ffi::CString;

use std::path::Path;

use super::{cpath, cstr, step};
use crate::error::Result;
use crate::linux::cgroups::Placed;
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

/// Steps for a cgroup mount at `rel` (relative to the root) with `flags`;
/// `placed` are the container's cgroup directories, one per hierarchy.
pub(crate) fn steps(
    rel: &str,
    flags: libc::c_ulong,
    cgroupns: bool,
    placed: &[Placed],
    out: &mut Vec<Step>,
) -> Result<()> {
    let dest = format!("/{rel}");
    if host_is_unified() {
        let own = placed.iter().find(|p| p.controllers.is_empty());
        match (cgroupns, own) {
            // The container's own directory, bound: what a cgroup2 mount
            // in its cgroup namespace shows, and what runc falls back to
            // when that mount is refused (EBUSY in the cgroup2 VM).
            (_, Some(p)) => out.push(bind(rel, &p.dir, flags)?),
            (true, None) => out.push(step(
                format!("mount cgroup2 on {dest}"),
                mount(rel, "cgroup2", flags, None)?,
            )),
            (false, None) => out.push(step(
                format!("mount tmpfs on {dest}"),
                mount(rel, "tmpfs", flags, Some("mode=755".to_string()))?,
            )),
        }
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
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let (hier, unified) = host_hierarchies(&mountinfo);
    let entries = hier
        .iter()
        .map(|h| (h.name.as_str(), "cgroup", Some(h.data.clone())))
        .chain(unified.then_some(("unified", "cgroup2", None)));
    for (name, fstype, data) in entries {
        let host = Path::new("/sys/fs/cgroup").join(name);
        // The container's directory in this hierarchy: placement puts it
        // under the hierarchy's mount point.
        let Some(own) = placed.iter().find(|p| p.dir.starts_with(&host)) else {
            continue;
        };
        let sub = format!("{rel}/{name}");
        if cgroupns {
            let what = data.as_deref().unwrap_or(fstype);
            out.push(step(
                format!("mount {fstype} ({what}) on /{sub}"),
                mount(&sub, fstype, flags, data)?,
            ));
        } else {
            out.push(bind(&sub, &own.dir, flags)?);
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

/// A bind of the container's cgroup directory `dir` on `rel`, with the
/// mount's flags (read-only, nosuid, ...) applied by a remount.
fn bind(rel: &str, dir: &Path, flags: libc::c_ulong) -> Result<Step> {
    Ok(step(
        format!("bind {} on /{rel}", dir.display()),
        Op::Mount {
            source: Some(cpath(dir)?),
            target: cstr(rel)?,
            kind: TargetKind::Dir,
            fstype: None,
            flags: libc::MS_BIND | libc::MS_REC,
            data: None,
            remount: (flags != 0).then_some(libc::MS_BIND | libc::MS_REMOUNT | flags),
            propagation: 0,
        },
    ))
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
