//! Host paths for an init in a new user namespace.
//!
//! The init's root is mapped (say to host uid 1000): it may not search a
//! root-only directory such as the runtime's `--root` (0700) or a bundle
//! made with mkdtemp (0700), so it cannot reach its own state directory,
//! rootfs or bind sources by name. A descriptor opened by the parent does
//! not help either: its mount belongs to the parent's mount namespace and
//! the kernel refuses to bind from or onto it (EINVAL). So, as runc opens
//! mount sources before the user namespace takes effect, a short-lived
//! helper forked by the parent joins the init's mount namespace with the
//! runtime's credentials, opens each path `O_PATH` there and passes the
//! descriptors over a socketpair; the init puts them on numbers fixed in
//! the plan (placeholders until then) and reaches them as
//! `/proc/self/fd/N[/name]` until it has entered its root.
//!
//! An image layer under an overlay rootfs is sent as an idmapped mount
//! instead: the helper clones the directory's mount (`open_tree`,
//! detached), marks it read-only and idmapped through the init's user
//! namespace (`mount_setattr(MOUNT_ATTR_IDMAP)`), so a file the layer
//! stores as uid 0 is owned by the container's root, and the init gives
//! the detached mounts to overlayfs as its lower layers (overlayfs takes
//! idmapped and, since Linux 6.15, detached layers; the overlay mount
//! itself cannot be idmapped). Nothing is attached anywhere: the mounts
//! live as long as the overlay holds them.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};

use crate::error::{Error, Result};

/// At most this many paths (one message; SCM_MAX_FD is 253).
pub(crate) const MAX: usize = 64;

/// The payload: `[count, 0]` on success, `[-1 - index, errno]` when the
/// helper could not open path `index` (-1: could not join the namespace).
type Payload = [i32; 2];

/// The parent's end: the socket and the paths, in `targets` order.
pub(crate) struct HostPaths {
    pub sock: OwnedFd,
    pub paths: Vec<CString>,
    /// Per path: send an idmapped read-only detached mount of it.
    pub idmap: Vec<bool>,
}

/// The kernel's `struct mount_attr` (MOUNT_ATTR_SIZE_VER0).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

const OPEN_TREE_CLONE: libc::c_uint = 1;
const MOUNT_ATTR_RDONLY: u64 = 0x1;
const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;

/// Fork the helper: join `pid`'s mount namespace, open the paths, send
/// them; then reap it. Everything the helper touches is made here first
/// (it runs after a fork of a possibly multi-threaded process).
pub(crate) fn send(pid: i32, hp: &HostPaths) -> Result<()> {
    let ns: OwnedFd = std::fs::File::open(format!("/proc/{pid}/ns/mnt"))
        .map_err(|e| Error::io("open", format!("/proc/{pid}/ns/mnt"), e))?
        .into();
    let userns: Option<OwnedFd> = if hp.idmap.iter().any(|i| *i) {
        Some(
            std::fs::File::open(format!("/proc/{pid}/ns/user"))
                .map_err(|e| Error::io("open", format!("/proc/{pid}/ns/user"), e))?
                .into(),
        )
    } else {
        None
    };
    let userns_fd = userns.as_ref().map_or(-1, |f| f.as_raw_fd());
    let n = hp.paths.len();
    let mut fds = vec![-1i32; n];
    // SAFETY: CMSG_SPACE is arithmetic on its argument.
    let space = unsafe { libc::CMSG_SPACE((n * std::mem::size_of::<i32>()) as u32) } as usize;
    let mut cbuf = vec![0u64; space.div_ceil(8)];
    // SAFETY: a fork-like clone (no new stack); the child only makes system
    // calls on the buffers above and exits.
    let ret = unsafe { libc::syscall(libc::SYS_clone, libc::SIGCHLD as libc::c_ulong, 0, 0, 0, 0) };
    if ret == 0 {
        // SAFETY: we are the helper; helper() never returns.
        unsafe { helper(ns.as_raw_fd(), userns_fd, hp, &mut fds, &mut cbuf, space) }
    }
    if ret < 0 {
        return Err(Error::sys(
            "fork the host-path helper",
            std::io::Error::last_os_error(),
        ));
    }
    let mut status = 0;
    // SAFETY: reaping the helper we forked; then no more data from our
    // end, so an init still waiting (the helper died before sending) reads
    // EOF and fails instead of waiting for ever.
    unsafe {
        libc::waitpid(ret as i32, &mut status, 0);
        libc::shutdown(hp.sock.as_raw_fd(), libc::SHUT_WR);
    }
    Ok(())
}

/// # Safety
/// Only in the freshly forked helper: system calls, no allocation.
unsafe fn helper(
    ns: i32,
    userns: i32,
    hp: &HostPaths,
    fds: &mut [i32],
    cbuf: &mut [u64],
    space: usize,
) -> ! {
    let sock = hp.sock.as_raw_fd();
    // SAFETY: the helper's own syscalls on buffers made before the fork.
    unsafe {
        if libc::setns(ns, libc::CLONE_NEWNS) != 0 {
            send_msg(sock, &[-1, crate::linux::init::sys::errno()], None);
            libc::_exit(1);
        }
        for (i, p) in hp.paths.iter().enumerate() {
            let fd = if hp.idmap.get(i).copied().unwrap_or(false) {
                idmapped(p, userns)
            } else {
                libc::open(p.as_ptr(), libc::O_PATH | libc::O_CLOEXEC)
            };
            if fd < 0 {
                send_msg(
                    sock,
                    &[-2 - i as i32, crate::linux::init::sys::errno()],
                    None,
                );
                libc::_exit(1);
            }
            fds[i] = fd;
        }
        let payload: Payload = [fds.len() as i32, 0];
        let buf = std::slice::from_raw_parts_mut(cbuf.as_mut_ptr() as *mut u8, space);
        send_msg(sock, &payload, Some((fds, buf)));
        libc::_exit(0)
    }
}

