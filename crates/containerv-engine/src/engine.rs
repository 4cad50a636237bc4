//! The engine as `cv` uses it: where things live (the state store, the
//! image store, the core runtime's root) and the container lifecycle on
//! top of them: create, start (launching the monitor), stop, kill, rm,
//! pause, update… Each call works directly on the records under their
//! lock; there is no daemon to ask.

use std::path::{Path, PathBuf};

use containerv::Runtime;
use containerv_image::ImageStore;

use crate::engine_config::EngineConfig;
use crate::error::{Error, Result};
use crate::monitor::launch::{launch, monitor_log, Launched};
use crate::options::{to_config, ImageInfo, RunOptions};
use crate::record::Status;
use crate::store::Store;

/// Where an engine keeps its state.
#[derive(Debug, Clone)]
pub struct Engine {
    pub store: Store,
    image_root: PathBuf,
    runtime_root: PathBuf,
    monitor_exe: PathBuf,
    /// The engine's configuration file (defaults for what is made).
    pub config: EngineConfig,
}

impl Engine {
    /// Opens the engine at `root` (state store; the core runtime's
    /// containers under `root/runtime`) with images at `image_root`.
    /// `monitor_exe` is the program that runs `__monitor` (the `cv`
    /// binary itself).
    pub fn open(root: &Path, image_root: &Path, monitor_exe: &Path) -> Result<Self> {
        let store = Store::open(root)?;
        let runtime_root = root.join("runtime");
        std::fs::create_dir_all(&runtime_root)
            .map_err(|e| Error::io("create", &runtime_root, e))?;
        crate::boot::reconcile_runtime(&runtime_root);
        Ok(Engine {
            store,
            image_root: image_root.to_path_buf(),
            runtime_root,
            monitor_exe: monitor_exe.to_path_buf(),
            config: EngineConfig::default(),
        })
    }

    /// The engine with `config`'s defaults (see [`crate::engine_config`]).
    pub fn with_config(mut self, config: EngineConfig) -> Self {
        self.config = config;
        self
    }

    /// The image store's directory.
    pub fn image_root(&self) -> &Path {
        &self.image_root
    }

    pub fn images(&self) -> Result<ImageStore> {
        ImageStore::open(&self.image_root).map_err(image_err)
    }

    pub fn runtime(&self) -> Result<Runtime> {
        Ok(Runtime::new(&self.runtime_root)?)
    }

    pub fn runtime_root(&self) -> &Path {
        &self.runtime_root
    }

    /// The core container of a running engine container.
    pub fn core(&self, id: &str) -> Result<containerv::Container> {
        let st = self.store.load_state(id)?.observed();
        if !st.status.is_active() || st.pid == 0 {
            return Err(Error::InvalidState {
                id: id.to_string(),
                status: st.status.to_string(),
                operation: "reach its processes (it is not running)".into(),
            });
        }
        Ok(self.runtime()?.open(id)?)
    }

    /// The core container for `exec`: as [`Engine::core`], and refused at
    /// once for a paused container (a process joining a frozen cgroup
    /// would hang until someone unpauses; docker refuses too).
    pub fn core_for_exec(&self, id: &str) -> Result<containerv::Container> {
        let st = self.store.load_state(id)?.observed();
        if st.status == Status::Paused {
            return Err(Error::InvalidState {
                id: id.to_string(),
                status: st.status.to_string(),
                operation: "exec in it (unpause the container before exec)".into(),
            });
        }
        self.core(id)
    }

    /// The image a new container uses: its layers and run config. `None`
    /// or the built-in name: the built-in image (made if missing).
    pub fn image_info(&self, image: Option<&str>) -> Result<ImageInfo> {
        let images = self.images()?;
        let reference = match image {
            None => crate::builtin::ensure(&images)?.to_string(),
            Some(i) if crate::builtin::is_builtin(i) => {
                crate::builtin::ensure(&images)?.to_string()
            }
            Some(i) => i.to_string(),
        };
        // The manifest digest, from the reference index by the normalised
        // key (the image crate's hand-written parser: microseconds, the
        // one normalisation); every later call uses the digest.
        let digest = match containerv_image::ImageRef::parse(&reference)
            .ok()
            .map(|r| r.key())
            .and_then(|k| images.meta().ok()?.refs.get(&k).cloned())
        {
            Some(d) => d,
            None => images
                .resolve(&reference)
                .map_err(|e| {
                    Error::option(
                        "image",
                        reference.as_str(),
                        format!("{e} (pull or load it first)"),
                    )
                })?
                .to_string(),
        };
        let details = images.inspect(&digest).map_err(image_err)?;
        let layers = images.rootfs_layers(&digest).map_err(image_err)?;
        let run = images.run_config(&digest).map_err(image_err)?;
        Ok(ImageInfo {
            reference,
            id: details.id,
            digest,
            layers,
            run,
        })
    }

