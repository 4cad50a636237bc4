//! docker's exit codes for `cv run` (125 cv's own failure, 126 the command
//! cannot be invoked, 127 not found, else the container's) and `--pull`
//! (missing, always, never) against a real registry on 127.0.0.1. Nothing
//! is left behind by the failed runs.

mod common;

use common::Cv;
use containerv_testutil::registry::{RegistryAuth, TestRegistry};

fn code(cv: &Cv, args: &[&str]) -> (Option<i32>, String) {
    let o = cv.run(args);
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn run_exit_codes_as_docker() {
    let cv = Cv::new();
    let bb = "containerv/busybox";
    for (args, want) in [
        (vec!["run", "--rm", bb, "sh", "-c", "exit 3"], 3),
        (vec!["run", "--rm", bb, "nosuch-command"], 127),
        (vec!["run", "--rm", bb, "/bin/nosuch"], 127),
        (vec!["run", "--rm", bb, "/etc/passwd"], 126),
        (vec!["run", "--rm", bb, "/etc"], 126),
        (vec!["run", "-d", "--rm", bb, "nosuch-command"], 127),
        // docker's create does not look for the command.
        (vec!["create", bb, "nosuch-command"], 0),
        (vec!["run", "--rm", "--bogus-flag", bb, "true"], 125),
        (
            vec!["run", "--rm", "--pull", "never", "nosuch/image:1", "true"],
            125,
        ),
        (vec!["run", "--rm", "--pull", "sometimes", bb, "true"], 125),
    ] {
        let (got, err) = code(&cv, &args);
        assert_eq!(got, Some(want), "cv {args:?}: {err}");
    }
    // `create` of a missing command fails only at start (as docker); the
    // container it made is the only one left.
    let left = cv.ok(&["ps", "-a", "-q"]);
    assert_eq!(left.lines().count(), 1, "{left}");
    cv.ok(&["rm", "-f", left.trim()]);
    let (got, err) = code(&cv, &["ps", "--no-such-flag"]);
    assert_eq!(got, Some(125), "{err}");
    let (got, _) = code(&cv, &["rm", "no-such-container"]);
    assert_eq!(got, Some(1));
}

#[test]
fn run_pulls_a_missing_image() {
    let cv = Cv::new();
    let reg = TestRegistry::start(RegistryAuth::Anonymous);
    reg.push_test_images("busybox");
    let image = format!("{}/busybox:latest", reg.addr);
    // never: not in the store, not pulled.
    let (got, err) = code(&cv, &["run", "--rm", "--pull", "never", &image, "true"]);
    assert_eq!(got, Some(125), "{err}");
    assert!(!err.contains("Unable to find image"), "{err}");
    // missing (the default): pulled with docker's words on stderr, then run.
    // The test image's entrypoint is /bin/sh.
    let o = cv.run(&["run", "--rm", &image, "-c", "echo hi"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "hi");
    assert!(
        err.contains(&format!("Unable to find image '{image}' locally")),
        "{err}"
    );
    // Now present: no pull.
    let o = cv.run(&["run", "--rm", &image, "-c", "true"]);
    assert!(o.status.success());
    assert!(!String::from_utf8_lossy(&o.stderr).contains("Unable to find"));
    // always: pulls again (the registry answers), then runs.
    let o = cv.run(&["create", "--pull", "always", &image, "-c", "true"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("Status: Downloaded image"), "{err}");
    cv.ok(&["rm", "-f", String::from_utf8_lossy(&o.stdout).trim()]);
    // A missing tag in a live registry: 125, nothing created.
    let (got, err) = code(
        &cv,
        &["run", "--rm", &format!("{}/busybox:absent", reg.addr)],
    );
    assert_eq!(got, Some(125), "{err}");
    assert_eq!(cv.ok(&["ps", "-a", "-q"]).trim(), "");
}
