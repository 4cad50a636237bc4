//! Bad flags and values: a clear error that names what was wrong, and
//! nothing left behind (no record, core state, cgroup, mount, process).

mod common;

use common::Cv;

#[test]
fn bad_values_are_refused_by_name_and_leave_nothing() {
    let cv = Cv::new();
    let cases: &[(&[&str], &str)] = &[
        (&["--memory", "lots"], "memory"),
        (&["--cpus", "-2"], "cpus"),
        (&["--pids-limit", "0"], "--pids-limit"),
        (&["--cpu-shares", "1"], "--cpu-shares"),
        (&["--cpuset-cpus", "x-y"], "cpuset"),
        (&["--memory-swap", "8m", "--memory", "16m"], "swap"),
        (&["--restart", "sometimes"], "--restart"),
        (&["--restart", "always", "--rm"], "--rm"),
        (&["--network", "bridge9"], "--network"),
        (&["-v", "./relative:/x"], "-v"),
        (
            &["--mount", "type=bind,src=/nonexistent-cv-path,dst=/x"],
            "--mount",
        ),
        (&["--tmpfs", "/t:bogus"], "--tmpfs"),
        (&["--health-interval", "1s"], "--health-cmd"),
        (
            &["--health-cmd", "true", "--health-interval", "soon"],
            "--health-interval",
        ),
        (
            &["--health-cmd", "true", "--health-retries", "-1"],
            "--health-retries",
        ),
        (&["--log-driver", "gelf"], "--log-driver"),
        (&["--log-opt", "max-size=big"], "max-size"),
        (&["--log-opt", "max-file=3"], "max-file"),
        (&["--stop-signal", "SIGNOPE"], "--stop-signal"),
        (&["--stop-timeout", "-5"], "--stop-timeout"),
        (&["--name", "bad name"], "--name"),
        (&["-w", "relative"], "-w"),
        (&["-h", "bad_host!"], "-h"),
        (&["-e", "=v"], "-e"),
        (&["--env-file", "/nonexistent-cv-env"], "--env-file"),
    ];
    for (flags, needle) in cases {
        let mut a = vec!["run", "-d"];
        a.extend_from_slice(flags);
        a.extend_from_slice(&["containerv/busybox", "true"]);
        let err = cv.fails(&a);
        assert!(err.contains(needle), "{flags:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    // Unknown image, unknown flag, missing command.
    // (--pull never: docker would look for it on Docker Hub; tests stay
    // on 127.0.0.1, see exit_codes.rs for the pull.)
    assert!(cv
        .fails(&["run", "--pull", "never", "no-such-image:1"])
        .contains("no-such-image"));
    assert!(cv
        .fails(&["run", "--bogus-flag", "containerv/busybox"])
        .contains("--bogus-flag"));
    assert!(cv
        .fails(&["create", "--entrypoint", "", "containerv/busybox"])
        .contains("COMMAND"));
    assert!(cv.ids().is_empty(), "left {:?}", cv.ids());
    let runtime = cv.engine_root().join("runtime");
    assert_eq!(std::fs::read_dir(&runtime).unwrap().count(), 0);
}

#[test]
fn a_command_that_cannot_start_is_reported_and_rm_leaves_nothing() {
    let cv = Cv::new();
    let err = cv.fails(&["run", "--rm", "containerv/busybox", "/no/such/program"]);
    assert!(
        err.contains("/no/such/program") || err.contains("No such file"),
        "{err}"
    );
    assert!(cv.ids().is_empty(), "left {:?}", cv.ids());
    // Without --rm the record stays, exited, with the reason.
    let err = cv.fails(&[
        "run",
        "-d",
        "--name",
        "nf",
        "containerv/busybox",
        "/no/such/program",
    ]);
    assert!(err.contains("could not start"), "{err}");
    assert_eq!(cv.inspect("nf", "{{.State.Status}}"), "exited");
    assert!(!cv.inspect("nf", "{{.State.Error}}").is_empty());
    let id = cv.inspect("nf", "{{.Id}}");
    cv.ok(&["rm", "nf"]);
    cv.assert_gone(&id);
    // Commands on containers that do not exist.
    for c in [
        "start", "stop", "kill", "rm", "logs", "top", "pause", "wait", "inspect",
    ] {
        let err = cv.fails(&[c, "nosuch"]);
        assert!(err.contains("no such container: nosuch"), "{c}: {err}");
    }
    assert!(cv.fails(&["exec", "nosuch", "true"]).contains("nosuch"));
    assert!(cv.fails(&["cp", "a", "b"]).contains("CONTAINER:PATH"));
    assert!(cv.fails(&["update", "nosuch"]).contains("at least one"));
}
