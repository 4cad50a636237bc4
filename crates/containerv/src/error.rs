//! One error type for the whole library.
//!
//! Every variant names what was wrong (the id, the option, the path, the
//! setup step) and carries the OS error where there is one, so a caller can
//! print it as it is and a user can act on it.

use std::io;
use std::path::PathBuf;

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in containerv.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A container id that is empty, too long, or has characters outside
    /// `[A-Za-z0-9_.-]` (or starts with `.` / `-`).
    #[error("invalid container id {id:?}: {reason}")]
    InvalidId { id: String, reason: &'static str },

    /// `create` with an id that is already in use under this runtime root.
    #[error("container {0:?} already exists")]
    AlreadyExists(String),

    /// No container with this id under this runtime root.
    #[error("container {0:?} does not exist")]
    NotFound(String),

    /// A builder option or a limit string that cannot be used, e.g.
    /// `memory "abc": not a size`. Raised before anything is created.
    #[error("invalid {option} {value:?}: {reason}")]
    InvalidOption {
        option: &'static str,
        value: String,
        reason: String,
    },

    /// An OCI spec that cannot be run (missing root, bad mount, unknown
    /// capability, ...). Raised before anything is created.
    #[error("invalid spec: {0}")]
    InvalidSpec(String),

    /// The operation does not fit the container's current status.
    #[error("container {id:?} is {status}: cannot {operation}")]
    InvalidState {
        id: String,
        status: String,
        operation: &'static str,
    },

    /// A file operation on the host failed.
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// A system call failed outside any one path (clone, setns, kill, ...).
    #[error("{what}: {source}")]
    Sys {
        what: String,
        #[source]
        source: io::Error,
    },

    /// A step of the container's set-up failed inside the new namespaces
    /// (reported back by the child): `step` names it, e.g.
    /// `mount proc on /proc` or `exec "/bin/nosuch"`.
    #[error("container set-up failed at {step}: {source}")]
    Setup {
        step: String,
        #[source]
        source: io::Error,
    },

    /// A `user` that the container's /etc/passwd or /etc/group does not know.
    #[error("unknown user or group {0:?} in the container")]
    UnknownUser(String),

    /// The cgroup manager failed (placement, a limit the kernel refused, ...).
    #[error("cgroup {path}: {message}")]
    Cgroup { path: String, message: String },

    /// A feature this platform or this kernel does not have.
    #[error("not supported: {0}")]
    Unsupported(String),
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

    /// Shorthand for [`Error::Sys`] from the last OS error or a given one.
    pub fn sys(what: impl Into<String>, source: io::Error) -> Self {
        Error::Sys {
            what: what.into(),
            source,
        }
    }

    /// Shorthand for [`Error::InvalidOption`].
    pub fn option(
        option: &'static str,
        value: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Error::InvalidOption {
            option,
            value: value.into(),
            reason: reason.into(),
        }
    }
}
