//! The one error type of the image crate. Every variant names the resource
//! that failed (a path, a digest, a reference, a registry URL) so a user can
//! tell what to fix without a debugger.

use std::path::PathBuf;

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors of the content store, registry client, archives and unpacker.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A filesystem operation on `path` failed.
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Content did not hash to the digest it was announced with.
    #[error("digest mismatch for {what}: expected {expected}, got {actual}")]
    DigestMismatch {
        what: String,
        expected: String,
        actual: String,
    },
    /// A string that should be a `sha256:<64 hex>` digest is not one.
    #[error("invalid digest {0:?}: expected sha256:<64 lowercase hex digits>")]
    InvalidDigest(String),
    /// An image reference (name[:tag][@digest]) could not be parsed.
    #[error("invalid image reference {reference:?}: {reason}")]
    InvalidReference { reference: String, reason: String },
    /// No image with this reference or id is in the store.
    #[error("image not found: {0}")]
    ImageNotFound(String),
    /// A blob the operation needs is missing from the store.
    #[error("blob {0} is not in the content store")]
    BlobNotFound(String),
    /// A manifest, index or config could not be understood.
    #[error("invalid {what}: {reason}")]
    InvalidContent { what: String, reason: String },
    /// An image index has no manifest for the wanted platform.
    #[error(
        "{reference}: no manifest for platform {platform} in the image index (has: {available})"
    )]
    NoMatchingPlatform {
        reference: String,
        platform: String,
        available: String,
    },
    /// The registry refused our credentials (or wanted some we lack).
    #[error("authentication to {registry} failed: {reason}")]
    Unauthorized { registry: String, reason: String },
    /// Any other registry / transport failure.
    #[error("registry {registry}: {reason}")]
    Registry { registry: String, reason: String },
    /// A layer tar entry was refused by the unpacker (hostile or unsupported).
    #[error("layer {layer}: entry {entry:?}: {reason}")]
    UnsafeEntry {
        layer: String,
        entry: String,
        reason: String,
    },
    /// An image is used (by a container or by a child reference) and the
    /// operation was not forced.
    #[error("image {image} is in use: {reason}")]
    InUse { image: String, reason: String },
    /// An archive (OCI layout, oci-archive, docker-archive) is malformed.
    #[error("archive {path}: {reason}")]
    Archive { path: PathBuf, reason: String },
}

impl Error {
    /// Shorthand for [`Error::Io`].
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// Shorthand for [`Error::InvalidContent`].
    pub fn invalid(what: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        Error::InvalidContent {
            what: what.into(),
            reason: reason.to_string(),
        }
    }
}

/// Extension to attach an operation and path to an `io::Result`.
pub(crate) trait IoContext<T> {
    fn ctx(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn ctx(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|e| Error::io(op, path, e))
    }
}

impl<T> IoContext<T> for rustix::io::Result<T> {
    fn ctx(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|e| Error::io(op, path, e.into()))
    }
}
