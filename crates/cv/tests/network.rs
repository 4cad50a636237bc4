//! `cv` networking end to end on the real kernel: what a container's
//! network namespace looks like per `--network` mode. Traffic only inside
//! namespaces this test made and on 127.0.0.0/8.
#![cfg(target_os = "linux")]

mod common;

use std::time::{Duration, Instant};

use common::Cv;
use containerv_testutil::net::{free_subnet, link_exists, nth};

#[test]
fn network_none_has_loopback_up() {
    let cv = Cv::new();
    // A server and a client on 127.0.0.1 inside one container.
    let out = cv.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "containerv/busybox",
        "sh",
        "-c",
        "cat /sys/class/net/lo/flags; ls /sys/class/net; \
         (echo pong | nc -l -p 7000 &) ; sleep 0.2; echo ping | nc -w 2 127.0.0.1 7000",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[..2], ["0x9", "lo"], "{out}");
    // The client got the server's answer (the server's own "ping" may
    // be cut off when the container ends).
    assert!(lines[2..].contains(&"pong"), "{out}");
}

/// A user network on a subnet of its own (free of the host's routes);
/// removed (and checked gone) on drop.
struct Net<'a> {
    cv: &'a Cv,
    name: String,
    bridge: String,
    subnet: std::net::Ipv4Addr,
}

impl<'a> Net<'a> {
    fn new(cv: &'a Cv, prefix: u8, extra: &[&str]) -> Net<'a> {
        let subnet = free_subnet(prefix);
        let name = containerv_testutil::unique_id("net");
        let cidr = format!("{subnet}/{prefix}");
        let mut args = vec!["network", "create", "--subnet", &cidr];
        args.extend_from_slice(extra);
        args.push(&name);
        cv.ok(&args);
        let bridge = bridge_of(cv, &name);
        assert!(bridge.starts_with("cv-"), "{bridge}");
        Net {
            cv,
            name,
            bridge,
            subnet,
        }
    }

    fn addr(&self, n: u32) -> String {
        nth(self.subnet, n).to_string()
    }
}

impl Drop for Net<'_> {
    fn drop(&mut self) {
        self.cv.cleanup();
        let _ = self.cv.run(&["network", "rm", &self.name]);
        if !std::thread::panicking() {
            assert!(!link_exists(&self.bridge), "bridge {} left", self.bridge);
        }
    }
}

