//! The session keyring: a host user's secrets in the session keyring of
//! the process that runs the runtime (a login session's keys) must not be
//! reachable from the container. The container's processes, init and
//! exec, join a new session keyring `_ses.<id>` (runc's), unless
//! `--no-new-keyring`. A static attacker searches its session keyring for
//! the key and reads it.
#![cfg(target_os = "linux")]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

use common::*;
use containerv_testutil::attack::{build_static, secret_in_session_keyring, KEYRING_C};
use containerv_testutil::{assert_no_leftovers, temp_root};

/// `bin() --root ROOT ARGS` started in a session keyring holding the key
/// `desc`; its stdout.
fn run_with_secret(root: &std::path::Path, desc: &str, args: &[&str]) -> String {
    let mut cmd = Command::new(bin());
    cmd.arg("--root")
        .arg(root)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    secret_in_session_keyring(&mut cmd, desc, "s3cret-host-value");
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn containers_do_not_share_the_callers_session_keyring() {
    let host_tmp = temp_root();
    std::fs::set_permissions(host_tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    build_static(KEYRING_C, &host_tmp.path().join("keys"));
    let desc = format!("cvtest-secret-{}", std::process::id());
    let b = Bundle::new(&["/tmp/keys", &desc]);
    b.edit(|c| {
        c["mounts"].as_array_mut().unwrap().push(serde_json::json!({
            "destination": "/tmp",
            "type": "bind",
            "source": host_tmp.path(),
            "options": ["rbind", "ro"],
        }));
    });
    let bundle = b.dir.path().to_str().unwrap().to_string();
    let root = b.root.path();

    // runc's default: a new keyring for the init.
    let id1 = id("keyring-run");
    let run = run_with_secret(root, &desc, &["run", "--bundle", &bundle, &id1]);
    assert_no_leftovers(root, &id1);
    // --no-new-keyring: the caller's, secret included (the attack is real).
    let id2 = id("keyring-shared");
    let shared = run_with_secret(
        root,
        &desc,
        &["run", "--no-new-keyring", "--bundle", &bundle, &id2],
    );
    assert_no_leftovers(root, &id2);
    // exec into a running container: the container's keyring, not ours.
    b.edit(|c| c["process"]["args"] = serde_json::json!(["sleep", "1000"]));
    let id3 = id("keyring-exec");
    b.create(&id3);
    b.ok(&["start", &id3]);
    let exec = run_with_secret(root, &desc, &["exec", &id3, "/tmp/keys", &desc]);
    b.delete(&id3, true);

    assert!(
        run.contains(&format!("_ses.{id1}")) && !run.contains("s3cret"),
        "{run:?}"
    );
    assert!(
        run.contains("search: Required key not available"),
        "{run:?}"
    );
    assert!(shared.contains("secret: s3cret-host-value"), "{shared:?}");
    assert!(
        exec.contains(&format!("_ses.{id3}")) && !exec.contains("s3cret"),
        "{exec:?}"
    );
}
