//! Where a container's cgroup goes, and creating it.
//!
//! One cgroup per container per hierarchy. The caller's own cgroup is read
//! from `/proc/self/cgroup`, the hierarchies from `/proc/self/mountinfo`.
//!
//! - no `cgroupsPath`: `<caller's cgroup>/containerv-<id>`, so the container
//!   stays inside whatever gave the caller its resources;
//! - relative `cgroupsPath`: under the caller's cgroup (as runc does);
//! - absolute `cgroupsPath`: under the hierarchy's root.
//!
//! Directories are created top-down and each one created is recorded, so
//! [`Created::undo`] (on error) and `remove` take away exactly what this
//! library made and never an ancestor that was there before. On cgroup v1,
//! each new `cpuset` directory gets `cpuset.cpus`/`cpuset.mems` copied from
//! its parent (they start empty and no task can join until they are set).

use std::path::{Component, Path, PathBuf};

use super::fs;
use crate::error::{Error, Result};

/// A mounted cgroup v1 hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct V1Mount {
    /// Controllers bound to it, e.g. `["cpu", "cpuacct"]`.
    pub controllers: Vec<String>,
    /// Mount point.
    pub mount: PathBuf,
    /// The hierarchy path mounted there (mountinfo's root field).
    pub root: String,
}

/// The cgroup2 mount: (mount point, hierarchy path mounted there).
pub(crate) type V2Mount = (PathBuf, String);

/// Every v1 hierarchy, and the cgroup2 mount point if any. A named
/// hierarchy (`name=systemd`, no controller) counts too, with its
/// `name=...` as its only "controller": the container gets a directory
/// there like everywhere else, so a cgroup namespace or a bind shows it its
/// own cgroup there and not the host's root of that hierarchy.
pub(crate) fn mounts() -> Result<(Vec<V1Mount>, Option<V2Mount>)> {
    let text = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| Error::io("read", "/proc/self/mountinfo", e))?;
    let mut v1 = Vec::new();
    let mut v2 = None;
    for line in text.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let pre: Vec<&str> = pre.split(' ').collect();
        let post: Vec<&str> = post.split(' ').collect();
        if pre.len() < 5 || post.len() < 3 {
            continue;
        }
        let (root, mount) = (pre[3], PathBuf::from(pre[4]));
        match post[0] {
            "cgroup2" if v2.is_none() => v2 = Some((mount, root.to_string())),
            "cgroup" => {
                let controllers: Vec<String> = post[2]
                    .split(',')
                    .filter(|o| KNOWN_V1.contains(o) || o.starts_with("name="))
                    .map(str::to_string)
                    .collect();
                if !controllers.is_empty() && !v1.iter().any(|m: &V1Mount| m.mount == mount) {
                    v1.push(V1Mount {
                        controllers,
                        mount,
                        root: root.to_string(),
                    });
                }
            }
            _ => {}
        }
    }
    Ok((v1, v2))
}

const KNOWN_V1: &[&str] = &[
    "cpu",
    "cpuacct",
    "cpuset",
    "memory",
    "devices",
    "freezer",
    "blkio",
    "pids",
    "hugetlb",
    "net_cls",
    "net_prio",
    "perf_event",
    "rdma",
    "misc",
];

/// The caller's own cgroup: for v1, the path in the hierarchy whose
/// controller list contains `controller`; for v2 (`controller == None`),
/// the `0::` line.
pub(crate) fn own_cgroup(proc_self_cgroup: &str, controller: Option<&str>) -> Option<String> {
    proc_self_cgroup.lines().find_map(|l| {
        let mut it = l.splitn(3, ':');
        let (id, ctrls, path) = (it.next()?, it.next()?, it.next()?);
        let hit = match controller {
            None => id == "0" && ctrls.is_empty(),
            Some(c) => ctrls.split(',').any(|x| x == c),
        };
        hit.then(|| path.to_string())
    })
}

/// Checks an OCI `cgroupsPath` before anything is created.
pub(crate) fn validate_cgroups_path(p: &Path) -> Result<()> {
    let s = p.to_string_lossy();
    let bad = |reason: &str| Err(Error::option("cgroupsPath", s.to_string(), reason));
    if s.is_empty() {
        return bad("empty");
    }
    if s.contains(':') && !p.is_absolute() {
        return bad("a systemd-style \"slice:prefix:name\" path needs the systemd cgroup driver (--systemd-cgroup); without it give a cgroupfs path");
    }
    if p.components().any(|c| matches!(c, Component::ParentDir)) {
        return bad("must not contain \"..\"");
    }
    if p.components().all(|c| matches!(c, Component::RootDir)) {
        return bad("is the hierarchy root itself");
    }
    Ok(())
}

