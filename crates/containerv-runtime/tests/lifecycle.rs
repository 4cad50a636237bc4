//! The OCI lifecycle through the binary, on a real kernel: create, start,
//! state, kill, delete; run in the foreground and detached; list.

#![cfg(target_os = "linux")]

mod common;

use common::{id, stderr, Bundle};
use containerv_testutil::assert_no_leftovers;
use containerv_testutil::cli::run_detached;

#[test]
fn create_start_state_kill_delete() {
    let b = Bundle::new(&["sleep", "100"]);
    let id = id("life");
    b.create(&id);
    let st = b.state(&id);
    assert_eq!(st["status"], "created");
    assert_eq!(st["id"], id.as_str());
    assert_eq!(st["ociVersion"], "1.2.0");
    assert_eq!(st["bundle"], b.dir.path().to_str().unwrap());
    assert_eq!(st["owner"], "");
    let pid = st["pid"].as_i64().unwrap();
    assert!(pid > 0 && std::path::Path::new(&format!("/proc/{pid}")).exists());
    // runc's key order (two-space indented, like Go's MarshalIndent).
    let raw = b.ok(&["state", &id]);
    let keys: Vec<&str> = raw
        .lines()
        .filter_map(|l| l.strip_prefix("  \"")?.split('"').next())
        .collect();
    assert_eq!(
        keys,
        [
            "ociVersion",
            "id",
            "pid",
            "status",
            "bundle",
            "rootfs",
            "created",
            "owner"
        ],
        "{raw}"
    );

    // Not yet started: the program has not run, `sleep` is not its comm.
    b.ok(&["start", &id]);
    assert_eq!(b.state(&id)["status"], "running");
    let again = b.cv(&["start", &id]);
    assert_eq!(again.status.code(), Some(1));
    assert!(stderr(&again).contains("cannot start an already running container"));

    let del = b.cv(&["delete", &id]);
    assert_eq!(del.status.code(), Some(1));
    assert!(stderr(&del).contains(&format!(
        "cannot delete container {id} that is not stopped: running"
    )));

    b.ok(&["kill", &id, "KILL"]);
    b.wait_status(&id, "stopped");
    common::reap(pid as i32);
    assert_eq!(b.state(&id)["pid"], 0);
    let k = b.cv(&["kill", &id, "SIGKILL"]);
    assert!(
        stderr(&k).contains("container not running"),
        "{}",
        stderr(&k)
    );
    b.ok(&["delete", &id]);
    assert_no_leftovers(b.root.path(), &id);
    let gone = b.cv(&["state", &id]);
    assert_eq!(gone.status.code(), Some(1));
    assert!(stderr(&gone).contains("container does not exist"));
    // --force on a container that is not there is fine (runc).
    b.ok(&["delete", "--force", &id]);
}

#[test]
fn kill_by_number_and_delete_created() {
    let b = Bundle::new(&["sleep", "100"]);
    let id = id("killnum");
    b.create(&id);
    // A created container can be deleted without --force.
    b.delete(&id, false);

    b.create(&id);
    b.ok(&["start", &id]);
    let bad = b.cv(&["kill", &id, "NOSIG"]);
    assert!(stderr(&bad).contains("unknown signal") && stderr(&bad).contains("NOSIG"));
    b.ok(&["kill", &id, "15"]);
    // sleep as pid 1 ignores SIGTERM (no handler, pid-namespace init), so
    // it is still running: send 9.
    b.ok(&["kill", &id, "9"]);
    b.wait_status(&id, "stopped");
    b.delete(&id, false);
}

#[test]
fn run_foreground_returns_the_exit_code_and_cleans_up() {
    let b = Bundle::new(&["sh", "-c", "echo out-$((6*7)); echo err >&2; exit 7"]);
    let id = id("runfg");
    let out = b.cv(&["run", &id]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "out-42\n");
    assert!(stderr(&out).contains("err"));
    assert_no_leftovers(b.root.path(), &id);

    // Killed by a signal: 128 + n, like a shell.
    b.edit(|c| c["process"]["args"] = serde_json::json!(["sh", "-c", "kill -9 $$"]));
    let id2 = common::id("runsig");
    // pid 1 cannot be killed by itself with SIGKILL from inside; use a child.
    b.edit(|c| {
        c["process"]["args"] = serde_json::json!(["sh", "-c", "sh -c 'kill -9 $$'; exit $?"])
    });
    let out = b.cv(&["run", &id2]);
    assert_eq!(out.status.code(), Some(137), "{}", stderr(&out));
    assert_no_leftovers(b.root.path(), &id2);

    // --keep leaves a stopped container behind for `state`.
    let id3 = common::id("runkeep");
    b.edit(|c| c["process"]["args"] = serde_json::json!(["true"]));
    let out = b.cv(&["run", "--keep", &id3]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(b.state(&id3)["status"], "stopped");
    b.ok(&["delete", &id3]);
    assert_no_leftovers(b.root.path(), &id3);
}

#[test]
fn run_detached_list_and_force_delete() {
    let b = Bundle::new(&["sleep", "100"]);
    let a = id("lista");
    let c = id("listc");
    let pidfile = b.dir.path().join("pid");
    for x in [&a, &c] {
        let st = run_detached(
            common::bin(),
            b.root.path(),
            [
                "run",
                "-d",
                "--pid-file",
                pidfile.to_str().unwrap(),
                "--bundle",
                b.dir.path().to_str().unwrap(),
                x,
            ],
        );
        assert!(st.success());
    }
    let pid: i64 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(b.state(&c)["pid"], pid);

    let q = b.ok(&["list", "-q"]);
    let mut ids: Vec<_> = q.lines().collect();
    ids.sort();
    let mut want = vec![a.as_str(), c.as_str()];
    want.sort();
    assert_eq!(ids, want);
    let table = b.ok(&["list"]);
    let mut lines = table.lines();
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("ID ") && header.ends_with("OWNER"),
        "{table}"
    );
    assert!(
        lines.all(|l| l.contains("running") && l.ends_with("root")),
        "{table}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&b.ok(&["list", "--format", "json"])).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 2);
    assert_eq!(json[0]["owner"], "root");

    for x in [&a, &c] {
        b.delete(x, true);
    }
    assert_eq!(b.ok(&["list", "--format", "json"]).trim(), "null");
}
