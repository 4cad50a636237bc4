//! `cv run`'s mounts as docker and podman make them, read from the
//! container's own /proc/self/mountinfo: /proc with nosuid,nodev,noexec;
//! podman's masked paths (here `/sys/dev/block`; this host has no
//! `/sys/devices/virtual/powercap`, so that one is checked in the spec);
//! at least every /proc and /sys mount podman+runc make on the same
//! rootfs; and no file made in a host directory bound over /etc.
#![cfg(target_os = "linux")]

mod common;

use common::{path_str, Cv};
use containerv_testutil::peer::{self, run_ok, PodmanConfig};
use containerv_testutil::temp_root;

const IMG: &str = "containerv/busybox";

/// (mount point, mount options) of each line of a mountinfo text.
fn mounts(mountinfo: &str) -> Vec<(String, String)> {
    mountinfo
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Some((f.get(4)?.to_string(), f.get(5)?.to_string()))
        })
        .collect()
}

fn proc_options(m: &[(String, String)]) -> String {
    m.iter()
        .find(|(p, _)| p == "/proc")
        .map(|(_, o)| o.clone())
        .unwrap_or_default()
}

/// Mount points under /proc and /sys, not the cgroup hierarchies.
fn proc_and_sys(m: &[(String, String)]) -> Vec<String> {
    let mut v: Vec<String> = m
        .iter()
        .map(|(p, _)| p.clone())
        .filter(|p| {
            (p.starts_with("/proc/") || p.starts_with("/sys/")) && !p.starts_with("/sys/fs/cgroup")
        })
        .collect();
    v.sort();
    v
}

#[test]
fn proc_options_masked_paths_and_bind_sources_as_podman() {
    let cv = Cv::new();
    let host_etc = temp_root();
    let etc = format!("{}:/etc", path_str(host_etc.path()));
    // No network, like podman's side below; and the engine's default bridge
    // would be removed by the reset at the end from this thread's private
    // /run (after `private_run`), which does not hold the engine's markers.
    let out = cv.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        &etc,
        IMG,
        "cat",
        "/proc/self/mountinfo",
    ]);
    let ours = mounts(&out);
    // The spec the engine built: both of podman's additions are there.
    let id = cv.run_d(&["--network", "none", IMG, "sleep", "100"]);
    let state: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            cv.engine_root()
                .join("runtime")
                .join(&id)
                .join("state.json"),
        )
        .unwrap(),
    )
    .unwrap();
    cv.ok(&["rm", "-f", &id]);
    cv.assert_gone(&id);
    let masked = state["spec"]["linux"]["maskedPaths"].to_string();

    // podman with runc on the same rootfs, as the reference.
    peer::private_run();
    let conf = PodmanConfig::new("", "");
    let podman = || {
        let mut c = conf.cmd();
        c.args(["--runtime", "runc", "--cgroup-manager", "cgroupfs"]);
        c
    };
    let tar = peer::rootfs_tar(conf.dir.path());
    run_ok(podman().args(["import", tar.to_str().unwrap(), "localhost/cvmounts:test"]));
    let theirs = mounts(&run_ok(podman().args([
        "run",
        "--rm",
        "--network",
        "none",
        "localhost/cvmounts:test",
        "cat",
        "/proc/self/mountinfo",
    ])));
    let _ = podman().args(["rmi", "-a", "-f"]).output();

    for o in ["nosuid", "nodev", "noexec"] {
        assert!(proc_options(&ours).contains(o), "/proc: {out}");
        assert!(proc_options(&theirs).contains(o), "podman's /proc");
    }
    for p in ["/sys/devices/virtual/powercap", "/sys/dev/block"] {
        assert!(masked.contains(p), "{p} not masked: {masked}");
    }
    assert!(ours.iter().any(|(p, _)| p == "/sys/dev/block"), "{out}");
    let (o, t) = (proc_and_sys(&ours), proc_and_sys(&theirs));
    let missing: Vec<&String> = t.iter().filter(|p| !o.contains(p)).collect();
    assert!(
        missing.is_empty(),
        "podman masks {missing:?} too; ours: {o:?}"
    );
    // Nothing was made in the host directory bound over /etc.
    assert_eq!(std::fs::read_dir(host_etc.path()).unwrap().count(), 0);
}
