//! The monitor gives back what start-up used once its container has run
//! a second (`monitor/trim.rs`): its RSS drops well below its peak (the
//! start-up code and heap), and it goes on doing its work afterwards:
//! logging late output, sampling stats, recording the exit.

mod common;

use std::time::{Duration, Instant};

use common::{monitors_of, Cv};

fn status_kb(pid: i32, field: &str) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/{pid}/status"))
}

#[test]
fn an_idle_monitor_holds_its_working_set_and_keeps_working() {
    let cv = Cv::new();
    let id = cv.run_d(&[
        "--name",
        "idle",
        "containerv/busybox",
        "sh",
        "-c",
        "echo early; sleep 3; echo late; exit 3",
    ]);
    let monitor = monitors_of(&id);
    assert_eq!(monitor.len(), 1, "{monitor:?}");
    let m = monitor[0];
    // Trimmed one second after the start; measured after two.
    std::thread::sleep(Duration::from_secs(2));
    let (rss, peak) = (status_kb(m, "VmRSS:"), status_kb(m, "VmHWM:"));
    assert!(
        rss * 2 < peak,
        "monitor {m}: VmRSS {rss} kB is not under half its peak {peak} kB"
    );

    // Still working: the late line is logged, the exit recorded.
    let end = Instant::now() + Duration::from_secs(20);
    while cv.inspect("idle", "{{.State.Status}}") != "exited" && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(cv.inspect("idle", "{{.State.ExitCode}}"), "3");
    assert_eq!(cv.ok(&["logs", "idle"]), "early\nlate\n");
    cv.ok(&["rm", "idle"]);
    cv.assert_gone(&id);
}
