//! The init's side of create: runs the [`Plan`] step by step, then becomes
//! the built-in reaper or execs the container's program.
//!
//! Runs in a fork-like clone of a possibly multi-threaded caller: system
//! calls only, no allocation, no locks. A failing plan step is reported to
//! the parent by its index and errno, any other failure as a
//! [`ChildError`] (see [`report`]); then the child exits.

use std::ffi::CStr;
use std::os::fd::AsRawFd;

use super::plan::{Op, Plan, TargetKind};
use super::sys;
use crate::config::InitKind;
use crate::linux::report;
use crate::linux::step::{ChildError, Step};

/// Flags a bind remount keeps from the mount it changes (the kernel refuses
/// to drop "locked" ones in a user namespace).
const KEEP_FLAGS: libc::c_ulong = libc::MS_NOSUID
    | libc::MS_NODEV
    | libc::MS_NOEXEC
    | libc::MS_NOATIME
    | libc::MS_NODIRATIME
    | libc::MS_RELATIME;

/// Run the plan and never return.
///
/// # Safety
/// Call only in the freshly cloned child; it exits on every path.
pub(crate) unsafe fn run(plan: &Plan, placed: bool) -> ! {
    sys::close_all_except(&plan.keep);
    let report_fd = plan.report.as_raw_fd();
    // SAFETY: plain syscalls on this child's own state. Non-dumpable first:
    // until it execs, this process is a copy of the runtime, and nobody in
    // the container may open its /proc/<pid>/exe (CVE-2019-5736) or
    // ptrace it. (execve makes the container's program dumpable again; the
    // built-in reaper stays non-dumpable.)
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
        libc::umask(0);
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
    }
    let mut root: i32 = -1;
    for (i, step) in plan.steps.iter().enumerate() {
        if let Op::SyncHooks { fd } = &step.op {
            report::send_hooks(report_fd);
            let r = sys::read_byte(fd.as_raw_fd());
            sys::close(fd.as_raw_fd());
            if r.is_err() {
                // The parent gave up (a hook failed): it kills us anyway.
                // SAFETY: leaving the child.
                unsafe { libc::_exit(1) };
            }
            continue;
        }
        if let Err(e) = exec_op(&step.op, &mut root, placed) {
            report::send_plan_failed(report_fd, i as u32, e);
            // SAFETY: leaving the child without running the parent's destructors.
            unsafe { libc::_exit(1) };
        }
    }
    if root >= 0 {
        sys::close(root);
    }
    let raw = |o: &Option<std::os::fd::OwnedFd>| o.as_ref().map_or(-1, |f| f.as_raw_fd());
    let stdio = [
        raw(&plan.stdio[0]),
        raw(&plan.stdio[1]),
        raw(&plan.stdio[2]),
    ];
    if let Some(tty) = &plan.tty {
        if let Err(e) = tty.setup_in_child() {
            report::send_failed(report_fd, e);
            // SAFETY: as above.
            unsafe { libc::_exit(1) };
        }
    } else {
        // A session of its own without a terminal, as runc's init: the
        // caller's terminal (if our stdio is one) is not the container's
        // controlling terminal, so TIOCSTI on it fails (EPERM) and no
        // job-control signal of the caller's session reaches it.
        // SAFETY: setsid in this child, which is no group leader.
        if unsafe { libc::setsid() } < 0 {
            report::send_failed(report_fd, Step::Setsid.failed(sys::errno()));
            // SAFETY: as above.
            unsafe { libc::_exit(1) };
        }
        if let Err(e) = crate::linux::stdio::install_in_child(&stdio) {
            report::send_failed(report_fd, Step::InitStdio.failed(e));
            // SAFETY: as above.
            unsafe { libc::_exit(1) };
        }
    }
    // A missing program fails `create`, not `start` (runc checks here too);
    // before any seccomp filter, which might refuse stat.
    if let (Some(_), Some(p)) = (&plan.fifo, plan.process) {
        if let Err(e) = p.check_program() {
            report::send_failed(report_fd, e);
            // SAFETY: as above.
            unsafe { libc::_exit(127) };
        }
    }
    // seccomp with a notify listener: loaded before the wait for start so
    // the creating process can still hand the listener to the agent.
    if let (Some(_), Some(p)) = (&plan.fifo, plan.process) {
        if let Err(e) = p.install_seccomp_for_agent() {
            report::send_failed(report_fd, e);
            // SAFETY: as above.
            unsafe { libc::_exit(1) };
        }
    }
    // `start` is waited for by reopening the fifo through /proc/self/fd:
    // without a /proc in the container that would fail after create had
    // said "created" (runc fails the same spec at create too).
    if let Some(fifo) = &plan.fifo {
        let p = sys::fd_path(fifo.as_raw_fd());
        // SAFETY: access(2) on a NUL-terminated path.
        if unsafe { libc::access(p.as_ptr(), libc::F_OK) } != 0 {
            report::send_failed(report_fd, Step::ReachFifo.failed(sys::errno()));
            // SAFETY: as above.
            unsafe { libc::_exit(1) };
        }
    }
    if plan.init == InitKind::BuiltinReaper {
        // Before "ready": a pid-namespace init drops a signal it neither
        // blocks nor handles, so a SIGTERM sent right after create
        // returned was lost and the reaper waited forever
        // (core_lifecycle's builtin_init_exits_on_sigterm hung once).
        // Blocked, it stays pending until the reaper takes it.
        super::reaper::block_all_signals();
    }
    let ready_now = plan.fifo.is_some() || plan.init == InitKind::BuiltinReaper;
    if ready_now {
        report::send_ready(report_fd);
    }
    if let Some(fifo) = &plan.fifo {
        if wait_for_start(fifo.as_raw_fd()).is_err() {
            // SAFETY: as above; nobody is listening any more.
            unsafe { libc::_exit(1) };
        }
    }
    match plan.init {
        InitKind::BuiltinReaper => {
            // SAFETY: the reaper never returns; we are the child.
            unsafe { super::reaper::run(plan.new_pidns) }
        }
        InitKind::SpecProcess => {
            // SAFETY: SIGPIPE is ignored by Rust programs; the program gets the default back.
            unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
            let err = match &plan.process {
                // SAFETY: we are the freshly cloned child and _exit below if exec returns.
                Some(p) => unsafe { p.exec() },
                None => ChildError {
                    step: Step::Exec,
                    errno: libc::EINVAL,
                },
            };
            report::send_failed(report_fd, err);
            // SAFETY: exec failed; leave.
            unsafe { libc::_exit(127) }
        }
    }
}

