//! Is a recorded process still the same process? A pid alone can be
//! reused, so records keep the pid with its start time (field 22 of
//! `/proc/PID/stat`, clock ticks since boot) and liveness compares both.

/// The start time of `pid`, or `None` if there is no such process.
///
/// Liveness is asked for every container of every listing and scrape:
/// one open, one read into a stack buffer and one close (no `statx`, no
/// second read, no allocation for the text).
pub fn start_time(pid: i32) -> Option<u64> {
    use std::io::Read;
    if pid <= 0 {
        return None;
    }
    let mut f = std::fs::File::open(format!("/proc/{pid}/stat")).ok()?;
    // The line is ~300 bytes and starttime (field 22) comes early in it:
    // 1024 bytes always hold it, whatever the comm and the later fields.
    let mut buf = [0u8; 1024];
    let mut len = 0;
    loop {
        let n = f.read(&mut buf[len..]).ok()?;
        len += n;
        if n == 0 || len == buf.len() {
            break;
        }
        if buf[..len].ends_with(b"\n") {
            break;
        }
    }
    let stat = std::str::from_utf8(&buf[..len]).ok()?;
    // The command name (field 2) may hold spaces and parentheses: the
    // fields after it start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?;
    if state == "Z" || state == "X" {
        return None;
    }
    // rest starts at field 3; starttime is field 22.
    fields.nth(18)?.parse().ok()
}

/// True if `pid` is alive and started at `start` (a zombie is not alive).
pub fn is_alive(pid: i32, start: u64) -> bool {
    start != 0 && start_time(pid) == Some(start)
}

/// A recorded process watched through a pidfd, for a caller that asks
/// about the same processes again and again (the metrics server, at every
/// scrape): [`poll_exited`] learns which of many have exited with one
/// `poll(2)`, where [`is_alive`] costs an open, a read and a close of
/// `/proc/PID/stat` for each. A pidfd names one process, not a pid, so
/// pid reuse cannot fool it; the start time is checked once, when it is
/// opened.
#[derive(Debug)]
pub struct Watch {
    pid: i32,
    start: u64,
    /// `None`: not that process (gone, or the pid reused).
    fd: Option<std::os::fd::OwnedFd>,
    exited: bool,
}

impl Watch {
    /// Watches `pid` started at `start`, keeping `old` if it watches that
    /// very process.
    pub fn keep(old: Option<Watch>, pid: i32, start: u64) -> Watch {
        if let Some(w) = old.filter(|w| w.pid == pid && w.start == start) {
            return w;
        }
        let fd = (pid > 0 && start != 0)
            .then(|| pidfd_open(pid))
            .flatten()
            // Checked after the descriptor is open: if the process that
            // has the pid now started at `start`, the descriptor is its.
            .filter(|_| is_alive(pid, start));
        Watch {
            pid,
            start,
            exited: fd.is_none(),
            fd,
        }
    }

    /// Whether the process had not exited at the last [`poll_exited`]
    /// (or when watched).
    pub fn alive(&self) -> bool {
        !self.exited
    }

    /// The process watched.
    pub fn is(&self, pid: i32, start: u64) -> bool {
        self.pid == pid && self.start == start
    }
}

fn pidfd_open(pid: i32) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::{FromRawFd, OwnedFd};
    // SAFETY: pidfd_open(2) has no memory effects.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    // SAFETY: a fresh descriptor, owned from here on.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Marks which of `watches` have exited since: one `poll(2)` for all (a
/// pidfd is readable once its process has exited).
pub fn poll_exited(watches: &mut [&mut Watch]) {
    use std::os::fd::AsRawFd;
    let mut fds: Vec<libc::pollfd> = watches
        .iter()
        .filter(|w| !w.exited)
        .filter_map(|w| w.fd.as_ref())
        .map(|fd| libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    if fds.is_empty() {
        return;
    }
    // SAFETY: `fds` is a valid array of its length; timeout 0.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 0) };
    if n < 0 {
        // Cannot happen with valid descriptors: fall back to /proc.
        for w in watches.iter_mut() {
            w.exited = !is_alive(w.pid, w.start);
        }
        return;
    }
    let mut polled = fds.iter();
    for w in watches.iter_mut().filter(|w| !w.exited && w.fd.is_some()) {
        let r = polled.next().map_or(0, |p| p.revents);
        w.exited = r != 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_is_alive_and_a_reaped_child_is_not() {
        let me = std::process::id() as i32;
        let st = start_time(me).unwrap();
        assert!(is_alive(me, st));
        assert!(!is_alive(me, st + 1));
        let mut c = std::process::Command::new("/bin/true").spawn().unwrap();
        let pid = c.id() as i32;
        c.wait().unwrap();
        assert!(start_time(pid).is_none() || !is_alive(pid, 1));
        assert!(start_time(0).is_none());
    }

    #[test]
    fn watches_learn_of_an_exit_and_are_not_fooled_by_another_start_time() {
        let mut c = std::process::Command::new("sleep")
            .arg("100")
            .spawn()
            .unwrap();
        let pid = c.id() as i32;
        let st = start_time(pid).unwrap();
        let me = std::process::id() as i32;
        let mut child = Watch::keep(None, pid, st);
        let mut own = Watch::keep(None, me, start_time(me).unwrap());
        let mut wrong = Watch::keep(None, me, 1);
        assert!(child.alive() && own.alive() && !wrong.alive());
        poll_exited(&mut [&mut child, &mut own, &mut wrong]);
        assert!(child.alive() && own.alive() && !wrong.alive());
        // Kept as it is when it watches the same process.
        let child = Watch::keep(Some(child), pid, st);
        assert!(child.is(pid, st));
        c.kill().unwrap();
        // Exited, a zombie until reaped: exited for the pidfd too.
        let mut child = child;
        let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while child.alive() {
            assert!(std::time::Instant::now() < end, "no exit seen");
            poll_exited(&mut [&mut child, &mut own]);
        }
        assert!(own.alive());
        c.wait().unwrap();
        assert!(!Watch::keep(None, pid, st).alive());
    }
}
