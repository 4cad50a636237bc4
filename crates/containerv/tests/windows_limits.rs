//! Windows job limits enforced for real: memory per job and per process,
//! active processes, CPU hard cap, UI restrictions. Wine 8 accepts the
//! memory and process limits without enforcing them and refuses CPU rate
//! control and UI restrictions, so these run on real Windows only (the
//! Windows CI runs them with `--include-ignored`).
#![cfg(windows)]

mod windows_common;

use std::io::Read;
use std::time::Instant;

use containerv::{ContainerOptions, ProcessOptions, Runtime, Stdio};
use windows_common::*;

fn alloc_in(opts: ContainerOptions, mb: u32) -> (bool, containerv::Stats) {
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("lim");
    let c = rt.create(&id, &opts).unwrap();
    let mut o = ProcessOptions::new(helper_args(&["alloc", &mb.to_string(), "0"]));
    o.stdout = Stdio::Pipe;
    o.stderr = Stdio::Null;
    let mut p = c.spawn(o).unwrap();
    let mut out = String::new();
    let _ = p.stdout.take().unwrap().read_to_string(&mut out);
    let ok = p.wait().unwrap().success() && out.starts_with("allocated");
    let stats = c.stats().unwrap();
    c.destroy().unwrap();
    drop(p);
    assert_no_leftovers(root.path(), &id);
    (ok, stats)
}

#[test]
#[ignore = "needs real Windows: Wine 8 does not enforce job limits"]
fn job_memory_limit() {
    let (ok, _) = alloc_in(ContainerOptions::new().memory("64M"), 200);
    assert!(!ok, "200 MB allocated under a 64 MB job limit");
    let (ok, s) = alloc_in(ContainerOptions::new().memory("512M"), 64);
    assert!(ok);
    assert_eq!(s.memory_limit, Some(512 << 20));
}

#[test]
#[ignore = "needs real Windows: Wine 8 does not enforce job limits"]
fn process_memory_limit() {
    let (ok, _) = alloc_in(ContainerOptions::new().process_memory("64M"), 200);
    assert!(!ok, "200 MB allocated under a 64 MB process limit");
    let (ok, _) = alloc_in(ContainerOptions::new().process_memory("256M"), 64);
    assert!(ok);
}

#[test]
#[ignore = "needs real Windows: Wine 8 does not enforce job limits"]
fn active_process_limit() {
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("pids");
    let c = rt
        .create(&id, &ContainerOptions::new().active_processes(1))
        .unwrap();
    let first = c
        .spawn(ProcessOptions::new(helper_args(&["sleep", "20000"])))
        .unwrap();
    let e = c
        .spawn(ProcessOptions::new(helper_args(&["sleep", "20000"])))
        .unwrap_err()
        .to_string();
    assert!(e.contains("AssignProcessToJobObject"), "{e}");
    let procs = c.processes().unwrap();
    assert_eq!(procs.len(), 1, "the refused process never ran: {procs:?}");
    c.destroy().unwrap();
    drop(first);
    assert_no_leftovers(root.path(), &id);
}

#[test]
#[ignore = "needs real Windows: Wine 8 refuses CPU rate control"]
fn cpu_hard_cap() {
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("cpu");
    let c = rt
        .create(&id, &ContainerOptions::new().cpu_percent(10))
        .unwrap();
    let start = Instant::now();
    let mut p = c
        .spawn(ProcessOptions::new(helper_args(&["spin", "2000"])))
        .unwrap();
    p.wait().unwrap();
    let wall = start.elapsed().as_nanos() as f64;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let used = c.stats().unwrap().cpu_time_ns as f64;
    // 10% of all CPUs, with slack for scheduling granularity.
    assert!(
        used <= wall * cpus * 0.25,
        "cpu {used} ns in {wall} ns wall on {cpus} CPUs"
    );
    c.destroy().unwrap();
    drop(p);
    assert_no_leftovers(root.path(), &id);
}

#[test]
#[ignore = "needs real Windows: Wine 8 refuses UI restrictions"]
fn ui_restrictions_are_accepted() {
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("ui");
    let c = rt
        .create(
            &id,
            &ContainerOptions::new().ui_restrictions(["desktop", "read-clipboard", "exit-windows"]),
        )
        .unwrap();
    let mut p = c
        .spawn(ProcessOptions::new(helper_args(&["exit", "0"])))
        .unwrap();
    assert!(p.wait().unwrap().success());
    c.destroy().unwrap();
    drop(p);
    assert_no_leftovers(root.path(), &id);
}
