//! Terminals for `exec -t`: a console socket that receives the pty master
//! the core library sends (SCM_RIGHTS, runc's protocol), our own terminal
//! in raw mode while attached, and the copy loop between the two.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use nix::sys::termios::{self, SetArg, Termios};

use crate::error::{Error, Result};

/// A listening console socket; [`ConsoleSocket::receive`] yields the master.
pub struct ConsoleSocket {
    path: PathBuf,
    waiter: Option<JoinHandle<Option<OwnedFd>>>,
}

impl ConsoleSocket {
    /// Listens at `path` (removed again on drop) and accepts one sender
    /// in the background.
    pub fn listen(path: &Path) -> Result<Self> {
        let _ = std::fs::remove_file(path);
        let l = UnixListener::bind(path).map_err(|e| Error::io("bind console socket", path, e))?;
        let waiter = std::thread::spawn(move || {
            let (conn, _) = l.accept().ok()?;
            containerv::linux::receive_pty_master(conn.as_fd()).ok()
        });
        Ok(ConsoleSocket {
            path: path.to_path_buf(),
            waiter: Some(waiter),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The pty master, once the process was started.
    pub fn receive(mut self) -> Result<File> {
        let fd = self
            .waiter
            .take()
            .and_then(|w| w.join().ok().flatten())
            .ok_or_else(|| {
                Error::sys(
                    "receive the terminal",
                    std::io::Error::other("no pty master arrived"),
                )
            })?;
        Ok(File::from(fd))
    }
}

impl Drop for ConsoleSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Our terminal's size (rows, columns), if stdin is a terminal.
pub fn window_size() -> Option<(u16, u16)> {
    // SAFETY: an all-zero winsize is a valid value.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ fills a winsize.
    let r = unsafe { libc::ioctl(0, libc::TIOCGWINSZ, &mut ws) };
    (r == 0 && ws.ws_row > 0).then_some((ws.ws_row, ws.ws_col))
}

/// Puts stdin's terminal in raw mode until dropped.
pub struct RawMode {
    saved: Option<Termios>,
}

impl RawMode {
    pub fn enter() -> RawMode {
        let stdin = std::io::stdin();
        let saved = termios::tcgetattr(stdin.as_fd()).ok();
        if let Some(t) = &saved {
            let mut raw = t.clone();
            termios::cfmakeraw(&mut raw);
            let _ = termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw);
        }
        RawMode { saved }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(t) = &self.saved {
            let _ = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, t);
        }
    }
}

/// Copies the master's output to stdout until the terminal closes; with
/// `input`, copies stdin to the master in the background.
pub fn proxy(master: File, input: bool) -> Result<()> {
    if input {
        let mut to = master
            .try_clone()
            .map_err(|e| Error::sys("dup the terminal", e))?;
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            let mut stdin = std::io::stdin();
            while let Ok(n) = stdin.read(&mut buf) {
                if n == 0 || to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        });
    }
    let mut from = master;
    let mut out = std::io::stdout();
    let mut buf = [0u8; 4096];
    loop {
        match from.read(&mut buf) {
            // EIO once the last slave closed.
            Ok(0) | Err(_) => return Ok(()),
            Ok(n) => {
                let _ = out.write_all(&buf[..n]);
                let _ = out.flush();
            }
        }
    }
}
