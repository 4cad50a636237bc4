//! The built-in init: pid 1 of a container created without a command.
//!
//! It only reaps zombies, forwards job-control-ish signals and exits when
//! asked; everything else is done from outside (spawn joins the
//! namespaces). It runs in the cloned child for the container's whole life,
//! so it never allocates: all signals are blocked and taken synchronously
//! with `sigwaitinfo`. Blocked signals are delivered even to a pid-namespace
//! init, which the kernel otherwise shields from signals without a handler.
//!
//! Like tini (docker's `--init`), it forwards SIGTERM and SIGINT to the
//! container's other processes and exits once they are gone, so an
//! application that traps SIGTERM ends cleanly with its own status; an
//! empty container ends at once. Its command line reads `/sbin/cv-init`
//! (overwritten in place, as setproctitle does): it is a copy of the
//! creating process, whose arguments would otherwise show as pid 1.

/// Reap and forward forever; on SIGTERM or SIGINT forward it and exit 0
/// once no other process is left (without a pid namespace: at once).
///
/// Signal forwarding uses `kill(-1, sig)`, which from pid 1 of a pid
/// namespace reaches every other process of the container; without a pid
/// namespace it would reach the whole host, so it is skipped then (and the
/// init becomes a child subreaper so orphans are still reaped).
///
/// # Safety
/// Call only in the cloned init child; it never returns.
pub(crate) unsafe fn run(new_pidns: bool) -> ! {
    block_all_signals();
    // SAFETY: signal-mask and prctl calls on this process only.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        if !new_pidns {
            libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        }
        // Nothing but stdio (already /dev/null or the caller's) is needed.
        libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
        set_title();
        // Children may have exited before the mask was set.
        reap();
        let mut ending = false;
        // While ending, look for the last process every 20 ms: processes
        // joined from outside are not our children (no SIGCHLD for them).
        let tick = libc::timespec {
            tv_sec: 0,
            tv_nsec: 20_000_000,
        };
        loop {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            let sig = if ending {
                libc::sigtimedwait(&all, &mut info, &tick)
            } else {
                libc::sigwaitinfo(&all, &mut info)
            };
            match sig {
                libc::SIGCHLD => reap(),
                libc::SIGTERM | libc::SIGINT if new_pidns => {
                    libc::kill(-1, sig);
                    ending = true;
                }
                libc::SIGTERM | libc::SIGINT => libc::_exit(0),
                libc::SIGHUP
                | libc::SIGQUIT
                | libc::SIGUSR1
                | libc::SIGUSR2
                | libc::SIGWINCH
                | libc::SIGCONT
                    if new_pidns =>
                {
                    libc::kill(-1, sig);
                }
                _ => {}
            }
            if ending {
                reap();
                // ESRCH: nobody but us is left in the namespace.
                if libc::kill(-1, 0) != 0 && crate::linux::init::sys::errno() == libc::ESRCH {
                    libc::_exit(0);
                }
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

/// Overwrite our argument area (a copy of the creator's, this being a
/// fork-like clone) with `/sbin/cv-init`, so `ps` in the container shows
/// an init rather than the creator's command line. Reads `arg_start` and
/// `arg_end` from `/proc/self/stat` into a stack buffer: no allocation.
/// Best effort: any failure leaves the title as it was.
fn set_title() {
    const TITLE: &[u8] = b"/sbin/cv-init";
    let mut buf = [0u8; 1024];
    // SAFETY: open/read/close into a stack buffer of the given length.
    let n = unsafe {
        let fd = libc::open(
            c"/proc/self/stat".as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC,
        );
        if fd < 0 {
            return;
        }
        let n = libc::read(fd, buf.as_mut_ptr().cast(), buf.len());
        libc::close(fd);
        n
    };
    if n <= 0 {
        return;
    }
    let stat = &buf[..n as usize];
    // Fields after the command name's closing parenthesis start at field 3;
    // arg_start and arg_end are fields 48 and 49.
    let Some(close) = stat.iter().rposition(|&b| b == b')') else {
        return;
    };
    let mut field = 2;
    let (mut start, mut end) = (0usize, 0usize);
    for word in stat[close + 1..]
        .split(|&b| b == b' ')
        .filter(|w| !w.is_empty())
    {
        field += 1;
        let value = || {
            word.iter()
                .take_while(|b| b.is_ascii_digit())
                .fold(0usize, |v, b| {
                    v.wrapping_mul(10).wrapping_add((b - b'0') as usize)
                })
        };
        match field {
            48 => start = value(),
            49 => end = value(),
            _ => {}
        }
    }
    if start == 0 || end <= start || end - start <= TITLE.len() {
        return;
    }
    // SAFETY: [arg_start, arg_end) is this process's own argument area
    // (mapped, writable stack memory the kernel reports); we write inside it.
    unsafe {
        let p = start as *mut u8;
        std::ptr::write_bytes(p, 0, end - start);
        std::ptr::copy_nonoverlapping(TITLE.as_ptr(), p, TITLE.len());
    }
}

/// Blocks every signal of this (init) process. Done before the init says
/// it is ready, so nothing sent from then on is lost: a pid-namespace
/// init silently drops a signal it neither blocks nor handles, and a
/// blocked one stays pending for [`run`]'s `sigwaitinfo`.
pub(crate) fn block_all_signals() {
    // SAFETY: sigfillset on a zeroed set, then the mask of this thread.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::sigprocmask(libc::SIG_SETMASK, &all, std::ptr::null_mut());
    }
}
