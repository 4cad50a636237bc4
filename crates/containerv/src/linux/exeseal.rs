//! The runtime binary as a read-only or sealed copy (the CVE-2019-5736
//! class): every process that enters a container runs from a binary that
//! cannot be written through its `/proc/<pid>/exe`.
//!
//! A container's init (until its execve) and every `exec`'d process are
//! clones of the process that made them (the OCI runtime, the engine's
//! monitor, `cv exec`), so their `exe` is that binary. Non-dumpable stops
//! other container processes from opening it, except one holding
//! `CAP_SYS_PTRACE` over them; and non-dumpable ends at execve: a container
//! file starting with `#!/proc/self/exe` makes the kernel execute the
//! entering process's own binary inside the container, dumpable, so any
//! container process opens its `exe`, keeps the descriptor, and writes
//! the host binary once no process runs it any more. So, as runc (1.1.12+)
//! and crun do, the entering process first re-executes itself
//! ([`ensure_sealed`]) from a binary that cannot be written through: the
//! same file seen through a private, detached, read-only bind mount of
//! its directory (`open_tree(OPEN_TREE_CLONE)` +
//! `mount_setattr(MOUNT_ATTR_RDONLY)`: no copy, never attached to any
//! mount table, gone with the last process using it; a write through
//! `/proc/<pid>/exe` gets EROFS), or, where the kernel lacks those calls,
//! a sealed memfd copy (`F_SEAL_WRITE|GROW|SHRINK|SEAL`). Measured here:
//! the read-only mount costs ~1.6 ms a `run`, the memfd copy of the 5 MB
//! static binary ~12 ms (sendfile alone 5 ms). A binary already on a
//! read-only mount needs neither.

use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use crate::error::{Error, Result};

/// The seals that make the copy immutable.
const SEALS: libc::c_int =
    libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;

/// `MFD_EXEC` (Linux 6.3): asks for an executable memfd where
/// `vm.memfd_noexec` would otherwise make it non-executable.
const MFD_EXEC: libc::c_uint = 0x0010;

/// Whether this process's binary cannot be written through its `exe`:
/// it lives on a read-only mount, or it is a sealed memfd copy.
pub fn is_sealed() -> bool {
    match File::open("/proc/self/exe") {
        Ok(f) => {
            // SAFETY: fstatvfs into a zeroed struct, F_GET_SEALS (-1 with
            // EINVAL for a file that cannot be sealed), on our descriptor.
            unsafe {
                let mut vfs: libc::statvfs = std::mem::zeroed();
                if libc::fstatvfs(f.as_raw_fd(), &mut vfs) == 0 && vfs.f_flag & libc::ST_RDONLY != 0
                {
                    return true;
                }
                let seals = libc::fcntl(f.as_raw_fd(), libc::F_GET_SEALS);
                seals >= 0 && seals & SEALS == SEALS
            }
        }
        Err(_) => false,
    }
}

/// Re-executes this process from a sealed binary unless it already runs
/// from one (see the module docs); returns when it does. Call it first
/// thing in a process that will make or enter a container, before any
/// thread exists: the process starts again with the same arguments,
/// environment and descriptors (those without `O_CLOEXEC`).
pub fn ensure_sealed() -> Result<()> {
    if is_sealed() {
        return Ok(());
    }
    reexec_sealed()
}

fn os_err(what: &'static str) -> Error {
    Error::io(
        what,
        std::path::Path::new("/proc/self/exe"),
        std::io::Error::last_os_error(),
    )
}

/// Execute the running binary again, with the same arguments and
/// environment, from a place that cannot be written through (see the
/// module docs): a read-only detached mount, else a sealed memfd copy.
/// Returns only on failure. Call it before any thread or container
/// exists; descriptors without `O_CLOEXEC` (preserved fds, stdio) pass
/// through unchanged.
pub fn reexec_sealed() -> Result<()> {
    let exe = File::open("/proc/self/exe")
        .map_err(|e| Error::io("open", std::path::Path::new("/proc/self/exe"), e))?;
    let (args, env) = args_and_env();
    if let Some(ro) = open_read_only(&exe) {
        execveat(ro.as_raw_fd(), &args, &env);
        // Not executable that way: fall back to the copy.
    }
    reexec_memfd(&exe, &args, &env)
}

/// argv and envp of this process as C strings.
fn args_and_env() -> (Vec<CString>, Vec<CString>) {
    let cstr = |s: &std::ffi::OsStr| CString::new(s.as_bytes()).ok();
    let args: Vec<CString> = std::env::args_os().filter_map(|a| cstr(&a)).collect();
    let env: Vec<CString> = std::env::vars_os()
        .filter_map(|(k, v)| {
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            CString::new(kv).ok()
        })
        .collect();
    (args, env)
}

