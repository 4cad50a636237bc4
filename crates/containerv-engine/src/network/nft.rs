//! Port forwarding and egress in the kernel: one nftables table per
//! family, `ip containerv` and (with the first `--ipv6` network) `ip6
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
//! - a third table, `inet containerv_internal`, holds what an
//!   `--internal` bridge (its `internal` set) may do: its gateway address
//!   is there only so that its containers can ask the engine's DNS server
//!   (UDP 53, IPv4); everything else it sends to the host is dropped
//!   (replies to the host's own connections aside), and everything it
//!   would send through the host (another network's published port via
//!   the gateway included), at priority filter - 1, before the main
//!   tables. A table of its own so that the `ip containerv` table keeps
//!   the shape (and version) older engines made: a version change makes
//!   engines of two versions on one host replace it in turn, each time
//!   dropping the other's published ports.
//!
//! The IPv6 table has the IPv4 one's shape with `ipv6_addr` keys and no
//! DNAT of ::1, which IPv6 cannot route out of the host: [::1] is served
//! by `v6proxy`. A bridge is enrolled in the IPv6 table too once that
//! table exists (harmless for an IPv4-only bridge); an internal bridge is
//! marked by its interface alias ([`INTERNAL_ALIAS`]), so a table made
//! again after a flush knows it.
//!
//! A table is made with the first bridge that needs it after boot; a
//! marker `/run/containerv/nft-table` (`nft6-table`, `nft-internal-table`)
//! holding its version says so (they vanish with a reboot; an older table
//! is replaced). The
//! `nft` tool applies each change as one atomic transaction: one process
//! per table for a bridge made and for a container with published ports,
//! none for the others.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};
use crate::network::ports::PortMapping;
use crate::store::lock_exclusive;

/// The interface alias that marks an `--internal` network's bridge.
pub const INTERNAL_ALIAS: &str = "containerv-internal";

/// One of the engine's tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `ip containerv`: ports, egress, isolation for IPv4.
    V4,
    /// `ip6 containerv`: the same for IPv6 (made with the first `--ipv6`
    /// network).
    V6,
    /// `inet containerv_internal`: what an `--internal` bridge may do
    /// (made with the first internal network). A table of its own so the
    /// two above keep the shape (and version) older engines on the same
    /// host made: a version change makes every engine replace the table
    /// and drop the published ports of the others.
    Internal,
}

