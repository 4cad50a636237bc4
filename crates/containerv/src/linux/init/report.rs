//! The fixed-size record the init sends its parent over a CLOEXEC pipe:
//! "ready" (set-up done, now waiting or reaping) or "failed at step N with
//! errno E". End of file without a record means the init exec'ed.
//!
//! One `write` of a record smaller than `PIPE_BUF` is atomic, so the child
//! needs no framing, no allocation and no lock.

use std::io::Read;

use super::sys;

/// Step index meaning "the step is named in `text`".
pub(crate) const STEP_NAMED: u32 = u32::MAX;
/// Step index meaning "`text` is an encoded `proc_setup::ChildError`"
/// (a failure of `PreparedProcess::exec`).
pub(crate) const STEP_PROCESS: u32 = u32::MAX - 1;

const KIND_READY: u32 = 1;
const KIND_ERROR: u32 = 2;
const KIND_HOOKS: u32 = 3;
const TEXT: usize = 112;

#[repr(C)]
#[derive(Clone, Copy)]
struct Record {
    kind: u32,
    step: u32,
    errno: i32,
    len: u32,
    text: [u8; TEXT],
}

const SIZE: usize = std::mem::size_of::<Record>();

impl Record {
    fn bytes(&self) -> &[u8] {
        // SAFETY: `Record` is repr(C) plain data without padding (4 × u32 + bytes).
        unsafe { std::slice::from_raw_parts((self as *const Record).cast::<u8>(), SIZE) }
    }
}

/// Child side: tell the parent set-up is complete.
pub(crate) fn send_ready(fd: i32) {
    let r = Record {
        kind: KIND_READY,
        step: 0,
        errno: 0,
        len: 0,
        text: [0; TEXT],
    };
    let _ = sys::write_all(fd, r.bytes());
}

/// Child side: the mounts are done, the parent may run the create-time
/// hooks now (the child then waits for a byte on its sync pipe).
pub(crate) fn send_hooks(fd: i32) {
    let r = Record {
        kind: KIND_HOOKS,
        step: 0,
        errno: 0,
        len: 0,
        text: [0; TEXT],
    };
    let _ = sys::write_all(fd, r.bytes());
}

/// Child side: report a failed step (`text` for [`STEP_NAMED`] and [`STEP_PROCESS`]).
pub(crate) fn send_error(fd: i32, step: u32, errno: i32, text: &[u8]) {
    let mut r = Record {
        kind: KIND_ERROR,
        step,
        errno,
        len: 0,
        text: [0; TEXT],
    };
    let n = text.len().min(TEXT);
    r.text[..n].copy_from_slice(&text[..n]);
    r.len = n as u32;
    let _ = sys::write_all(fd, r.bytes());
}

/// What the parent read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Report {
    /// Set-up done; the init waits (start on demand) or reaps.
    Ready,
    /// Mounts done, before pivot_root: run the create-time hooks, then
    /// release the child.
    Hooks,
    /// The pipe closed without a record: the init exec'ed its program (or died).
    Exec,
    /// A step failed.
    Failed {
        step: u32,
        errno: i32,
        text: Vec<u8>,
    },
}

/// Parent side: block until the child reports or the pipe closes.
pub(crate) fn receive(f: &mut std::fs::File) -> std::io::Result<Report> {
    let mut buf = [0u8; SIZE];
    let mut got = 0;
    while got < SIZE {
        match f.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    if got == 0 {
        return Ok(Report::Exec);
    }
    if got < SIZE {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "short report from the container's init",
        ));
    }
    let word = |i: usize| u32::from_ne_bytes(buf[i..i + 4].try_into().unwrap_or([0; 4]));
    match word(0) {
        KIND_READY => Ok(Report::Ready),
        KIND_HOOKS => Ok(Report::Hooks),
        _ => {
            let len = (word(12) as usize).min(TEXT);
            Ok(Report::Failed {
                step: word(4),
                errno: word(8) as i32,
                text: buf[16..16 + len].to_vec(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::OwnedFd;

    #[test]
    fn round_trip() {
        let (r, w) = std::io::pipe().unwrap();
        use std::os::fd::AsRawFd;
        send_error(w.as_raw_fd(), STEP_NAMED, libc::ENOENT, b"exec");
        drop(w);
        let got = receive(&mut std::fs::File::from(OwnedFd::from(r))).unwrap();
        assert_eq!(
            got,
            Report::Failed {
                step: STEP_NAMED,
                errno: libc::ENOENT,
                text: b"exec".to_vec()
            }
        );
        let (r, w) = std::io::pipe().unwrap();
        send_ready(w.as_raw_fd());
        assert_eq!(
            receive(&mut std::fs::File::from(OwnedFd::from(r))).unwrap(),
            Report::Ready
        );
        let (r, w) = std::io::pipe().unwrap();
        send_hooks(w.as_raw_fd());
        assert_eq!(
            receive(&mut std::fs::File::from(OwnedFd::from(r))).unwrap(),
            Report::Hooks
        );
        let (r, w) = std::io::pipe().unwrap();
        drop(w);
        assert_eq!(
            receive(&mut std::fs::File::from(OwnedFd::from(r))).unwrap(),
            Report::Exec
        );
    }
}
