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

use common::dns::lookup;
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
    assert_eq!(
        lookup(&cv, "dns-b", "a", "dns-a"),
        std::slice::from_ref(&a_ip)
    );
    assert_eq!(
        lookup(&cv, "dns-b", "a", "web"),
        std::slice::from_ref(&a_ip)
    );
    assert_eq!(
        lookup(&cv, "dns-b", "a", "DNS-A."),
        std::slice::from_ref(&a_ip)
    );
    assert!(lookup(&cv, "dns-b", "a", "dns-c").is_empty());
    assert!(lookup(&cv, "dns-c", "a", "dns-a").is_empty());
    assert!(lookup(&cv, "dns-c", "a", "no-such-name").is_empty());

    // connect: b now resolves c (and a still does not).
    ok(&cv, &["network", "connect", &n2, "dns-b"]);
    assert_eq!(
        lookup(&cv, "dns-b", "a", "dns-c"),
        std::slice::from_ref(&c_ip)
    );
    assert!(lookup(&cv, "dns-a", "a", "dns-c").is_empty());
    // disconnect: gone again.
    ok(&cv, &["network", "disconnect", &n2, "dns-b"]);
    assert!(lookup(&cv, "dns-b", "a", "dns-c").is_empty());
    // A removed container's name goes with it.
    cv.ok(&["rm", "-f", "dns-a"]);
    assert!(lookup(&cv, "dns-b", "a", "dns-a").is_empty());
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

/// The names of an `--internal` network resolve (docker's embedded DNS
/// answers there too): its bridge has a gateway address for DNS only.
/// Nothing else gets out: a namespace playing "the outside" sees no
/// connection, the host answers nothing else on the gateway (a listener
/// of this test there is not reached), and a port another network
/// publishes is not reached through the gateway either.
#[test]
fn names_resolve_on_internal_networks_and_nothing_else_gets_out() {
    use containerv_testutil::net::{link_exists, nth, Outside};
    let cv = Cv::new();
    let out = Outside::new();
    let (int, open) = (
        containerv_testutil::unique_id("idns"),
        containerv_testutil::unique_id("iopen"),
    );
    let s = free_subnet(24);
    ok(
        &cv,
        &[
            "network",
            "create",
            "--internal",
            "--subnet",
            &format!("{s}/24"),
            &int,
        ],
    );
    let s2 = format!("{}/24", free_subnet(24));
    ok(&cv, &["network", "create", "--subnet", &s2, &open]);
    let gw = nth(s, 1).to_string();
    for n in ["idns-a", "idns-b"] {
        ok(
            &cv,
            &[
                "run",
                "-d",
                "--name",
                n,
                "--network",
                &int,
                "containerv/busybox",
                "sleep",
                "120",
            ],
        );
    }
    // A server on another network, published on the host.
    ok(
        &cv,
        &[
            "run",
            "-d",
            "--name",
            "idns-pub",
            "--network",
            &open,
            "-p",
            "8080",
            "containerv/busybox",
            "sh",
            "-c",
            "while true; do echo published | nc -l -p 8080; done",
        ],
    );
    let hp = cv.ok(&["port", "idns-pub", "8080/tcp"]);
    let hp = hp
        .lines()
        .next()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    let a_ip = cv.inspect(
        "idns-a",
        &format!("{{{{.NetworkSettings.Networks.{int}.IPAddress}}}}"),
    );

    // resolv.conf names the internal network's gateway; names resolve.
    let resolv = cv.ok(&["exec", "idns-b", "cat", "/etc/resolv.conf"]);
    let servers: Vec<&str> = resolv
        .lines()
        .filter_map(|l| l.strip_prefix("nameserver "))
        .collect();
    assert_eq!(servers, [gw.as_str()], "{resolv}");
    assert_eq!(
        lookup(&cv, "idns-b", "a", "idns-a"),
        std::slice::from_ref(&a_ip)
    );
    assert!(lookup(&cv, "idns-b", "a", "idns-pub").is_empty());

    // Nothing else: the outside, the host on the gateway, a published port.
    let l = out.listen_tcp(9000, std::time::Duration::from_secs(8));
    let host_l = std::net::TcpListener::bind((nth(s, 1), 0)).unwrap();
    host_l.set_nonblocking(true).unwrap();
    let host_port = host_l.local_addr().unwrap().port();
    let tries = format!(
        "echo x | nc -w 2 {} 9000; echo out=$?; \
         echo x | nc -w 2 {gw} {host_port}; echo host=$?; \
         nc -w 2 {gw} {hp} </dev/null; echo pub=$?",
        out.addr
    );
    let r = cv.ok(&["exec", "idns-b", "sh", "-c", &tries]);
    assert!(!r.contains("out=0"), "{r}");
    assert!(!r.contains("host=0"), "{r}");
    assert!(!r.contains("published") && !r.contains("pub=0"), "{r}");
    assert!(host_l.accept().is_err(), "the host was reached on {gw}");
    assert!(l.join().unwrap().is_empty(), "the outside was reached");

    // Nothing left.
    let o: serde_json::Value =
        serde_json::from_str(&cv.ok(&["network", "inspect", "-f", "{{json .Options}}", &int]))
            .unwrap();
    let bridge = o["com.docker.network.bridge.name"]
        .as_str()
        .unwrap()
        .to_string();
    cv.ok(&["rm", "-f", "idns-a", "idns-b", "idns-pub"]);
    cv.ok(&["network", "rm", &int, &open]);
    assert!(!link_exists(&bridge), "bridge {bridge} left");
    let o = std::process::Command::new("nft")
        .args(["list", "set", "inet", "containerv_internal", "internal"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&o.stdout).contains(&bridge));
}

