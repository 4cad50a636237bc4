//! The built-in init: pid 1 of a container created without a command.
//!
//! It only reaps zombies, forwards job-control-ish signals and exits when
//! asked; everything else is done from outside (spawn joins the
//! namespaces). It runs in the cloned child for the container's whole life,
//! so it never allocates: all signals are blocked and taken synchronously
//! with `sigwaitinfo`. Blocked signals are delivered even to a pid-namespace
//! init, which the kernel otherwise shields from signals without a handler.

/// Reap and forward forever; exit 0 on SIGTERM or SIGINT.
///
/// Signal forwarding uses `kill(-1, sig)`, which from pid 1 of a pid
/// namespace reaches every other process of the container; without a pid
/// namespace it would reach the whole host, so it is skipped then (and the
/// init becomes a child subreaper so orphans are still reaped).
///
/// # Safety
/// Call only in the cloned init child; it never returns.
pub(crate) unsafe fn run(new_pidns: bool) -> ! {
    // SAFETY: signal-mask and prctl calls on this process only.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::sigprocmask(libc::SIG_SETMASK, &all, std::ptr::null_mut());
        if !new_pidns {
            libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        }
        // Nothing but stdio (already /dev/null or the caller's) is needed.
        libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
        // Children may have exited before the mask was set.
        reap();
        loop {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            let sig = libc::sigwaitinfo(&all, &mut info);
            match sig {
                libc::SIGCHLD => reap(),
                libc::SIGTERM | libc::SIGINT => libc::_exit(0),
                libc::SIGHUP | libc::SIGUSR1 | libc::SIGUSR2 | libc::SIGWINCH if new_pidns => {
                    libc::kill(-1, sig);
                }
                _ => {}
            }
        }
    }
}

/// Reap every exited child without blocking.
fn reap() {
    loop {
        // SAFETY: waitpid with a NULL status pointer.
        let r = unsafe { libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) };
        if r <= 0 {
            break;
        }
    }
}
