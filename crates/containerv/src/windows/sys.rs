//! Small helpers shared by the Windows backend's files: UTF-16 strings for
//! the `W` APIs, owned handles from raw ones, and OS errors turned into the
//! library's [`Error`] with the failing step named.

use std::ffi::OsStr;
use std::io;
use std::os::windows::ffi::OsStrExt;
use std::os::windows::io::{FromRawHandle, OwnedHandle};

use windows_sys::Win32::Foundation::{HANDLE, INVALID_HANDLE_VALUE};

use crate::error::{Error, Result};

/// `s` as a NUL-terminated UTF-16 string. A NUL inside `s` would cut the
/// string short, so it is an error naming `what`.
pub(crate) fn wide(what: &'static str, s: &OsStr) -> Result<Vec<u16>> {
    let mut v: Vec<u16> = s.encode_wide().collect();
    if v.contains(&0) {
        return Err(Error::option(
            what,
            s.to_string_lossy(),
            "contains a NUL character",
        ));
    }
    v.push(0);
    Ok(v)
}

/// The calling thread's last OS error as [`Error::Sys`] for step `what`.
pub(crate) fn last_error(what: impl Into<String>) -> Error {
    Error::sys(what, io::Error::last_os_error())
}

/// Takes ownership of a handle a `Create*`/`Open*` call returned, or the
/// last OS error when it returned NULL or `INVALID_HANDLE_VALUE`.
pub(crate) fn owned(h: HANDLE, what: impl Into<String>) -> Result<OwnedHandle> {
    if h.is_null() || h == INVALID_HANDLE_VALUE {
        return Err(last_error(what));
    }
    // SAFETY: `h` is a valid handle just returned to us and owned by no one else.
    Ok(unsafe { OwnedHandle::from_raw_handle(h) })
}

/// Turns a Win32 `BOOL` result into `Ok` or the last OS error for `what`.
pub(crate) fn check(ok: windows_sys::core::BOOL, what: impl Into<String>) -> Result<()> {
    if ok == 0 {
        Err(last_error(what))
    } else {
        Ok(())
    }
}

/// A FILETIME-style count of 100 ns units as nanoseconds.
pub(crate) fn hundred_ns_to_ns(v: i64) -> u64 {
    (v.max(0) as u64).saturating_mul(100)
}
