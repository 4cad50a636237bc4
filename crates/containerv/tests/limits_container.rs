//! Limits and monitoring through the public `Container` API on real
//! containers (create → spawn → stats/processes/pause/resume/update →
//! destroy), on this host's cgroup mode.
#![cfg(target_os = "linux")]

use std::time::Duration;

use containerv::{ContainerOptions, ExitStatus, ProcessOptions, Runtime, Stdio};
use containerv_testutil::{
    assert_no_leftovers, busybox_rootfs, require_root, temp_root, unique_id,
};
use oci_spec::runtime::{LinuxMemoryBuilder, LinuxResourcesBuilder};

fn quiet(args: &[&str]) -> ProcessOptions {
    let mut p = ProcessOptions::new(args.iter().copied());
    p.stdout = Stdio::Null;
    p.stderr = Stdio::Null;
    p
}

#[test]
fn container_limits_stats_pause_update() {
    require_root();
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("cvt-ctr");
    let opts = ContainerOptions::new()
        .rootfs(busybox_rootfs())
        .memory("32M")
        .memory_swap("32M")
        .cpus("0.5")
        .pids(32);
    let c = rt.create(&id, &opts).unwrap();

    // OOM kill, counted.
    let mut p = c
        .spawn(quiet(&[
            "dd",
            "if=/dev/zero",
            "of=/dev/null",
            "bs=64M",
            "count=1",
        ]))
        .unwrap();
    assert_eq!(p.wait().unwrap(), ExitStatus::Signaled(9));
    let s = c.stats().unwrap();
    assert!(s.oom_kills >= 1, "{s:?}");
    assert_eq!(s.memory_limit, Some(32 << 20));

    // A busy loop: seen in stats and processes; pause stops it.
    let busy = c
        .spawn(quiet(&["sh", "-c", "while :; do :; done"]))
        .unwrap();
    let s0 = c.stats().unwrap();
    c.processes().unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let s = c.stats().unwrap();
    // The percent is the CPU time the kernel counted over the wall time
    // between the samples (what the loop got depends on the machine's
    // load: on an idle host ~50 %, under a parallel test run far less),
    // and the 0.5-CPU quota holds whatever the load.
    let counted =
        (s.cpu_time_ns - s0.cpu_time_ns) as f64 / (s.timestamp_ns - s0.timestamp_ns) as f64 * 100.0;
    assert!(
        (s.cpu_percent - counted).abs() <= 3.0 + counted * 0.1,
        "{counted} vs {s:?}"
    );
    assert!(s.cpu_percent > 2.0 && s.cpu_percent <= 60.0, "{s:?}");
    assert!(s.active_processes >= 2, "init + loop: {s:?}");
    let procs = c.processes().unwrap();
    let b = procs.iter().find(|p| p.pid == busy.pid()).unwrap();
    // The loop is most of what the container used.
    assert!(b.cpu_percent > s.cpu_percent * 0.5, "{b:?} of {s:?}");
    c.pause().unwrap();
    let a = c.stats().unwrap().cpu_time_ns;
    std::thread::sleep(Duration::from_millis(400));
    assert!(c.stats().unwrap().cpu_time_ns - a < 5_000_000);
    c.resume().unwrap();

    // Update on the running container.
    let r = LinuxResourcesBuilder::default()
        .memory(
            LinuxMemoryBuilder::default()
                .limit(64i64 << 20)
                .swap(64i64 << 20)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    c.update(&r).unwrap();
    assert_eq!(c.stats().unwrap().memory_limit, Some(64 << 20));

    c.destroy().unwrap();
    // Reap our handle of the killed loop (a zombie still names the cgroup).
    let mut busy = busy;
    assert_eq!(busy.wait().unwrap(), ExitStatus::Signaled(9));
    assert_no_leftovers(root.path(), &id);
}

#[test]
fn invalid_limits_create_nothing() {
    require_root();
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("cvt-ctrbad");
    for (opts, want) in [
        (ContainerOptions::new().memory("abc"), "memory \"abc\""),
        (ContainerOptions::new().memory("150%"), "memory \"150%\""),
        (ContainerOptions::new().cpus("0"), "cpus \"0\""),
        (ContainerOptions::new().pids(-5), "pids \"-5\""),
    ] {
        let e = rt
            .create(&id, &opts.rootfs(busybox_rootfs()))
            .unwrap_err()
            .to_string();
        assert!(e.contains(want), "{e:?} should name {want:?}");
        assert_no_leftovers(root.path(), &id);
    }
}
