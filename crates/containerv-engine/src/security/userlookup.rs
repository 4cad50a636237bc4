//! Users and groups looked up in the image's own files, for the two
//! decisions the engine makes before the runtime resolves the user: does
//! the container run as uid 0 (only then does it get effective
//! capabilities, as in docker) and which gids `--group-add NAME` means.
//!
//! The files are read from the container's writable layer, then the image
//! layers topmost first; only regular files are read (a symlinked
//! /etc/passwd could name a host file), with a size cap. A whiteout or a
//! non-file stops the search: the container has no such file.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

const MAX_FILE: u64 = 4 << 20;

/// The container's layers, topmost first.
pub(super) struct Roots {
    dirs: Vec<PathBuf>,
}

impl Roots {
    pub(super) fn new(upper: &Path, layers: &[PathBuf]) -> Roots {
        let mut dirs = vec![upper.to_path_buf()];
        dirs.extend(layers.iter().rev().cloned());
        Roots { dirs }
    }

    /// `rel` (e.g. "etc/passwd") as the container sees it, if a regular file.
    fn read(&self, rel: &str) -> Option<String> {
        for d in &self.dirs {
            let p = d.join(rel);
            match std::fs::symlink_metadata(&p) {
                Ok(md) if md.is_file() => {
                    let mut s = String::new();
                    let f = std::fs::File::open(&p).ok()?;
                    f.take(MAX_FILE).read_to_string(&mut s).ok()?;
                    return Some(s);
                }
                Ok(_) => return None,
                Err(_) => continue,
            }
        }
        None
    }

    /// Whether `user` ("name|uid[:group|gid]", None = the image's root)
    /// is uid 0. An unknown name is not root (the runtime refuses it).
    pub(super) fn is_root(&self, user: Option<&str>) -> bool {
        let Some(u) = user else { return true };
        let name = u.split(':').next().unwrap_or("");
        if name.is_empty() {
            return true;
        }
        if let Ok(uid) = name.parse::<u32>() {
            return uid == 0;
        }
        self.read("etc/passwd").is_some_and(|text| {
            text.lines().any(|l| {
                let f: Vec<&str> = l.split(':').collect();
                f.len() >= 3 && f[0] == name && f[2] == "0"
            })
        })
    }

    /// gids of `--group-add` names and numbers.
    pub(super) fn group_ids(&self, groups: &[String]) -> Result<Vec<u32>> {
        let text = self.read("etc/group").unwrap_or_default();
        groups
            .iter()
            .map(|g| {
                if let Ok(n) = g.parse::<u32>() {
                    return Ok(n);
                }
                text.lines()
                    .find_map(|l| {
                        let f: Vec<&str> = l.split(':').collect();
                        (f.len() >= 3 && f[0] == g).then(|| f[2].parse::<u32>().ok())?
                    })
                    .ok_or_else(|| {
                        Error::option(
                            "--group-add",
                            g.as_str(),
                            "no such group in the image's /etc/group",
                        )
                    })
            })
            .collect()
    }
}

/// Syntax of `--group-add` values (a name or a gid).
pub(super) fn check_groups(groups: &[String]) -> Result<Vec<String>> {
    for g in groups {
        if g.is_empty() || g.contains(|c: char| c == ':' || c.is_whitespace() || c == '/') {
            return Err(Error::option(
                "--group-add",
                g.as_str(),
                "not a group name or gid",
            ));
        }
    }
    Ok(groups.to_vec())
}
