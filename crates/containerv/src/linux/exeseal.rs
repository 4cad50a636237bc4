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
//! a sealed memfd copy (`F_SEAL_WRITE|GROW|SHRINK|SEAL`). A binary already
//! on a read-only mount needs neither.
//!
//! What it costs, and why the detached mount's descriptor outlives the
//! re-exec: closing the last descriptor of a detached mount unmounts it,
//! and every unmount waits for an RCU grace period
//! (`synchronize_rcu_expedited` in the kernel's `namespace_unlock`):
//! 0.06 ms on an idle machine, 4–12 ms on this 2-core VM under load,
//! which was most of the protection's cost when the descriptor was closed
//! before the `execveat` (strace: `close` 7.9 ms, `execveat` 0.25 ms). So
//! the descriptor is passed through the re-exec (its number in
//! [`TREE_ENV`]), and the new image closes it on a short-lived thread
//! ([`release_tree`]) while the main thread goes on making the container:
//! the grace period overlaps the work instead of preceding it. The
//! memfd copy is no alternative here: copying the 5.8 MB static binary
//! took 20–50 ms under the same load (page allocation), and runc 1.2 left
//! it for a private overlayfs mount for the same reason.

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
/// environment and descriptors (those without `O_CLOEXEC`). In the
/// re-executed image, the detached mount's descriptor is closed on a
/// short-lived thread ([`release_tree`]).
pub fn ensure_sealed() -> Result<()> {
    ensure_sealed_keep_tree()?;
    release_tree();
    Ok(())
}

/// [`ensure_sealed`], but the detached mount's descriptor stays held (with
/// `O_CLOEXEC`) until [`release_tree`]: for a process that forks first
/// and lets the parent leave (the engine's monitor), so the parent's exit
/// does not wait for the unmount.
pub fn ensure_sealed_keep_tree() -> Result<()> {
    if is_sealed() {
        adopt_tree();
        return Ok(());
    }
    reexec_sealed()
}

/// The environment variable that carries the detached mount's descriptor
/// number through the re-exec (removed from the environment at once).
pub const TREE_ENV: &str = "_CONTAINERV_SEALED_TREE";

/// The detached mount's descriptor, adopted from [`TREE_ENV`].
static TREE: std::sync::Mutex<Option<OwnedFd>> = std::sync::Mutex::new(None);

/// In the re-executed image: take the detached mount's descriptor passed
/// in [`TREE_ENV`], `O_CLOEXEC`, until [`release_tree`]. Only a
/// descriptor on the very mount our binary runs from is taken (a stray
/// variable from a caller cannot make us close one of its descriptors).
pub fn adopt_tree() {
    let Some(v) = std::env::var_os(TREE_ENV) else {
        return;
    };
    std::env::remove_var(TREE_ENV);
    let Some(fd) = v.to_str().and_then(|s| s.parse::<i32>().ok()) else {
        return;
    };
    if fd < 3 || mount_id(fd).is_none() {
        return;
    }
    let Ok(exe) = File::open("/proc/self/exe") else {
        return;
    };
    if mount_id(fd) != mount_id(exe.as_raw_fd()) {
        return;
    }
    // SAFETY: the descriptor was checked to be open and on our own
    // detached mount: nobody else owns it.
    let tree = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: fcntl on the descriptor we now own.
    unsafe { libc::fcntl(tree.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) };
    if let Ok(mut t) = TREE.lock() {
        *t = Some(tree);
    }
}

/// Close the adopted descriptor of the detached mount (if any) on a
/// short-lived thread, so the unmount's RCU grace period (see the module
/// docs) overlaps the caller's work. Call it before any container
/// process is cloned: a clone made before the thread's `close` holds the
/// last reference and would pay the wait itself (the init closes
/// inherited descriptors first thing; that costs time, not safety).
pub fn release_tree() {
    let Some(tree) = TREE.lock().ok().and_then(|mut t| t.take()) else {
        return;
    };
    // Where no thread can be made, the closure (and the descriptor) is
    // dropped here: the wait, but no leak.
    let _ = std::thread::Builder::new()
        .name("exeseal-close".into())
        .stack_size(64 << 10)
        .spawn(move || drop(tree));
}

/// The id of the mount `fd` lies on (`statx` `STATX_MNT_ID`).
fn mount_id(fd: i32) -> Option<u64> {
    // SAFETY: statx of an open descriptor into a zeroed struct.
    unsafe {
        let mut st: libc::statx = std::mem::zeroed();
        let r = libc::statx(
            fd,
            c"".as_ptr(),
            libc::AT_EMPTY_PATH,
            libc::STATX_MNT_ID,
            &mut st,
        );
        (r == 0 && st.stx_mask & libc::STATX_MNT_ID != 0).then_some(st.stx_mnt_id)
    }
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
    let (args, mut env) = args_and_env();
    if let Some((tree, ro)) = open_read_only(&exe) {
        // The tree's descriptor goes through the exec (see the module
        // docs: closing it here would wait for an RCU grace period).
        // SAFETY: fcntl on our own descriptor.
        unsafe { libc::fcntl(tree.as_raw_fd(), libc::F_SETFD, 0) };
        let var = format!("{TREE_ENV}={}", tree.as_raw_fd());
        env.retain(|e| !e.as_bytes().starts_with(format!("{TREE_ENV}=").as_bytes()));
        env.extend(CString::new(var).ok());
        execveat(ro.as_raw_fd(), &args, &env);
        // Not executable that way: fall back to the copy.
        env.retain(|e| !e.as_bytes().starts_with(format!("{TREE_ENV}=").as_bytes()));
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

/// The detached read-only bind mount of `exe`'s directory and `exe`
/// opened (`O_PATH`) through it, checked to be the same file; `None`
/// where the kernel or the file's place does not allow it.
fn open_read_only(exe: &File) -> Option<(OwnedFd, OwnedFd)> {
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
    (ours.dev() == theirs.dev() && ours.ino() == theirs.ino()).then_some((tree, fd))
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
