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

    /// How many blob range requests (`GET …/blobs/sha256:…` answered
    /// `206 Partial Content`) the registry has served so far: resumed
    /// downloads.
    pub fn blob_range_gets(&self) -> usize {
        let log = std::fs::read_to_string(self.state.join("reg/registry.log")).unwrap_or_default();
        log.lines()
            .filter(|l| {
                l.contains("\"GET /v2/") && l.contains("/blobs/sha256:") && l.contains("\" 206 ")
            })
            .count()
    }

    /// Pushes an image of one layer per entry of `kib` (each adds a file of
    /// that many KiB of random data; the first also a static busybox) as
    /// `repo_tag`, with `tools/registry/push-random-image.sh`. `zstd`:
    /// zstd-compressed layers (else gzip).
    pub fn push_random_image(&self, repo_tag: &str, kib: &[usize], zstd: bool) -> String {
        let mut cmd = Command::new(tools_dir().join("push-random-image.sh"));
        if let Some(c) = self.creds() {
            cmd.arg("-u").arg(c);
        }
        if zstd {
            cmd.arg("-z");
        }
        cmd.arg(&self.addr).arg(repo_tag);
        cmd.args(kib.iter().map(|k| k.to_string()));
        run(&mut cmd)
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

/// Faults a [`FlakyProxy`] injects.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Close this many connections as soon as they are accepted, before a
    /// byte is exchanged (a registry that drops connections).
    pub refuse_first: usize,
    /// After those, cut this many connections once `cut_after` bytes have
    /// gone back to the client (a transfer broken half way): the first
    /// ones to get that far, whichever they are (a client may fetch the
    /// manifest, config and layers on one connection or several, in any
    /// order).
    pub cut_first: usize,
    pub cut_after: u64,
    /// Limit the registry → client direction to this many bytes a second
    /// per connection (to make a transfer slow enough to interrupt).
    pub rate: Option<u64>,
    /// Hide `Range` request headers from the registry (renamed in place),
    /// as a registry or proxy that does not do ranges: it answers 200 with
    /// the whole blob.
    pub ignore_range: bool,
}

/// A TCP proxy on 127.0.0.1 in front of a registry that injects
/// [`Faults`]. Stopped (threads joined, sockets closed) on drop.
pub struct FlakyProxy {
    /// `127.0.0.1:PORT`: use it instead of the registry's address.
    pub addr: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    injected: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    accept: Option<std::thread::JoinHandle<()>>,
}

impl FlakyProxy {
    /// Starts a proxy to `upstream` (`host:port`).
    pub fn start(upstream: &str, faults: Faults) -> Self {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        use std::sync::Arc;
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        l.set_nonblocking(true).unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let injected = Arc::new(AtomicUsize::new(0));
        let cuts_left = Arc::new(AtomicUsize::new(faults.cut_first));
        let (stop2, injected2, upstream) = (stop.clone(), injected.clone(), upstream.to_string());
        let accept = std::thread::spawn(move || {
            let mut n = 0usize;
            let mut conns = Vec::new();
            while !stop2.load(Ordering::Relaxed) {
                let c = match l.accept() {
                    Ok((c, _)) => c,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(std::time::Duration::from_millis(5));
                        continue;
                    }
                    Err(_) => break,
                };
                n += 1;
                if n <= faults.refuse_first {
                    injected2.fetch_add(1, Ordering::Relaxed);
                    let _ = c.shutdown(std::net::Shutdown::Both);
                    continue;
                }
                let cut = (faults.cut_first > 0).then(|| (faults.cut_after, cuts_left.clone()));
                let Ok(up) = std::net::TcpStream::connect(&upstream) else {
                    continue;
                };
                c.set_nonblocking(false).unwrap();
                conns.extend(pump_pair(
                    c,
                    up,
                    cut,
                    faults.rate,
                    faults.ignore_range,
                    &stop2,
                    &injected2,
                ));
            }
            for h in conns {
                let _ = h.join();
            }
        });
        FlakyProxy {
            addr,
            stop,
            injected,
            accept: Some(accept),
        }
    }

    /// How many faults were injected so far.
    pub fn injected(&self) -> usize {
        self.injected.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Copies both ways between client `c` and upstream `u` in two threads.
fn pump_pair(
    c: std::net::TcpStream,
    u: std::net::TcpStream,
    cut: Option<Cut>,
    rate: Option<u64>,
    ignore_range: bool,
    stop: &std::sync::Arc<std::sync::atomic::AtomicBool>,
    injected: &std::sync::Arc<std::sync::atomic::AtomicUsize>,
) -> [std::thread::JoinHandle<()>; 2] {
    let tick = Some(std::time::Duration::from_millis(100));
    for s in [&c, &u] {
        let _ = s.set_read_timeout(tick);
    }
    let (c2, u2) = (c.try_clone().unwrap(), u.try_clone().unwrap());
    let (s1, s2) = (stop.clone(), stop.clone());
    let inj = injected.clone();
    let up = std::thread::spawn(move || pump(c, u, None, None, ignore_range, &s1, None));
    let down = std::thread::spawn(move || pump(u2, c2, cut, rate, false, &s2, Some(&inj)));
    [up, down]
}

/// Cut after this many bytes, if one of the shared cuts is left.
type Cut = (u64, std::sync::Arc<std::sync::atomic::AtomicUsize>);

fn pump(
    mut from: std::net::TcpStream,
    mut to: std::net::TcpStream,
    mut cut: Option<Cut>,
    rate: Option<u64>,
    hide_range: bool,
    stop: &std::sync::atomic::AtomicBool,
    injected: Option<&std::sync::atomic::AtomicUsize>,
) {
    use std::io::{Read, Write};
    use std::sync::atomic::Ordering;
    let mut buf = vec![0u8; 64 << 10];
    let mut sent = 0u64;
    let start = std::time::Instant::now();
    while !stop.load(Ordering::Relaxed) {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                continue
            }
            Err(_) => break,
        };
        if hide_range {
            // Request headers are small and arrive whole; a same-length
            // rename keeps every other byte where it was.
            for i in 0..n.saturating_sub(8) {
                if buf[i..i + 8].eq_ignore_ascii_case(b"\r\nrange:") {
                    buf[i + 2..i + 7].copy_from_slice(b"x-rng");
                }
            }
        }
        if let Some((limit, left)) = &cut {
            if sent + n as u64 >= *limit {
                let claimed = left
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |l| l.checked_sub(1))
                    .is_ok();
                if claimed {
                    let _ = to.write_all(&buf[..(*limit - sent) as usize]);
                    if let Some(i) = injected {
                        i.fetch_add(1, Ordering::Relaxed);
                    }
                    break;
                }
                cut = None;
            }
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
        sent += n as u64;
        if let Some(r) = rate {
            let due = std::time::Duration::from_secs_f64(sent as f64 / r as f64);
            if let Some(wait) = due.checked_sub(start.elapsed()) {
                std::thread::sleep(wait);
            }
        }
    }
    let _ = from.shutdown(std::net::Shutdown::Both);
    let _ = to.shutdown(std::net::Shutdown::Both);
}

impl Drop for FlakyProxy {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}
