//! A terminal for an exec'd process (`process.terminal`), the runc way: a
//! new pty from the container's own devpts (`/dev/pts/ptmx`, reached after
//! joining its mount namespace), the slave as the process's controlling
//! terminal and stdio, and the master sent to the caller's console socket
//! with `SCM_RIGHTS`.
//!
//! The console socket is a host path, so the parent connects to it before
//! the fork; the child only uses the connected descriptor.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use super::init::sys::errno;
use crate::error::{Error, Result};
use crate::linux::step::{ChildError, Step};

/// The parent's side: the connected console socket and the window size.
#[derive(Debug)]
pub(crate) struct Tty {
    socket: OwnedFd,
    size: Option<(u16, u16)>,
}

/// What the child needs, as raw values.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChildTty {
    socket: RawFd,
    size: Option<(u16, u16)>,
    owner: (u32, u32),
}

/// Connect to the console socket at `path` (before forking).
pub(crate) fn connect(path: &Path, size: Option<oci_spec::runtime::Box>) -> Result<Tty> {
    let s = UnixStream::connect(path).map_err(|e| Error::io("connect console socket", path, e))?;
    let clamp = |v: u64| v.min(u16::MAX as u64) as u16;
    Ok(Tty {
        socket: OwnedFd::from(s),
        size: size.map(|b| (clamp(b.height()), clamp(b.width()))),
    })
}

impl Tty {
    /// The child's view; the pty slave will belong to `owner` (uid, gid).
    pub(crate) fn child(&self, owner: (u32, u32)) -> ChildTty {
        ChildTty {
            socket: self.socket.as_raw_fd(),
            size: self.size,
            owner,
        }
    }
}

/// The receiving side of runc's console-socket protocol, for callers of
/// the library (the OCI CLI's own relay, the engine's `exec -t`): the one
/// descriptor, the pty master, sent with `SCM_RIGHTS` on the connected
/// socket `sock`. Received close-on-exec.
pub fn receive_pty_master(sock: std::os::fd::BorrowedFd<'_>) -> std::io::Result<OwnedFd> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    use std::os::fd::FromRawFd;
    let mut buf = [0u8; 256];
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<()>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )?;
    for c in msg.cmsgs()? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            if let Some(&fd) = fds.first() {
                // SAFETY: the kernel just installed this descriptor for us.
                return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
            }
        }
    }
    Err(std::io::Error::other(
        "no descriptor in the console socket message",
    ))
}

impl ChildTty {
    /// The connected console socket (kept open in the child until it is used).
    pub(crate) fn socket(&self) -> RawFd {
        self.socket
    }

    /// In the child (mount namespace joined): open a pty, make its slave
    /// the controlling terminal and fds 0-2, send the master. System calls
    /// only.
    pub(crate) fn setup_in_child(&self) -> Result<(), ChildError> {
        let e = |step: Step| step.failed(errno());
        // SAFETY: open with a static C string.
        let master = unsafe {
            libc::open(
                c"/dev/pts/ptmx".as_ptr(),
                libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
            )
        };
        if master < 0 {
            return Err(e(Step::OpenPty));
        }
        let unlock: libc::c_int = 0;
        // SAFETY: ioctls on the pty master we just opened, with valid args.
        let slave = unsafe {
            if libc::ioctl(master, libc::TIOCSPTLCK, &unlock) < 0 {
                return Err(e(Step::OpenPty));
            }
            libc::ioctl(master, libc::TIOCGPTPEER, libc::O_RDWR | libc::O_NOCTTY)
        };
        if slave < 0 {
            return Err(e(Step::OpenPty));
        }
        // SAFETY: fchown/ioctl/setsid/dup2 on descriptors we own.
        unsafe {
            // Best effort: the user may need to reopen its own terminal.
            libc::fchown(slave, self.owner.0, self.owner.1);
            if let Some((rows, cols)) = self.size {
                let ws = libc::winsize {
                    ws_row: rows,
                    ws_col: cols,
                    ws_xpixel: 0,
                    ws_ypixel: 0,
                };
                libc::ioctl(slave, libc::TIOCSWINSZ, &ws);
            }
            if libc::setsid() < 0 {
                return Err(e(Step::Setsid));
            }
            if libc::ioctl(slave, libc::TIOCSCTTY, 0) < 0 {
                return Err(e(Step::SetControllingTerminal));
            }
            for n in 0..3 {
                if libc::dup2(slave, n) < 0 {
                    return Err(e(Step::DupStdio));
                }
            }
            if slave > 2 {
                libc::close(slave);
            }
        }
        send_fd(self.socket, master).map_err(|errno| Step::SendPtyMaster.failed(errno))?;
        // SAFETY: closing descriptors the exec'd program must not keep.
        unsafe {
            libc::close(master);
            libc::close(self.socket);
        }
        Ok(())
    }
}

/// Send `fd` over unix socket `socket` with SCM_RIGHTS, with the pty's
/// name as the payload (what runc's recvtty expects). No allocation.
fn send_fd(socket: RawFd, fd: RawFd) -> Result<(), i32> {
    #[repr(C)]
    struct Cmsg {
        hdr: libc::cmsghdr,
        fd: libc::c_int,
        _pad: libc::c_int,
    }
    let name = b"/dev/pts/ptmx";
    let mut iov = libc::iovec {
        iov_base: name.as_ptr() as *mut libc::c_void,
        iov_len: name.len(),
    };
    // SAFETY: zeroed plain-old-data structs, filled in below.
    let mut cmsg: Cmsg = unsafe { std::mem::zeroed() };
    // SAFETY: CMSG_LEN is arithmetic only.
    cmsg.hdr.cmsg_len = unsafe { libc::CMSG_LEN(std::mem::size_of::<libc::c_int>() as u32) } as _;
    cmsg.hdr.cmsg_level = libc::SOL_SOCKET;
    cmsg.hdr.cmsg_type = libc::SCM_RIGHTS;
    cmsg.fd = fd;
    // SAFETY: as above.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = (&mut cmsg as *mut Cmsg).cast();
    // SAFETY: CMSG_SPACE is arithmetic only.
    msg.msg_controllen =
        unsafe { libc::CMSG_SPACE(std::mem::size_of::<libc::c_int>() as u32) } as _;
    // SAFETY: sendmsg with a msghdr whose pointers refer to live locals.
    if unsafe { libc::sendmsg(socket, &msg, libc::MSG_NOSIGNAL) } < 0 {
        return Err(errno());
    }
    Ok(())
}
