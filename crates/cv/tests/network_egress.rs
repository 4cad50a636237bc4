//! Egress and `--internal` on the real kernel, against a network
//! namespace this test makes to play "the outside" (a veth to the host on
//! a private /30): a container on the default bridge or a user network
//! reaches it, masqueraded to the host's address; a container on an
//! `--internal` network does not; the outside cannot open a connection to
//! a container's address (only published ports are reachable). Traffic
//! goes only to that namespace and to the containers.
#![cfg(target_os = "linux")]

mod common;

use std::time::Duration;

use common::Cv;
use containerv_testutil::net::{free_subnet, link_exists, Outside};

/// `nc` from a container to the outside's `port` (exit status printed).
fn send_out(cv: &Cv, network: &str, out: &Outside, port: u16, text: &str) -> String {
    cv.ok(&[
        "run",
        "--rm",
        "--network",
        network,
        "containerv/busybox",
        "sh",
        "-c",
        &format!("echo {text} | nc -w 2 {} {port}; echo rc=$?", out.addr),
    ])
}

fn nft_set(set: &str) -> String {
    let o = std::process::Command::new("nft")
        .args(["list", "set", "ip", "containerv", set])
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn egress_is_masqueraded_and_internal_networks_reach_nothing() {
    let cv = Cv::new();
    let out = Outside::new();
    let user_net = containerv_testutil::unique_id("egr");
    let internal = containerv_testutil::unique_id("int");
    let (s1, s2) = (free_subnet(24), free_subnet(24));
    cv.ok(&[
        "network",
        "create",
        "--subnet",
        &format!("{s1}/24"),
        &user_net,
    ]);
    cv.ok(&[
        "network",
        "create",
        "--internal",
        "--subnet",
        &format!("{s2}/24"),
        &internal,
    ]);

    let l = out.listen_tcp(9000, Duration::from_secs(12));
    // The default bridge and a user network reach the outside.
    let a = send_out(&cv, "bridge", &out, 9000, "from-default");
    assert!(a.contains("rc=0"), "{a}");
    let b = send_out(&cv, &user_net, &out, 9000, "from-user");
    assert!(b.contains("rc=0"), "{b}");
    // An internal network does not: no route out, and nothing arrives.
    let c = send_out(&cv, &internal, &out, 9000, "from-internal");
    assert!(!c.contains("rc=0"), "{c}");
    let got = l.join().unwrap();
    let texts: Vec<&str> = got.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(texts, ["from-default", "from-user"], "{got:?}");
    // Masqueraded: the outside sees the host's address, never a
    // container's.
    for (peer, _) in &got {
        assert_eq!(peer.ip(), std::net::IpAddr::V4(out.host_addr), "{got:?}");
    }

    // The outside, with a route to the container subnet through the
    // host, cannot connect to a container's server (no published port).
    let srv = cv.run_d(&[
        "--network",
        &user_net,
        "containerv/busybox",
        "sh",
        "-c",
        "while true; do echo hi | nc -l -p 8080; done",
    ]);
    let ip = cv.inspect(
        &srv,
        &format!("{{{{.NetworkSettings.Networks.{user_net}.IPAddress}}}}"),
    );
    let host = out.host_addr;
    let via = std::process::Command::new("ip")
        .args(["-n", &out.name, "route", "add", &format!("{s1}/24"), "via"])
        .arg(host.to_string())
        .status()
        .unwrap();
    assert!(via.success());
    // The host itself reaches it (the server is up)...
    let end = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let sa: std::net::SocketAddr = format!("{ip}:8080").parse().unwrap();
        if std::net::TcpStream::connect_timeout(&sa, Duration::from_secs(1)).is_ok() {
            break;
        }
        assert!(std::time::Instant::now() < end, "server {ip}:8080 never up");
        std::thread::sleep(Duration::from_millis(50));
    }
    // ...the outside does not.
    let r = out.run(move || {
        let sa: std::net::SocketAddr = format!("{ip}:8080").parse().unwrap();
        std::net::TcpStream::connect_timeout(&sa, Duration::from_secs(2)).map(|_| ())
    });
    assert!(r.is_err(), "the outside reached a container directly");

    // Nothing left: bridges and their nftables elements go with the
    // networks (the default one with `system reset`).
    let bridges: Vec<String> = [user_net.as_str(), internal.as_str(), "bridge"]
        .iter()
        .map(|n| {
            let o: serde_json::Value =
                serde_json::from_str(&cv.ok(&["network", "inspect", "-f", "{{json .Options}}", n]))
                    .unwrap();
            o["com.docker.network.bridge.name"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(nft_set("egress").contains(&bridges[0]));
    assert!(
        !nft_set("egress").contains(&bridges[1]),
        "internal has egress"
    );
    cv.ok(&["rm", "-f", &srv]);
    cv.ok(&["network", "rm", &user_net, &internal]);
    cv.ok(&["system", "reset", "-f"]);
    for b in &bridges {
        assert!(!link_exists(b), "bridge {b} left");
        for set in ["bridges", "egress", "same_bridge"] {
            assert!(!nft_set(set).contains(b.as_str()), "{b} left in {set}");
        }
    }
}
