//! Options and results for processes started in a container.

use std::path::PathBuf;

/// Where one of a new process's standard streams goes.
#[derive(Debug, Default)]
pub enum Stdio {
    /// The caller's own stream.
    #[default]
    Inherit,
    /// `/dev/null`.
    Null,
    /// A pipe; the caller's end is on [`crate::Process`].
    Pipe,
    /// A host file, opened (created, appended to) by the library.
    File(PathBuf),
    /// A descriptor the caller already has; the library takes it.
    #[cfg(unix)]
    Fd(std::os::fd::OwnedFd),
}

/// Who a process runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum User {
    /// Numeric ids.
    Id {
        uid: u32,
        gid: u32,
        additional_gids: Vec<u32>,
    },
    /// `name`, `name:group`, `uid` or `uid:gid`, resolved against the
    /// container's own /etc/passwd and /etc/group.
    Name(String),
}

/// What to run in a container with `spawn`.
#[derive(Debug, Default)]
pub struct ProcessOptions {
    /// argv; `args[0]` is looked up in the container's PATH when it has no `/`.
    pub args: Vec<String>,
    /// `KEY=VALUE` entries; when empty, the container's own environment.
    pub env: Vec<String>,
    /// Working directory inside the container; default `/`.
    pub cwd: Option<PathBuf>,
    /// User; default the container's process user (root).
    pub user: Option<User>,
    pub stdin: Stdio,
    pub stdout: Stdio,
    pub stderr: Stdio,
    /// When true, `spawn` waits for the process and returns it exited.
    pub wait: bool,
}

impl ProcessOptions {
    /// A process running `args` with everything else at its default.
    pub fn new<I, S>(args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ProcessOptions {
            args: args.into_iter().map(Into::into).collect(),
            ..Default::default()
        }
    }
}

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// It called exit with this code.
    Exited(i32),
    /// A signal (its number) ended it.
    Signaled(i32),
}

impl ExitStatus {
    /// The shell's view: the code, or 128 + the signal number.
    pub fn code(&self) -> i32 {
        match *self {
            ExitStatus::Exited(c) => c,
            ExitStatus::Signaled(s) => 128 + s,
        }
    }

    /// True for `Exited(0)`.
    pub fn success(&self) -> bool {
        *self == ExitStatus::Exited(0)
    }
}

impl std::fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExitStatus::Exited(c) => write!(f, "exited with code {c}"),
            ExitStatus::Signaled(s) => write!(f, "killed by signal {s}"),
        }
    }
}
