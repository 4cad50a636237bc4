//! Health checks on a real container: starting → unhealthy (a check that
//! fails `retries` times) → healthy (the same check once it passes),
//! shown by `ps` and `inspect` with the last results and their output;
//! a check that runs past its timeout counts as a failure.

mod common;

use std::time::Duration;

use common::Cv;

#[test]
fn starting_unhealthy_then_healthy() {
    let cv = Cv::new();
    cv.run_d(&[
        "--name",
        "hc",
        "--health-cmd",
        "cat /tmp/ok",
        "--health-interval",
        "200ms",
        "--health-retries",
        "2",
        "--health-timeout",
        "2s",
        "containerv/busybox",
        "sh",
        "-c",
        "sleep 1000",
    ]);
    assert_eq!(cv.inspect("hc", "{{.State.Health.Status}}"), "starting");
    assert!(cv.ok(&["ps"]).contains("(health: starting)"));
    cv.wait_for(
        "hc",
        "{{.State.Health.Status}}",
        "unhealthy",
        Duration::from_secs(5),
    );
    let doc: serde_json::Value = serde_json::from_str(&cv.ok(&["inspect", "hc"])).unwrap();
    let h = &doc[0]["State"]["Health"];
    assert!(h["FailingStreak"].as_u64().unwrap() >= 2);
    let last = h["Log"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["ExitCode"], 1);
    assert!(
        last["Output"].as_str().unwrap().contains("/tmp/ok"),
        "{last}"
    );
    assert!(cv.ok(&["ps"]).contains("(unhealthy)"));
    // Make the check pass.
    cv.ok(&["exec", "hc", "touch", "/tmp/ok"]);
    cv.wait_for(
        "hc",
        "{{.State.Health.Status}}",
        "healthy",
        Duration::from_secs(5),
    );
    assert_eq!(cv.inspect("hc", "{{.State.Health.FailingStreak}}"), "0");
    assert!(cv.ok(&["ps"]).contains("(healthy)"));
    assert!(cv.inspect("hc", "{{json .State.Health.Log}}").len() < 5 * 4096 + 2000);
}

#[test]
fn a_check_past_its_timeout_fails_and_the_start_period_shields() {
    let cv = Cv::new();
    cv.run_d(&[
        "--name",
        "slow",
        "--health-cmd",
        "sleep 5",
        "--health-interval",
        "100ms",
        "--health-timeout",
        "200ms",
        "--health-retries",
        "1",
        "containerv/busybox",
        "sleep",
        "1000",
    ]);
    cv.wait_for(
        "slow",
        "{{.State.Health.Status}}",
        "unhealthy",
        Duration::from_secs(5),
    );
    let out = cv.inspect("slow", "{{json .State.Health.Log}}");
    assert!(out.contains("exceeded timeout"), "{out}");
    // With a start period, failures inside it do not count.
    cv.run_d(&[
        "--name",
        "grace",
        "--health-cmd",
        "false",
        "--health-interval",
        "100ms",
        "--health-retries",
        "1",
        "--health-start-period",
        "30s",
        "containerv/busybox",
        "sleep",
        "1000",
    ]);
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(cv.inspect("grace", "{{.State.Health.Status}}"), "starting");
    assert_eq!(cv.inspect("grace", "{{.State.Health.FailingStreak}}"), "0");
}