    /// `cv create`: validates every flag, builds the spec once (so a bad
    /// limit fails now), records the container. Nothing runs yet.
    pub fn create(&self, opts: &RunOptions) -> Result<String> {
        // The engine file's `[log]` defaults, merged as dockerd does.
        let (log_driver, log_opts) = self
            .config
            .log
            .apply(opts.log_driver.as_deref(), &opts.log_opts);
        let merged = RunOptions {
            log_driver,
            log_opts,
            ..opts.clone()
        };
        let opts = &merged;
        let image = self.image_info(opts.image.as_deref())?;
        let digest = image.digest.clone();
        // An unnamed container gets a random name; on a clash, another.
        let mut tries = 0;
        loop {
            let id = Store::new_id()?;
            let mut config = to_config(opts, &id, image.clone())?;
            crate::network::check_exists(self.store.root(), &config)?;
            // The file's `userns-remap`, fixed in the record (dockerd's).
            crate::security::userns::apply_default(
                &mut config.security,
                &config.network,
                self.config.security.remap.as_ref(),
            )?;
            config.security.resolve_joins(&self.store)?;
            config.image_root = Some(self.image_root.clone());
            if opts.name.is_none() && tries >= 8 {
                config.name = format!("{}_{}", config.name, &id[..6]);
            }
            // Built in `.new-<id>` (locked) and renamed into place at the
            // end: a `cv` killed at any point leaves nothing visible that
            // `cv system check` cannot finish (and the next create
            // finishes what killed creates and removals left).
            if tries == 0 {
                self.finish_unfinished();
            }
            // A size the filesystem cannot enforce: refused, nothing made.
            if config.storage_size.is_some() {
                crate::storage_opt::check_supported(
                    self.store.root(),
                    &opts.storage_opts.join(","),
                )?;
            }
            let staged = self.store.stage(&id)?;
            let tmp = staged.path().join("check");
            // Checked before any volume exists: their mount points stand
            // in for their data directories.
            let mut check = config.clone();
            for v in check.volumes.iter_mut() {
                v.source = self.store.root().to_path_buf();
            }
            // So do those of `-v` binds that docker makes (below).
            for b in check.binds.iter_mut() {
                if std::fs::symlink_metadata(&b.source).is_err() {
                    b.source = self.store.root().to_path_buf();
                }
            }
            let checked = crate::spec::build(&check, &tmp).map(|_| ());
            let _ = std::fs::remove_dir_all(&tmp);
            checked?;
            // Every flag is valid: the writable layer's project (in the
            // staged directory: gone with it if anything below fails).
            if let Some(bytes) = config.storage_size {
                crate::storage_opt::limit(self.store.root(), staged.path(), bytes)?;
            }
            // Now the missing `-v` host directories.
            crate::volumes::mounts::make_missing_sources(&config.binds)?;
            // Held until rm: image prune keeps what a container uses. A
            // `--rm` container holds it for this boot only (no fsync; its
            // records skip it too, see `store`).
            let images = self.images()?;
            if config.auto_remove {
                images.hold_for_boot(&digest, &id).map_err(image_err)?;
            } else {
                images.hold(&digest, &id).map_err(image_err)?;
            }
            // Volumes made (and copied up) under the volumes lock, held
            // until the record names them.
            let volumes = match self.prepare_volumes(&mut config) {
                Ok(v) => v,
                Err(e) => {
                    let _ = images.release(&id);
                    return Err(e);
                }
            };
            match staged.commit(&config) {
                Err(Error::NameInUse { .. }) if opts.name.is_none() && tries < 10 => {
                    volumes.undo();
                    let _ = images.release(&id);
                    tries += 1;
                    continue;
                }
                Err(e) => {
                    volumes.undo();
                    let _ = images.release(&id);
                    return Err(e);
                }
                Ok(()) => {}
            }
            drop(volumes);
            crate::events::container(self.store.root(), &config, "create", &[]);
            return Ok(id);
        }
    }

