//! One module per command group. Each turns parsed arguments into library
//! calls and prints the result.

pub mod image;
pub mod system;

use std::path::PathBuf;

use containerv_image::ImageStore;

/// Global options every command sees.
pub struct Context {
    pub image_root: Option<PathBuf>,
}

impl Context {
    pub fn images(&self) -> anyhow::Result<ImageStore> {
        let root = self
            .image_root
            .clone()
            .unwrap_or_else(ImageStore::default_root);
        Ok(ImageStore::open(root)?)
    }
}
