//! Alerting ready: a real Prometheus (Debian's `prometheus`, on 127.0.0.1)
//! scrapes `cv system metrics --listen` and evaluates the example rule
//! shipped in contrib/prometheus/rules.yml; the rule fires for a container
//! that fills its memory, as Prometheus' own HTTP API reports, and not for
//! an idle one.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::Cv;

/// A child process killed and reaped on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Body of `GET path` (HTTP/1.0: no chunked encoding), or None while the
/// server is not up.
fn get(addr: &str, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out.split_once("\r\n\r\n")?.1.to_string())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn the_example_rule_fires_in_a_real_prometheus_for_a_memory_hog() {
    assert!(
        containerv_testutil::peer::have("prometheus"),
        "prometheus missing: scripts/install-deps installs Debian's prometheus"
    );
    let cv = Cv::new();
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contrib/prometheus/rules.yml");
    let o = Command::new("promtool")
        .arg("check")
        .arg("rules")
        .arg(&rules)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}",
        containerv_testutil::peer::describe(&o)
    );

    cv.run_d(&[
        "--name",
        "hog",
        "--memory",
        "32m",
        "containerv/busybox",
        "sleep",
        "1000",
    ]);
    cv.run_d(&[
        "--name",
        "calm",
        "--memory",
        "32m",
        "containerv/busybox",
        "sleep",
        "1000",
    ]);

    let mut srv = cv
        .cmd(&["system", "metrics", "--listen", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(srv.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _srv = Proc(srv);
    let target = line
        .trim()
        .strip_prefix("Serving metrics on http://")
        .and_then(|s| s.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("{line:?}"))
        .to_string();

    let dir = cv.root.path().join("prometheus");
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             rule_files: [{rules:?}]\n\
             scrape_configs:\n  - job_name: containerv\n    static_configs:\n      - targets: [\"{target}\"]\n"
        ),
    )
    .unwrap();
    let web = format!("127.0.0.1:{}", free_port());
    let prom = Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address={web}"))
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(dir.join("log")).unwrap()))
        .spawn()
        .unwrap();
    let _prom = Proc(prom);
    let log = || std::fs::read_to_string(dir.join("log")).unwrap_or_default();

    // Prometheus scrapes our endpoint: the target is up.
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        let body = get(&web, "/api/v1/query?query=up").unwrap_or_default();
        if body.contains("\"value\"") && body.contains(",\"1\"]") {
            break;
        }
        assert!(Instant::now() < end, "target never up: {body}\n{}", log());
        std::thread::sleep(Duration::from_millis(200));
    }

    // Fill 30 MiB of the hog's 32 MiB with tmpfs pages (not reclaimable).
    cv.ok(&[
        "exec",
        "hog",
        "sh",
        "-c",
        "head -c 31457280 /dev/zero > /dev/shm/fill",
    ]);
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        let body = get(&web, "/api/v1/alerts").unwrap_or_default();
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        let alerts = v["data"]["alerts"].as_array().cloned().unwrap_or_default();
        assert!(
            alerts.iter().all(|a| a["labels"]["name"] == "hog"),
            "only the hog may alert: {body}"
        );
        let state = |s: &str| {
            alerts
                .iter()
                .any(|a| a["labels"]["alertname"] == "ContainerMemoryNearLimit" && a["state"] == s)
        };
        if state("firing") {
            break;
        }
        assert!(
            Instant::now() < end,
            "the alert never fired: {body}\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}
