//! A foreground `run` or `exec` of a process with a terminal and no
//! `--console-socket` (someone typing `containerv run` by hand): as runc
//! does, the runtime takes the pty master itself, over a private console
//! socket, and sits between it and its own stdio until the container
//! side of the pty is closed. Its own terminal, when stdin is one, is put
//! in raw mode (keys such as Ctrl-C reach the container's terminal, which
//! turns them into signals) and restored afterwards; the pty follows its
//! window size (SIGWINCH).

use std::io::ErrorKind;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::termios::{self, SetArg, Termios};

use crate::error::{Fail, Result};

/// A console socket of our own, in a private directory removed on drop.
pub struct Listener {
    dir: PathBuf,
    sock: UnixListener,
}

impl Listener {
    pub fn new() -> Result<Listener> {
        let dir = std::env::temp_dir().join(format!(
            "containerv-console-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0)
        ));
        {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .mode(0o700)
                .create(&dir)
                .map_err(|e| Fail::new(format!("console socket dir {}: {e}", dir.display())))?;
        }
        let path = dir.join("sock");
        match UnixListener::bind(&path) {
            Ok(sock) => Ok(Listener { dir, sock }),
            Err(e) => {
                let _ = std::fs::remove_dir(&dir);
                Err(Fail::new(format!("console socket {}: {e}", path.display())))
            }
        }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join("sock")
    }

    /// The pty master the container's setup sent (it connected already,
    /// during create or exec: the connection waits in the backlog).
    pub fn take_master(&self) -> Result<OwnedFd> {
        self.sock
            .set_nonblocking(true)
            .map_err(|e| Fail::new(format!("console socket: {e}")))?;
        let (conn, _) = self.sock.accept().map_err(|e| {
            Fail::new(format!(
                "console socket: the container sent no terminal: {e}"
            ))
        })?;
        containerv::linux::receive_pty_master(conn.as_fd())
            .map_err(|e| Fail::new(format!("console socket: receive the pty master: {e}")))
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(self.path());
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// Our terminal back in the mode it had, however the relay ends.
struct RawMode {
    saved: Termios,
}

impl RawMode {
    fn enter(fd: BorrowedFd<'_>) -> Option<RawMode> {
        let saved = termios::tcgetattr(fd).ok()?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        termios::tcsetattr(fd, SetArg::TCSANOW, &raw).ok()?;
        Some(RawMode { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, &self.saved);
    }
}

fn is_tty(fd: i32) -> bool {
    // SAFETY: isatty on a descriptor number.
    unsafe { libc::isatty(fd) == 1 }
}

/// Our terminal's window size (stdin's, else stdout's), if we have one.
fn our_winsize() -> Option<libc::winsize> {
    [0, 1].into_iter().filter(|&fd| is_tty(fd)).find_map(|fd| {
        // SAFETY: TIOCGWINSZ into a winsize we own.
        unsafe {
            let mut ws: libc::winsize = std::mem::zeroed();
            (libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) == 0).then_some(ws)
        }
    })
}

/// The size the container's pty should start with (it is made before the
/// relay runs, and a program may ask at once): ours, if we have a terminal.
pub fn initial_size(p: &mut oci_spec::runtime::Process) {
    if let Some(ws) = our_winsize() {
        if let Ok(b) = oci_spec::runtime::BoxBuilder::default()
            .height(ws.ws_row as u64)
            .width(ws.ws_col as u64)
            .build()
        {
            p.set_console_size(Some(b));
        }
    }
}

/// Copy our terminal's window size to the pty.
fn copy_size(master: BorrowedFd<'_>) {
    if let Some(ws) = our_winsize() {
        // SAFETY: TIOCSWINSZ with a valid winsize.
        unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
    }
}

/// Relay between our stdio and `master` until the container side of the
/// pty is closed (every process holding it has exited). Call after the
/// container's processes exist: SIGWINCH is blocked here (it arrives on a
/// signalfd), and children would inherit the mask.
pub fn relay(master: OwnedFd) -> Result<()> {
    let _raw = if is_tty(0) {
        RawMode::enter(std::io::stdin().as_fd())
    } else {
        None
    };
    copy_size(master.as_fd());
    let mut winch = SigSet::empty();
    winch.add(Signal::SIGWINCH);
    winch
        .thread_block()
        .map_err(|e| Fail::new(format!("block SIGWINCH: {e}")))?;
    let sigfd = SignalFd::with_flags(&winch, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
        .map_err(|e| Fail::new(format!("signalfd: {e}")))?;
    let mut stdin_open = true;
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
        // SAFETY: poll on an array of three pollfds.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 3, -1) };
        if n < 0 {
            if std::io::Error::last_os_error().kind() == ErrorKind::Interrupted {
                continue;
            }
            return Err(Fail::new(format!(
                "terminal relay: poll: {}",
                std::io::Error::last_os_error()
            )));
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
fn read(fd: i32, buf: &mut [u8]) -> Option<usize> {
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

/// Write everything (a reader that went away drops the rest).
fn write_all(fd: i32, mut data: &[u8]) {
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

/// The console socket a foreground process with a terminal needs: the
/// caller's, or (none given, not detached) our own relay's.
pub fn socket_for(
    terminal: bool,
    given: Option<&Path>,
    detach: bool,
) -> Result<(Option<PathBuf>, Option<Listener>)> {
    match (terminal, given) {
        (true, None) if detach => Err(Fail::new(
            "cannot allocate a terminal when detaching without --console-socket",
        )),
        (true, None) => {
            let l = Listener::new()?;
            Ok((Some(l.path()), Some(l)))
        }
        (_, given) => Ok((given.map(Path::to_path_buf), None)),
    }
}
