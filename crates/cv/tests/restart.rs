//! Restart policies on real containers with docker's backoff (100 ms
//! doubling): `no`, `on-failure[:max]`, `always`, `unless-stopped`; a
//! manual stop ends restarting.

mod common;

use std::time::{Duration, Instant};

use common::Cv;

/// The start times a container logged (one `date` line per run), seconds.
fn run_times(cv: &Cv, name: &str) -> Vec<f64> {
    cv.ok(&["logs", name])
        .lines()
        .filter_map(|l| l.trim().parse::<f64>().ok())
        .collect()
}

const STAMP: &str = "cat /proc/uptime | cut -d' ' -f1";

#[test]
fn on_failure_with_max_backs_off_and_stops_at_max() {
    let cv = Cv::new();
    let script = format!("{STAMP}; exit 3");
    cv.run_d(&[
        "--name",
        "of",
        "--restart",
        "on-failure:4",
        "containerv/busybox",
        "sh",
        "-c",
        &script,
    ]);
    cv.wait_for(
        "of",
        "{{.State.Status}} {{.RestartCount}}",
        "exited 4",
        Duration::from_secs(10),
    );
    assert_eq!(cv.inspect("of", "{{.State.ExitCode}}"), "3");
    let t = run_times(&cv, "of");
    assert_eq!(t.len(), 5, "{t:?}");
    // Gaps grow: 0.1, 0.2, 0.4, 0.8 s (plus the start cost of each run).
    let gaps: Vec<f64> = t.windows(2).map(|w| w[1] - w[0]).collect();
    for (g, want) in gaps.iter().zip([0.1, 0.2, 0.4, 0.8]) {
        assert!(*g >= want - 0.02 && *g < want + 0.6, "gaps {gaps:?}");
    }
    assert!(gaps[3] > gaps[0] + 0.4, "no backoff: {gaps:?}");
    // A zero exit is not a failure.
    cv.run_d(&[
        "--name",
        "ok",
        "--restart",
        "on-failure",
        "containerv/busybox",
        "true",
    ]);
    cv.wait_for("ok", "{{.State.Status}}", "exited", Duration::from_secs(5));
    assert_eq!(cv.inspect("ok", "{{.RestartCount}}"), "0");
}

#[test]
fn always_and_unless_stopped_restart_until_stopped_no_does_not() {
    let cv = Cv::new();
    let script = format!("{STAMP}; sleep 0.1");
    cv.run_d(&[
        "--name",
        "al",
        "--restart",
        "always",
        "containerv/busybox",
        "sh",
        "-c",
        &script,
    ]);
    cv.run_d(&[
        "--name",
        "us",
        "--restart",
        "unless-stopped",
        "containerv/busybox",
        "sh",
        "-c",
        &script,
    ]);
    cv.run_d(&[
        "--name",
        "no",
        "--restart",
        "no",
        "containerv/busybox",
        "sh",
        "-c",
        &script,
    ]);
    let end = Instant::now() + Duration::from_secs(10);
    while cv
        .inspect("al", "{{.RestartCount}}")
        .parse::<u32>()
        .unwrap()
        < 3
        || cv
            .inspect("us", "{{.RestartCount}}")
            .parse::<u32>()
            .unwrap()
            < 3
    {
        assert!(Instant::now() < end, "not restarting");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(cv.inspect("no", "{{.RestartCount}}"), "0");
    assert_eq!(cv.inspect("no", "{{.State.Status}}"), "exited");
    for n in ["al", "us"] {
        cv.ok(&["stop", "-t", "1", n]);
        assert_eq!(cv.inspect(n, "{{.State.Status}}"), "exited");
        let count = cv.inspect(n, "{{.RestartCount}}");
        std::thread::sleep(Duration::from_millis(600));
        assert_eq!(
            cv.inspect(n, "{{.RestartCount}}"),
            count,
            "{n} restarted after stop"
        );
        assert_eq!(cv.inspect(n, "{{.State.Status}}"), "exited");
    }
    // The policy is back on after a start.
    cv.ok(&["start", "al"]);
    let c0: u32 = cv.inspect("al", "{{.RestartCount}}").parse().unwrap();
    let end = Instant::now() + Duration::from_secs(10);
    while cv
        .inspect("al", "{{.RestartCount}}")
        .parse::<u32>()
        .unwrap()
        <= c0
    {
        assert!(Instant::now() < end);
        std::thread::sleep(Duration::from_millis(50));
    }
    cv.ok(&["rm", "-f", "al"]);
    assert!(cv.fails(&["inspect", "al"]).contains("al"));
}
