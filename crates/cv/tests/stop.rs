//! Stopping: the stop signal, then SIGKILL once the timeout passes;
//! --stop-signal/--stop-timeout; a monitor killed with SIGKILL mid-run
//! (`ps` still tells the truth, stop/rm still clean up); two `cv`
//! processes racing on one container.

mod common;

use std::time::{Duration, Instant};

use common::{monitors_of, Cv};

#[test]
fn stop_escalates_to_sigkill_after_the_timeout() {
    let cv = Cv::new();
    // TERM is ignored (trap ''), so only the SIGKILL ends it.
    cv.run_d(&[
        "--name",
        "stubborn",
        "containerv/busybox",
        "sh",
        "-c",
        "trap '' TERM; while true; do sleep 0.1; done",
    ]);
    let t = Instant::now();
    cv.ok(&["stop", "-t", "1", "stubborn"]);
    let took = t.elapsed();
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(4),
        "{took:?}"
    );
    assert_eq!(cv.inspect("stubborn", "{{.State.ExitCode}}"), "137");
    // --stop-timeout and --stop-signal from run.
    cv.run_d(&[
        "--name",
        "usr1",
        "--stop-signal",
        "USR1",
        "--stop-timeout",
        "5",
        "containerv/busybox",
        "sh",
        "-c",
        "trap 'exit 42' USR1; while true; do sleep 0.1; done",
    ]);
    let t = Instant::now();
    cv.ok(&["stop", "usr1"]);
    assert!(t.elapsed() < Duration::from_secs(3));
    assert_eq!(cv.inspect("usr1", "{{.State.ExitCode}}"), "42");
    assert_eq!(cv.inspect("usr1", "{{.Config.StopSignal}}"), "SIGUSR1");
    // Stopping a stopped container is fine.
    cv.ok(&["stop", "usr1"]);
}

#[test]
fn a_killed_monitor_leaves_the_truth_and_nothing_behind() {
    let cv = Cv::new();
    let id = cv.run_d(&["--name", "orphan", "containerv/busybox", "sleep", "1000"]);
    let monitor: i32 = cv
        .inspect("orphan", "{{.State.MonitorPid}}")
        .parse()
        .unwrap();
    assert_eq!(monitors_of(&id), vec![monitor]);
    // SAFETY: kill(2) of the monitor we just found by its command line.
    // SAFETY: kill(2) of the monitor pid this test read from inspect.
    unsafe { libc::kill(monitor, libc::SIGKILL) };
    std::thread::sleep(Duration::from_millis(200));
    // The container itself still runs: ps says so.
    assert_eq!(cv.inspect("orphan", "{{.State.Status}}"), "running");
    assert!(cv.ok(&["ps"]).contains("orphan"));
    cv.ok(&["exec", "orphan", "true"]);
    // stop still works and records an exit whose code is unknown.
    cv.ok(&["stop", "-t", "0", "orphan"]);
    assert_eq!(cv.inspect("orphan", "{{.State.Status}}"), "exited");
    assert!(cv
        .inspect("orphan", "{{.State.Error}}")
        .contains("monitor died"));
    cv.ok(&["rm", "orphan"]);
    cv.assert_gone(&id);

    // Killed monitor, then the container ends by itself: ps says exited.
    let id = cv.run_d(&["--name", "orphan2", "containerv/busybox", "sleep", "0.5"]);
    let monitor: i32 = cv
        .inspect("orphan2", "{{.State.MonitorPid}}")
        .parse()
        .unwrap();
    // SAFETY: kill(2) of the monitor pid this test read from inspect.
    unsafe { libc::kill(monitor, libc::SIGKILL) };
    cv.wait_for(
        "orphan2",
        "{{.State.Status}}",
        "exited",
        Duration::from_secs(5),
    );
    // start again: the leftover core container is cleaned up first.
    cv.ok(&["start", "orphan2"]);
    cv.ok(&["rm", "-f", "orphan2"]);
    cv.assert_gone(&id);
}

#[test]
fn racing_cv_processes_keep_one_consistent_container() {
    let cv = Cv::new();
    let id = cv
        .ok(&[
            "create",
            "--name",
            "race",
            "containerv/busybox",
            "sleep",
            "1000",
        ])
        .trim()
        .to_string();
    // Four concurrent starts: exactly one monitor, one running container.
    let kids: Vec<_> = (0..4)
        .map(|_| cv.cmd(&["start", "race"]).spawn().unwrap())
        .collect();
    for mut k in kids {
        k.wait().unwrap();
    }
    assert_eq!(cv.inspect("race", "{{.State.Status}}"), "running");
    assert_eq!(monitors_of(&id).len(), 1, "{:?}", monitors_of(&id));
    // Concurrent pause/stop/inspect/update: the record stays parseable
    // and ends exited.
    let kids: Vec<_> = [
        vec!["stop", "-t", "0", "race"],
        vec!["stop", "-t", "0", "race"],
        vec!["update", "--pids-limit", "50", "race"],
        vec!["inspect", "race"],
        vec!["ps", "-a"],
    ]
    .iter()
    .map(|a| {
        cv.cmd(a)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    })
    .collect();
    for mut k in kids {
        k.wait().unwrap();
    }
    assert_eq!(cv.inspect("race", "{{.State.Status}}"), "exited");
    // Racing rm -f with start: whatever wins, nothing is left after rm.
    let a = cv
        .cmd(&["start", "race"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let b = cv.cmd(&["rm", "-f", "race"]).spawn().unwrap();
    for mut k in [a, b] {
        k.wait().unwrap();
    }
    let _ = cv.run(&["rm", "-f", "race"]);
    cv.assert_gone(&id);
    // Racing runs with one name: exactly one wins.
    let kids: Vec<_> = (0..4)
        .map(|_| {
            cv.cmd(&[
                "run",
                "-d",
                "--name",
                "one",
                "containerv/busybox",
                "sleep",
                "100",
            ])
            .output()
        })
        .collect();
    let wins = kids
        .into_iter()
        .filter(|o| o.as_ref().unwrap().status.success())
        .count();
    assert_eq!(wins, 1);
}
