//! Bad input to the Windows backend: a clear error naming the problem,
//! raised before any job or directory exists, and nothing left behind.
#![cfg(windows)]

mod windows_common;

use containerv::{ContainerOptions, ProcessOptions, Runtime};
use windows_common::*;

fn refused(opts: ContainerOptions, words: &[&str]) {
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("bad");
    let e = rt.create(&id, &opts).unwrap_err().to_string();
    for w in words {
        assert!(e.contains(w), "{e:?} should mention {w:?}");
    }
    assert_no_leftovers(root.path(), &id);
    assert_eq!(
        std::fs::read_dir(root.path()).unwrap().count(),
        0,
        "nothing in the runtime root"
    );
}

#[test]
fn bad_limits() {
    refused(
        ContainerOptions::new().cpu_percent(0),
        &["cpu percent", "0"],
    );
    refused(
        ContainerOptions::new().cpu_percent(150),
        &["cpu percent", "150"],
    );
    refused(ContainerOptions::new().cpus("150%"), &["cpus", "150%"]);
    refused(ContainerOptions::new().cpus("0"), &["cpus"]);
    refused(ContainerOptions::new().memory("abc"), &["memory", "abc"]);
    refused(
        ContainerOptions::new().process_memory("12Q"),
        &["process memory", "12Q"],
    );
    refused(
        ContainerOptions::new().active_processes(0),
        &["active processes"],
    );
    refused(ContainerOptions::new().pids(-1), &["pids"]);
    refused(
        ContainerOptions::new().pids(4).active_processes(4),
        &["not both"],
    );
    refused(
        ContainerOptions::new().ui_restrictions(["desktop", "clipbored"]),
        &["clipbored", "unknown"],
    );
    refused(
        ContainerOptions::new().rootfs(r"C:\"),
        &["rootfs", "Linux-only"],
    );
    refused(ContainerOptions::new().cpu_shares(512), &["cpu shares"]);
}

#[test]
fn missing_executable() {
    refused(
        ContainerOptions::new().command(["no-such-program-xyz"]),
        &["program", "no-such-program-xyz", "not found"],
    );
    refused(
        ContainerOptions::new().command([r"C:\no\such\dir\prog.exe"]),
        &["not found"],
    );
    refused(
        ContainerOptions::new().command(["C:\\x\\run.bat"]),
        &["not found"],
    );
    refused(
        ContainerOptions::new().command(Vec::<String>::new()),
        &["empty command"],
    );
}

#[test]
fn bad_id() {
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let e = rt
        .create("bad/id", &ContainerOptions::new())
        .unwrap_err()
        .to_string();
    assert!(e.contains("invalid container id"), "{e}");
}

#[test]
fn bad_spawn_leaves_the_container_as_it_was() {
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("badspawn");
    let c = rt.create(&id, &ContainerOptions::new()).unwrap();
    for (args, word) in [
        (vec!["no-such-program-xyz".to_string()], "not found"),
        (vec![], "empty command"),
        (helper_args(&["nul\0inside"]), "NUL"),
    ] {
        let e = c.spawn(ProcessOptions::new(args)).unwrap_err().to_string();
        assert!(e.contains(word), "{e}");
    }
    let mut o = ProcessOptions::new(helper_args(&["exit", "0"]));
    o.env = vec!["NOEQUALS".into()];
    let e = c.spawn(o).unwrap_err().to_string();
    assert!(e.contains("KEY=VALUE"), "{e}");
    let mut o = ProcessOptions::new(helper_args(&["exit", "0"]));
    o.cwd = Some("no-such-subdir".into());
    let e = c.spawn(o).unwrap_err().to_string();
    assert!(e.contains("no-such-subdir"), "{e}");
    assert!(c.processes().unwrap().is_empty());
    c.destroy().unwrap();
    assert_no_leftovers(root.path(), &id);
}