/// A container of the default bridge (no DNS server: the host's
/// resolvers) connected to a user network gets that network's server, as
/// docker switches it to its embedded DNS: the network's names resolve;
/// after disconnect the server is gone from its resolv.conf again.
#[test]
fn a_default_bridge_container_connected_to_a_user_network_resolves_names() {
    let cv = Cv::new();
    let n = containerv_testutil::unique_id("cdns");
    let s = format!("{}/24", free_subnet(24));
    ok(&cv, &["network", "create", "--subnet", &s, &n]);
    ok(
        &cv,
        &[
            "run",
            "-d",
            "--name",
            "cdns-srv",
            "--network",
            &n,
            "containerv/busybox",
            "sleep",
            "120",
        ],
    );
    ok(
        &cv,
        &[
            "run",
            "-d",
            "--name",
            "cdns-def",
            "containerv/busybox",
            "sleep",
            "120",
        ],
    );
    let gw = cv.inspect(
        "cdns-srv",
        &format!("{{{{.NetworkSettings.Networks.{n}.Gateway}}}}"),
    );
    let srv_ip = cv.inspect(
        "cdns-srv",
        &format!("{{{{.NetworkSettings.Networks.{n}.IPAddress}}}}"),
    );
    let servers = |c: &str| -> Vec<String> {
        cv.ok(&["exec", c, "cat", "/etc/resolv.conf"])
            .lines()
            .filter_map(|l| l.strip_prefix("nameserver "))
            .map(String::from)
            .collect()
    };
    assert!(!servers("cdns-def").contains(&gw));
    ok(&cv, &["network", "connect", &n, "cdns-def"]);
    assert_eq!(servers("cdns-def"), std::slice::from_ref(&gw));
    assert_eq!(lookup(&cv, "cdns-def", "a", "cdns-srv"), [srv_ip]);
    ok(&cv, &["network", "disconnect", &n, "cdns-def"]);
    assert!(!servers("cdns-def").contains(&gw));
    cv.ok(&["rm", "-f", "cdns-srv", "cdns-def"]);
    cv.ok(&["network", "rm", &n]);
}
