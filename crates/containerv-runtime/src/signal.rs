//! Signals: parsing `kill`'s argument the way runc does (a number, or a
//! name with or without `SIG`, any case, including `RTMIN+n`), and
//! forwarding the signals a foreground `run`/`exec` receives to the
//! container's process.

use std::sync::atomic::{AtomicI32, Ordering};

use crate::error::{fail, Result};

/// `"9"`, `"KILL"`, `"SIGKILL"`, `"sigkill"`, `"RTMIN+3"` → the number
/// (see [`containerv::linux::signal::parse`]).
pub fn parse(raw: &str) -> Result<i32> {
    match containerv::linux::signal::parse(raw) {
        Some(n) => Ok(n),
        None => fail(format!("unknown signal {raw:?}")),
    }
}

/// The process that forwarded signals go to (0: none yet).
static TARGET: AtomicI32 = AtomicI32::new(0);

extern "C" fn forward(sig: libc::c_int) {
    let pid = TARGET.load(Ordering::Relaxed);
    if pid > 0 {
        // SAFETY: kill is async-signal-safe; pid is the container process.
        unsafe { libc::kill(pid, sig) };
    }
}

/// Forward the signals a terminal or supervisor sends to a foreground
/// `run`/`exec` (HUP, INT, QUIT, TERM, USR1, USR2, WINCH) to `pid`, as runc
/// does, so Ctrl-C or `kill <runtime pid>` reaches the container.
pub fn forward_to(pid: i32) {
    TARGET.store(pid, Ordering::Relaxed);
    for sig in [
        libc::SIGHUP,
        libc::SIGINT,
        libc::SIGQUIT,
        libc::SIGTERM,
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGWINCH,
    ] {
        // SAFETY: installing a handler that only calls kill(2); the struct
        // is zeroed and then filled.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = forward as *const () as usize;
            sa.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn names_and_numbers() {
        assert_eq!(parse("KILL").unwrap(), 9);
        assert_eq!(parse("SIGKILL").unwrap(), 9);
        assert_eq!(parse("sigterm").unwrap(), 15);
        assert_eq!(parse("9").unwrap(), 9);
        assert_eq!(parse("RTMIN+1").unwrap(), libc::SIGRTMIN() + 1);
        assert_eq!(parse("SIGRTMAX-1").unwrap(), libc::SIGRTMAX() - 1);
        assert!(parse("NOSIG").is_err());
        assert!(parse("0").is_err());
        assert!(parse("65").is_err());
        assert_eq!(parse("CLD").unwrap(), libc::SIGCHLD);
        assert_eq!(parse("NOSIG").unwrap_err().msg, "unknown signal \"NOSIG\"");
    }
}
