//! POSIX signal numbers on Windows, which has none.
//!
//! `kill(pid, signal)` keeps the Linux signature so user code compiles
//! unchanged. What a signal does here:
//! - `0`: only checks that the process is alive and in the container;
//! - `SIGHUP` (1), `SIGINT` (2), `SIGQUIT` (3), `SIGABRT` (6), `SIGKILL` (9),
//!   `SIGTERM` (15), whose default action on Linux ends the process:
//!   `TerminateProcess` with exit code `128 + signal` (137 for SIGKILL), so
//!   `ExitStatus::code()` reads as a shell would on Linux. `wait` then
//!   reports `Exited(128 + signal)`: Windows cannot tell a terminated
//!   process from one that exited with that code, so `Signaled` never
//!   appears on Windows;
//! - anything else: [`Error::Unsupported`], as no Windows mechanism
//!   delivers it.

use crate::error::{Error, Result};

/// What to do for a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Check that the process exists.
    Check,
    /// `TerminateProcess` with this exit code.
    Terminate(u32),
}

/// The action for `signal`.
pub(crate) fn action(signal: i32) -> Result<Action> {
    match signal {
        0 => Ok(Action::Check),
        1 | 2 | 3 | 6 | 9 | 15 => Ok(Action::Terminate(128 + signal as u32)),
        _ => Err(Error::Unsupported(format!(
            "signal {signal} on Windows: only 0 (check) and 1, 2, 3, 6, 9, 15 \
             (terminate with exit code 128 + signal) are mapped"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping() {
        assert_eq!(action(0).unwrap(), Action::Check);
        assert_eq!(action(9).unwrap(), Action::Terminate(137));
        assert_eq!(action(15).unwrap(), Action::Terminate(143));
        let e = action(10).unwrap_err().to_string();
        assert!(e.contains("signal 10"), "{e}");
        assert!(action(-1).is_err());
    }
}
