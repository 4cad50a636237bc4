//! `/etc/hosts` and `/etc/resolv.conf` as docker writes them, per
//! container, in its engine directory and bound into it.
//!
//! On user-defined networks names resolve through the engine's DNS
//! server (`dns`, the gateway address is the container's nameserver) and
//! also through these files: every container's `/etc/hosts` lists the
//! other containers of its networks by name, alias and short id,
//! rewritten in place (same inode, so the bind mount shows it at once)
//! whenever a container joins or leaves; names from another network are
//! simply not there. The default `bridge` network resolves no names (as
//! docker's). `resolv.conf` is `--dns`/`--dns-search`/`--dns-option` when
//! given, else the network's DNS server, else (default bridge) the host's
//! without loopback nameservers (they cannot work from another network
//! namespace). It follows `network connect`/`disconnect` ([`refresh_resolv`]):
//! a container of the default bridge connected to a user network gets
//! that network's server (docker switches it to its embedded DNS then).
//! IPv6 addresses (`--ipv6` networks) get their own lines.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::network::record::NetworkRecord;
use crate::network::{EndpointRequest, DEFAULT_NETWORK};
use crate::record::ContainerConfig;
use crate::store::Store;

/// The container's hostname (`-h`, else the short id, as docker).
fn hostname(c: &ContainerConfig) -> String {
    c.hostname
        .clone()
        .unwrap_or_else(|| c.id[..12.min(c.id.len())].to_string())
}

/// `/etc/hosts` of container `c` with addresses `own` (if any) and `peers`.
pub fn hosts_text(
    c: &ContainerConfig,
    own: &[IpAddr],
    gateway: Option<Ipv4Addr>,
    peers: &[(IpAddr, Vec<String>)],
) -> String {
    let mut s = String::from(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n\
         fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n",
    );
    for (name, ip) in &c.endpoint.add_hosts {
        let ip = if ip == "host-gateway" {
            gateway.map(|g| g.to_string()).unwrap_or_default()
        } else {
            ip.clone()
        };
        if !ip.is_empty() {
            s += &format!("{ip}\t{name}\n");
        }
    }
    for ip in own {
        s += &format!("{ip}\t{}\n", hostname(c));
    }
    for (ip, names) in peers {
        s += &format!("{ip}\t{}\n", names.join(" "));
    }
    s
}

/// `/etc/resolv.conf` for the endpoint flags: `--dns` when given, else
/// the network's DNS server (`dns_server`, user networks), else the
/// host's servers without loopback ones.
pub fn resolv_text(req: &EndpointRequest, host: &str, dns_server: Option<Ipv4Addr>) -> String {
    let mut servers: Vec<String> = req.dns.clone();
    if servers.is_empty() {
        servers.extend(dns_server.map(|a| a.to_string()));
    }
    let from_host = servers.is_empty();
    let mut search: Vec<String> = req.dns_search.clone();
    let mut options: Vec<String> = req.dns_options.clone();
    if servers.is_empty() {
        for l in host.lines() {
            let mut w = l.split_whitespace();
            match (w.next(), w.next()) {
                (Some("nameserver"), Some(a)) if from_host => {
                    let lo = a
                        .parse::<std::net::IpAddr>()
                        .map(|ip| ip.is_loopback())
                        .unwrap_or(true);
                    if !lo {
                        servers.push(a.to_string());
                    }
                }
                (Some("search"), Some(_)) if search.is_empty() => {
                    search = l.split_whitespace().skip(1).map(String::from).collect();
                }
                (Some("options"), Some(_)) if options.is_empty() => {
                    options = l.split_whitespace().skip(1).map(String::from).collect();
                }
                _ => {}
            }
        }
    }
    let mut s = String::new();
    for n in &servers {
        s += &format!("nameserver {n}\n");
    }
    if !search.is_empty() {
        s += &format!("search {}\n", search.join(" "));
    }
    if !options.is_empty() {
        s += &format!("options {}\n", options.join(" "));
    }
    s
}

/// Replace a file's content in place (the same inode stays bound).
fn rewrite(path: &Path, text: &str) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(|e| Error::io("write", path, e))?;
    f.write_all(text.as_bytes())
        .map_err(|e| Error::io("write", path, e))
}

/// Names other containers know a lease holder by.
fn peer_names(l: &crate::network::Lease) -> Vec<String> {
    let mut n = vec![l.name.clone()];
    n.extend(l.aliases.iter().cloned());
    n.push(l.container[..12.min(l.container.len())].to_string());
    n
}

