//! `struct containerv_user`: who a spawned process runs as.

use std::ffi::c_char;

#[cfg(target_os = "linux")]
use crate::cstr;
use crate::error::guard_void;

/// The opaque user: numeric ids inside the container, and a name kept
/// for the caller's information.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct containerv_user {
    #[allow(dead_code)]
    name: Option<String>,
    uid: u32,
    gid: u32,
}

impl containerv_user {
    pub(crate) fn to_core(&self) -> cv_core::User {
        cv_core::User::Id {
            uid: self.uid,
            gid: self.gid,
            additional_gids: Vec::new(),
        }
    }
}

/// # Safety
/// `name` is NULL or a NUL-terminated string.
#[cfg(target_os = "linux")]
#[no_mangle]
pub unsafe extern "C" fn containerv_user_from(
    name: *const c_char,
    uid: libc::uid_t,
    gid: libc::gid_t,
) -> *mut containerv_user {
    crate::error::guard_ptr("containerv_user_from", || {
        // SAFETY: the caller's string.
        let name = unsafe { cstr::optional(name, "name") }?.map(str::to_string);
        Ok(Box::into_raw(Box::new(containerv_user { name, uid, gid })))
    })
}

/// # Safety
/// `user` is NULL or from `containerv_user_from`, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn containerv_user_delete(user: *mut containerv_user) {
    guard_void("containerv_user_delete", || {
        if !user.is_null() {
            // SAFETY: made by Box::into_raw in containerv_user_from.
            drop(unsafe { Box::from_raw(user) });
        }
        Ok(())
    })
}

/// Keeps `c_char` used on Windows, where only the destructor exists.
#[cfg(windows)]
#[allow(dead_code)]
type Unused = c_char;
