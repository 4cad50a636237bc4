//! Signal names for `--stop-signal` and `cv kill --signal`: `SIGTERM`,
//! `TERM`, `15`, `SIGRTMIN+3`, as docker accepts them.

use crate::error::{Error, Result};

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
    ("PWR", libc::SIGPWR),
    ("SYS", libc::SIGSYS),
];

/// Parses a signal for option `option` (named in the error).
pub fn parse_signal(option: &str, s: &str) -> Result<i32> {
    let bad = || {
        Error::option(
            option,
            s,
            "unknown signal (use a name like SIGTERM or TERM, or a number 1-64)",
        )
    };
    let t = s.trim();
    if let Ok(n) = t.parse::<i32>() {
        return if (1..=64).contains(&n) {
            Ok(n)
        } else {
            Err(bad())
        };
    }
    let up = t.to_ascii_uppercase();
    let name = up.strip_prefix("SIG").unwrap_or(&up);
    if let Some(&(_, n)) = NAMES.iter().find(|(k, _)| *k == name) {
        return Ok(n);
    }
    let rt = |base: i32, off: &str| -> Result<i32> {
        let o: i32 = if off.is_empty() {
            0
        } else {
            off.parse().map_err(|_| bad())?
        };
        let n = base + o;
        if (libc::SIGRTMIN()..=libc::SIGRTMAX()).contains(&n) {
            Ok(n)
        } else {
            Err(bad())
        }
    };
    if let Some(off) = name.strip_prefix("RTMIN") {
        return rt(libc::SIGRTMIN(), off.trim_start_matches('+'));
    }
    if let Some(off) = name.strip_prefix("RTMAX") {
        let o = off.trim_start_matches('-');
        let o: i32 = if o.is_empty() {
            0
        } else {
            o.parse().map_err(|_| bad())?
        };
        return rt(libc::SIGRTMAX() - o, "");
    }
    Err(bad())
}

/// `SIGTERM` for 15, or the number as text for unnamed signals.
pub fn signal_name(n: i32) -> String {
    NAMES
        .iter()
        .find(|(k, v)| *v == n && *k != "IOT")
        .map(|(k, _)| format!("SIG{k}"))
        .unwrap_or_else(|| n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_numbers() {
        assert_eq!(parse_signal("s", "SIGTERM").unwrap(), 15);
        assert_eq!(parse_signal("s", "term").unwrap(), 15);
        assert_eq!(parse_signal("s", "9").unwrap(), 9);
        assert_eq!(parse_signal("s", "SIGUSR1").unwrap(), libc::SIGUSR1);
        assert_eq!(
            parse_signal("s", "SIGRTMIN+3").unwrap(),
            libc::SIGRTMIN() + 3
        );
        assert_eq!(signal_name(15), "SIGTERM");
        assert_eq!(signal_name(6), "SIGABRT");
    }

    #[test]
    fn rejects_unknown_signals() {
        for bad in ["SIGNOPE", "0", "65", "", "RTMIN+99"] {
            let e = parse_signal("--stop-signal", bad).unwrap_err().to_string();
            assert!(e.contains("--stop-signal"), "{e}");
        }
    }
}