/// The Linux bridge of network `name`.
fn bridge_of(cv: &Cv, name: &str) -> String {
    let o: serde_json::Value =
        serde_json::from_str(&cv.ok(&["network", "inspect", "-f", "{{json .Options}}", name]))
            .unwrap();
    o["com.docker.network.bridge.name"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The host ends of this test's containers' veths that are still there.
fn veths_of(ids: &[String]) -> Vec<String> {
    ids.iter()
        .map(|id| format!("veth{}", &id[..11]))
        .filter(|n| link_exists(n))
        .collect()
}

/// A tiny TCP server in the container: answers every connection on
/// `port` with `text` (busybox nc, one connection at a time).
fn server(text: &str, port: u16) -> String {
    format!("while true; do echo {text} | nc -l -p {port}; done")
}

/// A shell function for container scripts: `get HOST PORT` retries
/// while the one-connection-at-a-time server re-listens.
const RETRY_GET: &str = "get() { for i in 1 2 3 4 5 6 7 8 9 10; do o=$(nc -w 2 $1 $2) && [ -n \"$o\" ] && { echo \"$o\"; return 0; }; sleep 0.2; done; return 1; };";

/// Connects to `addr:port` from the test (host side) and reads the answer.
fn fetch(addr: &str, port: u16) -> std::io::Result<String> {
    use std::io::Read;
    let sa: std::net::SocketAddr = format!("{addr}:{port}").parse().unwrap();
    let mut s = std::net::TcpStream::connect_timeout(&sa, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(3)))?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

fn wait_fetch(addr: &str, port: u16) -> String {
    let end = Instant::now() + Duration::from_secs(5);
    loop {
        match fetch(addr, port) {
            Ok(s) if !s.is_empty() => return s,
            r => assert!(Instant::now() < end, "{addr}:{port}: {r:?}"),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn default_bridge_connects_containers_and_leaves_nothing() {
    let cv = Cv::new();
    let a = cv.run_d(&["containerv/busybox", "sh", "-c", &server("from-a", 8080)]);
    let ip = cv.inspect(&a, "{{.NetworkSettings.IPAddress}}");
    let gw = cv.inspect(&a, "{{.NetworkSettings.Gateway}}");
    assert_eq!(cv.inspect(&a, "{{.HostConfig.NetworkMode}}"), "bridge");
    assert_eq!(
        cv.inspect(&a, "{{.NetworkSettings.Networks.bridge.IPAddress}}"),
        ip
    );
    let mac = cv.inspect(&a, "{{.NetworkSettings.MacAddress}}");
    assert!(mac.starts_with("02:42:"), "{mac}");
    let bridge = bridge_of(&cv, "bridge");
    assert!(link_exists(&bridge));
    // From the host (the bridge's address) and from a second container.
    assert_eq!(wait_fetch(&ip, 8080).trim(), "from-a");
    let out = cv.ok(&[
        "run",
        "--rm",
        "containerv/busybox",
        "sh",
        "-c",
        &format!("{RETRY_GET} get {ip} 8080; ip route | grep default"),
    ]);
    assert!(out.contains("from-a"), "{out}");
    assert!(out.contains(&format!("default via {gw}")), "{out}");
    cv.ok(&["rm", "-f", &a]);
    cv.assert_gone(&a);
    assert!(veths_of(std::slice::from_ref(&a)).is_empty());
    // The idle default bridge stays (as docker0), with its subnet claim;
    // no lease is left.
    assert!(link_exists(&bridge), "the default bridge {bridge} is kept");
    let leases = cv.ok(&["network", "inspect", "-f", "{{json .Containers}}", "bridge"]);
    assert_eq!(leases.trim(), "{}");
    // A "reboot" takes the bridge: the next container makes it again.
    let nl = containerv::linux::net::Netlink::open().unwrap();
    assert!(nl.del_link_named(&bridge).unwrap());
    let out = cv.ok(&["run", "--rm", "containerv/busybox", "ip", "route"]);
    assert!(out.contains(&format!("default via {gw}")), "{out}");
    assert!(link_exists(&bridge), "{bridge} made again");
    // `system reset` is the explicit way to take it away, with its claim.
    cv.ok(&["system", "reset", "-f"]);
    assert!(!link_exists(&bridge), "{bridge} left after system reset");
    let claims = std::fs::read_dir("/run/containerv/subnets")
        .map(|d| {
            d.flatten()
                .filter(|e| {
                    std::fs::read_to_string(e.path())
                        .is_ok_and(|t| t.contains(cv.engine_root().to_str().unwrap()))
                })
                .count()
        })
        .unwrap_or(0);
    assert_eq!(claims, 0, "subnet claim of this engine left");
}

#[test]
fn user_network_addresses_and_isolation() {
    let cv = Cv::new();
    let n1 = Net::new(&cv, 24, &[]);
    let n2 = Net::new(&cv, 24, &[]);
    let ip = n1.addr(50);
    let a = cv.run_d(&[
        "--network",
        &n1.name,
        "--ip",
        &ip,
        "--mac-address",
        "92:d0:c6:0a:29:33",
        "--network-alias",
        "web",
        "containerv/busybox",
        "sh",
        "-c",
        &server("from-a", 8080),
    ]);
    assert_eq!(cv.inspect(&a, "{{.NetworkSettings.IPAddress}}"), ip);
    assert_eq!(
        cv.inspect(&a, "{{.NetworkSettings.MacAddress}}"),
        "92:d0:c6:0a:29:33"
    );
    let nets: serde_json::Value =
        serde_json::from_str(&cv.inspect(&a, "{{json .NetworkSettings.Networks}}")).unwrap();
    assert_eq!(
        nets[&n1.name]["Aliases"],
        serde_json::json!(["web"]),
        "{nets}"
    );
    assert_eq!(wait_fetch(&ip, 8080).trim(), "from-a");
    let listed = cv.ok(&["network", "inspect", "-f", "{{json .Containers}}", &n1.name]);
    assert!(
        listed.contains(&a) && listed.contains(&format!("{ip}/24")),
        "{listed}"
    );
    // Same network: reachable; the other network: not.
    let same = cv.ok(&[
        "run",
        "--rm",
        "--network",
        &n1.name,
        "containerv/busybox",
        "sh",
        "-c",
        &format!("{RETRY_GET} get {ip} 8080"),
    ]);
    assert!(same.contains("from-a"), "{same}");
    let other = cv.run(&[
        "run",
        "--rm",
        "--network",
        &n2.name,
        "containerv/busybox",
        "sh",
        "-c",
        &format!("nc -w 2 {ip} 8080; echo rc=$?"),
    ]);
    let other = String::from_utf8_lossy(&other.stdout).into_owned();
    assert!(
        !other.contains("from-a") && other.contains("rc=1"),
        "{other}"
    );
    // A taken --ip is refused, naming the holder; nothing is left of it.
    let before = cv.ids().len();
    let e = cv.fails(&[
        "run",
        "-d",
        "--network",
        &n1.name,
        "--ip",
        &ip,
        "containerv/busybox",
        "true",
    ]);
    assert!(e.contains("already in use"), "{e}");
    let _ = before;
    // rm of a network in use is refused and changes nothing.
    let e = cv.fails(&["network", "rm", &n1.name]);
    assert!(e.contains("in use"), "{e}");
    assert!(link_exists(&n1.bridge));
    let ids = cv.ids();
    cv.cleanup();
    assert!(veths_of(&ids).is_empty());
    assert!(
        link_exists(&n1.bridge),
        "the bridge of an idle network stays until network rm"
    );
}

#[test]
fn full_slash_28_gives_13_addresses_and_clear_errors() {
    let cv = Cv::new();
    let n = Net::new(&cv, 28, &[]);
    let results: Vec<std::process::Output> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..20)
            .map(|_| {
                s.spawn(|| {
                    cv.run(&[
                        "run",
                        "-d",
                        "--network",
                        &n.name,
                        "containerv/busybox",
                        "sleep",
                        "60",
                    ])
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ok: Vec<String> = results
        .iter()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .collect();
    let errs: Vec<String> = results
        .iter()
        .filter(|o| !o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
        .collect();
    assert_eq!(ok.len(), 13, "errors: {errs:#?}");
    for e in &errs {
        assert!(e.contains("no free address left"), "{e}");
    }
    let mut ips: Vec<String> = ok
        .iter()
        .map(|id| cv.inspect(id, "{{.NetworkSettings.IPAddress}}"))
        .collect();
    ips.sort();
    ips.dedup();
    assert_eq!(ips.len(), 13, "{ips:?}");
    let all = cv.ids();
    for id in &all {
        cv.ok(&["rm", "-f", id]);
    }
    assert!(veths_of(&all).is_empty());
    let leases = cv.ok(&["network", "inspect", "-f", "{{json .Containers}}", &n.name]);
    assert_eq!(leases.trim(), "{}");
}

#[test]
fn bad_network_input_is_refused_and_changes_nothing() {
    let cv = Cv::new();
    let n = Net::new(&cv, 24, &[]);
    let cidr = format!("{}/24", n.subnet);
    // Overlapping another network, or a host route.
    let e = cv.fails(&["network", "create", "--subnet", &cidr, "dup"]);
    assert!(e.contains("overlaps network"), "{e}");
    let host_route = containerv_engine::network::ipam::host_routes();
    if let Some((a, p, _)) = host_route.first() {
        let e = cv.fails(&["network", "create", "--subnet", &format!("{a}/{p}"), "dup2"]);
        assert!(e.contains("overlaps the host's route"), "{e}");
    }
    for (args, want) in [
        (
            vec!["network", "create", "--subnet", "10.0.0.1/8", "x"],
            "host bits set",
        ),
        (vec!["network", "create", "--subnet", "abc", "x"], "CIDR"),
        (
            vec!["network", "create", "--gateway", "10.0.0.1", "x"],
            "needs --subnet",
        ),
        (vec!["network", "create", "bridge"], "pre-defined"),
        (vec!["network", "rm", "bridge"], "pre-defined"),
        (vec!["network", "rm", "nosuch"], "not found"),
        (
            vec!["run", "--network", "nosuch", "containerv/busybox", "true"],
            "network nosuch not found",
        ),
        (
            vec!["run", "--ip", "10.1.1.1", "containerv/busybox", "true"],
            "user defined networks only",
        ),
        (
            vec![
                "run",
                "--network",
                "none",
                "--ip",
                "10.1.1.1",
                "containerv/busybox",
                "true",
            ],
            "needs a bridge network",
        ),
        (
            vec!["run", "--mac-address", "zz", "containerv/busybox", "true"],
            "MAC",
        ),
    ] {
        let e = cv.fails(&args);
        assert!(e.contains(want), "{args:?}: {e}");
    }
    let outside = nth(n.subnet, 0).to_string();
    let e = cv.fails(&[
        "run",
        "--network",
        &n.name,
        "--ip",
        "10.255.255.1",
        "containerv/busybox",
        "true",
    ]);
    assert!(e.contains("not in network"), "{e}");
    let _ = outside;
    let names = cv.ok(&["network", "ls", "--format", "{{.Name}}"]);
    let mut names: Vec<&str> = names.lines().collect();
    names.sort();
    let mut want = vec!["bridge", "host", "none", n.name.as_str()];
    want.sort();
    assert_eq!(names, want);
    assert!(cv.ids().is_empty(), "no container recorded: {:?}", cv.ids());
}

#[test]
fn killed_monitor_and_init_are_reconciled() {
    let cv = Cv::new();
    let n = Net::new(&cv, 24, &[]);
    let id = cv.run_d(&["--network", &n.name, "containerv/busybox", "sleep", "60"]);
    let pid: i32 = cv.inspect(&id, "{{.State.Pid}}").parse().unwrap();
    for m in common::monitors_of(&id) {
        // SAFETY: signalling processes this test started.
        unsafe { libc::kill(m, libc::SIGKILL) };
    }
    // SAFETY: as above (the container's init).
    unsafe { libc::kill(pid, libc::SIGKILL) };
    // A new container reclaims the dead one's lease.
    let id2 = cv.run_d(&["--network", &n.name, "containerv/busybox", "sleep", "60"]);
    let leases = cv.ok(&["network", "inspect", "-f", "{{json .Containers}}", &n.name]);
    assert!(!leases.contains(&id), "stale lease kept: {leases}");
    assert!(leases.contains(&id2), "{leases}");
    cv.ok(&["rm", "-f", &id, &id2]);
    assert!(veths_of(&[id.clone(), id2.clone()]).is_empty());
    cv.assert_gone(&id);
}

/// A tiny static UDP echo server (busybox has none), built once per test
/// process with gcc, for binding into a container.
fn udp_echo_dir() -> std::path::PathBuf {
    static DIR: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("cv-udpecho-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let src = dir.join("udpecho.c");
        std::fs::write(
            &src,
            r#"#include <arpa/inet.h>
#include <stdlib.h>
#include <sys/socket.h>
int main(int c, char **v) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET; a.sin_port = htons(atoi(v[1]));
  if (bind(s, (struct sockaddr *)&a, sizeof a)) return 1;
  for (int i = 0; i < 100; i++) {
    char b[512]; struct sockaddr_in p; socklen_t l = sizeof p;
    ssize_t n = recvfrom(s, b, sizeof b, 0, (struct sockaddr *)&p, &l);
    if (n > 0) sendto(s, b, n, 0, (struct sockaddr *)&p, l);
  }
  return 0;
}
"#,
        )
        .unwrap();
        let st = std::process::Command::new("gcc")
            .args(["-static", "-O1", "-o"])
            .arg(dir.join("udpecho"))
            .arg(&src)
            .status()
            .expect("gcc is needed for the UDP echo helper");
        assert!(st.success());
        dir
    })
    .clone()
}

/// The nftables elements of the engine's table that mention `port`.
fn nft_mentions(port: u16) -> bool {
    let out = std::process::Command::new("nft")
        .args(["list", "table", "ip", "containerv"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    out.contains(&format!("{port} :")) || out.contains(&format!(". {port} :"))
}

#[test]
fn published_tcp_and_udp_ports_are_reachable_and_removed() {
    let cv = Cv::new();
    let udp = udp_echo_dir();
    let bind = format!("{}:/t:ro", udp.display());
    let a = cv.run_d(&[
        "-p",
        "127.0.0.1::8080",
        "-p",
        "8081",
        "-p",
        "9999/udp",
        "-v",
        &bind,
        "containerv/busybox",
        "sh",
        "-c",
        &format!(
            "/t/udpecho 9999 & ({}) & {}",
            server("from-8081", 8081),
            server("from-8080", 8080)
        ),
    ]);
    let port_of = |p: &str| -> u16 {
        let hp = cv.ok(&["port", &a, p]);
        hp.trim().rsplit(':').next().unwrap().parse().unwrap()
    };
    let (p8080, p8081, p9999) = (port_of("8080"), port_of("8081/tcp"), port_of("9999/udp"));
    let listing = cv.ok(&["port", &a]);
    assert!(
        listing.contains(&format!("8080/tcp -> 127.0.0.1:{p8080}")),
        "{listing}"
    );
    assert!(
        listing.contains(&format!("9999/udp -> 0.0.0.0:{p9999}")),
        "{listing}"
    );
    let ps = cv.ok(&["ps", "--format", "{{.Ports}}"]);
    assert!(ps.contains(&format!("127.0.0.1:{p8080}->8080/tcp")), "{ps}");
    let ports: serde_json::Value =
        serde_json::from_str(&cv.inspect(&a, "{{json .NetworkSettings.Ports}}")).unwrap();
    assert_eq!(
        ports["8081/tcp"][0]["HostPort"],
        p8081.to_string(),
        "{ports}"
    );

    // TCP from the host on 127.0.0.1.
    assert_eq!(wait_fetch("127.0.0.1", p8080).trim(), "from-8080");
    assert_eq!(wait_fetch("127.0.0.1", p8081).trim(), "from-8081");
    // From a second container, through the gateway (hairpin).
    let gw = cv.inspect(&a, "{{.NetworkSettings.Gateway}}");
    let out = cv.ok(&[
        "run",
        "--rm",
        "containerv/busybox",
        "sh",
        "-c",
        &format!("{RETRY_GET} get {gw} {p8081}"),
    ]);
    assert!(out.contains("from-8081"), "{out}");
    // 8080 is published on 127.0.0.1 only: not on the gateway.
    let o = cv.run(&[
        "run",
        "--rm",
        "containerv/busybox",
        "sh",
        "-c",
        &format!("nc -w 2 {gw} {p8080}; echo rc=$?"),
    ]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("rc=1"));
    // UDP echo from the host.
    let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut got = None;
    for _ in 0..20 {
        s.send_to(b"udp-ping", ("127.0.0.1", p9999)).unwrap();
        let mut b = [0u8; 64];
        if let Ok((n, _)) = s.recv_from(&mut b) {
            got = Some(b[..n].to_vec());
            break;
        }
    }
    assert_eq!(got.as_deref(), Some(&b"udp-ping"[..]));

    // A second container cannot take a published host port.
    let e = cv.fails(&[
        "run",
        "-d",
        "-p",
        &format!("{p8081}:80"),
        "containerv/busybox",
        "sleep",
        "9",
    ]);
    assert!(e.contains("already allocated"), "{e}");
    cv.cleanup();
    for p in [p8080, p8081, p9999] {
        assert!(!nft_mentions(p), "nft element for {p} left");
    }
    assert!(veths_of(std::slice::from_ref(&a)).is_empty());
}

#[test]
fn bad_publish_values_are_refused() {
    let cv = Cv::new();
    for (p, want) in [
        ("99999:80", "invalid port 99999"),
        ("abc", "invalid port"),
        ("80/sctp", "unsupported protocol"),
        ("1.2.3:80:80", "invalid IP address"),
        ("8000-8001:80-89", "differ in length"),
    ] {
        let e = cv.fails(&["run", "-d", "-p", p, "containerv/busybox", "true"]);
        assert!(e.contains("-p") && e.contains(want), "{p}: {e}");
    }
    let e = cv.fails(&[
        "run",
        "-d",
        "--network",
        "none",
        "-p",
        "80",
        "containerv/busybox",
        "true",
    ]);
    assert!(e.contains("bridge network"), "{e}");
    assert!(cv.ids().is_empty());
}

#[test]
fn names_and_aliases_resolve_on_one_network_only() {
    let cv = Cv::new();
    let n1 = Net::new(&cv, 24, &[]);
    let n2 = Net::new(&cv, 24, &[]);
    let web = format!("web-{}", std::process::id());
    let a = cv.run_d(&[
        "--name",
        &web,
        "--network",
        &n1.name,
        "--network-alias",
        "www",
        "containerv/busybox",
        "sh",
        "-c",
        &server("from-web", 80),
    ]);
    // --dns 127.0.0.1: a name not in /etc/hosts never reaches a real
    // resolver (nothing listens there in the container's namespace).
    let same = cv.ok(&[
        "run",
        "--rm",
        "--network",
        &n1.name,
        "--dns",
        "127.0.0.1",
        "--dns-search",
        "example.test",
        "--dns-option",
        "ndots:2",
        "--add-host",
        "extra.test:10.9.8.7",
        "containerv/busybox",
        "sh",
        "-c",
        &format!(
            "{RETRY_GET} get {web} 80; get www 80; cat /etc/resolv.conf; grep extra.test /etc/hosts"
        ),
    ]);
    assert_eq!(same.matches("from-web").count(), 2, "{same}");
    assert!(
        same.contains("nameserver 127.0.0.1\nsearch example.test\noptions ndots:2"),
        "{same}"
    );
    assert!(same.contains("10.9.8.7\textra.test"), "{same}");
    let other = cv.run(&[
        "run",
        "--rm",
        "--network",
        &n2.name,
        "--dns",
        "127.0.0.1",
        "containerv/busybox",
        "sh",
        "-c",
        &format!("nc -w 2 {web} 80; echo rc=$?"),
    ]);
    let other = String::from_utf8_lossy(&other.stdout).into_owned();
    assert!(
        !other.contains("from-web") && other.contains("rc=1"),
        "{other}"
    );
    // A running container learns of a new peer and forgets it when it goes.
    let b = cv.run_d(&[
        "--name",
        &format!("{web}-b"),
        "--network",
        &n1.name,
        "containerv/busybox",
        "sleep",
        "60",
    ]);
    let hosts = cv.ok(&["exec", &a, "cat", "/etc/hosts"]);
    assert!(hosts.contains(&format!("{web}-b")), "{hosts}");
    let own_ip = cv.inspect(&a, "{{.NetworkSettings.IPAddress}}");
    assert!(
        hosts.contains(&format!("{own_ip}\t{}", &a[..12])),
        "{hosts}"
    );
    cv.ok(&["rm", "-f", &b]);
    let hosts = cv.ok(&["exec", &a, "cat", "/etc/hosts"]);
    assert!(!hosts.contains(&format!("{web}-b")), "{hosts}");
    cv.ok(&["rm", "-f", &a]);
}

#[test]
fn network_container_shares_the_namespace() {
    let cv = Cv::new();
    let a = cv.run_d(&["containerv/busybox", "sh", "-c", &server("from-a", 9000)]);
    let ip = cv.inspect(&a, "{{.NetworkSettings.IPAddress}}");
    let join = format!("container:{a}");
    let out = cv.ok(&[
        "run",
        "--rm",
        "--network",
        &join,
        "containerv/busybox",
        "sh",
        "-c",
        "nc -w 3 127.0.0.1 9000; ip -4 -o addr show eth0",
    ]);
    assert!(out.contains("from-a"), "{out}");
    assert!(out.contains(&format!("inet {ip}/")), "{out}");
    let b = cv.run_d(&["--network", &join, "containerv/busybox", "sleep", "30"]);
    assert_eq!(cv.inspect(&b, "{{.HostConfig.NetworkMode}}"), join);
    cv.ok(&["rm", "-f", &b]);
    let e = cv.fails(&[
        "run",
        "--network",
        "container:nosuch-ctr",
        "containerv/busybox",
        "true",
    ]);
    assert!(e.contains("no such container"), "{e}");
    cv.ok(&["rm", "-f", &a]);
    cv.assert_gone(&a);
    assert!(veths_of(std::slice::from_ref(&a)).is_empty());
}

#[test]
fn connect_and_disconnect_a_running_container() {
    let cv = Cv::new();
    let n1 = Net::new(&cv, 24, &[]);
    let n2 = Net::new(&cv, 24, &[]);
    let srv = format!("srv-{}", std::process::id());
    let s = cv.run_d(&[
        "--name",
        &srv,
        "--network",
        &n2.name,
        "containerv/busybox",
        "sh",
        "-c",
        &server("from-srv", 7000),
    ]);
    let srv_ip = cv.inspect(&s, "{{.NetworkSettings.IPAddress}}");
    let c = cv.run_d(&["--network", &n1.name, "containerv/busybox", "sleep", "60"]);
    let probe = |target: &str| -> String {
        let o = cv.run(&[
            "exec",
            &c,
            "sh",
            "-c",
            &format!("nc -w 2 {target} 7000; echo rc=$?"),
        ]);
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    assert!(!probe(&srv_ip).contains("from-srv"), "not connected yet");
    let want_ip = n2.addr(77);
    cv.ok(&[
        "network", "connect", "--ip", &want_ip, "--alias", "client", &n2.name, &c,
    ]);
    let addrs = cv.ok(&["exec", &c, "ip", "-4", "-o", "addr"]);
    assert!(
        addrs.contains(&format!("eth1    inet {want_ip}/24"))
            || addrs.contains(&format!("inet {want_ip}/24")),
        "{addrs}"
    );
    assert!(probe(&srv_ip).contains("from-srv"));
    assert!(probe(&srv).contains("from-srv"), "by name after connect");
    let nets: serde_json::Value =
        serde_json::from_str(&cv.inspect(&c, "{{json .NetworkSettings.Networks}}")).unwrap();
    assert_eq!(nets[&n2.name]["IPAddress"], want_ip.as_str(), "{nets}");
    let e = cv.fails(&["network", "connect", &n2.name, &c]);
    assert!(e.contains("already connected"), "{e}");
    cv.ok(&["network", "disconnect", &n2.name, &c]);
    assert!(!probe(&srv_ip).contains("from-srv"), "disconnected");
    let host_end = format!("veth{}x1", &c[..9]);
    assert!(!link_exists(&host_end), "{host_end} left");
    let listed = cv.ok(&["network", "inspect", "-f", "{{json .Containers}}", &n2.name]);
    assert!(!listed.contains(&c), "{listed}");
    let e = cv.fails(&["network", "disconnect", &n2.name, &c]);
    assert!(e.contains("not connected"), "{e}");
    cv.ok(&["rm", "-f", &c, &s]);
    assert!(veths_of(&[c.clone(), s.clone()]).is_empty());
}
