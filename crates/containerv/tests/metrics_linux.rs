//! The library's monitoring API on Linux, as a library user calls it (no
//! engine): `containerv::metrics::render` over a real container's
//! `stats()` gives cAdvisor's names with the kernel's figures (a burner's
//! CPU seconds within 0.1 s of the cgroup's count, the memory limit, the
//! processes) that Prometheus' own `promtool check metrics` accepts, and
//! `containerv::history` keeps its samples and returns the series.
#![cfg(target_os = "linux")]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use containerv::history::{read, HistoryWriter};
use containerv::metrics::{render, MetricsTarget};
use containerv::{ContainerOptions, ProcessOptions, Runtime};
use containerv_testutil::{
    assert_no_leftovers, busybox_rootfs, require_root, temp_root, unique_id,
};

/// The container's CPU seconds as the kernel counts them (cgroup v2's
/// `cpu.stat`, or v1's `cpuacct.usage`).
fn kernel_cpu_s(id: &str) -> f64 {
    let dirs: Vec<PathBuf> = containerv_testutil::cgroups_named(id);
    if let Some(d) = dirs.iter().find(|d| d.join("cpuacct.usage").exists()) {
        let t = std::fs::read_to_string(d.join("cpuacct.usage")).unwrap();
        return t.trim().parse::<f64>().unwrap() / 1e9;
    }
    let d = dirs
        .iter()
        .find(|d| d.join("cpu.stat").exists() && d.join("cgroup.controllers").exists())
        .unwrap_or_else(|| panic!("no cgroup of {id}: {dirs:?}"));
    let t = std::fs::read_to_string(d.join("cpu.stat")).unwrap();
    t.lines()
        .find_map(|l| l.strip_prefix("usage_usec ")?.parse::<f64>().ok())
        .unwrap()
        / 1e6
}

fn value(text: &str, metric: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(&format!("{metric}{{")) && l.contains("name=\"lib\""))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {metric} in\n{text}"))
}

#[test]
fn render_and_history_of_a_real_container() {
    require_root();
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("libmetrics");
    let c = rt
        .create(
            &id,
            &ContainerOptions::new()
                .rootfs(busybox_rootfs())
                .memory("64M"),
        )
        .unwrap();
    let ring = root.path().join("stats.ring");
    let mut w = HistoryWriter::open(&ring, 16).unwrap();
    w.append(&c.stats().unwrap()).unwrap();

    // Burn until the kernel counts 1 s of CPU, then stop the burner.
    let k0 = kernel_cpu_s(&id);
    let mut burner = c
        .spawn(ProcessOptions::new([
            "/bin/sh",
            "-c",
            "while :; do :; done",
        ]))
        .unwrap();
    let end = Instant::now() + Duration::from_secs(90);
    while kernel_cpu_s(&id) - k0 < 1.0 {
        assert!(Instant::now() < end, "the burner got no 1 s of CPU in 90 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    let during = c.stats().unwrap();
    burner.kill(libc::SIGKILL).unwrap();
    burner.wait().unwrap();
    let s = c.stats().unwrap();
    let kernel = kernel_cpu_s(&id);
    w.append(&during).unwrap();
    w.append(&s).unwrap();

    // One call renders a set of containers.
    let text = render(&[
        MetricsTarget::new(&id, "lib", "busybox", s.clone()),
        MetricsTarget::new("other", "other", "", Default::default()),
    ]);
    let cpu = value(&text, "container_cpu_usage_seconds_total");
    assert!(cpu >= 1.0, "{cpu}");
    assert!(
        (cpu - kernel).abs() < 0.1,
        "metric {cpu} s, kernel {kernel} s"
    );
    assert_eq!(
        value(&text, "container_spec_memory_limit_bytes"),
        64.0 * 1048576.0
    );
    assert_eq!(value(&text, "container_processes"), 1.0);
    assert!(value(&text, "container_memory_usage_bytes") > 0.0);
    assert!(text.contains(&format!("id=\"{id}\"")) && text.contains("name=\"other\""));
    assert!(text.contains("# TYPE container_cpu_usage_seconds_total counter"));

    // Prometheus' own parser and linter.
    assert!(
        containerv_testutil::peer::have("promtool"),
        "promtool missing: scripts/install-deps installs Debian's prometheus"
    );
    let p = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .output_with_stdin(text.as_bytes());
    assert!(
        p.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&p.stdout),
        String::from_utf8_lossy(&p.stderr)
    );

    // The series: the samples in order, the CPU growing as it did.
    let h = read(&ring, None).unwrap();
    assert_eq!(h.len(), 3);
    assert!(h.windows(2).all(|x| x[0].timestamp_ns < x[1].timestamp_ns));
    assert!(h[2].cpu_time_ns as f64 / 1e9 - h[0].cpu_time_ns as f64 / 1e9 >= 1.0);
    assert_eq!(h[2].cpu_time_ns, s.cpu_time_ns);
    assert_eq!(h[2].memory_limit, Some(64 << 20));

    c.destroy().unwrap();
    assert_no_leftovers(root.path(), &id);
}

/// `Command::output` with bytes on stdin.
trait OutputWithStdin {
    fn output_with_stdin(&mut self, input: &[u8]) -> std::process::Output;
}

impl OutputWithStdin for std::process::Command {
    fn output_with_stdin(&mut self, input: &[u8]) -> std::process::Output {
        use std::io::Write;
        let mut child = self
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        child.wait_with_output().unwrap()
    }
}
