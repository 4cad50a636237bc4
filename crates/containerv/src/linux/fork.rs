//! A fork-like clone that can start the child inside a cgroup v2
//! directory (`clone3` with `CLONE_INTO_CGROUP`, Linux 5.7).
//!
//! Being born in the cgroup spares the child a `cgroup.procs` write, which
//! takes the kernel's global `cgroup_threadgroup_rwsem` for writing and so
//! waits for an RCU grace period whenever that lock had gone idle (5-14 ms
//! on the development VM; see `cgroups::join`). crun does the same on
//! cgroup v2. Where clone3 or the flag is refused (older kernels, an outer
//! seccomp profile that answers ENOSYS or EPERM for clone3), the plain
//! clone is used and the caller's child joins by writing `cgroup.procs`.

use std::os::fd::{AsRawFd, BorrowedFd};

/// `CLONE_INTO_CGROUP` (linux/sched.h; not a `c_int` flag).
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// `struct clone_args` of Linux 5.7 (`CLONE_ARGS_SIZE_VER2`).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// What a fork-like clone returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Forked {
    /// In the child; `placed`: the kernel started it in the cgroup asked for.
    Child { placed: bool },
    /// In the parent: the child's pid.
    Parent(i32),
}

/// Fork-like clone (no new stack: the child continues on a copy of the
/// caller's) with `flags` (namespace flags; SIGCHLD is added), born in
/// `into` when the kernel can.
///
/// # Safety
/// As for `fork`: in a multi-threaded caller the child may only run
/// async-signal-safe code and must never return into code that expects the
/// other threads.
pub(crate) unsafe fn fork(
    flags: libc::c_int,
    into: Option<BorrowedFd<'_>>,
) -> std::io::Result<Forked> {
    if let Some(dir) = into {
        let args = CloneArgs {
            // The namespace flags are positive c_ints: no sign extension.
            flags: flags as u32 as u64 | CLONE_INTO_CGROUP,
            exit_signal: libc::SIGCHLD as u64,
            cgroup: dir.as_raw_fd() as u64,
            ..Default::default()
        };
        // SAFETY: clone3 with a valid, fully initialised clone_args of the
        // size passed; no stack, so the child runs on a copy of ours, as
        // the caller's contract allows.
        let r = unsafe {
            libc::syscall(
                libc::SYS_clone3,
                &args as *const CloneArgs,
                std::mem::size_of::<CloneArgs>(),
            )
        };
        match r {
            0 => return Ok(Forked::Child { placed: true }),
            r if r > 0 => return Ok(Forked::Parent(r as i32)),
            _ => {
                // Any refusal: the plain clone below says what is wrong if
                // it is not about clone3 itself (namespaces, limits), and
                // the child's cgroup.procs write if it is about the cgroup.
            }
        }
    }
    // SAFETY: a fork-like clone, as above.
    let r = unsafe {
        libc::syscall(
            libc::SYS_clone,
            (flags | libc::SIGCHLD) as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    match r {
        0 => Ok(Forked::Child { placed: false }),
        r if r > 0 => Ok(Forked::Parent(r as i32)),
        _ => Err(std::io::Error::last_os_error()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    /// Parent side: the pid of a child that `pause`s (killed by the test).
    fn fork_paused(into: Option<BorrowedFd<'_>>) -> (i32, bool) {
        let (rx, tx) = nix::unistd::pipe().unwrap();
        // SAFETY: the child only makes raw system calls and never returns.
        match unsafe { fork(0, into) }.expect("fork") {
            // SAFETY: raw system calls on our own descriptors, then _exit.
            Forked::Child { placed } => unsafe {
                let b = [placed as u8];
                libc::write(tx.as_raw_fd(), b.as_ptr().cast(), 1);
                libc::pause();
                libc::_exit(0)
            },
            Forked::Parent(pid) => {
                drop(tx);
                let mut b = [9u8];
                // SAFETY: reading one byte into a local buffer.
                let n = unsafe { libc::read(rx.as_raw_fd(), b.as_mut_ptr().cast(), 1) };
                assert_eq!(n, 1, "the child reported");
                (pid, b[0] == 1)
            }
        }
    }

    fn end(pid: i32) {
        // SAFETY: our own child.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, std::ptr::null_mut(), 0);
        }
    }

    fn cgroup2_mount() -> Option<std::path::PathBuf> {
        let mi = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
        mi.lines().find_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            (post.split(' ').next() == Some("cgroup2"))
                .then(|| pre.split(' ').nth(4).map(std::path::PathBuf::from))?
        })
    }

    #[test]
    fn a_directory_that_is_no_cgroup_falls_back_to_a_plain_clone() {
        let dir = std::fs::File::open("/").unwrap();
        let (pid, placed) = fork_paused(Some(dir.as_fd()));
        end(pid);
        assert!(
            !placed,
            "clone3 cannot place a child in / (not a cgroup2 directory)"
        );
        let (pid, placed) = fork_paused(None);
        end(pid);
        assert!(!placed);
    }

    #[test]
    fn the_child_is_born_in_the_cgroup2_directory() {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("SKIPPED: needs root to make a cgroup");
            return;
        }
        let Some(mount) = cgroup2_mount() else {
            eprintln!("SKIPPED: no cgroup2 mount on this host");
            return;
        };
        let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
        let own = own
            .lines()
            .find_map(|l| l.strip_prefix("0::"))
            .unwrap_or("/")
            .to_string();
        let name = format!("containerv-forktest-{}", std::process::id());
        let dir = mount.join(own.trim_start_matches('/')).join(&name);
        if let Err(e) = std::fs::create_dir(&dir) {
            eprintln!("SKIPPED: cannot make {}: {e}", dir.display());
            return;
        }
        let fd = std::fs::File::open(&dir).unwrap();
        let (pid, placed) = fork_paused(Some(fd.as_fd()));
        let seen = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
        let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap();
        end(pid);
        std::fs::remove_dir(&dir).unwrap();
        assert!(placed, "clone3(CLONE_INTO_CGROUP) placed the child");
        assert!(
            seen.lines()
                .any(|l| l.starts_with("0::") && l.ends_with(&name)),
            "{seen}"
        );
        assert_eq!(procs.trim(), pid.to_string());
    }
}
