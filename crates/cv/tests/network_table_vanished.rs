//! The engine's nftables table can vanish under it while its marker
//! (/run/containerv/nft-table) says it was made: `nft flush ruleset`, a
//! firewall reload, an admin's `nft delete table ip containerv`. The next
//! start that touches it (a published port, a new bridge) makes it again
//! (every bridge enrolled) instead of
//! failing every start until a reboot (seen: "add bridge … to nftables
//! table ip containerv: No such file or directory" for every `cv run`).
//! One test in its own binary: it deletes the host's table of this engine.
#![cfg(target_os = "linux")]

mod common;

use std::process::Command;

use common::Cv;

fn table_exists() -> bool {
    Command::new("nft")
        .args(["list", "table", "ip", "containerv"])
        .output()
        .unwrap()
        .status
        .success()
}

#[test]
fn a_vanished_table_is_made_again_on_the_next_start() {
    let cv = Cv::new();
    // The table exists (made by this run if not before).
    cv.ok(&["run", "--rm", "containerv/busybox", "true"]);
    assert!(table_exists());
    let st = Command::new("nft")
        .args(["delete", "table", "ip", "containerv"])
        .status()
        .unwrap();
    assert!(st.success());
    // Publishing a port repairs it, the kept default bridge enrolled
    // again. (A plain start on a kept bridge runs no nft at all, as
    // dockerd does not notice a flushed ruleset either.)
    let out = cv.ok(&[
        "run",
        "--rm",
        "-p",
        "127.0.0.1::80",
        "containerv/busybox",
        "echo",
        "published",
    ]);
    assert_eq!(out.trim(), "published");
    assert!(table_exists(), "the table was not made again");
    let listing = String::from_utf8(
        Command::new("nft")
            .args(["list", "table", "ip", "containerv"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let bridges: Vec<String> = std::fs::read_dir("/sys/class/net")
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.starts_with("cv-")
                && std::path::Path::new(&format!("/sys/class/net/{n}/bridge")).exists()
        })
        .collect();
    assert!(!bridges.is_empty());
    for b in &bridges {
        assert!(
            listing.contains(b.as_str()),
            "bridge {b} not enrolled: {listing}"
        );
    }
    // A new network's first container (its bridge is made) repairs it too.
    let st = Command::new("nft")
        .args(["delete", "table", "ip", "containerv"])
        .status()
        .unwrap();
    assert!(st.success());
    cv.ok(&["network", "create", "--subnet", "10.231.77.0/24", "vanish1"]);
    let out = cv.ok(&[
        "run",
        "--rm",
        "--network",
        "vanish1",
        "containerv/busybox",
        "echo",
        "up",
    ]);
    assert_eq!(out.trim(), "up");
    assert!(table_exists(), "the table was not made again");
    cv.ok(&["network", "rm", "vanish1"]);
    cv.cleanup();
}
