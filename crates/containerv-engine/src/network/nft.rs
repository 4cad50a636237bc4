//! Port forwarding and egress in the kernel: one nftables table, `ip
//! containerv`, that only the engine writes (it never lists, flushes or
//! edits anything else). Published ports are elements of its maps (host
//! port → container address . port, and host address . port → …), and
//! bridges are elements of its sets, so adding and removing a container's
//! ports or a network's bridge is adding and deleting exactly those
//! elements; the rules never change after the table is made.
//!
//! - prerouting / output (nat): traffic to a local address (127.0.0.1,
//!   the host's addresses, a bridge's gateway) on a published port is
//!   DNATed to the container.
//! - postrouting: DNATed traffic leaving through one of our bridges is
//!   masqueraded, so a container answers the host's 127.0.0.1 (with
//!   `route_localnet` on the bridge) or a container on its own bridge
//!   (hairpin) through the right address; traffic from a non-internal
//!   bridge (`egress` set) leaving through any other interface is
//!   masqueraded to the host's address (docker's egress).
//! - forward (filter): traffic from our bridges is allowed to published
//!   ports, as replies, within one bridge (`same_bridge` elements) and,
//!   from a non-internal bridge, out of the host; everything else from a
//!   bridge is dropped (networks stay isolated from each other, an
//!   `--internal` one reaches nothing). Traffic *to* a bridge from
//!   elsewhere passes only as replies or to published ports.
//!
//! The table is made with the first bridge after boot; a marker
//! `/run/containerv/nft-table` holding [`VERSION`] says so (both vanish
//! with a reboot; an older table is replaced). The `nft` tool applies
//! each change as one atomic transaction: one process per bridge made and
//! per container with published ports, none for the others.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};
use crate::network::ports::PortMapping;
use crate::store::lock_exclusive;

/// The table's shape; a marker of another version means the table is
/// replaced (its rules changed).
const VERSION: &str = "ip containerv 2";

const TABLE: &str = "\
table ip containerv {
  map tcp_any { type inet_service : ipv4_addr . inet_service; }
  map udp_any { type inet_service : ipv4_addr . inet_service; }
  map tcp_ip { type ipv4_addr . inet_service : ipv4_addr . inet_service; }
  map udp_ip { type ipv4_addr . inet_service : ipv4_addr . inet_service; }
  set same_bridge { type ifname . ifname; }
  set bridges { type ifname; }
  set egress { type ifname; }
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    fib daddr type local dnat ip to ip daddr . tcp dport map @tcp_ip
    fib daddr type local dnat ip to tcp dport map @tcp_any
    fib daddr type local dnat ip to ip daddr . udp dport map @udp_ip
    fib daddr type local dnat ip to udp dport map @udp_any
  }
  chain output {
    type nat hook output priority -100; policy accept;
    fib daddr type local dnat ip to ip daddr . tcp dport map @tcp_ip
    fib daddr type local dnat ip to tcp dport map @tcp_any
    fib daddr type local dnat ip to ip daddr . udp dport map @udp_ip
    fib daddr type local dnat ip to udp dport map @udp_any
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    ct status dnat oifname @bridges masquerade
    iifname @egress oifname != @bridges masquerade
  }
  chain forwarding {
    type filter hook forward priority filter; policy accept;
    iifname @bridges ct status dnat accept
    iifname @bridges ct state established,related accept
    iifname . oifname @same_bridge accept
    iifname @egress oifname != @bridges accept
    iifname @bridges drop
    oifname @bridges ct state established,related accept
    oifname @bridges ct status dnat accept
    oifname @bridges drop
  }
}
";

fn marker() -> PathBuf {
    PathBuf::from("/run/containerv/nft-table")
}

/// True once the table of this version exists (since the last boot).
pub fn table_exists() -> bool {
    std::fs::read_to_string(marker()).is_ok_and(|m| m.trim() == VERSION)
}

/// Runs `nft -f -` with `script`; the error carries nft's own words.
fn nft(script: &str) -> std::result::Result<(), String> {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run nft (install nftables): {e}"))?;
    if let Some(mut i) = child.stdin.take() {
        let _ = i.write_all(script.as_bytes());
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        Err(err.lines().next().unwrap_or("nft failed").to_string())
    }
}

/// Per-bridge settings for forwarding (published ports, egress): our own
/// interfaces only.
fn bridge_sysctls(bridge: &str) {
    for (k, v) in [("route_localnet", "1"), ("forwarding", "1")] {
        let p = Path::new("/proc/sys/net/ipv4/conf").join(bridge).join(k);
        let _ = std::fs::write(p, v);
    }
}

/// Replies from the outside come in on the host's own interfaces, which
/// route them on only with forwarding on: as dockerd, the engine turns
/// `net.ipv4.ip_forward` on when it makes a bridge with egress (and
/// leaves it on; it is the host's setting from then on).
fn ip_forward_on() {
    let p = Path::new("/proc/sys/net/ipv4/ip_forward");
    if std::fs::read_to_string(p).is_ok_and(|v| v.trim() == "0") {
        tracing::info!("turning net.ipv4.ip_forward on for container egress");
        let _ = std::fs::write(p, "1");
    }
}

