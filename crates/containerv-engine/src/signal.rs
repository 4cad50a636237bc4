//! Signal names for `--stop-signal` and `cv kill --signal`: `SIGTERM`,
//! `TERM`, `15`, `SIGRTMIN+3`, as docker accepts them.

use crate::error::{Error, Result};

/// Parses a signal for option `option` (named in the error). Surrounding
/// blanks are ignored; names, aliases and real-time signals are those of
/// [`containerv::linux::signal::parse`].
pub fn parse_signal(option: &str, s: &str) -> Result<i32> {
    containerv::linux::signal::parse(s.trim()).ok_or_else(|| {
        Error::option(
            option,
            s,
            "unknown signal (use a name like SIGTERM or TERM, or a number 1-64)",
        )
    })
}

/// `SIGTERM` for 15, or the number as text for unnamed signals.
pub fn signal_name(n: i32) -> String {
    match containerv::linux::signal::name(n) {
        Some(k) => format!("SIG{k}"),
        None => n.to_string(),
    }
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
        assert_eq!(signal_name(libc::SIGRTMIN()), libc::SIGRTMIN().to_string());
        assert_eq!(parse_signal("s", " KILL\n").unwrap(), 9);
    }

    #[test]
    fn rejects_unknown_signals() {
        for bad in ["SIGNOPE", "0", "65", "", "RTMIN+99"] {
            let e = parse_signal("--stop-signal", bad).unwrap_err().to_string();
            assert!(e.contains("--stop-signal"), "{e}");
        }
    }
}
