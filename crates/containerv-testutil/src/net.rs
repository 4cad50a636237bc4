//! Network helpers for tests that make real interfaces: subnets that
//! overlap none of the host's routes and are unlikely to meet another
//! test's (random in 10.128.0.0/9, re-drawn on overlap), unique interface
//! names, and leak checks that look only at this test's names.

use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

/// The host's IPv4 routes as (network, prefix), from `/proc/net/route`
/// (main table; enough to avoid what the host uses).
pub fn host_routes() -> Vec<(u32, u8)> {
    let text = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let dst = u32::from_str_radix(f.get(1)?, 16).ok()?;
            let mask = u32::from_str_radix(f.get(7)?, 16).ok()?;
            // The file prints the network-order bytes as a native u32.
            let dst = u32::from_be_bytes(dst.to_ne_bytes());
            let mask = u32::from_be_bytes(mask.to_ne_bytes());
            Some((dst & mask, mask.count_ones() as u8))
        })
        .filter(|(_, p)| *p > 0)
        .collect()
}

fn overlaps(a: u32, ap: u8, b: u32, bp: u8) -> bool {
    let p = ap.min(bp);
    let m = if p == 0 { 0 } else { u32::MAX << (32 - p) };
    a & m == b & m
}

fn random_u32() -> u32 {
    let mut b = [0u8; 4];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = f.read_exact(&mut b);
    }
    u32::from_ne_bytes(b)
}

/// A random `/prefix` network inside 10.128.0.0/9 overlapping no host
/// route (prefix 9..=30).
pub fn free_subnet(prefix: u8) -> Ipv4Addr {
    assert!((9..=30).contains(&prefix));
    let routes = host_routes();
    loop {
        let r = random_u32();
        let base = 0x0a80_0000u32 | (r & 0x007f_ffff);
        let net = base & (u32::MAX << (32 - prefix));
        if !routes.iter().any(|&(n, p)| overlaps(n, p, net, prefix)) {
            return Ipv4Addr::from(net);
        }
    }
}

/// The host's IPv6 routes as (network, prefix), from
/// `/proc/net/ipv6_route` (default routes left out).
pub fn host_routes6() -> Vec<(u128, u8)> {
    let text = std::fs::read_to_string("/proc/net/ipv6_route").unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let dst = u128::from_str_radix(f.first()?, 16).ok()?;
            let p = u8::from_str_radix(f.get(1)?, 16).ok()?;
            (p > 0).then_some((dst, p))
        })
        .collect()
}

/// A random IPv6 `/64` inside the unique local addresses fd00::/8 that
/// overlaps no host route (this host has fd00::/64 on eth0).
pub fn free_subnet6() -> std::net::Ipv6Addr {
    let routes = host_routes6();
    loop {
        let r = (u128::from(random_u32()) << 32 | u128::from(random_u32())) & ((1u128 << 56) - 1);
        let net = (0xfdu128 << 120) | (r << 64);
        let clash = routes.iter().any(|&(n, p)| {
            let m = if p.min(64) == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(p.min(64)))
            };
            n & m == net & m
        });
        if !clash {
            return std::net::Ipv6Addr::from(net);
        }
    }
}

/// The `n`th address of the IPv6 network `net`.
pub fn nth6(net: std::net::Ipv6Addr, n: u128) -> std::net::Ipv6Addr {
    std::net::Ipv6Addr::from(u128::from(net) + n)
}

/// The `n`th address of the network `net`.
pub fn nth(net: Ipv4Addr, n: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(net) + n)
}

/// An interface name unique to this process: `<prefix><pid hex><n>`, at
/// most 15 bytes (`prefix` at most 4).
pub fn unique_ifname(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    assert!(prefix.len() <= 4);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let r = random_u32() & 0xfff;
    format!("{prefix}{:x}{r:03x}{n:x}", std::process::id())
        .chars()
        .take(15)
        .collect()
}

/// True when the host has an interface of this name.
pub fn link_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

/// Host interfaces whose names start with `prefix`.
pub fn links_with_prefix(prefix: &str) -> Vec<String> {
    std::fs::read_dir("/sys/class/net")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(prefix))
                .collect()
        })
        .unwrap_or_default()
}

/// A network namespace the test made to play "the outside" (another
/// host on the network): joined to the host by a veth pair on a /30 of
/// its own (host end `.1`, outside end `.2`, default route back via the
/// host), so what containers send "out" can be seen arriving without any
/// packet leaving the machine. Deleted (with its pair) on drop.
pub struct Outside {
    /// `ip netns` name (`/run/netns/<name>`).
    pub name: String,
    /// The host end of the pair.
    pub host_if: String,
    /// The host end's address (what masqueraded traffic comes from).
    pub host_addr: Ipv4Addr,
    /// The outside's own address.
    pub addr: Ipv4Addr,
    /// The host end's and the outside's IPv6 addresses (a ULA /64 of
    /// their own; the outside's IPv6 default route is the host end).
    pub host_addr6: std::net::Ipv6Addr,
    pub addr6: std::net::Ipv6Addr,
}

