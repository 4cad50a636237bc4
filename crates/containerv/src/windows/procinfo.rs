//! Per-process figures by pid: image name, memory counters, CPU time.
//! A process that ended between listing and opening is simply skipped by
//! the callers (`None`), never reported with made-up figures.

use std::os::windows::io::{AsRawHandle, OwnedHandle};

use windows_sys::Win32::Foundation::FILETIME;
use windows_sys::Win32::System::ProcessStatus::{
    K32GetProcessMemoryInfo, PROCESS_MEMORY_COUNTERS, PROCESS_MEMORY_COUNTERS_EX,
};
use windows_sys::Win32::System::Threading::{
    GetProcessTimes, OpenProcess, QueryFullProcessImageNameW, PROCESS_NAME_WIN32,
    PROCESS_QUERY_LIMITED_INFORMATION, PROCESS_VM_READ,
};

use super::sys::{hundred_ns_to_ns, owned};

/// Opens `pid` for queries; `None` if it is gone.
pub(crate) fn open(pid: u32) -> Option<OwnedHandle> {
    // SAFETY: OpenProcess has no memory-safety preconditions.
    let h = unsafe { OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION | PROCESS_VM_READ, 0, pid) };
    owned(h, "OpenProcess").ok()
}

/// Memory counters (working set, private committed bytes).
pub(crate) fn memory(h: &OwnedHandle) -> Option<PROCESS_MEMORY_COUNTERS_EX> {
    let mut c = PROCESS_MEMORY_COUNTERS_EX {
        cb: std::mem::size_of::<PROCESS_MEMORY_COUNTERS_EX>() as u32,
        ..Default::default()
    };
    // SAFETY: `c` is a writable PROCESS_MEMORY_COUNTERS_EX, whose prefix is
    // PROCESS_MEMORY_COUNTERS, and `cb` is its size.
    let ok = unsafe {
        K32GetProcessMemoryInfo(
            h.as_raw_handle(),
            (&mut c as *mut PROCESS_MEMORY_COUNTERS_EX).cast::<PROCESS_MEMORY_COUNTERS>(),
            c.cb,
        )
    };
    (ok != 0).then_some(c)
}

/// User + kernel CPU time, ns.
pub(crate) fn cpu_ns(h: &OwnedHandle) -> Option<u64> {
    let mut t = [FILETIME::default(); 4];
    let [c, e, k, u] = &mut t;
    // SAFETY: four writable FILETIMEs for the four out-parameters.
    let ok = unsafe { GetProcessTimes(h.as_raw_handle(), c, e, k, u) };
    (ok != 0).then(|| hundred_ns_to_ns(ft(*k)).saturating_add(hundred_ns_to_ns(ft(*u))))
}

fn ft(t: FILETIME) -> i64 {
    ((u64::from(t.dwHighDateTime) << 32) | u64::from(t.dwLowDateTime)) as i64
}

/// The image's file name ("cmd.exe").
pub(crate) fn name(h: &OwnedHandle) -> Option<String> {
    let mut buf = vec![0u16; 1024];
    let mut len = buf.len() as u32;
    // SAFETY: `buf` is writable for `len` UTF-16 units.
    let ok = unsafe {
        QueryFullProcessImageNameW(
            h.as_raw_handle(),
            PROCESS_NAME_WIN32,
            buf.as_mut_ptr(),
            &mut len,
        )
    };
    if ok == 0 {
        return None;
    }
    let full = String::from_utf16_lossy(&buf[..len as usize]);
    Some(
        full.rsplit(['\\', '/'])
            .next()
            .unwrap_or(full.as_str())
            .to_string(),
    )
}
