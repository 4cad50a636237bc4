//! cgroup v2-only behaviour. This host is hybrid, so these are ignored
//! here; `tools/cgroup2-vm/run-tests.sh` runs them (with the common
//! `limits_cgroup` tests) inside a VM whose only hierarchy is cgroup2.
#![cfg(target_os = "linux")]

mod limits_common;

use std::path::Path;

use containerv::linux::cgroups::{self, Mode};
use containerv::ResourceLimits;
use containerv_testutil::{cgroups_named, unique_id};
use limits_common::{limits, spawn_joined, Cg};

fn read(dir: &Path, f: &str) -> String {
    std::fs::read_to_string(dir.join(f))
        .unwrap()
        .trim()
        .to_string()
}

#[test]
#[ignore = "needs a cgroup v2-only host: run by tools/cgroup2-vm/run-tests.sh"]
fn detects_unified_mode() {
    assert_eq!(cgroups::detect_mode().unwrap(), Mode::Unified);
}

#[test]
#[ignore = "needs a cgroup v2-only host: run by tools/cgroup2-vm/run-tests.sh"]
fn limits_are_translated_to_v2_files() {
    let r = limits(ResourceLimits {
        memory: Some("32M".into()),
        memory_reservation: Some("16M".into()),
        memory_swap: Some("48M".into()),
        cpus: Some("0.2".into()),
        cpu_shares: Some(1024),
        pids: Some(20),
        ..Default::default()
    });
    let cg = Cg::new("cvt-v2files", Some(&r));
    let st = cg.mgr.state();
    let dir = st.dirs().next().unwrap();
    assert_eq!(read(dir, "memory.max"), (32u64 << 20).to_string());
    assert_eq!(read(dir, "memory.low"), (16u64 << 20).to_string());
    // OCI swap is memory+swap; v2 swap.max is the swap part alone.
    assert_eq!(read(dir, "memory.swap.max"), (16u64 << 20).to_string());
    assert_eq!(read(dir, "cpu.max"), "20000 100000");
    assert_eq!(read(dir, "cpu.weight"), "39");
    assert_eq!(read(dir, "pids.max"), "20");
    cg.finish(vec![]);
}

#[test]
#[ignore = "needs a cgroup v2-only host: run by tools/cgroup2-vm/run-tests.sh"]
fn nested_parents_get_controllers_enabled() {
    containerv_testutil::require_root();
    let id = unique_id("cvt-v2nest");
    let r = limits(ResourceLimits {
        memory: Some("64M".into()),
        pids: Some(10),
        ..Default::default()
    });
    let mgr = cgroups::create(&id, Some(Path::new(&format!("{id}-a/b/c"))), Some(&r)).unwrap();
    let st = mgr.state();
    assert_eq!(st.created.len(), 3);
    for d in &st.created[..2] {
        let sc = read(d, "cgroup.subtree_control");
        assert!(sc.contains("memory") && sc.contains("pids"), "{d:?}: {sc}");
    }
    assert_eq!(read(&st.created[2], "cgroup.subtree_control"), "");
    mgr.remove().unwrap();
    assert!(cgroups_named(&id).is_empty());
}

#[test]
#[ignore = "needs a cgroup v2-only host: run by tools/cgroup2-vm/run-tests.sh"]
fn a_parent_with_processes_gives_a_clear_error() {
    containerv_testutil::require_root();
    // A cgroup with a process in it (made by the library, so ours).
    let busy_id = unique_id("cvt-v2busy");
    let busy_path = format!("/{busy_id}");
    let busy = cgroups::create(&busy_id, Some(Path::new(&busy_path)), None).unwrap();
    let mut sleeper = spawn_joined(
        &busy.procs_fds().unwrap(),
        &["sleep", "30"],
        false,
        std::process::Stdio::null(),
    );
    let id = unique_id("cvt-v2child");
    let r = limits(ResourceLimits {
        memory: Some("64M".into()),
        ..Default::default()
    });
    let e = cgroups::create(&id, Some(Path::new(&format!("{busy_path}/{id}"))), Some(&r))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("memory") && e.contains("no-internal-processes") && e.contains(&busy_id),
        "{e}"
    );
    assert!(
        cgroups_named(&id).is_empty(),
        "nothing left after the error"
    );
    busy.kill_all().unwrap();
    sleeper.wait().unwrap();
    busy.remove().unwrap();
    assert!(cgroups_named(&busy_id).is_empty());
}

#[test]
#[ignore = "needs a cgroup v2-only host: run by tools/cgroup2-vm/run-tests.sh"]
fn kill_all_uses_cgroup_kill() {
    let cg = Cg::new("cvt-v2kill", None);
    let dir = cg.mgr.state().dirs().next().unwrap().to_path_buf();
    assert!(
        dir.join("cgroup.kill").exists(),
        "kernel without cgroup.kill"
    );
    let child = cg.spawn(&["sleep", "30"]);
    cg.finish(vec![child]);
}

/// Block I/O throttles on v2 (`io.max`), enforced: O_DIRECT `dd` on a
/// RAM disk (brd's /dev/ram0, which run-tests.sh loads) from inside the
/// cgroup takes at least what the limit allows; the same dd outside the
/// cgroup is far faster. The engine's `--device-write-bps` and
/// `--device-read-iops` produce this `LinuxBlockIo`.
#[test]
#[ignore = "needs a cgroup v2-only host: run by tools/cgroup2-vm/run-tests.sh"]
fn block_io_throttles_are_enforced() {
    let dev = "/dev/ram0";
    assert!(
        Path::new(dev).exists(),
        "no {dev}: run-tests.sh loads the brd module (-k brd)"
    );
    let (major, minor) = containerv::limits::parse_device("device", dev).unwrap();
    let r = limits(ResourceLimits {
        device_write_bps: vec![(dev.into(), "1M".into())],
        device_read_iops: vec![(dev.into(), 20)],
        ..Default::default()
    });
    let cg = Cg::new("cvt-v2io", Some(&r));
    let dir = cg.mgr.state().dirs().next().unwrap().to_path_buf();
    let io_max = read(&dir, "io.max");
    assert!(
        io_max.contains(&format!("{major}:{minor}"))
            && io_max.contains("wbps=1048576")
            && io_max.contains("riops=20"),
        "{io_max}"
    );
    let timed = |inside: bool, args: &[&str]| -> f64 {
        let t = std::time::Instant::now();
        let mut c = if inside {
            cg.spawn(args)
        } else {
            std::process::Command::new(containerv_testutil::BUSYBOX)
                .args(args)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        };
        assert!(c.wait().unwrap().success(), "{args:?}");
        t.elapsed().as_secs_f64()
    };
    // 2 MiB of 256 KiB O_DIRECT writes at 1 MiB/s: about 2 s.
    let write = [
        "dd",
        "if=/dev/zero",
        "of=/dev/ram0",
        "bs=256k",
        "count=8",
        "oflag=direct",
    ];
    let free = timed(false, &write);
    let slow = timed(true, &write);
    assert!(slow >= 1.5, "2 MiB at 1 MiB/s took {slow:.2}s");
    assert!(free < slow / 2.0, "unthrottled {free:.2}s vs {slow:.2}s");
    // 40 reads of 4 KiB at 20 IOPS: about 2 s.
    let read_ops = [
        "dd",
        "if=/dev/ram0",
        "of=/dev/null",
        "bs=4k",
        "count=40",
        "iflag=direct",
    ];
    let slow = timed(true, &read_ops);
    assert!(slow >= 1.4, "40 reads at 20/s took {slow:.2}s");
    cg.finish(vec![]);
}
