//! Windows backend lifecycle on real job objects: create, spawn (suspended →
//! assigned → resumed), wait, kill, kill-on-close, open by name, start
//! later, working directories, destroy. Runs under Wine and on Windows.
#![cfg(windows)]

mod windows_common;

use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use containerv::{
    ContainerOptions, ExitStatus, InitKind, ProcessOptions, Runtime, StartMode, Stdio,
};
use windows_common::*;

fn wait_bounded(p: &mut containerv::Process, limit: Duration) -> Option<ExitStatus> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Some(s) = p.try_wait().unwrap() {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[test]
fn create_spawn_wait_destroy() {
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("life");
    let c = rt.create(&id, &ContainerOptions::new()).unwrap();
    assert!(job_exists(&id));
    assert_eq!(c.job_name(), format!("containerv-{id}"));
    assert_eq!(c.pid(), 0, "no command: no init");
    assert!(c.working_dir().is_dir());

    let mut p = c
        .spawn(ProcessOptions::new(helper_args(&["exit", "7"])))
        .unwrap();
    assert!(p.pid() > 0);
    assert_eq!(p.wait().unwrap(), ExitStatus::Exited(7));
    assert_eq!(p.wait().unwrap(), ExitStatus::Exited(7), "wait twice");
    drop(p);

    let mut p = c
        .spawn(ProcessOptions::new(["cmd.exe", "/d", "/c", "exit 3"]))
        .unwrap();
    assert_eq!(p.wait().unwrap().code(), 3);
    drop(p);

    let mut o = ProcessOptions::new(helper_args(&["exit", "0"]));
    o.wait = true;
    let mut p = c.spawn(o).unwrap();
    assert!(p.try_wait().unwrap().unwrap().success());

    drop(p);
    let wd = c.working_dir().to_path_buf();
    c.destroy().unwrap();
    assert!(!wd.exists(), "owned working dir removed");
    assert_no_leftovers(root.path(), &id);
}

#[test]
fn children_stay_in_the_job_and_destroy_ends_them() {
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("tree");
    let c = rt.create(&id, &ContainerOptions::new()).unwrap();
    let mut o = ProcessOptions::new(helper_args(&["spawn-child", "30000"]));
    o.stdout = Stdio::Pipe;
    let mut p = c.spawn(o).unwrap();
    let mut line = String::new();
    BufReader::new(p.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let child: i32 = line.trim().parse().unwrap();
    let procs = c.processes().unwrap();
    let pids: Vec<i32> = procs.iter().map(|i| i.pid).collect();
    assert!(pids.contains(&p.pid()), "{procs:?}");
    assert!(
        pids.contains(&child),
        "the child is in the job too: {procs:?}"
    );
    for i in &procs {
        assert!(
            i.name.eq_ignore_ascii_case("windows_helper.exe"),
            "{procs:?}"
        );
        assert!(i.memory > 0, "{procs:?}");
    }
    assert_eq!(c.stats().unwrap().active_processes, 2);
    c.destroy().unwrap();
    assert_eq!(p.wait().unwrap(), ExitStatus::Exited(137));
    drop(p);
    assert_no_leftovers(root.path(), &id);
}

#[test]
fn kill_maps_signals() {
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("kill");
    let c = rt.create(&id, &ContainerOptions::new()).unwrap();
    let mut a = c
        .spawn(ProcessOptions::new(helper_args(&["sleep", "30000"])))
        .unwrap();
    let mut b = c
        .spawn(ProcessOptions::new(helper_args(&["sleep", "30000"])))
        .unwrap();
    c.kill(a.pid(), 0).unwrap();
    c.kill(a.pid(), 9).unwrap();
    assert_eq!(a.wait().unwrap(), ExitStatus::Exited(137));
    assert_eq!(a.wait().unwrap().code(), 137);
    b.kill(15).unwrap();
    assert_eq!(b.wait().unwrap().code(), 143);
    b.kill(9).unwrap(); // already gone: not an error

    let e = c
        .kill(std::process::id() as i32, 9)
        .unwrap_err()
        .to_string();
    assert!(e.contains("is not a process of container"), "{e}");
    let e = c.kill(a.pid(), 10).unwrap_err().to_string();
    assert!(e.contains("signal 10"), "{e}");
    c.destroy().unwrap();
    drop((a, b));
    assert_no_leftovers(root.path(), &id);
}

#[test]
fn kill_on_close_ends_the_container_with_its_last_handle() {
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("close");
    let c = rt.create(&id, &ContainerOptions::new()).unwrap();
    let mut p = c
        .spawn(ProcessOptions::new(helper_args(&["sleep", "30000"])))
        .unwrap();
    let other = rt.open(&id).unwrap();
    drop(c);
    assert!(
        p.try_wait().unwrap().is_none(),
        "a second handle keeps the job alive"
    );
    drop(other);
    let s = wait_bounded(&mut p, Duration::from_secs(10));
    assert!(s.is_some(), "kill-on-close did not end the process");
    drop(p);
    assert_no_leftovers(std::path::Path::new("/nonexistent"), &id);
    // The stale directory is cleared by the next create of that id.
    let c = rt.create(&id, &ContainerOptions::new()).unwrap();
    c.destroy().unwrap();
    assert_no_leftovers(root.path(), &id);
}

#[test]
fn open_by_name_and_duplicate_ids() {
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("open");
    let c = rt
        .create(&id, &ContainerOptions::new().env("CV_X", "1"))
        .unwrap();
    let e = rt
        .create(&id, &ContainerOptions::new())
        .unwrap_err()
        .to_string();
    assert!(e.contains("already exists"), "{e}");
    let mut p = c
        .spawn(ProcessOptions::new(helper_args(&["sleep", "30000"])))
        .unwrap();
    let o = rt.open(&id).unwrap();
    assert_eq!(o.id(), id);
    assert_eq!(o.working_dir(), c.working_dir());
    assert!(o.processes().unwrap().iter().any(|i| i.pid == p.pid()));
    o.kill(p.pid(), 9).unwrap();
    assert_eq!(p.wait().unwrap().code(), 137);
    drop((o, p));
    let e = rt.open("no-such-container").unwrap_err().to_string();
    assert!(e.contains("does not exist"), "{e}");
    c.destroy().unwrap();
    assert_no_leftovers(root.path(), &id);
}

#[test]
fn init_from_spec_starts_on_start() {
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("init");
    let (spec, mut cfg) = ContainerOptions::new()
        .command(helper_args(&["exit", "5"]))
        .build(&id)
        .unwrap();
    assert_eq!(cfg.init, InitKind::SpecProcess);
    cfg.start = StartMode::OnStart;
    let pid_file = root.path().join("init.pid");
    cfg.pid_file = Some(pid_file.clone());
    let c = rt.create_from_spec(&id, spec, cfg).unwrap();
    assert!(c.pid() > 0);
    assert_eq!(
        std::fs::read_to_string(&pid_file).unwrap(),
        c.pid().to_string()
    );
    // Suspended, but already in the job.
    assert!(c.processes().unwrap().iter().any(|i| i.pid == c.pid()));
    std::thread::sleep(Duration::from_millis(200));
    assert!(c.processes().unwrap().iter().any(|i| i.pid == c.pid()));
    c.start().unwrap();
    assert!(c.start().is_err(), "start twice");
    assert_eq!(c.wait_init().unwrap(), ExitStatus::Exited(5));
    c.destroy().unwrap();
    assert_no_leftovers(root.path(), &id);
}

#[test]
fn working_directories() {
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("wd");
    let mine = root.path().join("my-work");
    let c = rt
        .create(&id, &ContainerOptions::new().working_dir(&mine))
        .unwrap();
    assert_eq!(c.working_dir(), mine);
    std::fs::create_dir(mine.join("sub")).unwrap();
    for (cwd, want) in [(None, mine.clone()), (Some("sub"), mine.join("sub"))] {
        let mut o = ProcessOptions::new(helper_args(&["cwd"]));
        o.cwd = cwd.map(Into::into);
        o.stdout = Stdio::Pipe;
        let mut p = c.spawn(o).unwrap();
        let mut out = String::new();
        std::io::Read::read_to_string(&mut p.stdout.take().unwrap(), &mut out).unwrap();
        p.wait().unwrap();
        assert_eq!(
            out.trim().to_ascii_lowercase(),
            want.display().to_string().to_ascii_lowercase()
        );
    }
    c.destroy().unwrap();
    assert!(mine.is_dir(), "a caller's working dir is kept");
    assert_no_leftovers(root.path(), &id);
}
