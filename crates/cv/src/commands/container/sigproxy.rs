//! docker's `--sig-proxy` (on by default for a foreground `run` without
//! `-t`): the signals a terminal or a supervisor sends to `cv` (SIGINT,
//! SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2) go to the container
//! instead of ending `cv`, which then exits with the container's own
//! status (130 for a program that dies of SIGINT). With `-t` the terminal
//! itself delivers ^C to the container, as docker leaves it.

use super::super::Context;

/// The signals passed on.
const PROXIED: [libc::c_int; 6] = [
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
];

fn proxied_set() -> libc::sigset_t {
    // SAFETY: sigemptyset/sigaddset initialise and fill a local set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in PROXIED {
            libc::sigaddset(&mut set, s);
        }
        set
    }
}

/// Blocks the proxied signals in this thread and in every thread it
/// starts later (the monitor it launches gets an empty mask: std resets
/// it). Call first, before any thread exists; signals that arrive before
/// [`forward`] wait, pending.
pub fn block() {
    let set = proxied_set();
    // SAFETY: changes this thread's signal mask only.
    unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
}

/// Starts the thread that takes the blocked signals and sends each to
/// container `id`.
pub fn forward(ctx: &Context, id: &str) {
    let set = proxied_set();
    let ctx = Context {
        image_root: ctx.image_root.clone(),
        root: ctx.root.clone(),
        config_file: ctx.config_file.clone(),
    };
    let id = id.to_string();
    std::thread::spawn(move || loop {
        let mut sig: libc::c_int = 0;
        // SAFETY: sigwait on a set blocked in every thread of ours.
        if unsafe { libc::sigwait(&set, &mut sig) } != 0 {
            return;
        }
        // A container that has just ended cannot be signalled: nothing to do.
        if let Ok(e) = ctx.engine() {
            let _ = e.kill(&id, sig);
        }
    });
}
