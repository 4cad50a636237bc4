//! The runtime binary as a sealed in-memory copy (the CVE-2019-5736
//! class: a container process opens `/proc/<pid>/exe` of a runtime
//! process that joined the container, keeps the descriptor, and writes
//! the host's runtime binary through it once the runtime has exited).
//!
//! A container's init (until `start`) and every `exec`'d process (until
//! its execve) are clones of the runtime, so their `exe` is the runtime
//! binary. They are made non-dumpable before they join the container,
//! which stops every container process except one holding
//! `CAP_SYS_PTRACE` in the runtime's own user namespace: `ptrace_may_access`
//! lets such a process through. For those containers the runtime process
//! first re-executes itself ([`reexec_sealed`]) from a binary that cannot
//! be written through: the same file seen through a private, detached,
//! read-only bind mount of its directory (`open_tree(OPEN_TREE_CLONE)` +
//! `mount_setattr(MOUNT_ATTR_RDONLY)`: no copy, never attached to any
//! mount table, gone with the last process using it; a write through
//! `/proc/<pid>/exe` gets EROFS), or, where the kernel lacks those calls,
//! a sealed memfd copy (`F_SEAL_WRITE|GROW|SHRINK|SEAL`). runc copies on
//! every start; here it is done only when [`spec_exposes_runtime`] /
//! [`exec_exposes_runtime`] say a container process could get through, so
//! the common case (no `CAP_SYS_PTRACE`, or a user namespace) keeps its
//! speed. Measured here: the memfd copy of the 5 MB static binary costs
//! ~12 ms a `run` (sendfile alone 5 ms); the read-only mount far less. A
//! binary already on a read-only mount needs neither.

use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use oci_spec::runtime::{Capability, LinuxNamespaceType, Spec};

use crate::error::{Error, Result};

/// The seals that make the copy immutable.
const SEALS: libc::c_int =
    libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;

/// `MFD_EXEC` (Linux 6.3): asks for an executable memfd where
/// `vm.memfd_noexec` would otherwise make it non-executable.
const MFD_EXEC: libc::c_uint = 0x0010;

/// Bit of `CAP_SYS_PTRACE` in `/proc/<pid>/status` capability masks.
const CAP_SYS_PTRACE_BIT: u64 = 1 << 19;

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

/// Whether some process of a container made from `spec` could reach the
/// runtime's non-dumpable processes in it (see the module docs): its
/// processes may hold `CAP_SYS_PTRACE` in the runtime's user namespace,
/// or it shares a pid namespace with processes this spec does not
/// describe.
pub fn spec_exposes_runtime(spec: &Spec) -> bool {
    let namespaces = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().clone())
        .unwrap_or_default();
    let has = |t: LinuxNamespaceType| namespaces.iter().find(|n| n.typ() == t);
    match has(LinuxNamespaceType::Pid) {
        Some(ns) if ns.path().is_none() => {}
        // The host's pid namespace, or a joined one: other processes.
        _ => return true,
    }
    if let Some(user) = has(LinuxNamespaceType::User) {
        // A new user namespace: the container's capabilities are its own,
        // never CAP_SYS_PTRACE over the runtime (a joined one may be ours).
        if user.path().is_none() {
            return false;
        }
    }
    let caps = spec
        .process()
        .as_ref()
        .and_then(|p| p.capabilities().clone());
    match caps.and_then(|c| c.bounding().clone()) {
        Some(bounding) => bounding.contains(&Capability::SysPtrace),
        // No bounding set in the spec: nothing is dropped.
        None => true,
    }
}

/// For an `exec`: whether the container (made from `spec`, with the
/// processes `pids` now) could reach the process about to join it.
/// Beyond [`spec_exposes_runtime`], an earlier `exec --cap CAP_SYS_PTRACE`
/// may have put a process with that capability into a container whose
/// spec has none.
pub fn exec_exposes_runtime(spec: &Spec, pids: impl FnOnce() -> Vec<i32>) -> bool {
    if spec_exposes_runtime(spec) {
        return true;
    }
    let own_userns = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|ns| {
            ns.iter()
                .any(|n| n.typ() == LinuxNamespaceType::User && n.path().is_none())
        });
    !own_userns && pids_expose_runtime(&pids())
}

/// Whether any of `pids` (a container's processes) has `CAP_SYS_PTRACE`
/// in its bounding set: an `exec` with `--cap CAP_SYS_PTRACE` may have
/// added one to a container whose spec has none. A process that is gone
/// is skipped.
pub fn pids_expose_runtime(pids: &[i32]) -> bool {
    pids.iter().any(|pid| {
        let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
            return false;
        };
        status
            .lines()
            .find_map(|l| l.strip_prefix("CapBnd:"))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
            .is_some_and(|bnd| bnd & CAP_SYS_PTRACE_BIT != 0)
    })
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

    fn spec(json: serde_json::Value) -> Spec {
        serde_json::from_value(json).unwrap()
    }

    fn with(namespaces: serde_json::Value, bounding: Option<&[&str]>) -> Spec {
        let mut process = serde_json::json!({"cwd": "/", "user": {"uid": 0, "gid": 0}});
        if let Some(b) = bounding {
            process["capabilities"] = serde_json::json!({ "bounding": b });
        }
        spec(serde_json::json!({
            "ociVersion": "1.0.2",
            "process": process,
            "linux": { "namespaces": namespaces },
        }))
    }

    #[test]
    fn exposure_rules() {
        let pid = serde_json::json!([{"type": "pid"}, {"type": "mount"}]);
        // The defaults: no CAP_SYS_PTRACE, own pid namespace.
        assert!(!spec_exposes_runtime(&with(
            pid.clone(),
            Some(&["CAP_KILL"])
        )));
        assert!(spec_exposes_runtime(&with(
            pid.clone(),
            Some(&["CAP_KILL", "CAP_SYS_PTRACE"])
        )));
        assert!(spec_exposes_runtime(&with(pid, None)));
        // The host's or a joined pid namespace.
        let host = serde_json::json!([{"type": "mount"}]);
        assert!(spec_exposes_runtime(&with(host, Some(&["CAP_KILL"]))));
        let joined = serde_json::json!([{"type": "pid", "path": "/proc/1/ns/pid"}]);
        assert!(spec_exposes_runtime(&with(joined, Some(&["CAP_KILL"]))));
        // A new user namespace: the container's CAP_SYS_PTRACE is its own.
        let userns = serde_json::json!([{"type": "pid"}, {"type": "user"}]);
        assert!(!spec_exposes_runtime(&with(
            userns,
            Some(&["CAP_SYS_PTRACE"])
        )));
    }

    #[test]
    fn bounding_sets_of_live_processes() {
        let me = std::process::id() as i32;
        // SAFETY: PR_CAPBSET_READ with an integer argument.
        let full = unsafe { libc::prctl(libc::PR_CAPBSET_READ, 19, 0, 0, 0) } == 1;
        assert_eq!(pids_expose_runtime(&[me]), full);
        assert!(!pids_expose_runtime(&[]));
        assert!(!pids_expose_runtime(&[i32::MAX]));
    }

    #[test]
    fn this_test_binary_is_not_sealed() {
        assert!(!is_sealed());
    }
}
