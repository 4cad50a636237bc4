//! Terminals for `exec -t`: a console socket that receives the pty master
//! the core library sends (SCM_RIGHTS, runc's protocol), our own terminal
//! in raw mode while attached, and the copy loop between the two (the
//! last two are the core's `containerv::linux::console`).

use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

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
    containerv::linux::console::window_size(0)
}

/// Raw mode on our terminal while attached (restored on drop): the core's.
pub use containerv::linux::console::RawMode;

/// Copies the master's output to stdout until the terminal closes; with
/// `input`, stdin to the master. Our window size follows (SIGWINCH): the
/// core's relay, the one the OCI runtime uses.
pub fn proxy(master: File, input: bool) -> Result<()> {
    containerv::linux::console::relay(&OwnedFd::from(master), input)
        .map_err(|e| Error::sys("terminal relay", e))
}
