//! `cv`'s exit status, as docker's CLI sets it: 125 when `cv` itself
//! fails (a bad flag, no such image, the engine refused), 126 when the
//! container's command cannot be invoked, 127 when it is not found,
//! otherwise the container's own code (`run` exits with it directly).
//!
//! The container's failure to exec reaches `cv` as text (the monitor is
//! another process and reports it as a message), so, like docker's
//! `runStartContainerErr`, the classes are recognised in the message, and
//! only in the runtime's exec step ("set-up failed at exec …").

/// cv's own failure.
pub const CV_FAILED: i32 = 125;
/// The command was found but cannot be run (permission, a directory).
pub const CANNOT_INVOKE: i32 = 126;
/// The command was not found.
pub const NOT_FOUND: i32 = 127;

/// A failure that has docker's own status, printed as it is (docker's
/// `cli.StatusError`): e.g. 64 for `events --format` with a template that
/// does not parse or names a field an event does not have.
#[derive(Debug)]
pub struct StatusError {
    pub code: i32,
    pub message: String,
}

impl std::fmt::Display for StatusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StatusError {}

/// The command whose failure is classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `run`: 125, or 126/127 for the container's command.
    Run,
    /// `create`: 125.
    Create,
    /// Anything else: 1.
    Other,
}

/// The exit status for a failed command of `kind` with message `msg`.
pub fn code(kind: Kind, msg: &str) -> i32 {
    match kind {
        Kind::Other => 1,
        Kind::Create => CV_FAILED,
        Kind::Run => exec_failure(msg).unwrap_or(CV_FAILED),
    }
}

/// 126 or 127 when `msg` is the runtime's report of the command's exec
/// (`exec "x": No such file or directory`, `exec: "x": executable file not
/// found in $PATH`, `exec "/etc": Permission denied`).
fn exec_failure(msg: &str) -> Option<i32> {
    let at = msg.find("set-up failed at exec")?;
    let tail = &msg[at..];
    if tail.contains("executable file not found") || tail.contains("No such file or directory") {
        Some(NOT_FOUND)
    } else if tail.contains("Permission denied") || tail.contains("Is a directory") {
        Some(CANNOT_INVOKE)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_exit_codes() {
        let failed = |what: &str, errno: i32| {
            format!(
                "container 1234 could not start: container set-up failed at {what}: {}",
                std::io::Error::from_raw_os_error(errno)
            )
        };
        let run = |m: &str| code(Kind::Run, m);
        assert_eq!(run(&failed("exec \"nosuch\"", libc::ENOENT)), 127);
        assert_eq!(
            run("container set-up failed at exec: \"nosuch\": executable file not found in $PATH: No such file or directory (os error 2)"),
            127
        );
        assert_eq!(run(&failed("exec \"/etc/passwd\"", libc::EACCES)), 126);
        assert_eq!(run(&failed("exec \"/etc\"", libc::EACCES)), 126);
        // Other set-up failures, and a missing file elsewhere, are cv's.
        assert_eq!(run(&failed("chdir \"/nope\"", libc::ENOENT)), 125);
        assert_eq!(run("invalid image \"x\": image not found: x"), 125);
        assert_eq!(run(&failed("exec \"x\"", libc::ENOEXEC)), 125);
        assert_eq!(code(Kind::Create, &failed("exec \"x\"", libc::ENOENT)), 125);
        assert_eq!(code(Kind::Other, "no such container"), 1);
    }
}
