//! Engine networks with docker's names: the default `bridge` network and
//! user-defined ones (`cv network create`), each a Linux bridge whose
//! containers get a veth pair (made by the core library while the init
//! waits, see `containerv::Veth`) and an address from the network's
//! subnet.
//!
//! Why our own netlink and no plugin: a container on a bridge needs one
//! veth pair, one address and one route; the core's rtnetlink client does
//! that in well under a millisecond inside `create`, where netavark or a CNI
//! plugin would cost a process (and their config parsing) per container.
//! See docs/ARCHITECTURE.md for the measurement.
//!
//! - [`record`]: a network's record (`<root>/networks/<name>.json`) and its
//!   leases (address → container), rewritten under `<root>/networks/.lock`.
//! - [`ipam`]: subnets (docker's default pools, never overlapping the
//!   host's routes or another engine's claim) and address allocation.
//! - [`bridge`]: the bridge of a network: made on first use, kept (as
//!   docker0) until the network is removed or the engine reset.
//! - [`nft`]: published ports, egress and isolation in one nftables table.
//! - [`dns`]: the DNS server that resolves names on user networks (and
//!   runs [`v6proxy`], `[::1]` for published ports of IPv6 containers).
//! - [`attach`]: a container joins (lease + veth config) and leaves.
//! - [`ops`]: `network create/ls/inspect/rm/prune`.

pub mod attach;
pub mod bridge;
pub mod connect;
pub mod dns;
pub mod dns_wire;
pub mod etcfiles;
pub mod ipam;
pub mod nft;
pub mod ops;
pub mod ports;
pub mod record;
pub mod v6proxy;

pub use attach::{attach, attach_with_files, release, Attachment};
pub use record::{Lease, NetworkRecord, NetworkStore};

/// docker's predefined network that a container of `mode` is on and
/// owns, as (name, driver): `none` (`null`) and `host`. The `bridge`
/// networks have records; `container:` mode owns no network.
pub fn predefined_of(mode: crate::record::NetworkMode) -> Option<(&'static str, &'static str)> {
    match mode {
        crate::record::NetworkMode::None => Some(("none", "null")),
        crate::record::NetworkMode::Host => Some(("host", "host")),
        _ => None,
    }
}

/// The id of a predefined network that has no record (`host`, `none`,
/// and `bridge` before its first use): stable per name (docker's are
/// random per daemon).
pub fn predefined_id(name: &str) -> String {
    name.bytes()
        .cycle()
        .take(32)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// docker's `network connect`/`disconnect` (`action`) of a container on
/// `none` or `host` (moby connects those like any network: Actor.ID the
/// network's id, attributes `container`, `name`, `type`); nothing for
/// other modes, whose events come with their leases.
pub fn predefined_event(
    root: &std::path::Path,
    config: &crate::record::ContainerConfig,
    action: &str,
) {
    if let Some((name, driver)) = predefined_of(config.network) {
        crate::events::other(
            root,
            "network",
            action,
            &predefined_id(name),
            &[
                ("container", config.id.clone()),
                ("name", name.to_string()),
                ("type", driver.to_string()),
            ],
        );
    }
}

use crate::store::Store;

/// The default network's name (docker's).
pub const DEFAULT_NETWORK: &str = "bridge";

/// The endpoint flags of `run`/`create` (`--ip`, `--mac-address`,
/// `--network-alias`), as given.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EndpointRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<std::net::Ipv4Addr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// `-p` / `-P`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<ports::PortSpec>,
    /// `--add-host NAME:IP` as (name, ip or `host-gateway`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add_hosts: Vec<(String, String)>,
    /// `--dns`, `--dns-search`, `--dns-option`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns_search: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns_options: Vec<String>,
}

/// The `run`/`create` flags as given.
#[derive(Debug, Clone, Default)]
pub struct NetFlags {
    /// `--ip`.
    pub ip: Option<String>,
    /// `--mac-address`.
    pub mac_address: Option<String>,
    /// `--network-alias`.
    pub aliases: Vec<String>,
    /// `-p`.
    pub publish: Vec<String>,
    /// `-P`.
    pub publish_all: bool,
    /// `--add-host`.
    pub add_hosts: Vec<String>,
    /// `--dns`.
    pub dns: Vec<String>,
    /// `--dns-search`.
    pub dns_search: Vec<String>,
    /// `--dns-option`.
    pub dns_options: Vec<String>,
}

