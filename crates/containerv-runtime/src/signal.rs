//! Signals: parsing `kill`'s argument the way runc does (a number, or a
//! name with or without `SIG`, any case, including `RTMIN+n`), and
//! forwarding the signals a foreground `run`/`exec` receives to the
//! container's process.

use std::sync::atomic::{AtomicI32, Ordering};

use crate::error::{fail, Result};

const NAMES: &[(&str, i32)] = &[
    ("HUP", libc::SIGHUP),
    ("INT", libc::SIGINT),
    ("QUIT", libc::SIGQUIT),
    ("ILL", libc::SIGILL),
    ("TRAP", libc::SIGTRAP),
    ("ABRT", libc::SIGABRT),
    ("IOT", libc::SIGIOT),
    ("BUS", libc::SIGBUS),
    ("FPE", libc::SIGFPE),
    ("KILL", libc::SIGKILL),
    ("USR1", libc::SIGUSR1),
    ("SEGV", libc::SIGSEGV),
    ("USR2", libc::SIGUSR2),
    ("PIPE", libc::SIGPIPE),
    ("ALRM", libc::SIGALRM),
    ("TERM", libc::SIGTERM),
    ("STKFLT", libc::SIGSTKFLT),
    ("CHLD", libc::SIGCHLD),
    ("CLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("STOP", libc::SIGSTOP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
    ("VTALRM", libc::SIGVTALRM),
    ("PROF", libc::SIGPROF),
    ("WINCH", libc::SIGWINCH),
    ("IO", libc::SIGIO),
    ("POLL", libc::SIGPOLL),
    ("PWR", libc::SIGPWR),
    ("SYS", libc::SIGSYS),
];

/// `"9"`, `"KILL"`, `"SIGKILL"`, `"sigkill"`, `"RTMIN+3"` → the number.
pub fn parse(raw: &str) -> Result<i32> {
    let bad = || fail(format!("unknown signal {raw:?}"));
    if let Ok(n) = raw.parse::<i32>() {
        return if (1..=libc::SIGRTMAX()).contains(&n) {
            Ok(n)
        } else {
            bad()
        };
    }
    let up = raw.to_ascii_uppercase();
    let name = up.strip_prefix("SIG").unwrap_or(&up);
    if let Some(&(_, n)) = NAMES.iter().find(|(s, _)| *s == name) {
        return Ok(n);
    }
    let rt = |base: i32, off: &str, sign: i32| -> Result<i32> {
        let n = off.parse::<i32>().ok().map(|o| base + sign * o);
        match n {
            Some(n) if (libc::SIGRTMIN()..=libc::SIGRTMAX()).contains(&n) => Ok(n),
            _ => bad(),
        }
    };
    match name {
        "RTMIN" => Ok(libc::SIGRTMIN()),
        "RTMAX" => Ok(libc::SIGRTMAX()),
        _ => {
            if let Some(off) = name.strip_prefix("RTMIN+") {
                rt(libc::SIGRTMIN(), off, 1)
            } else if let Some(off) = name.strip_prefix("RTMAX-") {
                rt(libc::SIGRTMAX(), off, -1)
            } else {
                bad()
            }
        }
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
        assert_eq!(parse("NOSIG").unwrap_err().msg, "unknown signal \"NOSIG\"");
    }
}
