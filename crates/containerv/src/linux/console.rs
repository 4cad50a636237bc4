//! The caller's side of a container's terminal: our own terminal in raw
//! mode while attached, window sizes, and the copy loop between our stdio
//! and a pty master received over a console socket.
//!
//! One copy for every front end: the OCI runtime's foreground `run`/`exec`
//! with a terminal (runc's behaviour when no `--console-socket` is given)
//! and the engine's `cv exec -t`, `cv run -t` monitor. The loop follows our
//! window size (SIGWINCH, through a signalfd) so full-screen programs
//! redraw at the right size wherever they were started from.

use std::io::ErrorKind;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::termios::{self, SetArg, Termios};

/// A terminal put in raw mode (keys such as Ctrl-C reach the container's
/// terminal, which turns them into signals); the saved mode comes back on
/// drop, however the caller ends.
pub struct RawMode {
    fd: RawFd,
    saved: Termios,
}

impl RawMode {
    /// Raw mode on `fd` (usually stdin), or `None` if it is no terminal.
    pub fn enter(fd: BorrowedFd<'_>) -> Option<RawMode> {
        let saved = termios::tcgetattr(fd).ok()?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        termios::tcsetattr(fd, SetArg::TCSANOW, &raw).ok()?;
        Some(RawMode {
            fd: fd.as_raw_fd(),
            saved,
        })
    }

    /// Raw mode on stdin, if stdin is a terminal.
    pub fn stdin() -> Option<RawMode> {
        Self::enter(std::io::stdin().as_fd())
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: the descriptor was valid when entered and stays open for
        // the caller's life (stdio, or a terminal the caller holds).
        let fd = unsafe { BorrowedFd::borrow_raw(self.fd) };
        let _ = termios::tcsetattr(fd, SetArg::TCSANOW, &self.saved);
    }
}

/// Whether `fd` is a terminal.
pub fn is_tty(fd: RawFd) -> bool {
    // SAFETY: isatty on a descriptor number.
    unsafe { libc::isatty(fd) == 1 }
}

/// The window size (rows, columns) of terminal `fd`, if it is one with a
/// size.
pub fn window_size(fd: RawFd) -> Option<(u16, u16)> {
    // SAFETY: an all-zero winsize is a valid value.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ fills the winsize we own.
    let r = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) };
    (r == 0 && ws.ws_row > 0).then_some((ws.ws_row, ws.ws_col))
}

/// Our own terminal's size: stdin's, else stdout's.
pub fn our_window_size() -> Option<(u16, u16)> {
    [0, 1].into_iter().find_map(window_size)
}

/// Gives terminal `fd` (a pty master) a new size; the kernel sends
/// SIGWINCH to its foreground process group.
pub fn set_window_size(fd: RawFd, (rows, cols): (u16, u16)) {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a valid winsize.
    unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, &ws) };
}

fn copy_size(master: BorrowedFd<'_>) {
    if let Some(size) = our_window_size() {
        set_window_size(master.as_raw_fd(), size);
    }
}

/// Relays between our stdio and `master` until the container side of the
/// pty is closed (every process holding it has exited): the master's
/// output to stdout, and with `input` stdin to the master. Our window
/// size goes to the pty now and on every SIGWINCH.
///
/// Call after the container's processes exist: SIGWINCH is blocked in
/// this thread (it arrives on a signalfd), and children would inherit the
/// mask. Raw mode is the caller's choice ([`RawMode`]).
pub fn relay(master: &OwnedFd, input: bool) -> std::io::Result<()> {
    copy_size(master.as_fd());
    let mut winch = SigSet::empty();
    winch.add(Signal::SIGWINCH);
    winch.thread_block()?;
    let sigfd = SignalFd::with_flags(&winch, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)?;
    let mut stdin_open = input;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let mut fds = [
            libc::pollfd {
                fd: master.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: sigfd.as_fd().as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: if stdin_open { 0 } else { -1 },
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: poll on an array of three pollfds we own.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 3, -1) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if fds[1].revents != 0 {
            while sigfd.read_signal().ok().flatten().is_some() {}
            copy_size(master.as_fd());
        }
        if fds[2].revents != 0 {
            match read(0, &mut buf) {
                Some(0) | None => stdin_open = false,
                Some(n) => write_all(master.as_raw_fd(), &buf[..n]),
            }
        }
        if fds[0].revents != 0 {
            match read(master.as_raw_fd(), &mut buf) {
                // EIO: no process holds the pty's other side any more.
                Some(0) | None => return Ok(()),
                Some(n) => write_all(1, &buf[..n]),
            }
        }
    }
}

/// `read(2)`, retried on EINTR; `None` on any other error.
fn read(fd: RawFd, buf: &mut [u8]) -> Option<usize> {
    loop {
        // SAFETY: read into a buffer we own.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            return Some(n as usize);
        }
        if std::io::Error::last_os_error().kind() != ErrorKind::Interrupted {
            return None;
        }
    }
}

/// Writes everything (a reader that went away drops the rest).
fn write_all(fd: RawFd, mut data: &[u8]) {
    while !data.is_empty() {
        // SAFETY: write from a slice we own.
        let n = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
        if n > 0 {
            data = &data[n as usize..];
        } else if n < 0 && std::io::Error::last_os_error().kind() == ErrorKind::Interrupted {
            continue;
        } else {
            return;
        }
    }
}
