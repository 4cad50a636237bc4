//! `cv login` / `cv logout` against a real registry (docker-registry on
//! 127.0.0.1 with basic auth): without credentials the pull is refused;
//! after `login` (password on stdin) it works, reading the very auth file
//! login wrote (docker's format, mode 0600); after `logout` it is refused
//! again. Bad input names what is missing.

#![cfg(target_os = "linux")]

mod common;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::process::{Output, Stdio};

use common::Cv;
use containerv_testutil::registry::{RegistryAuth, TestRegistry};
use containerv_testutil::temp_root;

#[test]
fn login_pull_logout() {
    let reg = TestRegistry::start(RegistryAuth::Basic("alice:s3cret".into()));
    reg.push_test_images("busybox");
    let cv = Cv::new();
    let images = temp_root();
    let auth = temp_root();
    let file = auth.path().join("auth.json");
    let run = |args: &[&str], stdin: Option<&str>| -> Output {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_cv"));
        c.arg("--root")
            .arg(cv.engine_root())
            .arg("--image-root")
            .arg(images.path())
            .args(args)
            .env("REGISTRY_AUTH_FILE", &file)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(s) = stdin {
            input.write_all(s.as_bytes()).unwrap();
        }
        drop(input);
        child.wait_with_output().unwrap()
    };
    let image = format!("{}/busybox:latest", reg.addr);
    let pull = ["pull", "-q", "--tls-verify=false", image.as_str()];
    assert!(
        !run(&pull, None).status.success(),
        "pulled without credentials"
    );

    let o = run(
        &["login", &reg.addr, "-u", "alice", "--password-stdin"],
        Some("s3cret\n"),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "Login Succeeded\n");
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let o = run(&pull, None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let o = run(&["logout", &reg.addr], None);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("Removing login credentials"));
    assert!(!run(&pull, None).status.success(), "pulled after logout");

    for (args, want) in [
        (vec!["login", reg.addr.as_str(), "-p", "x"], "-u"),
        (vec!["login", reg.addr.as_str(), "-u", "alice"], "password"),
    ] {
        let o = run(&args, None);
        assert!(!o.status.success());
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(want),
            "{args:?}"
        );
    }
}
