//! The session keyring through the engine: `cv run` and `cv exec` started
//! from a session keyring holding a host secret; a static attacker in the
//! container searches its session keyring for it. The container's
//! processes join `_ses.<id>` of their own (the core library does it for
//! every container unless `no_new_keyring`). Seccomp is off here so the
//! keyring itself is what is tested (docker's default profile refuses
//! keyctl anyway).
#![cfg(target_os = "linux")]

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{path_str, Cv};
use containerv_testutil::attack::{build_static, secret_in_session_keyring, KEYRING_C};
use containerv_testutil::temp_root;

const IMG: &str = "containerv/busybox";

#[test]
fn cv_containers_do_not_share_the_callers_session_keyring() {
    let cv = Cv::new();
    let host_tmp = temp_root();
    std::fs::set_permissions(host_tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    build_static(KEYRING_C, &host_tmp.path().join("keys"));
    let desc = format!("cvtest-secret-{}", std::process::id());
    let tmp = format!("{}:/tmp:ro", path_str(host_tmp.path()));
    let unconfined = ["--security-opt", "seccomp=unconfined"];
    let with_secret = |args: &[&str]| {
        let mut cmd = cv.cmd(args);
        secret_in_session_keyring(&mut cmd, &desc, "s3cret-host-value");
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let mut run_args = vec!["run", "--rm"];
    run_args.extend(unconfined);
    run_args.extend(["-v", &tmp, IMG, "/tmp/keys", &desc]);
    let run = with_secret(&run_args);
    let mut d = vec!["-v", &tmp];
    d.extend(unconfined);
    d.extend([IMG, "sleep", "1000"]);
    let id = cv.run_d(&d);
    let exec = with_secret(&["exec", &id, "/tmp/keys", &desc]);
    cv.ok(&["rm", "-f", &id]);
    cv.assert_gone(&id);

    assert!(
        run.contains("session: keyring") && run.contains("_ses.") && !run.contains("s3cret"),
        "{run:?}"
    );
    assert!(
        run.contains("search: Required key not available"),
        "{run:?}"
    );
    assert!(
        exec.contains(&format!("_ses.{id}")) && !exec.contains("s3cret"),
        "{exec:?}"
    );
}
