//! User-namespace remapping, as dockerd's `userns-remap`: with
//! `[security] userns-remap = "USER[:GROUP]"` in the engine's
//! configuration, every new container (unless `--userns host`) runs in a
//! user namespace where its root is the first id of USER's ranges in
//! /etc/subuid (GROUP's in /etc/subgid), so root in a container is an
//! unprivileged id on the host.
//!
//! What the container sees, and why:
//! - The image's files are owned as the image says (root is 0): the core
//!   mounts each layer through an idmapped mount of the container's user
//!   namespace (no copy, shared layers untouched on disk); see the core's
//!   `linux/rootfs` and docs/ARCHITECTURE.md.
//! - What it writes (its writable layer, a volume it makes) is owned by
//!   the mapped ids on the host, as under docker's remap: a host user or
//!   another container with other ids has no claim on it.
//! - Bind mounts are not idmapped (docker's behaviour): host files keep
//!   their host owners, and those outside the range show as the overflow
//!   id (nobody). A remapped root has no capability over them, so a
//!   host-root 0600 file bound in cannot be read: that is the point.
//! - A volume this container makes gets its tree shifted into the range
//!   after copy-up ([`IdMaps::shift_tree`]); an existing volume is left
//!   as it is (docker keeps volumes of a remap under that remap's root).
//!
//! Refused with a remap, as docker refuses them (they would hand the
//! container something its mapped root cannot hold, or fail in the
//! kernel): `--privileged`, `--network host`, `--pid host`, and joining
//! another container's namespaces (`--network/--pid/--ipc container:`),
//! which belong to that container's user namespace. `--userns host` opts
//! a container out.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{NsMode, SecurityConfig};
use crate::error::{Error, Result};
use crate::record::NetworkMode;

/// dockerd's "default" names a user it creates (dockremap); ours is this
/// one, which the administrator adds to /etc/subuid and /etc/subgid.
pub const DEFAULT_USER: &str = "containerv";

/// The kernel's limit of lines in uid_map/gid_map.
const MAX_RANGES: usize = 340;

/// One range: `size` ids from `container` inside are `host` outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdRange {
    pub container: u32,
    pub host: u32,
    pub size: u32,
}

/// The uid and gid maps of a remapped container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdMaps {
    pub uid: Vec<IdRange>,
    pub gid: Vec<IdRange>,
}

/// The ranges of `name` in a subordinate-id file (`name:start:count`
/// lines), as container ids 0, 1, ... in file order.
fn ranges(file: &Path, name: &str) -> std::result::Result<Vec<IdRange>, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let mut out = Vec::new();
    let mut next: u32 = 0;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split(':').collect();
        if f.len() != 3 || f[0] != name {
            continue;
        }
        let bad = || {
            format!(
                "{} line {}: {line:?} is not NAME:START:COUNT",
                file.display(),
                n + 1
            )
        };
        let start: u32 = f[1].parse().map_err(|_| bad())?;
        let size: u32 = f[2].parse().map_err(|_| bad())?;
        if size == 0 || start.checked_add(size).is_none() {
            return Err(bad());
        }
        if start == 0 {
            return Err(format!(
                "{} line {}: {line:?} maps container ids onto host root",
                file.display(),
                n + 1
            ));
        }
        let end = next
            .checked_add(size)
            .ok_or_else(|| format!("{}: the ranges of {name} overflow", file.display()))?;
        out.push(IdRange {
            container: next,
            host: start,
            size,
        });
        next = end;
        if out.len() > MAX_RANGES {
            return Err(format!(
                "{}: {name} has more than {MAX_RANGES} ranges (the kernel's limit)",
                file.display()
            ));
        }
    }
    if out.is_empty() {
        return Err(format!(
            "no range for {name:?} in {} (add a line such as \"{name}:100000:65536\")",
            file.display()
        ));
    }
    Ok(out)
}

impl IdMaps {
    /// dockerd's `userns-remap` value ("default", "USER", "USER:GROUP",
    /// "UID:GID": the names looked up literally) → the ranges in
    /// `subuid`/`subgid`. The error says what is missing where.
    pub fn resolve(value: &str, subuid: &Path, subgid: &Path) -> std::result::Result<Self, String> {
        let value = value.trim();
        let (user, group) = match value {
            "" => return Err("empty (use \"default\", USER or USER:GROUP)".into()),
            "default" => (DEFAULT_USER, DEFAULT_USER),
            v => match v.split_once(':') {
                Some((u, g)) if !u.is_empty() && !g.is_empty() => (u, g),
                Some(_) => return Err("USER:GROUP needs both names".into()),
                None => (v, v),
            },
        };
        Ok(IdMaps {
            uid: ranges(subuid, user)?,
            gid: ranges(subgid, group)?,
        })
    }

    /// The host id of container id `id` in `maps`, if mapped.
    fn host(maps: &[IdRange], id: u32) -> Option<u32> {
        maps.iter()
            .find(|r| id >= r.container && id - r.container < r.size)
            .map(|r| r.host + (id - r.container))
    }

    /// The host uid of container uid `id`.
    pub fn host_uid(&self, id: u32) -> Option<u32> {
        Self::host(&self.uid, id)
    }

