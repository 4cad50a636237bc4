//! Runs a command in a Windows container with memory, CPU and process
//! limits and prints its stats and processes every second until it ends.
//!
//! ```text
//! cargo run -p containerv --example windows_limits -- [--memory 256M]
//!     [--cpu-percent 50] [--processes 8] -- cmd.exe /c "dir /s C:\Windows"
//! ```
//!
//! (Under Wine 8 the CPU cap is refused: leave out `--cpu-percent` there.)

#[cfg(windows)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    use containerv::{ContainerOptions, ProcessOptions, Runtime};
    use std::time::Duration;

    let mut args = std::env::args().skip(1);
    let mut opts = ContainerOptions::new();
    let mut command = Vec::new();
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--memory" => opts = opts.memory(&value()?),
            "--process-memory" => opts = opts.process_memory(&value()?),
            "--cpu-percent" => opts = opts.cpu_percent(value()?.parse()?),
            "--processes" => opts = opts.active_processes(value()?.parse()?),
            "--" => {
                command.extend(args.by_ref());
                break;
            }
            _ => command.push(a),
        }
    }
    if command.is_empty() {
        command = ["cmd.exe", "/d", "/c", "echo hello from a job object"]
            .map(String::from)
            .to_vec();
    }
    let root = std::env::temp_dir().join("containerv-example");
    let rt = Runtime::new(&root)?;
    let id = format!("limits-{}", std::process::id());
    let c = rt.create(&id, &opts)?;
    let mut p = c.spawn(ProcessOptions::new(command))?;
    println!(
        "{:>8} {:>12} {:>12} {:>10} {:>6} {:>6}",
        "t", "memory", "peak", "cpu%", "procs", "total"
    );
    let mut t = 0u64;
    let status = loop {
        let s = c.stats()?;
        println!(
            "{:>7}s {:>12} {:>12} {:>10.1} {:>6} {:>6}",
            t, s.memory_usage, s.memory_peak, s.cpu_percent, s.active_processes, s.total_processes
        );
        for pi in c.processes()? {
            println!(
                "         pid {:>6} {:<24} ws {:>12} cpu {:>6.1}%",
                pi.pid, pi.name, pi.memory, pi.cpu_percent
            );
        }
        if let Some(st) = p.try_wait()? {
            break st;
        }
        std::thread::sleep(Duration::from_secs(1));
        t += 1;
    };
    let s = c.stats()?;
    println!(
        "{status}; cpu time {} ms, read {} B, written {} B",
        s.cpu_time_ns / 1_000_000,
        s.read_bytes,
        s.write_bytes
    );
    c.destroy()?;
    std::process::exit(status.code());
}

#[cfg(not(windows))]
fn main() {
    eprintln!("windows_limits runs on Windows only (see examples/ for Linux ones)");
    std::process::exit(2);
}