/// `--network` and the endpoint flags → mode, networks, endpoint. Whether
/// a named network exists is checked by `create` (it needs the store).
pub fn parse_run_flags(
    network: Option<&str>,
    f: &NetFlags,
    exposed: &[String],
) -> crate::Result<(crate::record::NetworkMode, Vec<String>, EndpointRequest)> {
    use crate::record::NetworkMode;
    use crate::Error;
    let (mode, networks) = match network {
        None | Some("default") | Some(DEFAULT_NETWORK) => {
            (NetworkMode::Bridge, vec![DEFAULT_NETWORK.to_string()])
        }
        Some("none") => (NetworkMode::None, vec![]),
        Some("host") => (NetworkMode::Host, vec![]),
        Some(n) if n.starts_with("container:") => {
            let target = &n["container:".len()..];
            if target.is_empty() {
                return Err(Error::option("--network", n, "expected container:NAME"));
            }
            (NetworkMode::Container, vec![target.to_string()])
        }
        Some(n) => {
            if !valid_name(n) {
                return Err(Error::option("--network", n, "not a network name"));
            }
            (NetworkMode::Bridge, vec![n.to_string()])
        }
    };
    let ip =
        f.ip.as_deref()
            .map(|s| {
                s.parse::<std::net::Ipv4Addr>()
                    .map_err(|_| Error::option("--ip", s, "not an IPv4 address"))
            })
            .transpose()?;
    if let Some(m) = &f.mac_address {
        let ok = containerv::network::parse_mac(m).is_some_and(|b| b[0] & 1 == 0);
        if !ok {
            return Err(Error::option(
                "--mac-address",
                m.as_str(),
                "not a unicast MAC address (aa:bb:cc:dd:ee:ff)",
            ));
        }
    }
    for a in &f.aliases {
        if a.is_empty() || a.len() > 253 || a.contains(|c: char| c.is_whitespace() || c == '/') {
            return Err(Error::option(
                "--network-alias",
                a.as_str(),
                "not a valid name",
            ));
        }
    }
    let mut add_hosts = Vec::new();
    for h in &f.add_hosts {
        let (name, ip) = h
            .split_once('=')
            .or_else(|| h.split_once(':'))
            .ok_or_else(|| Error::option("--add-host", h.as_str(), "expected HOST:IP"))?;
        let ip_ok = ip == "host-gateway" || ip.parse::<std::net::IpAddr>().is_ok();
        if name.is_empty() || name.contains(char::is_whitespace) || !ip_ok {
            return Err(Error::option(
                "--add-host",
                h.as_str(),
                "expected HOST:IP (an IP address or host-gateway)",
            ));
        }
        add_hosts.push((name.to_string(), ip.to_string()));
    }
    for d in &f.dns {
        if d.parse::<std::net::IpAddr>().is_err() {
            return Err(Error::option("--dns", d.as_str(), "not an IP address"));
        }
    }
    for (flag, list) in [
        ("--dns-search", &f.dns_search),
        ("--dns-option", &f.dns_options),
    ] {
        if let Some(bad) = list
            .iter()
            .find(|s| s.is_empty() || s.contains(char::is_whitespace))
        {
            return Err(Error::option(flag, bad.as_str(), "must be one word"));
        }
    }
    let mut ports = Vec::new();
    for p in &f.publish {
        ports.extend(ports::parse_publish(p)?);
    }
    if f.publish_all {
        ports.extend(ports::from_exposed(exposed.iter())?);
    }
    if mode != NetworkMode::Bridge && !f.publish.is_empty() {
        return Err(Error::option(
            "-p",
            f.publish.join(","),
            "ports can only be published on a bridge network (not --network none or host)",
        ));
    }
    if mode != NetworkMode::Bridge {
        ports.clear();
    }
    if mode != NetworkMode::Bridge
        && (ip.is_some() || f.mac_address.is_some() || !f.aliases.is_empty())
    {
        let flag = if ip.is_some() {
            "--ip"
        } else if f.mac_address.is_some() {
            "--mac-address"
        } else {
            "--network-alias"
        };
        return Err(Error::option(
            flag,
            f.ip.clone()
                .or(f.mac_address.clone())
                .unwrap_or_else(|| f.aliases.join(",")),
            "needs a bridge network (not --network none or host)",
        ));
    }
    if ip.is_some() && networks.first().map(String::as_str) == Some(DEFAULT_NETWORK) {
        return Err(Error::option(
            "--ip",
            f.ip.clone().unwrap_or_default(),
            "user specified IP address is supported on user defined networks only",
        ));
    }
    Ok((
        mode,
        networks,
        EndpointRequest {
            ip,
            mac: f.mac_address.clone(),
            aliases: f.aliases.clone(),
            ports,
            add_hosts,
            dns: f.dns.clone(),
            dns_search: f.dns_search.clone(),
            dns_options: f.dns_options.clone(),
        },
    ))
}

