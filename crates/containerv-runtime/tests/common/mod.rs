//! Shared by the CLI's integration tests: the binary, a busybox bundle
//! whose config.json comes from `containerv spec`, and running commands.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use containerv_testutil::{busybox_rootfs, require_root, temp_root, unique_id, TempRoot};

/// The runtime under test: `$CONTAINERV_RUNTIME` when set (scripts/test
/// runs these tests a second time on the static build of
/// scripts/build-runtime, the binary users install), else this build's.
pub fn bin() -> &'static str {
    static BIN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        std::env::var("CONTAINERV_RUNTIME")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_containerv").to_string())
    })
}

/// A bundle directory and a private runtime root, both removed on drop.
pub struct Bundle {
    pub dir: TempRoot,
    pub root: TempRoot,
    /// Init pids seen by `state`, to reap after delete.
    pids: std::sync::Mutex<std::collections::HashMap<String, i32>>,
}

impl Bundle {
    /// `containerv spec`, then: no terminal, `args`, the shared busybox
    /// rootfs (read-only) as root.path.
    pub fn new(args: &[&str]) -> Bundle {
        require_root();
        become_subreaper();
        let dir = temp_root();
        let root = temp_root();
        let out = Command::new(bin())
            .args(["spec", "--bundle"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "spec: {out:?}");
        let b = Bundle {
            dir,
            root,
            pids: Default::default(),
        };
        b.edit(|c| {
            c["process"]["terminal"] = false.into();
            c["process"]["args"] = serde_json::json!(args);
            c["root"]["path"] = busybox_rootfs().to_str().unwrap().into();
        });
        b
    }

    pub fn config(&self) -> PathBuf {
        self.dir.path().join("config.json")
    }

    /// Change config.json.
    pub fn edit(&self, f: impl FnOnce(&mut serde_json::Value)) {
        let mut c: serde_json::Value =
            serde_json::from_slice(&std::fs::read(self.config()).unwrap()).unwrap();
        f(&mut c);
        std::fs::write(self.config(), serde_json::to_vec_pretty(&c).unwrap()).unwrap();
    }

    /// `containerv --root <root> ARGS` with stdin from /dev/null; output captured.
    pub fn cv(&self, args: &[&str]) -> Output {
        cv_at(self.root.path(), self.dir.path(), args)
    }

    /// Like [`Bundle::cv`], asserting success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.cv(args);
        assert!(
            out.status.success(),
            "containerv {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// `create --bundle <dir> ID` with the container's stdio on /dev/null
    /// (so the test does not wait for the init to close our pipes).
    pub fn create(&self, id: &str) {
        let st = containerv_testutil::cli::run_detached(
            bin(),
            self.root.path(),
            ["create", "--bundle", self.dir.path().to_str().unwrap(), id],
        );
        assert!(st.success(), "create {id} failed");
        self.state(id);
    }

    /// The container's state JSON.
    pub fn state(&self, id: &str) -> serde_json::Value {
        let v: serde_json::Value = serde_json::from_str(&self.ok(&["state", id])).unwrap();
        if let Some(pid) = v["pid"].as_i64().filter(|p| *p > 0) {
            self.pids.lock().unwrap().insert(id.to_string(), pid as i32);
        }
        v
    }

    /// `delete [--force] ID`, then reap the init if it was alive (it was
    /// re-parented to this subreaper) and check nothing is left.
    pub fn delete(&self, id: &str, force: bool) {
        self.state(id);
        let pid = self.pids.lock().unwrap().remove(id).unwrap_or(0);
        if force {
            self.ok(&["delete", "--force", id]);
        } else {
            self.ok(&["delete", id]);
        }
        if pid > 0 {
            reap(pid);
        }
        containerv_testutil::assert_no_leftovers(self.root.path(), id);
    }

    /// Wait (≤ 10 s) until the container's status is `want`.
    pub fn wait_status(&self, id: &str, want: &str) {
        let t = Instant::now();
        loop {
            let s = self.state(id);
            if s["status"] == want {
                return;
            }
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "{id} never became {want}: {s}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// `containerv --root ROOT ARGS` run in `cwd`, stdin /dev/null.
pub fn cv_at(root: &Path, cwd: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .arg("--root")
        .arg(root)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// A unique container id for this test process.
pub fn id(prefix: &str) -> String {
    unique_id(&format!("cvrt-{prefix}"))
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Make this test process a child subreaper, as conmon and containerd's
/// shim are: the init of a container made by `create` / `run -d` is
/// re-parented to us when the CLI exits, and [`reap`] collects it.
pub fn become_subreaper() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: prctl with integer arguments only.
        let r = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
        assert_eq!(r, 0, "PR_SET_CHILD_SUBREAPER");
    });
}

/// Reap the exited container init `pid` (ours as subreaper), waiting up to
/// 10 s for it to exit. Only this pid: other tests' children are left alone.
pub fn reap(pid: i32) {
    let t = Instant::now();
    loop {
        // SAFETY: waitpid on one pid with a null status pointer.
        let r = unsafe { libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG) };
        if r != 0 {
            return;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "init {pid} did not exit"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}
