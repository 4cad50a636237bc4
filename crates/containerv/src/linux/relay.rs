//! Pipes instead of the caller's terminal, for a foreground container
//! process that was not given a terminal of its own (no `-t`).
//!
//! Why: a process holding a descriptor of the caller's terminal can type
//! into the caller's shell (`ioctl(TIOCSTI)`, still allowed where
//! `dev.tty.legacy_tiocsti=1`, to a process of the terminal's session or
//! one with `CAP_SYS_ADMIN`), change its modes, or read what the user
//! types after it exits. Every container process gets a session of its
//! own (init and exec call `setsid`), and, as runc does for a foreground
//! process without a terminal, each of the caller's streams that is a
//! terminal reaches the container only through a pipe this process
//! relays: stdin from the terminal into the container, stdout and stderr
//! back. Streams that are not terminals (files, pipes, /dev/null) are
//! handed over as they are.
//!
//! Two steps, because threads must not exist while the library forks:
//! [`terminal_pipes`] before the process is made, [`PendingRelay::start`]
//! after.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::thread::JoinHandle;

use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::error::{Error, Result};
use crate::process::Stdio;

/// The pipes made for the caller's terminal streams, not yet relayed.
#[derive(Debug, Default)]
pub struct PendingRelay {
    /// Write end into the container's stdin (our fd 0 is a terminal).
    stdin: Option<OwnedFd>,
    /// Read ends of the container's stdout and stderr (ours are terminals).
    out: [Option<OwnedFd>; 2],
}

/// The running relay; [`Relay::finish`] once the process has exited.
#[derive(Debug)]
pub struct Relay {
    stop: Option<OwnedFd>,
    threads: Vec<JoinHandle<()>>,
}

fn is_terminal(fd: RawFd) -> bool {
    // SAFETY: isatty on one of our standard descriptors.
    unsafe { libc::isatty(fd) == 1 }
}

fn cloexec_pipe() -> Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(OFlag::O_CLOEXEC)
        .map_err(|e| Error::sys("pipe for a terminal relay", e.into()))
}

/// `streams` (`[stdin, stdout, stderr]` as a caller chose them) with each
/// [`Stdio::Inherit`] whose descriptor of ours is a terminal replaced by a
/// pipe, and the relay to start once the process exists (`None` when no
/// stream is a terminal).
pub fn terminal_pipes(streams: [Stdio; 3]) -> Result<([Stdio; 3], Option<PendingRelay>)> {
    let mut pending = PendingRelay::default();
    let mut any = false;
    let mut out = Vec::with_capacity(3);
    for (n, s) in streams.into_iter().enumerate() {
        if !matches!(s, Stdio::Inherit) || !is_terminal(n as RawFd) {
            out.push(s);
            continue;
        }
        any = true;
        let (r, w) = cloexec_pipe()?;
        if n == 0 {
            pending.stdin = Some(w);
            out.push(Stdio::Fd(r));
        } else {
            pending.out[n - 1] = Some(r);
            out.push(Stdio::Fd(w));
        }
    }
    let streams: [Stdio; 3] = out.try_into().expect("three streams");
    Ok((streams, any.then_some(pending)))
}

impl PendingRelay {
    /// Starts relaying (threads of this process).
    pub fn start(self) -> Result<Relay> {
        let (stop_r, stop_w) = cloexec_pipe()?;
        let mut threads = Vec::new();
        if let Some(w) = self.stdin {
            let stop = stop_r
                .try_clone()
                .map_err(|e| Error::sys("dup for a terminal relay", e))?;
            threads.push(std::thread::spawn(move || relay_input(w, stop)));
        }
        let [o, e] = self.out;
        if o.is_some() || e.is_some() {
            threads.push(std::thread::spawn(move || relay_output([o, e], stop_r)));
        }
        Ok(Relay {
            stop: Some(stop_w),
            threads,
        })
    }
}

impl Relay {
    /// After the process exited: copies what its output pipes still hold
    /// (not what a process it left behind writes later), then stops.
    pub fn finish(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        self.stop.take();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// Writes all of `buf` to `fd`; false when it cannot (the reader is gone).
fn write_all(fd: RawFd, mut buf: &[u8]) -> bool {
    while !buf.is_empty() {
        // SAFETY: write from a valid buffer to a descriptor that is open.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n < 0 {
            if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return false;
        }
        buf = &buf[n as usize..];
    }
    true
}

/// Reads once; `None` at the end or on an error.
fn read_some(fd: RawFd, buf: &mut [u8]) -> Option<usize> {
    loop {
        // SAFETY: read into a valid buffer from a descriptor that is open.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
            continue;
        }
        return (n > 0).then_some(n as usize);
    }
}

/// Waits until `fds` has something; their revents (empty on error).
fn wait(fds: &[BorrowedFd<'_>]) -> Vec<PollFlags> {
    let mut p: Vec<PollFd> = fds
        .iter()
        .map(|f| PollFd::new(*f, PollFlags::POLLIN))
        .collect();
    match poll(&mut p, PollTimeout::NONE) {
        Ok(_) => p
            .iter()
            .map(|f| f.revents().unwrap_or(PollFlags::empty()))
            .collect(),
        Err(nix::errno::Errno::EINTR) => vec![PollFlags::empty(); fds.len()],
        Err(_) => Vec::new(),
    }
}

/// Our terminal (fd 0) into the container's stdin until either ends.
fn relay_input(to: OwnedFd, stop: OwnedFd) {
    let stdin = std::io::stdin();
    let mut buf = [0u8; 4096];
    loop {
        let ev = wait(&[stdin.as_fd(), stop.as_fd()]);
        if ev.is_empty() || !ev[1].is_empty() {
            return;
        }
        if ev[0].is_empty() {
            continue;
        }
        match read_some(0, &mut buf) {
            Some(n) if write_all(to.as_raw_fd(), &buf[..n]) => {}
            // End of our input, or the container closed its stdin.
            _ => return,
        }
    }
}

/// The container's stdout and stderr onto ours until both end or `stop`.
fn relay_output(mut from: [Option<OwnedFd>; 2], stop: OwnedFd) {
    let mut buf = [0u8; 16384];
    loop {
        let open: Vec<usize> = (0..2).filter(|i| from[*i].is_some()).collect();
        if open.is_empty() {
            return;
        }
        let mut fds: Vec<BorrowedFd<'_>> = open
            .iter()
            .map(|i| from[*i].as_ref().expect("open").as_fd())
            .collect();
        fds.push(stop.as_fd());
        let ev = wait(&fds);
        if ev.is_empty() {
            return;
        }
        let stopping = !ev[open.len()].is_empty();
        drop(fds);
        for (k, i) in open.iter().enumerate() {
            if stopping {
                drain(&mut from[*i], *i as RawFd + 1, &mut buf);
            } else if !ev[k].is_empty() {
                let fd = from[*i].as_ref().expect("open").as_raw_fd();
                match read_some(fd, &mut buf) {
                    Some(n) => {
                        write_all(*i as RawFd + 1, &buf[..n]);
                    }
                    None => from[*i] = None,
                }
            }
        }
        if stopping {
            return;
        }
    }
}

/// What `from` holds now, without waiting for more, onto `to`.
fn drain(from: &mut Option<OwnedFd>, to: RawFd, buf: &mut [u8]) {
    let Some(fd) = from.take() else { return };
    if nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).is_err() {
        return;
    }
    while let Some(n) = read_some(fd.as_raw_fd(), buf) {
        write_all(to, &buf[..n]);
    }
}
