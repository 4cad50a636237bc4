//! Resolving a `user` spec ("name", "name:group", "uid", "uid:gid") against
//! the container's own /etc/passwd and /etc/group.
//!
//! The files are read through the container's root with
//! `openat2(RESOLVE_IN_ROOT)` (see [`super::fs_copy::open_in_root`]), so a
//! container whose /etc/passwd is a symlink to a host path still only ever
//! shows its own files. Files are read with a size cap: a hostile container
//! cannot make the caller read gigabytes.
//!
//! A container on overlay layers is created before its root is mounted,
//! so its init's user is resolved against the layers themselves (the
//! writable upper directory first, then the image layers topmost first):
//! a file is taken from the highest layer that has it, and an overlay
//! whiteout there hides it, as the merged root would. A user added by a
//! later image layer (`RUN useradd app` + `USER app`) is then found.

use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::Path;

use nix::fcntl::OFlag;

use super::fs_copy::open_in_root;
use crate::error::{Error, Result};

/// Passwd or group files larger than this are refused (read truncated).
const MAX_FILE: u64 = 4 << 20;

/// The ids a process runs with once its user spec is resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResolvedUser {
    pub uid: u32,
    pub gid: u32,
    /// Groups from /etc/group that list the user by name (only when the
    /// user was given by name or found in /etc/passwd by name lookup).
    pub supplementary: Vec<u32>,
    /// The user's home directory from /etc/passwd, if it has an entry.
    pub home: Option<String>,
}

/// One /etc/passwd entry, the fields we use.
struct PasswdEntry<'a> {
    name: &'a str,
    uid: u32,
    gid: u32,
    home: &'a str,
}

fn passwd_entries(text: &str) -> impl Iterator<Item = PasswdEntry<'_>> {
    text.lines().filter_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        if f.len() < 7 || l.starts_with('#') {
            return None;
        }
        Some(PasswdEntry {
            name: f[0],
            uid: f[2].parse().ok()?,
            gid: f[3].parse().ok()?,
            home: f[5],
        })
    })
}

/// (name, gid, members) of each /etc/group line.
fn group_entries(text: &str) -> impl Iterator<Item = (&str, u32, &str)> {
    text.lines().filter_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        if f.len() < 4 || l.starts_with('#') {
            return None;
        }
        Some((f[0], f[2].parse().ok()?, f[3]))
    })
}

/// Resolve `spec` ("name[:group]", "uid[:gid]") with the container's
/// passwd and group texts. An unknown name → [`Error::UnknownUser`].
pub(crate) fn resolve_with(spec: &str, passwd: &str, group: &str) -> Result<ResolvedUser> {
    let (user, grp) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    if user.is_empty() || grp == Some("") {
        return Err(Error::UnknownUser(spec.to_string()));
    }
    let mut resolved = if let Ok(uid) = user.parse::<u32>() {
        // A numeric uid need not have an entry (gid then defaults to 0).
        match passwd_entries(passwd).find(|e| e.uid == uid) {
            Some(e) => ResolvedUser {
                uid,
                gid: e.gid,
                supplementary: Vec::new(),
                home: Some(e.home.to_string()),
            },
            None => ResolvedUser {
                uid,
                gid: 0,
                supplementary: Vec::new(),
                home: None,
            },
        }
    } else {
        let e = passwd_entries(passwd)
            .find(|e| e.name == user)
            .ok_or_else(|| Error::UnknownUser(user.to_string()))?;
        let supplementary = group_entries(group)
            .filter(|(_, _, members)| members.split(',').any(|m| m.trim() == user))
            .map(|(_, gid, _)| gid)
            .collect();
        ResolvedUser {
            uid: e.uid,
            gid: e.gid,
            supplementary,
            home: Some(e.home.to_string()),
        }
    };
    if let Some(g) = grp {
        resolved.gid = match g.parse::<u32>() {
            Ok(gid) => gid,
            Err(_) => group_entries(group)
                .find(|(name, _, _)| *name == g)
                .map(|(_, gid, _)| gid)
                .ok_or_else(|| Error::UnknownUser(g.to_string()))?,
        };
    }
    Ok(resolved)
}

/// Read `path` from the highest of `layers` (topmost first) that has it,
/// each layer opened as its own root; an overlay whiteout (a character
/// device 0:0) in a layer hides the file of the layers below. One layer
/// is a plain root.
pub(crate) fn read_in_layers(layers: &[OwnedFd], path: &str) -> Result<String> {
    for layer in layers {
        let fd = match open_in_root(layer, Path::new(path), OFlag::O_RDONLY, 0) {
            Ok(fd) => fd,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
            // Opening a whiteout device fails on this host (nodev, or no
            // such driver): look at what it is before giving up.
            Err(_) if is_whiteout(layer, path) => return Ok(String::new()),
            Err(e) => return Err(Error::io("open in container", path, e)),
        };
        let st = nix::sys::stat::fstat(&fd).map_err(|e| Error::io("stat", path, e.into()))?;
        if st.st_mode & libc::S_IFMT == libc::S_IFCHR && st.st_rdev == 0 {
            return Ok(String::new());
        }
        let mut text = String::new();
        std::fs::File::from(fd)
            .take(MAX_FILE)
            .read_to_string(&mut text)
            .map_err(|e| Error::io("read in container", path, e))?;
        return Ok(text);
    }
    Ok(String::new())
}

