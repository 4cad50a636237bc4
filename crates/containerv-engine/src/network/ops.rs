//! `cv network create/ls/inspect/rm/prune`, with docker's rules: names
//! are unique, `bridge`, `host` and `none` are predefined and cannot be
//! removed, a network with containers cannot be removed, and a subnet may
//! not overlap the host's routes or another network.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use chrono::Utc;
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::network::record::{NetworkRecord, NetworkStore};
use crate::network::{bridge, ipam, DEFAULT_NETWORK};
use crate::store::Store;

/// The names docker reserves.
pub const PREDEFINED: [&str; 3] = [DEFAULT_NETWORK, "host", "none"];

/// `network create` flags.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    pub name: String,
    pub driver: Option<String>,
    /// `--subnet` (at most one IPv4 and one IPv6).
    pub subnets: Vec<String>,
    /// `--gateway` (each matched to the subnet of its family).
    pub gateways: Vec<String>,
    pub ip_range: Option<String>,
    pub internal: bool,
    /// `--ipv6`: dual stack (needs an IPv6 `--subnet`).
    pub ipv6: bool,
    /// `-o KEY=VALUE`.
    pub options: Vec<String>,
    /// `--label KEY=VALUE`.
    pub labels: Vec<String>,
}

fn kv_map(flag: &str, items: &[String]) -> Result<BTreeMap<String, String>> {
    let mut m = BTreeMap::new();
    for kv in items {
        let (k, v) = kv.split_once('=').unwrap_or((kv.as_str(), ""));
        if k.is_empty() {
            return Err(Error::option(flag, kv.as_str(), "expected KEY=VALUE"));
        }
        m.insert(k.to_string(), v.to_string());
    }
    Ok(m)
}