/// `create`: a named network must exist and a `--ip` must fit it (docker
/// checks both then too; the address is taken only at start, under the
/// lock).
pub fn check_exists(
    engine_root: &std::path::Path,
    c: &crate::record::ContainerConfig,
) -> crate::Result<()> {
    if c.network == crate::record::NetworkMode::Container {
        let store = Store::open(engine_root)?;
        let target = c.networks.first().map(String::as_str).unwrap_or("");
        store.resolve(target).map_err(|_| {
            crate::Error::option(
                "--network",
                format!("container:{target}"),
                format!("no such container: {target}"),
            )
        })?;
        return Ok(());
    }
    if c.network != crate::record::NetworkMode::Bridge {
        return Ok(());
    }
    for (i, n) in c.networks.iter().enumerate() {
        if n == DEFAULT_NETWORK {
            continue;
        }
        let rec = NetworkStore::new(engine_root).load(n)?.ok_or_else(|| {
            crate::Error::option("--network", n.as_str(), format!("network {n} not found"))
        })?;
        if i == 0 && c.endpoint.ip.is_some() {
            ipam::allocate(&rec, c.endpoint.ip)?;
        }
    }
    Ok(())
}

/// Docker's network names: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`, at most 255.
pub fn valid_name(n: &str) -> bool {
    let b = n.as_bytes();
    !b.is_empty()
        && b.len() <= 255
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// `--network container:NAME`: the spec joins that container's network
/// namespace (it must be running now).
pub fn join_container_netns(
    store: &Store,
    c: &crate::record::ContainerConfig,
    spec: &mut containerv::Spec,
) -> crate::Result<()> {
    use oci_spec::runtime::{LinuxNamespaceBuilder, LinuxNamespaceType};
    if c.network != crate::record::NetworkMode::Container {
        return Ok(());
    }
    let target = c.networks.first().map(String::as_str).unwrap_or("");
    let flag = || format!("container:{target}");
    let id = store.resolve(target).map_err(|_| {
        crate::Error::option("--network", flag(), format!("no such container: {target}"))
    })?;
    let st = store.load_state(&id)?.observed();
    if !st.status.is_active() || st.pid <= 0 {
        return Err(crate::Error::option(
            "--network",
            flag(),
            format!("container {target} is not running"),
        ));
    }
    let path = std::path::PathBuf::from(format!("/proc/{}/ns/net", st.pid));
    let linux = spec.linux_mut().get_or_insert_with(Default::default);
    let mut list = linux.namespaces().clone().unwrap_or_default();
    list.retain(|n| n.typ() != LinuxNamespaceType::Network);
    list.push(
        LinuxNamespaceBuilder::default()
            .typ(LinuxNamespaceType::Network)
            .path(path)
            .build()
            .map_err(|e| crate::Error::sys("join network namespace", std::io::Error::other(e)))?,
    );
    linux.set_namespaces(Some(list));
    Ok(())
}
