//! Windows stats and processes: what Wine implements (process lists,
//! names, working sets, committed memory, process counts) is asserted here;
//! accounting figures (CPU time, peak memory, I/O) only on real Windows.
#![cfg(windows)]

mod windows_common;

use std::io::{BufRead, BufReader};

use containerv::{ContainerOptions, ProcessOptions, Runtime, Stdio};
use windows_common::*;

/// Starts `helper alloc MB HOLD_MS` and waits until it has allocated.
fn allocating(c: &containerv::Container, mb: u32) -> containerv::Process {
    let mut o = ProcessOptions::new(helper_args(&["alloc", &mb.to_string(), "20000"]));
    o.stdout = Stdio::Pipe;
    let mut p = c.spawn(o).unwrap();
    let mut line = String::new();
    BufReader::new(p.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("allocated"), "{line:?}");
    p
}

#[test]
fn memory_and_process_figures() {
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("stats");
    let c = rt.create(&id, &ContainerOptions::new()).unwrap();
    let first = c.stats().unwrap();
    assert_eq!(first.active_processes, 0);
    assert_eq!(first.memory_usage, 0);
    assert_eq!(first.memory_limit, None);
    assert_eq!(first.cpu_percent, 0.0, "first sample");

    let p = allocating(&c, 64);
    let s = c.stats().unwrap();
    assert!(s.memory_usage >= 64 << 20, "{s:?}");
    assert_eq!(s.active_processes, 1, "{s:?}");
    assert!(s.total_processes >= 1, "{s:?}");
    assert!(s.timestamp_ns > first.timestamp_ns);
    assert!(s.cpu_percent.is_finite() && s.cpu_percent >= 0.0);
    assert_eq!(
        (
            s.net_rx_bytes,
            s.net_tx_bytes,
            s.net_rx_packets,
            s.net_tx_packets
        ),
        (0, 0, 0, 0),
        "a job has no network accounting"
    );

    let procs = c.processes().unwrap();
    assert_eq!(procs.len(), 1, "{procs:?}");
    assert_eq!(procs[0].pid, p.pid());
    assert!(procs[0].name.eq_ignore_ascii_case("windows_helper.exe"));
    assert!(procs[0].memory >= 64 << 20, "working set {procs:?}");
    assert_eq!(procs[0].cpu_percent, 0.0, "first sight of the pid");
    let again = c.processes().unwrap();
    assert!(again[0].cpu_percent.is_finite() && again[0].cpu_percent >= 0.0);

    c.destroy().unwrap();
    drop(p);
    assert_no_leftovers(root.path(), &id);
}

#[test]
#[ignore = "needs real Windows: Wine 8 does not implement job accounting (CPU times, peak memory, I/O read 0)"]
fn accounting_figures() {
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("acct");
    let c = rt
        .create(&id, &ContainerOptions::new().memory("1G"))
        .unwrap();
    assert_eq!(c.stats().unwrap().memory_limit, Some(1 << 30));
    let mut spin = c
        .spawn(ProcessOptions::new(helper_args(&["spin", "700"])))
        .unwrap();
    assert!(spin.wait().unwrap().success());
    let p = allocating(&c, 64);
    let file = root.path().join("out.txt");
    let mut o = ProcessOptions::new(helper_args(&["echo-args", &"x".repeat(4096)]));
    o.stdout = Stdio::File(file);
    assert!(c.spawn(o).unwrap().wait().unwrap().success());
    let s = c.stats().unwrap();
    assert!(s.cpu_time_ns >= 400_000_000, "{s:?}");
    assert!(s.cpu_percent > 0.0, "{s:?}");
    assert!(s.memory_peak >= 64 << 20, "{s:?}");
    assert!(s.write_bytes >= 4096 && s.write_ops >= 1, "{s:?}");
    assert!(s.total_processes >= 3, "{s:?}");
    c.destroy().unwrap();
    drop((spin, p));
    assert_no_leftovers(root.path(), &id);
}