/// Our bridges now on the host, with whether they have egress (an
/// internal network's bridge has no address, so no route).
fn cv_bridges() -> Vec<(String, bool)> {
    let routed: Vec<String> = crate::network::ipam::host_routes()
        .into_iter()
        .map(|(_, _, dev)| dev)
        .collect();
    std::fs::read_dir("/sys/class/net")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("cv-"))
                .map(|n| {
                    let egress = routed.contains(&n);
                    (n, egress)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The elements that enrol bridge `b`.
fn bridge_elements(verb: &str, b: &str, egress: bool) -> String {
    let mut s = format!(
        "{verb} element ip containerv bridges {{ \"{b}\" }}\n\
         {verb} element ip containerv same_bridge {{ \"{b}\" . \"{b}\" }}\n"
    );
    if egress {
        s += &format!("{verb} element ip containerv egress {{ \"{b}\" }}\n");
    }
    s
}

/// Makes the table (once per boot) and enrols every existing bridge.
fn ensure_table() -> Result<()> {
    if table_exists() {
        return Ok(());
    }
    let dir = marker().parent().expect("has a parent").to_path_buf();
    std::fs::create_dir_all(&dir).map_err(|e| Error::io("create directory", &dir, e))?;
    let _g = lock_exclusive(&dir.join("nft.lock"))?;
    if table_exists() {
        return Ok(());
    }
    let bridges = cv_bridges();
    let mut script = TABLE.to_string();
    for (b, egress) in &bridges {
        script += &bridge_elements("add", b, *egress);
    }
    // Replace a table a crash left half-made or an older version (ours
    // by name alone).
    let _ = nft("delete table ip containerv\n");
    nft(&script).map_err(|e| {
        Error::sys(
            "create nftables table ip containerv",
            std::io::Error::other(e),
        )
    })?;
    for (b, egress) in &bridges {
        if *egress {
            bridge_sysctls(b);
        }
    }
    std::fs::write(marker(), format!("{VERSION}\n")).map_err(|e| Error::io("write", marker(), e))
}

/// Runs `script` against the table. If the table is gone although the
/// marker says it was made (`nft flush ruleset`, a firewall reload, an
/// admin's `nft delete table`), the marker is dropped, the table made
/// again with every bridge enrolled, and `script` retried once: without
/// this every container start failed until the next reboot. (Ports
/// published before the table vanished are not put back.)
fn nft_in_table(script: &str) -> std::result::Result<(), String> {
    match nft(script) {
        Err(e) if e.contains("No such file or directory") => {
            tracing::warn!("nftables table ip containerv vanished; making it again");
            let _ = std::fs::remove_file(marker());
            ensure_table().map_err(|e| e.to_string())?;
            nft(script)
        }
        r => r,
    }
}

/// A new bridge joins the table (made if missing): isolation from other
/// bridges, and egress unless its network is internal.
pub fn bridge_added(bridge: &str, internal: bool) -> Result<()> {
    ensure_table()?;
    if !internal {
        bridge_sysctls(bridge);
        ip_forward_on();
    }
    nft_in_table(&bridge_elements("add", bridge, !internal)).map_err(|e| {
        Error::sys(
            format!("add bridge {bridge} to nftables table ip containerv"),
            std::io::Error::other(e),
        )
    })
}

/// A removed bridge leaves the table.
pub fn bridge_removed(bridge: &str, internal: bool) {
    if table_exists() {
        let _ = nft(&bridge_elements("delete", bridge, false));
        if !internal {
            let _ = nft(&format!(
                "delete element ip containerv egress {{ \"{bridge}\" }}\n"
            ));
        }
    }
}

fn elements(ports: &[PortMapping], container: std::net::Ipv4Addr, verb: &str) -> String {
    let mut s = String::new();
    for p in ports {
        let (map, key) = match p.host_ip {
            None => (format!("{}_any", p.proto), p.host_port.to_string()),
            Some(ip) => (format!("{}_ip", p.proto), format!("{ip} . {}", p.host_port)),
        };
        let elem = if verb == "delete" {
            key
        } else {
            format!("{key} : {container} . {}", p.container_port)
        };
        s += &format!("{verb} element ip containerv {map} {{ {elem} }}\n");
    }
    s
}

/// Publishes `ports` to `container` (all or none).
pub fn publish(
    ports: &[PortMapping],
    container: std::net::Ipv4Addr,
    bridge: &str,
    internal: bool,
) -> Result<()> {
    if ports.is_empty() {
        return Ok(());
    }
    if internal {
        return Err(Error::option(
            "-p",
            "",
            "ports cannot be published on an --internal network",
        ));
    }
    ensure_table()?;
    bridge_sysctls(bridge);
    nft_in_table(&elements(ports, container, "create")).map_err(|e| {
        let taken = e.contains("File exists");
        Error::option(
            "-p",
            ports
                .iter()
                .map(|p| format!("{}/{}", p.host_port, p.proto))
                .collect::<Vec<_>>()
                .join(","),
            if taken {
                "a host port is already allocated (published by another container)".to_string()
            } else {
                format!("nftables refused the mapping: {e}")
            },
        )
    })
}

/// Removes exactly the elements `publish` added.
pub fn unpublish(ports: &[PortMapping]) {
    if ports.is_empty() || !table_exists() {
        return;
    }
    // One transaction per element: a missing one must not keep the rest.
    for p in ports {
        let _ = nft(&elements(
            std::slice::from_ref(p),
            std::net::Ipv4Addr::UNSPECIFIED,
            "delete",
        ));
    }
}
