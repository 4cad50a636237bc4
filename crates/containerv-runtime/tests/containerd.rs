//! containerd 1.6 driving `containerv` through its runc shim (`ctr run
//! --runc-binary PATH`): run in the foreground, run -d, exec, a memory
//! limit in the cgroup file, containerd's default seccomp
//! profile (`--seccomp`, next to runc), kill, delete. containerd runs on a private
//! socket, root and state under a temp dir, in a private mount namespace
//! with its own /run (shim sockets live in /run/containerd); it is killed
//! by pid at the end. The image is the busybox rootfs made into an OCI
//! archive with umoci and brought in with `ctr image import`.

#![cfg(target_os = "linux")]

mod common;

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use containerv_testutil::peer::{self, cgroup_value, describe, run_ok};
use containerv_testutil::{cgroups_named, processes_mentioning, temp_root, TempRoot};

struct Containerd {
    dir: TempRoot,
    child: Child,
    /// Relative cgroup parent for the containers (nested under our own).
    parent: String,
}

impl Containerd {
    fn start() -> Containerd {
        let dir = temp_root();
        let t = dir.path().display();
        let config = dir.path().join("config.toml");
        std::fs::write(
            &config,
            format!(
                r#"version = 2
root = "{t}/root"
state = "{t}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing"]
[grpc]
  address = "{t}/c.sock"
[ttrpc]
  address = "{t}/c.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
"#
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("containerd.log")).unwrap();
        let child = Command::new("containerd")
            .arg("--config")
            .arg(&config)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let sock = dir.path().join("c.sock");
        let t0 = Instant::now();
        while !sock.exists() {
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "containerd did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Containerd {
            dir,
            child,
            parent: common::id("ctd"),
        }
    }

    fn ctr(&self) -> Command {
        let mut c = Command::new("ctr");
        c.arg("-a")
            .arg(self.dir.path().join("c.sock"))
            .args(["-n", "cvtest"]);
        c
    }

    fn ok(&self, args: &[&str]) -> String {
        run_ok(self.ctr().args(args))
    }

    /// `ctr run` flags every container here gets.
    fn run_flags(&self, name: &str) -> Vec<String> {
        vec![
            "--runc-binary".into(),
            common::bin().into(),
            "--cgroup".into(),
            format!("{}/{name}", self.parent),
        ]
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        for name in ["c1", "c2", "c3", "c4"] {
            let _ = self
                .ctr()
                .args(["task", "kill", "-s", "KILL", name])
                .output();
            let _ = self.ctr().args(["task", "delete", "-f", name]).output();
            let _ = self.ctr().args(["container", "delete", name]).output();
        }
        // SAFETY: SIGTERM to the containerd we started, then reap it.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
        peer::remove_cgroups(&self.parent);
    }
}

/// The busybox rootfs as an OCI image archive (umoci), tag `bb`.
fn oci_archive(dir: &std::path::Path) -> std::path::PathBuf {
    let layout = dir.join("oci");
    let image = format!("{}:bb", layout.display());
    run_ok(
        Command::new("umoci")
            .args(["init", "--layout"])
            .arg(&layout),
    );
    run_ok(Command::new("umoci").args(["new", "--image", &image]));
    run_ok(
        Command::new("umoci")
            .args(["insert", "--image", &image])
            .arg(containerv_testutil::busybox_rootfs())
            .arg("/"),
    );
    run_ok(Command::new("umoci").args(["config", "--image", &image, "--config.cmd", "sh"]));
    let tar = dir.join("bb.tar");
    run_ok(
        Command::new("tar")
            .arg("-C")
            .arg(&layout)
            .arg("-cf")
            .arg(&tar)
            .arg("."),
    );
    tar
}

#[test]
fn containerd_runs_containers_on_containerv() {
    containerv_testutil::require_root();
    for tool in ["containerd", "ctr", "containerd-shim-runc-v2", "umoci"] {
        assert!(
            peer::have(tool),
            "{tool} is needed (apt-get install containerd umoci)"
        );
    }
    // Everything below runs in this thread's private mount namespace.
    peer::private_run();
    let d = Containerd::start();
    let tar = oci_archive(d.dir.path());
    d.ok(&[
        "image",
        "import",
        "--base-name",
        "localhost/bb",
        tar.to_str().unwrap(),
    ]);
    let image = "localhost/bb:bb";

    // Foreground run: output and exit code through the shim.
    let mut args = vec!["run".to_string(), "--rm".into()];
    args.extend(d.run_flags("c1"));
    args.extend([image, "c1", "sh", "-c", "echo hello-ctr; exit 4"].map(String::from));
    let out = d.ctr().args(&args).output().unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello-ctr\n");

    // Detached, with a memory limit; exec; kill; delete.
    let mut args = vec![
        "run".to_string(),
        "-d".into(),
        "--memory-limit".into(),
        (64u64 << 20).to_string(),
    ];
    args.extend(d.run_flags("c2"));
    args.extend([image, "c2", "sleep", "100"].map(String::from));
    run_ok(d.ctr().args(&args));
    let tasks = d.ok(&["task", "ls"]);
    assert!(
        tasks
            .lines()
            .any(|l| l.starts_with("c2") && l.contains("RUNNING")),
        "{tasks}"
    );
    let out = d.ok(&[
        "task",
        "exec",
        "--exec-id",
        "e1",
        "c2",
        "sh",
        "-c",
        "echo in-exec-$((6*7))",
    ]);
    assert_eq!(out, "in-exec-42\n");
    assert_eq!(
        cgroup_value("memory", &d.parent, "c2/memory.limit_in_bytes"),
        (64u64 << 20).to_string()
    );
    seccomp_default_profile(&d, image);
    d.ok(&["task", "kill", "-s", "KILL", "c2"]);
    let t0 = Instant::now();
    while !d
        .ok(&["task", "ls"])
        .lines()
        .any(|l| l.starts_with("c2") && l.contains("STOPPED"))
    {
        assert!(t0.elapsed() < Duration::from_secs(10), "c2 did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
    d.ok(&["task", "delete", "c2"]);
    d.ok(&["container", "delete", "c2"]);
    assert_eq!(d.ok(&["task", "ls", "-q"]).trim(), "");
    assert!(processes_mentioning(&format!("{}/c2", d.parent)).is_empty());
    let parent = d.parent.clone();
    drop(d);
    assert!(
        cgroups_named(&parent).is_empty(),
        "{:?}",
        cgroups_named(&parent)
    );
}

/// `ctr run --seccomp`: containerd's default profile, as Go marshals it
/// (its `clone` rule is MASKED_EQ 2114060288 with no `valueTwo`, which
/// means 0), on containerv and on runc: same filter, same behaviour.
fn seccomp_default_profile(d: &Containerd, image: &str) {
    let probe = "grep Seccomp: /proc/self/status; (true) && echo forked; \
                 unshare -n true 2>/dev/null && echo unshared || echo unshare-denied";
    let mut outs = Vec::new();
    for (name, runtime) in [("c3", common::bin()), ("c4", "runc")] {
        let mut args = vec!["run".to_string(), "--rm".into(), "--seccomp".into()];
        let mut flags = d.run_flags(name);
        flags[1] = runtime.to_string();
        args.extend(flags);
        args.extend([image, name, "sh", "-c", probe].map(String::from));
        let out = d.ctr().args(&args).output().unwrap();
        assert!(out.status.success(), "{runtime}: {}", describe(&out));
        outs.push(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    assert_eq!(outs[0], "Seccomp:\t2\nforked\nunshare-denied\n");
    assert_eq!(outs[0], outs[1], "containerv vs runc");
}
