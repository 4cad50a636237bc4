//! OCI images for containerv: a content store that verifies every blob as
//! it is written, a registry client (pull and push, OCI and Docker v2),
//! import/export of OCI layouts, oci-archive and docker-archive tarballs,
//! a layer unpacker that hostile layers cannot escape, and garbage
//! collection. The core `containerv` crate knows nothing of images: the
//! engine asks [`ImageStore::rootfs_layers`] for the unpacked layer
//! directories (topmost first) and passes them as overlay lower dirs, and
//! [`ImageStore::run_config`] for the image's Entrypoint, Cmd, Env,
//! WorkingDir and User.

pub mod archive;
pub mod digest;
pub mod error;
pub mod gc;
mod history;
pub use history::HistoryRow;
pub mod spec;
pub mod store;
pub mod unpack;

pub use digest::Digest;
pub use error::{Error, Result};
pub mod image;
pub mod reference;
mod reference_parse;
pub mod registry;

pub use gc::{DiskUsage, PruneReport};
pub use image::{ImageDetails, ImageStore, ImageSummary};
pub use reference::ImageRef;
pub use spec::RunConfig;
pub use unpack::UnpackLimits;
