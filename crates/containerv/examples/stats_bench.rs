//! Benchmark of the monitoring path (run as root, release build):
//!
//! ```text
//! cargo run --release -p containerv --example stats_bench [N_CONTAINERS] [SECONDS]
//! ```
//!
//! 1. The cost of one `stats()` sample (cgroup files + the netns counters),
//!    median and p99 over 1000 calls on one container.
//! 2. Sampling N (default 100) running containers once a second for S
//!    (default 10) seconds: the sampler's CPU time as % of one core.
//! 3. State per tracked container: RSS growth of this process while
//!    tracking N containers (manager + `Samples`), and their sizes.
//!
//! Each "container" is a cgroup made by the library with one busybox
//! `sleep` in its own network namespace (what a container's init gives the
//! sampler to read); everything is killed and removed at the end.

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("stats_bench measures Linux cgroups: Linux only");
}

#[cfg(target_os = "linux")]
fn main() {
    imp::main()
}

/// The benchmark itself (Linux only).
#[cfg(target_os = "linux")]
mod imp {

    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    use containerv::linux::cgroups::{self, CgroupManager};
    use containerv::linux::Samples;

    fn rss_kb() -> u64 {
        std::fs::read_to_string("/proc/self/status")
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0)
    }

    fn cpu_time() -> Duration {
        // SAFETY: an all-zero rusage is a valid value.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: getrusage fills the struct we own.
        unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
        let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
        tv(ru.ru_utime) + tv(ru.ru_stime)
    }

    fn spawn_in(mgr: &dyn CgroupManager) -> Child {
        let fds = mgr.procs_fds().expect("procs fds");
        let raw: Vec<i32> = fds.iter().map(|f| f.as_raw_fd()).collect();
        let mut cmd = Command::new("/bin/busybox");
        cmd.args(["sleep", "600"]).stdin(Stdio::null());
        // SAFETY: write(2) and unshare(2) only, on data made before the fork.
        unsafe {
            cmd.pre_exec(move || {
                for fd in &raw {
                    if libc::write(*fd, b"0".as_ptr().cast(), 1) != 1 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                if libc::unshare(libc::CLONE_NEWNET) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        cmd.spawn().expect("spawn busybox sleep")
    }

    struct Tracked {
        mgr: Box<dyn CgroupManager>,
        samples: Samples,
        pid: i32,
    }

    pub fn main() {
        let mut args = std::env::args().skip(1);
        let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100);
        let secs: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
        println!("mode: {:?}", cgroups::detect_mode().unwrap());

        let mut children = Vec::new();
        let mut mgrs = Vec::new();
        for i in 0..n {
            let id = format!("bench-{}-{i}", std::process::id());
            let mgr = cgroups::create(&id, None, None).expect("create cgroup");
            children.push(spawn_in(&*mgr));
            mgrs.push(mgr);
        }
        std::thread::sleep(Duration::from_millis(300));

        // State per tracked container: RSS growth while building the tracking
        // structures only (managers were made above; clone their state).
        let rss0 = rss_kb();
        let mut tracked: Vec<Tracked> = mgrs
            .iter()
            .zip(&children)
            .map(|(m, c)| Tracked {
                mgr: cgroups::open(&m.state()).unwrap(),
                samples: Samples::default(),
                pid: c.id() as i32,
            })
            .collect();
        for t in &mut tracked {
            t.samples.stats(&*t.mgr, t.pid).unwrap();
            t.samples.processes(&*t.mgr).unwrap();
        }
        let rss1 = rss_kb();

        // 1. One stats() call.
        let t = &mut tracked[0];
        let mut times = Vec::with_capacity(1000);
        for _ in 0..1000 {
            let s = Instant::now();
            std::hint::black_box(t.samples.stats(&*t.mgr, t.pid).unwrap());
            times.push(s.elapsed());
        }
        times.sort();
        println!(
            "stats(): median {:.1} µs, p99 {:.1} µs (1000 calls)",
            times[500].as_secs_f64() * 1e6,
            times[990].as_secs_f64() * 1e6
        );
        let mut ptimes = Vec::with_capacity(1000);
        for _ in 0..1000 {
            let s = Instant::now();
            std::hint::black_box(t.samples.processes(&*t.mgr).unwrap());
            ptimes.push(s.elapsed());
        }
        ptimes.sort();
        println!(
            "processes() (1 process): median {:.1} µs",
            ptimes[500].as_secs_f64() * 1e6
        );

        // 2. Sampling every container once a second.
        let cpu0 = cpu_time();
        let wall0 = Instant::now();
        let mut round_max = Duration::ZERO;
        for round in 0..secs {
            let r0 = Instant::now();
            for t in &mut tracked {
                std::hint::black_box(t.samples.stats(&*t.mgr, t.pid).unwrap());
            }
            round_max = round_max.max(r0.elapsed());
            let next = wall0 + Duration::from_secs(round + 1);
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
        }
        let cpu = cpu_time() - cpu0;
        let wall = wall0.elapsed();
        println!(
        "sampling {n} containers once a second for {secs} s: CPU {:.1} ms = {:.3}% of one core; slowest round {:.2} ms",
        cpu.as_secs_f64() * 1e3,
        cpu.as_secs_f64() / wall.as_secs_f64() * 100.0,
        round_max.as_secs_f64() * 1e3
    );
        println!(
        "state per tracked container: RSS growth {:.1} KiB ({} KiB for {n}); size_of Samples {} B + read buffer {} B, state dirs {}",
        (rss1.saturating_sub(rss0)) as f64 / n as f64,
        rss1.saturating_sub(rss0),
        std::mem::size_of::<Samples>(),
        4096,
        tracked[0].mgr.state().hierarchies.len(),
    );

        for (m, mut c) in mgrs.into_iter().zip(children) {
            m.kill_all().unwrap();
            let _ = c.wait();
            m.remove().unwrap();
        }
    }
}
