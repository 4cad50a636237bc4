//! cv's isolation defaults side by side with podman's, read the same way
//! from inside (/proc/self/status: the five capability sets, Seccomp,
//! NoNewPrivs) for `run`, `-u 1000`, `--privileged` and `--cap-drop ALL`.
//!
//! podman 4.3 runs with runc, not crun: crun 1.8 refuses this hybrid
//! cgroup host outright (ENVIRONMENT.md), and the comparison is of the
//! engines' defaults, which both hand to the OCI runtime in the spec.
//! podman runs the same static busybox (the test rootfs, `--rootfs`, a
//! private copy since podman writes /etc/hosts into it), its own config
//! and storage under a temp dir, a private /run, `--network none` and a
//! cgroup parent of its own that is removed (and checked gone) at the end.
//!
//! podman 4.3's defaults are docker's here (the same 14 capabilities,
//! a filter, no no_new_privs), so every row must match field for field.

mod common;

use std::collections::BTreeMap;

use common::Cv;
use containerv_testutil::peer::{have, private_run, remove_cgroups, run_ok, PodmanConfig};
use containerv_testutil::{busybox_rootfs_copy, cgroups_named, temp_root, unique_id};

type Status = BTreeMap<String, String>;

fn parse(text: &str) -> Status {
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(k, _)| k.starts_with("Cap") || *k == "Seccomp" || *k == "NoNewPrivs")
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

fn mask(s: &Status, k: &str) -> u64 {
    u64::from_str_radix(&s[k], 16).unwrap()
}

#[test]
fn defaults_match_podman_where_docker_and_podman_agree() {
    containerv_testutil::require_root();
    if !have("podman") || !have("runc") {
        panic!("podman and runc are needed (scripts/install-deps installs them)");
    }
    let cv = Cv::new();
    private_run();
    let conf = PodmanConfig::new("", "runtime = \"runc\"\n");
    let parent = unique_id("cvsecpodman");
    let rootfs_dir = temp_root();
    let rootfs = busybox_rootfs_copy(&rootfs_dir.path().join("rootfs"));
    let podman = |flags: &[&str]| -> Status {
        let mut c = conf.cmd();
        c.env("TMPDIR", conf.dir.path())
            .args([
                "run",
                "--rm",
                "--network",
                "none",
                "--cgroup-parent",
                &parent,
            ])
            .args(flags)
            .arg("--rootfs")
            .arg(&rootfs)
            .args(["cat", "/proc/self/status"]);
        parse(&run_ok(&mut c))
    };
    let cv_status = |flags: &[&str]| -> Status {
        // No network, like podman's side (and the engine's default bridge
        // would be claimed in this thread's private /run, then left).
        let mut a = vec!["run", "--rm", "--network", "none"];
        a.extend_from_slice(flags);
        a.extend_from_slice(&["containerv/busybox", "cat", "/proc/self/status"]);
        parse(&cv.ok(&a))
    };

    let rows: [&[&str]; 4] = [
        &[],
        &["-u", "1000"],
        &["--privileged"],
        &["--cap-drop", "ALL"],
    ];
    let mut table = Vec::new();
    for flags in rows {
        let (c, p) = (cv_status(flags), podman(flags));
        eprintln!("{flags:?}\n  cv:     {c:?}\n  podman: {p:?}");
        // Both: never inheritable or ambient; the same seccomp mode and
        // no_new_privs.
        for s in [&c, &p] {
            assert_eq!(mask(s, "CapInh"), 0, "{flags:?}: {s:?}");
            assert_eq!(mask(s, "CapAmb"), 0, "{flags:?}: {s:?}");
        }
        assert_eq!(c["Seccomp"], p["Seccomp"], "{flags:?}");
        assert_eq!(c["NoNewPrivs"], p["NoNewPrivs"], "{flags:?}");
        assert_eq!(c, p, "{flags:?}: cv and podman differ");
        table.push((flags, c, p));
    }
    let (_, c, p) = &table[0];
    assert_eq!(c["Seccomp"], "2", "both filter by default");
    assert_eq!(mask(c, "CapBnd"), 0xa80425fb, "docker's 14");
    assert_eq!(
        mask(p, "CapBnd") & !mask(c, "CapBnd"),
        0,
        "podman's set is inside docker's"
    );
    assert_eq!(mask(c, "CapEff"), mask(c, "CapBnd"));
    assert_eq!(mask(p, "CapEff"), mask(p, "CapBnd"));
    // -u 1000: nothing effective or permitted in either.
    let (_, c, p) = &table[1];
    for s in [c, p] {
        assert_eq!((mask(s, "CapEff"), mask(s, "CapPrm")), (0, 0), "{s:?}");
    }
    // --privileged: the same full set, no filter.
    let (_, c, p) = &table[2];
    assert_eq!(c["Seccomp"], "0");
    for k in ["CapEff", "CapPrm", "CapBnd"] {
        assert_eq!(c[k], p[k], "--privileged {k}");
    }
    // --cap-drop ALL: nothing anywhere, still filtered.
    let (_, c, p) = &table[3];
    for k in ["CapEff", "CapPrm", "CapBnd"] {
        assert_eq!((mask(c, k), mask(p, k)), (0, 0), "--cap-drop ALL {k}");
    }
    assert_eq!(c["Seccomp"], "2");

    // Cleanup: no container, no cgroup left by either.
    let _ = conf.cmd().args(["rm", "-a", "-f", "-t", "0"]).output();
    let _ = conf.cmd().args(["system", "reset", "-f"]).output();
    remove_cgroups(&parent);
    assert!(
        cgroups_named(&parent).is_empty(),
        "{:?}",
        cgroups_named(&parent)
    );
    assert!(cv.ids().is_empty(), "--rm left {:?}", cv.ids());
}
