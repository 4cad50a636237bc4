//! Keeps a store into a ring window ([`super::ringmap`]) from killing the
//! process when the file behind it faults.
//!
//! A store into a shared file mapping fails with SIGBUS when the page's
//! block is gone or unreadable: the ring file was truncated by someone else
//! (`: > history`, a copy-truncate rotation), its blocks need allocating
//! again on a full disk (an XFS reflink copy made since), an I/O error.
//! Unguarded, that SIGBUS kills an engine's monitor (and with it the
//! container's supervision) or a library user's process, for the sake of
//! a stats sample. So while a window is mapped its range is registered
//! here, and a SIGBUS handler (installed once per process, chaining to
//! whatever handler was there before for any other address) puts
//! anonymous memory over a faulting window (`mmap(MAP_FIXED)`, so the
//! store completes harmlessly when the instruction is retried) and marks
//! it hit; the writer sees the mark, drops the window for good and writes
//! the record with `pwrite`, which reports errors as errors.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::OnceLock;

/// Windows that can be guarded at once in one process (a writer has one).
const SLOTS: usize = 64;

static START: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
static LEN: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
static HIT: [AtomicBool; SLOTS] = [const { AtomicBool::new(false) }; SLOTS];

/// The SIGBUS action before ours (chained to for addresses not ours);
/// `None` when installing ours failed.
static PREVIOUS: OnceLock<Option<libc::sigaction>> = OnceLock::new();

/// A registered window: unregistered on drop (before its munmap).
#[derive(Debug)]
pub(crate) struct Guard {
    slot: usize,
}

impl Guard {
    /// Registers `[addr, addr + len)`; `None` when the handler could not be
    /// installed or every slot is taken (the caller then uses `pwrite`).
    pub(crate) fn register(addr: usize, len: usize) -> Option<Guard> {
        PREVIOUS.get_or_init(install).as_ref()?;
        for slot in 0..SLOTS {
            if LEN[slot]
                .compare_exchange(0, len, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                HIT[slot].store(false, Ordering::Relaxed);
                START[slot].store(addr, Ordering::Release);
                return Some(Guard { slot });
            }
        }
        None
    }

    /// Whether a store into the window faulted since it was registered
    /// (what was stored went to anonymous memory, not the file).
    pub(crate) fn hit(&self) -> bool {
        HIT[self.slot].load(Ordering::Acquire)
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        START[self.slot].store(0, Ordering::Release);
        HIT[self.slot].store(false, Ordering::Relaxed);
        LEN[self.slot].store(0, Ordering::Release);
    }
}

/// Installs [`on_sigbus`]; the action it replaced, or `None` on failure.
fn install() -> Option<libc::sigaction> {
    // SAFETY: sigaction with zeroed (valid) structs; the handler has the
    // SA_SIGINFO signature.
    unsafe {
        let mut new: libc::sigaction = std::mem::zeroed();
        new.sa_sigaction = on_sigbus as *const () as usize;
        new.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        libc::sigemptyset(&mut new.sa_mask);
        let mut old: libc::sigaction = std::mem::zeroed();
        (libc::sigaction(libc::SIGBUS, &new, &mut old) == 0).then_some(old)
    }
}

/// The SIGBUS handler: async-signal-safe (atomics, mmap, sigaction).
extern "C" fn on_sigbus(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers;
    // si_addr is the faulting address for SIGBUS.
    let addr = unsafe { (*info).si_addr() } as usize;
    for slot in 0..SLOTS {
        let start = START[slot].load(Ordering::Acquire);
        let len = LEN[slot].load(Ordering::Acquire);
        if start == 0 || addr < start || addr >= start + len {
            continue;
        }
        // SAFETY: replaces our own registered window (page-aligned, `len`
        // bytes) with private anonymous memory at the same address.
        let p = unsafe {
            libc::mmap(
                start as *mut libc::c_void,
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_FIXED | libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p != libc::MAP_FAILED {
            HIT[slot].store(true, Ordering::Release);
            return;
        }
    }
    // Not ours: what was there before.
    let Some(Some(old)) = PREVIOUS.get() else {
        return;
    };
    let h = old.sa_sigaction;
    if h == libc::SIG_DFL || h == libc::SIG_IGN {
        // SAFETY: restores the default action; returning re-executes the
        // faulting instruction, whose SIGBUS then takes it (as without us).
        unsafe {
            let mut dfl: libc::sigaction = std::mem::zeroed();
            dfl.sa_sigaction = libc::SIG_DFL;
            libc::sigaction(libc::SIGBUS, &dfl, std::ptr::null_mut());
        }
    } else if old.sa_flags & libc::SA_SIGINFO != 0 {
        // SAFETY: the previous handler, called as it was installed.
        let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
            unsafe { std::mem::transmute(h) };
        f(sig, info, ctx);
    } else {
        // SAFETY: as above, a plain handler.
        let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(h) };
        f(sig);
    }
}
