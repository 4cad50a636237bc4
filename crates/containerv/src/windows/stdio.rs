//! A new process's standard handles from [`Stdio`]: the caller's own
//! (inherit), `NUL`, an anonymous pipe (the caller keeps the other end) or a
//! host file.
//!
//! Every handle made here is *not* inheritable; `spawn` makes inheritable
//! duplicates only for the moment of `CreateProcessW` and lists them in
//! `PROC_THREAD_ATTRIBUTE_HANDLE_LIST`, so a child gets exactly its three
//! standard handles and nothing else of ours.

use std::fs::{File, OpenOptions};
use std::os::windows::io::{FromRawHandle, OwnedHandle};

use windows_sys::Win32::Foundation::{
    DuplicateHandle, DUPLICATE_SAME_ACCESS, HANDLE, INVALID_HANDLE_VALUE,
};
use windows_sys::Win32::System::Console::{
    GetStdHandle, STD_ERROR_HANDLE, STD_INPUT_HANDLE, STD_OUTPUT_HANDLE,
};
use windows_sys::Win32::System::Pipes::CreatePipe;
use windows_sys::Win32::System::Threading::GetCurrentProcess;

use super::sys::{check, last_error};
use crate::error::{Error, Result};
use crate::process::Stdio;

/// Which standard stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    Input,
    Output,
    Error,
}

impl Stream {
    fn name(self) -> &'static str {
        match self {
            Stream::Input => "stdin",
            Stream::Output => "stdout",
            Stream::Error => "stderr",
        }
    }
}

/// One prepared stream: the child's handle (`None`: no handle) and, for a
/// pipe, the caller's end.
#[derive(Debug)]
pub(crate) struct ChildStdio {
    pub child: Option<OwnedHandle>,
    pub parent: Option<File>,
}

/// Opens what `stdio` names for `stream`.
pub(crate) fn prepare(stdio: Stdio, stream: Stream) -> Result<ChildStdio> {
    let child_only = |h: OwnedHandle| ChildStdio {
        child: Some(h),
        parent: None,
    };
    Ok(match stdio {
        Stdio::Inherit => {
            let id = match stream {
                Stream::Input => STD_INPUT_HANDLE,
                Stream::Output => STD_OUTPUT_HANDLE,
                Stream::Error => STD_ERROR_HANDLE,
            };
            // SAFETY: GetStdHandle only reads the process's std handle table.
            let h = unsafe { GetStdHandle(id) };
            if h.is_null() || h == INVALID_HANDLE_VALUE {
                ChildStdio {
                    child: None,
                    parent: None,
                }
            } else {
                child_only(duplicate(h, false, stream.name())?)
            }
        }
        Stdio::Null => {
            let f = OpenOptions::new()
                .read(true)
                .write(true)
                .open("NUL")
                .map_err(|e| Error::io("open for the new process's stdio", "NUL", e))?;
            child_only(f.into())
        }
        Stdio::File(path) => {
            let f = if stream == Stream::Input {
                File::open(&path)
            } else {
                OpenOptions::new().create(true).append(true).open(&path)
            }
            .map_err(|e| Error::io("open stdio file", &path, e))?;
            child_only(f.into())
        }
        Stdio::Pipe => {
            let (mut r, mut w): (HANDLE, HANDLE) = (std::ptr::null_mut(), std::ptr::null_mut());
            // SAFETY: both out-pointers are valid; no security attributes,
            // so neither end is inheritable.
            let ok = unsafe { CreatePipe(&mut r, &mut w, std::ptr::null(), 0) };
            check(ok, format!("CreatePipe for {}", stream.name()))?;
            // SAFETY: CreatePipe succeeded: both are new handles owned by us.
            let (r, w) = unsafe {
                (
                    OwnedHandle::from_raw_handle(r),
                    OwnedHandle::from_raw_handle(w),
                )
            };
            let (child, parent) = if stream == Stream::Input {
                (r, w)
            } else {
                (w, r)
            };
            ChildStdio {
                child: Some(child),
                parent: Some(File::from(parent)),
            }
        }
    })
}

/// A duplicate of `h` in this process, inheritable or not.
pub(crate) fn duplicate(h: HANDLE, inheritable: bool, what: &str) -> Result<OwnedHandle> {
    let mut out: HANDLE = std::ptr::null_mut();
    // SAFETY: `h` is an open handle of this process; `out` is a valid
    // out-pointer; the pseudo-handle of the current process needs no closing.
    let ok = unsafe {
        DuplicateHandle(
            GetCurrentProcess(),
            h,
            GetCurrentProcess(),
            &mut out,
            0,
            i32::from(inheritable),
            DUPLICATE_SAME_ACCESS,
        )
    };
    if ok == 0 {
        return Err(last_error(format!("DuplicateHandle ({what})")));
    }
    // SAFETY: DuplicateHandle succeeded: `out` is a new handle owned by us.
    Ok(unsafe { OwnedHandle::from_raw_handle(out) })
}