/// The other containers of every user network `id` is on (`rec`, the
/// one it is joining, included even before its record is re-read).
fn peers_of(store: &Store, rec: Option<&NetworkRecord>, id: &str) -> Vec<(IpAddr, Vec<String>)> {
    let mut recs = crate::network::NetworkStore::new(store.root())
        .list()
        .unwrap_or_default();
    if let Some(r) = rec {
        recs.retain(|x| x.name != r.name);
        recs.push(r.clone());
    }
    let mut out = Vec::new();
    for r in recs
        .iter()
        .filter(|r| r.name != DEFAULT_NETWORK && r.lease_of(id).is_some())
    {
        for (ip, l) in r.leases.iter().filter(|(_, l)| l.container != id) {
            for a in std::iter::once(IpAddr::V4(*ip)).chain(l.ip6.map(IpAddr::V6)) {
                if !out.iter().any(|(x, _)| *x == a) {
                    out.push((a, peer_names(l)));
                }
            }
        }
    }
    out
}

/// Writes the container's hosts and resolv.conf; returns (destination,
/// host file) pairs to bind.
pub fn write_files(
    store: &Store,
    c: &ContainerConfig,
    own: Option<Ipv4Addr>,
    rec: Option<&NetworkRecord>,
) -> Result<Vec<(&'static str, PathBuf)>> {
    let dir = store.dir(&c.id);
    let hosts = dir.join("hosts");
    let resolv = dir.join("resolv.conf");
    let gw = rec.filter(|r| !r.internal).map(|r| r.gateway);
    let own6 = rec.and_then(|r| r.lease_of(&c.id)).and_then(|(_, l)| l.ip6);
    let own: Vec<IpAddr> = own
        .map(IpAddr::V4)
        .into_iter()
        .chain(own6.map(IpAddr::V6))
        .collect();
    rewrite(
        &hosts,
        &hosts_text(c, &own, gw, &peers_of(store, rec, &c.id)),
    )?;
    let host_resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let dns = rec
        .filter(|r| crate::network::dns::serves(r))
        .map(|r| r.gateway);
    rewrite(&resolv, &resolv_text(&c.endpoint, &host_resolv, dns))?;
    // A remapped root may edit them, as in docker (they are its files).
    if let Some(m) = &c.security.userns_remap {
        for f in [&hosts, &resolv] {
            std::os::unix::fs::chown(f, m.host_uid(0), m.host_gid(0))
                .map_err(|e| Error::io("change the owner of", f, e))?;
        }
    }
    Ok(vec![("/etc/hosts", hosts), ("/etc/resolv.conf", resolv)])
}

/// Rewrites the hosts file of every container on `rec` (after a join or
/// a leave). Best effort: a container being removed has no file.
pub fn refresh(store: &Store, rec: &NetworkRecord) {
    if rec.name == DEFAULT_NETWORK {
        return;
    }
    for (ip, l) in &rec.leases {
        let path = store.dir(&l.container).join("hosts");
        if !path.exists() {
            continue;
        }
        let Ok(c) = store.load_config(&l.container) else {
            continue;
        };
        // The addresses on the container's first network name it.
        let first = crate::network::NetworkStore::new(store.root())
            .load(c.networks.first().map(String::as_str).unwrap_or(""))
            .ok()
            .flatten();
        let own: Vec<IpAddr> = match first.as_ref().and_then(|r| r.lease_of(&c.id)) {
            Some((a, l)) => std::iter::once(IpAddr::V4(a))
                .chain(l.ip6.map(IpAddr::V6))
                .collect(),
            None => vec![IpAddr::V4(*ip)],
        };
        let gw = (!rec.internal).then_some(rec.gateway);
        let _ = rewrite(
            &path,
            &hosts_text(&c, &own, gw, &peers_of(store, Some(rec), &c.id)),
        );
    }
}

/// Rewrites container `c`'s resolv.conf (in place) after `network
/// connect`/`disconnect`: the DNS server of the first of its networks
/// that has one, else the host's servers (`--dns` given: unchanged).
pub fn refresh_resolv(store: &Store, c: &ContainerConfig) {
    if !c.endpoint.dns.is_empty() {
        return;
    }
    let path = store.dir(&c.id).join("resolv.conf");
    if !path.exists() {
        return;
    }
    let ns = crate::network::NetworkStore::new(store.root());
    let dns = c
        .networks
        .iter()
        .filter_map(|n| ns.load(n).ok().flatten())
        .find(|r| crate::network::dns::serves(r) && r.lease_of(&c.id).is_some())
        .map(|r| r.gateway);
    let host_resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let _ = rewrite(&path, &resolv_text(&c.endpoint, &host_resolv, dns));
}
