//! A container's root filesystem for `cv cp`, whatever its state, as
//! docker allows: a running (or paused) container's root is its init's
//! `/proc/PID/root`; a created or exited one is mounted here for the copy
//! alone: its overlay (the writable upper layer over the image layers, or
//! all of them read-only for a copy out) on a directory of its own, in a
//! private mount namespace of a thread made for it. The mount never shows
//! in the host's table and goes with the thread, whatever happens. The
//! container's lock is held meanwhile, so it cannot start on the same
//! upper directory.
//!
//! The copy itself stays the core's (`upload_into_root` /
//! `download_from_root`): paths resolved with `openat2(RESOLVE_IN_ROOT)`,
//! so a symlink in the container never leads out of it.

use std::path::{Path, PathBuf};

use nix::mount::{mount, MsFlags};
use nix::sched::{unshare, CloneFlags};

use crate::engine::Engine;
use crate::error::{Error, Result};

impl Engine {
    /// Runs `f` with the root of container `reference` (see the module
    /// docs); `writable`: the copy goes into the container.
    pub fn with_root<T: Send>(
        &self,
        reference: &str,
        writable: bool,
        f: impl FnOnce(&Path) -> Result<T> + Send,
    ) -> Result<T> {
        let id = self.store.resolve(reference)?;
        let g = self.store.lock(&id)?;
        let st = self.store.load_state(&id)?.observed();
        if st.status.is_active() && st.pid > 0 {
            drop(g);
            let c = self.core(&id)?;
            let root = PathBuf::from(format!("/proc/{}/root", c.pid()));
            return f(&root);
        }
        let config = self.store.load_config(&id)?;
        let dir = self.store.dir(&id);
        let upper = crate::storage_opt::upper_dir(&config, &dir);
        // The core's work directory for this upper (kept beside it).
        let work = PathBuf::from(format!("{}.work", upper.display()));
        let mountpoint = dir.join(format!("cp-{}", std::process::id()));
        for d in [&upper, &work, &mountpoint] {
            std::fs::create_dir_all(d).map_err(|e| Error::io("create", d, e))?;
        }
        // `layers` is lowest first; overlayfs wants the topmost first.
        let mut lower: Vec<String> = config
            .layers
            .iter()
            .rev()
            .map(|p| p.display().to_string())
            .collect();
        let (data, flags) = if writable {
            (
                format!(
                    "lowerdir={},upperdir={},workdir={}",
                    lower.join(":"),
                    upper.display(),
                    work.display()
                ),
                MsFlags::empty(),
            )
        } else {
            lower.insert(0, upper.display().to_string());
            (format!("lowerdir={}", lower.join(":")), MsFlags::MS_RDONLY)
        };
        let mp = mountpoint.clone();
        let _g = g;
        let r = std::thread::scope(|s| {
            s.spawn(move || -> Result<T> {
                // This thread's own mount namespace: whatever is mounted
                // here is gone when the thread ends.
                unshare(CloneFlags::CLONE_NEWNS)
                    .map_err(|e| Error::sys("unshare a mount namespace for cp", e.into()))?;
                mount(
                    None::<&str>,
                    "/",
                    None::<&str>,
                    MsFlags::MS_REC | MsFlags::MS_PRIVATE,
                    None::<&str>,
                )
                .map_err(|e| Error::sys("make the cp mount namespace private", e.into()))?;
                mount(
                    Some("overlay"),
                    &mp,
                    Some("overlay"),
                    flags,
                    Some(data.as_str()),
                )
                .map_err(|e| Error::sys("mount the container's root for cp", e.into()))?;
                f(&mp)
            })
            .join()
            .unwrap_or_else(|_| {
                Err(Error::sys(
                    "cp",
                    std::io::Error::other("copy thread panicked"),
                ))
            })
        });
        let _ = std::fs::remove_dir(&mountpoint);
        r
    }
}