/// Whether `path` in `layer` is an overlay whiteout (checked with an
/// `O_PATH` open, which never opens the device).
fn is_whiteout(layer: &OwnedFd, path: &str) -> bool {
    open_in_root(layer, Path::new(path), OFlag::O_PATH, 0)
        .ok()
        .and_then(|fd| nix::sys::stat::fstat(&fd).ok())
        .is_some_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFCHR && st.st_rdev == 0)
}

/// Resolve `spec` against /etc/passwd and /etc/group of the container
/// (`layers`: its root, or its overlay layers topmost first).
pub(crate) fn resolve(layers: &[OwnedFd], spec: &str) -> Result<ResolvedUser> {
    let passwd = read_in_layers(layers, "etc/passwd")?;
    let group = read_in_layers(layers, "etc/group")?;
    resolve_with(spec, &passwd, &group)
}

/// The home directory of numeric `uid` from the container's /etc/passwd.
pub(crate) fn home_of(layers: &[OwnedFd], uid: u32) -> Option<String> {
    let passwd = read_in_layers(layers, "etc/passwd").ok()?;
    let home = passwd_entries(&passwd).find(|e| e.uid == uid)?.home;
    Some(home.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n";
    const GROUP: &str = "root:x:0:\nwheel:x:10:app,bob\napp:x:1000:\nstaff:x:50:\n";

    #[test]
    fn names_and_numbers() {
        let r = resolve_with("app", PASSWD, GROUP).unwrap();
        assert_eq!(
            (r.uid, r.gid, r.supplementary.clone()),
            (1000, 1000, vec![10])
        );
        assert_eq!(r.home.as_deref(), Some("/home/app"));
        let r = resolve_with("app:staff", PASSWD, GROUP).unwrap();
        assert_eq!((r.uid, r.gid), (1000, 50));
        let r = resolve_with("1000:7", PASSWD, GROUP).unwrap();
        assert_eq!((r.uid, r.gid), (1000, 7));
        let r = resolve_with("4242", PASSWD, GROUP).unwrap();
        assert_eq!((r.uid, r.gid, r.home), (4242, 0, None));
    }

    #[test]
    fn unknown_names_are_named() {
        let e = resolve_with("nosuch", PASSWD, GROUP).unwrap_err();
        assert!(matches!(&e, Error::UnknownUser(n) if n == "nosuch"), "{e}");
        let e = resolve_with("app:nogrp", PASSWD, GROUP).unwrap_err();
        assert!(matches!(&e, Error::UnknownUser(n) if n == "nogrp"), "{e}");
        assert!(resolve_with("", PASSWD, GROUP).is_err());
        assert!(resolve_with("app:", PASSWD, GROUP).is_err());
        assert!(resolve_with("root", "", "").is_err());
    }

    #[test]
    fn layers_topmost_first_and_whiteouts_hide() {
        let top = tempfile::tempdir().unwrap();
        let low = tempfile::tempdir().unwrap();
        for d in [&top, &low] {
            std::fs::create_dir(d.path().join("etc")).unwrap();
        }
        std::fs::write(low.path().join("etc/passwd"), "root:x:0:0::/root:/bin/sh\n").unwrap();
        std::fs::write(low.path().join("etc/group"), "root:x:0:\n").unwrap();
        std::fs::write(top.path().join("etc/passwd"), PASSWD).unwrap();
        let fds = |ds: &[&tempfile::TempDir]| -> Vec<OwnedFd> {
            ds.iter()
                .map(|d| super::super::fs_copy::open_root(d.path()).unwrap())
                .collect()
        };
        // The top layer's passwd wins; group comes from below.
        let layers = fds(&[&top, &low]);
        let r = resolve(&layers, "app").unwrap();
        assert_eq!((r.uid, r.gid), (1000, 1000));
        assert_eq!(read_in_layers(&layers, "etc/group").unwrap(), "root:x:0:\n");
        // Only the lower layer: no app.
        assert!(resolve(&fds(&[&low]), "app").is_err());
        // A whiteout (char device 0:0) in the top layer hides the group
        // file below, as overlayfs would (mknod: the tests run as root).
        nix::sys::stat::mknod(
            &top.path().join("etc/group"),
            nix::sys::stat::SFlag::S_IFCHR,
            nix::sys::stat::Mode::empty(),
            0,
        )
        .unwrap();
        assert_eq!(read_in_layers(&layers, "etc/group").unwrap(), "");
    }
}
