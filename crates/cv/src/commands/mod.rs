//! One module per command group. Each turns parsed arguments into library
//! calls and prints the result.

pub mod about;
pub mod container;
pub mod image;
mod image_events;
mod image_filter;
mod image_history;
pub mod login;
mod metrics;
pub mod network;
pub mod system;
mod system_check;
mod system_df;
mod system_prune;
pub mod volume;

use std::path::PathBuf;

use containerv_engine::engine_config::EngineConfig;
use containerv_image::ImageStore;

/// Global options every command sees.
pub struct Context {
    pub image_root: Option<PathBuf>,
    /// The engine's state root (`--root`, `$CONTAINERV_ROOT`).
    pub root: Option<PathBuf>,
    /// The engine's configuration file (`--config-file`; else
    /// `$CONTAINERV_CONFIG_FILE`, else /etc/containerv/engine.toml).
    pub config_file: Option<PathBuf>,
}

impl Context {
    /// The engine's configuration file, read and checked.
    pub fn config(&self) -> anyhow::Result<EngineConfig> {
        Ok(EngineConfig::load(self.config_file.as_deref())?)
    }

    /// The engine's root (not opened nor made): `--root`,
    /// `$CONTAINERV_ROOT`, the file's `storage.root`, the default.
    pub fn engine_root_in(&self, config: &EngineConfig) -> PathBuf {
        self.root
            .clone()
            .or_else(|| std::env::var_os("CONTAINERV_ROOT").map(PathBuf::from))
            .or_else(|| config.storage.root.clone())
            .unwrap_or_else(|| PathBuf::from(containerv_engine::store::DEFAULT_ROOT))
    }

    /// The image store's root: `--image-root`, `$CONTAINERV_IMAGE_ROOT`,
    /// the file's `storage.image-root`, the default.
    fn image_root_in(&self, config: &EngineConfig) -> PathBuf {
        self.image_root
            .clone()
            .or_else(|| std::env::var_os("CONTAINERV_IMAGE_ROOT").map(PathBuf::from))
            .or_else(|| config.storage.image_root.clone())
            .unwrap_or_else(ImageStore::default_root)
    }

    pub fn images(&self) -> anyhow::Result<ImageStore> {
        let root = self.image_root_in(&self.config()?);
        Ok(ImageStore::open(root)?)
    }

    /// The container engine (state store, monitors), over the same image
    /// store as the image commands. Its root: `--root`,
    /// `$CONTAINERV_ROOT`, the file's `storage.root`, the default.
    pub fn engine(&self) -> anyhow::Result<containerv_engine::Engine> {
        let config = self.config()?;
        let root = self.engine_root_in(&config);
        let image_root = self.image_root_in(&config);
        let exe = std::env::current_exe()?;
        Ok(containerv_engine::Engine::open(&root, &image_root, &exe)?.with_config(config))
    }
}
