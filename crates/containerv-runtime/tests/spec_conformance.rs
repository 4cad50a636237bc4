//! Runtime-spec behaviours the OCI runtime-tools validation suite checks,
//! each on a hand-made bundle, next to runc where runc supports it:
//! `linux.rootfsPropagation` in every mode; namespaces joined by path;
//! hooks (state on stdin, failing post hooks are warnings); kernel memory;
//! user namespaces under root-only directories.

#![cfg(target_os = "linux")]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::Bundle;
use containerv_testutil::{assert_no_leftovers, temp_root};

/// `run ID` in the foreground with `runtime`; (success, stdout, stderr).
fn run(runtime: &str, root: &std::path::Path, b: &Bundle, id: &str) -> (bool, String, String) {
    let out = Command::new(runtime)
        .arg("--root")
        .arg(root)
        .args(["run", "--bundle"])
        .arg(b.dir.path())
        .arg(id)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        common::stderr(&out),
    )
}

/// The optional fields (propagation tags) of the container's `/` mount.
const ROOT_TAGS: &str =
    "awk '$5 == \"/\" { t = \"\"; for (i = 7; $i != \"-\"; i++) t = t $i \" \"; \
                         print t }' /proc/self/mountinfo";

#[test]
fn rootfs_propagation_every_mode() {
    let b = Bundle::new(&["sh", "-c", ROOT_TAGS]);
    for (mode, want) in [
        ("shared", "shared:"),
        ("rshared", "shared:"),
        ("slave", ""),
        ("private", ""),
        ("rprivate", ""),
        ("unbindable", "unbindable"),
        ("runbindable", "unbindable"),
    ] {
        b.edit(|c| c["linux"]["rootfsPropagation"] = mode.into());
        let id = common::id("prop");
        let (ok, out, err) = run(common::bin(), b.root.path(), &b, &id);
        assert!(ok, "{mode}: {err}");
        match want {
            "" => assert!(
                !out.contains("shared:") && !out.contains("unbindable"),
                "{mode}: {out}"
            ),
            w => assert!(out.contains(w), "{mode}: {out}"),
        }
        assert_no_leftovers(b.root.path(), &id);
        // runc 1.1 agrees on slave and private; it fails unbindable (the
        // rootfs cannot be bound from an unbindable tree) and leaves a
        // shared root private (crun and containerv make it shared).
        if want.is_empty() {
            let rroot = temp_root();
            let (rok, rout, rerr) = run("runc", rroot.path(), &b, &common::id("prop-runc"));
            assert!(rok, "runc {mode}: {rerr}");
            let tag = |s: &str| s.contains("shared:");
            assert_eq!(tag(&out), tag(&rout), "{mode}: {out} vs runc {rout}");
        }
    }
}

/// A process in fresh namespaces (`unshare FLAG --fork sleep`), killed
/// with its child on drop.
struct Unshared(std::process::Child);