    /// The host gid of container gid `id`.
    pub fn host_gid(&self, id: u32) -> Option<u32> {
        Self::host(&self.gid, id)
    }

    /// How many gids the container has (for ping_group_range).
    pub fn gid_count(&self) -> u64 {
        self.gid.iter().map(|r| u64::from(r.size)).sum()
    }

    /// The core's form.
    pub fn to_core(&self) -> (Vec<containerv::IdMap>, Vec<containerv::IdMap>) {
        let conv = |v: &[IdRange]| {
            v.iter()
                .map(|r| containerv::IdMap {
                    container_id: r.container,
                    host_id: r.host,
                    size: r.size,
                })
                .collect()
        };
        (conv(&self.uid), conv(&self.gid))
    }

    /// Shifts the owners of `dir` and everything under it into the range
    /// (an owner the container cannot name is left as it is and shows as
    /// nobody inside). Links are not followed; the tree is one this
    /// create just made, under the engine's root.
    pub fn shift_tree(&self, dir: &Path) -> Result<()> {
        let md = std::fs::symlink_metadata(dir).map_err(|e| Error::io("stat", dir, e))?;
        let uid = self.host_uid(md.uid()).unwrap_or(md.uid());
        let gid = self.host_gid(md.gid()).unwrap_or(md.gid());
        std::os::unix::fs::lchown(dir, Some(uid), Some(gid))
            .map_err(|e| Error::io("change the owner of", dir, e))?;
        if md.is_dir() {
            for e in std::fs::read_dir(dir).map_err(|e| Error::io("read", dir, e))? {
                let e = e.map_err(|e| Error::io("read", dir, e))?;
                self.shift_tree(&e.path())?;
            }
        }
        Ok(())
    }
}

/// At create: the engine's remap for this container (none with
/// `--userns host`), after refusing what cannot go with it. Errors name
/// the flag, with docker's wording.
pub fn apply_default(
    sec: &mut SecurityConfig,
    network: &NetworkMode,
    remap: Option<&IdMaps>,
) -> Result<()> {
    let Some(maps) = remap else {
        return Ok(());
    };
    if sec.userns == NsMode::Host {
        return Ok(());
    }
    let hint = "user namespaces are enabled (userns-remap in the engine configuration); add --userns host to run this container without one";
    if sec.privileged {
        return Err(Error::option(
            "--privileged",
            "true",
            format!("privileged mode is incompatible with user namespaces: {hint}"),
        ));
    }
    match network {
        NetworkMode::Host => {
            return Err(Error::option(
                "--network",
                "host",
                format!("cannot share the host's network namespace when {hint}"),
            ))
        }
        NetworkMode::Container => {
            return Err(Error::option(
                "--network",
                "container:",
                format!("cannot join another container's network namespace when {hint}"),
            ))
        }
        _ => {}
    }
    for (flag, mode) in [("--pid", &sec.pid), ("--ipc", &sec.ipc)] {
        match mode {
            NsMode::Host if flag == "--pid" => {
                return Err(Error::option(
                    flag,
                    "host",
                    format!("cannot share the host's PID namespace when {hint}"),
                ))
            }
            NsMode::Container(name) => {
                return Err(Error::option(
                    flag,
                    format!("container:{name}"),
                    format!(
                        "joining another container's namespace is not supported yet when {hint}"
                    ),
                ))
            }
            _ => {}
        }
    }
    sec.userns_remap = Some(maps.clone());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(uid: &str, gid: &str) -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let (u, g) = (d.path().join("subuid"), d.path().join("subgid"));
        std::fs::write(&u, uid).unwrap();
        std::fs::write(&g, gid).unwrap();
        (d, u, g)
    }

    #[test]
    fn ranges_follow_the_files() {
        let (_d, u, g) = files(
            "# comment\nother:1:5\ncvt:100000:65536\ncvt:300000:10\n",
            "cvg:200000:65536\n",
        );
        let m = IdMaps::resolve("cvt:cvg", &u, &g).unwrap();
        assert_eq!(
            m.uid,
            [
                IdRange {
                    container: 0,
                    host: 100000,
                    size: 65536
                },
                IdRange {
                    container: 65536,
                    host: 300000,
                    size: 10
                }
            ]
        );
        assert_eq!(m.host_uid(0), Some(100000));
        assert_eq!(m.host_uid(65537), Some(300001));
        assert_eq!(m.host_uid(65546), None);
        assert_eq!(m.host_gid(1000), Some(201000));
        let e = IdMaps::resolve("cvt", &u, &g).unwrap_err();
        assert!(
            e.contains("no range for \"cvt\"") && e.contains("subgid"),
            "{e}"
        );
        let e = IdMaps::resolve("default", &u, &g).unwrap_err();
        assert!(e.contains("\"containerv\""), "{e}");
        let (_d, u, g) = files("x:abc:1\n", "x:1:1\n");
        assert!(IdMaps::resolve("x", &u, &g)
            .unwrap_err()
            .contains("NAME:START:COUNT"));
        let (_d, u, g) = files("x:0:65536\n", "x:1:1\n");
        assert!(IdMaps::resolve("x", &u, &g)
            .unwrap_err()
            .contains("host root"));
    }
}
