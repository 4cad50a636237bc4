//! `[::1]:PORT` for the published TCP ports of containers with an IPv6
//! address. IPv6 has no `route_localnet`: a connection from ::1 that the
//! kernel DNATs out of the host never gets its answer (the reply,
//! de-NATed back to ::1 on the bridge, is dropped; measured: the
//! container's SYN-ACK arrives and goes no further), so the `ip6
//! containerv` table leaves ::1 alone and, as docker's `docker-proxy`
//! does for loopback, the engine's network process (the DNS server's,
//! see `dns`) listens on `[::1]:PORT` and copies each connection to
//! `[container]:port` (a thread pair per connection). Every other local
//! address, IPv4 and IPv6, is forwarded by the kernel (`nft`). UDP on
//! `[::1]` is not proxied.

use std::io::Read;
use std::net::{IpAddr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;
use std::time::Duration;

use crate::network::record::NetworkStore;

/// (host port, container address) of every proxy the records ask for:
/// TCP ports published on every address (or on `::`, `::1`) of a
/// container with an IPv6 address.
pub fn wanted(root: &Path) -> Vec<(u16, SocketAddr)> {
    let mut out = Vec::new();
    for r in NetworkStore::new(root).list().unwrap_or_default() {
        for l in r.leases.values() {
            let Some(a6) = l.ip6 else { continue };
            for p in &l.ports {
                let on_loopback = match p.host_ip {
                    None => true,
                    Some(IpAddr::V6(h)) => h.is_unspecified() || h.is_loopback(),
                    Some(IpAddr::V4(_)) => false,
                };
                if p.proto == "tcp" && on_loopback {
                    out.push((p.host_port, SocketAddr::new(a6.into(), p.container_port)));
                }
            }
        }
    }
    out
}

/// The listeners in force.
#[derive(Default)]
pub struct Proxies {
    list: Vec<(u16, SocketAddr, TcpListener)>,
}

impl Proxies {
    /// Listeners for `want` (new ones bound, gone ones closed). A port
    /// another program holds on [::1] is skipped (and tried again at the
    /// next sync).
    pub fn sync(&mut self, want: &[(u16, SocketAddr)]) {
        self.list
            .retain(|(p, t, _)| want.iter().any(|(wp, wt)| wp == p && wt == t));
        for (p, t) in want {
            if self.list.iter().any(|(lp, _, _)| lp == p) {
                continue;
            }
            match TcpListener::bind((Ipv6Addr::LOCALHOST, *p)) {
                Ok(l) => {
                    let _ = l.set_nonblocking(true);
                    self.list.push((*p, *t, l));
                }
                Err(e) => tracing::warn!("cannot listen on [::1]:{p}: {e}"),
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The listeners' descriptors, in order.
    pub fn fds(&self) -> impl Iterator<Item = BorrowedFd<'_>> {
        self.list.iter().map(|(_, _, l)| l.as_fd())
    }

    /// Accepts what waits on listener `i` and copies it to its container.
    pub fn accept(&self, i: usize) {
        let Some((_, target, l)) = self.list.get(i) else {
            return;
        };
        while let Ok((client, _)) = l.accept() {
            let target = *target;
            std::thread::spawn(move || relay(client, target));
        }
    }
}

/// One connection: both directions copied until each side closes.
fn relay(client: TcpStream, target: SocketAddr) {
    let _ = client.set_nonblocking(false);
    let Ok(server) = TcpStream::connect_timeout(&target, Duration::from_secs(5)) else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let up = std::thread::spawn(move || copy(c2, s2));
    copy(server, client);
    let _ = up.join();
}

/// Copies `from` to `to`, then closes `to`'s writing side.
fn copy(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if std::io::Write::write_all(&mut to, &buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// True when something listens on TCP `[::1]:port` (this netns).
fn listening(port: u16) -> bool {
    let want = format!("00000000000000000000000001000000:{port:04X}");
    std::fs::read_to_string("/proc/net/tcp6")
        .map(|t| {
            t.lines().any(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                f.get(1) == Some(&want.as_str()) && f.get(3) == Some(&"0A")
            })
        })
        .unwrap_or(false)
}

/// After a container with IPv6 and published TCP ports joined: tells the
/// network process and waits (≤ 2 s) until it listens on `[::1]` for
/// each, so the port works when `run` returns (as docker's proxy).
pub fn await_ports(root: &Path, ports: &[crate::network::ports::PortMapping]) {
    let ports: Vec<u16> = ports
        .iter()
        .filter(|p| {
            p.proto == "tcp"
                && match p.host_ip {
                    None => true,
                    Some(IpAddr::V6(h)) => h.is_unspecified() || h.is_loopback(),
                    Some(IpAddr::V4(_)) => false,
                }
        })
        .map(|p| p.host_port)
        .collect();
    if ports.is_empty() {
        return;
    }
    crate::network::dns::nudge(root);
    let end = std::time::Instant::now() + Duration::from_secs(2);
    while !ports.iter().all(|p| listening(*p)) && std::time::Instant::now() < end {
        std::thread::sleep(Duration::from_millis(5));
    }
}
