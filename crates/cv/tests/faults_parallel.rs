//! `stop`, `kill`, `rm -f` and `restart` of many containers work in
//! parallel: 10 containers that ignore SIGTERM (a pid-1 `sleep` has no
//! handler) stop in about one `-t` timeout, not ten (well under two).

mod common;
mod faults_common;

use std::time::{Duration, Instant};

use common::Cv;
use faults_common::assert_nothing_left;

#[test]
fn ten_containers_stop_restart_and_go_in_one_timeout() {
    let cv = Cv::new();
    let names: Vec<String> = (0..10).map(|i| format!("par{i}")).collect();
    let ids: Vec<String> = names
        .iter()
        .map(|n| cv.run_d(&["--name", n, "containerv/busybox", "sleep", "300"]))
        .collect();
    let mut args = vec!["stop", "-t", "3"];
    args.extend(names.iter().map(String::as_str));
    let t0 = Instant::now();
    let out = cv.ok(&args);
    let took = t0.elapsed();
    // One after another: 30 s. Together: one timeout plus the kills.
    assert!(took >= Duration::from_secs(3), "{took:?}");
    assert!(
        took < Duration::from_millis(5500),
        "10 stops with -t 3 took {took:?}"
    );
    // Output in argument order.
    assert_eq!(out.lines().collect::<Vec<_>>(), names);
    for n in &names {
        assert_eq!(cv.inspect(n, "{{.State.Status}}"), "exited");
    }

    args[0] = "restart";
    let t0 = Instant::now();
    cv.ok(&args);
    // Ten stopped containers: ten starts at once (loose bound: the point
    // is that no restart waits for another's stop timeout).
    assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
    for n in &names {
        assert_eq!(cv.inspect(n, "{{.State.Status}}"), "running");
    }

    let mut rm = vec!["rm", "-f"];
    rm.extend(names.iter().map(String::as_str));
    rm.push("no-such-container");
    let t0 = Instant::now();
    let err = cv.fails(&rm);
    assert!(t0.elapsed() < Duration::from_secs(6), "{:?}", t0.elapsed());
    assert!(err.contains("no-such-container"), "{err}");
    assert_nothing_left(&cv, &ids);
}
