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
//! - [`bridge`]: the bridge of a network: made on first use, deleted when
//!   its last container leaves (nothing stale between uses).
//! - [`attach`]: a container joins (lease + veth config) and leaves.
//! - [`ops`]: `network create/ls/inspect/rm/prune`.

pub mod attach;
pub mod bridge;
pub mod ipam;
pub mod nft;
pub mod ops;
pub mod ports;
pub mod record;

pub use attach::{attach, release, Attachment};
pub use record::{Lease, NetworkRecord, NetworkStore};

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
            return Err(Error::option(
                "--network",
                n,
                "joining another container's network is not supported yet",
            ))
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
