//! Stats history (`cv run --stats-interval/--stats-retention`, `cv stats
//! --history`): the monitor's samples checked against the kernel's cgroup
//! files, kept across a kill -9 of the monitor and its replacement, held
//! to the ring's size on disk and flat in the monitor's memory after many
//! fast samples, taken by every monitor on one shared grid through a
//! mapped ring, and bad values refused with 125 and nothing created.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{monitors_of, Cv};
use serde_json::Value;

/// The container's cgroup directory of `controller` (cgroup v1), or its
/// unified directory on a pure cgroup v2 host.
fn cgroup_dir(id: &str, controller: &str) -> PathBuf {
    let dirs = containerv_testutil::cgroups_named(id);
    let v1 = format!("/sys/fs/cgroup/{controller}/");
    dirs.iter()
        .find(|p| p.starts_with(&v1))
        .or_else(|| dirs.iter().find(|p| p.join("cgroup.controllers").exists()))
        .unwrap_or_else(|| panic!("no {controller} cgroup of {id}: {dirs:?}"))
        .clone()
}

fn read_u64(p: PathBuf) -> u64 {
    let t = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    t.trim().parse().unwrap()
}

/// The kernel's CPU time (ns) and charged memory (bytes) of `id`.
fn kernel(id: &str) -> (u64, u64) {
    let c = cgroup_dir(id, "cpuacct");
    let cpu = if c.join("cpuacct.usage").exists() {
        read_u64(c.join("cpuacct.usage"))
    } else {
        let t = std::fs::read_to_string(c.join("cpu.stat")).unwrap();
        t.lines()
            .find_map(|l| l.strip_prefix("usage_usec ")?.parse::<u64>().ok())
            .unwrap()
            * 1000
    };
    let m = cgroup_dir(id, "memory");
    let mem = if m.join("memory.usage_in_bytes").exists() {
        read_u64(m.join("memory.usage_in_bytes"))
    } else {
        read_u64(m.join("memory.current"))
    };
    (cpu, mem)
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// `cv stats --history WINDOW --format json NAME`: the raw samples.
fn history(cv: &Cv, window: &str, name: &str) -> Vec<Value> {
    cv.ok(&["stats", "--history", window, "--format", "json", name])
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .collect()
}

fn field(v: &Value, k: &str) -> u64 {
    v["Sample"][k]
        .as_u64()
        .unwrap_or_else(|| panic!("no {k} in {v}"))
}

/// Waits (bounded) for a sample taken after `t_ns`; returns the history.
fn wait_sample_after(cv: &Cv, name: &str, t_ns: u64) -> Vec<Value> {
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        let h = history(cv, "1h", name);
        if h.last().is_some_and(|s| field(s, "timestamp_ns") > t_ns) {
            return h;
        }
        assert!(Instant::now() < end, "no sample after {t_ns}: {h:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn vm_rss_kb(pid: i32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    s.lines()
        .find_map(|l| {
            l.strip_prefix("VmRSS:")?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse()
                .ok()
        })
        .unwrap()
}

#[test]
fn samples_match_the_kernel_and_survive_a_monitor_restart() {
    let cv = Cv::new();
    let id = cv.run_d(&[
        "--name",
        "hist",
        "--memory",
        "64m",
        "--stats-interval",
        "100ms",
        "containerv/busybox",
        "sleep",
        "1000",
    ]);
    // 16 MiB charged to the container (its tmpfs), then quiet.
    cv.ok(&[
        "exec",
        "hist",
        "sh",
        "-c",
        "head -c 16777216 /dev/zero > /dev/shm/fill",
    ]);
    // Kernel before, a sample taken after, kernel after: the sample lies
    // between (CPU is monotonic, memory stays put in a sleeping container).
    let (cpu0, mem0) = kernel(&id);
    let t0 = now_ns();
    let h = wait_sample_after(&cv, "hist", t0);
    let (cpu1, mem1) = kernel(&id);
    let s = h.last().unwrap();
    let cpu = field(s, "cpu_time_ns");
    assert!(
        (cpu0..=cpu1).contains(&cpu),
        "sampled CPU {cpu} ns, kernel {cpu0}..{cpu1}"
    );
    let mem = field(s, "memory_charged");
    let slack = 256 * 1024;
    assert!(
        mem + slack >= mem0.min(mem1) && mem <= mem0.max(mem1) + slack,
        "sampled memory {mem}, kernel {mem0}/{mem1}"
    );
    assert!(
        mem >= 16 << 20,
        "sampled memory {mem} below the 16 MiB fill"
    );
    assert_eq!(s["Sample"]["memory_limit"].as_u64(), Some(64 << 20));
    assert_eq!(field(s, "total_processes"), 1);
    assert_eq!(s["Name"], "hist");
    assert_eq!(s["PIDs"], "1");
    assert!(s["Time"].as_str().unwrap().ends_with('Z'), "{s}");
    // 100 ms apart (a loaded machine delays some, none comes early).
    let ts: Vec<u64> = h.iter().map(|s| field(s, "timestamp_ns")).collect();
    let mut gaps: Vec<u64> = ts.windows(2).map(|w| w[1] - w[0]).collect();
    gaps.sort();
    let median = gaps[gaps.len() / 2];
    assert!(
        (90_000_000..=250_000_000).contains(&median),
        "median gap {median} ns of {gaps:?}"
    );
    assert!(gaps[0] >= 90_000_000, "a sample came early: {gaps:?}");

    // The table: docker's stats columns with the time first.
    let table = cv.ok(&["stats", "--history", "1m", "hist"]);
    let head = table.lines().next().unwrap();
    assert!(head.starts_with("TIME"), "{table}");
    assert!(head.contains("CPU %") && head.contains("MEM USAGE / LIMIT"));
    assert!(table.lines().count() > 2, "{table}");

    // kill -9 of the monitor: the ring stays; a replacement monitor
    // (`system check --repair`) appends after the last sample.
    let m = monitors_of(&id);
    assert_eq!(m.len(), 1);
    // SAFETY: kill(2) of the monitor this test started.
    unsafe { libc::kill(m[0], libc::SIGKILL) };
    let end = Instant::now() + Duration::from_secs(5);
    while std::path::Path::new(&format!("/proc/{}", m[0])).exists() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    let before = history(&cv, "1h", "hist");
    let killed = now_ns();
    let out = cv.ok(&["system", "check", "--repair"]);
    assert!(out.contains("replacement monitor"), "{out}");
    let after = wait_sample_after(&cv, "hist", killed);
    let old: Vec<u64> = before.iter().map(|s| field(s, "timestamp_ns")).collect();
    let all: Vec<u64> = after.iter().map(|s| field(s, "timestamp_ns")).collect();
    assert!(
        old.iter().all(|t| all.contains(t)),
        "samples lost across the monitor restart"
    );
    assert!(all.len() > old.len());
    assert!(all.windows(2).all(|w| w[0] < w[1]), "out of order: {all:?}");

    cv.ok(&["rm", "-f", "hist"]);
    cv.assert_gone(&id);
}

#[test]
fn many_fast_samples_stay_within_the_ring_on_disk_and_in_memory() {
    let cv = Cv::new();
    // 2 s at 100 ms: a ring of 20 samples.
    let id = cv.run_d(&[
        "--name",
        "ring",
        "--stats-interval",
        "100ms",
        "--stats-retention",
        "2s",
        "containerv/busybox",
        "sleep",
        "1000",
    ]);
    let ring = cv
        .engine_root()
        .join("containers")
        .join(&id)
        .join("stats.ring");
    let m = monitors_of(&id)[0];
    // Let it settle, then measure over 60 more samples (3 wraps).
    wait_sample_after(&cv, "ring", now_ns() + 1_000_000_000);
    let rss0 = vm_rss_kb(m);
    let t = now_ns();
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        let h = history(&cv, "1h", "ring");
        let done = h.iter().filter(|s| field(s, "timestamp_ns") > t).count() >= 20
            && h.first().is_some_and(|s| field(s, "timestamp_ns") > t);
        if done {
            break;
        }
        assert!(
            Instant::now() < end,
            "ring did not wrap: {} samples",
            h.len()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    // Let it wrap twice more.
    std::thread::sleep(Duration::from_secs(4));
    let h = history(&cv, "1h", "ring");
    assert!(
        (15..=20).contains(&h.len()),
        "{} samples kept, ring of 20",
        h.len()
    );
    let size = std::fs::metadata(&ring).unwrap().len();
    assert_eq!(size, containerv::history::file_size(20));
    let rss1 = vm_rss_kb(m);
    assert!(
        rss1 <= rss0 + 64,
        "monitor RSS grew from {rss0} kB to {rss1} kB over 60+ samples"
    );
    cv.ok(&["rm", "-f", "ring"]);
    cv.assert_gone(&id);
    assert!(!ring.exists());
}

fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid out-pointer and clock id.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The monitors of several containers sample on one shared grid (the
/// multiples of the interval on CLOCK_MONOTONIC: they wake together,
/// with hot caches), and write the ring through a mapping of its
/// preallocated file where that cannot fault (issue 15's sampling cost).
#[test]
fn monitors_sample_in_step_through_a_mapped_ring() {
    let cv = Cv::new();
    let names = ["step0", "step1", "step2"];
    let ids: Vec<String> = names
        .iter()
        .map(|n| cv.run_d(&["--name", n, "containerv/busybox", "sleep", "1000"]))
        .collect();
    // Realtime (the samples' clock) minus monotonic (the grid's).
    let offset = clock_ns(libc::CLOCK_REALTIME) - clock_ns(libc::CLOCK_MONOTONIC);
    let t0 = now_ns();
    let end = Instant::now() + Duration::from_secs(30);
    for n in names {
        // The first sample is taken at once; four more on the grid.
        loop {
            let h = history(&cv, "1h", n);
            if h.iter().filter(|s| field(s, "timestamp_ns") > t0).count() >= 4 {
                break;
            }
            assert!(Instant::now() < end, "{n}: too few samples: {h:?}");
            std::thread::sleep(Duration::from_millis(200));
        }
        let mut phase: Vec<u64> = history(&cv, "1h", n)
            .iter()
            .skip(1)
            .map(|s| (field(s, "timestamp_ns") - offset) % 1_000_000_000)
            .collect();
        phase.sort();
        // Taken just after a whole second of CLOCK_MONOTONIC (the wake-up
        // and the cgroup reads; a loaded machine delays some). Without the
        // grid each monitor's phase is wherever its container started.
        let median = phase[phase.len() / 2];
        assert!(
            median < 150_000_000,
            "{n}: samples {median} ns after the second: {phase:?}"
        );
    }
    // The ring: allocated whole at the start, mapped by the monitor where
    // the filesystem overwrites in place (else written with pwrite).
    let ring = cv
        .engine_root()
        .join("containers")
        .join(&ids[0])
        .join("stats.ring");
    // SAFETY: a plain C struct, all zeros is a valid value.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    let c = std::ffi::CString::new(ring.to_str().unwrap()).unwrap();
    // SAFETY: statfs fills the struct we pass; the path is NUL-terminated.
    assert_eq!(unsafe { libc::statfs(c.as_ptr(), &mut st) }, 0);
    #[allow(clippy::unnecessary_cast)]
    let in_place = [0xEF53, 0x5846_5342, 0x0102_1994].contains(&(st.f_type as i64));
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", monitors_of(&ids[0])[0])).unwrap();
    let mapped = maps.contains(&*ring.to_string_lossy());
    assert_eq!(mapped, in_place, "f_type {:#x}: {maps}", st.f_type);
    if in_place {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(&ring).unwrap();
        assert!(
            meta.blocks() * 512 >= containerv::history::file_size(3600),
            "ring not allocated: {} blocks",
            meta.blocks()
        );
    }
    for n in names {
        cv.ok(&["rm", "-f", n]);
    }
    for id in &ids {
        cv.assert_gone(id);
    }
}

/// The real fault on a mapped ring: someone truncates a running
/// container's `stats.ring` (`: > stats.ring`). A store into the mapped
/// window is then a SIGBUS; the monitor must survive it (before the
/// guard it died, leaving the container unsupervised), go on sampling
/// with `pwrite`, and stop the container as usual.
#[test]
fn a_truncated_ring_does_not_kill_the_monitor() {
    let cv = Cv::new();
    let id = cv.run_d(&[
        "--name",
        "trunc",
        "--stats-interval",
        "100ms",
        "containerv/busybox",
        "sleep",
        "1000",
    ]);
    let ring = cv
        .engine_root()
        .join("containers")
        .join(&id)
        .join("stats.ring");
    let end = Instant::now() + Duration::from_secs(20);
    while history(&cv, "1h", "trunc").len() < 3 {
        assert!(Instant::now() < end, "no samples");
        std::thread::sleep(Duration::from_millis(100));
    }
    let monitor = monitors_of(&id)[0];
    std::fs::OpenOptions::new()
        .write(true)
        .open(&ring)
        .unwrap()
        .set_len(0)
        .unwrap();
    // Ten more sampling periods: each would store into the window.
    std::thread::sleep(Duration::from_millis(1000));
    assert!(
        std::path::Path::new(&format!("/proc/{monitor}")).exists(),
        "the monitor died after the ring was truncated"
    );
    assert_eq!(monitors_of(&id), [monitor]);
    // Sampling went on through pwrite (the file grows again).
    let len = std::fs::metadata(&ring).unwrap().len();
    assert!(len > 0, "nothing written since the truncation");
    cv.ok(&["stop", "-t", "1", "trunc"]);
    assert_eq!(cv.inspect("trunc", "{{.State.Status}}"), "exited");
    cv.ok(&["rm", "trunc"]);
    cv.assert_gone(&id);
}

#[test]
fn bad_values_are_refused_with_125_and_nothing_made() {
    let cv = Cv::new();
    for (flag, value, says) in [
        ("--stats-interval", "50ms", "between 100ms and 1h"),
        ("--stats-interval", "2h", "between 100ms and 1h"),
        ("--stats-interval", "fast", "--stats-interval"),
        ("--stats-retention", "100ms", "at least 1s"),
        ("--stats-retention", "11h", "at most 36000 samples"),
    ] {
        let o = cv.run(&["run", "-d", flag, value, "containerv/busybox", "true"]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(125), "{flag} {value}: {err}");
        assert!(
            err.contains(flag) && err.contains(says),
            "{flag} {value}: {err}"
        );
        assert!(cv.ids().is_empty(), "{flag} {value} left a container");
    }
    for bad in ["abc", "0", "-5m", "10"] {
        let o = cv.run(&["stats", "--history", bad]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(125), "--history {bad}: {err}");
        assert!(err.contains("--history"), "{err}");
    }
    // `0` turns history off: no ring at all.
    let id = cv.run_d(&[
        "--stats-interval",
        "0",
        "containerv/busybox",
        "sleep",
        "100",
    ]);
    std::thread::sleep(Duration::from_millis(300));
    assert!(!cv
        .engine_root()
        .join("containers")
        .join(&id)
        .join("stats.ring")
        .exists());
    assert_eq!(cv.ok(&["stats", "--history", "1h", "--format", "json"]), "");
    cv.ok(&["rm", "-f", &id]);
    cv.assert_gone(&id);
}
