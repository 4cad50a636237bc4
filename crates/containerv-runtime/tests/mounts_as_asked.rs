//! The OCI runtime mounts what the spec asks for and nothing else: no
//! /etc/hostname, /etc/hosts or /etc/resolv.conf of its own (podman and
//! containerd give those as spec mounts when they want them), and no file
//! made in a host directory a bind mount names as its source. Read from
//! the container's own /proc/self/mountinfo.
#![cfg(target_os = "linux")]

mod common;

use std::path::Path;

use common::*;
use containerv_testutil::temp_root;

/// Mount points (field 5) of a mountinfo text.
fn mount_points(mountinfo: &str) -> Vec<String> {
    mountinfo
        .lines()
        .filter_map(|l| l.split_whitespace().nth(4).map(str::to_string))
        .collect()
}

#[test]
fn only_the_specs_mounts_and_nothing_in_bind_sources() {
    let b = Bundle::new(&["cat", "/proc/self/mountinfo"]);
    let host_etc = temp_root();
    std::fs::write(host_etc.path().join("passwd"), "root:x:0:0::/:/bin/sh\n").unwrap();
    let host_data = temp_root();
    b.edit(|c| {
        let m = c["mounts"].as_array_mut().unwrap();
        m.push(serde_json::json!({
            "destination": "/etc", "type": "bind",
            "source": host_etc.path(), "options": ["rbind", "rw"],
        }));
        m.push(serde_json::json!({
            "destination": "/data", "type": "bind",
            "source": host_data.path(), "options": ["rbind", "rw"],
        }));
    });
    let spec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(b.config()).unwrap()).unwrap();
    let id = id("mounts-asked");
    let out = b.ok(&["run", "--bundle", b.dir.path().to_str().unwrap(), &id]);
    containerv_testutil::assert_no_leftovers(b.root.path(), &id);

    // Every mount point is the root, a spec mount or below one (the
    // cgroup hierarchies under /sys/fs/cgroup, /dev/pts under /dev), or
    // a masked or read-only path of the spec.
    let mut asked: Vec<String> = vec!["/".into()];
    for m in spec["mounts"].as_array().unwrap() {
        asked.push(m["destination"].as_str().unwrap().to_string());
    }
    let linux = &spec["linux"];
    let listed = |k: &str| -> Vec<String> {
        linux[k]
            .as_array()
            .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    };
    let paths: Vec<String> = listed("maskedPaths")
        .into_iter()
        .chain(listed("readonlyPaths"))
        .collect();
    for mp in mount_points(&out) {
        let ok = asked
            .iter()
            .any(|a| a == &mp || (a != "/" && Path::new(&mp).starts_with(a)))
            || paths.contains(&mp);
        assert!(ok, "{mp} was not asked for by the spec:\n{out}");
    }
    for f in ["/etc/hostname", "/etc/hosts", "/etc/resolv.conf"] {
        assert!(!mount_points(&out).iter().any(|m| m == f), "{f}:\n{out}");
    }
    // The bind sources are as they were.
    let names = |d: &Path| -> Vec<String> {
        std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    };
    assert_eq!(names(host_etc.path()), ["passwd"]);
    assert!(names(host_data.path()).is_empty());
}
