//! One run, side by side: reading the figures of N running containers
//! with cv and with podman (run as root):
//!
//! ```text
//! cargo build -p cv
//! cargo run -p containerv-engine --example stats_vs_podman -- target/debug/cv [N]
//! ```
//!
//! Starts N (default 100) `sleep 600` containers of the built-in busybox
//! image with the given `cv` (private engine root), and N of the same
//! image (`cv save` → `podman load`) with podman 4.3 + runc (private
//! config, vfs storage, `--network none`, its own cgroup parent, a
//! private /run: the set-up of ENVIRONMENT.md), then times, 5 runs each:
//! - `podman stats --no-stream --format json` (what a user would run),
//! - `cv stats --no-stream --format json` (the same question to cv),
//! - `cv system metrics` (the Prometheus text, opening every container),
//! - a kept `containerv_engine::metrics::Scraper` in process (what
//!   `cv system metrics --listen` does per scrape), wall and CPU.
//!
//! Prints medians and the ratios to podman. Everything is removed at the
//! end (`cv rm -f`, `podman rm -af`, `podman system reset`, the cgroup
//! parent, the temp dirs).

#[cfg(target_os = "linux")]
fn main() {
    imp::main()
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("stats_vs_podman: Linux only");
}

#[cfg(target_os = "linux")]
mod imp {
    use std::path::{Path, PathBuf};
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    use containerv_testutil::peer::{private_run, remove_cgroups, PodmanConfig};

    fn cpu_self() -> Duration {
        // SAFETY: getrusage fills the struct we own.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: as above; RUSAGE_SELF is always valid.
        unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
        let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
        tv(ru.ru_utime) + tv(ru.ru_stime)
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

    fn ok(c: &mut Command) -> String {
        let o = c.output().expect("spawn");
        assert!(
            o.status.success(),
            "{c:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Median wall time of 5 runs of `f` (which checks its output).
    fn median(name: &str, mut f: impl FnMut()) -> f64 {
        f(); // warm caches
        let mut v: Vec<f64> = (0..5)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        v.sort_by(|a, b| a.total_cmp(b));
        println!(
            "{name}: median {:.1} ms (min {:.1}, max {:.1})",
            v[2], v[0], v[4]
        );
        v[2]
    }

    /// Runs `f(i)` for i in 0..n on 4 threads.
    fn parallel(n: usize, f: impl Fn(usize) + Sync) {
        let next = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= n {
                        return;
                    }
                    f(i);
                });
            }
        });
    }

    pub fn main() {
        let args: Vec<String> = std::env::args().collect();
        let exe = PathBuf::from(args.get(1).expect("usage: stats_vs_podman CV_BINARY [N]"));
        let exe = std::fs::canonicalize(&exe).expect("cv binary");
        let n: usize = args.get(2).map_or(100, |s| s.parse().expect("N"));
        // podman writes under /run whatever it is told: a private one for
        // this whole process (before any thread exists).
        private_run();
        let images = std::env::temp_dir().join("containerv-engine-test-images");
        let tmp = tempfile::tempdir().expect("temp dir");
        let root = tmp.path().join("engine");
        let podman = PodmanConfig::new("", "runtime = \"runc\"\n");
        let parent = containerv_testutil::unique_id("cvstatsbench");
        let pm = |args: &[&str]| {
            let mut c = podman.cmd();
            c.env("TMPDIR", podman.dir.path())
                .args(args)
                .stdin(Stdio::null());
            c
        };

        let t = Instant::now();
        parallel(n, |i| {
            ok(cv(
                &exe,
                &root,
                &images,
                &["run", "-d", "--name", &format!("sb{i}")],
            )
            .args(["containerv/busybox", "sleep", "600"]));
        });
        println!("cv: started {n} in {:.1} s", t.elapsed().as_secs_f64());
        let tar = podman.dir.path().join("busybox.tar");
        ok(&mut cv(
            &exe,
            &root,
            &images,
            &["save", "-o", tar.to_str().unwrap(), "containerv/busybox"],
        ));
        ok(&mut pm(&["load", "-q", "-i", tar.to_str().unwrap()]));
        // One at a time: four parallel `podman run -d` here hung in
        // podman's own locks (futex waits, minutes) under load.
        let t = Instant::now();
        (0..n).for_each(|i| {
            ok(&mut pm(&[
                "run",
                "-d",
                "--name",
                &format!("pb{i}"),
                "--network",
                "none",
                "--cgroup-parent",
                &parent,
                "containerv/busybox",
                "sleep",
                "600",
            ]));
        });
        println!("podman: started {n} in {:.1} s", t.elapsed().as_secs_f64());
        println!(
            "load: {}",
            std::fs::read_to_string("/proc/loadavg")
                .unwrap_or_default()
                .trim()
        );

        let podman_ms = median("podman stats --no-stream --format json", || {
            let out = ok(&mut pm(&["stats", "--no-stream", "--format", "json"]));
            let v: serde_json::Value = serde_json::from_str(&out).expect("podman json");
            assert_eq!(
                v.as_array().map_or(0, Vec::len),
                n,
                "every podman container"
            );
        });
        let cv_stats_ms = median("cv stats --no-stream --format json", || {
            let out = ok(&mut cv(
                &exe,
                &root,
                &images,
                &["stats", "--no-stream", "--format", "json"],
            ));
            assert_eq!(out.lines().count(), n, "every cv container");
        });
        let cv_metrics_ms = median("cv system metrics (one-shot)", || {
            let out = ok(&mut cv(&exe, &root, &images, &["system", "metrics"]));
            let rows = out
                .lines()
                .filter(|l| l.starts_with("container_cpu_usage_seconds_total{"))
                .count();
            assert_eq!(rows, n);
        });
        let engine = containerv_engine::Engine::open(&root, &images, &exe).expect("engine");
        let mut scraper = containerv_engine::metrics::Scraper::default();
        // The first scrape opens every container (the one-shot row's
        // cost): a server pays it once, so it is left out of the figure.
        scraper.scrape(&engine).expect("scrape");
        let c0 = cpu_self();
        let kept_ms = median("kept Scraper, in process (per --listen scrape)", || {
            scraper.scrape(&engine).expect("scrape");
        });
        let kept_cpu_ms = (cpu_self() - c0).as_secs_f64() * 1e3 / 6.0;
        println!(
            "kept Scraper CPU: {kept_cpu_ms:.1} ms per scrape = {:.2} % of one core at 1 s",
            kept_cpu_ms / 10.0
        );
        println!(
            "ratios to podman stats (time per sample of all {n}): cv stats {:.2}x, cv system metrics {:.2}x, kept scraper {:.3}x",
            cv_stats_ms / podman_ms,
            cv_metrics_ms / podman_ms,
            kept_ms / podman_ms
        );

        let _ = pm(&["rm", "-a", "-f", "-t", "0"]).output();
        let _ = pm(&["system", "reset", "-f"]).output();
        remove_cgroups(&parent);
        let names: Vec<String> = (0..n).map(|i| format!("sb{i}")).collect();
        let mut a = vec!["rm", "-f"];
        a.extend(names.iter().map(String::as_str));
        ok(&mut cv(&exe, &root, &images, &a));
        // The engine keeps its default bridge as docker keeps docker0.
        let _ = cv(&exe, &root, &images, &["system", "reset", "-f"]).output();
        println!("removed");
    }
}
