//! Benchmark of the stats history (run as root):
//!
//! ```text
//! cargo build -p cv
//! cargo run -p containerv-engine --example history_bench -- target/debug/cv [N] [SECONDS]
//! ```
//!
//! Starts N (default 100) `containerv/busybox sleep 3600` containers at
//! the default `--stats-interval 1s` in a private engine root, lets them
//! settle, then for SECONDS (default 60) measures:
//! 1. the CPU time of all N monitor processes (the scheduler's sum from
//!    /proc/PID/schedstat; the monitors do nothing else while their containers sleep
//!    quietly): share of one core, and per sample;
//! 2. each monitor's resident memory (VmRSS and the private part, from
//!    /proc/PID/smaps_rollup) at the start and the end: what keeping
//!    history costs in memory per container over time;
//! 3. the in-process cost of one sample with the core library: `stats()`
//!    through a kept handle plus one ring `append`, over every container.
//!
//! The ring's size on disk per container for one hour at 1 s is
//! `containerv::history::file_size(3600)`. Everything is removed at the
//! end (`cv rm -f`, the private root).

#[cfg(target_os = "linux")]
fn main() {
    imp::main()
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("history_bench: Linux only");
}

#[cfg(target_os = "linux")]
mod imp {
    use std::path::{Path, PathBuf};
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    /// CPU time `pid` has run, ns (the scheduler's exact sum from
    /// /proc/PID/schedstat; utime/stime tick sampling is too coarse for
    /// processes that run a few microseconds a second).
    fn cpu_ns(pid: i32) -> u64 {
        // Every thread's (a process's own schedstat is its main thread's).
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            return 0;
        };
        tasks
            .flatten()
            .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
            .filter_map(|t| t.split_whitespace().next()?.parse::<u64>().ok())
            .sum()
    }

    /// (VmRSS, private resident) of `pid`, kB.
    fn mem_kb(pid: i32) -> (u64, u64) {
        let key = |file: &str, k: &str| {
            std::fs::read_to_string(format!("/proc/{pid}/{file}"))
                .unwrap_or_default()
                .lines()
                .filter_map(|l| {
                    let (name, v) = l.split_once(':')?;
                    (name.trim() == k).then(|| {
                        v.trim()
                            .trim_end_matches("kB")
                            .trim()
                            .parse::<u64>()
                            .unwrap_or(0)
                    })
                })
                .sum::<u64>()
        };
        (
            key("status", "VmRSS"),
            key("smaps_rollup", "Private_Clean") + key("smaps_rollup", "Private_Dirty"),
        )
    }

    fn cv(exe: &Path, root: &Path, images: &Path, args: &[&str]) -> Command {
        let mut c = Command::new(exe);
        c.arg("--root")
            .arg(root)
            .arg("--image-root")
            .arg(images)
            .args(args)
            .env("CV_MONITOR_BUILTIN", "1")
            .stdin(Stdio::null());
        c
    }

    pub fn main() {
        let args: Vec<String> = std::env::args().collect();
        let exe = PathBuf::from(
            args.get(1)
                .expect("usage: history_bench CV_BINARY [N] [SECONDS]"),
        );
        let exe = std::fs::canonicalize(&exe).expect("cv binary");
        let n: usize = args.get(2).map_or(100, |s| s.parse().expect("N"));
        let secs: u64 = args.get(3).map_or(60, |s| s.parse().expect("SECONDS"));
        let images = std::env::temp_dir().join("containerv-engine-test-images");
        let tmp = tempfile::tempdir().expect("temp dir");
        let root = tmp.path().join("engine");

        let t = Instant::now();
        let next = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= n {
                        return;
                    }
                    let name = format!("hb{i}");
                    let o = cv(&exe, &root, &images, &["run", "-d", "--name", &name])
                        .args(["containerv/busybox", "sleep", "3600"])
                        .output()
                        .expect("cv run");
                    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
                });
            }
        });
        println!(
            "started {n} containers in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        let engine = containerv_engine::Engine::open(&root, &images, &exe).expect("engine");
        let entries = engine.store.list().expect("list");
        let monitors: Vec<i32> = entries
            .iter()
            .map(|e| e.state.monitor_pid)
            .filter(|&p| p > 0)
            .collect();
        assert_eq!(monitors.len(), n, "one monitor per container");
        std::thread::sleep(Duration::from_secs(3));

        let ns0: u64 = monitors.iter().map(|&p| cpu_ns(p)).sum();
        let mem0: Vec<(u64, u64)> = monitors.iter().map(|&p| mem_kb(p)).collect();
        let samples0: usize = entries
            .iter()
            .map(|e| {
                containerv_engine::history::read(&engine.store, &e.config.id, None)
                    .map_or(0, |h| h.len())
            })
            .sum();
        let wall = Instant::now();
        std::thread::sleep(Duration::from_secs(secs));
        let ns1: u64 = monitors.iter().map(|&p| cpu_ns(p)).sum();
        let elapsed = wall.elapsed().as_secs_f64();
        let mem1: Vec<(u64, u64)> = monitors.iter().map(|&p| mem_kb(p)).collect();
        let samples1: usize = entries
            .iter()
            .map(|e| {
                containerv_engine::history::read(&engine.store, &e.config.id, None)
                    .map_or(0, |h| h.len())
            })
            .sum();
        let cpu_s = (ns1 - ns0) as f64 / 1e9;
        let taken = samples1.saturating_sub(samples0);
        println!(
            "{n} monitors over {elapsed:.1} s: {cpu_s:.2} s CPU = {:.2} % of one core; {taken} samples = {:.0} us CPU each",
            cpu_s * 100.0 / elapsed,
            cpu_s * 1e6 / taken.max(1) as f64
        );
        let avg = |v: &[(u64, u64)], f: fn(&(u64, u64)) -> u64| {
            v.iter().map(f).sum::<u64>() as f64 / v.len() as f64
        };
        println!(
            "monitor memory, average: VmRSS {:.0} -> {:.0} kB, private {:.0} -> {:.0} kB ({:+.1} kB per container over {elapsed:.0} s)",
            avg(&mem0, |m| m.0),
            avg(&mem1, |m| m.0),
            avg(&mem0, |m| m.1),
            avg(&mem1, |m| m.1),
            avg(&mem1, |m| m.1) - avg(&mem0, |m| m.1),
        );
        println!(
            "ring on disk per container for 1 h at 1 s: {} bytes ({} per sample)",
            containerv::history::file_size(3600),
            containerv::history::RECORD_SIZE
        );

        // The sampling work itself, in process: stats() through kept
        // handles and one append each, every container, 10 rounds.
        let cores: Vec<containerv::Container> = entries
            .iter()
            .filter_map(|e| engine.core(&e.config.id).ok())
            .collect();
        let mut rings: Vec<containerv::history::HistoryWriter> = (0..cores.len())
            .map(|i| {
                containerv::history::HistoryWriter::open(&tmp.path().join(format!("r{i}")), 3600)
                    .expect("ring")
            })
            .collect();
        let t = Instant::now();
        for _ in 0..10 {
            for (c, r) in cores.iter().zip(rings.iter_mut()) {
                r.append(&c.stats().expect("stats")).expect("append");
            }
        }
        let per = t.elapsed().as_secs_f64() * 1e6 / (10 * cores.len()) as f64;
        println!(
            "in process: {per:.0} us wall per sample (stats + append); {n} containers at 1 s = {:.2} % of one core",
            per * n as f64 / 1e4
        );
        drop(cores);

        let t = Instant::now();
        let names: Vec<String> = (0..n).map(|i| format!("hb{i}")).collect();
        let mut args = vec!["rm", "-f"];
        args.extend(names.iter().map(String::as_str));
        let o = cv(&exe, &root, &images, &args).output().expect("cv rm");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        println!("removed in {:.1} s", t.elapsed().as_secs_f64());
        // The engine keeps its default bridge as docker keeps docker0.
        let _ = cv(&exe, &root, &images, &["system", "reset", "-f"]).output();
    }
}