/// [`Op::BindFromNs`]: system calls only.
fn bind_from_ns(
    root: i32,
    ns: i32,
    source: &std::ffi::CStr,
    target: &std::ffi::CStr,
) -> Result<(), i32> {
    const OPEN_TREE_CLONE: libc::c_uint = 1;
    const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
    const MOVE_MOUNT_T_EMPTY_PATH: libc::c_uint = 0x40;
    let own = sys::openat(
        libc::AT_FDCWD,
        c"/proc/thread-self/ns/mnt".as_ptr(),
        libc::O_RDONLY,
        0,
    )?;
    // SAFETY: setns on namespace fds we hold; only this process moves.
    if unsafe { libc::setns(ns, libc::CLONE_NEWNS) } != 0 {
        let e = sys::errno();
        sys::close(own);
        return Err(e);
    }
    // SAFETY: open_tree on a NUL-terminated path; checked below.
    let tree = unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            libc::AT_FDCWD,
            source.as_ptr(),
            OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint,
        )
    } as i32;
    let tree_err = sys::errno();
    // SAFETY: back to our own mount namespace (fd opened above).
    let back = unsafe { libc::setns(own, libc::CLONE_NEWNS) };
    let back_err = sys::errno();
    sys::close(own);
    sys::close(ns);
    if back != 0 {
        if tree >= 0 {
            sys::close(tree);
        }
        return Err(back_err);
    }
    if tree < 0 {
        return Err(tree_err);
    }
    let r = resolve(root, target, TargetKind::Dir, true).and_then(|fd| {
        // SAFETY: move_mount of our detached tree onto the directory we
        // resolved (both by descriptor).
        let r = sys::check(unsafe {
            libc::syscall(
                libc::SYS_move_mount,
                tree,
                c"".as_ptr(),
                fd,
                c"".as_ptr(),
                MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
            )
        });
        sys::close(fd);
        r.map(drop)
    });
    sys::close(tree);
    r
}

/// Block until `Container::start` opens the exec fifo for reading.
fn wait_for_start(fifo: i32) -> Result<(), i32> {
    let p = sys::fd_path(fifo);
    let fd = sys::openat(libc::AT_FDCWD, p.as_ptr(), libc::O_WRONLY, 0)?;
    let r = sys::write_all(fd, b"0");
    sys::close(fd);
    sys::close(fifo);
    r
}

