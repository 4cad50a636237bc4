//! Values docker refuses at `create` that used to fail only at start (or
//! never): `--memory` below 6 MB (also in `update`), `--log-opt
//! max-size=0`, `--cpuset-cpus` naming a CPU this host lacks, and an
//! environment value with a NUL byte (from `--env-file`). Each is a
//! clear error naming the flag, and nothing is created. Also: `stats
//! --no-stream` samples once (no one-second wait).

mod common;
mod faults_common;

use std::time::{Duration, Instant};

use common::Cv;
use faults_common::assert_nothing_left;

#[test]
fn bad_values_are_refused_at_create_and_leave_nothing() {
    let cv = Cv::new();
    let env_file = cv.root.path().join("nul.env");
    std::fs::write(&env_file, b"GOOD=1\nBAD=a\0b\n").unwrap();
    let env_file = env_file.to_str().unwrap().to_string();
    let cases: &[(&[&str], &str)] = &[
        (&["--memory", "1"], "Minimum memory limit allowed is 6MB"),
        (&["-m", "4m"], "Minimum memory limit allowed is 6MB"),
        (
            &["--log-opt", "max-size=0"],
            "max-size must be a positive number",
        ),
        (&["--cpuset-cpus", "99"], "Requested CPUs are not available"),
        (&["--env-file", &env_file], "NUL"),
    ];
    for (flags, needle) in cases {
        for verb in ["create", "run"] {
            let mut a = vec![verb];
            if verb == "run" {
                a.push("-d");
            }
            a.extend_from_slice(flags);
            a.extend_from_slice(&["containerv/busybox", "true"]);
            let o = cv.run(&a);
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(!o.status.success(), "{a:?} succeeded");
            assert!(err.contains(needle), "{a:?}: {err}");
            assert!(cv.ids().is_empty(), "{a:?} left {:?}", cv.ids());
        }
    }
    // update refuses the same minimum, and the container keeps its limit.
    let id = cv.run_d(&[
        "--name",
        "upd",
        "-m",
        "64m",
        "containerv/busybox",
        "sleep",
        "60",
    ]);
    let err = cv.fails(&["update", "--memory", "1m", "upd"]);
    assert!(err.contains("Minimum memory limit allowed is 6MB"), "{err}");
    cv.ok(&["update", "--memory", "32m", "upd"]);
    cv.ok(&["rm", "-f", "upd"]);
    assert_nothing_left(&cv, &[id]);
}

#[test]
fn stats_no_stream_samples_once() {
    let cv = Cv::new();
    let ids: Vec<String> = (0..5)
        .map(|i| {
            cv.run_d(&[
                "--name",
                &format!("st{i}"),
                "containerv/busybox",
                "sleep",
                "60",
            ])
        })
        .collect();
    let t0 = Instant::now();
    let out = cv.ok(&["stats", "--no-stream", "--format", "{{.Name}} {{.CPUPerc}}"]);
    let took = t0.elapsed();
    assert_eq!(out.lines().count(), 5, "{out}");
    for l in out.lines() {
        let pct = l.split(' ').nth(1).unwrap();
        assert!(pct.ends_with('%'), "{l}");
    }
    // It used to wait a whole second for CPU deltas.
    assert!(took < Duration::from_millis(900), "{took:?}");
    let mut rm = vec!["rm", "-f"];
    rm.extend(ids.iter().map(String::as_str));
    cv.ok(&rm);
    assert_nothing_left(&cv, &ids);
}