impl Unshared {
    fn new(flags: &[&str]) -> Unshared {
        let child = Command::new("unshare")
            .args(flags)
            .args(["--fork", "sleep", "100"])
            .spawn()
            .unwrap();
        let u = Unshared(child);
        // Wait until the forked sleep exists (pid_for_children is set at
        // once; the mount namespace needs unshare to have run).
        let t = std::time::Instant::now();
        while std::fs::read_to_string(format!("/proc/{}/task/{}/children", u.pid(), u.pid()))
            .unwrap_or_default()
            .trim()
            .is_empty()
        {
            assert!(t.elapsed().as_secs() < 5, "unshare did not fork");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        u
    }

    fn pid(&self) -> u32 {
        self.0.id()
    }

    fn ns(&self, name: &str) -> String {
        format!("/proc/{}/ns/{name}", self.pid())
    }
}

impl Drop for Unshared {
    fn drop(&mut self) {
        // Its forked sleep first (ours: unshare's only child), then unshare.
        let pid = self.pid();
        let children =
            std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
        for c in children
            .split_whitespace()
            .filter_map(|c| c.parse::<i32>().ok())
        {
            // SAFETY: signalling the sleep our unshare forked.
            unsafe { libc::kill(c, libc::SIGKILL) };
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// linux.namespaces by path: a pid namespace (the init is born in it, so
/// it is pid 2 after unshare's sleep) and a mount namespace (the rootfs is
/// set up in it); the runtime's own mount namespace by path is refused by
/// name; a spec without a mount namespace shares the runtime's (chroot).
#[test]
fn namespaces_by_path() {
    let pidns = Unshared::new(&["--pid"]);
    let mntns = Unshared::new(&["--mount", "--propagation", "private"]);
    let b = Bundle::new(&[
        "sh",
        "-c",
        "echo $$; readlink /proc/self/ns/pid; readlink /proc/self/ns/mnt",
    ]);
    let ns = |c: &mut serde_json::Value, list: serde_json::Value| {
        c["linux"]["namespaces"] = list;
    };
    b.edit(|c| {
        ns(
            c,
            serde_json::json!([
                {"type": "pid", "path": pidns.ns("pid_for_children")},
                {"type": "mount", "path": mntns.ns("mnt")},
                {"type": "ipc"}, {"type": "uts"}, {"type": "network"}
            ]),
        )
    });
    let id = common::id("nspath");
    let (ok, out, err) = run(common::bin(), b.root.path(), &b, &id);
    assert!(ok, "{err}");
    let link = |p: String| std::fs::read_link(p).unwrap().display().to_string();
    assert_eq!(
        out,
        format!(
            "2\n{}\n{}\n",
            link(pidns.ns("pid_for_children")),
            link(mntns.ns("mnt"))
        )
    );
    assert_no_leftovers(b.root.path(), &id);

    // The runtime's own mount namespace (this test's, which it inherits).
    b.edit(|c| {
        ns(
            c,
            serde_json::json!([{"type": "mount", "path": format!("/proc/{}/ns/mnt", std::process::id())}]),
        )
    });
    let id = common::id("nsown");
    let (ok, _, err) = run(common::bin(), b.root.path(), &b, &id);
    assert!(!ok && err.contains("runtime's own"), "{err}");
    assert_no_leftovers(b.root.path(), &id);

    // No mount namespace at all: the runtime's own, as with runc and crun.
    // The rootfs and the spec's mounts go below the state directory, the
    // init chroots there, and delete detaches them all without removing
    // anything through them. In a private mount namespace of the test's
    // (the runtime's "own" here), so nothing reaches the host's.
    b.edit(|c| {
        ns(c, serde_json::json!([{"type": "pid"}]));
        c["process"]["args"] = serde_json::json!([
            "sh",
            "-c",
            "readlink /proc/self/ns/mnt; test -x /bin/busybox && test -d /proc/1 && echo rooted"
        ]);
    });
    let id = common::id("nsnone");
    let out = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c"])
        .arg("readlink /proc/self/ns/mnt; exec \"$0\" \"$@\"")
        .arg(common::bin())
        .arg("--root")
        .arg(b.root.path())
        .args(["run", "--bundle"])
        .arg(b.dir.path())
        .arg(&id)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}{}", common::stderr(&out));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(
        lines[0], lines[1],
        "the container shares the runtime's mount namespace"
    );
    assert_eq!(lines[2], "rooted");
    assert_no_leftovers(b.root.path(), &id);
    assert!(
        containerv_testutil::busybox_rootfs()
            .join("bin/busybox")
            .exists(),
        "delete must not remove anything through the container's root"
    );
}

/// Hooks get the container's state on stdin with the status the runtime
/// spec gives each (prestart "created", poststart "running", poststop
/// "stopped"), pid and annotations; a failing poststart or poststop hook
/// is a warning: start and delete succeed and the container is gone.
#[test]
fn hooks_state_on_stdin_and_failing_post_hooks_warn() {
    let b = Bundle::new(&["true"]);
    let out = b.dir.path().join("hooks");
    std::fs::create_dir(&out).unwrap();
    let save = |name: &str| {
        serde_json::json!({"path": "/bin/sh",
            "args": ["sh", "-c", format!("cat > {}/{name}", out.display())], "timeout": 5})
    };
    let fail =
        serde_json::json!({"path": "/bin/sh", "args": ["sh", "-c", "echo nope >&2; exit 3"]});
    b.edit(|c| {
        c["annotations"] = serde_json::json!({"org.example.hook": "stdin"});
        c["hooks"] = serde_json::json!({
            "prestart": [save("prestart")],
            "poststart": [save("poststart"), fail.clone()],
            "poststop": [save("poststop"), fail.clone()],
        });
    });
    let id = common::id("hooks");
    b.create(&id);
    let pid = b.state(&id)["pid"].as_i64().unwrap();
    let start = b.cv(&["start", &id]);
    assert!(start.status.success(), "{}", common::stderr(&start));
    assert!(
        common::stderr(&start).contains("warning"),
        "{}",
        common::stderr(&start)
    );
    b.wait_status(&id, "stopped");
    let del = b.cv(&["delete", &id]);
    assert!(del.status.success(), "{}", common::stderr(&del));
    assert!(
        common::stderr(&del).contains("warning"),
        "{}",
        common::stderr(&del)
    );
    common::reap(pid as i32);
    assert_no_leftovers(b.root.path(), &id);
    let bundle = b.dir.path().display().to_string();
    for (hook, status, with_pid) in [
        ("prestart", "created", true),
        ("poststart", "running", true),
        ("poststop", "stopped", false),
    ] {
        let st: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join(hook)).unwrap()).unwrap();
        assert_eq!(st["status"], status, "{hook}: {st}");
        assert_eq!(st["id"], id.as_str(), "{hook}: {st}");
        assert_eq!(st["bundle"], bundle.as_str(), "{hook}: {st}");
        assert_eq!(
            st["annotations"]["org.example.hook"], "stdin",
            "{hook}: {st}"
        );
        if with_pid {
            assert_eq!(st["pid"], pid, "{hook}: {st}");
        }
    }
}

