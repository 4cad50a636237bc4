//! A container joins its network when it starts and leaves when it
//! stops: the lease (address, MAC, host veth name) is written under the
//! networks lock, the bridge made if missing, and the core library gets a
//! `Veth` to make while the init waits. Leaving deletes the lease; the
//! bridge stays (see `bridge`).
//!
//! Leases of containers that are gone (record removed, or not running and
//! not starting: a killed monitor, a "reboot") are dropped whenever the
//! lock is taken, so a crash's leftovers are reconciled on the next use.
//!
//! Joining emits docker's `network connect` event and leaving (a lease
//! given back) `network disconnect`, so each run of a container shows
//! both, on every path that ends it.

use std::net::Ipv4Addr;
use std::path::Path;

use chrono::Utc;
use containerv::Veth;

use crate::error::{Error, Result};
use crate::network::record::{Lease, NetworkRecord, NetworkStore};
use crate::network::{bridge, etcfiles, ipam, nft, ports, EndpointRequest, DEFAULT_NETWORK};
use crate::record::ContainerConfig;
use crate::store::{LockGuard, Store};

/// What a started container got.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub network: String,
    pub ip: Ipv4Addr,
    pub veth: Veth,
    /// The network as it was right after joining.
    pub record: NetworkRecord,
}

/// Docker's MAC for an address: 02:42 and the address's four bytes.
pub fn mac_for(ip: Ipv4Addr) -> [u8; 6] {
    let o = ip.octets();
    [0x02, 0x42, o[0], o[1], o[2], o[3]]
}

/// The host end's name for container `id`.
pub fn host_ifname(id: &str) -> String {
    format!("veth{}", &id[..11.min(id.len())])
}

/// The default network's record, made if missing; its subnet is claimed
/// at first use and kept with its bridge (a record from before, with its
/// claim given back, claims again).
pub(crate) fn default_network(ns: &NetworkStore, g: &LockGuard) -> Result<NetworkRecord> {
    if let Some(mut r) = ns.load(DEFAULT_NETWORK)? {
        if !r.claimed {
            let (subnet, prefix_len) =
                ipam::claim("network", None, &ns.path(DEFAULT_NETWORK), &r.bridge)?;
            r.subnet = subnet;
            r.prefix_len = prefix_len;
            r.gateway = Ipv4Addr::from(u32::from(subnet) + 1);
            r.claimed = true;
            if let Err(e) = ns.save(&r, g) {
                ipam::unclaim(subnet, prefix_len);
                return Err(e);
            }
        }
        return Ok(r);
    }
    let id = Store::new_id()?;
    let bridge = format!("cv-{}", &id[..12]);
    let (subnet, prefix_len) = ipam::claim("network", None, &ns.path(DEFAULT_NETWORK), &bridge)?;
    let rec = NetworkRecord {
        claimed: true,
        name: DEFAULT_NETWORK.into(),
        bridge,
        id,
        created: Utc::now(),
        driver: "bridge".into(),
        subnet,
        prefix_len,
        gateway: Ipv4Addr::from(u32::from(subnet) + 1),
        ip_range: None,
        internal: false,
        options: Default::default(),
        labels: Default::default(),
        leases: Default::default(),
        enable_ipv6: false,
        subnet6: None,
        gateway6: None,
    };
    if let Err(e) = ns.save(&rec, g) {
        ipam::unclaim(subnet, prefix_len);
        return Err(e);
    }
    Ok(rec)
}

/// Drops leases whose container is gone or down (not `keep`).
fn reconcile(store: &Store, rec: &mut NetworkRecord, keep: &str) -> bool {
    let before = rec.leases.len();
    rec.leases.retain(|_, l| {
        if l.container == keep {
            return true;
        }
        let live = match store.load_state(&l.container) {
            Err(Error::NoSuchContainer(_)) => false,
            // An unreadable record may be a running container: keep its
            // address (fail safe; `rm -f` releases it).
            Err(_) => true,
            Ok(st) => {
                let o = st.observed();
                o.status.is_active() || o.status == crate::record::Status::Created
            }
        };
        if !live {
            nft::unpublish(&l.ports, l.ip6.is_some());
        }
        live
    });
    rec.leases.len() != before
}

