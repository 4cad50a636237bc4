//! Errors as C sees them: -1, `errno`, and a thread-local message
//! (`containerv_last_error`); and the guard every exported function runs
//! its body in, so no panic unwinds into C.

use std::cell::RefCell;
use std::ffi::{c_char, c_int, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// errno values (the platform's C library's own numbers).
#[cfg(target_os = "linux")]
pub(crate) mod errno {
    #[allow(unused_imports)] // ESRCH: used on Windows only
    pub use libc::{EBUSY, ECHILD, EEXIST, EINVAL, EIO, ENOENT, ENOTSUP, ESRCH};
}
/// errno values of the Windows C runtimes (msvcrt and ucrt agree).
#[cfg(windows)]
pub(crate) mod errno {
    use std::ffi::c_int;
    pub const ENOENT: c_int = 2;
    pub const ESRCH: c_int = 3;
    pub const EIO: c_int = 5;
    pub const ECHILD: c_int = 10;
    pub const EBUSY: c_int = 16;
    pub const EEXIST: c_int = 17;
    pub const EINVAL: c_int = 22;
    pub const ENOTSUP: c_int = 129;
}

/// A failure on its way to C.
#[derive(Debug)]
pub(crate) struct CError {
    pub errno: c_int,
    pub message: String,
}

impl CError {
    pub fn new(errno: c_int, message: impl Into<String>) -> Self {
        CError {
            errno,
            message: message.into(),
        }
    }

    pub fn inval(message: impl Into<String>) -> Self {
        Self::new(errno::EINVAL, message)
    }

    pub fn notsup(message: impl Into<String>) -> Self {
        Self::new(errno::ENOTSUP, message)
    }
}

impl From<cv_core::Error> for CError {
    fn from(e: cv_core::Error) -> Self {
        use cv_core::Error as E;
        let errno = match &e {
            E::InvalidId { .. }
            | E::InvalidOption { .. }
            | E::InvalidSpec(_)
            | E::UnknownUser(_) => errno::EINVAL,
            E::AlreadyExists(_) => errno::EEXIST,
            E::NotFound(_) => errno::ENOENT,
            E::InvalidState { .. } => errno::EBUSY,
            E::Unsupported(_) => errno::ENOTSUP,
            E::Io { source, .. } | E::Sys { source, .. } | E::Setup { source, .. } => {
                os_errno(source)
            }
            _ => errno::EIO,
        };
        CError::new(errno, e.to_string())
    }
}

/// The errno of an OS error (Linux); Windows error codes are not errno
/// values, so they read as EIO there (the message has the code).
fn os_errno(e: &std::io::Error) -> c_int {
    #[cfg(target_os = "linux")]
    if let Some(n) = e.raw_os_error() {
        return n;
    }
    let _ = e;
    errno::EIO
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Records `e` for this thread (message prefixed with the function's name)
/// and sets errno.
pub(crate) fn record(function: &str, e: &CError) {
    let text = format!("{function}: {}", e.message).replace('\0', "\\0");
    let text = CString::new(text).unwrap_or_default();
    LAST_ERROR.with(|l| *l.borrow_mut() = text);
    set_errno(e.errno);
}

/// The message of this thread's last failure; valid until the next one.
pub(crate) fn last_error_ptr() -> *const c_char {
    LAST_ERROR.with(|l| l.borrow().as_ptr())
}

#[cfg(target_os = "linux")]
fn set_errno(v: c_int) {
    // SAFETY: __errno_location returns this thread's errno slot.
    unsafe { *libc::__errno_location() = v };
}

#[cfg(windows)]
extern "C" {
    /// This thread's errno slot (msvcrt and ucrt).
    fn _errno() -> *mut c_int;
}

#[cfg(windows)]
fn set_errno(v: c_int) {
    // SAFETY: _errno returns this thread's errno slot.
    unsafe { *_errno() = v };
}

/// This thread's errno (for tests).
#[cfg(all(test, target_os = "linux"))]
fn errno_now() -> c_int {
    // SAFETY: __errno_location returns this thread's errno slot.
    unsafe { *libc::__errno_location() }
}

#[cfg(all(test, windows))]
fn errno_now() -> c_int {
    // SAFETY: _errno returns this thread's errno slot.
    unsafe { *_errno() }
}

/// Runs `body` for exported function `function`: its value on success;
/// -1 with errno and the message on an error or a panic (EIO).
pub(crate) fn guard(function: &str, body: impl FnOnce() -> Result<c_int, CError>) -> c_int {
    run(function, body).unwrap_or(-1)
}

/// [`guard`] for functions returning a pointer: NULL on failure.
pub(crate) fn guard_ptr<T>(
    function: &str,
    body: impl FnOnce() -> Result<*mut T, CError>,
) -> *mut T {
    run(function, body).unwrap_or(std::ptr::null_mut())
}

/// [`guard`] for the void setters: failures are recorded, nothing returned.
pub(crate) fn guard_void(function: &str, body: impl FnOnce() -> Result<(), CError>) {
    let _ = run(function, body);
}

fn run<T>(function: &str, body: impl FnOnce() -> Result<T, CError>) -> Option<T> {
    // AssertUnwindSafe: after a panic the caller only gets -1; no state
    // the panic may have left half-updated is used again by this call.
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(v)) => Some(v),
        Ok(Err(e)) => {
            record(function, &e);
            None
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".into());
            record(
                function,
                &CError::new(
                    errno::EIO,
                    format!("internal error (a bug in containerv): {what}"),
                ),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> String {
        // SAFETY: the pointer is this thread's NUL-terminated message.
        unsafe { std::ffi::CStr::from_ptr(last_error_ptr()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn a_panic_becomes_minus_one_with_eio_and_a_message() {
        let r = guard("containerv_test", || -> Result<c_int, CError> {
            panic!("boom {}", 42)
        });
        assert_eq!(r, -1);
        assert_eq!(errno_now(), errno::EIO);
        assert_eq!(
            message(),
            "containerv_test: internal error (a bug in containerv): boom 42"
        );
        let p = guard_ptr("containerv_test", || -> Result<*mut u8, CError> {
            panic!("x")
        });
        assert!(p.is_null());
    }

    #[test]
    fn errors_set_errno_and_the_message_of_this_thread_only() {
        assert_eq!(guard("f", || Err(CError::inval("bad \0 thing"))), -1);
        assert_eq!(errno_now(), errno::EINVAL);
        assert_eq!(message(), "f: bad \\0 thing");
        std::thread::spawn(|| assert_eq!(message(), ""))
            .join()
            .unwrap();
        assert_eq!(guard("f", || Ok(7)), 7);
        // Success leaves the last message as it was (C convention).
        assert!(message().starts_with("f: bad"));
    }
}
