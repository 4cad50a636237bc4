//! The child's half: in a forked child inside the container (namespaces
//! joined, rootfs entered), apply credentials, limits, capabilities,
//! no_new_privs, umask and cwd, then exec with a PATH search. System calls
//! only, no allocation: the caller may be multi-threaded.

use libc::c_char;

pub(super) use crate::linux::init::sys::errno;

use super::{caps, limits, PreparedProcess};
use crate::linux::step::{ChildError, Step};

/// Longest path the child builds for the PATH search (PATH_MAX).
const PATH_BUF: usize = 4096;

impl PreparedProcess {
    /// A container init that waits for `start` and uses SCMP_ACT_NOTIFY
    /// loads its filter before the wait (as runc does), so the process
    /// that creates it relays the listener to the agent; the later
    /// install in [`Self::exec`] is then a no-op. In the child only.
    pub(crate) fn install_seccomp_for_agent(&self) -> Result<(), ChildError> {
        match &self.seccomp {
            Some(s) if s.has_agent() => {
                // The filter may refuse keyctl: join first.
                self.join_session_keyring()?;
                s.install()
            }
            _ => Ok(()),
        }
    }

    /// `keyctl(KEYCTL_JOIN_SESSION_KEYRING, name)`: a session keyring of
    /// the container's, not the caller's (runc's, with its exception: a
    /// kernel without keyrings, ENOSYS, is no error).
    fn join_session_keyring(&self) -> Result<(), ChildError> {
        const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
        let Some(name) = &self.session_keyring else {
            return Ok(());
        };
        // SAFETY: keyctl with a NUL-terminated name we own.
        let r =
            unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.as_ptr()) };
        if r < 0 && errno() != libc::ENOSYS {
            return Err(Step::JoinSessionKeyring.failed(errno()));
        }
        Ok(())
    }

    /// Load the seccomp filter now if it goes in at this point (`early`:
    /// before the credential change, else right before execve).
    fn install_seccomp(&self, early: bool) -> Result<(), ChildError> {
        match &self.seccomp {
            Some(s) if s.early() == early => s.install(),
            _ => Ok(()),
        }
    }

    /// In the child, inside the container (namespaces joined, rootfs
    /// entered): apply everything and exec. Returns only on failure.
    ///
    /// # Safety
    /// Call only in a freshly forked child that will `_exit` if this returns.
    pub(crate) unsafe fn exec(&self) -> ChildError {
        match self.setup() {
            Ok(()) => self.execvpe(),
            Err(e) => e,
        }
    }

    /// Everything but the exec. System calls only.
    fn setup(&self) -> Result<(), ChildError> {
        let fail = |step: Step| step.failed(errno());
        reset_signals();
        // Until execve replaces it, this process is a copy of the runtime:
        // non-dumpable, nobody in the container may open /proc/<pid>/exe
        // (CVE-2019-5736) or ptrace it. execve makes the program dumpable.
        // SAFETY: prctl with integer arguments.
        if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } != 0 {
            return Err(fail(Step::SetDumpable));
        }
        // Before any seccomp filter, which may refuse keyctl. An init with
        // a notify agent joined before loading its filter early: a second
        // try (refused by that filter, or a second keyring) does not matter.
        let agent = self.seccomp.as_ref().is_some_and(|s| s.has_agent());
        match self.join_session_keyring() {
            Err(e) if !agent => return Err(e),
            _ => {}
        }

        if let Some(v) = &self.oom_score_adj {
            write_file(c"/proc/self/oom_score_adj", v.as_bytes())
                .map_err(|errno| Step::OomScoreAdj.failed(errno))?;
        }
        limits::apply(
            &self.rlimits,
            self.ioprio,
            self.sched.as_ref(),
            self.personality,
        )?;
        // seccomp without no_new_privs needs CAP_SYS_ADMIN: before the caps drop (runc's order).
        self.install_seccomp(true)?;
        if let Some(caps) = &self.caps {
            caps::drop_bounding(caps, self.last_cap)?;
        }
        // Raw system calls, not glibc's wrappers: those broadcast the change
        // to every thread glibc believes exists (SETXID) and, in a child
        // forked from a multi-threaded caller by a raw clone, wait forever
        // for threads that are not there.
        // SAFETY: setgroups with a pointer/length pair into our own Vec.
        if unsafe { libc::syscall(libc::SYS_setgroups, self.groups.len(), self.groups.as_ptr()) }
            != 0
        {
            // In a user namespace with setgroups denied, an empty list is fine.
            if !(self.groups.is_empty() && errno() == libc::EPERM) {
                return Err(fail(Step::Setgroups));
            }
        }
        // SAFETY: plain id-setting system calls.
        if unsafe { libc::syscall(libc::SYS_setresgid, self.gid, self.gid, self.gid) } != 0 {
            return Err(fail(Step::Setresgid));
        }
        // SAFETY: as above.
        if unsafe { libc::syscall(libc::SYS_setresuid, self.uid, self.uid, self.uid) } != 0 {
            return Err(fail(Step::Setresuid));
        }
        if let Some(caps) = &self.caps {
            caps::apply_after_ids(caps, self.last_cap)?;
        }
        if self.no_new_privs {
            // SAFETY: prctl with integer arguments.
            if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
                return Err(fail(Step::NoNewPrivs));
            }
        }
        if let Some(mask) = self.umask {
            // SAFETY: umask cannot fail.
            unsafe { libc::umask(mask as libc::mode_t) };
        }
        // SAFETY: chdir with a valid C string.
        if unsafe { libc::chdir(self.cwd.as_ptr()) } != 0 {
            return Err(fail(Step::Chdir));
        }
        // The cwd must be inside the container's root: a path through a
        // leaked host descriptor (/proc/self/fd/N, CVE-2024-21626) would
        // resolve outside it, and the kernel's getcwd then answers
        // "(unreachable)/..." instead of an absolute path.
        let mut buf = [0u8; PATH_BUF];
        // SAFETY: getcwd into a stack buffer of the given size.
        let n = unsafe { libc::syscall(libc::SYS_getcwd, buf.as_mut_ptr(), buf.len()) };
        if n <= 0 || buf[0] != b'/' {
            return Err(Step::CwdOutsideContainer.failed(libc::EPERM));
        }
        // seccomp with no_new_privs: the very last step before execve.
        self.install_seccomp(false)?;
        Ok(())
    }

    /// Whether `argv[0]` names an executable file, as `execvpe` will look
    /// for it: called in the init before it reports ready, so that a
    /// missing program fails `create` (as runc's does) rather than being
    /// an exit code after `start`. Still root, before the user switch, so
    /// only "is there a regular file with an x bit" is checked. A path
    /// relative to the (not yet entered) cwd is not checked. System calls
    /// only.
    pub(crate) fn check_program(&self) -> Result<(), ChildError> {
        let prog = self.argv[0].as_bytes();
        let err = |errno| Step::Lookup.failed(errno);
        let probe = |path: *const c_char| -> i32 {
            // SAFETY: an all-zero `struct stat` is a valid value.
            let mut st: libc::stat = unsafe { std::mem::zeroed() };
            // SAFETY: stat into that struct with a NUL-terminated path.
            if unsafe { libc::stat(path, &mut st) } != 0 {
                return errno();
            }
            if st.st_mode & libc::S_IFMT != libc::S_IFREG || st.st_mode & 0o111 == 0 {
                return libc::EACCES;
            }
            0
        };
        if prog.is_empty() {
            return Err(err(libc::ENOENT));
        }
        if prog.contains(&b'/') {
            if prog[0] != b'/' {
                return Ok(());
            }
            return match probe(self.argv[0].as_ptr()) {
                0 => Ok(()),
                e => Err(err(e)),
            };
        }
        let mut buf = [0u8; PATH_BUF];
        let mut best = libc::ENOENT;
        for dir in self.path.as_bytes().split(|b| *b == b':') {
            if dir.first() != Some(&b'/') {
                // "" or a relative directory: depends on the cwd.
                return Ok(());
            }
            let Some(path) = join_candidate(&mut buf, dir, prog) else {
                continue;
            };
            match probe(path) {
                0 => return Ok(()),
                libc::EACCES => best = libc::EACCES,
                _ => {}
            }
        }
        Err(err(best))
    }

    /// execve `argv[0]`, searching PATH when it has no '/', like execvpe:
    /// EACCES from any directory wins over ENOENT. No allocation: candidate
    /// paths are built in a stack buffer.
    fn execvpe(&self) -> ChildError {
        let prog = self.argv[0].as_bytes();
        let exec = |path: *const c_char| {
            // SAFETY: execve with NUL-terminated strings and NULL-terminated
            // pointer arrays that live as long as `self`.
            unsafe { libc::execve(path, self.argv_ptrs.as_ptr(), self.envp_ptrs.as_ptr()) };
            errno()
        };
        let err = |errno| Step::Exec.failed(errno);
        if prog.is_empty() {
            return err(libc::ENOENT);
        }
        if prog.contains(&b'/') {
            return err(exec(self.argv[0].as_ptr()));
        }
        let mut buf = [0u8; PATH_BUF];
        let mut best = libc::ENOENT;
        for dir in self.path.as_bytes().split(|b| *b == b':') {
            let dir: &[u8] = if dir.is_empty() { b"." } else { dir };
            let Some(path) = join_candidate(&mut buf, dir, prog) else {
                continue;
            };
            match exec(path) {
                libc::EACCES => best = libc::EACCES,
                libc::ENOENT | libc::ENOTDIR | libc::ESTALE | libc::ENODEV | libc::ETIMEDOUT => {}
                other => return err(other),
            }
        }
        err(best)
    }
}

