//! The one record a forked child sends its parent over a CLOEXEC pipe, for
//! the container's init (`init/`) and for `exec`'s intermediate and
//! process (`exec.rs`): "ready", "run the create hooks", "the process's
//! pid is P", "failed at [`Step`] with errno E", or "failed at plan step N
//! with errno E" (the init's mounts and namespaces, named by the plan).
//! End of file without a record means the child exec'ed (or died).
//!
//! Records are 12 bytes; one `write` of less than `PIPE_BUF` is atomic, so
//! the child needs no framing, no allocation and no lock, and two children
//! writing to the same pipe (exec's intermediate and process) never
//! interleave.

use std::io::Read;

use super::step::{ChildError, Step};

const KIND_READY: u32 = 1;
const KIND_HOOKS: u32 = 2;
const KIND_PID: u32 = 3;
const KIND_FAILED: u32 = 4;
const KIND_PLAN_FAILED: u32 = 5;

/// Bytes of one record: kind, code, value (native endian).
const SIZE: usize = 12;

/// What a child reported.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Report {
    /// Set-up done; the init waits (start on demand) or reaps.
    Ready,
    /// Mounts done, before pivot_root: run the create-time hooks, then
    /// release the child.
    Hooks,
    /// The pid of the process `exec` started.
    Pid(i32),
    /// A step failed.
    Failed(ChildError),
    /// Step `index` of the init's plan failed.
    PlanFailed { index: u32, errno: i32 },
    /// The pipe closed without a record: the child exec'ed its program (or died).
    Eof,
}

/// Write one record. System calls only; errors are ignored (the parent
/// sees EOF and the child's exit).
fn send(fd: i32, kind: u32, code: u32, value: i32) {
    let mut b = [0u8; SIZE];
    b[..4].copy_from_slice(&kind.to_ne_bytes());
    b[4..8].copy_from_slice(&code.to_ne_bytes());
    b[8..].copy_from_slice(&value.to_ne_bytes());
    let mut done = 0;
    while done < SIZE {
        // SAFETY: write from a stack buffer of SIZE bytes.
        let n = unsafe { libc::write(fd, b[done..].as_ptr().cast(), SIZE - done) };
        if n < 0 {
            if crate::linux::init::sys::errno() == libc::EINTR {
                continue;
            }
            return;
        }
        if n == 0 {
            return;
        }
        done += n as usize;
    }
}

/// Child side: set-up is complete.
pub(crate) fn send_ready(fd: i32) {
    send(fd, KIND_READY, 0, 0);
}

/// Child side: the mounts are done, the parent may run the create-time
/// hooks now (the child then waits for a byte on its sync pipe).
pub(crate) fn send_hooks(fd: i32) {
    send(fd, KIND_HOOKS, 0, 0);
}

/// Intermediate side: the process runs as `pid`.
pub(crate) fn send_pid(fd: i32, pid: i32) {
    send(fd, KIND_PID, 0, pid);
}

/// Child side: `e` happened.
pub(crate) fn send_failed(fd: i32, e: ChildError) {
    send(fd, KIND_FAILED, e.step.code(), e.errno);
}

/// Init side: step `index` of the plan failed with `errno`.
pub(crate) fn send_plan_failed(fd: i32, index: u32, errno: i32) {
    send(fd, KIND_PLAN_FAILED, index, errno);
}

/// Parent side: block until the next record or the end of the pipe.
pub(crate) fn receive(f: &mut impl Read) -> std::io::Result<Report> {
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
        return Ok(Report::Eof);
    }
    if got < SIZE {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "short report from the container's child",
        ));
    }
    let word = |i: usize| u32::from_ne_bytes([buf[i], buf[i + 1], buf[i + 2], buf[i + 3]]);
    let (code, value) = (word(4), word(8) as i32);
    match word(0) {
        KIND_READY => Ok(Report::Ready),
        KIND_HOOKS => Ok(Report::Hooks),
        KIND_PID => Ok(Report::Pid(value)),
        KIND_FAILED => Ok(Report::Failed(Step::from_code(code).failed(value))),
        KIND_PLAN_FAILED => Ok(Report::PlanFailed {
            index: code,
            errno: value,
        }),
        kind => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("unknown report kind {kind} from the container's child"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    /// Every record kind through a real pipe, several records per pipe as
    /// exec's intermediate and process send them, then EOF.
    #[test]
    fn round_trip_through_a_pipe() {
        let (r, w) = std::io::pipe().unwrap();
        let fd = w.as_raw_fd();
        send_hooks(fd);
        send_ready(fd);
        send_pid(fd, 4242);
        for s in Step::ALL {
            send_failed(fd, s.failed(libc::EACCES));
        }
        send_plan_failed(fd, 7, libc::ENOENT);
        drop(w);
        let mut r = std::fs::File::from(std::os::fd::OwnedFd::from(r));
        assert_eq!(receive(&mut r).unwrap(), Report::Hooks);
        assert_eq!(receive(&mut r).unwrap(), Report::Ready);
        assert_eq!(receive(&mut r).unwrap(), Report::Pid(4242));
        for s in Step::ALL {
            assert_eq!(
                receive(&mut r).unwrap(),
                Report::Failed(ChildError {
                    step: s,
                    errno: libc::EACCES
                })
            );
        }
        assert_eq!(
            receive(&mut r).unwrap(),
            Report::PlanFailed {
                index: 7,
                errno: libc::ENOENT
            }
        );
        assert_eq!(receive(&mut r).unwrap(), Report::Eof);
    }

    #[test]
    fn short_and_unknown_records_are_errors() {
        let e = receive(&mut &[1u8, 0, 0][..]).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof);
        let mut rec = [0u8; SIZE];
        rec[..4].copy_from_slice(&99u32.to_ne_bytes());
        let e = receive(&mut &rec[..]).unwrap_err();
        assert!(e.to_string().contains("99"), "{e}");
        // A step code from a newer build decodes as the generic step.
        let mut rec = [0u8; SIZE];
        rec[..4].copy_from_slice(&KIND_FAILED.to_ne_bytes());
        rec[4..8].copy_from_slice(&1000u32.to_ne_bytes());
        rec[8..].copy_from_slice(&libc::EIO.to_ne_bytes());
        assert_eq!(
            receive(&mut &rec[..]).unwrap(),
            Report::Failed(Step::ChildSetup.failed(libc::EIO))
        );
    }
}