/// `cv network create`: validates every flag, claims the subnet, writes
/// the record. The bridge is made when the first container joins.
pub fn create(engine_root: &Path, o: &CreateOptions) -> Result<NetworkRecord> {
    if !crate::network::valid_name(&o.name) {
        return Err(Error::option(
            "network name",
            o.name.as_str(),
            "must match [a-zA-Z0-9][a-zA-Z0-9_.-]*",
        ));
    }
    if PREDEFINED.contains(&o.name.as_str()) {
        return Err(Error::option(
            "network name",
            o.name.as_str(),
            "is a pre-defined network",
        ));
    }
    match o.driver.as_deref() {
        None | Some("bridge") => {}
        Some(d) => {
            return Err(Error::option(
                "--driver",
                d,
                "only the bridge driver is supported",
            ))
        }
    }
    let mut want: Option<(Ipv4Addr, u8)> = None;
    let mut want6: Option<(Ipv6Addr, u8)> = None;
    for sn in &o.subnets {
        if sn.contains(':') {
            if want6.replace(ipam::parse_cidr6("--subnet", sn)?).is_some() {
                return Err(Error::option(
                    "--subnet",
                    sn.as_str(),
                    "only one IPv6 subnet per network is supported",
                ));
            }
        } else if want.replace(ipam::parse_cidr("--subnet", sn)?).is_some() {
            return Err(Error::option(
                "--subnet",
                sn.as_str(),
                "only one IPv4 subnet per network is supported",
            ));
        }
    }
    if let (Some((a, p)), false) = (want6, o.ipv6) {
        return Err(Error::option(
            "--subnet",
            format!("{a}/{p}"),
            "an IPv6 subnet needs --ipv6",
        ));
    }
    if o.ipv6 && want6.is_none() {
        return Err(Error::option(
            "--ipv6",
            "",
            "needs an IPv6 --subnet (e.g. --subnet fd00:1::/64): there is no default IPv6 address pool (as docker 27 without one configured)",
        ));
    }
    if want.is_none() && o.ip_range.is_some() {
        return Err(Error::option(
            "--ip-range",
            o.ip_range.clone().unwrap_or_default(),
            "needs an IPv4 --subnet",
        ));
    }
    let mut gateway: Option<Ipv4Addr> = None;
    let mut gateway6: Option<Ipv6Addr> = None;
    for g in &o.gateways {
        let a: IpAddr = g
            .parse()
            .map_err(|_| Error::option("--gateway", g.as_str(), "not an IP address"))?;
        let ok = match a {
            IpAddr::V4(a) => want.is_some() && gateway.replace(a).is_none(),
            IpAddr::V6(a) => want6.is_some() && gateway6.replace(a).is_none(),
        };
        if !ok {
            return Err(Error::option(
                "--gateway",
                g.as_str(),
                "needs --subnet of its family (one gateway per subnet)",
            ));
        }
    }
    if let (Some((net, p)), Some(g)) = (want6, gateway6) {
        if containerv::network::network6(g, p) != net || u128::from(g) == u128::from(net) {
            return Err(Error::option(
                "--gateway",
                g.to_string(),
                format!("not a host address of {net}/{p}"),
            ));
        }
    }
    let ip_range = o
        .ip_range
        .as_deref()
        .map(|r| ipam::parse_cidr("--ip-range", r))
        .transpose()?;
    if let (Some((net, p)), Some(g)) = (want, gateway) {
        if !ipam::contains(net, p, g)
            || g == net
            || u32::from(g) == u32::from(net) | !containerv::network::mask(p)
        {
            return Err(Error::option(
                "--gateway",
                g.to_string(),
                format!("not a host address of {net}/{p}"),
            ));
        }
    }
    if let (Some((net, p)), Some((r, rp))) = (want, ip_range) {
        if rp < p || !ipam::contains(net, p, r) {
            return Err(Error::option(
                "--ip-range",
                format!("{r}/{rp}"),
                format!("not inside {net}/{p}"),
            ));
        }
    }
    let options = kv_map("-o", &o.options)?;
    let labels = kv_map("--label", &o.labels)?;
    let ns = NetworkStore::new(engine_root);
    let g = ns.lock()?;
    if ns.load(&o.name)?.is_some() {
        return Err(Error::option(
            "network name",
            o.name.as_str(),
            "a network with this name already exists",
        ));
    }
    let id = Store::new_id()?;
    let bridge = options
        .get("com.docker.network.bridge.name")
        .cloned()
        .unwrap_or_else(|| format!("cv-{}", &id[..12]));
    let (subnet, prefix_len) = ipam::claim("--subnet", want, &ns.path(&o.name), &bridge)?;
    if let Some(w6) = want6 {
        if let Err(e) = ipam::claim6("--subnet", w6, &ns.path(&o.name), &bridge) {
            ipam::unclaim(subnet, prefix_len);
            return Err(e);
        }
    }
    let unclaim_all = || {
        ipam::unclaim(subnet, prefix_len);
        if let Some((a, p)) = want6 {
            ipam::unclaim6(a, p);
        }
    };
    let rec = NetworkRecord {
        name: o.name.clone(),
        bridge,
        id,
        created: Utc::now(),
        driver: "bridge".into(),
        subnet,
        prefix_len,
        gateway: gateway.unwrap_or(Ipv4Addr::from(u32::from(subnet) + 1)),
        ip_range,
        internal: o.internal,
        options,
        labels,
        claimed: true,
        leases: Default::default(),
        enable_ipv6: o.ipv6,
        subnet6: want6,
        gateway6: want6.map(|(a, _)| gateway6.unwrap_or(Ipv6Addr::from(u128::from(a) + 1))),
    };
    if let Err(e) =
        containerv::network::check_ifname("-o com.docker.network.bridge.name", &rec.bridge)
            .map_err(Error::from)
            .and_then(|_| ns.save(&rec, &g))
    {
        unclaim_all();
        return Err(e);
    }
    crate::events::network(engine_root, &rec, "create", None);
    Ok(rec)
}

/// `cv network rm`: refuses predefined networks and networks in use
/// (naming the containers).
pub fn remove(engine_root: &Path, reference: &str) -> Result<String> {
    if PREDEFINED.contains(&reference) {
        return Err(Error::option(
            "network",
            reference,
            "is a pre-defined network and cannot be removed",
        ));
    }
    let ns = NetworkStore::new(engine_root);
    let g = ns.lock()?;
    let rec = ns.resolve(reference)?;
    let users = users(engine_root, &rec.name);
    if !users.is_empty() {
        return Err(Error::option(
            "network",
            rec.name.as_str(),
            format!(
                "in use by container(s) {}: remove them first",
                users.join(", ")
            ),
        ));
    }
    bridge::remove(&rec);
    ns.delete(&rec.name, &g)?;
    ipam::unclaim(rec.subnet, rec.prefix_len);
    if let Some((a, p)) = rec.subnet6 {
        ipam::unclaim6(a, p);
    }
    crate::network::dns::nudge(engine_root);
    crate::events::network(engine_root, &rec, "destroy", None);
    Ok(rec.name)
}

/// Names of the containers (any state) configured on network `name`.
pub fn users(engine_root: &Path, name: &str) -> Vec<String> {
    let Ok(store) = Store::open(engine_root) else {
        return vec![];
    };
    store
        .list()
        .unwrap_or_default()
        .into_iter()
        .filter(|e| {
            e.config.network == crate::record::NetworkMode::Bridge
                && e.config.networks.iter().any(|n| n == name)
        })
        .map(|e| e.config.name)
        .collect()
}

