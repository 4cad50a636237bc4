//! Block I/O and network counters, on this host (the v2 VM has no block
//! device and no veth module, so these run here only).
//!
//! Block I/O: a file under the system temp dir lives on the root ext4 on a
//! virtio disk here (a tmpfs would count nothing). Network: a veth pair
//! whose two ends sit in two network namespaces the test made; addresses
//! live only inside them.
#![cfg(target_os = "linux")]

mod limits_common;

use std::process::Command;
use std::time::Duration;

use containerv::linux::netstat::read_net_counters;
use limits_common::{eventually, Cg};

fn block_backed_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir_in("/var/tmp").unwrap();
    let out = Command::new("stat")
        .args(["-f", "-c", "%T"])
        .arg(dir.path())
        .output()
        .unwrap();
    let fstype = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        fstype != "tmpfs" && fstype != "overlayfs",
        "/var/tmp must be on a block device for this test, it is {fstype}"
    );
    dir
}

#[test]
fn direct_writes_appear_in_write_bytes() {
    let dir = block_backed_dir();
    let mut cg = Cg::new("cvt-io", None);
    let before = cg.stats();
    let of = format!("of={}", dir.path().join("direct").display());
    let mut c = cg.spawn(&[
        "dd",
        "if=/dev/zero",
        &of,
        "bs=1M",
        "count=8",
        "oflag=direct",
    ]);
    assert!(c.wait().unwrap().success());
    let s = cg.stats();
    assert!(
        s.write_bytes - before.write_bytes >= 8 << 20,
        "O_DIRECT: {} bytes counted",
        s.write_bytes
    );
    assert!(s.write_ops - before.write_ops >= 8, "{s:?}");
    cg.finish(vec![]);
}

#[test]
fn fsynced_writes_appear_in_write_bytes() {
    let dir = block_backed_dir();
    let mut cg = Cg::new("cvt-fsync", None);
    let of = format!("of={}", dir.path().join("fsync").display());
    let mut c = cg.spawn(&["dd", "if=/dev/zero", &of, "bs=1M", "count=8", "conv=fsync"]);
    assert!(c.wait().unwrap().success());
    let s = cg.stats();
    assert!(
        s.write_bytes >= 8 << 20,
        "fsync: {} bytes counted",
        s.write_bytes
    );
    // Reading it back with O_DIRECT (the page cache would hide reads).
    let inf = format!("if={}", dir.path().join("fsync").display());
    let mut c = cg.spawn(&["dd", &inf, "of=/dev/null", "bs=1M", "iflag=direct"]);
    assert!(c.wait().unwrap().success());
    let s = cg.stats();
    assert!(s.read_bytes >= 8 << 20, "reads: {s:?}");
    assert!(s.read_ops >= 8, "{s:?}");
    cg.finish(vec![]);
}

fn ip(pid: u32, args: &str) {
    let out = Command::new("nsenter")
        .args(["-t", &pid.to_string(), "-n", "ip"])
        .args(args.split_whitespace())
        .output()
        .unwrap();
    assert!(out.status.success(), "ip {args}: {out:?}");
}

#[test]
fn traffic_in_the_container_netns_is_counted_without_lo() {
    let mut cg = Cg::new("cvt-net", None);
    // The "container" (in the cgroup, own netns) and a peer (own netns).
    let init = cg.spawn_netns(&["sleep", "30"]);
    let peer_cg = Cg::new("cvt-netpeer", None);
    let peer = peer_cg.spawn_netns(&["sleep", "30"]);
    let (a, b) = (init.id(), peer.id());
    // Wait until both have unshared (their netns differs from ours).
    let ours = std::fs::read_link("/proc/self/ns/net").unwrap();
    assert!(eventually(Duration::from_secs(2), || [a, b].iter().all(
        |p| std::fs::read_link(format!("/proc/{p}/ns/net")).is_ok_and(|n| n != ours)
    )));
    let mut buf = String::new();
    let zero = read_net_counters(a as i32, &mut buf).unwrap();
    assert_eq!(zero.tx_packets, 0, "a fresh netns has only lo: {zero:?}");

    ip(
        a,
        &format!("link add cva type veth peer name cvb netns {b}"),
    );
    ip(a, "addr add 10.231.0.1/24 dev cva");
    ip(a, "link set cva up");
    ip(a, "link set lo up");
    ip(b, "addr add 10.231.0.2/24 dev cvb");
    ip(b, "link set cvb up");
    // Traffic on lo must not count.
    let lo = Command::new("nsenter")
        .args([
            "-t",
            &a.to_string(),
            "-n",
            "busybox",
            "ping",
            "-c",
            "3",
            "-W",
            "1",
            "127.0.0.1",
        ])
        .output()
        .unwrap();
    assert!(lo.status.success(), "{lo:?}");
    let base = cg.samples.stats(&*cg.mgr, a as i32).unwrap();
    let ping = Command::new("nsenter")
        .args([
            "-t",
            &a.to_string(),
            "-n",
            "busybox",
            "ping",
            "-c",
            "5",
            "-i",
            "0.2",
            "-s",
            "1000",
            "-W",
            "2",
            "10.231.0.2",
        ])
        .output()
        .unwrap();
    assert!(ping.status.success(), "{ping:?}");
    let s = cg.samples.stats(&*cg.mgr, a as i32).unwrap();
    let (tx, rx) = (
        s.net_tx_bytes - base.net_tx_bytes,
        s.net_rx_bytes - base.net_rx_bytes,
    );
    assert!(s.net_tx_packets - base.net_tx_packets >= 5, "{s:?}");
    assert!(s.net_rx_packets - base.net_rx_packets >= 5, "{s:?}");
    // 5 × (1000 data + 8 ICMP + 20 IP + 14 Ethernet), plus ARP/ND.
    assert!((5 * 1042..5 * 1042 + 2000).contains(&tx), "tx {tx}");
    assert!((5 * 1042..5 * 1042 + 2000).contains(&rx), "rx {rx}");
    // The ping on lo (3 × 84 B each way) was not counted in base either.
    assert!(base.net_tx_bytes < 1000, "lo counted? {base:?}");
    cg.finish(vec![init]);
    peer_cg.finish(vec![peer]);
}
