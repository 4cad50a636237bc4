//! kill -9 of `cv` at random points: `run -d`, `create`, `rm -f` and
//! `volume rm` killed 0–40 ms in, 30 times. Afterwards `cv system check
//! --repair` reconciles the store, a second check finds it consistent,
//! every container `ps -a` shows is removable, and nothing is left: no
//! half-made directory, name, image hold, core state, cgroup, mount or
//! process.

mod common;
mod faults_common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::Cv;
use faults_common::{assert_nothing_left, kill9};

/// A small xorshift generator seeded from the clock (the seed is printed
/// so a failure can be replayed with FAULTS_SEED).
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let seed = std::env::var("FAULTS_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        eprintln!("FAULTS_SEED={seed}");
        Rng(seed)
    }
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn killed_commands_leave_a_repairable_store() {
    let mut cv = Cv::new();
    // A private image store, so its holds can be checked exactly.
    cv.images = cv.root.path().join("images");
    cv.ok(&["create", "--name", "warmup", "containerv/busybox", "true"]);
    cv.ok(&["rm", "warmup"]);
    let mut rng = Rng::new();
    let mut seen = BTreeSet::new();
    for i in 0..30 {
        let name = format!("c{i}");
        let vol = format!("v{i}");
        let args: Vec<String> = match rng.next(4) {
            0 => vec![
                "run",
                "-d",
                "--name",
                &name,
                "containerv/busybox",
                "sleep",
                "300",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
            1 => vec!["create", "--name", &name, "containerv/busybox", "true"]
                .into_iter()
                .map(String::from)
                .collect(),
            2 => {
                // Something to remove: the last container made, if any.
                let ids = cv.ids();
                let Some(id) = ids.iter().find(|i| !i.starts_with('.')) else {
                    continue;
                };
                vec!["rm".into(), "-f".into(), id.clone()]
            }
            _ => {
                cv.ok(&["volume", "create", &vol]);
                vec!["volume".into(), "rm".into(), vol.clone()]
            }
        };
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut child = cv
            .cmd(&a)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(rng.next(41)));
        kill9(child.id() as i32);
        let _ = child.wait();
        for id in cv.ids() {
            let id = id
                .trim_start_matches(".new-")
                .trim_start_matches(".rm-")
                .to_string();
            seen.insert(id);
        }
    }
    // Monitors started by killed `run -d`s may still be starting.
    std::thread::sleep(Duration::from_millis(300));
    let out = cv.run(&["system", "check", "--repair"]);
    eprintln!("{}", String::from_utf8_lossy(&out.stdout));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = cv.ok(&["system", "check"]);
    assert_eq!(again.trim(), "consistent");
    // The world `ps -a` shows is the world on disk.
    let listed: BTreeSet<String> = cv
        .ok(&["ps", "-a", "-q", "--no-trunc"])
        .lines()
        .map(String::from)
        .collect();
    let on_disk: BTreeSet<String> = cv.ids().into_iter().collect();
    assert_eq!(listed, on_disk);
    for id in &listed {
        cv.ok(&["rm", "-f", id]);
    }
    for v in cv.ok(&["volume", "ls", "-q"]).lines() {
        cv.ok(&["volume", "rm", v]);
    }
    let holds = containerv_image::ImageStore::open(&cv.images)
        .unwrap()
        .meta()
        .unwrap()
        .holds;
    assert!(holds.is_empty(), "image holds left: {holds:?}");
    let vols: Vec<_> = std::fs::read_dir(cv.engine_root().join("volumes"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| n != ".lock")
        .collect();
    assert!(vols.is_empty(), "volume dirs left: {vols:?}");
    let seen: Vec<String> = seen.into_iter().collect();
    assert_nothing_left(&cv, &seen);
}
