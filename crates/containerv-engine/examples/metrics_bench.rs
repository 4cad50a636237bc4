//! Benchmark of the Prometheus scrape (run as root):
//!
//! ```text
//! cargo build -p cv
//! cargo run -p containerv-engine --example metrics_bench -- target/debug/cv [N]
//! ```
//!
//! Starts N (default 100) `containerv/busybox sleep 600` containers with
//! the given `cv` in a private engine root (images from the tests' shared
//! store, `$TMPDIR/containerv-engine-test-images`, where the built-in image
//! is made on first use), then times 20 scrapes each way:
//! 1. in process: one one-shot `containerv_engine::metrics::scrape` (opens
//!    every container), then a kept `Scraper` (wall and CPU time);
//! 2. over HTTP from `cv system metrics --listen 127.0.0.1:0` (wall time,
//!    and the server's CPU per scrape = % of one core at a 1 s interval).
//!
//! Everything is removed at the end (`cv rm -f`, the private root).

#[cfg(target_os = "linux")]
fn main() {
    imp::main()
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("metrics_bench: Linux only");
}

#[cfg(target_os = "linux")]
mod imp {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpStream;
    use std::path::{Path, PathBuf};
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    fn cpu_self() -> Duration {
        // SAFETY: getrusage fills the struct we own.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: as above; RUSAGE_SELF is always valid.
        unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
        let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
        tv(ru.ru_utime) + tv(ru.ru_stime)
    }

    /// utime + stime of `pid`, in clock ticks (100 per second here).
    fn cpu_ticks(pid: u32) -> u64 {
        let t = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let rest: Vec<&str> = t
            .rsplit_once(')')
            .map(|(_, r)| r.split_whitespace().collect())
            .unwrap_or_default();
        let f = |n: usize| {
            rest.get(n - 3)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        f(14) + f(15)
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

    fn summary(name: &str, mut v: Vec<Duration>) {
        v.sort();
        println!(
            "{name}: median {:.1} ms, min {:.1} ms, max {:.1} ms ({} runs)",
            v[v.len() / 2].as_secs_f64() * 1e3,
            v[0].as_secs_f64() * 1e3,
            v[v.len() - 1].as_secs_f64() * 1e3,
            v.len()
        );
    }

    pub fn main() {
        let args: Vec<String> = std::env::args().collect();
        let exe = PathBuf::from(args.get(1).expect("usage: metrics_bench CV_BINARY [N]"));
        let exe = std::fs::canonicalize(&exe).expect("cv binary");
        let n: usize = args.get(2).map_or(100, |s| s.parse().expect("N"));
        let images = std::env::temp_dir().join("containerv-engine-test-images");
        let tmp = tempfile::tempdir().expect("temp dir");
        let root = tmp.path().join("engine");

        // Start the containers, 4 at a time.
        let t = Instant::now();
        let next = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= n {
                        return;
                    }
                    let name = format!("mb{i}");
                    let o = cv(&exe, &root, &images, &["run", "-d", "--name", &name])
                        .args(["containerv/busybox", "sleep", "600"])
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
        let one = Instant::now();
        containerv_engine::metrics::scrape(&engine).expect("scrape");
        println!(
            "one-shot scrape (opens every container): {:.1} ms",
            one.elapsed().as_secs_f64() * 1e3
        );
        let mut scraper = containerv_engine::metrics::Scraper::default();
        scraper.scrape(&engine).expect("scrape");
        let mut wall = Vec::new();
        let mut cpu = Duration::ZERO;
        let mut samples = 0;
        for _ in 0..20 {
            let (t, c) = (Instant::now(), cpu_self());
            let text = scraper.scrape(&engine).expect("scrape");
            wall.push(t.elapsed());
            cpu += cpu_self() - c;
            samples = text
                .lines()
                .filter(|l| l.starts_with("container_cpu_usage_seconds_total{"))
                .count();
        }
        assert_eq!(samples, n, "every container in the scrape");
        summary("in-process scrape", wall);
        println!(
            "in-process scrape CPU: {:.1} ms per scrape",
            cpu.as_secs_f64() * 1e3 / 20.0
        );

        let mut srv = cv(
            &exe,
            &root,
            &images,
            &["system", "metrics", "--listen", "127.0.0.1:0"],
        )
        .stderr(Stdio::piped())
        .spawn()
        .expect("server");
        let mut line = String::new();
        BufReader::new(srv.stderr.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .trim_start_matches("Serving metrics on http://")
            .trim_end_matches("/metrics")
            .to_string();
        let get = || {
            let mut s = TcpStream::connect(&addr).expect("connect");
            write!(s, "GET /metrics HTTP/1.0\r\n\r\n").unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            assert!(out.starts_with("HTTP/1.1 200"), "{out}");
            out.len()
        };
        get(); // the server's first scrape opens what it keeps
        let ticks0 = cpu_ticks(srv.id());
        let mut wall = Vec::new();
        let mut bytes = 0;
        for _ in 0..20 {
            let t = Instant::now();
            bytes = get();
            wall.push(t.elapsed());
        }
        let per_scrape_ms = (cpu_ticks(srv.id()) - ticks0) as f64 * 10.0 / 20.0;
        summary("HTTP scrape", wall);
        println!(
            "HTTP server CPU: {per_scrape_ms:.1} ms per scrape = {:.2} % of one core at a 1 s interval; {bytes} bytes per response",
            per_scrape_ms / 10.0
        );
        let _ = srv.kill();
        let _ = srv.wait();

        let t = Instant::now();
        let names: Vec<String> = (0..n).map(|i| format!("mb{i}")).collect();
        let mut args = vec!["rm", "-f"];
        args.extend(names.iter().map(String::as_str));
        let o = cv(&exe, &root, &images, &args).output().expect("cv rm");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        println!("removed in {:.1} s", t.elapsed().as_secs_f64());
        // The engine keeps its default bridge as docker keeps docker0.
        let _ = cv(&exe, &root, &images, &["system", "reset", "-f"]).output();
    }
}
