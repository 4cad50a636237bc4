//! Enforcement of cgroup limits on the running host's cgroup mode, through
//! the library's manager, with real busybox processes. The same binary runs
//! on cgroup v2 inside the VM (tools/cgroup2-vm/run-tests.sh).
#![cfg(target_os = "linux")]

mod limits_common;

use std::time::{Duration, Instant};

use containerv::linux::cgroups::{self, Mode};
use containerv::ResourceLimits;
use containerv_testutil::cgroups_named;
use limits_common::{eventually, limits, Cg};
use oci_spec::runtime::{LinuxCpuBuilder, LinuxPidsBuilder, LinuxResourcesBuilder};

#[test]
fn memory_limit_oom_kills_and_is_counted() {
    let r = limits(ResourceLimits {
        memory: Some("32M".into()),
        memory_swap: Some("32M".into()),
        ..Default::default()
    });
    let mut cg = Cg::new("cvt-oom", Some(&r));
    assert_eq!(cg.stats().memory_limit, Some(32 << 20));
    // dd fills a 64 MiB buffer: twice the limit.
    let mut child = cg.spawn(&["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"]);
    let status = child.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        status.signal(),
        Some(9),
        "dd should be OOM-killed: {status:?}"
    );
    let s = cg.stats();
    assert!(s.oom_kills >= 1, "{s:?}");
    assert!(s.memory_peak <= 33 << 20, "{s:?}");
    cg.finish(vec![]);
}

#[test]
fn peak_memory_covers_what_was_touched() {
    let mut cg = Cg::new("cvt-peak", None);
    let mut child = cg.spawn(&["dd", "if=/dev/zero", "of=/dev/null", "bs=24M", "count=1"]);
    assert!(child.wait().unwrap().success());
    let s = cg.stats();
    assert!(s.memory_peak >= 24 << 20, "peak {} < 24 MiB", s.memory_peak);
    assert_eq!(s.memory_limit, None);
    assert_eq!(s.oom_kills, 0);
    cg.finish(vec![]);
}

#[test]
fn fork_bomb_stops_at_pids_limit() {
    let r = limits(ResourceLimits {
        pids: Some(8),
        ..Default::default()
    });
    let mut cg = Cg::new("cvt-pids", Some(&r));
    // Bounded: 40 background sleeps; only 8 tasks may exist at once.
    let child = cg.spawn_piped(&[
        "sh",
        "-c",
        "i=0; while [ $i -lt 40 ]; do sleep 5 & i=$((i+1)); done; wait",
    ]);
    let mut most = 0;
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(1500) {
        most = most.max(cg.stats().total_processes);
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(most <= 8, "{most} tasks under a limit of 8");
    assert!(most >= 6, "the loop should reach the limit, saw {most}");
    cg.mgr.kill_all().unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("fork"), "shell should fail to fork: {err:?}");
    cg.finish(vec![]);
}

#[test]
fn cpu_quota_holds_a_busy_loop_near_20_percent() {
    let r = limits(ResourceLimits {
        cpus: Some("0.2".into()),
        ..Default::default()
    });
    let mut cg = Cg::new("cvt-cpu", Some(&r));
    let child = cg.spawn(&["sh", "-c", "while :; do :; done"]);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(cg.stats().cpu_percent, 0.0, "first sample has no delta");
    let before = cg.stats();
    std::thread::sleep(Duration::from_secs(3));
    let after = cg.stats();
    let used = (after.cpu_time_ns - before.cpu_time_ns) as f64 / 3e9 * 100.0;
    // The quota holds whatever the load; the percent is what was used.
    assert!(used <= 25.0, "used {used:.1}% of a CPU");
    assert!(
        (after.cpu_percent - used).abs() <= 2.0,
        "cpu_percent {} vs used {used:.1}",
        after.cpu_percent
    );
    assert!(after.cpu_periods > 20, "{after:?}");
    if used >= 15.0 {
        // The loop reached its quota: throttled, as counted.
        assert!(after.cpu_throttled_periods > 10, "{after:?}");
        assert!(after.cpu_throttled_ns > 0, "{after:?}");
    } else {
        // A loaded machine (a parallel test run) gave the loop less than
        // its quota: nothing to throttle, and nothing to assert about it.
        eprintln!("loop got {used:.1}% < its 20% quota: throttling not checked");
    }
    cg.finish(vec![child]);
}

