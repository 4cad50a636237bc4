//! Signal names ↔ numbers, once for every front end: the OCI CLI's `kill`
//! (as runc reads it) and the engine's `--stop-signal` / `cv kill
//! --signal` (as docker reads them). Each caller words its own error.

/// The named signals, canonical names before their aliases (`IOT`, `CLD`,
/// `POLL`), so a number's name is the first entry that has it.
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

/// A signal number from `"9"`, `"KILL"`, `"SIGKILL"`, `"sigkill"`, an alias
/// (`"CLD"`, `"POLL"`, `"IOT"`) or a real-time signal (`"RTMIN"`,
/// `"RTMIN+3"`, `"RTMAX-2"`, `"SIGRTMAX"`); `None` for anything else,
/// including numbers outside 1..=SIGRTMAX. No trimming: callers that take
/// padded input trim it first.
pub fn parse(raw: &str) -> Option<i32> {
    if let Ok(n) = raw.parse::<i32>() {
        return (1..=libc::SIGRTMAX()).contains(&n).then_some(n);
    }
    let up = raw.to_ascii_uppercase();
    let name = up.strip_prefix("SIG").unwrap_or(&up);
    if let Some(&(_, n)) = NAMES.iter().find(|(k, _)| *k == name) {
        return Some(n);
    }
    // `RTMIN+n` / `RTMAX-n`, n decimal digits; the sign may be left out
    // (`RTMIN3`), and a sign alone means 0 (`RTMIN+`), as the engine
    // always took them.
    let offset = |off: &str, sign: char| -> Option<i32> {
        let o = off.strip_prefix(sign).unwrap_or(off);
        if o.is_empty() {
            Some(0)
        } else if o.bytes().all(|b| b.is_ascii_digit()) {
            o.parse().ok()
        } else {
            None
        }
    };
    let n = if let Some(off) = name.strip_prefix("RTMIN") {
        libc::SIGRTMIN().checked_add(offset(off, '+')?)?
    } else if let Some(off) = name.strip_prefix("RTMAX") {
        libc::SIGRTMAX().checked_sub(offset(off, '-')?)?
    } else {
        return None;
    };
    (libc::SIGRTMIN()..=libc::SIGRTMAX())
        .contains(&n)
        .then_some(n)
}

/// The name of signal `n` without `SIG` (`"TERM"` for 15; the canonical
/// name, never an alias); `None` for an unnamed one (real-time signals).
pub fn name(n: i32) -> Option<&'static str> {
    NAMES.iter().find(|(_, v)| *v == n).map(|(k, _)| *k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_numbers_and_case() {
        assert_eq!(parse("KILL"), Some(9));
        assert_eq!(parse("SIGKILL"), Some(9));
        assert_eq!(parse("sigkill"), Some(9));
        assert_eq!(parse("9"), Some(9));
        assert_eq!(parse("term"), Some(15));
        assert_eq!(parse("SIGUSR1"), Some(libc::SIGUSR1));
        assert_eq!(parse("64"), Some(64));
    }

    #[test]
    fn aliases() {
        assert_eq!(parse("CLD"), Some(libc::SIGCHLD));
        assert_eq!(parse("SIGPOLL"), Some(libc::SIGIO));
        assert_eq!(parse("iot"), Some(libc::SIGABRT));
    }

    #[test]
    fn realtime_signals() {
        let (min, max) = (libc::SIGRTMIN(), libc::SIGRTMAX());
        assert_eq!(parse("RTMIN"), Some(min));
        assert_eq!(parse("SIGRTMIN+3"), Some(min + 3));
        assert_eq!(parse("rtmin+1"), Some(min + 1));
        assert_eq!(parse("RTMIN3"), Some(min + 3));
        assert_eq!(parse("RTMIN+"), Some(min));
        assert_eq!(parse("RTMAX"), Some(max));
        assert_eq!(parse("SIGRTMAX-1"), Some(max - 1));
        assert_eq!(parse("RTMAX-0"), Some(max));
        for bad in [
            "RTMIN+99",
            "RTMIN+-1",
            "RTMIN++1",
            "RTMAX+1",
            "RTMAX--1",
            "RTMAX-99",
            "RTMINX",
            "RTMIN+2147483647",
            "RTMIN+99999999999",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn rejects_the_rest() {
        for bad in ["", "0", "-9", "65", "NOSIG", "SIG", " 9", "KILL "] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn names_are_canonical() {
        assert_eq!(name(15), Some("TERM"));
        assert_eq!(name(libc::SIGABRT), Some("ABRT"));
        assert_eq!(name(libc::SIGCHLD), Some("CHLD"));
        assert_eq!(name(libc::SIGIO), Some("IO"));
        assert_eq!(name(libc::SIGRTMIN()), None);
        for &(k, n) in NAMES {
            assert_eq!(parse(name(n).unwrap()), Some(n), "{k}");
        }
    }
}
