//! The test harness cleans up after a failed test: a test that panics
//! between create and destroy (a failed assertion) must not leave its
//! container running for the rest of the suite. `temp_root()`'s guard
//! kills what runs in the containers' cgroups and removes them.
#![cfg(target_os = "linux")]

use containerv::{ContainerOptions, ProcessOptions, Runtime, Stdio};
use containerv_testutil::{busybox_rootfs, cgroups_named, require_root, temp_root, unique_id};

#[test]
fn a_failed_test_leaves_no_container_running() {
    require_root();
    let id = unique_id("cvt-failed");
    let paused = unique_id("cvt-failed-paused");
    let (a, b) = (id.clone(), paused.clone());
    let result = std::panic::catch_unwind(move || {
        let root = temp_root();
        let rt = Runtime::new(root.path()).unwrap();
        let opts = ContainerOptions::new().rootfs(busybox_rootfs());
        let busy = || {
            let mut p = ProcessOptions::new(["sh", "-c", "while :; do :; done"]);
            p.stdout = Stdio::Null;
            p
        };
        let c = rt.create(&a, &opts).unwrap();
        c.spawn(busy()).unwrap();
        // A paused one too: its processes must be thawed to die.
        let p = rt.create(&b, &opts).unwrap();
        p.spawn(busy()).unwrap();
        p.pause().unwrap();
        std::mem::forget((c, p));
        panic!("the test failed here");
    });
    assert!(result.is_err());
    for id in [&id, &paused] {
        let left = cgroups_named(&format!("containerv-{id}"));
        assert!(left.is_empty(), "cgroups left: {left:?}");
        // Dead ones may stay zombies of this process (the forgotten
        // handles would have reaped them), their inits in exit until
        // then: running ones that stay are the leak.
        let running = || -> Vec<i32> {
            containerv_testutil::processes_mentioning(id)
                .into_iter()
                .filter(|pid| {
                    let stat =
                        std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                    let f: Vec<&str> = stat
                        .rsplit_once(')')
                        .map(|(_, r)| r.split_whitespace().collect())
                        .unwrap_or_default();
                    // State (field 3) and flags (field 9): a zombie, or
                    // an init in exit (PF_EXITING) waiting for its
                    // namespace's zombies to be reaped, runs nothing.
                    let exiting = f.get(6).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0) & 0x4;
                    !f.is_empty() && f[0] != "Z" && exiting == 0
                })
                .collect()
        };
        let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !running().is_empty() && std::time::Instant::now() < end {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let running = running();
        assert!(running.is_empty(), "processes left running: {running:?}");
    }
}
