//! Reading C strings and arrays: NULL and invalid UTF-8 are errors that
//! name the argument.

use std::ffi::{c_char, c_int, CStr};

use crate::error::CError;

/// A required string argument.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string valid for `'a`.
pub(crate) unsafe fn required<'a>(p: *const c_char, what: &str) -> Result<&'a str, CError> {
    if p.is_null() {
        return Err(CError::inval(format!("{what} is NULL")));
    }
    // SAFETY: non-NULL, NUL-terminated per the caller's contract.
    let s = unsafe { CStr::from_ptr(p) };
    s.to_str()
        .map_err(|_| CError::inval(format!("{what} is not valid UTF-8: {s:?}")))
}

/// An optional string argument (NULL → None).
///
/// # Safety
/// As [`required`].
pub(crate) unsafe fn optional<'a>(p: *const c_char, what: &str) -> Result<Option<&'a str>, CError> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: the caller's contract.
    unsafe { required(p, what) }.map(Some)
}

/// `count` strings of an array argument.
///
/// # Safety
/// `arr` is NULL or points to `count` pointers, each NULL or a string.
pub(crate) unsafe fn array<'a>(
    arr: *const *const c_char,
    count: c_int,
    what: &str,
) -> Result<Vec<&'a str>, CError> {
    if count < 0 {
        return Err(CError::inval(format!("count {count} is negative")));
    }
    if count > 0 && arr.is_null() {
        return Err(CError::inval(format!("{what} is NULL")));
    }
    (0..count as usize)
        .map(|i| {
            // SAFETY: i < count, within the caller's array.
            let p = unsafe { *arr.add(i) };
            // SAFETY: the caller's contract.
            unsafe { required(p, &format!("{what}[{i}]")) }
        })
        .collect()
}

/// A NULL-terminated array of strings (NULL → empty).
///
/// # Safety
/// `arr` is NULL or a NULL-terminated array of strings.
pub(crate) unsafe fn null_terminated<'a>(
    arr: *const *const c_char,
    what: &str,
) -> Result<Vec<&'a str>, CError> {
    let mut out = Vec::new();
    if arr.is_null() {
        return Ok(out);
    }
    for i in 0.. {
        // SAFETY: within the array up to its NULL terminator.
        let p = unsafe { *arr.add(i) };
        if p.is_null() {
            break;
        }
        // SAFETY: the caller's contract.
        out.push(unsafe { required(p, &format!("{what}[{i}]")) }?);
    }
    Ok(out)
}