/// `dir/prog`, NUL-terminated, in `buf` (a PATH candidate); `None` when it
/// does not fit.
fn join_candidate(buf: &mut [u8; PATH_BUF], dir: &[u8], prog: &[u8]) -> Option<*const c_char> {
    let len = dir.len() + 1 + prog.len();
    if len + 1 > buf.len() {
        return None;
    }
    buf[..dir.len()].copy_from_slice(dir);
    buf[dir.len()] = b'/';
    buf[dir.len() + 1..len].copy_from_slice(prog);
    buf[len] = 0;
    Some(buf.as_ptr().cast())
}

/// Signal dispositions and mask as a new program expects them: the Rust
/// runtime ignores SIGPIPE, and ignored signals survive exec.
fn reset_signals() {
    // SAFETY: sigset manipulation on a local, then sigprocmask/signal calls
    // with valid arguments; SIGKILL/SIGSTOP are skipped.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
        for sig in 1..libc::SIGRTMIN() {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                libc::signal(sig, libc::SIG_DFL);
            }
        }
    }
}

/// Write `data` to an existing file. System calls only.
fn write_file(path: &std::ffi::CStr, data: &[u8]) -> Result<(), i32> {
    // SAFETY: open/write/close with a valid path and buffer.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return Err(errno());
        }
        let n = libc::write(fd, data.as_ptr().cast(), data.len());
        let e = errno();
        libc::close(fd);
        if n < 0 {
            return Err(e);
        }
    }
    Ok(())
}
