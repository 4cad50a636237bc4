//! Two `cv` builds side by side in one run: what monitoring costs each
//! (run as root):
//!
//! ```text
//! cargo run --release -p containerv-engine --example monitoring_ab -- CV_A CV_B [N] [SECONDS] [SCRAPES] [NETWORK]
//! ```
//!
//! CPU figures taken one after the other on a loaded machine are not
//! comparable (the same work costs more with a longer run queue: colder
//! caches, more switches). So both builds run at once, under the same
//! load: N (default 100) `containerv/busybox sleep 3600` containers each
//! (`--network NETWORK`, default `none`; `bridge` adds the network
//! counters' read to each sample; the default `--stats-interval 1s`), each build in its
//! own private engine root, then
//! 1. **history sampling**: the CPU of all 2N monitor processes over the
//!    same SECONDS (default 60; the scheduler's exact sum from
//!    /proc/PID/schedstat, the monitors do nothing else while their
//!    containers sleep) and the samples their rings gained: CPU per
//!    sample and share of one core for N containers;
//! 2. **scrape**: `cv system metrics --listen 127.0.0.1:0` of each build
//!    on its own root, SCRAPES (default 20) `GET /metrics` alternating
//!    between the two (each answer checked to hold N containers): the
//!    server's CPU per scrape (schedstat of the server process) and wall
//!    time (median, min).
//!
//! Everything is removed at the end (the servers, `cv rm -f`, the roots).

#[cfg(target_os = "linux")]
fn main() {
    imp::main()
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("monitoring_ab: Linux only");
}

