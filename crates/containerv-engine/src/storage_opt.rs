//! `cv run/create --storage-opt size=1g` (docker's flag): a size for the
//! container's writable layer, enforced by the kernel with a project
//! quota, as docker's overlay2 does on xfs `pquota` (and here also on
//! ext4 made with the `project` feature and mounted `prjquota`).
//!
//! Layout: a container with a size keeps its writable layer in
//! `<dir>/layer/upper` (and the core's overlay work directory beside it,
//! `layer/upper.work`) instead of `<dir>/upper`. `layer` is the directory
//! tied to the project (`FS_XFLAG_PROJINHERIT`): everything made under it,
//! the upper, the work directory the core re-creates at each start, and
//! every file the container writes, joins the project. WHY its own
//! directory: overlayfs renames from its work directory into the upper;
//! across two projects (or from a directory outside the project into one
//! inside) the filesystem refuses the rename with EXDEV, so both must sit
//! under one project directory, and the container's logs and records
//! (also in `<dir>`) must not count against the size.
//!
//! Ids come from the same allocator as volume sizes
//! (`containerv::linux::quota::limit`, one more than the largest id of
//! the engine's quota directories, under `<root>/quota.lock`); the limit
//! is set in the container's `.new-` directory before it is renamed into
//! place, and reset to none when the container is removed. A filesystem
//! that cannot enforce it refuses the flag at create, naming what it
//! lacks, with nothing made.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::record::ContainerConfig;

/// The flag, for messages.
pub const FLAG: &str = "--storage-opt";

/// The writable layer's size from `--storage-opt` values (`size=1g`;
/// docker's only key for overlay2). `None`: no size.
pub fn parse(opts: &[String]) -> Result<Option<u64>> {
    let mut size = None;
    for o in opts {
        let Some((k, v)) = o.split_once('=') else {
            return Err(Error::option(
                FLAG,
                o.as_str(),
                "must be KEY=VALUE (e.g. size=1g)",
            ));
        };
        match k.trim().to_ascii_lowercase().as_str() {
            "size" => {
                let bytes = containerv::limits::parse_size("size", v.trim())
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| {
                        Error::option(
                            FLAG,
                            o.as_str(),
                            "size is not a positive size (e.g. 1g, 512m)",
                        )
                    })?;
                size = Some(bytes);
            }
            other => {
                return Err(Error::option(
                    FLAG,
                    o.as_str(),
                    format!("unknown option {other:?} (only size is supported)"),
                ))
            }
        }
    }
    Ok(size)
}

/// `<dir>/layer`: the project directory of a container with a size.
pub fn layer_dir(dir: &Path) -> PathBuf {
    dir.join("layer")
}

/// The writable (upper) layer of container `config` in its directory
/// `dir`.
pub fn upper_dir(config: &ContainerConfig, dir: &Path) -> PathBuf {
    if config.storage_size.is_some() {
        layer_dir(dir).join("upper")
    } else {
        dir.join("upper")
    }
}

/// Bytes in the writable layer: the kernel's count of its project when
/// it has a size, else the sum of its files.
pub fn usage(config: &ContainerConfig, dir: &Path) -> u64 {
    if config.storage_size.is_some() {
        if let Some(n) = containerv::linux::quota::usage(&layer_dir(dir)) {
            return n;
        }
    }
    crate::volumes::disk_usage(&upper_dir(config, dir))
}

/// Every directory of engine `root` that holds (or may hold) a project
/// id: volume data and container layers, being made ones too.
pub fn quota_dirs(root: &Path) -> Vec<PathBuf> {
    let list = |d: PathBuf, leaf: &str| -> Vec<PathBuf> {
        std::fs::read_dir(d)
            .map(|rd| rd.flatten().map(|e| e.path().join(leaf)).collect())
            .unwrap_or_default()
    };
    let mut v = list(root.join("volumes"), "_data");
    v.extend(list(root.join("containers"), "layer"));
    v
}

/// Refuses a size where the engine's container directory cannot enforce
/// one, saying what its filesystem lacks (docker: "--storage-opt is
/// supported only for overlay over xfs with 'pquota' mount option").
/// `value`: the flag as given, for the message.
pub fn check_supported(root: &Path, value: &str) -> Result<()> {
    let containers = root.join("containers");
    containerv::linux::quota::supported(&containers).map_err(|why| {
        Error::option(
            FLAG,
            value,
            format!("the writable layer's size cannot be enforced: {why}"),
        )
    })
}

/// Makes `<staged>/layer` with a project limited to `bytes` (in the
/// container's `.new-` directory, before it is renamed into place).
pub fn limit(root: &Path, staged: &Path, bytes: u64) -> Result<()> {
    let layer = layer_dir(staged);
    std::fs::create_dir(&layer).map_err(|e| Error::io("create", &layer, e))?;
    let _q = crate::store::lock_exclusive(&root.join("quota.lock"))?;
    containerv::linux::quota::limit(&layer, bytes, &quota_dirs(root))?;
    Ok(())
}

/// Resets the limit of a container directory's layer (before the
/// directory is deleted); nothing to do without one.
pub fn release(dir: &Path) {
    let layer = layer_dir(dir);
    if layer.exists() {
        if let Err(e) = containerv::linux::quota::release(&layer) {
            tracing::warn!("releasing the quota of {}: {e}", layer.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dockers_size_and_refuses_the_rest_by_name() {
        assert_eq!(parse(&[]).unwrap(), None);
        assert_eq!(parse(&["size=1g".into()]).unwrap(), Some(1 << 30));
        assert_eq!(parse(&["Size=512M".into()]).unwrap(), Some(512 << 20));
        for (bad, says) in [
            ("size=abc", "not a positive size"),
            ("size=0", "not a positive size"),
            ("size", "KEY=VALUE"),
            ("overlay2.size=1g", "unknown option"),
        ] {
            let e = parse(&[bad.into()]).unwrap_err().to_string();
            assert!(
                e.contains("--storage-opt") && e.contains(says),
                "{bad}: {e}"
            );
        }
    }
}
