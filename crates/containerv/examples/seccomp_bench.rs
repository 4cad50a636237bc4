//! seccomp benchmark: how long compiling docker's default profile takes
//! (containerv's Rust compiler; runc does the same work in libseccomp at
//! create time), and what the loaded filter costs a busy process, side by
//! side with runc on the same bundle and profile, in one run.
//!
//! ```sh
//! sudo cargo run --release -p containerv --example seccomp_bench -- [N]
//! ```
//!
//! The workload is `dd if=/dev/zero of=/dev/null bs=1 count=1000000` in a
//! busybox container (2 million read/write syscalls), run with docker's
//! default profile and with no profile; the difference over 2e6 is the
//! filter's cost per syscall.

#[cfg(target_os = "linux")]
#[path = "../tests/seccomp_common/docker.rs"]
mod docker;

#[cfg(target_os = "linux")]
fn main() {
    use std::time::Instant;

    use containerv::{CreateConfig, InitKind, Runtime, Spec, Stdio};
    use serde_json::{json, Value};

    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(7);
    const SYSCALLS: f64 = 2e6;

    // 1. Compile time.
    let profile = docker::docker_default(&[]);
    let seccomp = serde_json::from_value(profile.clone()).unwrap();
    let mut times: Vec<f64> = (0..200)
        .map(|_| {
            let t = Instant::now();
            let p = containerv::linux::seccomp::compile(&seccomp).unwrap();
            std::hint::black_box(p);
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    times.sort_by(|a, b| a.total_cmp(b));
    let prog = containerv::linux::seccomp::compile(&seccomp).unwrap();
    println!(
        "compile docker default profile (x86_64+x86+x32): median {:.0} us, p90 {:.0} us, {} BPF instructions",
        times[times.len() / 2],
        times[times.len() * 9 / 10],
        prog.instructions().len()
    );

    // 2. Runtime cost, containerv vs runc.
    let work = std::env::temp_dir().join(format!("cv-sc-bench-{}", std::process::id()));
    let bundle = work.join("bundle");
    std::fs::create_dir_all(&bundle).unwrap();
    let st = std::process::Command::new("runc")
        .args(["spec", "--bundle"])
        .arg(&bundle)
        .status()
        .unwrap();
    assert!(st.success(), "runc spec");
    let write = |seccomp: Option<&Value>| {
        let p = bundle.join("config.json");
        let mut v: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        v["root"] = json!({"path": containerv_testutil::busybox_rootfs(), "readonly": true});
        v["process"]["args"] = json!([
            "dd",
            "if=/dev/zero",
            "of=/dev/null",
            "bs=1",
            "count=1000000"
        ]);
        v["process"]["terminal"] = json!(false);
        v["linux"]["cgroupsPath"] = json!(format!("containerv-sc-bench-{}", std::process::id()));
        match seccomp {
            Some(s) => v["linux"]["seccomp"] = s.clone(),
            None => {
                if let Some(l) = v["linux"].as_object_mut() {
                    l.remove("seccomp");
                }
            }
        }
        std::fs::write(&p, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    };
    let rt = Runtime::new(work.join("cv-root")).unwrap();
    let ours = |i: usize| {
        let spec = Spec::load(bundle.join("config.json")).unwrap();
        let config = CreateConfig {
            init: InitKind::SpecProcess,
            bundle: Some(bundle.clone()),
            stdout: Stdio::Null,
            stderr: Stdio::Null,
            ..Default::default()
        };
        let t = Instant::now();
        let c = rt
            .create_from_spec(&format!("scb-{}-{i}", std::process::id()), spec, config)
            .unwrap();
        assert!(c.wait().unwrap().success());
        let e = t.elapsed().as_secs_f64();
        c.destroy().unwrap();
        e
    };
    let runc = |i: usize| {
        let t = Instant::now();
        let st = std::process::Command::new("runc")
            .arg("--root")
            .arg(work.join("runc-root"))
            .args(["run", "--bundle"])
            .arg(&bundle)
            .arg(format!("scb-runc-{}-{i}", std::process::id()))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(st.success(), "runc run");
        t.elapsed().as_secs_f64()
    };
    let median = |f: &dyn Fn(usize) -> f64| {
        let mut v: Vec<f64> = (0..n).map(f).collect();
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    let mut rows = Vec::new();
    for (label, s) in [("no seccomp", None), ("docker default", Some(&profile))] {
        write(s);
        // Interleaved so drift hits both alike.
        let (o, r) = (median(&ours), median(&runc));
        println!(
            "{label:15} dd 2e6 syscalls: containerv {o:.3} s  runc {r:.3} s  (ratio {:.2})",
            o / r
        );
        rows.push((o, r));
    }
    let per = |with: f64, without: f64| (with - without) / SYSCALLS * 1e9;
    let (o, r) = (per(rows[1].0, rows[0].0), per(rows[1].1, rows[0].1));
    println!(
        "filter cost per syscall: containerv {o:.0} ns  runc {r:.0} ns  (ratio {:.2})",
        o / r
    );
    let _ = std::fs::remove_dir_all(&work);
}

#[cfg(not(target_os = "linux"))]
fn main() {}
