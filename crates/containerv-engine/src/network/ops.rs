//! `cv network create/ls/inspect/rm/prune`, with docker's rules: names
//! are unique, `bridge`, `host` and `none` are predefined and cannot be
//! removed, a network with containers cannot be removed, and a subnet may
//! not overlap the host's routes or another network.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
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
    pub subnet: Option<String>,
    pub gateway: Option<String>,
    pub ip_range: Option<String>,
    pub internal: bool,
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
    let want = o
        .subnet
        .as_deref()
        .map(|s| ipam::parse_cidr("--subnet", s))
        .transpose()?;
    if want.is_none() && (o.gateway.is_some() || o.ip_range.is_some()) {
        return Err(Error::option(
            if o.gateway.is_some() {
                "--gateway"
            } else {
                "--ip-range"
            },
            o.gateway.clone().or(o.ip_range.clone()).unwrap_or_default(),
            "needs --subnet",
        ));
    }
    let gateway: Option<Ipv4Addr> = o
        .gateway
        .as_deref()
        .map(|g| {
            g.parse()
                .map_err(|_| Error::option("--gateway", g, "not an IPv4 address"))
        })
        .transpose()?;
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
    };
    if let Err(e) =
        containerv::network::check_ifname("-o com.docker.network.bridge.name", &rec.bridge)
            .map_err(Error::from)
            .and_then(|_| ns.save(&rec, &g))
    {
        ipam::unclaim(subnet, prefix_len);
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
    // A stable id per predefined name (docker's are random per daemon).
    let id: String = name
        .bytes()
        .cycle()
        .take(32)
        .map(|b| format!("{b:02x}"))
        .collect();
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
    let containers: serde_json::Map<String, Value> = r
        .leases
        .iter()
        .map(|(ip, l)| {
            (
                l.container.clone(),
                json!({
                    "Name": l.name, "EndpointID": "", "MacAddress": l.mac,
                    "IPv4Address": format!("{ip}/{}", r.prefix_len), "IPv6Address": ""
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
        "Driver": r.driver, "EnableIPv6": false,
        "IPAM": {"Driver": "default", "Options": {}, "Config": [ipam_cfg]},
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
            let v = json!({
                "IPAMConfig": null, "Links": null, "Aliases": l.aliases, "NetworkID": r.id,
                "EndpointID": "", "Gateway": if r.internal { String::new() } else { r.gateway.to_string() },
                "IPAddress": ip.to_string(), "IPPrefixLen": r.prefix_len, "IPv6Gateway": "",
                "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "MacAddress": l.mac,
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
            "HostIp": p.host_ip.map(|a| a.to_string()).unwrap_or_else(|| "0.0.0.0".into()),
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
        "EndpointID": "", "Gateway": s("Gateway"), "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
        "IPAddress": s("IPAddress"), "IPPrefixLen": f.get("IPPrefixLen").cloned().unwrap_or(json!(0)),
        "IPv6Gateway": "", "MacAddress": s("MacAddress"), "Networks": networks
    })
}

/// The ports container `id` has published (while it runs).
pub fn ports_of(engine_root: &Path, id: &str) -> Vec<crate::network::ports::PortMapping> {
    NetworkStore::new(engine_root)
        .list()
        .unwrap_or_default()
        .iter()
        .filter_map(|r| r.lease_of(id).map(|(_, l)| l.ports.clone()))
        .flatten()
        .collect()
}

/// docker's `ps` PORTS text: `0.0.0.0:8080->80/tcp, 127.0.0.1:5353->53/udp`.
pub fn ports_text(engine_root: &Path, id: &str) -> String {
    ports_of(engine_root, id)
        .iter()
        .map(|p| {
            format!(
                "{}:{}->{}/{}",
                p.host_ip
                    .map(|a| a.to_string())
                    .unwrap_or_else(|| "0.0.0.0".into()),
                p.host_port,
                p.container_port,
                p.proto
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}