/// `cv network prune`: removes every user network no container uses.
pub fn prune(engine_root: &Path) -> Result<Vec<String>> {
    let ns = NetworkStore::new(engine_root);
    let mut out = Vec::new();
    for rec in ns.list()? {
        if PREDEFINED.contains(&rec.name.as_str()) || !users(engine_root, &rec.name).is_empty() {
            continue;
        }
        if remove(engine_root, &rec.name).is_ok() {
            out.push(rec.name);
        }
    }
    // docker's `network prune` event (moby's NetworksPrune: no actor,
    // `reclaimed` always "0").
    crate::events::other(
        engine_root,
        "network",
        "prune",
        "",
        &[("reclaimed", "0".into())],
    );
    Ok(out)
}

/// `cv system reset`: every network of this engine goes, the default
/// `bridge` too (bridge, nftables elements, subnet claim, record). Its
/// containers must be gone already (refused naming them otherwise).
pub fn reset(engine_root: &Path) -> Result<Vec<String>> {
    let ns = NetworkStore::new(engine_root);
    let g = ns.lock()?;
    let mut out = Vec::new();
    for rec in ns.list()? {
        let users = users(engine_root, &rec.name);
        if !users.is_empty() {
            return Err(Error::option(
                "network",
                rec.name.as_str(),
                format!(
                    "in use by container(s) {}: remove them first",
                    users.join(", ")
                ),
            ));
        }
        bridge::remove(&rec);
        ns.delete(&rec.name, &g)?;
        if rec.claimed {
            ipam::unclaim(rec.subnet, rec.prefix_len);
        }
        if let Some((a, p)) = rec.subnet6 {
            ipam::unclaim6(a, p);
        }
        crate::events::network(engine_root, &rec, "destroy", None);
        out.push(rec.name);
    }
    crate::network::dns::nudge(engine_root);
    Ok(out)
}

/// Every network for `ls`, the predefined ones included (host and none
/// have no record; bridge shows its record when it has one).
pub fn list(engine_root: &Path) -> Result<Vec<Value>> {
    let ns = NetworkStore::new(engine_root);
    let mut recs = ns.list()?;
    let mut out = Vec::new();
    if !recs.iter().any(|r| r.name == DEFAULT_NETWORK) {
        out.push(predefined(DEFAULT_NETWORK, "bridge"));
    }
    out.push(predefined("host", "host"));
    out.push(predefined("none", "null"));
    out.extend(recs.drain(..).map(|r| inspect_json(&r)));
    out.sort_by(|a, b| a["Name"].as_str().cmp(&b["Name"].as_str()));
    Ok(out)
}

fn predefined(name: &str, driver: &str) -> Value {
    let id = crate::network::predefined_id(name);
    json!({
        "Name": name, "Id": id, "Created": "0001-01-01T00:00:00Z", "Scope": "local",
        "Driver": driver, "EnableIPv6": false, "IPAM": {"Driver": "default", "Options": null, "Config": []},
        "Internal": false, "Attachable": false, "Ingress": false, "ConfigFrom": {"Network": ""},
        "ConfigOnly": false, "Containers": {}, "Options": {}, "Labels": {}
    })
}

/// Docker's `network inspect` object.
pub fn inspect_json(r: &NetworkRecord) -> Value {
    let mut ipam_cfg = json!({"Subnet": r.subnet_cidr(), "Gateway": r.gateway.to_string()});
    if let Some((a, p)) = r.ip_range {
        ipam_cfg["IPRange"] = format!("{a}/{p}").into();
    }
    let mut configs = vec![ipam_cfg];
    if let (Some(sn), Some(g6)) = (r.subnet6_cidr(), r.gateway6) {
        configs.push(json!({"Subnet": sn, "Gateway": g6.to_string()}));
    }
    let p6 = r.subnet6.map(|(_, p)| p).unwrap_or(0);
    let containers: serde_json::Map<String, Value> = r
        .leases
        .iter()
        .map(|(ip, l)| {
            (
                l.container.clone(),
                json!({
                    "Name": l.name, "EndpointID": "", "MacAddress": l.mac,
                    "IPv4Address": format!("{ip}/{}", r.prefix_len),
                    "IPv6Address": l.ip6.map(|a| format!("{a}/{p6}")).unwrap_or_default()
                }),
            )
        })
        .collect();
    let mut options = r.options.clone();
    options
        .entry("com.docker.network.bridge.name".into())
        .or_insert_with(|| r.bridge.clone());
    json!({
        "Name": r.name, "Id": r.id, "Created": r.created.to_rfc3339(), "Scope": "local",
        "Driver": r.driver, "EnableIPv6": r.enable_ipv6,
        "IPAM": {"Driver": "default", "Options": {}, "Config": configs},
        "Internal": r.internal, "Attachable": false, "Ingress": false,
        "ConfigFrom": {"Network": ""}, "ConfigOnly": false,
        "Containers": containers, "Options": options, "Labels": r.labels
    })
}

