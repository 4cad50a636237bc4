//! Commands on a running container through the binary: exec (args and
//! --process), ps, events --stats, update, pause/resume, kill --all.

#![cfg(target_os = "linux")]

mod common;

use common::{id, stderr, Bundle};
use containerv_testutil::cli::run_detached;

/// The container's cgroup directory in hierarchy `controller` (v1 here).
fn cgroup_dir(controller: &str, id: &str) -> std::path::PathBuf {
    containerv_testutil::cgroups_named(id)
        .into_iter()
        .find(|p| p.starts_with(format!("/sys/fs/cgroup/{controller}/")))
        .unwrap_or_else(|| panic!("no {controller} cgroup for {id}"))
}

#[test]
fn exec_args_and_process_file() {
    let b = Bundle::new(&["sleep", "100"]);
    b.edit(|c| {
        c["process"]["env"]
            .as_array_mut()
            .unwrap()
            .push("FROM_SPEC=1".into())
    });
    let id = id("exec");
    b.create(&id);
    b.ok(&["start", &id]);

    let out = b.cv(&[
        "exec",
        "-e",
        "EXTRA=x",
        "--cwd",
        "/tmp",
        &id,
        "sh",
        "-c",
        "echo $FROM_SPEC$EXTRA $(pwd) $$; exit 5",
    ]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let f: Vec<_> = text.split_whitespace().collect();
    assert_eq!(&f[..2], ["1x", "/tmp"], "{text}");
    assert_ne!(f[2], "1", "exec is not the init");

    // --user and the capabilities of the container's process.
    let out = b.ok(&["exec", "--user", "1000:1000", &id, "id", "-u"]);
    assert_eq!(out.trim(), "1000");

    // An OCI process file, as podman and containerd send.
    let pf = b.dir.path().join("process.json");
    std::fs::write(
        &pf,
        r#"{"terminal":false,"user":{"uid":0,"gid":0},"args":["sh","-c","echo via-file $HOME"],"env":["HOME=/root","PATH=/bin"],"cwd":"/"}"#,
    )
    .unwrap();
    let out = b.ok(&["exec", "--process", pf.to_str().unwrap(), &id]);
    assert_eq!(out.trim(), "via-file /root");

    // Detached exec with a pid file: the process runs on in the container.
    let pidf = b.dir.path().join("exec.pid");
    // (stdio on /dev/null: the process would hold our pipes open).
    let st = run_detached(
        common::bin(),
        b.root.path(),
        [
            "exec",
            "-d",
            "--pid-file",
            pidf.to_str().unwrap(),
            &id,
            "sleep",
            "50",
        ],
    );
    assert!(st.success());
    let epid: i32 = std::fs::read_to_string(&pidf)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let ps: Vec<i32> = serde_json::from_str(&b.ok(&["ps", "--format", "json", &id])).unwrap();
    assert!(ps.contains(&epid), "{ps:?} lacks {epid}");

    let bad = b.cv(&["exec", &id, "/bin/nosuch"]);
    assert_ne!(bad.status.code(), Some(0));
    assert!(stderr(&bad).contains("nosuch"), "{}", stderr(&bad));

    // kill --all reaches the exec'd process too.
    b.ok(&["kill", "--all", &id, "KILL"]);
    common::reap(epid);
    b.wait_status(&id, "stopped");
    let e = b.cv(&["exec", &id, "true"]);
    assert!(stderr(&e).contains("cannot exec in a stopped container"));
    b.delete(&id, false);
}

#[test]
fn ps_events_update_pause_resume() {
    let b = Bundle::new(&["sh", "-c", "sleep 100 & wait"]);
    b.edit(|c| {
        c["linux"]["resources"]["memory"] = serde_json::json!({ "limit": 128 << 20 });
        c["linux"]["resources"]["pids"] = serde_json::json!({ "limit": 64 });
    });
    let id = id("ops");
    b.create(&id);
    b.ok(&["start", &id]);
    let init = b.state(&id)["pid"].as_i64().unwrap() as i32;

    // ps: table filtered from `ps -ef`, and the pids as JSON.
    let t = std::time::Instant::now();
    let pids: Vec<i32> = loop {
        let p: Vec<i32> = serde_json::from_str(&b.ok(&["ps", "-f", "json", &id])).unwrap();
        if p.len() >= 2 || t.elapsed().as_secs() > 5 {
            break p;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(pids.contains(&init) && pids.len() == 2, "{pids:?}");
    let table = b.ok(&["ps", &id]);
    let mut lines = table.lines();
    assert!(lines.next().unwrap().contains("PID"));
    let rows: Vec<_> = lines.collect();
    assert_eq!(rows.len(), 2, "{table}");
    assert!(rows.iter().any(|r| r.contains("sleep 100")), "{table}");

    // events --stats: runc's event and stats shape.
    let line = b.ok(&["events", "--stats", &id]);
    assert!(line.starts_with(r#"{"type":"stats","id":""#), "{line}");
    let ev: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(ev["id"], id.as_str());
    let d = &ev["data"];
    assert_eq!(d["memory"]["usage"]["limit"], 128u64 << 20);
    assert!(d["memory"]["usage"]["usage"].as_u64().unwrap() > 0, "{d}");
    assert_eq!(d["pids"]["current"], 2);
    assert_eq!(d["pids"]["limit"], 64);
    assert!(d["cpu"]["usage"]["total"].as_u64().unwrap() > 0, "{d}");
    assert!(d["network_interfaces"].is_null());

    // Streaming: a stats event per interval.
    let child = std::process::Command::new(common::bin())
        .arg("--root")
        .arg(b.root.path())
        .args(["events", "--interval", "100ms", &id])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(350));
    // SAFETY: our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    let n = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(r#""type":"stats""#))
        .count();
    assert!(n >= 2, "{n} stats events");

    // update: single flags and a resources file, visible in the cgroup.
    b.ok(&["update", "--memory", "64M", "--pids-limit", "32", &id]);
    let mem = cgroup_dir("memory", &id);
    let pids_cg = cgroup_dir("pids", &id);
    let read = |p: std::path::PathBuf| std::fs::read_to_string(p).unwrap().trim().to_string();
    assert_eq!(
        read(mem.join("memory.limit_in_bytes")),
        (64u64 << 20).to_string()
    );
    assert_eq!(read(pids_cg.join("pids.max")), "32");
    let rf = b.dir.path().join("res.json");
    std::fs::write(&rf, r#"{"memory":{"limit":100663296},"pids":{"limit":40}}"#).unwrap();
    b.ok(&[
        "update",
        "--resources",
        rf.to_str().unwrap(),
        "--pids-limit",
        "48",
        &id,
    ]);
    assert_eq!(read(mem.join("memory.limit_in_bytes")), "100663296");
    assert_eq!(read(pids_cg.join("pids.max")), "48");
    let bad = b.cv(&["update", "--memory", "lots", &id]);
    assert!(stderr(&bad).contains("--memory"), "{}", stderr(&bad));

    // pause / resume.
    b.ok(&["pause", &id]);
    assert_eq!(b.state(&id)["status"], "paused");
    let e = b.cv(&["exec", &id, "true"]);
    assert!(stderr(&e).contains("paused"), "{}", stderr(&e));
    let p2 = b.cv(&["pause", &id]);
    assert!(stderr(&p2).contains("container not running"));
    b.ok(&["resume", &id]);
    assert_eq!(b.state(&id)["status"], "running");
    let r2 = b.cv(&["resume", &id]);
    assert!(stderr(&r2).contains("container not paused"));

    // delete --force of a paused container.
    b.ok(&["pause", &id]);
    b.delete(&id, true);
}