    /// `cv start`: launches the monitor and waits until the container runs
    /// (or returns why it could not). A running container is left alone.
    pub fn start(&self, reference: &str, attach_stdin: bool) -> Result<Option<Launched>> {
        let id = self.store.resolve(reference)?;
        let dir = self.store.dir(&id);
        // A monitor that holds its lock is either starting the container
        // (another `cv start` launched it: its half-made core container
        // must not be taken for a leftover) or ending (it recorded the
        // exit and is about to leave): wait a moment for either.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
        let (g, mut st) = loop {
            let g = self.store.lock(&id)?;
            let st = self.store.load_state(&id)?;
            if st.observed().status.is_active() {
                return Ok(None);
            }
            if let Some(monitor_lock) = crate::store::try_lock(&dir.join("monitor.lock"))? {
                // A monitor killed earlier may have left the core container.
                self.cleanup_core_unmonitored(&id);
                drop(monitor_lock);
                if st.status.is_active() {
                    // Its run ended unseen: docker's end of it (disconnect,
                    // unmount, die) before the new run begins.
                    if let Ok(config) = self.store.load_config(&id) {
                        let code = st.observed().exit_code;
                        crate::events::run_end::complete(self.store.root(), &config, code);
                    }
                }
                break (g, st);
            }
            drop(g);
            if std::time::Instant::now() >= deadline {
                return Ok(None);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        st.status = Status::Created;
        st.manually_stopped = false;
        st.error.clear();
        self.store.save_state(&id, &st, &g)?;
        self.store.clear_stop_request(&id);
        drop(g);
        let mut l = launch(
            &self.monitor_exe,
            self.store.root(),
            &self.runtime_root,
            &id,
            &monitor_log(&dir),
            attach_stdin,
            false,
        )?;
        l.wait_ready(&id)?;
        Ok(Some(l))
    }

    /// Starts a replacement monitor for container `id`, whose init runs
    /// without one (its monitor was killed): it watches the init, records
    /// its end and applies the restart policy (see `monitor/adopt.rs`).
    pub fn adopt(&self, id: &str) -> Result<()> {
        let dir = self.store.dir(id);
        let mut l = launch(
            &self.monitor_exe,
            self.store.root(),
            &self.runtime_root,
            id,
            &monitor_log(&dir),
            false,
            true,
        )?;
        l.wait_ready(id)
    }

    /// True if a container (in any state) uses `image` (a reference, an
    /// image id or its prefix): the `in_use` callback for image prune/rmi.
    /// A record that cannot be read (or a store that cannot be listed)
    /// counts as a use: fail safe.
    pub fn image_in_use(&self, image: &str) -> bool {
        let id = image.strip_prefix("sha256:").unwrap_or(image);
        let Ok(scan) = self.store.scan() else {
            return true;
        };
        if scan.require_configs("the image").is_err() {
            return true;
        }
        let used = scan.configs().any(|c| {
            c.image == image
                || (id.len() >= 4
                    && c.image_id
                        .strip_prefix("sha256:")
                        .unwrap_or(&c.image_id)
                        .starts_with(id))
        });
        used
    }

    /// Destroys a core container left behind (by a killed monitor). A
    /// core state that cannot be opened any more (its cgroups went with
    /// a reboot) is removed once nothing of it runs, so a new start does
    /// not fail with "already exists".
    pub(crate) fn cleanup_core(&self, id: &str) {
        let Ok(rt) = self.runtime() else { return };
        match rt.open(id) {
            Ok(c) => {
                let _ = c.destroy();
            }
            // Only with no monitor alive: a monitor may be creating it
            // right now (its state is not complete yet).
            Err(_) => {
                let lock = self.store.dir(id).join("monitor.lock");
                if let Ok(Some(_held)) = crate::store::try_lock(&lock) {
                    crate::check::remove_stale_core(&self.runtime_root, id);
                }
            }
        }
        // Its lease (a killed monitor's container) goes with it, and the
        // volumes only it kept mounted.
        crate::network::release(self.store.root(), id);
        crate::volumes::driver::release(&self.store, id);
    }

    /// [`Engine::cleanup_core`] for a caller that holds the container's
    /// `monitor.lock` (so no monitor is making the core container).
    fn cleanup_core_unmonitored(&self, id: &str) {
        let Ok(rt) = self.runtime() else { return };
        match rt.open(id) {
            Ok(c) => {
                let _ = c.destroy();
            }
            Err(_) => crate::check::remove_stale_core(&self.runtime_root, id),
        }
        // Its lease (a killed monitor's container) goes with it, and the
        // volumes only it kept mounted.
        crate::network::release(self.store.root(), id);
        crate::volumes::driver::release(&self.store, id);
    }
}

fn image_err(e: containerv_image::Error) -> Error {
    Error::Flag {
        flag: "image".into(),
        message: e.to_string(),
    }
}