/// `linux.resources.memory.kernel` / `kernelTCP`: written where the kernel
/// has the files (as crun does; runc 1.1 ignores both). This kernel takes
/// the kmem limit and ignores it; the TCP one is kept, and the container
/// reads it from its own memory cgroup.
#[test]
fn kernel_memory_limits_are_written() {
    let tcp = Path::new("/sys/fs/cgroup/memory/memory.kmem.tcp.limit_in_bytes");
    if !tcp.exists() {
        panic!("this test needs a cgroup v1 memory controller with kmem files");
    }
    let b = Bundle::new(&[
        "cat",
        "/sys/fs/cgroup/memory/memory.kmem.tcp.limit_in_bytes",
    ]);
    b.edit(|c| {
        c["linux"]["resources"] = serde_json::json!({"memory": {
            "limit": 128 << 20, "kernel": 64 << 20, "kernelTCP": 32 << 20}});
    });
    let id = common::id("kmem");
    let (ok, out, err) = run(common::bin(), b.root.path(), &b, &id);
    assert!(ok, "{err}");
    assert_eq!(out, format!("{}\n", 32u64 << 20));
    assert_no_leftovers(b.root.path(), &id);
}

/// A user namespace under a root-only `--root` (0700) and a root-only
/// bundle (0700, as mkdtemp makes them): the mapped root cannot search
/// either, yet the rootfs (mounted on a point in the state directory) and
/// the bundle's bind sources are mounted (the runtime opens them for the
/// init), and no descriptor of a
/// host path is left in the container. runc 1.1 manages the first and
/// fails the second ("permission denied" on the rootfs).
#[test]
fn user_namespace_under_root_only_directories() {
    let b = Bundle::new(&[
        "sh",
        "-c",
        "id -u; hostname; grep -c ' /mnt ' /proc/self/mountinfo; \
         ls /proc/self/fd | tr '\\n' ' '",
    ]);
    b.edit(|c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"type": "user"}));
        c["linux"]["uidMappings"] =
            serde_json::json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
        c["linux"]["gidMappings"] =
            serde_json::json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
        c["hostname"] = "userns700".into();
        // sysfs needs a network namespace owned by the user namespace.
        let mounts = c["mounts"].as_array_mut().unwrap();
        mounts.retain(|m| m["destination"] != "/sys" && m["destination"] != "/sys/fs/cgroup");
        mounts.push(serde_json::json!({"destination": "/mnt", "type": "bind",
            "source": ".", "options": ["rbind", "ro"]}));
    });
    use std::os::unix::fs::PermissionsExt;
    let root700 = temp_root();
    let root700 = root700.path().join("r");
    std::fs::create_dir(&root700).unwrap();
    std::fs::set_permissions(&root700, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::set_permissions(b.dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let id = common::id("userns700");
    let (ok, out, err) = run(common::bin(), &root700, &b, &id);
    assert!(ok, "{err}");
    // sh's 0-2 and the fd ls reads the directory through.
    assert_eq!(out, "0\nuserns700\n1\n0 1 2 3 ");
    assert_no_leftovers(&root700, &id);
}