/// A detached, read-only clone of `path`'s mount, idmapped through
/// `userns`; its fd, or -1 (errno set).
///
/// # Safety
/// System calls only (runs in the forked helper).
unsafe fn idmapped(path: &CString, userns: i32) -> i32 {
    // SAFETY: open_tree on a NUL-terminated path; checked.
    let tree = unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            libc::AT_FDCWD,
            path.as_ptr(),
            OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint,
        )
    } as i32;
    if tree < 0 {
        return -1;
    }
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY,
        attr_clr: 0,
        propagation: 0,
        userns_fd: userns as u64,
    };
    // SAFETY: mount_setattr on the detached tree we own, a valid struct.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            tree,
            c"".as_ptr(),
            libc::AT_EMPTY_PATH,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if r != 0 {
        // SAFETY: errno kept across the close of our own fd.
        unsafe {
            let e = crate::linux::init::sys::errno();
            libc::close(tree);
            *libc::__errno_location() = e;
        }
        return -1;
    }
    tree
}

/// sendmsg of `payload`, with `fds` as SCM_RIGHTS in `cbuf` when given.
///
/// # Safety
/// `cbuf` is CMSG_SPACE(fds) bytes, 8-aligned.
unsafe fn send_msg(sock: i32, payload: &Payload, fds: Option<(&[i32], &mut [u8])>) {
    // SAFETY: a msghdr over the caller's buffers (see # Safety).
    unsafe {
        let mut iov = libc::iovec {
            iov_base: payload.as_ptr() as *mut libc::c_void,
            iov_len: std::mem::size_of::<Payload>(),
        };
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        if let Some((fds, cbuf)) = fds {
            msg.msg_control = cbuf.as_mut_ptr() as *mut libc::c_void;
            msg.msg_controllen = cbuf.len() as _;
            let c = libc::CMSG_FIRSTHDR(&msg);
            (*c).cmsg_level = libc::SOL_SOCKET;
            (*c).cmsg_type = libc::SCM_RIGHTS;
            (*c).cmsg_len = libc::CMSG_LEN(std::mem::size_of_val(fds) as u32) as _;
            std::ptr::copy_nonoverlapping(
                fds.as_ptr() as *const u8,
                libc::CMSG_DATA(c),
                std::mem::size_of_val(fds),
            );
        }
        libc::sendmsg(sock, &msg, libc::MSG_NOSIGNAL);
    }
}

/// In the init: receive the descriptors and dup each onto its target.
/// System calls only, on stack buffers. Err(errno) on any failure (the
/// helper's own errno when it could not open a path).
pub(crate) fn receive(sock: i32, targets: &[OwnedFd]) -> std::result::Result<(), i32> {
    let mut payload: Payload = [0; 2];
    let mut cbuf = [0u64; 48]; // >= CMSG_SPACE(MAX * 4)
                               // SAFETY: a msghdr over the two stack buffers above.
    let (got, ctrl) = unsafe {
        let mut iov = libc::iovec {
            iov_base: payload.as_mut_ptr() as *mut libc::c_void,
            iov_len: std::mem::size_of::<Payload>(),
        };
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.as_mut_ptr() as *mut libc::c_void;
        msg.msg_controllen = std::mem::size_of_val(&cbuf) as _;
        let r = libc::recvmsg(sock, &mut msg, libc::MSG_CMSG_CLOEXEC);
        if r < 0 {
            return Err(crate::linux::init::sys::errno());
        }
        let c = libc::CMSG_FIRSTHDR(&msg);
        let ctrl = if c.is_null() || (*c).cmsg_type != libc::SCM_RIGHTS {
            None
        } else {
            Some(libc::CMSG_DATA(c) as *const i32)
        };
        (r as usize, ctrl)
    };
    if got != std::mem::size_of::<Payload>() {
        return Err(libc::EPROTO);
    }
    if payload[0] < 0 {
        return Err(if payload[1] != 0 {
            payload[1]
        } else {
            libc::EIO
        });
    }
    let Some(data) = ctrl else {
        return Err(libc::EPROTO);
    };
    if payload[0] as usize != targets.len() {
        return Err(libc::EPROTO);
    }
    for (i, t) in targets.iter().enumerate() {
        // SAFETY: the kernel wrote `targets.len()` descriptors at `data`.
        let fd = unsafe { std::ptr::read_unaligned(data.add(i)) };
        // SAFETY: dup3 onto the placeholder number we own, then close the
        // received copy.
        let r = unsafe { libc::dup3(fd, t.as_raw_fd(), libc::O_CLOEXEC) };
        // SAFETY: as above.
        unsafe { libc::close(fd) };
        if r < 0 {
            return Err(crate::linux::init::sys::errno());
        }
    }
    Ok(())
}
