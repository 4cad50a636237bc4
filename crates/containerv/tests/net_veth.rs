//! Container networking in the library, on the real kernel: `lo` is up in
//! every new network namespace, and the seed's veth option makes a pair
//! with the caller's addresses that carries real traffic (only between the
//! host end and the container end this test made), counted in `stats()`.
//! Bad input and a taken name fail cleanly: no interface, no container.
#![cfg(target_os = "linux")]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use containerv::{ContainerOptions, Error, ProcessOptions, Runtime, Stdio};
use containerv_testutil::net::{free_subnet, link_exists, nth, unique_ifname};
use containerv_testutil::{
    assert_no_leftovers, busybox_rootfs, require_root, temp_root, unique_id,
};

fn run_sh(c: &containerv::Container, script: &str) -> (String, i32) {
    let mut o = ProcessOptions::new(["sh", "-c", script]);
    o.stdout = Stdio::Pipe;
    o.stderr = Stdio::Pipe;
    let mut p = c.spawn(o).unwrap();
    let mut out = String::new();
    p.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    let mut err = String::new();
    p.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    let code = p.wait().unwrap().code();
    (out + &err, code)
}

#[test]
fn loopback_is_up_in_a_new_network_namespace() {
    require_root();
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("net-lo");
    let c = rt
        .create(&id, &ContainerOptions::new().rootfs(busybox_rootfs()))
        .unwrap();
    // IFF_UP | IFF_LOOPBACK, as runc leaves it.
    let (out, code) = run_sh(&c, "cat /sys/class/net/lo/flags; ls /sys/class/net");
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.lines().next(), Some("0x9"), "{out}");
    assert_eq!(out.lines().nth(1), Some("lo"), "only lo: {out}");
    c.destroy().unwrap();
    assert_no_leftovers(root.path(), &id);
}

#[test]
fn veth_pair_carries_traffic_and_is_counted() {
    require_root();
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("net-veth");
    let net = free_subnet(30);
    let (host, cont) = (nth(net, 1), nth(net, 2));
    let ifname = unique_ifname("cvt");
    let opts = ContainerOptions::new().rootfs(busybox_rootfs()).veth(
        &ifname,
        cont.to_string(),
        host.to_string(),
        "255.255.255.252",
    );
    let c = rt.create(&id, &opts).unwrap();
    assert!(link_exists(&ifname), "host end {ifname} missing");
    let (out, code) = run_sh(&c, "ip -4 addr show eth0; ip route; cat /etc/hosts");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("inet {cont}/30")), "{out}");
    assert!(out.contains(&format!("default via {host}")), "{out}");
    assert!(
        out.contains(&format!("{cont}\t")),
        "hosts names the address: {out}"
    );

    // Real traffic: the container connects to a listener on the host end.
    let l = TcpListener::bind((host, 0)).unwrap();
    let port = l.local_addr().unwrap().port();
    let before = c.stats().unwrap();
    let server = std::thread::spawn(move || {
        let (mut s, peer) = l.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap();
        s.write_all(b"").unwrap();
        (peer.ip(), got.len())
    });
    // 200 KiB from the container through the pair.
    let (out, _) = run_sh(
        &c,
        &format!("head -c 204800 /dev/zero | nc -w 5 {host} {port}; echo rc=$?"),
    );
    let (peer, n) = server.join().unwrap();
    assert!(out.contains("rc=0"), "{out}");
    assert_eq!(peer, std::net::IpAddr::V4(cont));
    assert_eq!(n, 204800);
    let after = c.stats().unwrap();
    let sent = after.net_tx_bytes - before.net_tx_bytes;
    assert!(
        (204800..204800 * 11 / 10).contains(&sent),
        "tx counted {sent} for 204800 bytes of payload"
    );

    c.destroy().unwrap();
    assert!(
        !link_exists(&ifname),
        "host end {ifname} left after destroy"
    );
    assert_no_leftovers(root.path(), &id);
}

#[test]
fn taken_interface_name_fails_and_leaves_nothing() {
    require_root();
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("net-taken");
    let ifname = unique_ifname("cvt");
    // Someone else's interface holds the name: a bridge made here.
    let nl = containerv::linux::net::Netlink::open().unwrap();
    nl.add_bridge(&ifname).unwrap();
    let net = free_subnet(24);
    let opts = ContainerOptions::new().rootfs(busybox_rootfs()).veth(
        &ifname,
        nth(net, 2).to_string(),
        nth(net, 1).to_string(),
        "24",
    );
    let Err(e) = rt.create(&id, &opts) else {
        panic!("create must fail")
    };
    let msg = e.to_string();
    assert!(
        msg.contains(&ifname) && msg.contains("already exists"),
        "{msg}"
    );
    assert!(link_exists(&ifname), "the other interface must stay");
    assert_no_leftovers(root.path(), &id);
    assert!(nl.del_link_named(&ifname).unwrap());
}

#[test]
fn bad_addresses_fail_before_anything_exists() {
    require_root();
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let ifname = unique_ifname("cvt");
    for (c, h, m, want) in [
        ("10.200.0.300", "10.200.0.1", "24", "not an IPv4 address"),
        (
            "10.200.0.2",
            "10.201.0.1",
            "24",
            "not in the container's subnet",
        ),
        (
            "10.200.0.2",
            "10.200.0.1",
            "255.0.255.0",
            "not a contiguous netmask",
        ),
        ("10.200.0.255", "10.200.0.1", "24", "broadcast"),
        ("10.200.0.2", "10.200.0.2", "24", "container's address too"),
        ("10.200.0.2", "10.200.0.1", "33", "1..=32"),
    ] {
        let id = unique_id("net-bad");
        let opts = ContainerOptions::new()
            .rootfs(busybox_rootfs())
            .veth(&ifname, c, h, m);
        let Err(e) = rt.create(&id, &opts) else {
            panic!("must fail")
        };
        assert!(matches!(e, Error::InvalidOption { .. }), "{e}");
        assert!(e.to_string().contains(want), "{c} {h} {m}: {e}");
        assert!(!link_exists(&ifname));
        assert_no_leftovers(root.path(), &id);
    }
    // A veth needs a new network namespace.
    let id = unique_id("net-bad");
    let opts = ContainerOptions::new()
        .rootfs(busybox_rootfs())
        .namespaces(containerv::Namespaces {
            net: false,
            ..Default::default()
        })
        .veth(&ifname, "10.200.0.2", "10.200.0.1", "24");
    let Err(e) = rt.create(&id, &opts) else {
        panic!("must fail")
    };
    assert!(e.to_string().contains("new network namespace"), "{e}");
    assert!(!link_exists(&ifname));
}