#[test]
fn pause_stops_progress_and_resume_restarts_it() {
    let mut cg = Cg::new("cvt-freeze", None);
    let child = cg.spawn(&["sh", "-c", "while :; do :; done"]);
    std::thread::sleep(Duration::from_millis(200));
    cg.mgr.freeze().unwrap();
    assert!(cg.mgr.is_frozen().unwrap());
    let a = cg.stats().cpu_time_ns;
    std::thread::sleep(Duration::from_millis(500));
    let b = cg.stats().cpu_time_ns;
    assert!(b - a < 5_000_000, "frozen loop ran {} ns", b - a);
    cg.mgr.thaw().unwrap();
    assert!(!cg.mgr.is_frozen().unwrap());
    // Runs again (as fast as the machine's load lets it).
    assert!(
        eventually(Duration::from_secs(5), || cg.stats().cpu_time_ns - b
            > 50_000_000),
        "thawed loop did not run on"
    );
    // kill_all of a frozen cgroup works too.
    cg.mgr.freeze().unwrap();
    cg.finish(vec![child]);
}

#[test]
fn update_changes_limits_of_running_processes() {
    let r = limits(ResourceLimits {
        memory: Some("64M".into()),
        pids: Some(16),
        ..Default::default()
    });
    let mut cg = Cg::new("cvt-update", Some(&r));
    let child = cg.spawn(&["sleep", "30"]);
    assert_eq!(cg.stats().memory_limit, Some(64 << 20));
    cg.mgr
        .apply(&limits(ResourceLimits {
            memory: Some("128M".into()),
            pids: Some(32),
            cpus: Some("0.5".into()),
            ..Default::default()
        }))
        .unwrap();
    assert_eq!(cg.stats().memory_limit, Some(128 << 20));
    // A bad update changes nothing.
    let bad = LinuxResourcesBuilder::default()
        .pids(LinuxPidsBuilder::default().limit(-5).build().unwrap())
        .build()
        .unwrap();
    let e = cg.mgr.apply(&bad).unwrap_err().to_string();
    assert!(e.contains("pids.limit") && e.contains("-5"), "{e}");
    cg.finish(vec![child]);
}

#[test]
fn stats_and_processes_describe_the_processes() {
    let mut cg = Cg::new("cvt-procs", None);
    let sleeper = cg.spawn(&["sleep", "30"]);
    let busy = cg.spawn(&["sh", "-c", "while :; do :; done"]);
    assert!(eventually(Duration::from_secs(2), || cg
        .mgr
        .pids()
        .unwrap()
        .len()
        == 2));
    let s = cg.stats();
    assert_eq!(s.active_processes, 2, "{s:?}");
    assert!(s.total_processes >= 2, "{s:?}");
    assert!(s.memory_usage > 0 && s.cpu_time_ns > 0, "{s:?}");
    assert!(s.timestamp_ns > 1_600_000_000_000_000_000, "{s:?}");
    let busy_ticks = || -> u64 {
        // utime + stime (fields 14, 15) of the loop, in clock ticks.
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", busy.id())).unwrap();
        let f: Vec<&str> = stat
            .rsplit_once(')')
            .unwrap()
            .1
            .split_whitespace()
            .collect();
        f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
    };
    let (t0, k0) = (std::time::Instant::now(), busy_ticks());
    let first = cg.samples.processes(&*cg.mgr).unwrap();
    assert_eq!(first.len(), 2);
    assert!(first.iter().all(|p| p.cpu_percent == 0.0));
    std::thread::sleep(Duration::from_millis(500));
    let procs = cg.samples.processes(&*cg.mgr).unwrap();
    let (k1, t1) = (busy_ticks(), t0.elapsed());
    // SAFETY: sysconf with a valid name.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let counted = (k1 - k0) as f64 / hz / t1.as_secs_f64() * 100.0;
    let s = procs.iter().find(|p| p.pid == sleeper.id() as i32).unwrap();
    // comm is the executable's name: these are busybox applets.
    assert_eq!(s.name, "busybox");
    assert!(s.memory > 0);
    assert!(s.cpu_percent < 5.0, "{s:?}");
    let b = procs.iter().find(|p| p.pid == busy.id() as i32).unwrap();
    assert_eq!(b.name, "busybox");
    // What the kernel counted for the loop over (a little more than) the
    // same interval, give or take a few ticks: the loop gets what the
    // machine's load leaves it (~100 % idle, far less in a parallel run).
    assert!(b.cpu_percent > 2.0, "{b:?}");
    assert!(
        (b.cpu_percent - counted).abs() <= 6.0 + counted * 0.25,
        "kernel counted {counted:.1} %: {b:?}"
    );
    cg.finish(vec![sleeper, busy]);
}

#[test]
fn kill_all_empties_the_cgroup_and_remove_leaves_nothing() {
    let cg = Cg::new("cvt-kill", None);
    let child = cg.spawn(&[
        "sh",
        "-c",
        "i=0; while [ $i -lt 10 ]; do sleep 30 & i=$((i+1)); done; wait",
    ]);
    assert!(eventually(Duration::from_secs(3), || cg
        .mgr
        .pids()
        .unwrap()
        .len()
        >= 11));
    cg.mgr.kill_all().unwrap();
    assert!(cg.mgr.pids().unwrap().is_empty());
    cg.finish(vec![child]);
}