impl Family {
    /// The table as nft names it.
    fn name(self) -> &'static str {
        match self {
            Family::V4 => "ip containerv",
            Family::V6 => "ip6 containerv",
            Family::Internal => "inet containerv_internal",
        }
    }

    /// The table's shape; a marker of another version means the table is
    /// replaced (its rules changed).
    fn version(self) -> &'static str {
        match self {
            Family::V4 => "ip containerv 2",
            Family::V6 => "ip6 containerv 1",
            Family::Internal => "inet containerv_internal 1",
        }
    }

    fn marker(self) -> PathBuf {
        PathBuf::from(match self {
            Family::V4 => "/run/containerv/nft-table",
            Family::V6 => "/run/containerv/nft6-table",
            Family::Internal => "/run/containerv/nft-internal-table",
        })
    }

    /// The table's rules (fixed; containers and bridges are elements).
    fn table(self) -> String {
        if self == Family::Internal {
            // Before the main tables' filter chains (priority filter - 1):
            // a drop here is final. Within its bridge, an internal
            // network's traffic passes (the main tables' `same_bridge`).
            return "\
table inet containerv_internal {
  set internal { type ifname; }
  set same_bridge { type ifname . ifname; }
  chain input {
    type filter hook input priority filter - 1; policy accept;
    iifname @internal meta nfproto ipv4 udp dport 53 accept
    iifname @internal ct state established,related accept
    iifname @internal drop
  }
  chain forwarding {
    type filter hook forward priority filter - 1; policy accept;
    iifname . oifname @same_bridge accept
    iifname @internal drop
  }
}
"
            .to_string();
        }
        let (fam, addr) = match self {
            Family::V6 => ("ip6", "ipv6_addr"),
            _ => ("ip", "ipv4_addr"),
        };
        // IPv6 has no `route_localnet`: a connection from ::1 DNATed out
        // of the host never gets its reply (de-NATed back to ::1 on the
        // bridge, the kernel drops it), so [::1] is left to the
        // engine's proxy (`v6proxy`).
        let local = match self {
            Family::V6 => "fib daddr type local ip6 daddr != ::1",
            _ => "fib daddr type local",
        };
        format!(
            "\
table {fam} containerv {{
  map tcp_any {{ type inet_service : {addr} . inet_service; }}
  map udp_any {{ type inet_service : {addr} . inet_service; }}
  map tcp_ip {{ type {addr} . inet_service : {addr} . inet_service; }}
  map udp_ip {{ type {addr} . inet_service : {addr} . inet_service; }}
  set same_bridge {{ type ifname . ifname; }}
  set bridges {{ type ifname; }}
  set egress {{ type ifname; }}
  chain prerouting {{
    type nat hook prerouting priority dstnat; policy accept;
    {local} dnat {fam} to {fam} daddr . tcp dport map @tcp_ip
    {local} dnat {fam} to tcp dport map @tcp_any
    {local} dnat {fam} to {fam} daddr . udp dport map @udp_ip
    {local} dnat {fam} to udp dport map @udp_any
  }}
  chain output {{
    type nat hook output priority -100; policy accept;
    {local} dnat {fam} to {fam} daddr . tcp dport map @tcp_ip
    {local} dnat {fam} to tcp dport map @tcp_any
    {local} dnat {fam} to {fam} daddr . udp dport map @udp_ip
    {local} dnat {fam} to udp dport map @udp_any
  }}
  chain postrouting {{
    type nat hook postrouting priority srcnat; policy accept;
    ct status dnat oifname @bridges masquerade
    iifname @egress oifname != @bridges masquerade
  }}
  chain forwarding {{
    type filter hook forward priority filter; policy accept;
    iifname @bridges ct status dnat accept
    iifname @bridges ct state established,related accept
    iifname . oifname @same_bridge accept
    iifname @egress oifname != @bridges accept
    iifname @bridges drop
    oifname @bridges ct state established,related accept
    oifname @bridges ct status dnat accept
    oifname @bridges drop
  }}
}}
"
        )
    }
}

/// True once the table of this version exists (since the last boot).
pub fn table_exists() -> bool {
    exists(Family::V4)
}

/// True once the table for internal bridges exists.
pub fn internal_table_exists() -> bool {
    exists(Family::Internal)
}

/// True once the IPv6 table of this version exists.
pub fn table6_exists() -> bool {
    exists(Family::V6)
}

