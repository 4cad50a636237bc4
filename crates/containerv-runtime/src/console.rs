//! A foreground `run` or `exec` of a process with a terminal and no
//! `--console-socket` (someone typing `containerv run` by hand): as runc
//! does, the runtime takes the pty master itself, over a private console
//! socket, and sits between it and its own stdio until the container
//! side of the pty is closed. Its own terminal, when stdin is one, is put
//! in raw mode (keys such as Ctrl-C reach the container's terminal, which
//! turns them into signals) and restored afterwards; the pty follows its
//! window size (SIGWINCH). The terminal side is the core's
//! `containerv::linux::console`, shared with the engine.

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use containerv::linux::console;

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

/// The size the container's pty should start with (it is made before the
/// relay runs, and a program may ask at once): ours, if we have a terminal.
pub fn initial_size(p: &mut oci_spec::runtime::Process) {
    if let Some((rows, cols)) = console::our_window_size() {
        if let Ok(b) = oci_spec::runtime::BoxBuilder::default()
            .height(u64::from(rows))
            .width(u64::from(cols))
            .build()
        {
            p.set_console_size(Some(b));
        }
    }
}

/// Relay between our stdio and `master` until the container side of the
/// pty is closed, our terminal (if stdin is one) in raw mode meanwhile
/// (`containerv::linux::console`, shared with the engine). Call after the
/// container's processes exist (SIGWINCH gets blocked here).
pub fn relay(master: OwnedFd) -> Result<()> {
    let _raw = console::RawMode::stdin();
    console::relay(&master, true).map_err(|e| Fail::new(format!("terminal relay: {e}")))
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
