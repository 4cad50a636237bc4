//! `struct containerv_container` and the calls on it: create, spawn, kill,
//! wait, upload/download, destroy, join, id. Each is a translation to the
//! core's [`cv_core::Container`]; the processes spawned through a handle
//! are kept in it so `containerv_wait` can reap them and `containerv_kill`
//! reaches exactly them (by pidfd on Linux, by handle on Windows).

use std::collections::HashMap;
use std::ffi::{c_char, c_int, CString};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use cv_core::{Container, Process, ProcessOptions, Runtime};

use crate::cstr;
use crate::error::{errno, guard, guard_ptr, CError};
use crate::options::containerv_options;
use crate::user::containerv_user;

/// `process_handle_t`: a pid on Linux, a HANDLE on Windows.
#[cfg(target_os = "linux")]
#[allow(non_camel_case_types)]
pub type process_handle_t = libc::pid_t;
#[cfg(windows)]
#[allow(non_camel_case_types)]
pub type process_handle_t = windows_sys::Win32::Foundation::HANDLE;

/// `CV_SPAWN_WAIT`.
pub const CV_SPAWN_WAIT: c_int = 0x1;

/// `struct containerv_spawn_options`, field for field.
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct containerv_spawn_options {
    pub arguments: *const c_char,
    pub environment: *const *const c_char,
    pub as_user: *mut containerv_user,
    pub flags: c_int,
}

/// A spawned process and, on Windows, the handle the caller was given.
struct Spawned {
    process: Process,
    #[cfg(windows)]
    _handle: std::os::windows::io::OwnedHandle,
}

/// Key of the spawned-process table: the pid, or the HANDLE's value.
type Key = isize;

/// The opaque C container handle.
#[allow(non_camel_case_types)]
pub struct containerv_container {
    inner: Container,
    id: CString,
    spawned: Mutex<HashMap<Key, Spawned>>,
}

impl containerv_container {
    fn spawned(&self) -> MutexGuard<'_, HashMap<Key, Spawned>> {
        // A poisoned lock only means a panic elsewhere; the table is intact.
        self.spawned.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The runtime root: $CONTAINERV_ROOT, or the core's default.
pub(crate) fn runtime() -> Result<Runtime, CError> {
    let root = std::env::var_os("CONTAINERV_ROOT")
        .filter(|r| !r.is_empty())
        .map(std::path::PathBuf::from)
        .unwrap_or_else(default_root);
    Ok(Runtime::new(root)?)
}

/// The container behind a C pointer.
///
/// # Safety
/// `p` is NULL or a live handle from `containerv_create`.
unsafe fn container<'a>(p: *mut containerv_container) -> Result<&'a containerv_container, CError> {
    // SAFETY: the caller's contract.
    unsafe { p.as_ref() }.ok_or_else(|| CError::inval("container is NULL"))
}

/// # Safety
/// `container_id` is NULL or a string; `options` NULL or live;
/// `container_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn containerv_create(
    container_id: *const c_char,
    options: *mut containerv_options,
    container_out: *mut *mut containerv_container,
) -> c_int {
    guard("containerv_create", || {
        // SAFETY: the caller's string.
        let id = unsafe { cstr::required(container_id, "containerId") }?;
        // SAFETY: the caller's contract.
        let options =
            unsafe { options.as_ref() }.ok_or_else(|| CError::inval("options is NULL"))?;
        if container_out.is_null() {
            return Err(CError::inval("containerOut is NULL"));
        }
        cv_core::id::validate_id(id)?;
        let core_options = options.to_core(id)?;
        let inner = runtime()?.create(id, &core_options)?;
        let handle = Box::new(containerv_container {
            id: CString::new(id).expect("a valid id has no NUL"),
            inner,
            spawned: Mutex::new(HashMap::new()),
        });
        // SAFETY: checked non-NULL above.
        unsafe { *container_out = Box::into_raw(handle) };
        Ok(0)
    })
}

/// The core's process options for a C spawn.
///
/// # Safety
/// `options` is NULL or a valid spawn options struct with valid strings.
unsafe fn process_options(
    path: &str,
    options: *const containerv_spawn_options,
) -> Result<ProcessOptions, CError> {
    let mut args = vec![path.to_string()];
    // SAFETY: the caller's contract.
    let Some(o) = (unsafe { options.as_ref() }) else {
        return Ok(ProcessOptions::new(args));
    };
    // SAFETY: the caller's string.
    if let Some(line) = unsafe { cstr::optional(o.arguments, "options->arguments") }? {
        let words = shlex::split(line).ok_or_else(|| {
            CError::inval(format!(
                "options->arguments {line:?}: unbalanced quotes or a trailing backslash"
            ))
        })?;
        args.extend(words);
    }
    let mut p = ProcessOptions::new(args);
    // SAFETY: the caller's NULL-terminated array.
    p.env = unsafe { cstr::null_terminated(o.environment, "options->environment") }?
        .into_iter()
        .map(|kv| {
            if kv.contains('=') {
                Ok(kv.to_string())
            } else {
                Err(CError::inval(format!(
                    "options->environment entry {kv:?}: not KEY=VALUE"
                )))
            }
        })
        .collect::<Result<_, _>>()?;
    // SAFETY: the caller's contract: NULL or from containerv_user_from.
    if let Some(u) = unsafe { o.as_user.as_ref() } {
        p.user = Some(u.to_core());
    }
    if o.flags & !CV_SPAWN_WAIT != 0 {
        return Err(CError::inval(format!(
            "options->flags {:#x}: unknown flags",
            o.flags & !CV_SPAWN_WAIT
        )));
    }
    p.wait = o.flags & CV_SPAWN_WAIT != 0;
    Ok(p)
}

