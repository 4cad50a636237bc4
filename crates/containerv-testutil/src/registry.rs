//! A real OCI registry (Debian's docker-registry, distribution 2.8) on
//! 127.0.0.1 for pull/push tests, started by the repo's
//! `tools/registry/start-registry.sh` (anonymous, basic auth or bearer
//! tokens from `token-server.py`), with the test images of
//! `push-test-image.sh`. Every process started here is killed by PID when
//! the fixture is dropped, even when the test fails.

use std::path::{Path, PathBuf};
use std::process::Command;

/// How the registry authenticates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegistryAuth {
    Anonymous,
    /// HTTP basic with this `user:pass`.
    Basic(String),
    /// Bearer tokens from a token server that wants this `user:pass`.
    Token(String),
}

/// A running registry; stopped and its state removed on drop.
pub struct TestRegistry {
    /// `127.0.0.1:PORT`.
    pub addr: String,
    pub state: PathBuf,
    pub auth: RegistryAuth,
    pids: Vec<i32>,
    children: Vec<std::process::Child>,
}

/// The repo's `tools/registry` directory.
pub fn tools_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/registry")
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

impl TestRegistry {
    /// Starts a registry with `auth`.
    pub fn start(auth: RegistryAuth) -> Self {
        let state = std::env::temp_dir().join(crate::unique_id("registry"));
        std::fs::create_dir_all(&state).unwrap();
        let mut reg = TestRegistry {
            addr: String::new(),
            state: state.clone(),
            auth: auth.clone(),
            pids: Vec::new(),
            children: Vec::new(),
        };
        let tools = tools_dir();
        let mut cmd = Command::new(tools.join("start-registry.sh"));
        cmd.arg("-d").arg(state.join("reg"));
        match &auth {
            RegistryAuth::Anonymous => {}
            RegistryAuth::Basic(c) => {
                cmd.arg("-u").arg(c);
            }
            RegistryAuth::Token(c) => {
                let tdir = state.join("token");
                let child = Command::new("python3")
                    .arg(tools.join("token-server.py"))
                    .arg(&tdir)
                    .arg(c)
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .expect("start token-server.py");
                reg.children.push(child);
                let url = tdir.join("token.url");
                for _ in 0..200 {
                    if url.exists() {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                let realm = std::fs::read_to_string(&url).expect("token server did not start");
                cmd.arg("-t").arg(format!(
                    "{},{}",
                    realm.trim(),
                    tdir.join("token.crt").display()
                ));
            }
        }
        // The script backgrounds the registry and writes its pid; record it
        // before checking the result so a failure still kills it.
        let out = cmd.output().expect("run start-registry.sh");
        if let Ok(p) = std::fs::read_to_string(state.join("reg/registry.pid")) {
            if let Ok(p) = p.trim().parse() {
                reg.pids.push(p);
            }
        }
        assert!(
            out.status.success(),
            "start-registry.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        reg.addr = String::from_utf8_lossy(&out.stdout).trim().to_string();
        reg
    }

    /// `user:pass` of this registry, if it wants any.
    pub fn creds(&self) -> Option<&str> {
        match &self.auth {
            RegistryAuth::Anonymous => None,
            RegistryAuth::Basic(c) | RegistryAuth::Token(c) => Some(c),
        }
    }

    /// Pushes busybox:{latest,latest-docker,multi,multiarch} to `repo`.
    pub fn push_test_images(&self, repo: &str) {
        let mut cmd = Command::new(tools_dir().join("push-test-image.sh"));
        if let Some(c) = self.creds() {
            cmd.arg("-u").arg(c);
        }
        cmd.arg(&self.addr).arg(repo);
        run(&mut cmd);
    }

    /// Copies an image into the registry with skopeo (`src` is any skopeo
    /// transport reference, e.g. `oci:DIR:TAG`).
    pub fn skopeo_push(&self, src: &str, repo_tag: &str) {
        let mut cmd = Command::new("skopeo");
        cmd.args(["copy", "-q", "--dest-tls-verify=false"]);
        if let Some(c) = self.creds() {
            cmd.arg("--dest-creds").arg(c);
        }
        cmd.arg(src)
            .arg(format!("docker://{}/{repo_tag}", self.addr));
        run(&mut cmd);
    }

    /// How many blob downloads (`GET …/blobs/sha256:…`) the registry has
    /// served so far, from its access log.
    pub fn blob_gets(&self) -> usize {
        let log = std::fs::read_to_string(self.state.join("reg/registry.log")).unwrap_or_default();
        log.lines()
            .filter(|l| {
                l.contains("\"GET /v2/") && l.contains("/blobs/sha256:") && l.contains("\" 200 ")
            })
            .count()
    }

    /// The registry's pid.
    pub fn pids(&self) -> &[i32] {
        &self.pids
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        for &pid in &self.pids {
            // SAFETY: kill(2) on a pid this fixture started; no memory involved.
            unsafe {
                libc_kill(pid, 9);
            }
        }
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.state);
    }
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}
