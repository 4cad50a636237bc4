//! Durability by container: the records of a `--rm` container skip the
//! fsync (it is removed when it ends and cannot outlive a power loss
//! usefully), every other container's records are fsynced.
//!
//! - The fsyncs themselves, counted with strace over the real `cv` and
//!   its monitor: `run --rm` makes none for its records, `create` of a
//!   kept container still syncs both of its records.
//! - A power loss, simulated as the kernel can leave unsynced files: the
//!   processes and cgroups gone, another boot id, and the `--rm`
//!   container's `config.json` and `state.json` empty. `cv system check`
//!   names the torn record, `--repair` removes it (and releases its image
//!   hold); the damaged record of a kept container is only reported
//!   (`rm -f` is the user's call), as before.

mod common;
mod faults_common;

use std::process::Command;
use std::time::Duration;

use common::{monitors_of, Cv};
use faults_common::{assert_nothing_left, init_pid, kill9, wait_gone};

/// The fsync-family calls `cv args…` (and every process it starts:
/// the monitor, the container) makes, from strace.
fn syncs_of(cv: &Cv, args: &[&str]) -> Vec<String> {
    let log = cv.root.path().join(format!("strace-{}", args.len()));
    let bin = env!("CARGO_BIN_EXE_cv");
    let mut c = Command::new("strace");
    c.args([
        "-f",
        "-qq",
        "-e",
        "trace=fsync,fdatasync,sync_file_range,syncfs",
    ])
    .arg("-o")
    .arg(&log)
    .arg(bin);
    // The same environment and root flags as `Cv::cmd`.
    let plain = cv.cmd(args);
    for (k, v) in plain.get_envs() {
        if let Some(v) = v {
            c.env(k, v);
        }
    }
    c.args(plain.get_args()).stdin(std::process::Stdio::null());
    let out = c.output().expect("strace (apt-get install strace)");
    assert!(
        out.status.success(),
        "strace cv {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&log).unwrap();
    let _ = std::fs::remove_file(&log);
    text.lines()
        .filter(|l| l.contains("sync") && !l.contains("resumed>"))
        .map(str::to_string)
        .collect()
}

#[test]
fn records_of_rm_containers_skip_the_fsync_others_keep_it() {
    let cv = Cv::new();
    // Warm: the store, the built-in image, the runtime root exist.
    cv.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "containerv/busybox",
        "true",
    ]);

    let rm = syncs_of(
        &cv,
        &[
            "run",
            "--rm",
            "--network",
            "none",
            "containerv/busybox",
            "true",
        ],
    );
    // Before: 10 (config and state at create, start, running, exit, the
    // core's state, and the image index's hold and release, each with
    // its directory).
    assert!(rm.is_empty(), "run --rm made {} syncs: {rm:#?}", rm.len());

    let kept = syncs_of(
        &cv,
        &["create", "--name", "kept", "containerv/busybox", "true"],
    );
    // config.json and state.json (and the index's hold): durable.
    assert!(
        kept.len() >= 3,
        "create made only {} syncs: {kept:#?}",
        kept.len()
    );
    let id = cv.inspect("kept", "{{.Id}}");
    cv.ok(&["rm", "kept"]);
    assert_nothing_left(&cv, &[id]);
}

#[test]
fn a_torn_record_of_a_rm_container_is_repaired_others_are_only_reported() {
    let mut cv = Cv::new();
    // A private image store: the repaired container's hold is checked.
    cv.images = cv.root.path().join("images");
    let gone = cv.run_d(&[
        "--rm",
        "--name",
        "gone",
        "containerv/busybox",
        "sleep",
        "300",
    ]);
    let kept = cv.run_d(&["--name", "kept", "containerv/busybox", "sleep", "300"]);
    // The --rm container holds its image for this boot (a file of its
    // own), the kept one in the durable index.
    let boot_hold = cv.images.join("holds").join(&gone);
    assert!(boot_hold.is_file(), "no hold of the --rm container");

    // The power loss: every process gone (monitors first, so nobody
    // records the end), cgroups gone, another boot.
    for (id, name) in [(&gone, "gone"), (&kept, "kept")] {
        let pid = init_pid(&cv, name);
        for m in monitors_of(id) {
            kill9(m);
        }
        kill9(pid);
        wait_gone(pid, Duration::from_secs(3));
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
    }
    std::fs::write(
        cv.engine_root().join("runtime.boot_id"),
        "00000000-0000-0000-0000-000000000000\n",
    )
    .unwrap();
    // What a power loss can leave of records never fsynced: empty files.
    let dir = |id: &str| cv.engine_root().join("containers").join(id);
    for f in ["config.json", "state.json"] {
        std::fs::write(dir(&gone).join(f), b"").unwrap();
    }
    // A kept container's records are fsynced: a damaged one is disk
    // corruption, not a power loss, and stays the user's call.
    std::fs::write(dir(&kept).join("state.json"), b"").unwrap();

    let out = cv.run(&["system", "check"]);
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!out.status.success(), "{report}");
    assert!(
        report.contains("torn record of --rm container") && report.contains(&gone[..12]),
        "{report}"
    );
    assert!(
        report.contains("unreadable record") && report.contains(&kept[..12]),
        "{report}"
    );

    let out = cv.run(&["system", "check", "--repair"]);
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(report.contains("(removed)"), "{report}");
    assert!(!dir(&gone).exists(), "torn --rm container kept: {report}");
    assert!(!boot_hold.exists(), "its image hold was not released");
    assert!(
        dir(&kept).exists(),
        "a kept container was removed: {report}"
    );
    let ps = cv.ok(&["ps", "-a"]);
    assert!(
        !ps.contains(&gone[..12]) && ps.contains(&kept[..12]),
        "{ps}"
    );

    cv.ok(&["rm", "-f", "kept"]);
    cv.ok(&["system", "check"]);
    assert_nothing_left(&cv, &[gone, kept]);
}