/// Joins the container to its network: a lease and the veth to make.
/// `None` for `--network none|host`.
pub fn attach(store: &Store, config: &ContainerConfig) -> Result<Option<Attachment>> {
    if config.network != crate::record::NetworkMode::Bridge {
        return Ok(None);
    }
    let name = config
        .networks
        .first()
        .map(String::as_str)
        .unwrap_or(DEFAULT_NETWORK);
    let ns = NetworkStore::new(store.root());
    let g = ns.lock()?;
    let mut rec = if name == DEFAULT_NETWORK {
        default_network(&ns, &g)?
    } else {
        ns.load(name)?
            .ok_or_else(|| Error::NoSuchNetwork(name.to_string()))?
    };
    reconcile(store, &mut rec, "");
    let req: &EndpointRequest = &config.endpoint;
    let ip = ipam::allocate(&rec, req.ip)?;
    let ip6 = ipam::allocate6(&rec)?;
    let mac = match &req.mac {
        Some(m) => containerv::network::parse_mac(m)
            .ok_or_else(|| Error::option("--mac-address", m.as_str(), "not a MAC address"))?,
        None => mac_for(ip),
    };
    let lease = Lease {
        container: config.id.clone(),
        name: config.name.clone(),
        mac: containerv::network::format_mac(&mac),
        host_ifname: host_ifname(&config.id),
        aliases: req.aliases.clone(),
        ports: ports::resolve(&req.ports)?,
        ip6,
    };
    rec.leases.insert(ip, lease.clone());
    bridge::ensure(&rec)?;
    if let Err(e) = nft::publish(&lease.ports, ip, ip6, &rec.bridge, rec.internal) {
        rec.leases.remove(&ip);
        return Err(e);
    }
    ns.save_leases(&rec, &g)?;
    crate::events::network(store.root(), &rec, "connect", Some(&config.id));
    let veth = Veth {
        host_ifname: lease.host_ifname,
        container_ifname: "eth0".into(),
        container_addr: ip,
        prefix_len: rec.prefix_len,
        host_addr: None,
        gateway: (!rec.internal).then_some(rec.gateway),
        bridge: Some(rec.bridge.clone()),
        mac: Some(mac),
        addr6: ip6.zip(rec.subnet6.map(|(_, p)| p)),
        gateway6: rec.gateway6.filter(|_| ip6.is_some() && !rec.internal),
    };
    Ok(Some(Attachment {
        network: rec.name.clone(),
        ip,
        veth,
        record: rec,
    }))
}

/// [`attach`], then the container's /etc/hosts and /etc/resolv.conf
/// (docker's, see `etcfiles`) bound into `spec`, and the other
/// containers of the network told about it. `--network host` keeps the
/// host's files as the core binds them.
pub fn attach_with_files(
    store: &Store,
    config: &ContainerConfig,
    spec: &mut containerv::Spec,
) -> Result<Option<Attachment>> {
    let joined = attach(store, config)?;
    if config.network == crate::record::NetworkMode::Host {
        return Ok(joined);
    }
    let files = etcfiles::write_files(
        store,
        config,
        joined.as_ref().map(|a| a.ip),
        joined.as_ref().map(|a| &a.record),
    );
    let files = match files {
        Ok(f) => f,
        Err(e) => {
            if joined.is_some() {
                release(store.root(), &config.id);
            }
            return Err(e);
        }
    };
    let mut mounts = spec.mounts().clone().unwrap_or_default();
    for (dest, src) in files {
        if mounts.iter().any(|m| covers(m, Path::new(dest))) {
            // -v over it wins, as docker; under a bind of a host
            // directory (-v /srv/etc:/etc) its mount point would be made
            // in that host directory: left out, as the core does.
            continue;
        }
        let m = oci_spec::runtime::MountBuilder::default()
            .destination(dest)
            .typ("bind")
            .source(src)
            .options(vec!["rbind".to_string(), "rprivate".to_string()])
            .build()
            .map_err(|e| Error::sys("bind /etc files", std::io::Error::other(e)))?;
        mounts.push(m);
    }
    spec.set_mounts(Some(mounts));
    if let Some(a) = &joined {
        etcfiles::refresh(store, &a.record);
        // The network process serves DNS and [::1] for IPv6 containers'
        // published ports (`v6proxy`).
        let lease = a.record.lease_of(&config.id).map(|(_, l)| l.clone());
        let v6_ports = lease
            .as_ref()
            .filter(|l| l.ip6.is_some())
            .map(|l| l.ports.clone())
            .unwrap_or_default();
        if crate::network::dns::serves(&a.record)
            && (config.endpoint.dns.is_empty() || !v6_ports.is_empty())
        {
            if let Err(e) = crate::network::dns::ensure(store.root(), a.record.gateway) {
                release(store.root(), &config.id);
                return Err(e);
            }
            crate::network::v6proxy::await_ports(store.root(), &v6_ports);
        }
    }
    Ok(joined)
}

/// The container leaves every network it has a lease on (bridges and
/// subnet claims stay with their networks).
pub fn release(engine_root: &Path, id: &str) {
    let ns = NetworkStore::new(engine_root);
    let Ok(g) = ns.lock() else { return };
    let store = Store::open(engine_root).ok();
    for mut rec in ns.list().unwrap_or_default() {
        let had = rec.lease_of(id).is_some();
        rec.leases.retain(|_, l| {
            if l.container == id {
                nft::unpublish(&l.ports, l.ip6.is_some());
                // A pair added by `network connect` (the first one went
                // with the core container).
                if let Ok(nl) = containerv::linux::net::Netlink::open() {
                    let _ = nl.del_link_named(&l.host_ifname);
                }
            }
            l.container != id
        });
        let changed = match &store {
            Some(s) => reconcile(s, &mut rec, ""),
            None => false,
        };
        if !had && !changed {
            continue;
        }
        let _ = ns.save_leases(&rec, &g);
        if had {
            crate::events::network(engine_root, &rec, "disconnect", Some(id));
        }
        if let Some(s) = &store {
            etcfiles::refresh(s, &rec);
        }
        if crate::network::dns::serves(&rec) {
            crate::network::dns::nudge(engine_root);
        }
    }
}

/// True when mount `m` is at `dest` or is a bind of a directory above it.
fn covers(m: &oci_spec::runtime::Mount, dest: &Path) -> bool {
    let bind = m.typ().as_deref() == Some("bind")
        || m.options()
            .iter()
            .flatten()
            .any(|o| o == "bind" || o == "rbind");
    m.destination() == dest || (bind && dest.starts_with(m.destination()))
}