#[test]
fn nested_cgroups_path_is_created_and_removed() {
    containerv_testutil::require_root();
    let id = containerv_testutil::unique_id("cvt-nest");
    let rel = format!("{id}-outer/inner");
    let r = limits(ResourceLimits {
        memory: Some("64M".into()),
        ..Default::default()
    });
    let mgr = cgroups::create(&id, Some(std::path::Path::new(&rel)), Some(&r)).unwrap();
    assert!(mgr
        .state()
        .dirs()
        .all(|d| d.ends_with("inner") && d.exists()));
    let child = limits_common::spawn_joined(
        &mgr.procs_fds().unwrap(),
        &["sleep", "30"],
        false,
        std::process::Stdio::null(),
    );
    // open() from the stored state gives the same cgroup.
    let again = cgroups::open(&mgr.state()).unwrap();
    assert_eq!(again.pids().unwrap(), vec![child.id() as i32]);
    assert_eq!(again.stats().unwrap().memory_limit, Some(64 << 20));
    again.kill_all().unwrap();
    let mut child = child;
    child.wait().unwrap();
    again.remove().unwrap();
    assert!(cgroups_named(&id).is_empty());
}

#[test]
fn invalid_limits_fail_before_anything_is_created() {
    containerv_testutil::require_root();
    for (l, want) in [
        (
            ResourceLimits {
                memory: Some("abc".into()),
                ..Default::default()
            },
            "memory \"abc\"",
        ),
        (
            ResourceLimits {
                memory: Some("150%".into()),
                ..Default::default()
            },
            "memory \"150%\"",
        ),
        (
            ResourceLimits {
                cpus: Some("0".into()),
                ..Default::default()
            },
            "cpus \"0\"",
        ),
        (
            ResourceLimits {
                pids: Some(-5),
                ..Default::default()
            },
            "pids \"-5\"",
        ),
    ] {
        let e = containerv::limits::to_linux_resources(&l)
            .unwrap_err()
            .to_string();
        assert!(e.contains(want), "{e:?} should name {want:?}");
    }
    // OCI resources straight to create (the runtime CLI's path).
    let id = containerv_testutil::unique_id("cvt-bad");
    for r in [
        LinuxResourcesBuilder::default()
            .pids(LinuxPidsBuilder::default().limit(-5).build().unwrap())
            .build()
            .unwrap(),
        LinuxResourcesBuilder::default()
            .cpu(LinuxCpuBuilder::default().quota(0).build().unwrap())
            .build()
            .unwrap(),
        LinuxResourcesBuilder::default()
            .cpu(LinuxCpuBuilder::default().cpus("3-1").build().unwrap())
            .build()
            .unwrap(),
    ] {
        let e = cgroups::create(&id, None, Some(&r))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("invalid "), "{e}");
        assert!(cgroups_named(&id).is_empty(), "created for {e}");
    }
    // A limit the kernel refuses after mkdir: everything made is removed.
    let r = LinuxResourcesBuilder::default()
        .cpu(LinuxCpuBuilder::default().cpus("1000").build().unwrap())
        .build()
        .unwrap();
    let e = cgroups::create(
        &id,
        Some(std::path::Path::new(&format!("{id}/x"))),
        Some(&r),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("cpuset.cpus"), "{e}");
    assert!(cgroups_named(&id).is_empty());
    let e = cgroups::create(&id, Some(std::path::Path::new("a/../b")), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("cgroupsPath"), "{e}");
}

#[test]
fn hugetlb_follows_the_host_mode() {
    containerv_testutil::require_root();
    let id = containerv_testutil::unique_id("cvt-huge");
    let r = limits(ResourceLimits {
        hugetlb: vec![("2MB".into(), "4M".into())],
        ..Default::default()
    });
    let res = cgroups::create(&id, None, Some(&r));
    let mode = cgroups::detect_mode().unwrap();
    let unified_has_hugetlb = std::fs::read_to_string(match mode {
        Mode::Unified => "/sys/fs/cgroup/cgroup.subtree_control",
        _ => "/sys/fs/cgroup/unified/cgroup.subtree_control",
    })
    .unwrap_or_default()
    .contains("hugetlb");
    match (mode, unified_has_hugetlb) {
        (Mode::Legacy, _) | (_, true) => {
            let m = res.unwrap();
            m.remove().unwrap();
        }
        (_, false) => {
            // Hybrid (this host): hugetlb is on cgroup2 but not enabled for
            // children of the root, which containerv does not write to.
            let e = res.unwrap_err().to_string();
            assert!(
                e.contains("hugetlb") && e.contains("subtree_control"),
                "{e}"
            );
        }
    }
    assert!(cgroups_named(&id).is_empty());
}