/// The container's directory in a hierarchy mounted at `mount` (holding
/// hierarchy path `mount_root`), for a caller in cgroup `own`.
pub(crate) fn target(
    mount: &Path,
    mount_root: &str,
    own: &str,
    id: &str,
    cgroups_path: Option<&Path>,
) -> PathBuf {
    let rel_to_root = |p: &str| -> PathBuf {
        // The part of the hierarchy path below what is mounted here (in a
        // cgroup namespace or a bind of a sub-tree the two differ).
        let p = p.strip_prefix(mount_root).unwrap_or(p);
        PathBuf::from(p.trim_start_matches('/'))
    };
    match cgroups_path {
        Some(p) if p.is_absolute() => mount.join(rel_to_root(&p.to_string_lossy())),
        Some(p) => mount.join(rel_to_root(own)).join(p),
        None => mount
            .join(rel_to_root(own))
            .join(format!("containerv-{id}")),
    }
}

/// Directories made so far, in creation order.
#[derive(Debug, Default)]
pub(crate) struct Created(pub Vec<PathBuf>);

impl Created {
    /// `mkdir -p` of `dir`, recording each directory made. `v1_cpuset`
    /// copies cpus/mems from the parent into each new directory.
    /// Returns the first pre-existing ancestor (the base).
    pub fn mkdir_p(&mut self, dir: &Path, v1_cpuset: bool) -> Result<PathBuf> {
        let mut missing = Vec::new();
        let mut cur = dir.to_path_buf();
        while !cur.exists() {
            missing.push(cur.clone());
            if !cur.pop() {
                break;
            }
        }
        let base = cur;
        for d in missing.into_iter().rev() {
            if fs::mkdir(&d)? {
                self.0.push(d.clone());
            }
            if v1_cpuset {
                copy_cpuset_from_parent(&d)?;
            }
        }
        Ok(base)
    }

    /// Removes what was made (on a failed create).
    pub fn undo(&mut self) {
        if let Err(e) = fs::rmdir_all(&self.0) {
            tracing::warn!("cleaning up a failed cgroup create: {e}");
        }
        self.0.clear();
    }
}

fn copy_cpuset_from_parent(dir: &Path) -> Result<()> {
    let parent = dir.parent().unwrap_or(dir);
    let mut buf = String::new();
    for f in ["cpuset.cpus", "cpuset.mems"] {
        fs::read_into(dir, f, &mut buf)?;
        if buf.trim().is_empty() {
            fs::read_into(parent, f, &mut buf)?;
            let v = buf.trim().to_string();
            fs::write(dir, f, &v)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_cgroup_lines() {
        let t = "4:memory:/a/b\n1:cpu,cpuacct:/\n0::/user.slice\n";
        assert_eq!(own_cgroup(t, Some("memory")).as_deref(), Some("/a/b"));
        assert_eq!(own_cgroup(t, Some("cpuacct")).as_deref(), Some("/"));
        assert_eq!(own_cgroup(t, None).as_deref(), Some("/user.slice"));
        assert_eq!(own_cgroup(t, Some("pids")), None);
    }

    #[test]
    fn targets() {
        let m = Path::new("/sys/fs/cgroup/memory");
        assert_eq!(
            target(m, "/", "/a/b", "c1", None),
            PathBuf::from("/sys/fs/cgroup/memory/a/b/containerv-c1")
        );
        assert_eq!(
            target(m, "/", "/a", "c1", Some(Path::new("x/y"))),
            PathBuf::from("/sys/fs/cgroup/memory/a/x/y")
        );
        assert_eq!(
            target(m, "/", "/a", "c1", Some(Path::new("/x/y"))),
            PathBuf::from("/sys/fs/cgroup/memory/x/y")
        );
        // A mount of a sub-tree (cgroup namespace): strip the mounted root.
        assert_eq!(
            target(m, "/a", "/a/b", "c1", None),
            PathBuf::from("/sys/fs/cgroup/memory/b/containerv-c1")
        );
    }

    #[test]
    fn bad_paths() {
        for p in ["", "a/../b", "/", "machine.slice:cv:c1"] {
            let e = validate_cgroups_path(Path::new(p)).unwrap_err().to_string();
            assert!(e.contains("cgroupsPath"), "{e}");
        }
        validate_cgroups_path(Path::new("/x/y")).unwrap();
    }
}