fn exists(f: Family) -> bool {
    std::fs::read_to_string(f.marker()).is_ok_and(|m| m.trim() == f.version())
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
/// leaves it on; it is the host's setting from then on); for an IPv6
/// network `net.ipv6.conf.all.forwarding` too (docker 27 with its default
/// `ip6tables` does the same).
fn ip_forward_on(v6: bool) {
    let mut files = vec!["/proc/sys/net/ipv4/ip_forward"];
    if v6 {
        files.push("/proc/sys/net/ipv6/conf/all/forwarding");
    }
    for f in files {
        let p = Path::new(f);
        if std::fs::read_to_string(p).is_ok_and(|v| v.trim() == "0") {
            tracing::info!("turning {f} on for container egress");
            let _ = std::fs::write(p, "1");
        }
    }
}

/// Marks bridge `b` as an internal network's (its alias), so a table
/// made again knows it.
pub fn mark_internal(b: &str) {
    let p = Path::new("/sys/class/net").join(b).join("ifalias");
    let _ = std::fs::write(p, INTERNAL_ALIAS);
}

/// Our bridges now on the host, with whether they are internal: marked
/// so, or (made before internal bridges had an address) with no route.
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
                    let alias = std::fs::read_to_string(
                        Path::new("/sys/class/net").join(&n).join("ifalias"),
                    )
                    .unwrap_or_default();
                    let internal = alias.trim() == INTERNAL_ALIAS || !routed.contains(&n);
                    (n, internal)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The elements that enrol bridge `b` in table `f` (none in the
/// internal table for a bridge that is not internal).
fn bridge_elements(f: Family, verb: &str, b: &str, internal: bool) -> String {
    let t = f.name();
    let mut s = format!("{verb} element {t} same_bridge {{ \"{b}\" . \"{b}\" }}\n");
    match f {
        Family::Internal if !internal => return String::new(),
        Family::Internal => s += &format!("{verb} element {t} internal {{ \"{b}\" }}\n"),
        _ => {
            s += &format!("{verb} element {t} bridges {{ \"{b}\" }}\n");
            if !internal {
                s += &format!("{verb} element {t} egress {{ \"{b}\" }}\n");
            }
        }
    }
    s
}

/// Makes the table (once per boot) and enrols every existing bridge.
fn ensure_table(f: Family) -> Result<()> {
    if exists(f) {
        return Ok(());
    }
    let marker = f.marker();
    let dir = marker.parent().expect("has a parent").to_path_buf();
    std::fs::create_dir_all(&dir).map_err(|e| Error::io("create directory", &dir, e))?;
    let _g = lock_exclusive(&dir.join("nft.lock"))?;
    if exists(f) {
        return Ok(());
    }
    let bridges = cv_bridges();
    let mut script = f.table();
    for (b, internal) in &bridges {
        script += &bridge_elements(f, "add", b, *internal);
    }
    // Replace a table a crash left half-made or an older version (ours
    // by name alone).
    let _ = nft(&format!("delete table {}\n", f.name()));
    nft(&script).map_err(|e| {
        Error::sys(
            format!("create nftables table {}", f.name()),
            std::io::Error::other(e),
        )
    })?;
    for (b, internal) in &bridges {
        if !*internal {
            bridge_sysctls(b);
        }
    }
    std::fs::write(&marker, format!("{}\n", f.version()))
        .map_err(|e| Error::io("write", &marker, e))
}

/// Runs `script` against the table. If the table is gone although the
/// marker says it was made (`nft flush ruleset`, a firewall reload, an
/// admin's `nft delete table`), the marker is dropped, the table made
/// again with every bridge enrolled, and `script` retried once: without
/// this every container start failed until the next reboot. (Ports
/// published before the table vanished are not put back.)
fn nft_in_table(f: Family, script: &str) -> std::result::Result<(), String> {
    match nft(script) {
        Err(e) if e.contains("No such file or directory") => {
            tracing::warn!("nftables table {} vanished; making it again", f.name());
            let _ = std::fs::remove_file(f.marker());
            ensure_table(f).map_err(|e| e.to_string())?;
            nft(script)
        }
        r => r,
    }
}

/// A new bridge joins the table(s) (made if missing): isolation from
/// other bridges, and egress unless its network is internal. `v6`: its
/// network has IPv6 (the IPv6 table is made then; a bridge joins an
/// existing one anyway).
pub fn bridge_added(bridge: &str, internal: bool, v6: bool) -> Result<()> {
    if internal {
        mark_internal(bridge);
    }
    let mut fams = vec![Family::V4];
    if v6 || exists(Family::V6) {
        fams.push(Family::V6);
    }
    if internal {
        fams.push(Family::Internal);
    }
    for f in fams {
        ensure_table(f)?;
        nft_in_table(f, &bridge_elements(f, "add", bridge, internal)).map_err(|e| {
            Error::sys(
                format!("add bridge {bridge} to nftables table {}", f.name()),
                std::io::Error::other(e),
            )
        })?;
    }
    if !internal {
        bridge_sysctls(bridge);
        ip_forward_on(v6);
    }
    Ok(())
}

/// A removed bridge leaves the tables (one transaction per element: one
/// already gone must not keep the others). A table the marker does not
/// vouch for is asked of the kernel: the remover may see another /run (a
/// private one, or after the markers were lost) than the process that
/// enrolled the bridge, and its elements must not outlive the bridge (they
/// did in the IPv6 table, which nothing makes again to clean them).
pub fn bridge_removed(bridge: &str, internal: bool) {
    for f in [Family::V4, Family::V6, Family::Internal] {
        if exists(f) || in_kernel(f) {
            for line in bridge_elements(f, "delete", bridge, internal).lines() {
                let _ = nft(&format!("{line}\n"));
            }
        }
    }
}

/// True if table `f` is in the kernel's ruleset, whatever the marker says.
fn in_kernel(f: Family) -> bool {
    Command::new("nft")
        .args(["list", "table"])
        .args(f.name().split(' '))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The element lines of `ports` for table `f`: a port on every address
/// goes into both tables (the IPv6 one only with a `to6` address), one
/// on an address into its family's.
fn elements(
    f: Family,
    ports: &[PortMapping],
    to4: Ipv4Addr,
    to6: Option<Ipv6Addr>,
    verb: &str,
) -> String {
    let mut s = String::new();
    for p in ports {
        let to: IpAddr = match (f, to6) {
            (Family::V4, _) => to4.into(),
            (Family::V6, Some(a)) => a.into(),
            (Family::V6, None) | (Family::Internal, _) => continue,
        };
        let (map, key) = match p.host_ip {
            None => (format!("{}_any", p.proto), p.host_port.to_string()),
            Some(ip) if ip.is_ipv6() != (f == Family::V6) => continue,
            Some(ip) if ip.is_unspecified() => {
                (format!("{}_any", p.proto), p.host_port.to_string())
            }
            Some(ip) => (format!("{}_ip", p.proto), format!("{ip} . {}", p.host_port)),
        };
        let elem = if verb == "delete" {
            key
        } else {
            format!("{key} : {to} . {}", p.container_port)
        };
        s += &format!("{verb} element {} {map} {{ {elem} }}\n", f.name());
    }
    s
}

/// Publishes `ports` to `container` (and its IPv6 address `container6`,
/// if any) — all or none.
pub fn publish(
    ports: &[PortMapping],
    container: Ipv4Addr,
    container6: Option<Ipv6Addr>,
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
    if container6.is_none() {
        if let Some(p) = ports
            .iter()
            .find(|p| p.host_ip.is_some_and(|a| a.is_ipv6()))
        {
            return Err(Error::option(
                "-p",
                format!("[{}]:{}", p.host_ip.expect("some"), p.host_port),
                "an IPv6 host address needs a network with --ipv6",
            ));
        }
    }
    let refused = |e: String| {
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
    };
    bridge_sysctls(bridge);
    let v4 = elements(Family::V4, ports, container, container6, "create");
    if !v4.is_empty() {
        ensure_table(Family::V4)?;
        nft_in_table(Family::V4, &v4).map_err(refused)?;
    }
    let v6 = elements(Family::V6, ports, container, container6, "create");
    if !v6.is_empty() {
        let r =
            ensure_table(Family::V6).and_then(|_| nft_in_table(Family::V6, &v6).map_err(refused));
        if let Err(e) = r {
            unpublish_family(Family::V4, ports, false);
            return Err(e);
        }
    }
    Ok(())
}

fn unpublish_family(f: Family, ports: &[PortMapping], v6: bool) {
    if !exists(f) {
        return;
    }
    let to6 = v6.then_some(Ipv6Addr::UNSPECIFIED);
    // One transaction per element: a missing one must not keep the rest.
    for p in ports {
        let e = elements(
            f,
            std::slice::from_ref(p),
            Ipv4Addr::UNSPECIFIED,
            to6,
            "delete",
        );
        if !e.is_empty() {
            let _ = nft(&e);
        }
    }
}

/// Removes exactly the elements `publish` added (the IPv6 table's only
/// for a container that had an IPv6 address, `v6`).
pub fn unpublish(ports: &[PortMapping], v6: bool) {
    if ports.is_empty() {
        return;
    }
    unpublish_family(Family::V4, ports, false);
    if v6 {
        unpublish_family(Family::V6, ports, true);
    }
}
