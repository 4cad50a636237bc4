//! What a container sees under /sys/fs/cgroup on this hybrid (cgroup v1)
//! host, next to runc on the same bundle: with and without a cgroup
//! namespace, every hierarchy shows the container's own cgroup — its
//! memory limit readable at `memory/memory.limit_in_bytes` (what JVMs,
//! Go's automaxprocs/memlimit, nginx and .NET read), the named
//! `name=systemd` hierarchy at the container's cgroup and not the host's
//! root (no `release_agent`, only the container's pids in `cgroup.procs`)
//! — and the container's cgroups are gone after delete.

#![cfg(target_os = "linux")]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::Bundle;
use containerv_testutil::{cgroups_named, temp_root};

const LIMIT: u64 = 48 << 20;

/// What the container prints about its cgroup view, one fact a line (the
/// systemd hierarchy holds two processes: sh and wc).
const PROBE: &str = "cat /sys/fs/cgroup/memory/memory.limit_in_bytes; \
    cat /sys/fs/cgroup/pids/pids.max; \
    ls /sys/fs/cgroup | grep -v '^unified$' | tr '\\n' ' '; echo; \
    test -e /sys/fs/cgroup/systemd/release_agent && echo host-root || echo own-systemd; \
    test -e /sys/fs/cgroup/memory/memory.usage_in_bytes && echo mem-files; \
    wc -l < /sys/fs/cgroup/systemd/cgroup.procs; \
    touch /sys/fs/cgroup/memory/x 2>/dev/null || echo read-only";

fn bundle(cgroupns: bool) -> Bundle {
    let b = Bundle::new(&["sh", "-c", PROBE]);
    b.edit(|c| {
        c["linux"]["resources"] = serde_json::json!({
            "memory": {"limit": LIMIT}, "pids": {"limit": 40}
        });
        let ns = c["linux"]["namespaces"].as_array_mut().unwrap();
        ns.retain(|n| n["type"] != "cgroup");
        if cgroupns {
            ns.push(serde_json::json!({"type": "cgroup"}));
        }
    });
    b
}

/// `run ID` in the foreground with `runtime`; stdout.
fn run(runtime: &str, root: &std::path::Path, b: &Bundle, id: &str) -> String {
    let out = Command::new(runtime)
        .arg("--root")
        .arg(root)
        .args(["run", "--bundle"])
        .arg(b.dir.path())
        .arg(id)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{runtime} run: {}",
        common::stderr(&out)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn check(cgroupns: bool) {
    if !Path::new("/sys/fs/cgroup/memory").is_dir() {
        panic!("this test needs a cgroup v1 or hybrid host (the cgroup2 VM covers v2)");
    }
    let b = bundle(cgroupns);
    let id = common::id(if cgroupns { "cgv-ns" } else { "cgv-host" });
    let ours = run(common::bin(), b.root.path(), &b, &id);
    let want = format!(
        "{LIMIT}\n40\nblkio cpu cpuacct cpuset devices freezer memory pids systemd \n\
         own-systemd\nmem-files\n2\nread-only\n"
    );
    assert_eq!(ours, want, "cgroupns={cgroupns}");
    assert!(cgroups_named(&id).is_empty(), "{:?}", cgroups_named(&id));
    containerv_testutil::assert_no_leftovers(b.root.path(), &id);

    // runc on the same bundle sees the same.
    let rroot = temp_root();
    let rid = common::id("cgv-runc");
    let theirs = run("runc", rroot.path(), &b, &rid);
    assert_eq!(ours, theirs, "containerv vs runc, cgroupns={cgroupns}");
}

#[test]
fn v1_hierarchies_show_the_containers_cgroup_without_cgroupns() {
    check(false);
}

#[test]
fn v1_hierarchies_show_the_containers_cgroup_with_cgroupns() {
    check(true);
}
