//! Names through DNS on user networks (docker's embedded DNS, podman's
//! aardvark-dns): `nslookup` (which asks the nameserver directly, never
//! /etc/hosts) from inside containers, by name and alias, not across
//! networks, following `network connect`/`disconnect` and removals of
//! running containers. The server is told to forward nothing
//! (`CONTAINERV_DNS_UPSTREAM=none`), so no query ever reaches a real
//! resolver; the containers' resolv.conf names only the network's own
//! gateway.
#![cfg(target_os = "linux")]

mod common;

use common::Cv;
use containerv_testutil::net::free_subnet;

fn ok(cv: &Cv, args: &[&str]) -> String {
    // `Cv::cmd` sets CONTAINERV_DNS_UPSTREAM=none.
    let o = cv.cmd(args).output().unwrap();
    assert!(
        o.status.success(),
        "cv {args:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `nslookup NAME` from container `from`: the addresses answered.
fn lookup(cv: &Cv, from: &str, name: &str) -> Vec<String> {
    let o = cv
        .cmd(&["exec", from, "nslookup", "-type=a", name])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    // busybox: "Name:\tNAME\nAddress: A" after the server's own lines.
    out.split("Name:")
        .skip(1)
        .flat_map(|b| {
            b.lines()
                .filter_map(|l| l.trim().strip_prefix("Address:"))
                .map(|a| a.trim().to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Processes that are this engine root's DNS server.
fn dns_servers(cv: &Cv) -> Vec<i32> {
    let root = cv.engine_root();
    let root = root.to_str().unwrap();
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmd);
        if cmd.contains("__dns") && cmd.contains(root) {
            out.push(pid);
        }
    }
    out
}

#[test]
fn names_resolve_through_dns_per_network_and_follow_changes() {
    let cv = Cv::new();
    let (n1, n2) = (
        containerv_testutil::unique_id("dns"),
        containerv_testutil::unique_id("dns"),
    );
    for n in [&n1, &n2] {
        let s = format!("{}/24", free_subnet(24));
        ok(&cv, &["network", "create", "--subnet", &s, n]);
    }
    let run = |name: &str, net: &str, extra: &[&str]| {
        let mut a = vec!["run", "-d", "--name", name, "--network", net];
        a.extend_from_slice(extra);
        a.extend_from_slice(&["containerv/busybox", "sleep", "120"]);
        ok(&cv, &a);
    };
    run("dns-a", &n1, &["--network-alias", "web"]);
    run("dns-b", &n1, &[]);
    run("dns-c", &n2, &[]);
    let ip = |c: &str, n: &str| {
        cv.inspect(
            c,
            &format!("{{{{.NetworkSettings.Networks.{n}.IPAddress}}}}"),
        )
    };
    let (a_ip, c_ip) = (ip("dns-a", &n1), ip("dns-c", &n2));
    let gw1 = cv.inspect(
        "dns-a",
        &format!("{{{{.NetworkSettings.Networks.{n1}.Gateway}}}}"),
    );

    // resolv.conf names the network's own server and nothing else.
    let resolv = cv.ok(&["exec", "dns-b", "cat", "/etc/resolv.conf"]);
    let servers: Vec<&str> = resolv
        .lines()
        .filter_map(|l| l.strip_prefix("nameserver "))
        .collect();
    assert_eq!(servers, [gw1.as_str()], "{resolv}");

    // By name and by alias on one network; not across networks.
    assert_eq!(lookup(&cv, "dns-b", "dns-a"), std::slice::from_ref(&a_ip));
    assert_eq!(lookup(&cv, "dns-b", "web"), std::slice::from_ref(&a_ip));
    assert_eq!(lookup(&cv, "dns-b", "DNS-A."), std::slice::from_ref(&a_ip));
    assert!(lookup(&cv, "dns-b", "dns-c").is_empty());
    assert!(lookup(&cv, "dns-c", "dns-a").is_empty());
    assert!(lookup(&cv, "dns-c", "no-such-name").is_empty());

    // connect: b now resolves c (and a still does not).
    ok(&cv, &["network", "connect", &n2, "dns-b"]);
    assert_eq!(lookup(&cv, "dns-b", "dns-c"), std::slice::from_ref(&c_ip));
    assert!(lookup(&cv, "dns-a", "dns-c").is_empty());
    // disconnect: gone again.
    ok(&cv, &["network", "disconnect", &n2, "dns-b"]);
    assert!(lookup(&cv, "dns-b", "dns-c").is_empty());
    // A removed container's name goes with it.
    cv.ok(&["rm", "-f", "dns-a"]);
    assert!(lookup(&cv, "dns-b", "dns-a").is_empty());
    assert_eq!(dns_servers(&cv).len(), 1, "one server per engine root");

    // Nothing left: the server exits with the networks' last container.
    cv.ok(&["rm", "-f", "dns-b", "dns-c"]);
    let end = std::time::Instant::now() + std::time::Duration::from_secs(3);
    while !dns_servers(&cv).is_empty() && std::time::Instant::now() < end {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(dns_servers(&cv).is_empty(), "DNS server left");
    cv.ok(&["network", "rm", &n1, &n2]);
}
