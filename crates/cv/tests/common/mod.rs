//! Shared helpers of the container CLI tests: a private engine root per
//! test (the image store with the built-in image is shared per machine,
//! like the test busybox rootfs), running `cv`, and leak checks that cover
//! the monitor processes too.
#![allow(dead_code)]

pub mod app_image;
pub mod dns;
pub mod events;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use containerv_testutil::{assert_no_leftovers, temp_root, TempRoot};

pub struct Cv {
    pub root: TempRoot,
    pub images: PathBuf,
}

/// One image store per machine for these tests: the built-in image is
/// made once (concurrent makers are safe: the store writes atomically).
pub fn shared_images() -> PathBuf {
    std::env::temp_dir().join("containerv-engine-test-images")
}

impl Cv {
    pub fn new() -> Cv {
        containerv_testutil::require_root();
        Cv {
            root: temp_root(),
            images: shared_images(),
        }
    }

    pub fn engine_root(&self) -> PathBuf {
        self.root.path().join("engine")
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        self.cmd_of(Path::new(env!("CARGO_BIN_EXE_cv")), args)
    }

    /// [`Cv::cmd`] with another `cv` binary (a private copy).
    pub fn cmd_of(&self, bin: &Path, args: &[&str]) -> Command {
        let mut c = Command::new(bin);
        c.arg("--root")
            .arg(self.engine_root())
            .arg("--image-root")
            .arg(&self.images)
            .args(args)
            // The monitor from this very `cv` (a `cv-monitor` beside it
            // may be from an older build).
            .env("CV_MONITOR_BUILTIN", "1")
            // The engine's DNS server forwards nothing: a name no
            // container has never reaches a real resolver.
            .env("CONTAINERV_DNS_UPSTREAM", "none")
            .stdin(Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "cv {args:?} failed ({}): {}\n{}",
            o.status,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Runs and asserts failure; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            !o.status.success(),
            "cv {args:?} should have failed: {}",
            String::from_utf8_lossy(&o.stdout)
        );
        String::from_utf8_lossy(&o.stderr).into_owned()
    }

    /// `run -d` → the full id.
    pub fn run_d(&self, args: &[&str]) -> String {
        let mut a = vec!["run", "-d"];
        a.extend_from_slice(args);
        self.ok(&a).trim().to_string()
    }

    pub fn inspect(&self, c: &str, tmpl: &str) -> String {
        self.ok(&["inspect", "-f", tmpl, c]).trim().to_string()
    }

    /// Polls `inspect -f tmpl` until it equals `want` (panics after `limit`).
    pub fn wait_for(&self, c: &str, tmpl: &str, want: &str, limit: Duration) {
        let end = Instant::now() + limit;
        loop {
            let got = self.inspect(c, tmpl);
            if got == want {
                return;
            }
            assert!(
                Instant::now() < end,
                "{c}: {tmpl} is {got:?}, wanted {want:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Ids of every container in this test's store.
    pub fn ids(&self) -> Vec<String> {
        std::fs::read_dir(self.engine_root().join("containers"))
            .map(|r| {
                r.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Nothing of container `id` is left: record, core state, cgroup,
    /// mount, container process or monitor.
    pub fn assert_gone(&self, id: &str) {
        let end = Instant::now() + Duration::from_secs(3);
        // An init orphaned by a killed monitor is reaped by pid 1, which
        // may take a moment.
        while (self.engine_root().join("containers").join(id).exists()
            || !monitors_of(id).is_empty()
            || !containerv_testutil::processes_mentioning(id).is_empty())
            && Instant::now() < end
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            !self.engine_root().join("containers").join(id).exists(),
            "record of {id} left"
        );
        assert_no_leftovers(&self.engine_root().join("runtime"), id);
        let monitors = monitors_of(id);
        assert!(monitors.is_empty(), "monitors of {id} left: {monitors:?}");
    }

    /// Removes everything (for tests that fail half way).
    pub fn cleanup(&self) {
        for id in self.ids() {
            let _ = self.run(&["rm", "-f", &id]);
        }
    }
}

impl Drop for Cv {
    fn drop(&mut self) {
        self.cleanup();
        // The networks too: the default bridge is kept between
        // containers (as docker0) until the engine is reset.
        let _ = self.run(&["system", "reset", "-f"]);
    }
}

/// Pids of monitor processes of container `id`.
pub fn monitors_of(id: &str) -> Vec<i32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmd);
        if (cmd.contains("__monitor") || cmd.contains("cv-monitor")) && cmd.contains(id) {
            out.push(pid);
        }
    }
    out
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}
