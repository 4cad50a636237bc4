//! `-P` publishes what the image's `EXPOSE` says: an OCI image made from
//! the built-in busybox by editing its config as a builder would
//! (`ExposedPorts` 8080/tcp and 5353/udp; new config and manifest digests),
//! loaded with `cv load`; each exposed port gets a free host port, `cv
//! port` and inspect name it, a server behind it answers on 127.0.0.1,
//! and nothing is left in the nft table after `rm -f`.
#![cfg(target_os = "linux")]

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::Cv;
use serde_json::{json, Value};

fn sh(cmd: &mut Command) -> String {
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Writes `data` as a blob of the OCI layout at `dir`: (digest, size).
fn put_blob(dir: &Path, data: &[u8]) -> (String, usize) {
    let tmp = dir.join("blob.tmp");
    std::fs::write(&tmp, data).unwrap();
    let sum = sh(Command::new("sha256sum").arg(&tmp));
    let hex = sum.split_whitespace().next().unwrap().to_string();
    std::fs::rename(&tmp, dir.join("blobs/sha256").join(&hex)).unwrap();
    (format!("sha256:{hex}"), data.len())
}

fn read_blob(dir: &Path, digest: &str) -> Value {
    let hex = digest.strip_prefix("sha256:").unwrap();
    serde_json::from_slice(&std::fs::read(dir.join("blobs/sha256").join(hex)).unwrap()).unwrap()
}

/// The built-in busybox with `EXPOSE 8080/tcp 5353/udp`, loaded as `name`.
fn load_exposed_image(cv: &Cv, name: &str) {
    let work = containerv_testutil::temp_root();
    let dir = work.path().join("oci");
    std::fs::create_dir_all(&dir).unwrap();
    let tar = work.path().join("img.tar");
    cv.ok(&["save", "-o", tar.to_str().unwrap(), "containerv/busybox"]);
    sh(Command::new("tar").arg("xf").arg(&tar).arg("-C").arg(&dir));
    let mut index: Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let mut manifest = read_blob(&dir, index["manifests"][0]["digest"].as_str().unwrap());
    let mut config = read_blob(&dir, manifest["config"]["digest"].as_str().unwrap());
    config["config"]["ExposedPorts"] = json!({"8080/tcp": {}, "5353/udp": {}});
    let (cd, cs) = put_blob(&dir, &serde_json::to_vec(&config).unwrap());
    manifest["config"]["digest"] = json!(cd);
    manifest["config"]["size"] = json!(cs);
    let (md, ms) = put_blob(&dir, &serde_json::to_vec(&manifest).unwrap());
    index["manifests"][0]["digest"] = json!(md);
    index["manifests"][0]["size"] = json!(ms);
    let full = format!("docker.io/{name}");
    index["manifests"][0]["annotations"] = json!({
        "io.containerd.image.name": full,
        "org.opencontainers.image.ref.name": full,
    });
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    let out = work.path().join("exposed.tar");
    sh(Command::new("tar")
        .arg("cf")
        .arg(&out)
        .arg("-C")
        .arg(&dir)
        .arg("."));
    cv.ok(&["load", "-i", out.to_str().unwrap()]);
}

fn nft_table() -> String {
    let o = Command::new("nft")
        .args(["list", "table", "ip", "containerv"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn publish_all_publishes_the_images_exposed_ports() {
    let cv = Cv::new();
    let name = format!("cvtest/exposed:{}", containerv_testutil::unique_id("p"));
    load_exposed_image(&cv, &name);
    let c = cv.run_d(&[
        "-P",
        &name,
        "sh",
        "-c",
        "while true; do echo from-exposed | nc -l -p 8080; done",
    ]);
    // Both exposed ports, each on a host port of its own.
    let tcp = cv.ok(&["port", &c, "8080/tcp"]);
    let udp = cv.ok(&["port", &c, "5353/udp"]);
    let host_port = |s: &str| -> u16 {
        s.lines()
            .next()
            .and_then(|l| l.rsplit(':').next())
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("no host port in {s:?}"))
    };
    let (tp, up) = (host_port(&tcp), host_port(&udp));
    assert!(tp > 0 && up > 0, "{tcp} {udp}");
    let ports = cv.inspect(&c, "{{json .NetworkSettings.Ports}}");
    let ports: Value = serde_json::from_str(&ports).unwrap();
    assert_eq!(
        ports["8080/tcp"][0]["HostPort"].as_str(),
        Some(tp.to_string().as_str()),
        "{ports}"
    );
    assert!(ports["5353/udp"][0]["HostPort"].is_string(), "{ports}");
    // The TCP one is reachable from the host on 127.0.0.1.
    let end = Instant::now() + Duration::from_secs(5);
    loop {
        use std::io::Read;
        let sa: std::net::SocketAddr = format!("127.0.0.1:{tp}").parse().unwrap();
        let got =
            std::net::TcpStream::connect_timeout(&sa, Duration::from_secs(2)).and_then(|mut s| {
                s.set_read_timeout(Some(Duration::from_secs(2)))?;
                let mut o = String::new();
                s.read_to_string(&mut o)?;
                Ok(o)
            });
        match got {
            Ok(o) if o.trim() == "from-exposed" => break,
            r => assert!(Instant::now() < end, "127.0.0.1:{tp}: {r:?}"),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(nft_table().contains(&format!("{tp} :")));
    cv.ok(&["rm", "-f", &c]);
    cv.assert_gone(&c);
    let t = nft_table();
    assert!(
        !t.contains(&format!("{tp} :")) && !t.contains(&format!("{up} :")),
        "{t}"
    );
    cv.ok(&["rmi", &name]);
}