/// # Safety
/// Pointers are NULL or valid as the header describes.
#[no_mangle]
pub unsafe extern "C" fn containerv_spawn(
    container: *mut containerv_container,
    path: *const c_char,
    options: *mut containerv_spawn_options,
    pid_out: *mut process_handle_t,
) -> c_int {
    guard("containerv_spawn", || {
        // SAFETY: the caller's contract.
        let c = unsafe { container_ref(container) }?;
        // SAFETY: the caller's string.
        let path = unsafe { cstr::required(path, "path") }?;
        if path.is_empty() {
            return Err(CError::inval("path is empty"));
        }
        // SAFETY: the caller's contract.
        let opts = unsafe { process_options(path, options) }?;
        let process = c.inner.spawn(opts)?;
        let (key, handle, spawned) = remember(process)?;
        c.spawned().insert(key, spawned);
        if !pid_out.is_null() {
            // SAFETY: non-NULL, the caller's out-pointer.
            unsafe { *pid_out = handle };
        }
        Ok(0)
    })
}

/// Alias so the unsafe helper reads well at call sites.
unsafe fn container_ref<'a>(
    p: *mut containerv_container,
) -> Result<&'a containerv_container, CError> {
    // SAFETY: passed through.
    unsafe { container(p) }
}

#[cfg(target_os = "linux")]
fn remember(process: Process) -> Result<(Key, process_handle_t, Spawned), CError> {
    let pid = process.pid();
    Ok((pid as Key, pid, Spawned { process }))
}

/// Windows: the caller gets a real process HANDLE (owned by the container
/// handle, closed when the process is waited for or at destroy).
#[cfg(windows)]
fn remember(process: Process) -> Result<(Key, process_handle_t, Spawned), CError> {
    use std::os::windows::io::{FromRawHandle, OwnedHandle};
    use windows_sys::Win32::System::Threading::{
        OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION, PROCESS_SYNCHRONIZE, PROCESS_TERMINATE,
    };
    let pid = process.pid() as u32;
    // SAFETY: OpenProcess has no memory-safety preconditions.
    let h = unsafe {
        OpenProcess(
            PROCESS_SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION | PROCESS_TERMINATE,
            0,
            pid,
        )
    };
    if h.is_null() {
        return Err(CError::new(
            errno::EIO,
            format!("OpenProcess {pid}: {}", std::io::Error::last_os_error()),
        ));
    }
    // SAFETY: a fresh handle from OpenProcess, owned from here on.
    let owned = unsafe { OwnedHandle::from_raw_handle(h) };
    Ok((
        h as Key,
        h,
        Spawned {
            process,
            _handle: owned,
        },
    ))
}

fn key(h: process_handle_t) -> Key {
    h as Key
}

/// # Safety
/// `container` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn containerv_kill(
    container: *mut containerv_container,
    pid: process_handle_t,
) -> c_int {
    guard("containerv_kill", || {
        // SAFETY: the caller's contract.
        let c = unsafe { container_ref(container) }?;
        const SIGKILL: i32 = 9;
        if let Some(s) = c.spawned().get(&key(pid)) {
            s.process.kill(SIGKILL)?;
            return Ok(0);
        }
        #[cfg(target_os = "linux")]
        {
            c.inner.kill(pid, SIGKILL)?;
            Ok(0)
        }
        #[cfg(windows)]
        Err(CError::new(
            errno::ESRCH,
            "not a process handle from containerv_spawn on this container",
        ))
    })
}

/// # Safety
/// `container` is NULL or a live handle; `exit_code_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn containerv_wait(
    container: *mut containerv_container,
    pid: process_handle_t,
    exit_code_out: *mut c_int,
) -> c_int {
    guard("containerv_wait", || {
        // SAFETY: the caller's contract.
        let c = unsafe { container_ref(container) }?;
        // Taken out of the table while waiting, so other calls on the
        // handle do not wait for this one (a kill then goes by pid).
        let mut s = c.spawned().remove(&key(pid)).ok_or_else(|| {
            CError::new(
                errno::ECHILD,
                format!(
                    "process {pid:?} was not spawned through this container handle \
                     (or was already waited for)"
                ),
            )
        })?;
        let status = match s.process.wait() {
            Ok(st) => st,
            Err(e) => {
                c.spawned().insert(key(pid), s);
                return Err(e.into());
            }
        };
        if !exit_code_out.is_null() {
            // SAFETY: non-NULL, the caller's out-pointer.
            unsafe { *exit_code_out = status.code() };
        }
        Ok(0)
    })
}

