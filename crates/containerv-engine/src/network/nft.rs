//! Port forwarding in the kernel: one nftables table, `ip containerv`,
//! that only the engine writes (it never lists, flushes or edits anything
//! else). Published ports are elements of its maps (host port → container
//! address . port, and host address . port → …), so adding and removing
//! one container's ports is adding and deleting exactly its elements; the
//! rules never change after the table is made.
//!
//! - prerouting / output (nat): traffic to a local address (127.0.0.1,
//!   the host's addresses, a bridge's gateway) on a published port is
//!   DNATed to the container.
//! - postrouting: DNATed traffic leaving through a `cv-*` bridge is
//!   masqueraded, so a container answers the host's 127.0.0.1 (with
//!   `route_localnet` on the bridge) or a container on its own bridge
//!   (hairpin) through the right address.
//! - forward (filter): containers' routed traffic (possible once a bridge
//!   forwards, which it does from the first published port on) is allowed
//!   only to published ports and within one bridge (`same_bridge`
//!   elements): networks stay isolated from each other.
//!
//! The table exists from the first published port on; a marker
//! `/run/containerv/nft-table` says so (both vanish with a reboot). The
//! `nft` tool applies each change as one atomic transaction; one process
//! per container with published ports, none for the others.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};
use crate::network::ports::PortMapping;
use crate::store::lock_exclusive;

const TABLE: &str = "\
table ip containerv {
  map tcp_any { type inet_service : ipv4_addr . inet_service; }
  map udp_any { type inet_service : ipv4_addr . inet_service; }
  map tcp_ip { type ipv4_addr . inet_service : ipv4_addr . inet_service; }
  map udp_ip { type ipv4_addr . inet_service : ipv4_addr . inet_service; }
  set same_bridge { type ifname . ifname; }
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
    ct status dnat oifname \"cv-*\" masquerade
  }
  chain forwarding {
    type filter hook forward priority filter; policy accept;
    iifname \"cv-*\" ct status dnat accept
    iifname \"cv-*\" ct state established,related accept
    iifname . oifname @same_bridge accept
    iifname \"cv-*\" drop
  }
}
";

fn marker() -> PathBuf {
    PathBuf::from("/run/containerv/nft-table")
}

/// True once the table exists (since the last boot).
pub fn table_exists() -> bool {
    marker().exists()
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

/// Per-bridge settings for forwarding to published ports: our own
/// interfaces only.
fn bridge_sysctls(bridge: &str) {
    for (k, v) in [("route_localnet", "1"), ("forwarding", "1")] {
        let p = Path::new("/proc/sys/net/ipv4/conf").join(bridge).join(k);
        let _ = std::fs::write(p, v);
    }
}

fn cv_bridges() -> Vec<String> {
    std::fs::read_dir("/sys/class/net")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("cv-"))
                .collect()
        })
        .unwrap_or_default()
}

fn same_bridge_elem(b: &str) -> String {
    format!("\"{b}\" . \"{b}\"")
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
    if !bridges.is_empty() {
        let elems: Vec<String> = bridges.iter().map(|b| same_bridge_elem(b)).collect();
        script += &format!(
            "add element ip containerv same_bridge {{ {} }}\n",
            elems.join(", ")
        );
    }
    // Replace a table a crash left half-made (ours by name alone).
    let _ = nft("delete table ip containerv\n");
    nft(&script).map_err(|e| {
        Error::sys(
            "create nftables table ip containerv",
            std::io::Error::other(e),
        )
    })?;
    for b in &bridges {
        bridge_sysctls(b);
    }
    std::fs::write(marker(), b"ip containerv\n").map_err(|e| Error::io("write", marker(), e))
}

/// A new bridge joins the table (when there is one).
pub fn bridge_added(bridge: &str, internal: bool) {
    if !table_exists() {
        return;
    }
    if !internal {
        bridge_sysctls(bridge);
    }
    let _ = nft(&format!(
        "add element ip containerv same_bridge {{ {} }}\n",
        same_bridge_elem(bridge)
    ));
}

/// A removed bridge leaves the table.
pub fn bridge_removed(bridge: &str) {
    if table_exists() {
        let _ = nft(&format!(
            "delete element ip containerv same_bridge {{ {} }}\n",
            same_bridge_elem(bridge)
        ));
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
    let fresh = !table_exists();
    ensure_table()?;
    if !fresh {
        bridge_sysctls(bridge);
    }
    nft(&elements(ports, container, "create")).map_err(|e| {
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
