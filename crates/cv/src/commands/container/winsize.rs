//! `run -it`: our terminal's size goes to the container's terminal, at
//! start and on every resize (SIGWINCH), as docker's client does. Our
//! stdin reaches the monitor through a relay pipe, which has no size, so
//! the size is written to the container's `tty-size` file, which the
//! monitor watches.

use std::path::PathBuf;

use containerv_engine::monitor::TTY_SIZE_FILE;

fn sigwinch_set() -> libc::sigset_t {
    // SAFETY: initialise and fill a local set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGWINCH);
        set
    }
}

/// Blocks SIGWINCH here and in threads started later. Call first.
pub fn block() {
    let set = sigwinch_set();
    // SAFETY: changes this thread's signal mask only.
    unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
}

fn write_size(file: &PathBuf) {
    if let Some((rows, cols)) = containerv_engine::tty::window_size() {
        let tmp = PathBuf::from(format!("{}.tmp", file.display()));
        if std::fs::write(&tmp, format!("{rows} {cols}\n")).is_ok() {
            let _ = std::fs::rename(&tmp, file);
        }
    }
}

/// Writes the size now (before the container starts) and again on each
/// SIGWINCH, from a thread of its own.
pub fn follow(container_dir: PathBuf) {
    let file = container_dir.join(TTY_SIZE_FILE);
    write_size(&file);
    let set = sigwinch_set();
    std::thread::spawn(move || loop {
        let mut sig = 0;
        // SAFETY: sigwait on a set blocked in every thread of ours.
        if unsafe { libc::sigwait(&set, &mut sig) } != 0 {
            return;
        }
        write_size(&file);
    });
}
