//! A simulated reboot: every process of the test's containers and their
//! monitors killed, their cgroups removed, the core's runtime state
//! stamped with another boot's id (`runtime.boot_id`) (what a fresh boot finds). Then `cv
//! start` works, and the boot step (`cv system restart-policy`, run by
//! contrib/systemd/cv-restart.service) starts exactly what docker's
//! daemon would: `always` (even after a user's stop), `unless-stopped`
//! unless stopped by the user, not `no`.

mod common;
mod faults_common;

use std::time::Duration;

use common::{monitors_of, Cv};
use faults_common::{assert_nothing_left, init_pid, kill9, wait_gone};

fn status(cv: &Cv, c: &str) -> String {
    cv.inspect(c, "{{.State.Status}}")
}

#[test]
fn after_a_reboot_containers_start_and_restart_policies_apply() {
    let cv = Cv::new();
    let run = |name: &str, policy: &str| {
        cv.run_d(&[
            "--name",
            name,
            "--restart",
            policy,
            "containerv/busybox",
            "sleep",
            "300",
        ])
    };
    let ids = vec![
        run("always", "always"),
        run("unless", "unless-stopped"),
        run("never", "no"),
        run("stopped-unless", "unless-stopped"),
        run("stopped-always", "always"),
    ];
    cv.ok(&["stop", "-t", "0", "stopped-unless", "stopped-always"]);

    // The reboot: processes, cgroups, runtime state.
    for (id, name) in ids.iter().zip(["always", "unless", "never"]) {
        let pid = init_pid(&cv, name);
        for m in monitors_of(id) {
            kill9(m);
        }
        kill9(pid);
        wait_gone(pid, Duration::from_secs(3));
    }
    for id in &ids {
        let mut cgs = containerv_testutil::cgroups_named(id);
        cgs.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
        for cg in cgs {
            for _ in 0..100 {
                if std::fs::remove_dir(&cg).is_ok() || !cg.exists() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        assert!(containerv_testutil::cgroups_named(id).is_empty());
    }
    let runtime = cv.engine_root().join("runtime");
    std::fs::write(
        cv.engine_root().join("runtime.boot_id"),
        "00000000-0000-0000-0000-000000000000\n",
    )
    .unwrap();

    // First use after the boot: nothing runs, stale core states are gone.
    let ps = cv.ok(&["ps", "-q"]);
    assert_eq!(ps.trim(), "");
    let left: Vec<_> = std::fs::read_dir(&runtime)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "{left:?}");

    // The boot step.
    let started = cv.ok(&["system", "restart-policy"]);
    let mut started: Vec<&str> = started.lines().collect();
    started.sort();
    assert_eq!(started, ["always", "stopped-always", "unless"]);
    for n in ["always", "stopped-always", "unless"] {
        assert_eq!(status(&cv, n), "running", "{n}");
    }
    for n in ["never", "stopped-unless"] {
        assert_eq!(status(&cv, n), "exited", "{n}");
    }
    // A plain start after the reboot works too.
    cv.ok(&["start", "never"]);
    assert_eq!(status(&cv, "never"), "running");

    cv.ok(&[
        "rm",
        "-f",
        "always",
        "unless",
        "never",
        "stopped-unless",
        "stopped-always",
    ]);
    assert_nothing_left(&cv, &ids);
}