fn exec_op(op: &Op, root: &mut i32, placed: bool) -> Result<(), i32> {
    match op {
        Op::WaitForMaps { fd } => {
            sys::read_byte(fd.as_raw_fd())?;
            sys::close(fd.as_raw_fd());
            // SAFETY: becoming root of the new user namespace (mapped now).
            // Raw syscalls: glibc's setres*id broadcast to every thread of
            // the caller (SETXID), which hangs after a raw clone from a
            // multi-threaded runtime.
            unsafe {
                libc::syscall(libc::SYS_setresgid, 0, 0, 0);
                libc::syscall(libc::SYS_setresuid, 0, 0, 0);
            }
            Ok(())
        }
        Op::SetNs { fd, nstype } => {
            // SAFETY: fd is a namespace fd opened by the parent.
            sys::check(unsafe { libc::setns(fd.as_raw_fd(), *nstype) } as libc::c_long)?;
            sys::close(fd.as_raw_fd());
            Ok(())
        }
        Op::SyncHooks { .. } => Ok(()),
        Op::WaitForParent { notify, fd } => {
            sys::write_all(notify.as_raw_fd(), b"1")?;
            sys::close(notify.as_raw_fd());
            sys::read_byte(fd.as_raw_fd())?;
            sys::close(fd.as_raw_fd());
            Ok(())
        }
        Op::JoinCgroup { fd, unless_placed } => {
            if !(*unless_placed && placed) {
                sys::write_all(fd.as_raw_fd(), b"0")?;
            }
            sys::close(fd.as_raw_fd());
            Ok(())
        }
        Op::UnshareCgroupNs => {
            // SAFETY: affects only this process.
            sys::check(unsafe { libc::unshare(libc::CLONE_NEWCGROUP) } as libc::c_long).map(drop)
        }
        Op::LoopbackUp => sys::loopback_up(),
        Op::ReceiveHostFds { sock, targets } => {
            let r = super::hostfds::receive(sock.as_raw_fd(), targets);
            sys::close(sock.as_raw_fd());
            r
        }
        Op::Release { fds } => {
            for f in fds {
                sys::close(*f);
            }
            Ok(())
        }
        Op::Propagation { flags } => sys::mount(None, c"/".as_ptr(), None, *flags, None),
        Op::MountAt {
            source,
            target,
            fstype,
            flags,
            data,
        } => sys::mount(
            source.as_deref(),
            target.as_ptr(),
            fstype.as_deref(),
            *flags,
            data.as_deref(),
        ),
        Op::OpenRoot { path } => {
            *root = sys::openat(
                libc::AT_FDCWD,
                path.as_ptr(),
                libc::O_PATH | libc::O_DIRECTORY,
                0,
            )?;
            Ok(())
        }
        Op::Mount {
            source,
            target,
            kind,
            fstype,
            flags,
            data,
            remount,
            propagation,
        } => {
            let fd = resolve(*root, target, *kind, true)?;
            let r = sys::mount(
                source.as_deref(),
                sys::fd_path(fd).as_ptr(),
                fstype.as_deref(),
                *flags,
                data.as_deref(),
            );
            sys::close(fd);
            r?;
            if remount.is_some() || *propagation != 0 {
                // Re-open: the old fd is the covered directory, not the new mount.
                let fd = resolve(*root, target, *kind, false)?;
                let p = sys::fd_path(fd);
                let mut r = Ok(());
                if let Some(flags) = remount {
                    r = remount_keeping(p.as_ptr(), *flags);
                }
                if r.is_ok() && *propagation != 0 {
                    r = sys::mount(None, p.as_ptr(), None, *propagation, None);
                }
                sys::close(fd);
                r?;
            }
            Ok(())
        }
        Op::BindFromNs { ns, source, target } => {
            bind_from_ns(*root, ns.as_raw_fd(), source, target)
        }
        Op::Remount { target, flags } => {
            let fd = resolve(*root, target, TargetKind::Dir, false)?;
            let r = remount_keeping(sys::fd_path(fd).as_ptr(), *flags);
            sys::close(fd);
            r
        }
        Op::MakeDir { target } => {
            let fd = resolve(*root, target, TargetKind::Dir, true)?;
            sys::close(fd);
            Ok(())
        }
        Op::Mknod {
            target,
            mode,
            dev,
            uid,
            gid,
        } => {
            let (dir, name) = split(target);
            let dfd = resolve_bytes(*root, dir, TargetKind::Dir, true)?;
            let mut n = sys::PathBuf0::new();
            let r = n.push(name).and_then(|_| {
                // SAFETY: NUL-terminated name, dfd is a directory fd.
                let r = unsafe { libc::mknodat(dfd, n.as_ptr(), *mode, *dev) };
                if r < 0 && sys::errno() != libc::EEXIST {
                    return Err(sys::errno());
                }
                // SAFETY: as above.
                let r = unsafe {
                    libc::fchownat(dfd, n.as_ptr(), *uid, *gid, libc::AT_SYMLINK_NOFOLLOW)
                };
                sys::check(r as libc::c_long).map(drop)
            });
            sys::close(dfd);
            r
        }
        Op::Symlink { link, to } => {
            let (dir, name) = split(link);
            let dfd = resolve_bytes(*root, dir, TargetKind::Dir, true)?;
            let mut n = sys::PathBuf0::new();
            let r = n.push(name).and_then(|_| {
                // SAFETY: NUL-terminated strings, dfd is a directory fd.
                let r = unsafe { libc::symlinkat(to.as_ptr(), dfd, n.as_ptr()) };
                if r < 0 && sys::errno() != libc::EEXIST {
                    return Err(sys::errno());
                }
                Ok(())
            });
            sys::close(dfd);
            r
        }
        Op::PivotRoot { path } => {
            pivot_root(path)?;
            reopen_root(root)
        }
        Op::MoveRoot { path } => {
            // SAFETY: path is NUL-terminated; these calls change only this process.
            unsafe {
                sys::check(libc::chdir(path.as_ptr()) as libc::c_long)?;
                sys::check(libc::mount(
                    c".".as_ptr(),
                    c"/".as_ptr(),
                    std::ptr::null(),
                    libc::MS_MOVE,
                    std::ptr::null(),
                ) as libc::c_long)?;
                sys::check(libc::chroot(c".".as_ptr()) as libc::c_long)?;
                sys::check(libc::chdir(c"/".as_ptr()) as libc::c_long)?;
            }
            reopen_root(root)
        }
        Op::Chroot { path } => {
            // SAFETY: path is NUL-terminated; these calls change only this process.
            unsafe {
                sys::check(libc::chdir(path.as_ptr()) as libc::c_long)?;
                sys::check(libc::chroot(c".".as_ptr()) as libc::c_long)?;
                sys::check(libc::chdir(c"/".as_ptr()) as libc::c_long)?;
            }
            reopen_root(root)
        }
        Op::Mask { path } => match stat_kind(path)? {
            None => Ok(()),
            Some(true) => sys::mount(
                Some(c"tmpfs"),
                path.as_ptr(),
                Some(c"tmpfs"),
                libc::MS_RDONLY,
                Some(c"size=0"),
            ),
            Some(false) => sys::mount(Some(c"/dev/null"), path.as_ptr(), None, libc::MS_BIND, None),
        },
        Op::ReadOnly { path } => {
            if stat_kind(path)?.is_none() {
                return Ok(());
            }
            sys::mount(
                Some(path),
                path.as_ptr(),
                None,
                libc::MS_BIND | libc::MS_REC,
                None,
            )?;
            remount_keeping(
                path.as_ptr(),
                libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY,
            )
        }
        Op::RootReadOnly => remount_keeping(
            c"/".as_ptr(),
            libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY,
        ),
        Op::Sethostname { name } => {
            let b = name.to_bytes();
            // SAFETY: b is valid for its length.
            sys::check(unsafe { libc::sethostname(b.as_ptr().cast(), b.len()) } as libc::c_long)
                .map(drop)
        }
        Op::Setdomainname { name } => {
            let b = name.to_bytes();
            // SAFETY: b is valid for its length.
            sys::check(unsafe { libc::setdomainname(b.as_ptr().cast(), b.len()) } as libc::c_long)
                .map(drop)
        }
        Op::WriteFile { path, data } => {
            let fd = sys::openat(
                libc::AT_FDCWD,
                path.as_ptr(),
                libc::O_WRONLY | libc::O_TRUNC,
                0,
            )?;
            let r = sys::write_all(fd, data);
            sys::close(fd);
            r
        }
    }
}