#[cfg(target_os = "linux")]
mod imp {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpStream;
    use std::path::PathBuf;
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    /// CPU time `pid` has run, ns (/proc/PID/schedstat).
    fn cpu_ns(pid: u32) -> u64 {
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

    struct Build {
        label: &'static str,
        exe: PathBuf,
        root: PathBuf,
        images: PathBuf,
    }

    impl Build {
        fn cv(&self, args: &[&str]) -> Command {
            let mut c = Command::new(&self.exe);
            c.arg("--root")
                .arg(&self.root)
                .arg("--image-root")
                .arg(&self.images)
                .args(args)
                .env("CV_MONITOR_BUILTIN", "1")
                .stdin(Stdio::null());
            c
        }

        fn name(&self, i: usize) -> String {
            format!("ab{}{i}", self.label)
        }
    }

    /// One `GET /metrics`: the body.
    fn get(addr: &str) -> String {
        let mut s = TcpStream::connect(addr).expect("connect");
        s.write_all(b"GET /metrics HTTP/1.0\r\nHost: bench\r\n\r\n")
            .expect("request");
        let mut out = String::new();
        s.read_to_string(&mut out).expect("response");
        let (head, body) = out.split_once("\r\n\r\n").expect("HTTP response");
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        body.to_string()
    }

    fn stats(v: &mut [f64]) -> (f64, f64, f64) {
        v.sort_by(|a, b| a.total_cmp(b));
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        (v[v.len() / 2], v[0], mean)
    }

    pub fn main() {
        let args: Vec<String> = std::env::args().collect();
        let usage = "usage: monitoring_ab CV_A CV_B [N] [SECONDS] [SCRAPES] [NETWORK]";
        let exe = |i: usize| std::fs::canonicalize(args.get(i).expect(usage)).expect("cv binary");
        let n: usize = args.get(3).map_or(100, |s| s.parse().expect("N"));
        let secs: u64 = args.get(4).map_or(60, |s| s.parse().expect("SECONDS"));
        let scrapes: usize = args.get(5).map_or(20, |s| s.parse().expect("SCRAPES"));
        let network = args.get(6).map_or("none", String::as_str);
        let images = std::env::temp_dir().join("containerv-engine-test-images");
        let tmp = tempfile::tempdir().expect("temp dir");
        let builds = [
            Build {
                label: "a",
                exe: exe(1),
                root: tmp.path().join("a"),
                images: images.clone(),
            },
            Build {
                label: "b",
                exe: exe(2),
                root: tmp.path().join("b"),
                images,
            },
        ];
        println!(
            "A = {}\nB = {}\n--network {network}\nload average before: {}",
            builds[0].exe.display(),
            builds[1].exe.display(),
            std::fs::read_to_string("/proc/loadavg")
                .unwrap_or_default()
                .trim()
        );

        let t = Instant::now();
        let next = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| loop {
                    let j = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if j >= 2 * n {
                        return;
                    }
                    let b = &builds[j % 2];
                    let name = b.name(j / 2);
                    let o = b
                        .cv(&["run", "-d", "--network", network, "--name", &name])
                        .args(["containerv/busybox", "sleep", "3600"])
                        .output()
                        .expect("cv run");
                    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
                });
            }
        });
        println!(
            "started {n} + {n} containers in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        let engines: Vec<containerv_engine::Engine> = builds
            .iter()
            .map(|b| containerv_engine::Engine::open(&b.root, &b.images, &b.exe).expect("engine"))
            .collect();
        let monitors: Vec<Vec<u32>> = engines
            .iter()
            .map(|e| {
                let m: Vec<u32> = e
                    .store
                    .list()
                    .expect("list")
                    .iter()
                    .map(|x| x.state.monitor_pid as u32)
                    .filter(|&p| p > 0)
                    .collect();
                assert_eq!(m.len(), n, "one monitor per container");
                m
            })
            .collect();
        let samples = |e: &containerv_engine::Engine| -> usize {
            e.store
                .list()
                .expect("list")
                .iter()
                .map(|x| {
                    containerv_engine::history::read(&e.store, &x.config.id, None)
                        .map_or(0, |h| h.len())
                })
                .sum()
        };
        // For a profiler or `strace -c` alongside (the window below).
        for (b, m) in builds.iter().zip(&monitors) {
            println!("monitors {}: {:?} ...", b.label, &m[..m.len().min(4)]);
        }
        std::thread::sleep(Duration::from_secs(3));

        // 1. History sampling, both sets over the same window.
        let cpu0: Vec<u64> = monitors
            .iter()
            .map(|m| m.iter().map(|&p| cpu_ns(p)).sum())
            .collect();
        let s0: Vec<usize> = engines.iter().map(samples).collect();
        let wall = Instant::now();
        std::thread::sleep(Duration::from_secs(secs));
        let cpu1: Vec<u64> = monitors
            .iter()
            .map(|m| m.iter().map(|&p| cpu_ns(p)).sum())
            .collect();
        let elapsed = wall.elapsed().as_secs_f64();
        let s1: Vec<usize> = engines.iter().map(samples).collect();
        let mut per_sample = [0.0; 2];
        for i in 0..2 {
            let cpu_s = (cpu1[i] - cpu0[i]) as f64 / 1e9;
            let taken = s1[i].saturating_sub(s0[i]).max(1);
            per_sample[i] = cpu_s * 1e6 / taken as f64;
            println!(
                "history {}: {n} monitors over {elapsed:.1} s: {cpu_s:.3} s CPU = {:.2} % of one core; {taken} samples = {:.0} us CPU per sample",
                builds[i].label,
                cpu_s * 100.0 / elapsed,
                per_sample[i]
            );
        }
        println!(
            "history: B/A CPU per sample = {:.2}",
            per_sample[1] / per_sample[0]
        );
        println!(
            "load average: {}",
            std::fs::read_to_string("/proc/loadavg")
                .unwrap_or_default()
                .trim()
        );

        // 2. Scrapes of each build's --listen server, alternating.
        let mut servers: Vec<(Child, String)> = builds
            .iter()
            .map(|b| {
                let mut c = b
                    .cv(&["system", "metrics", "--listen", "127.0.0.1:0"])
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("metrics server");
                let mut line = String::new();
                BufReader::new(c.stderr.take().expect("stderr"))
                    .read_line(&mut line)
                    .expect("announcement");
                let addr = line
                    .trim()
                    .strip_prefix("Serving metrics on http://")
                    .and_then(|r| r.strip_suffix("/metrics"))
                    .unwrap_or_else(|| panic!("announcement: {line:?}"))
                    .to_string();
                println!("server {}: pid {} on {addr}", b.label, c.id());
                (c, addr)
            })
            .collect();
        let mut wall_ms = [Vec::new(), Vec::new()];
        let mut cpu_ms = [Vec::new(), Vec::new()];
        for round in 0..scrapes + 2 {
            for k in 0..2 {
                let i = (round + k) % 2;
                let pid = servers[i].0.id();
                let c0 = cpu_ns(pid);
                let t = Instant::now();
                let body = get(&servers[i].1);
                let w = t.elapsed().as_secs_f64() * 1e3;
                let c = (cpu_ns(pid) - c0) as f64 / 1e6;
                let seen = body
                    .lines()
                    .filter(|l| l.starts_with("container_cpu_usage_seconds_total{"))
                    .count();
                assert_eq!(seen, n, "build {}: {seen} containers", builds[i].label);
                if round >= 2 {
                    wall_ms[i].push(w);
                    cpu_ms[i].push(c);
                }
            }
        }
        let mut cpu_mean = [0.0; 2];
        for i in 0..2 {
            let (wm, wmin, _) = stats(&mut wall_ms[i]);
            let (cm, _, cmean) = stats(&mut cpu_ms[i]);
            cpu_mean[i] = cmean;
            println!(
                "scrape {}: {scrapes} GET /metrics of {n} containers: wall median {wm:.1} ms (min {wmin:.1}); server CPU mean {cmean:.2} ms (median {cm:.2}) per scrape = {:.2} % of one core at a 1 s interval",
                builds[i].label,
                cmean / 10.0
            );
        }
        println!(
            "scrape: B/A server CPU per scrape = {:.2}",
            cpu_mean[1] / cpu_mean[0]
        );
        println!(
            "load average after: {}",
            std::fs::read_to_string("/proc/loadavg")
                .unwrap_or_default()
                .trim()
        );
        for (c, _) in servers.iter_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
        for b in &builds {
            let names: Vec<String> = (0..n).map(|i| b.name(i)).collect();
            let mut a = vec!["rm", "-f"];
            a.extend(names.iter().map(String::as_str));
            let o = b.cv(&a).output().expect("cv rm");
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            // The engine keeps its default bridge as docker keeps docker0.
            let _ = b.cv(&["system", "reset", "-f"]).output();
        }
    }
}