/// Copies between host and container, one pair at a time.
///
/// # Safety
/// The arrays hold `count` strings each.
unsafe fn copy_all(
    container: *mut containerv_container,
    from: *const *const c_char,
    to: *const *const c_char,
    count: c_int,
    upload: bool,
) -> Result<c_int, CError> {
    // SAFETY: the caller's contract.
    let c = unsafe { container_ref(container) }?;
    let (fname, tname) = if upload {
        ("hostPaths", "containerPaths")
    } else {
        ("containerPaths", "hostPaths")
    };
    // SAFETY: the caller's arrays.
    let (from, to) = unsafe {
        (
            cstr::array(from, count, fname)?,
            cstr::array(to, count, tname)?,
        )
    };
    for (f, t) in from.iter().zip(&to) {
        copy_one(c, Path::new(f), Path::new(t), upload)?;
    }
    Ok(0)
}

fn copy_one(c: &containerv_container, from: &Path, to: &Path, upload: bool) -> Result<(), CError> {
    if upload {
        c.inner.upload(from, to)?
    } else {
        c.inner.download(from, to)?
    }
    Ok(())
}

/// # Safety
/// Pointers are NULL or valid as the header describes.
#[no_mangle]
pub unsafe extern "C" fn containerv_upload(
    container: *mut containerv_container,
    host_paths: *const *const c_char,
    container_paths: *const *const c_char,
    count: c_int,
) -> c_int {
    // SAFETY: passed through.
    guard("containerv_upload", || unsafe {
        copy_all(container, host_paths, container_paths, count, true)
    })
}

/// # Safety
/// Pointers are NULL or valid as the header describes.
#[no_mangle]
pub unsafe extern "C" fn containerv_download(
    container: *mut containerv_container,
    container_paths: *const *const c_char,
    host_paths: *const *const c_char,
    count: c_int,
) -> c_int {
    // SAFETY: passed through.
    guard("containerv_download", || unsafe {
        copy_all(container, container_paths, host_paths, count, false)
    })
}

/// # Safety
/// `container` is NULL or a live handle, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn containerv_destroy(container: *mut containerv_container) -> c_int {
    guard("containerv_destroy", || {
        if container.is_null() {
            return Err(CError::inval("container is NULL"));
        }
        // SAFETY: made by Box::into_raw in containerv_create; the caller
        // gives it up here.
        let c = unsafe { Box::from_raw(container) };
        let spawned = std::mem::take(&mut *c.spawned());
        let result = c.inner.destroy();
        // Reap what we spawned: after a destroy they are all dead; after a
        // failed one, only what has ended (never block).
        for (_, mut s) in spawned {
            if result.is_ok() {
                let _ = s.process.wait();
            } else {
                let _ = s.process.try_wait();
            }
        }
        result?;
        Ok(0)
    })
}

/// # Safety
/// `container_id` is NULL or a string.
#[no_mangle]
pub unsafe extern "C" fn containerv_join(container_id: *const c_char) -> c_int {
    guard("containerv_join", || {
        // SAFETY: the caller's string.
        let id = unsafe { cstr::required(container_id, "containerId") }?;
        join(id)?;
        Ok(0)
    })
}

/// Linux: cgroup and namespaces; Windows: the container's job.
fn join(id: &str) -> Result<(), CError> {
    runtime()?.open(id)?.join()?;
    Ok(())
}

/// # Safety
/// `container` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn containerv_id(container: *mut containerv_container) -> *const c_char {
    guard_ptr("containerv_id", || {
        // SAFETY: the caller's contract.
        let c = unsafe { container_ref(container) }?;
        Ok(c.id.as_ptr().cast_mut())
    })
}

/// The core container of a handle (for stats).
///
/// # Safety
/// As [`container`].
pub(crate) unsafe fn core<'a>(p: *mut containerv_container) -> Result<&'a Container, CError> {
    // SAFETY: passed through.
    unsafe { container(p) }.map(|c| &c.inner)
}

#[cfg(target_os = "linux")]
fn default_root() -> std::path::PathBuf {
    cv_core::linux::DEFAULT_ROOT.into()
}

#[cfg(windows)]
fn default_root() -> std::path::PathBuf {
    cv_core::windows::DEFAULT_ROOT.into()
}

/// Not in the seed: re-executes the calling program from a binary that
/// cannot be written through `/proc/<pid>/exe` (see the core's
/// `exeseal`), unless it already runs from one.
#[no_mangle]
pub extern "C" fn containerv_ensure_sealed() -> c_int {
    guard("containerv_ensure_sealed", || {
        #[cfg(target_os = "linux")]
        cv_core::linux::exeseal::ensure_sealed()?;
        Ok(0)
    })
}

/// The seed's query for VM containers: containerv makes none, so 0.
///
/// # Safety
/// `container` is NULL or a live handle (it is not read).
#[no_mangle]
pub unsafe extern "C" fn containerv_guest_is_windows(
    container: *mut containerv_container,
) -> c_int {
    let _ = container;
    0
}
