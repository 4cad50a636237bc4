//! Graceful stop: the stop signal, then SIGKILL once the timeout passes.
//!
//! Kept apart from the container type so the escalation can be tested on
//! any process: the caller supplies how to signal and how to tell it ended.

use std::time::{Duration, Instant};

use crate::error::Result;

/// Default `--stop-timeout`.
pub const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// How a stop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopOutcome {
    /// It was already gone.
    AlreadyStopped,
    /// It exited after the stop signal, within the timeout.
    Graceful,
    /// The timeout passed and it was killed with SIGKILL.
    Killed,
}

/// What [`graceful_stop`] acts on.
pub trait Stoppable {
    /// Sends `signal`; `Ok(false)` if the target no longer exists.
    fn send(&mut self, signal: i32) -> Result<bool>;
    /// True once the target has ended.
    fn has_ended(&mut self) -> Result<bool>;
}

/// Sends `signal`, waits up to `timeout` for the end (polling every
/// `poll`), then sends SIGKILL and waits for the end (up to `kill_wait`).
pub fn graceful_stop(
    target: &mut dyn Stoppable,
    signal: i32,
    timeout: Duration,
    poll: Duration,
    kill_wait: Duration,
) -> Result<StopOutcome> {
    if target.has_ended()? || !target.send(signal)? {
        return Ok(StopOutcome::AlreadyStopped);
    }
    if wait_end(target, timeout, poll)? {
        return Ok(StopOutcome::Graceful);
    }
    if target.send(libc::SIGKILL)? {
        wait_end(target, kill_wait, poll)?;
    }
    Ok(StopOutcome::Killed)
}

fn wait_end(target: &mut dyn Stoppable, limit: Duration, poll: Duration) -> Result<bool> {
    let deadline = Instant::now() + limit;
    loop {
        if target.has_ended()? {
            return Ok(true);
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(false);
        }
        std::thread::sleep(poll.min(deadline - now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Child, Command};

    struct ChildTarget(Child);

    impl Stoppable for ChildTarget {
        fn send(&mut self, signal: i32) -> Result<bool> {
            // SAFETY: kill(2) on our own unreaped child (the pid cannot be reused).
            let r = unsafe { libc::kill(self.0.id() as i32, signal) };
            Ok(r == 0)
        }
        fn has_ended(&mut self) -> Result<bool> {
            Ok(self.0.try_wait().unwrap().is_some())
        }
    }

    fn sh(script: &str) -> ChildTarget {
        let c = Command::new("/bin/sh")
            .arg("-c")
            .arg(script)
            .spawn()
            .unwrap();
        // Let the shell install its traps.
        std::thread::sleep(Duration::from_millis(100));
        ChildTarget(c)
    }

    const POLL: Duration = Duration::from_millis(10);

    #[test]
    fn a_process_that_obeys_stops_gracefully() {
        let mut t = sh("sleep 30 & wait");
        let started = Instant::now();
        let out = graceful_stop(
            &mut t,
            libc::SIGTERM,
            Duration::from_secs(5),
            POLL,
            POLL * 100,
        )
        .unwrap();
        assert_eq!(out, StopOutcome::Graceful);
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn a_process_that_ignores_the_signal_is_killed_after_the_timeout() {
        let mut t = sh("trap '' TERM; while :; do sleep 0.05; done");
        let started = Instant::now();
        let out = graceful_stop(
            &mut t,
            libc::SIGTERM,
            Duration::from_millis(500),
            POLL,
            Duration::from_secs(5),
        )
        .unwrap();
        let took = started.elapsed();
        assert_eq!(out, StopOutcome::Killed);
        assert!(took >= Duration::from_millis(500), "{took:?}");
        assert!(took < Duration::from_secs(3), "{took:?}");
        let status = t.0.wait().unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGKILL));
    }

    #[test]
    fn a_custom_stop_signal_is_sent() {
        let mut t = sh("trap 'exit 7' USR1; while :; do sleep 0.05; done");
        let out = graceful_stop(&mut t, libc::SIGUSR1, Duration::from_secs(5), POLL, POLL).unwrap();
        assert_eq!(out, StopOutcome::Graceful);
        assert_eq!(t.0.wait().unwrap().code(), Some(7));
    }

    #[test]
    fn an_ended_process_is_already_stopped() {
        let mut t = ChildTarget(Command::new("/bin/true").spawn().unwrap());
        t.0.wait().unwrap();
        let out = graceful_stop(&mut t, libc::SIGTERM, Duration::from_secs(1), POLL, POLL).unwrap();
        assert_eq!(out, StopOutcome::AlreadyStopped);
    }
}
