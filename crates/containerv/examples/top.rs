//! A tiny `top` for one container: starts a container from a rootfs
//! directory with limits, runs a small load in it (a busy loop, a memory
//! hog and an idle sleeper), and prints its stats and process list every
//! second for N seconds, then destroys it. The monitoring example to run
//! first.
//!
//! ```sh
//! sudo cargo run --release -p containerv --example top -- \
//!     [--memory 256M] [--cpus 0.5] [--pids 64] [--seconds 5] ROOTFS
//! ```
//!
//! ROOTFS needs a busybox (`/bin/sh`, `dd`, `sleep`), e.g. a directory
//! with /bin/busybox and its applet links.

#[cfg(target_os = "linux")]
fn main() {
    if let Err(e) = run() {
        eprintln!("top: {e}");
        std::process::exit(1);
    }
}

#[cfg(target_os = "linux")]
fn run() -> Result<(), Box<dyn std::error::Error>> {
    use containerv::{ContainerOptions, ProcessOptions, Runtime, Stdio};

    const USAGE: &str =
        "usage: top [--memory 256M] [--cpus 0.5] [--pids 64] [--seconds N] [--root DIR] ROOTFS";
    let mut args = std::env::args().skip(1);
    let (mut memory, mut cpus, mut pids, mut secs) =
        ("256M".to_string(), "0.5".to_string(), 64i64, 5u64);
    let mut root = containerv::linux::DEFAULT_ROOT.to_string();
    let mut rootfs = None;
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "--memory" => memory = value("--memory")?,
            "--cpus" => cpus = value("--cpus")?,
            "--pids" => {
                let v = value("--pids")?;
                pids = v
                    .parse()
                    .map_err(|_| format!("--pids {v:?}: not a number"))?;
            }
            "--seconds" => {
                let v = value("--seconds")?;
                secs = v
                    .parse()
                    .map_err(|_| format!("--seconds {v:?}: not a number"))?;
            }
            "--root" => root = value("--root")?,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            _ if rootfs.is_none() => rootfs = Some(a),
            _ => return Err(USAGE.into()),
        }
    }
    let rootfs = rootfs.ok_or(USAGE)?;
    let opts = ContainerOptions::new()
        .rootfs(&rootfs)
        .memory(&memory)
        .cpus(&cpus)
        .pids(pids);
    let rt = Runtime::new(&root)?;
    let id = format!("top-{}", std::process::id());
    let c = rt.create(&id, &opts)?;
    let result = (|| -> Result<(), Box<dyn std::error::Error>> {
        let quiet = |args: &[&str]| {
            let mut p = ProcessOptions::new(args.iter().copied());
            p.stdout = Stdio::Null;
            p.stderr = Stdio::Null;
            p
        };
        let mut load = vec![
            c.spawn(quiet(&["/bin/sh", "-c", "while :; do :; done"]))?,
            c.spawn(quiet(&[
                "/bin/sh",
                "-c",
                "dd if=/dev/zero of=/dev/null bs=48M count=1; sleep 3600",
            ]))?,
            c.spawn(quiet(&["/bin/sleep", "3600"]))?,
        ];
        println!("container {id}: memory {memory}, cpus {cpus}, pids {pids}");
        for _ in 0..secs {
            std::thread::sleep(std::time::Duration::from_secs(1));
            let s = c.stats()?;
            let mib = |b: u64| b as f64 / (1 << 20) as f64;
            println!(
                "\nCPU {:5.1}%  (time {:.2} s, throttled {} of {} periods)   MEM {:.1} MiB (peak {:.1}, limit {})   PIDS {} procs / {} tasks   OOM {}",
                s.cpu_percent,
                s.cpu_time_ns as f64 / 1e9,
                s.cpu_throttled_periods,
                s.cpu_periods,
                mib(s.memory_usage),
                mib(s.memory_peak),
                s.memory_limit.map_or("none".into(), |l| format!("{:.0} MiB", mib(l))),
                s.active_processes,
                s.total_processes,
                s.oom_kills,
            );
            println!(
                "IO read {} B / {} ops, write {} B / {} ops   NET rx {} B / {} pkts, tx {} B / {} pkts",
                s.read_bytes, s.read_ops, s.write_bytes, s.write_ops,
                s.net_rx_bytes, s.net_rx_packets, s.net_tx_bytes, s.net_tx_packets,
            );
            println!("{:>8} {:>6} {:>10}  NAME", "PID", "CPU%", "RSS");
            let mut procs = c.processes()?;
            procs.sort_by(|a, b| b.cpu_percent.total_cmp(&a.cpu_percent));
            for p in procs {
                println!(
                    "{:>8} {:>6.1} {:>8.1}Mi  {}",
                    p.pid,
                    p.cpu_percent,
                    mib(p.memory),
                    p.name
                );
            }
        }
        for p in &mut load {
            let _ = p.kill(9);
        }
        Ok(())
    })();
    c.destroy()?;
    result
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("top: this example is for Linux");
    std::process::exit(1);
}