/// `execveat(fd, "", argv, envp, AT_EMPTY_PATH)`; returns on failure.
fn execveat(fd: i32, args: &[CString], env: &[CString]) {
    let mut argv: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = env.iter().map(|e| e.as_ptr()).collect();
    envp.push(std::ptr::null());
    // SAFETY: NULL-terminated arrays of C strings that outlive the call.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            fd,
            c"".as_ptr(),
            argv.as_ptr(),
            envp.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
}

/// The kernel's `struct mount_attr` (MOUNT_ATTR_SIZE_VER0).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// `exe` opened (`O_PATH`) through a detached read-only bind mount of its
/// directory, checked to be the same file; `None` where the kernel or
/// the file's place does not allow it.
fn open_read_only(exe: &File) -> Option<OwnedFd> {
    use std::os::unix::fs::MetadataExt;
    let path = std::fs::read_link("/proc/self/exe").ok()?;
    let (dir, name) = (path.parent()?, path.file_name()?);
    let dir = CString::new(dir.as_os_str().as_bytes()).ok()?;
    let name = CString::new(name.as_bytes()).ok()?;
    const OPEN_TREE_CLONE: libc::c_uint = 1;
    const MOUNT_ATTR_RDONLY: u64 = 0x1;
    const MOUNT_ATTR_NOSUID: u64 = 0x2;
    const MOUNT_ATTR_NODEV: u64 = 0x4;
    // SAFETY: open_tree with a NUL-terminated path; the result is checked.
    let tree = unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            libc::AT_FDCWD,
            dir.as_ptr(),
            OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint,
        )
    };
    if tree < 0 {
        return None;
    }
    // SAFETY: open_tree returned a new descriptor we now own.
    let tree = unsafe { OwnedFd::from_raw_fd(tree as i32) };
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: mount_setattr on our detached tree with a valid attr struct.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            tree.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if r != 0 {
        return None;
    }
    // SAFETY: openat relative to our tree with a NUL-terminated name.
    let fd = unsafe {
        libc::openat(
            tree.as_raw_fd(),
            name.as_ptr(),
            libc::O_PATH | libc::O_CLOEXEC | libc::O_NOFOLLOW,
        )
    };
    if fd < 0 {
        return None;
    }
    // SAFETY: openat returned a new descriptor we now own.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // The binary may have been replaced since we started: same file only.
    let ours = exe.metadata().ok()?;
    let theirs = std::fs::metadata(format!("/proc/self/fd/{}", fd.as_raw_fd())).ok()?;
    (ours.dev() == theirs.dev() && ours.ino() == theirs.ino()).then_some(fd)
}

/// The fallback: copy into a memfd, seal it, execute it.
fn reexec_memfd(exe: &File, args: &[CString], env: &[CString]) -> Result<()> {
    let size = exe
        .metadata()
        .map_err(|e| Error::io("stat", std::path::Path::new("/proc/self/exe"), e))?
        .len();
    let name = c"containerv-sealed";
    let flags = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    // SAFETY: memfd_create with a static name; the result is checked.
    let mut fd = unsafe { libc::memfd_create(name.as_ptr(), flags | MFD_EXEC) };
    if fd < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINVAL) {
        // Before Linux 6.3: MFD_EXEC unknown, and every memfd executable.
        // SAFETY: as above.
        fd = unsafe { libc::memfd_create(name.as_ptr(), flags) };
    }
    if fd < 0 {
        return Err(os_err("memfd_create for the sealed runtime copy of"));
    }
    // SAFETY: memfd_create returned a new descriptor we now own.
    let mem = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut left = size;
    while left > 0 {
        // SAFETY: sendfile between two descriptors we own.
        let n = unsafe {
            libc::sendfile(
                mem.as_raw_fd(),
                exe.as_raw_fd(),
                std::ptr::null_mut(),
                left as usize,
            )
        };
        if n < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
            continue;
        }
        if n <= 0 {
            return Err(os_err("copy into the sealed memfd"));
        }
        left -= n as u64;
    }
    // SAFETY: fcntl on our memfd.
    if unsafe { libc::fcntl(mem.as_raw_fd(), libc::F_ADD_SEALS, SEALS) } != 0 {
        return Err(os_err("seal the memfd copy of"));
    }
    execveat(mem.as_raw_fd(), args, env);
    Err(os_err("execute the sealed memfd copy of"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_test_binary_is_not_sealed() {
        assert!(!is_sealed());
    }
}
