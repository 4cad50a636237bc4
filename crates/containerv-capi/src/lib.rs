//! # containerv-capi: the seed's C API over the containerv library
//!
//! The system containerv reimplements is a C library: its users call
//! `containerv_create`, `containerv_spawn`, `containerv_get_stats` and
//! friends, with the seed's structs. This crate builds that library
//! (`libcontainerv.so`, `libcontainerv.a`; `containerv.dll` on Windows)
//! with the headers `include/chef/containerv.h` and
//! `include/chef/containerv/layers.h`, so those programs compile and link
//! unchanged. It is a translation layer only: every call goes to the core
//! crate (`containerv`), which holds all container logic.
//!
//! C conventions, in [`error`]: 0 (or a count) / -1 with `errno`, a
//! thread-local message for `containerv_last_error`, every pointer checked,
//! and no panic across the boundary (caught, reported as EIO). Catching
//! needs `panic = "unwind"`: the dev profile and the workspace's
//! `release-capi` profile have it; the workspace's `release` profile
//! aborts on panic (so a panic there ends the process instead).
//!
//! Modules: [`options`] (options and their setters), [`limits`] (the
//! seed's limit strings), [`layers`] (layer composition), [`container`]
//! (create, spawn, kill, wait, copy, destroy, join), [`stats`], [`user`].

pub mod container;
mod cstr;
pub mod error;
pub mod layers;
pub mod limits;
pub mod options;
pub mod stats;
pub mod user;

use std::ffi::c_char;

/// The message of this thread's last failure (see `containerv.h`).
#[no_mangle]
pub extern "C" fn containerv_last_error() -> *const c_char {
    error::last_error_ptr()
}