fn ip(args: &[&str]) {
    let o = std::process::Command::new("ip")
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// This thread joins the network namespace at `path`.
fn join_netns(path: &str) {
    let ns = std::fs::File::open(path).unwrap();
    nix::sched::setns(&ns, nix::sched::CloneFlags::CLONE_NEWNET)
        .unwrap_or_else(|e| panic!("setns {path}: {e}"));
}

impl Outside {
    pub fn new() -> Outside {
        let net = free_subnet(30);
        let name = unique_ifname("cvo");
        let host_if = unique_ifname("cvx");
        let (host_addr, addr) = (nth(net, 1), nth(net, 2));
        let net6 = free_subnet6();
        let (host_addr6, addr6) = (nth6(net6, 1), nth6(net6, 2));
        ip(&["netns", "add", &name]);
        let o = Outside {
            name: name.clone(),
            host_if: host_if.clone(),
            host_addr,
            addr,
            host_addr6,
            addr6,
        };
        ip(&[
            "link", "add", &host_if, "type", "veth", "peer", "name", "eth0", "netns", &name,
        ]);
        ip(&["addr", "add", &format!("{host_addr}/30"), "dev", &host_if]);
        ip(&[
            "addr",
            "add",
            &format!("{host_addr6}/64"),
            "dev",
            &host_if,
            "nodad",
        ]);
        ip(&["link", "set", &host_if, "up"]);
        let x = |a: &[&str]| {
            let mut v = vec!["-n", name.as_str()];
            v.extend_from_slice(a);
            ip(&v);
        };
        x(&["addr", "add", &format!("{addr}/30"), "dev", "eth0"]);
        x(&["link", "set", "eth0", "up"]);
        x(&["link", "set", "lo", "up"]);
        x(&["route", "add", "default", "via", &host_addr.to_string()]);
        x(&[
            "addr",
            "add",
            &format!("{addr6}/64"),
            "dev",
            "eth0",
            "nodad",
        ]);
        x(&[
            "-6",
            "route",
            "add",
            "default",
            "via",
            &host_addr6.to_string(),
        ]);
        o
    }

    /// Runs `f` on a thread inside the outside namespace.
    pub fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let path = format!("/run/netns/{}", self.name);
        std::thread::spawn(move || {
            join_netns(&path);
            f()
        })
        .join()
        .unwrap()
    }

    /// Listens on TCP `port` in the outside for `window`, returning each
    /// connection's peer and the first line it sent. Started on a thread:
    /// the listener is up when this returns.
    pub fn listen_tcp(
        &self,
        port: u16,
        window: std::time::Duration,
    ) -> std::thread::JoinHandle<Vec<(std::net::SocketAddr, String)>> {
        self.listen_tcp_on(std::net::Ipv4Addr::UNSPECIFIED.into(), port, window)
    }

    /// [`Outside::listen_tcp`] on IPv6 (`::`).
    pub fn listen_tcp6(
        &self,
        port: u16,
        window: std::time::Duration,
    ) -> std::thread::JoinHandle<Vec<(std::net::SocketAddr, String)>> {
        self.listen_tcp_on(std::net::Ipv6Addr::UNSPECIFIED.into(), port, window)
    }

    fn listen_tcp_on(
        &self,
        on: std::net::IpAddr,
        port: u16,
        window: std::time::Duration,
    ) -> std::thread::JoinHandle<Vec<(std::net::SocketAddr, String)>> {
        let path = format!("/run/netns/{}", self.name);
        let (tx, rx) = std::sync::mpsc::channel();
        let h = std::thread::spawn(move || {
            use std::io::Read;
            join_netns(&path);
            let l = std::net::TcpListener::bind((on, port)).unwrap();
            l.set_nonblocking(true).unwrap();
            tx.send(()).unwrap();
            let end = std::time::Instant::now() + window;
            let mut got = Vec::new();
            while std::time::Instant::now() < end {
                match l.accept() {
                    Ok((mut s, peer)) => {
                        s.set_nonblocking(false).unwrap();
                        s.set_read_timeout(Some(std::time::Duration::from_secs(2)))
                            .unwrap();
                        let mut buf = Vec::new();
                        let _ = s.read_to_end(&mut buf);
                        let text = String::from_utf8_lossy(&buf);
                        got.push((peer, text.lines().next().unwrap_or("").to_string()));
                    }
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
                }
            }
            got
        });
        rx.recv().unwrap();
        h
    }
}

impl Default for Outside {
    fn default() -> Self {
        Outside::new()
    }
}

impl Drop for Outside {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
        // The pair goes with the namespace (the kernel may take a moment).
        let end = std::time::Instant::now() + std::time::Duration::from_secs(3);
        while link_exists(&self.host_if) && std::time::Instant::now() < end {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        if !std::thread::panicking() {
            assert!(!link_exists(&self.host_if), "{} left", self.host_if);
            assert!(
                !Path::new("/run/netns").join(&self.name).exists(),
                "netns {} left",
                self.name
            );
        }
    }
}
