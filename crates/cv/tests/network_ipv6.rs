//! IPv6 as docker 27 does it on a bridge network: `network create --ipv6
//! --subnet V4 --subnet V6` (dual stack), containers with an IPv6 address
//! and default route, `inspect`'s GlobalIPv6Address / IPv6Gateway /
//! GlobalIPv6PrefixLen, v6 traffic between two containers, AAAA records
//! by name from the engine's DNS server, a published port reached on
//! [::1] from the host (a `127.0.0.1:` one not), bad input refused with
//! nothing made, and nothing left after `rm -f` and `network rm` (nft
//! elements of `ip6 containerv`, leases, subnet claims, bridge). Traffic
//! goes only to ::1, 127.0.0.1 and the containers' own addresses (a ULA
//! subnet that overlaps no route of this host).
#![cfg(target_os = "linux")]

mod common;

use std::io::Read;
use std::time::{Duration, Instant};

use common::dns::lookup;
use common::Cv;
use containerv_testutil::net::{free_subnet, free_subnet6, link_exists, nth6, Outside};

/// The first line a TCP server at `addr` sends (empty if none answers).
fn fetch(addr: std::net::SocketAddr, limit: Duration) -> String {
    let end = Instant::now() + limit;
    loop {
        if let Ok(mut s) = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
            s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            let mut buf = Vec::new();
            let _ = s.read_to_end(&mut buf);
            let text = String::from_utf8_lossy(&buf).trim().to_string();
            if !text.is_empty() {
                return text;
            }
        }
        if Instant::now() > end {
            return String::new();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn nft_map6(map: &str) -> String {
    let o = std::process::Command::new("nft")
        .args(["list", "map", "ip6", "containerv", map])
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn claims() -> Vec<String> {
    std::fs::read_dir("/run/containerv/subnets")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn dual_stack_network_like_docker() {
    let cv = Cv::new();
    let net = containerv_testutil::unique_id("v6");
    let (s4, s6) = (free_subnet(24), free_subnet6());
    let (sub4, sub6) = (format!("{s4}/24"), format!("{s6}/64"));
    let claim6 = format!("{s6}_64");

    // Bad input: a clear error each, nothing made.
    let e = cv.fails(&["network", "create", "--ipv6", &net]);
    assert!(e.contains("--ipv6") && e.contains("IPv6 --subnet"), "{e}");
    let e = cv.fails(&["network", "create", "--subnet", &sub6, &net]);
    assert!(e.contains("needs --ipv6"), "{e}");
    let e = cv.fails(&["network", "create", "--ipv6", "--subnet", "fe80::/64", &net]);
    assert!(e.contains("link-local"), "{e}");
    let e = cv.fails(&[
        "network",
        "create",
        "--ipv6",
        "--subnet",
        &format!("{}/64", nth6(s6, 1)),
        &net,
    ]);
    assert!(e.contains("host bits"), "{e}");
    // The host's own fd00::/64 (eth0 here) if it has one: refused.
    if std::fs::read_to_string("/proc/net/ipv6_route")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("fd000000000000000000000000000000 40"))
    {
        let e = cv.fails(&["network", "create", "--ipv6", "--subnet", "fd00::/64", &net]);
        assert!(e.contains("overlaps the host's route fd00::/64"), "{e}");
    }
    assert!(cv.run(&["network", "inspect", &net]).status.code() != Some(0));
    assert!(!claims().contains(&claim6));

    cv.ok(&[
        "network", "create", "--ipv6", "--subnet", &sub4, "--subnet", &sub6, &net,
    ]);
    // An overlapping IPv6 subnet is refused, naming the network's.
    let other = containerv_testutil::unique_id("v6o");
    let e = cv.fails(&[
        "network",
        "create",
        "--ipv6",
        "--subnet",
        &format!("{s6}/80"),
        &other,
    ]);
    assert!(e.contains("overlaps network") && e.contains(&sub6), "{e}");
    assert!(cv.run(&["network", "inspect", &other]).status.code() != Some(0));
    assert!(claims().contains(&claim6));

    let v: serde_json::Value = serde_json::from_str(&cv.ok(&["network", "inspect", &net])).unwrap();
    let v = v[0].clone();
    assert_eq!(v["EnableIPv6"], true, "{v}");
    let cfg = v["IPAM"]["Config"].as_array().unwrap();
    assert_eq!(cfg.len(), 2, "{v}");
    assert_eq!(cfg[1]["Subnet"], sub6.as_str());
    assert_eq!(cfg[1]["Gateway"], nth6(s6, 1).to_string());

    // A server with a port published on every address (both families)
    // and one on 127.0.0.1 only.
    let srv = cv.run_d(&[
        "--name",
        "v6-srv",
        "--network",
        &net,
        "-p",
        "8080",
        "-p",
        "127.0.0.1::8081",
        "containerv/busybox",
        "sh",
        "-c",
        "(while true; do echo v4only | nc -l -p 8081; done) & \
         while true; do echo v6-hello | nc -l -p 8080; done",
    ]);
    cv.run_d(&[
        "--name",
        "v6-cli",
        "--network",
        &net,
        "containerv/busybox",
        "sleep",
        "120",
    ]);
    let f = |c: &str, k: &str| cv.inspect(c, &format!("{{{{.NetworkSettings.{k}}}}}"));
    let srv6 = nth6(s6, 2).to_string();
    assert_eq!(f("v6-srv", "GlobalIPv6Address"), srv6);
    assert_eq!(f("v6-srv", "GlobalIPv6PrefixLen"), "64");
    assert_eq!(f("v6-srv", "IPv6Gateway"), nth6(s6, 1).to_string());
    assert_eq!(
        f("v6-srv", &format!("Networks.{net}.GlobalIPv6Address")),
        srv6
    );
    assert_eq!(f("v6-cli", "GlobalIPv6Address"), nth6(s6, 3).to_string());
    // Inside: the address and the IPv6 default route via the gateway.
    let route = cv.ok(&["exec", "v6-cli", "ip", "-6", "route"]);
    assert!(
        route.contains(&format!("default via {}", nth6(s6, 1))),
        "{route}"
    );

    // Container to container over IPv6.
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let o = cv.run(&["exec", "v6-cli", "nc", "-w", "2", &srv6, "8080"]);
        let text = String::from_utf8_lossy(&o.stdout).trim().to_string();
        if text == "v6-hello" {
            break;
        }
        assert!(Instant::now() < end, "no v6 answer from {srv6}: {text:?}");
        std::thread::sleep(Duration::from_millis(200));
    }

    // AAAA (and A) records by name.
    assert_eq!(
        lookup(&cv, "v6-cli", "aaaa", "v6-srv"),
        std::slice::from_ref(&srv6)
    );
    assert_eq!(
        lookup(&cv, "v6-cli", "a", "v6-srv"),
        [f("v6-srv", "IPAddress")]
    );

    // Published: on [::1] and 127.0.0.1; the 127.0.0.1-only port not on [::1].
    let port_lines = cv.ok(&["port", "v6-srv", "8080/tcp"]);
    let lines: Vec<&str> = port_lines.lines().collect();
    assert_eq!(lines.len(), 2, "{port_lines}");
    assert!(lines[1].starts_with("[::]:"), "{port_lines}");
    let hp: u16 = lines[0].rsplit(':').next().unwrap().parse().unwrap();
    let only4: u16 = cv
        .ok(&["port", "v6-srv", "8081/tcp"])
        .trim()
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let ps = cv.ok(&["ps", "--format", "{{.Ports}}", "--filter", "name=v6-srv"]);
    assert!(ps.contains(&format!(":::{hp}->8080/tcp")), "{ps}");
    assert_eq!(
        fetch(
            format!("[::1]:{hp}").parse().unwrap(),
            Duration::from_secs(10)
        ),
        "v6-hello",
        "[::1]:{hp}; listening: {}; log: {}",
        std::fs::read_to_string("/proc/net/tcp6").unwrap_or_default(),
        std::fs::read_to_string(cv.engine_root().join("networks/.dns.log")).unwrap_or_default()
    );
    assert_eq!(
        fetch(
            format!("127.0.0.1:{hp}").parse().unwrap(),
            Duration::from_secs(5)
        ),
        "v6-hello"
    );
    assert_eq!(
        fetch(
            format!("127.0.0.1:{only4}").parse().unwrap(),
            Duration::from_secs(5)
        ),
        "v4only"
    );
    assert_eq!(
        fetch(
            format!("[::1]:{only4}").parse().unwrap(),
            Duration::from_millis(500)
        ),
        ""
    );
    assert!(nft_map6("tcp_any").contains(&format!("{hp} : {srv6} . 8080")));

    // Nothing left.
    let bridge = v["Options"]["com.docker.network.bridge.name"]
        .as_str()
        .unwrap()
        .to_string();
    let host_ifs: Vec<String> = ["v6-srv", "v6-cli"]
        .iter()
        .map(|c| {
            let id = cv.inspect(c, "{{.Id}}");
            format!("veth{}", &id[..11])
        })
        .collect();
    cv.ok(&["rm", "-f", &srv, "v6-cli"]);
    assert!(!nft_map6("tcp_any").contains(&format!("{hp} :")));
    for i in &host_ifs {
        assert!(!link_exists(i), "{i} left");
    }
    let left = cv.ok(&["network", "inspect", "-f", "{{json .Containers}}", &net]);
    assert_eq!(left.trim(), "{}");
    cv.ok(&["network", "rm", &net]);
    assert!(!link_exists(&bridge), "bridge {bridge} left");
    assert!(!claims().contains(&claim6), "claim {claim6} left");
    for set in ["bridges", "egress"] {
        let o = std::process::Command::new("nft")
            .args(["list", "set", "ip6", "containerv", set])
            .output()
            .unwrap();
        assert!(
            !String::from_utf8_lossy(&o.stdout).contains(&bridge),
            "{bridge} left in ip6 {set}"
        );
    }
}

/// IPv6 egress as docker 27 (ip6tables on by default: NAT for IPv6 too):
/// a container of an `--ipv6` network reaches a namespace this test made
/// to play "the outside" over IPv6, arriving from the host's address
/// (masqueraded); one of an `--internal --ipv6` network reaches nothing.
#[test]
fn ipv6_egress_is_masqueraded_and_internal_reaches_nothing() {
    let cv = Cv::new();
    let out = Outside::new();
    let (net, int) = (
        containerv_testutil::unique_id("e6"),
        containerv_testutil::unique_id("i6"),
    );
    for (n, extra) in [(&net, None), (&int, Some("--internal"))] {
        let (s4, s6) = (
            format!("{}/24", free_subnet(24)),
            format!("{}/64", free_subnet6()),
        );
        let mut a = vec![
            "network", "create", "--ipv6", "--subnet", &s4, "--subnet", &s6,
        ];
        a.extend(extra);
        a.push(n);
        cv.ok(&a);
    }
    let l = out.listen_tcp6(9006, Duration::from_secs(10));
    let send = |n: &str, text: &str| {
        cv.ok(&[
            "run",
            "--rm",
            "--network",
            n,
            "containerv/busybox",
            "sh",
            "-c",
            &format!("echo {text} | nc -w 2 {} 9006; echo rc=$?", out.addr6),
        ])
    };
    let a = send(&net, "from-v6");
    assert!(a.contains("rc=0"), "{a}");
    let b = send(&int, "from-internal");
    assert!(!b.contains("rc=0"), "{b}");
    let got = l.join().unwrap();
    let texts: Vec<&str> = got.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(texts, ["from-v6"], "{got:?}");
    assert_eq!(
        got[0].0.ip(),
        std::net::IpAddr::V6(out.host_addr6),
        "not masqueraded: {got:?}"
    );
    cv.ok(&["network", "rm", &net, &int]);
}
