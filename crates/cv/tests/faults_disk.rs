//! A full disk: the engine root on a 20 MB tmpfs, filled by a container
//! printing `yes` into its log and then to the last byte by the test.
//! `stop`, `kill` and `rm -f` still act (they signal first and record
//! best-effort), `ps`/`inspect` still read, `run -d` fails clearly and
//! leaves nothing, a stopped `--restart always` container stays stopped,
//! and once space is back everything is removable with nothing left.

mod common;
mod faults_common;

use std::time::{Duration, Instant};

use common::Cv;
use faults_common::{assert_nothing_left, fill, init_pid, wait_gone, Tmpfs};

/// The engine and its tmpfs: cleaned (containers first) before the
/// tmpfs goes.
struct FullDisk {
    cv: Cv,
    _fs: Tmpfs,
}

impl Drop for FullDisk {
    fn drop(&mut self) {
        self.cv.cleanup();
    }
}

#[test]
fn every_command_works_on_a_full_disk() {
    let cv = Cv::new();
    let fs = Tmpfs::mount(&cv.engine_root(), "20m");
    let t = FullDisk { cv, _fs: fs };
    let cv = &t.cv;
    let root = cv.engine_root();
    let filler = cv.run_d(&["--name", "filler", "containerv/busybox", "yes"]);
    let always = cv.run_d(&[
        "--name",
        "always",
        "--restart",
        "always",
        "containerv/busybox",
        "sleep",
        "300",
    ]);
    let victim = cv.run_d(&["--name", "victim", "containerv/busybox", "sleep", "300"]);
    // Let `yes` fill part of it, then the rest to the last byte.
    std::thread::sleep(Duration::from_millis(300));
    fill(&root);

    // stop: the signal goes out although no record can be written.
    let pid = init_pid(cv, "always");
    assert!(pid > 0);
    let t0 = Instant::now();
    cv.ok(&["stop", "-t", "1", "always"]);
    assert!(t0.elapsed() < Duration::from_secs(8), "{:?}", t0.elapsed());
    wait_gone(pid, Duration::from_secs(3));
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "stop left the init running"
    );
    fill(&root);

    // kill.
    let pid = init_pid(cv, "victim");
    cv.ok(&["kill", "victim"]);
    wait_gone(pid, Duration::from_secs(3));
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "kill left the init running"
    );
    // The monitor could not rewrite state.json, but its exit code is kept
    // (in a file name, which needs no data block).
    cv.wait_for(
        "victim",
        "{{.State.Status}} {{.State.ExitCode}}",
        "exited 137",
        Duration::from_secs(5),
    );
    fill(&root);

    // Reading works.
    let ps = cv.ok(&["ps", "-a"]);
    for n in ["filler", "always", "victim"] {
        assert!(ps.contains(n), "{ps}");
    }
    cv.ok(&["inspect", "victim"]);

    // A new container cannot be made: a clear error, nothing half-made.
    let err = cv.fails(&[
        "run",
        "-d",
        "--name",
        "newcomer",
        "containerv/busybox",
        "true",
    ]);
    assert!(err.contains("No space left on device"), "{err}");
    assert!(!root.join("names/newcomer").exists());
    let dots: Vec<_> = std::fs::read_dir(root.join("containers"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(dots.is_empty(), "{dots:?}");

    // The user's stop holds: `--restart always` does not bring it back.
    std::thread::sleep(Duration::from_millis(500));
    assert_ne!(cv.inspect("always", "{{.State.Status}}"), "running");

    // rm -f of the container still filling the disk.
    fill(&root);
    let pid = init_pid(cv, "filler");
    cv.ok(&["rm", "-f", "filler"]);
    wait_gone(pid, Duration::from_secs(3));
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
    assert!(!root.join("containers").join(&filler).exists());

    // Space back: the rest goes, and the store is consistent.
    std::fs::remove_file(root.join("filler")).unwrap();
    let out = cv.ok(&["system", "check", "--repair"]);
    assert!(!out.contains("found:"), "{out}");
    cv.ok(&["rm", "-f", "always", "victim"]);
    assert_nothing_left(cv, &[filler, always, victim]);
}
