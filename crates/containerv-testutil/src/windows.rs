//! Leftover checks for the Windows (job object) backend's tests.

use std::path::Path;

use windows_sys::Win32::Foundation::CloseHandle;
use windows_sys::Win32::System::JobObjects::OpenJobObjectW;

/// `JOB_OBJECT_QUERY`.
const JOB_OBJECT_QUERY: u32 = 0x0004;

/// True while a job object named `containerv-<id>` exists.
pub fn job_exists(id: &str) -> bool {
    let name: Vec<u16> = format!("containerv-{id}")
        .encode_utf16()
        .chain(std::iter::once(0))
        .collect();
    // SAFETY: `name` is a NUL-terminated UTF-16 string.
    let h = unsafe { OpenJobObjectW(JOB_OBJECT_QUERY, 0, name.as_ptr()) };
    if h.is_null() {
        return false;
    }
    // SAFETY: `h` is the handle just opened, closed once.
    unsafe { CloseHandle(h) };
    true
}

/// Asserts that nothing of container `id` is left: no job object of its
/// name, no directory under the runtime root. A job object lives until the
/// last handle to it *and to its processes* is closed, so drop every
/// `Process` first; the object's end is waited for up to 2 s (Wine's
/// server frees it asynchronously).
pub fn assert_no_leftovers(root: &Path, id: &str) {
    let start = std::time::Instant::now();
    while job_exists(id) && start.elapsed() < std::time::Duration::from_secs(2) {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(!job_exists(id), "job object containerv-{id} is still there");
    assert!(
        !root.join(id).exists(),
        "container directory left: {}",
        root.join(id).display()
    );
}
