//! `containerv_get_stats` and `containerv_get_processes`: the core's
//! [`cv_core::Stats`] and [`cv_core::ProcessInfo`] in the seed's structs.

use std::ffi::{c_char, c_double, c_int};

use crate::container::{containerv_container, core, process_handle_t};
use crate::error::{guard, CError};

/// `struct containerv_stats`, field for field (15 fields).
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct containerv_stats {
    pub timestamp: u64,
    pub memory_usage: u64,
    pub memory_peak: u64,
    pub cpu_time_ns: u64,
    pub cpu_percent: c_double,
    pub read_bytes: u64,
    pub write_bytes: u64,
    pub read_ops: u64,
    pub write_ops: u64,
    pub network_rx_bytes: u64,
    pub network_tx_bytes: u64,
    pub network_rx_packets: u64,
    pub network_tx_packets: u64,
    pub active_processes: u32,
    pub total_processes: u32,
}

/// `struct containerv_process_info`.
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct containerv_process_info {
    pub pid: process_handle_t,
    pub name: [c_char; 64],
    pub memory_kb: u64,
    pub cpu_percent: c_double,
}

fn sat32(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// # Safety
/// `container` is NULL or a live handle; `stats` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn containerv_get_stats(
    container: *mut containerv_container,
    stats: *mut containerv_stats,
) -> c_int {
    guard("containerv_get_stats", || {
        // SAFETY: the caller's contract.
        let c = unsafe { core(container) }?;
        if stats.is_null() {
            return Err(CError::inval("stats is NULL"));
        }
        let s = c.stats()?;
        let out = containerv_stats {
            timestamp: s.timestamp_ns,
            memory_usage: s.memory_usage,
            memory_peak: s.memory_peak,
            cpu_time_ns: s.cpu_time_ns,
            cpu_percent: s.cpu_percent,
            read_bytes: s.read_bytes,
            write_bytes: s.write_bytes,
            read_ops: s.read_ops,
            write_ops: s.write_ops,
            network_rx_bytes: s.net_rx_bytes,
            network_tx_bytes: s.net_tx_bytes,
            network_rx_packets: s.net_rx_packets,
            network_tx_packets: s.net_tx_packets,
            active_processes: sat32(s.active_processes),
            total_processes: sat32(s.total_processes),
        };
        // SAFETY: non-NULL, the caller's out-pointer.
        unsafe { stats.write(out) };
        Ok(0)
    })
}

fn c_name(name: &str) -> [c_char; 64] {
    let mut out = [0 as c_char; 64];
    let bytes = name.as_bytes();
    // Truncate on a character boundary, leaving room for the NUL.
    let mut n = bytes.len().min(63);
    while n > 0 && !name.is_char_boundary(n) {
        n -= 1;
    }
    for (o, b) in out.iter_mut().zip(&bytes[..n]) {
        *o = *b as c_char;
    }
    out
}

#[cfg(target_os = "linux")]
fn handle_of(pid: i32) -> process_handle_t {
    pid
}

/// Windows: the process id as a handle-typed value (not an open handle).
#[cfg(windows)]
fn handle_of(pid: i32) -> process_handle_t {
    pid as isize as process_handle_t
}

/// # Safety
/// `container` is NULL or a live handle; `processes` NULL or an array of
/// `max_processes` entries.
#[no_mangle]
pub unsafe extern "C" fn containerv_get_processes(
    container: *mut containerv_container,
    processes: *mut containerv_process_info,
    max_processes: c_int,
) -> c_int {
    guard("containerv_get_processes", || {
        // SAFETY: the caller's contract.
        let c = unsafe { core(container) }?;
        if max_processes < 0 {
            return Err(CError::inval(format!(
                "maxProcesses {max_processes} is negative"
            )));
        }
        if processes.is_null() && max_processes > 0 {
            return Err(CError::inval("processes is NULL"));
        }
        let list = c.processes()?;
        let n = list.len().min(max_processes as usize);
        for (i, p) in list.iter().take(n).enumerate() {
            let info = containerv_process_info {
                pid: handle_of(p.pid),
                name: c_name(&p.name),
                memory_kb: p.memory / 1024,
                cpu_percent: p.cpu_percent,
            };
            // SAFETY: i < max_processes, within the caller's array.
            unsafe { processes.add(i).write(info) };
        }
        Ok(n as c_int)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_truncated_with_a_nul() {
        let n = super::c_name(&"x".repeat(100));
        assert_eq!(n[62], b'x' as std::ffi::c_char);
        assert_eq!(n[63], 0);
        let n = super::c_name("sh");
        assert_eq!(
            &n[..3],
            &[b's' as std::ffi::c_char, b'h' as std::ffi::c_char, 0]
        );
    }
}