/// Remount `target` with `flags` plus the flags its mount already has
/// (statvfs; its ST_* flags equal the MS_* ones), so nosuid/nodev/noexec set earlier (or locked) stay.
fn remount_keeping(target: *const libc::c_char, flags: libc::c_ulong) -> Result<(), i32> {
    // SAFETY: statvfs into a local; target is NUL-terminated.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let existing = if unsafe { libc::statvfs(target, &mut st) } == 0 {
        st.f_flag as libc::c_ulong & KEEP_FLAGS
    } else {
        0
    };
    // SAFETY: NULL source/type/data are allowed for a remount.
    let r = unsafe {
        libc::mount(
            std::ptr::null(),
            target,
            std::ptr::null(),
            flags | existing,
            std::ptr::null(),
        )
    };
    sys::check(r as libc::c_long).map(drop)
}

/// `Some(is_dir)` for an existing path (not following a final symlink), `None` if absent.
fn stat_kind(path: &CStr) -> Result<Option<bool>, i32> {
    // SAFETY: stat into a local.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: NUL-terminated path.
    let r = unsafe {
        libc::fstatat(
            libc::AT_FDCWD,
            path.as_ptr(),
            &mut st,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if r < 0 {
        let e = sys::errno();
        return if e == libc::ENOENT { Ok(None) } else { Err(e) };
    }
    Ok(Some(st.st_mode & libc::S_IFMT == libc::S_IFDIR))
}

fn pivot_root(path: &CStr) -> Result<(), i32> {
    let old = sys::openat(
        libc::AT_FDCWD,
        c"/".as_ptr(),
        libc::O_DIRECTORY | libc::O_RDONLY,
        0,
    )?;
    let new = sys::openat(
        libc::AT_FDCWD,
        path.as_ptr(),
        libc::O_DIRECTORY | libc::O_RDONLY,
        0,
    )?;
    // SAFETY: the runc sequence: pivot onto the new root with the old root
    // stacked under it, then detach the old root; only this mount namespace changes.
    let r = unsafe {
        (|| -> Result<(), i32> {
            sys::check(libc::fchdir(new) as libc::c_long)?;
            sys::check(libc::syscall(
                libc::SYS_pivot_root,
                c".".as_ptr(),
                c".".as_ptr(),
            ))?;
            sys::check(libc::fchdir(old) as libc::c_long)?;
            sys::mount(
                None,
                c".".as_ptr(),
                None,
                libc::MS_SLAVE | libc::MS_REC,
                None,
            )?;
            sys::check(libc::umount2(c".".as_ptr(), libc::MNT_DETACH) as libc::c_long)?;
            sys::check(libc::chdir(c"/".as_ptr()) as libc::c_long)?;
            Ok(())
        })()
    };
    sys::close(old);
    sys::close(new);
    r
}

fn reopen_root(root: &mut i32) -> Result<(), i32> {
    if *root >= 0 {
        sys::close(*root);
    }
    *root = sys::openat(
        libc::AT_FDCWD,
        c"/".as_ptr(),
        libc::O_PATH | libc::O_DIRECTORY,
        0,
    )?;
    Ok(())
}

/// Split a relative path into (directory, last component).
fn split(p: &CStr) -> (&[u8], &[u8]) {
    let b = p.to_bytes();
    match b.iter().rposition(|&c| c == b'/') {
        Some(i) => (&b[..i], &b[i + 1..]),
        None => (&[], b),
    }
}

fn resolve(root: i32, rel: &CStr, kind: TargetKind, create: bool) -> Result<i32, i32> {
    resolve_bytes(root, rel.to_bytes(), kind, create)
}

/// Symlinks followed by hand while making a target, as the kernel allows
/// in one lookup (ELOOP after that).
const MAX_LINKS: usize = 40;

/// Open `rel` inside `root` as an `O_PATH` fd, resolving every prefix with
/// `openat2(RESOLVE_IN_ROOT)` (so `..` and symlinks, absolute or relative,
/// stay inside the root) and, with `create`, making missing components
/// (directories; the last one as `kind`). A dangling symlink on the way is
/// followed inside the root and its target made there, as runc does
/// (securejoin): `/link -> /missing/dir` makes `<root>/missing/dir`.
fn resolve_bytes(root: i32, rel: &[u8], kind: TargetKind, create: bool) -> Result<i32, i32> {
    let mut path = sys::PathBuf0::new();
    path.push(rel)?;
    let mut next = sys::PathBuf0::new();
    for _ in 0..=MAX_LINKS {
        if let Some(fd) = resolve_once(root, path.as_bytes(), kind, create, &mut next)? {
            return Ok(fd);
        }
        std::mem::swap(&mut path, &mut next);
    }
    Err(libc::ELOOP)
}

/// One pass of [`resolve_bytes`]: the fd, or `None` when a dangling
/// symlink was met and the path to resolve instead is in `retry`.
fn resolve_once(
    root: i32,
    rel: &[u8],
    kind: TargetKind,
    create: bool,
    retry: &mut sys::PathBuf0,
) -> Result<Option<i32>, i32> {
    let mut prefix = sys::PathBuf0::new();
    let mut cur = sys::openat(root, c".".as_ptr(), libc::O_PATH | libc::O_DIRECTORY, 0)?;
    let mut comps = rel
        .split(|&c| c == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
        .peekable();
    while let Some(comp) = comps.next() {
        let last = comps.peek().is_none();
        let want_dir = !last || kind == TargetKind::Dir;
        let parent_len = prefix.len();
        if prefix.len() > 0 {
            prefix.push(b"/").inspect_err(|_| sys::close(cur))?;
        }
        prefix.push(comp).inspect_err(|_| sys::close(cur))?;
        let flags = libc::O_PATH | if want_dir { libc::O_DIRECTORY } else { 0 };
        let next = match sys::openat2(root, prefix.as_ptr(), flags, libc::RESOLVE_IN_ROOT) {
            Err(libc::ENOENT) if create => {
                make(cur, comp, want_dir).inspect_err(|_| sys::close(cur))?;
                match sys::openat2(root, prefix.as_ptr(), flags, libc::RESOLVE_IN_ROOT) {
                    Err(libc::ENOENT) => {
                        // Still missing after the make: `comp` is a dangling
                        // symlink. Continue from its target, inside the root.
                        let end = comp.as_ptr() as usize - rel.as_ptr() as usize + comp.len();
                        let followed =
                            follow(cur, comp, &prefix.as_bytes()[..parent_len], &rel[end..]);
                        sys::close(cur);
                        *retry = followed?;
                        return Ok(None);
                    }
                    other => other,
                }
            }
            other => other,
        };
        sys::close(cur);
        cur = next?;
    }
    Ok(Some(cur))
}

/// The path to resolve instead of `parent/link/rest`, where `link` (in
/// directory `dirfd`) is a symlink: `target/rest` for an absolute target
/// (root-relative once the leading '/' is ignored), `parent/target/rest`
/// for a relative one. `ENOENT` when `link` is no symlink after all.
fn follow(dirfd: i32, link: &[u8], parent: &[u8], rest: &[u8]) -> Result<sys::PathBuf0, i32> {
    let mut name = sys::PathBuf0::new();
    name.push(link)?;
    let mut target = [0u8; sys::PATH_BUF];
    // SAFETY: readlinkat into a stack buffer of the given size.
    let n = unsafe {
        libc::readlinkat(
            dirfd,
            name.as_ptr(),
            target.as_mut_ptr().cast(),
            target.len(),
        )
    };
    if n <= 0 {
        return Err(libc::ENOENT);
    }
    let target = &target[..n as usize];
    let mut p = sys::PathBuf0::new();
    if target[0] != b'/' && !parent.is_empty() {
        p.push(parent)?;
        p.push(b"/")?;
    }
    p.push(target)?;
    p.push(rest)?;
    Ok(p)
}

/// Create `name` in directory `dirfd`: a directory, or an empty file.
fn make(dirfd: i32, name: &[u8], dir: bool) -> Result<(), i32> {
    let mut n = sys::PathBuf0::new();
    n.push(name)?;
    // SAFETY: NUL-terminated name, dirfd is a directory fd.
    let r = unsafe {
        if dir {
            libc::mkdirat(dirfd, n.as_ptr(), 0o755)
        } else {
            let fd = libc::openat(
                dirfd,
                n.as_ptr(),
                libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                0o644,
            );
            if fd >= 0 {
                libc::close(fd);
            }
            fd
        }
    };
    if r < 0 && sys::errno() != libc::EEXIST {
        return Err(sys::errno());
    }
    Ok(())
}