/// Docker's `NetworkSettings` of container `id` (empty when it has no
/// lease: not running, or `none`/`host`).
pub fn network_settings(engine_root: &Path, id: &str) -> Value {
    let ns = NetworkStore::new(engine_root);
    let mut networks = serde_json::Map::new();
    let mut first: Option<Value> = None;
    for r in ns.list().unwrap_or_default() {
        if let Some((ip, l)) = r.lease_of(id) {
            let gw6 = match (l.ip6, r.gateway6, r.internal) {
                (Some(_), Some(g), false) => g.to_string(),
                _ => String::new(),
            };
            let v = json!({
                "IPAMConfig": null, "Links": null, "Aliases": l.aliases, "NetworkID": r.id,
                "EndpointID": "", "Gateway": if r.internal { String::new() } else { r.gateway.to_string() },
                "IPAddress": ip.to_string(), "IPPrefixLen": r.prefix_len, "IPv6Gateway": gw6,
                "GlobalIPv6Address": l.ip6.map(|a| a.to_string()).unwrap_or_default(),
                "GlobalIPv6PrefixLen": if l.ip6.is_some() { r.subnet6.map(|(_, p)| p).unwrap_or(0) } else { 0 },
                "MacAddress": l.mac,
                "DriverOpts": null
            });
            if first.is_none() {
                first = Some(v.clone());
            }
            networks.insert(r.name.clone(), v);
        }
    }
    let mut ports = serde_json::Map::new();
    for p in ports_of(engine_root, id) {
        let key = format!("{}/{}", p.container_port, p.proto);
        let host = json!({
            "HostIp": host_ip_text(&p),
            "HostPort": p.host_port.to_string(),
        });
        match ports.get_mut(&key).and_then(Value::as_array_mut) {
            Some(list) => list.push(host),
            None => {
                ports.insert(key, json!([host]));
            }
        }
    }
    let f = first.unwrap_or_else(|| json!({}));
    let s = |k: &str| f.get(k).cloned().unwrap_or_else(|| json!(""));
    json!({
        "Bridge": "", "SandboxID": "", "HairpinMode": false, "Ports": ports,
        "SandboxKey": "", "SecondaryIPAddresses": null, "SecondaryIPv6Addresses": null,
        "EndpointID": "", "Gateway": s("Gateway"), "GlobalIPv6Address": s("GlobalIPv6Address"),
        "GlobalIPv6PrefixLen": f.get("GlobalIPv6PrefixLen").cloned().unwrap_or(json!(0)),
        "IPAddress": s("IPAddress"), "IPPrefixLen": f.get("IPPrefixLen").cloned().unwrap_or(json!(0)),
        "IPv6Gateway": s("IPv6Gateway"), "MacAddress": s("MacAddress"), "Networks": networks
    })
}

/// A mapping's host address as docker shows it (`0.0.0.0`, `::`).
pub fn host_ip_text(p: &crate::network::ports::PortMapping) -> String {
    p.host_ip
        .map(|a| a.to_string())
        .unwrap_or_else(|| "0.0.0.0".into())
}

/// The ports container `id` has published (while it runs), one entry
/// per family: a port on every address of a container with an IPv6
/// address is listed for `0.0.0.0` and for `::` (as docker lists it).
pub fn ports_of(engine_root: &Path, id: &str) -> Vec<crate::network::ports::PortMapping> {
    let mut out = Vec::new();
    for r in NetworkStore::new(engine_root).list().unwrap_or_default() {
        let Some((_, l)) = r.lease_of(id) else {
            continue;
        };
        for p in &l.ports {
            out.push(p.clone());
            if p.host_ip.is_none() && l.ip6.is_some() {
                out.push(crate::network::ports::PortMapping {
                    host_ip: Some(Ipv6Addr::UNSPECIFIED.into()),
                    ..p.clone()
                });
            }
        }
    }
    out
}

/// docker's `ps` PORTS text: `0.0.0.0:8080->80/tcp, 127.0.0.1:5353->53/udp`.
pub fn ports_text(engine_root: &Path, id: &str) -> String {
    ports_of(engine_root, id)
        .iter()
        .map(|p| {
            format!(
                "{}:{}->{}/{}",
                host_ip_text(p),
                p.host_port,
                p.container_port,
                p.proto
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}
