//! `SCMP_ACT_NOTIFY`: getting the filter's listener fd to the seccomp agent.
//!
//! Only the process that installs the filter gets the listener, and it is
//! inside the container by then; the agent listens on a host path
//! (`linux.seccomp.listenerPath`). So, as runc does, the runtime is the
//! go-between: before the fork it makes a `SOCK_SEQPACKET` socketpair and
//! a forwarder thread keeps one end. Right after `seccomp(2)` the child
//! sends the listener over its end (SCM_RIGHTS; the kernel adds the
//! child's credentials, so the forwarder learns its host pid) and waits
//! for one status word. The forwarder connects to `listenerPath`, sends the
//! OCI `ContainerProcessState` JSON (`fds: ["seccompFd"]`, `pid`,
//! `metadata` = `listenerMetadata`, the container's `state`) with the fd,
//! and answers the child 0 or the errno of what failed, so an agent that
//! is not there fails the create/exec with a clear error instead of
//! leaving the syscalls waiting forever.
//!
//! The forwarder lives as long as the child may still send: a container
//! created with `StartMode::OnStart` installs its filter at `start`, so
//! the creating process must still be alive then.

use std::collections::HashMap;
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

use nix::sys::socket::{
    recvmsg, sendmsg, setsockopt, socketpair, sockopt, AddressFamily, ControlMessage,
    ControlMessageOwned, MsgFlags, SockFlag, SockType,
};
use oci_spec::runtime::{ContainerProcessStateBuilder, ContainerState, StateBuilder};

use crate::error::{Error, Result};

/// What the agent is told about the container.
#[derive(Debug, Clone)]
pub(crate) struct AgentInfo {
    pub listener_path: PathBuf,
    pub metadata: Option<String>,
    pub id: String,
    pub bundle: PathBuf,
    pub annotations: Option<HashMap<String, String>>,
    pub status: ContainerState,
}

/// Start the forwarder; returns the child's end of the socketpair.
pub(crate) fn spawn_forwarder(info: AgentInfo) -> Result<OwnedFd> {
    let (ours, theirs) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(|e| Error::sys("socketpair for the seccomp listener", e.into()))?;
    setsockopt(&ours, sockopt::PassCred, &true)
        .map_err(|e| Error::sys("SO_PASSCRED on the seccomp listener socket", e.into()))?;
    std::thread::Builder::new()
        .name("seccomp-agent".into())
        .spawn(move || forward(ours, info))
        .map_err(|e| Error::sys("start the seccomp listener forwarder", e))?;
    Ok(theirs)
}

/// Wait for the child's listener, pass it on, answer the child.
fn forward(sock: OwnedFd, info: AgentInfo) {
    let Some((listener, pid)) = receive(sock.as_raw_fd()) else {
        // The child went away (or exec'd) without a listener.
        return;
    };
    let status = match send_to_agent(&info, &listener, pid) {
        Ok(()) => 0,
        Err(e) => {
            tracing::warn!("seccomp agent at {}: {e}", info.listener_path.display());
            e.raw_os_error().unwrap_or(libc::EIO)
        }
    };
    let _ = nix::sys::socket::send(
        sock.as_raw_fd(),
        &status.to_ne_bytes(),
        MsgFlags::MSG_NOSIGNAL,
    );
}

/// One message with one fd and the sender's credentials.
fn receive(sock: RawFd) -> Option<(OwnedFd, i32)> {
    let mut buf = [0u8; 8];
    let mut iov = [IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!(RawFd, libc::ucred);
    let msg = loop {
        match recvmsg::<()>(sock, &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return None,
            Ok(m) => break m,
        }
    };
    let (mut fd, mut pid) = (None, None);
    for c in msg.cmsgs().ok()? {
        match c {
            ControlMessageOwned::ScmRights(fds) => {
                for f in fds {
                    // SAFETY: a descriptor the kernel just gave us; owned once.
                    let f = unsafe { OwnedFd::from_raw_fd(f) };
                    fd.get_or_insert(f);
                }
            }
            ControlMessageOwned::ScmCredentials(c) => pid = Some(c.pid()),
            _ => {}
        }
    }
    Some((fd?, pid?))
}

/// Connect to `listenerPath` and send the state and the listener.
fn send_to_agent(info: &AgentInfo, listener: &OwnedFd, pid: i32) -> std::io::Result<()> {
    let other = |e: oci_spec::OciSpecError| std::io::Error::other(e.to_string());
    let mut state = StateBuilder::default()
        .version("1.2.0")
        .id(info.id.clone())
        .status(info.status)
        .pid(pid)
        .bundle(info.bundle.clone());
    if let Some(a) = &info.annotations {
        state = state.annotations(a.clone());
    }
    let mut cps = ContainerProcessStateBuilder::default()
        .version("1.2.0")
        .fds(vec![oci_spec::runtime::SECCOMP_FD_NAME.to_string()])
        .pid(pid)
        .state(state.build().map_err(other)?);
    if let Some(m) = &info.metadata {
        cps = cps.metadata(m.clone());
    }
    let json = serde_json::to_vec(&cps.build().map_err(other)?)?;
    let conn = UnixStream::connect(&info.listener_path)?;
    let fds = [listener.as_raw_fd()];
    sendmsg::<()>(
        conn.as_raw_fd(),
        &[IoSlice::new(&json)],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::MSG_NOSIGNAL,
        None,
    )?;
    Ok(())
}

/// In the child, right after `seccomp(2)`: send `listener` over `sock` and
/// wait for the forwarder's answer (0 or an errno). Closes both. System
/// calls only, no allocation.
pub(crate) fn hand_over(sock: RawFd, listener: RawFd) -> std::result::Result<(), i32> {
    // CMSG_SPACE(sizeof(int)) = 24 on 64-bit; a u64 array keeps alignment.
    let mut control = [0u64; 4];
    let mut byte = *b"L";
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    let r = (|| {
        // SAFETY: msghdr over stack buffers that outlive the call; the
        // CMSG_* helpers only compute addresses inside `control`.
        unsafe {
            let mut msg: libc::msghdr = std::mem::zeroed();
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = control.as_mut_ptr().cast();
            msg.msg_controllen = libc::CMSG_SPACE(4) as _;
            let c = libc::CMSG_FIRSTHDR(&msg);
            (*c).cmsg_level = libc::SOL_SOCKET;
            (*c).cmsg_type = libc::SCM_RIGHTS;
            (*c).cmsg_len = libc::CMSG_LEN(4) as _;
            std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<i32>(), listener);
            if libc::sendmsg(sock, &msg, libc::MSG_NOSIGNAL) < 0 {
                return Err(crate::linux::init::sys::errno());
            }
            let mut status = [0u8; 4];
            let n = loop {
                let n = libc::recv(sock, status.as_mut_ptr().cast(), 4, 0);
                if n < 0 && crate::linux::init::sys::errno() == libc::EINTR {
                    continue;
                }
                break n;
            };
            match n {
                4 => match i32::from_ne_bytes(status) {
                    0 => Ok(()),
                    e => Err(e),
                },
                n if n < 0 => Err(crate::linux::init::sys::errno()),
                // The forwarder is gone (its process exited).
                _ => Err(libc::EPIPE),
            }
        }
    })();
    // SAFETY: closing our own descriptors.
    unsafe {
        libc::close(listener);
        libc::close(sock);
    }
    r
}
