//! Lifecycle benchmark: create (built-in init) → spawn `/bin/true` → wait →
//! destroy, N times, against `crun run` and `runc run` of `/bin/true` on an
//! equivalent busybox bundle, in one run, with ratios.
//!
//! ```sh
//! sudo cargo run --release -p containerv --example bench_lifecycle -- [N]
//! ```
//!
//! crun 1.8 refuses this host's hybrid cgroups unless
//! /sys/fs/cgroup/unified/cgroup.controllers is hidden, so the whole
//! benchmark runs in a private mount namespace (made at start, while
//! single-threaded) where an empty file is bound over it.

#[cfg(target_os = "linux")]
fn main() {
    use std::time::Instant;

    use containerv::{ContainerOptions, ProcessOptions, Runtime};

    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    private_mount_ns_hiding_unified();

    let work = std::env::temp_dir().join(format!("cv-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let rootfs = containerv_testutil::busybox_rootfs_copy(&work.join("bundle/rootfs"));
    let bundle = work.join("bundle");
    write_config(&bundle);

    let rt = Runtime::new(work.join("cv-root")).unwrap();
    let opts = ContainerOptions::new().rootfs(&rootfs);
    let ours = measure(n, |i| {
        let t = Instant::now();
        let c = rt.create(&format!("b{i}"), &opts).unwrap();
        let mut p = c.spawn(ProcessOptions::new(["/bin/true"])).unwrap();
        assert!(p.wait().unwrap().success());
        c.destroy().unwrap();
        t.elapsed().as_secs_f64() * 1e3
    });
    report("containerv create+spawn+wait+destroy", &ours, None);
    for peer in ["crun", "runc"] {
        let root = work.join(format!("{peer}-root"));
        let times = measure(n, |i| {
            let t = Instant::now();
            let st = std::process::Command::new(peer)
                .arg("--root")
                .arg(&root)
                .args(["run", "-b"])
                .arg(&bundle)
                .arg(format!("{peer}-{}-{i}", std::process::id()))
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .status()
                .unwrap();
            assert!(st.success(), "{peer} run failed");
            t.elapsed().as_secs_f64() * 1e3
        });
        report(&format!("{peer} run /bin/true"), &times, Some(&ours));
    }
    let _ = std::fs::remove_dir_all(&work);
}

#[cfg(target_os = "linux")]
fn measure(n: usize, mut f: impl FnMut(usize) -> f64) -> Vec<f64> {
    for i in 0..5 {
        f(1_000_000 + i); // warm-up
    }
    let mut v: Vec<f64> = (0..n).map(&mut f).collect();
    v.sort_by(|a, b| a.total_cmp(b));
    v
}

#[cfg(target_os = "linux")]
fn pct(v: &[f64], p: f64) -> f64 {
    v[((v.len() - 1) as f64 * p).round() as usize]
}

#[cfg(target_os = "linux")]
fn report(name: &str, v: &[f64], ours: Option<&[f64]>) {
    let (med, p90) = (pct(v, 0.5), pct(v, 0.9));
    match ours {
        None => println!(
            "{name:42} N={:4} median {med:7.2} ms  p90 {p90:7.2} ms",
            v.len()
        ),
        Some(o) => println!(
            "{name:42} N={:4} median {med:7.2} ms  p90 {p90:7.2} ms  ({:.2}x containerv's median)",
            v.len(),
            med / pct(o, 0.5)
        ),
    }
}

/// An OCI bundle config running /bin/true, like `runc spec` makes it, with
/// the cgroup placed under the caller's own (relative path).
#[cfg(target_os = "linux")]
fn write_config(bundle: &std::path::Path) {
    let st = std::process::Command::new("runc")
        .args(["spec", "--bundle"])
        .arg(bundle)
        .status()
        .unwrap();
    assert!(st.success(), "runc spec failed");
    let p = bundle.join("config.json");
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
    v["process"]["args"] = serde_json::json!(["/bin/true"]);
    v["process"]["terminal"] = serde_json::json!(false);
    v["linux"]["cgroupsPath"] = serde_json::json!(format!("cv-bench-peer-{}", std::process::id()));
    std::fs::write(&p, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
}

#[cfg(target_os = "linux")]
fn private_mount_ns_hiding_unified() {
    use std::ffi::CString;
    // SAFETY: called at the start of main, single-threaded; only this
    // process's mount namespace changes.
    unsafe {
        assert_eq!(libc::unshare(libc::CLONE_NEWNS), 0, "unshare(CLONE_NEWNS)");
        libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_SLAVE,
            std::ptr::null(),
        );
    }
    let target = "/sys/fs/cgroup/unified/cgroup.controllers";
    if std::path::Path::new(target).exists() {
        let empty = std::env::temp_dir().join(format!("cv-bench-empty-{}", std::process::id()));
        std::fs::write(&empty, "").unwrap();
        let (s, t) = (
            CString::new(empty.to_str().unwrap()).unwrap(),
            CString::new(target).unwrap(),
        );
        // SAFETY: NUL-terminated paths; a bind mount in our private namespace.
        let r = unsafe {
            libc::mount(
                s.as_ptr(),
                t.as_ptr(),
                std::ptr::null(),
                libc::MS_BIND,
                std::ptr::null(),
            )
        };
        assert_eq!(r, 0, "bind over {target}");
        let _ = std::fs::remove_file(&empty);
    }
}

#[cfg(not(target_os = "linux"))]
fn main() {}
