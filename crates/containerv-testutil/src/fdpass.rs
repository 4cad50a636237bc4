//! The receiving end of descriptor passing (SCM_RIGHTS over a Unix socket),
//! the way runc's callers do it: a console socket that gets a pty master
//! (`--console-socket`, `process.terminal`), and a seccomp agent that gets
//! the notify listener with the container state.

use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};

/// One message from `conn`: its bytes go into `buf`; the first descriptor
/// it carried (now owned by the caller), and the byte count. Panics on a
/// socket error (a test helper).
pub fn recv_fd(conn: &impl AsFd, buf: &mut [u8]) -> (Option<OwnedFd>, usize) {
    let mut iov = [std::io::IoSliceMut::new(buf)];
    let mut cmsg = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<()>(
        conn.as_fd().as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::empty(),
    )
    .unwrap();
    let mut fd = None;
    for c in msg.cmsgs().unwrap() {
        if let ControlMessageOwned::ScmRights(fds) = c {
            for (i, &raw) in fds.iter().enumerate() {
                // SAFETY: a descriptor just received, now ours.
                let owned = unsafe { OwnedFd::from_raw_fd(raw) };
                // Only the first is returned; the others close on drop.
                if i == 0 && fd.is_none() {
                    fd = Some(owned);
                }
            }
        }
    }
    (fd, msg.bytes)
}

/// A console socket listening at `<dir>/console.sock`; the thread accepts
/// one connection and returns the descriptor it received (the pty master)
/// and the message text (runc sends the pty's name). The thread panics if
/// the message carried no descriptor.
pub fn console_socket(dir: &Path) -> (PathBuf, JoinHandle<(OwnedFd, String)>) {
    let sock = dir.join("console.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let h = std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let (fd, n) = recv_fd(&conn, &mut buf);
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        (fd.expect("no descriptor received"), text)
    });
    (sock, h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;

    use nix::sys::socket::{sendmsg, ControlMessage};

    /// Sends `text` with `fd` attached, as the runtime does.
    fn send(path: &Path, text: &[u8], fd: RawFd) {
        let s = UnixStream::connect(path).unwrap();
        let iov = [std::io::IoSlice::new(text)];
        let fds = [fd];
        sendmsg::<()>(
            s.as_raw_fd(),
            &iov,
            &[ControlMessage::ScmRights(&fds)],
            MsgFlags::empty(),
            None,
        )
        .unwrap();
    }

    #[test]
    fn console_socket_returns_the_descriptor_and_text() {
        let dir = crate::temp_root();
        let (sock, h) = console_socket(dir.path());
        let (mut mine, theirs) = UnixStream::pair().unwrap();
        send(&sock, b"/dev/pts/7", theirs.as_raw_fd());
        drop(theirs);
        let (fd, text) = h.join().unwrap();
        assert_eq!(text, "/dev/pts/7");
        // The received descriptor is the same socket: data crosses.
        let mut got = UnixStream::from(fd);
        mine.write_all(b"ping").unwrap();
        let mut b = [0u8; 4];
        got.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"ping");
    }

    #[test]
    fn a_message_without_a_descriptor_gives_none() {
        let (a, b) = UnixStream::pair().unwrap();
        (&a).write_all(b"no fd").unwrap();
        let mut buf = [0u8; 16];
        let (fd, n) = recv_fd(&b, &mut buf);
        assert!(fd.is_none());
        assert_eq!(&buf[..n], b"no fd");
    }
}
