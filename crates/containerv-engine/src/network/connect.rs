//! `network connect` / `disconnect` of a running container: a lease on
//! the other network and a veth pair (`eth1`, `eth2`, …, no default route:
//! the first network keeps it) added to the container's namespace through
//! the core, or the lease and pair removed. The container's `networks`
//! record follows, the hosts files of both sides are rewritten, and its
//! resolv.conf names the DNS server of its first user network (a
//! container of the default bridge gets one at its first connect).

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::network::attach::{default_network, mac_for};
use crate::network::record::{Lease, NetworkRecord, NetworkStore};
use crate::network::{bridge, etcfiles, ipam, nft, DEFAULT_NETWORK};
use crate::record::NetworkMode;

/// `cv network connect [--ip A] [--alias N] NETWORK CONTAINER`.
pub fn connect(
    e: &Engine,
    network: &str,
    container: &str,
    ip: Option<&str>,
    aliases: &[String],
) -> Result<()> {
    let store = &e.store;
    let id = store.resolve(container)?;
    let config = store.load_config(&id)?;
    if config.network != NetworkMode::Bridge {
        return Err(Error::option(
            "container",
            container,
            "is not on a bridge network (--network none, host or container:) and cannot be connected",
        ));
    }
    if config.networks.iter().any(|n| n == network) {
        return Err(Error::option(
            "network",
            network,
            format!("container {container} is already connected to it"),
        ));
    }
    let st = store.load_state(&id)?.observed();
    if !st.status.is_active() {
        return Err(Error::option(
            "container",
            container,
            "is not running (connect a running container)",
        ));
    }
    let want = ip
        .map(|s| {
            s.parse()
                .map_err(|_| Error::option("--ip", s, "not an IPv4 address"))
        })
        .transpose()?;
    let ns = NetworkStore::new(store.root());
    let n = config.networks.len();
    let (rec, addr, lease) = {
        let g = ns.lock()?;
        let mut rec = if network == DEFAULT_NETWORK {
            default_network(&ns, &g)?
        } else {
            ns.load(network)?
                .ok_or_else(|| Error::NoSuchNetwork(network.to_string()))?
        };
        let addr = ipam::allocate(&rec, want)?;
        let addr6 = ipam::allocate6(&rec)?;
        let lease = Lease {
            container: id.clone(),
            name: config.name.clone(),
            mac: containerv::network::format_mac(&mac_for(addr)),
            host_ifname: format!("veth{}x{n}", &id[..9]),
            aliases: aliases.to_vec(),
            ports: vec![],
            ip6: addr6,
        };
        rec.leases.insert(addr, lease.clone());
        bridge::ensure(&rec)?;
        ns.save_leases(&rec, &g)?;
        (rec, addr, lease)
    };
    let veth = containerv::Veth {
        host_ifname: lease.host_ifname.clone(),
        container_ifname: format!("eth{n}"),
        container_addr: addr,
        prefix_len: rec.prefix_len,
        host_addr: None,
        gateway: None,
        bridge: Some(rec.bridge.clone()),
        mac: Some(mac_for(addr)),
        addr6: lease.ip6.zip(rec.subnet6.map(|(_, p)| p)),
        gateway6: None,
    };
    let added = e
        .core(&id)
        .and_then(|c| c.add_veth(&veth).map_err(Error::from));
    let added = added.and_then(|_| {
        if crate::network::dns::serves(&rec) {
            crate::network::dns::ensure(store.root(), rec.gateway)
        } else {
            Ok(())
        }
    });
    if let Err(err) = added {
        drop_lease(e, network, &id);
        return Err(err);
    }
    let g = store.lock(&id)?;
    let mut config = store.load_config(&id)?;
    config.networks.push(network.to_string());
    store.save_config(&config, &g)?;
    drop(g);
    refresh_all(e);
    crate::events::network(store.root(), &rec, "connect", Some(&id));
    // A container of the default bridge (no DNS server) now asks this
    // network's: names resolve after connect, as docker's.
    etcfiles::refresh_resolv(store, &config);
    Ok(())
}

/// `cv network disconnect NETWORK CONTAINER`.
pub fn disconnect(e: &Engine, network: &str, container: &str) -> Result<()> {
    let store = &e.store;
    let id = store.resolve(container)?;
    let config = store.load_config(&id)?;
    if !config.networks.iter().any(|n| n == network) {
        return Err(Error::option(
            "network",
            network,
            format!("container {container} is not connected to it"),
        ));
    }
    let left = drop_lease(e, network, &id);
    let g = store.lock(&id)?;
    let mut config = store.load_config(&id)?;
    config.networks.retain(|n| n != network);
    if config.networks.is_empty() {
        config.network = NetworkMode::None;
    }
    store.save_config(&config, &g)?;
    drop(g);
    refresh_all(e);
    if let Some(rec) = left {
        crate::events::network(store.root(), &rec, "disconnect", Some(&id));
    }
    etcfiles::refresh_resolv(store, &config);
    Ok(())
}

/// Removes container `id`'s lease on `network` with its pair and ports
/// (the bridge stays with the network); the network if it had one.
fn drop_lease(e: &Engine, network: &str, id: &str) -> Option<NetworkRecord> {
    let ns = NetworkStore::new(e.store.root());
    let g = ns.lock().ok()?;
    let mut rec = ns.load(network).ok()??;
    let had = match rec.lease_of(id).map(|(a, l)| (a, l.clone())) {
        Some((addr, l)) => {
            nft::unpublish(&l.ports, l.ip6.is_some());
            if let Ok(nl) = containerv::linux::net::Netlink::open() {
                let _ = nl.del_link_named(&l.host_ifname);
            }
            rec.leases.remove(&addr);
            true
        }
        None => false,
    };
    let _ = ns.save_leases(&rec, &g);
    drop(g);
    crate::network::dns::nudge(e.store.root());
    had.then_some(rec)
}

fn refresh_all(e: &Engine) {
    for rec in NetworkStore::new(e.store.root()).list().unwrap_or_default() {
        etcfiles::refresh(&e.store, &rec);
    }
}
