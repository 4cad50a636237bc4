//! podman driving `containerv` as its OCI runtime (`podman --runtime
//! PATH`): run --rm; run -d then logs, exec, stats, stop, rm; --memory and
//! --pids-limit visible in the cgroup files and inside the container. podman runs with the cgroupfs
//! manager, the file events logger, vfs storage under a temp dir and a
//! private tmpfs on /run (see ENVIRONMENT.md); the image is the busybox
//! rootfs brought in with `podman import`, no network.

#![cfg(target_os = "linux")]

mod common;

use std::process::Command;

use containerv_testutil::peer::{self, cgroup_value, describe, run_ok, PodmanConfig};
use containerv_testutil::{cgroups_named, processes_mentioning};

struct Podman {
    conf: PodmanConfig,
    parent: String,
}

impl Podman {
    fn new() -> Podman {
        Podman {
            conf: PodmanConfig::new("log_driver = \"k8s-file\"\n", ""),
            parent: common::id("podman"),
        }
    }

    fn cmd(&self) -> Command {
        let mut c = self.conf.cmd();
        c.args(["--runtime", common::bin(), "--cgroup-manager", "cgroupfs"]);
        c
    }

    fn ok(&self, args: &[&str]) -> String {
        run_ok(self.cmd().args(args))
    }

    /// `podman run` flags every container here gets.
    fn run_args(&self) -> Vec<String> {
        vec![
            "--network".into(),
            "none".into(),
            "--cgroup-parent".into(),
            self.parent.clone(),
        ]
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.cmd().args(["rm", "-a", "-f", "-t", "0"]).output();
        peer::remove_cgroups(&self.parent);
    }
}

#[test]
fn podman_runs_containers_on_containerv() {
    common::become_subreaper();
    containerv_testutil::require_root();
    if !peer::have("podman") || !peer::have("conmon") {
        panic!("podman and conmon are needed (apt-get install podman)");
    }
    // Everything below runs in this thread's private mount namespace.
    peer::private_run();
    let p = Podman::new();
    let tar = peer::rootfs_tar(p.conf.dir.path());
    p.ok(&["import", tar.to_str().unwrap(), "localhost/cvbusybox:test"]);
    let image = "localhost/cvbusybox:test";

    // run --rm in the foreground: output and exit code come back.
    let mut args = vec!["run", "--rm"];
    let ra = p.run_args();
    args.extend(ra.iter().map(String::as_str));
    args.extend([image, "sh", "-c", "echo hello-from-containerv; exit 3"]);
    let out = p.cmd().args(&args).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hello-from-containerv\n"
    );

    // run -d with limits; logs, exec, stats; the cgroup files.
    let mut args = vec!["run", "-d", "--memory", "64m", "--pids-limit", "50"];
    args.extend(ra.iter().map(String::as_str));
    args.extend([image, "sh", "-c", "echo started; exec sleep 100"]);
    let id = p.ok(&args).trim().to_string();
    assert_eq!(id.len(), 64, "{id}");
    let t = std::time::Instant::now();
    while !p.ok(&["logs", &id]).contains("started") {
        assert!(t.elapsed().as_secs() < 10, "no log line");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(
        p.ok(&["exec", &id, "sh", "-c", "echo exec-$((40+2))"]),
        "exec-42\n"
    );
    // podman on a v1 host uses no cgroup namespace: the container still
    // reads its own limits, and name=systemd is its own cgroup, not the
    // host's root of that hierarchy.
    assert_eq!(
        p.ok(&[
            "exec",
            &id,
            "sh",
            "-c",
            "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max; \
             test -e /sys/fs/cgroup/systemd/release_agent && echo host-root || echo own"
        ]),
        format!("{}\n50\nown\n", 64u64 << 20)
    );
    let status = p.ok(&["inspect", "--format", "{{.State.Status}}", &id]);
    assert_eq!(status.trim(), "running");
    assert_eq!(
        cgroup_value("memory", &id, "memory.limit_in_bytes"),
        (64u64 << 20).to_string()
    );
    assert_eq!(cgroup_value("pids", &id, "pids.max"), "50");
    let stats = p.ok(&["stats", "--no-stream", "--format", "json", &id]);
    let v: serde_json::Value = serde_json::from_str(&stats).unwrap();
    let mem = v[0]["mem_usage"].as_str().unwrap_or_default().to_string();
    assert!(mem.contains("64MB") || mem.contains("67.11MB"), "{stats}");
    assert!(v[0]["pids"].as_str().is_some_and(|s| s != "0"), "{stats}");

    // stop (TERM is ignored by sleep as pid 1, so KILL after 1 s), rm.
    p.ok(&["stop", "-t", "1", &id]);
    let status = p.ok(&["inspect", "--format", "{{.State.Status}}", &id]);
    assert_eq!(status.trim(), "exited");
    p.ok(&["rm", &id]);
    assert!(cgroups_named(&id).is_empty(), "{:?}", cgroups_named(&id));
    assert!(processes_mentioning(&id).is_empty());
    assert_eq!(p.ok(&["ps", "-a", "-q"]).trim(), "");
    let parent = p.parent.clone();
    drop(p);
    assert!(
        cgroups_named(&parent).is_empty(),
        "{:?}",
        cgroups_named(&parent)
    );
}
