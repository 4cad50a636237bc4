//! System-call helpers for the child between clone and exec.
//!
//! The init is cloned from a possibly multi-threaded caller, so until it
//! execs (or forever, for the built-in reaper) it may not allocate or take a
//! lock. Everything here works on fixed-size stack buffers and raw fds and
//! returns the errno on failure.

use std::ffi::CStr;

/// Longest path the child builds on its stack (PATH_MAX).
pub(crate) const PATH_BUF: usize = 4096;

/// The errno of the last failed call.
pub(crate) fn errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// `Err(errno)` when a call returned a negative value.
pub(crate) fn check(ret: libc::c_long) -> Result<libc::c_long, i32> {
    if ret < 0 {
        Err(errno())
    } else {
        Ok(ret)
    }
}

/// A NUL-terminated path built on the stack.
pub(crate) struct PathBuf0 {
    buf: [u8; PATH_BUF],
    len: usize,
}

impl PathBuf0 {
    pub(crate) fn new() -> Self {
        PathBuf0 {
            buf: [0; PATH_BUF],
            len: 0,
        }
    }

    /// Append bytes; `ENAMETOOLONG` if they do not fit.
    pub(crate) fn push(&mut self, bytes: &[u8]) -> Result<(), i32> {
        if self.len + bytes.len() + 1 > PATH_BUF {
            return Err(libc::ENAMETOOLONG);
        }
        self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
        self.buf[self.len] = 0;
        Ok(())
    }

    /// Append a decimal number.
    pub(crate) fn push_num(&mut self, mut n: u64) -> Result<(), i32> {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.push(&digits[i..])
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The path so far, without the NUL.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    pub(crate) fn as_ptr(&self) -> *const libc::c_char {
        self.buf.as_ptr().cast()
    }
}

/// `/proc/self/fd/<fd>` on the stack: the magic link `mount` and `open`
/// follow to reach exactly the file an fd refers to.
pub(crate) fn fd_path(fd: i32) -> PathBuf0 {
    let mut p = PathBuf0::new();
    // Short fixed prefix plus at most 20 digits: always fits.
    let _ = p.push(b"/proc/self/fd/");
    let _ = p.push_num(fd as u64);
    p
}

/// `mount(2)`; `None` pointers are passed as NULL.
pub(crate) fn mount(
    source: Option<&CStr>,
    target: *const libc::c_char,
    fstype: Option<&CStr>,
    flags: libc::c_ulong,
    data: Option<&CStr>,
) -> Result<(), i32> {
    let p = |c: Option<&CStr>| c.map_or(std::ptr::null(), |c| c.as_ptr());
    // SAFETY: every pointer is NULL or a NUL-terminated string that outlives the call.
    let r = unsafe {
        libc::mount(
            p(source),
            target,
            p(fstype),
            flags,
            p(data).cast::<libc::c_void>(),
        )
    };
    check(r as libc::c_long).map(drop)
}

/// The kernel's `struct open_how` (libc's is non-exhaustive).
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// `openat2(dirfd, path, flags, resolve)`.
pub(crate) fn openat2(
    dirfd: i32,
    path: *const libc::c_char,
    flags: i32,
    resolve: u64,
) -> Result<i32, i32> {
    let how = OpenHow {
        flags: (flags | libc::O_CLOEXEC) as u64,
        mode: 0,
        resolve,
    };
    // EAGAIN: with RESOLVE_IN_ROOT the kernel gives up when a mount or a
    // rename anywhere on the system raced the lookup (other containers
    // being set up at the same time do this); retry, bounded.
    let mut tries = 0;
    loop {
        // SAFETY: `how` and `path` are valid for the call; the kernel copies them.
        let r = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dirfd,
                path,
                &how as *const OpenHow,
                std::mem::size_of::<OpenHow>(),
            )
        };
        match check(r) {
            Err(e) if (e == libc::EAGAIN || e == libc::EINTR) && tries < 256 => tries += 1,
            r => return r.map(|fd| fd as i32),
        }
    }
}

/// `openat(dirfd, path, flags | O_CLOEXEC, mode)`.
pub(crate) fn openat(
    dirfd: i32,
    path: *const libc::c_char,
    flags: i32,
    mode: u32,
) -> Result<i32, i32> {
    // SAFETY: `path` is NUL-terminated and valid for the call.
    let r = unsafe { libc::openat(dirfd, path, flags | libc::O_CLOEXEC, mode) };
    check(r as libc::c_long).map(|fd| fd as i32)
}

pub(crate) fn close(fd: i32) {
    // SAFETY: closing an fd this child owns; errors are irrelevant here.
    unsafe { libc::close(fd) };
}

/// Write all of `buf` to `fd`, retrying on EINTR.
pub(crate) fn write_all(fd: i32, mut buf: &[u8]) -> Result<(), i32> {
    while !buf.is_empty() {
        // SAFETY: `buf` is a valid slice for the call.
        let r = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if r < 0 {
            let e = errno();
            if e == libc::EINTR {
                continue;
            }
            return Err(e);
        }
        buf = &buf[r as usize..];
    }
    Ok(())
}

/// Read one byte from `fd` (a sync pipe); `EPIPE` on end of file.
pub(crate) fn read_byte(fd: i32) -> Result<u8, i32> {
    let mut b = 0u8;
    loop {
        // SAFETY: reading one byte into a local.
        let r = unsafe { libc::read(fd, (&mut b as *mut u8).cast(), 1) };
        match r {
            1 => return Ok(b),
            0 => return Err(libc::EPIPE),
            _ => {
                let e = errno();
                if e != libc::EINTR {
                    return Err(e);
                }
            }
        }
    }
}

/// Close every fd except those in `keep` (sorted ascending), with
/// `close_range` over the gaps.
pub(crate) fn close_all_except(keep: &[i32]) {
    let mut lo: u32 = 0;
    for &k in keep {
        let k = k as u32;
        if k > lo {
            // SAFETY: closing a range of this child's fds.
            unsafe { libc::syscall(libc::SYS_close_range, lo, k - 1, 0) };
        }
        lo = k + 1;
    }
    // SAFETY: as above, up to the largest fd number.
    unsafe { libc::syscall(libc::SYS_close_range, lo, u32::MAX, 0) };
}

/// `struct ifreq` with the flags member of its union (40 bytes).
#[repr(C)]
struct IfreqFlags {
    name: [u8; libc::IFNAMSIZ],
    flags: libc::c_short,
    _pad: [u8; 22],
}

/// Bring `lo` of the caller's network namespace up (runc does this for
/// every new network namespace; docker's `--network none` has it up).
pub(crate) fn loopback_up() -> Result<(), i32> {
    // SAFETY: a plain socket call; the fd is closed below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    check(fd as libc::c_long)?;
    let mut req = IfreqFlags {
        name: [0; libc::IFNAMSIZ],
        flags: 0,
        _pad: [0; 22],
    };
    req.name[..2].copy_from_slice(b"lo");
    // SAFETY: `req` is a valid ifreq for SIOCGIFFLAGS/SIOCSIFFLAGS, which
    // read the name and read/write only the flags member.
    let r = unsafe { libc::ioctl(fd, libc::SIOCGIFFLAGS as _, &mut req) };
    let r = if r < 0 {
        Err(errno())
    } else {
        req.flags |= libc::IFF_UP as libc::c_short;
        // SAFETY: as above.
        check(unsafe { libc::ioctl(fd, libc::SIOCSIFFLAGS as _, &req) } as libc::c_long).map(drop)
    };
    close(fd);
    r
}
