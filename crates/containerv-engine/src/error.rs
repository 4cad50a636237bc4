//! The engine's error type.
//!
//! Every variant names what was wrong (the container, the flag, the file)
//! so `cv` can print it as it is; errors from the core library pass through
//! unchanged inside [`Error::Core`].

use std::io;
use std::path::PathBuf;

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A flag or option value that cannot be used (raised before anything
    /// is created), e.g. `--restart "sometimes": unknown policy`.
    #[error("invalid {option} {value:?}: {reason}")]
    InvalidOption {
        option: String,
        value: String,
        reason: String,
    },

    /// No container with this name or id (prefix).
    #[error("no such container: {0}")]
    NoSuchContainer(String),

    /// An id prefix that matches more than one container.
    #[error("container reference {0:?} is ambiguous: it matches several containers")]
    Ambiguous(String),

    /// No volume with this name.
    #[error("no such volume: {0}")]
    NoSuchVolume(String),

    /// No network with this name or id.
    #[error("network {0} not found")]
    NoSuchNetwork(String),

    /// `volume rm` of a volume that containers mount.
    #[error("volume {name} is in use by container(s) {containers}: remove them first")]
    VolumeInUse { name: String, containers: String },

    /// `--name` already taken.
    #[error("the container name {name:?} is already in use by container {id}")]
    NameInUse { name: String, id: String },

    /// The operation does not fit the container's status.
    #[error("container {id} is {status}: cannot {operation}")]
    InvalidState {
        id: String,
        status: String,
        operation: String,
    },

    /// The container could not be started (the reason comes from its
    /// monitor, e.g. the command was not found).
    #[error("container {id} could not start: {reason}")]
    StartFailed { id: String, reason: String },

    /// A flag whose value the core library refused (its message says why).
    #[error("{flag}: {message}")]
    Flag { flag: String, message: String },

    /// A file operation failed.
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// The engine's configuration file is bad (the reason names the key
    /// and the value).
    #[error("engine configuration {path}: {reason}")]
    Config { path: PathBuf, reason: String },

    /// A record on disk that cannot be parsed.
    #[error("corrupt record {path}: {reason}")]
    Corrupt { path: PathBuf, reason: String },

    /// An in-use check could not read every container record: the thing
    /// is kept (fail safe) until the damaged record is removed.
    #[error("cannot tell whether {what} is in use, so it is kept: {reason}")]
    InUseUnknown { what: String, reason: String },

    /// A system call failed outside any one path.
    #[error("{what}: {source}")]
    Sys {
        what: String,
        #[source]
        source: io::Error,
    },

    /// The core library failed.
    #[error(transparent)]
    Core(#[from] containerv::Error),
}

impl Error {
    /// Shorthand for [`Error::Io`].
    pub fn io(what: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            what,
            path: path.into(),
            source,
        }
    }

    /// Shorthand for [`Error::InvalidOption`].
    pub fn option(
        option: impl Into<String>,
        value: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Error::InvalidOption {
            option: option.into(),
            value: value.into(),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`Error::Sys`].
    pub fn sys(what: impl Into<String>, source: io::Error) -> Self {
        Error::Sys {
            what: what.into(),
            source,
        }
    }
}
