//! The few descriptor operations the monitor needs: pipes, pidfds,
//! non-blocking reads and poll. Plain system calls; no runtime, no threads
//! (the monitor stays one small single-threaded process).

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// A CLOEXEC pipe: (read end, write end).
pub fn pipe() -> io::Result<(File, File)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two descriptors we then own.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fresh descriptors from pipe2.
    Ok(unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) })
}

/// A pidfd for `pid` (our child or any process).
pub fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

pub fn set_nonblocking(fd: RawFd) {
    // SAFETY: fcntl on a descriptor we own.
    unsafe {
        let fl = libc::fcntl(fd, libc::F_GETFL);
        libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK);
    }
}

/// What a non-blocking read found.
pub enum ReadOutcome {
    Data(usize),
    WouldBlock,
    Eof,
}

/// One non-blocking read into `buf`.
pub fn read_some(f: &mut File, buf: &mut [u8]) -> ReadOutcome {
    loop {
        match f.read(buf) {
            Ok(0) => return ReadOutcome::Eof,
            Ok(n) => return ReadOutcome::Data(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return ReadOutcome::WouldBlock,
            Err(_) => return ReadOutcome::Eof,
        }
    }
}

/// ppoll(2) for readability (or hang-up) of `fds` for at most `timeout`
/// (`None`: no limit); returns which are ready. A negative fd is ignored.
/// The timeout is kept to the nanosecond (poll(2) rounds to milliseconds),
/// so monitors waiting for the same instant wake together (see
/// `sampler.rs`).
pub fn poll_readable<const N: usize>(fds: &[RawFd; N], timeout: Option<Duration>) -> [bool; N] {
    // On the stack: the monitor polls at every wake-up (each stats
    // sample), and a wake-up should not allocate.
    let mut p = fds.map(|fd| libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    });
    let ts = timeout.map(|d| libc::timespec {
        tv_sec: d.as_secs() as libc::time_t,
        tv_nsec: d.subsec_nanos() as libc::c_long,
    });
    let tsp = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: ppoll on a valid array of pollfd, a valid (or null) timeout
    // and no signal mask.
    let r = unsafe { libc::ppoll(p.as_mut_ptr(), N as libc::nfds_t, tsp, std::ptr::null()) };
    if r <= 0 {
        return [false; N];
    }
    p.map(|x| x.fd >= 0 && x.revents != 0)
}

/// Waits (up to `timeout_ms`) until the reader of pipe write end `f` has
/// gone away.
pub fn wait_reader_gone(f: &File, timeout_ms: i32) {
    let mut p = libc::pollfd {
        fd: f.as_raw_fd(),
        events: 0,
        revents: 0,
    };
    // SAFETY: poll on one valid pollfd.
    unsafe { libc::poll(&mut p, 1, timeout_ms) };
}
