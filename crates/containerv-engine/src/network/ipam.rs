//! Addresses: subnets for networks and addresses for containers.
//!
//! Subnets: an explicit `--subnet`, or the first of docker's default pools
//! (172.17.0.0/16 … 172.31.0.0/16, then 192.168.0.0/16 in /20s) that
//! overlaps neither a route of the host (default routes aside) nor a
//! subnet claimed by any engine on this host. Claims are files
//! `/run/containerv/subnets/<net>_<len>` naming the claiming record and
//! its bridge, made under one host-wide lock; a claim whose record is gone
//! (an engine root deleted without `network rm` or `system reset`) is
//! stale: its bridge (kept between containers, as docker0) is deleted and
//! the subnet taken over. /run is a tmpfs: a reboot forgets the claims
//! together with the bridges.
//!
//! IPv6 subnets (`--ipv6 --subnet`) are claimed the same way (files
//! `fd00:1::_64`) against the host's IPv6 routes (/proc/net/ipv6_route,
//! default, link-local and multicast routes aside). There is no default
//! IPv6 pool (as docker 27 without `default-address-pools` for IPv6):
//! `--ipv6` needs an IPv6 `--subnet`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use containerv::network::{mask, mask6};

use crate::error::{Error, Result};
use crate::network::record::NetworkRecord;
use crate::store::lock_exclusive;

/// Where subnet claims live (host-wide).
pub fn claims_dir() -> PathBuf {
    std::env::var_os("CONTAINERV_SUBNET_CLAIMS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/run/containerv/subnets"))
}

/// `a.b.c.d/n` → (network, n); the address must be the network's own.
pub fn parse_cidr(flag: &str, s: &str) -> Result<(Ipv4Addr, u8)> {
    let (a, n) = s
        .split_once('/')
        .ok_or_else(|| Error::option(flag, s, "not an IPv4 subnet in CIDR form (a.b.c.d/n)"))?;
    let a: Ipv4Addr = a
        .parse()
        .map_err(|_| Error::option(flag, s, "not an IPv4 address before the '/'"))?;
    let n: u8 = n
        .parse()
        .ok()
        .filter(|n| (1..=30).contains(n))
        .ok_or_else(|| Error::option(flag, s, "prefix length must be 1..=30"))?;
    if u32::from(a) & !mask(n) != 0 {
        return Err(Error::option(
            flag,
            s,
            format!(
                "host bits set: the network is {}/{n}",
                Ipv4Addr::from(u32::from(a) & mask(n))
            ),
        ));
    }
    Ok((a, n))
}

/// `a:b::/n` → (network, n) for an IPv6 subnet of containers: the
/// address must be the network's own, with room for the gateway and a
/// container (n ≤ 126), and not link-local, multicast or loopback.
pub fn parse_cidr6(flag: &str, s: &str) -> Result<(Ipv6Addr, u8)> {
    let (a, n) = s
        .split_once('/')
        .ok_or_else(|| Error::option(flag, s, "not an IPv6 subnet in CIDR form (a:b::/n)"))?;
    let a: Ipv6Addr = a
        .parse()
        .map_err(|_| Error::option(flag, s, "not an IPv6 address before the '/'"))?;
    let n: u8 = n
        .parse()
        .ok()
        .filter(|n| (1..=126).contains(n))
        .ok_or_else(|| Error::option(flag, s, "IPv6 prefix length must be 1..=126"))?;
    if u128::from(a) & !mask6(n) != 0 {
        return Err(Error::option(
            flag,
            s,
            format!(
                "host bits set: the network is {}/{n}",
                Ipv6Addr::from(u128::from(a) & mask6(n))
            ),
        ));
    }
    for (r, rp, what) in [
        ("fe80::", 10, "link-local"),
        ("ff00::", 8, "multicast"),
        ("::", 127, "loopback/unspecified"),
    ] {
        if overlaps6(a, n, r.parse().expect("literal"), rp) {
            return Err(Error::option(
                flag,
                s,
                format!("overlaps the {what} addresses {r}/{rp}"),
            ));
        }
    }
    Ok((a, n))
}

pub fn overlaps(a: Ipv4Addr, ap: u8, b: Ipv4Addr, bp: u8) -> bool {
    let p = ap.min(bp);
    u32::from(a) & mask(p) == u32::from(b) & mask(p)
}

pub fn contains(net: Ipv4Addr, prefix: u8, a: Ipv4Addr) -> bool {
    u32::from(a) & mask(prefix) == u32::from(net)
}

/// The host's IPv4 routes (network, prefix, device), default routes left out.
pub fn host_routes() -> Vec<(Ipv4Addr, u8, String)> {
    let text = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let dst = u32::from_str_radix(f.get(1)?, 16).ok()?;
            let m = u32::from_str_radix(f.get(7)?, 16).ok()?;
            // The file prints the network-order bytes as a native u32.
            let dst = u32::from_be_bytes(dst.to_ne_bytes());
            let m = u32::from_be_bytes(m.to_ne_bytes());
            let p = m.count_ones() as u8;
            (p > 0).then(|| (Ipv4Addr::from(dst & m), p, f[0].to_string()))
        })
        .collect()
}

/// Docker's default address pools, in order.
fn default_pools() -> impl Iterator<Item = (Ipv4Addr, u8)> {
    (17u8..=31)
        .map(|b| (Ipv4Addr::new(172, b, 0, 0), 16))
        .chain((0u8..16).map(|i| (Ipv4Addr::new(192, 168, i * 16, 0), 20)))
}

fn claim_name(net: IpAddr, p: u8) -> String {
    format!("{net}_{p}")
}

fn parse_claim(name: &str) -> Option<(IpAddr, u8)> {
    let (a, p) = name.split_once('_')?;
    Some((a.parse().ok()?, p.parse().ok()?))
}

/// True when the record a claim names still holds that subnet.
fn claim_live(text: &str, net: IpAddr, p: u8) -> bool {
    let rec_path = text.lines().next().unwrap_or("").trim();
    match crate::store::read_json::<NetworkRecord>(Path::new(rec_path)) {
        Ok(r) => {
            r.claimed
                && match net {
                    IpAddr::V4(n) => r.subnet == n && r.prefix_len == p,
                    IpAddr::V6(n) => r.subnet6 == Some((n, p)),
                }
        }
        Err(_) => false,
    }
}

/// True when two IPv6 subnets overlap.
pub fn overlaps6(a: Ipv6Addr, ap: u8, b: Ipv6Addr, bp: u8) -> bool {
    let m = mask6(ap.min(bp));
    u128::from(a) & m == u128::from(b) & m
}

/// The host's IPv6 routes (network, prefix, device), default, link-local
/// and multicast ones left out.
pub fn host_routes6() -> Vec<(Ipv6Addr, u8, String)> {
    let text = std::fs::read_to_string("/proc/net/ipv6_route").unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let dst = u128::from_str_radix(f.first()?, 16).ok()?;
            let p = u8::from_str_radix(f.get(1)?, 16).ok()?;
            let dev = f.get(9)?.to_string();
            let a = Ipv6Addr::from(dst);
            let skip =
                p == 0 || dev == "lo" || a.segments()[0] & 0xffc0 == 0xfe80 || a.is_multicast();
            (!skip).then_some((a, p, dev))
        })
        .collect()
}

/// The live claims (stale ones dropped, with their bridges); hold the
/// claims lock.
fn live_claims(dir: &Path) -> Result<Vec<(IpAddr, u8, String)>> {
    let mut claims = Vec::new();
    for e in std::fs::read_dir(dir)
        .map_err(|e| Error::io("read", dir, e))?
        .flatten()
    {
        let n = e.file_name().to_string_lossy().into_owned();
        if let Some((a, p)) = parse_claim(&n) {
            let text = std::fs::read_to_string(e.path()).unwrap_or_default();
            if claim_live(&text, a, p) || being_made(&e.path(), &text) {
                let who = text.lines().next().unwrap_or("").to_string();
                claims.push((a, p, who));
            } else {
                // The bridge of a deleted engine root: its route would
                // hide the pool from every engine.
                if let Some(b) = claim_bridge(&text) {
                    crate::network::bridge::remove_named(b, false);
                }
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    Ok(claims)
}

/// Claims IPv6 subnet `want` for the record at `record_path`; errors
/// name what it overlaps.
pub fn claim6(flag: &str, want: (Ipv6Addr, u8), record_path: &Path, bridge: &str) -> Result<()> {
    let dir = claims_dir();
    std::fs::create_dir_all(&dir).map_err(|e| Error::io("create directory", &dir, e))?;
    let _g = lock_exclusive(&dir.join(".lock"))?;
    let claims = live_claims(&dir)?;
    let (a, p) = want;
    let shown = format!("{a}/{p}");
    if let Some((ra, rp, dev)) = host_routes6()
        .into_iter()
        .find(|(ra, rp, _)| overlaps6(a, p, *ra, *rp))
    {
        return Err(Error::option(
            flag,
            shown,
            format!("overlaps the host's route {ra}/{rp} on {dev}"),
        ));
    }
    if let Some((ca, cp, who)) = claims.iter().find(|(ca, cp, _)| match ca {
        IpAddr::V6(c) => overlaps6(a, p, *c, *cp),
        IpAddr::V4(_) => false,
    }) {
        return Err(Error::option(
            flag,
            shown,
            format!("overlaps network {ca}/{cp} ({})", who.trim()),
        ));
    }
    let f = dir.join(claim_name(a.into(), p));
    std::fs::write(&f, format!("{}\n{bridge}\n", record_path.to_string_lossy()))
        .map_err(|e| Error::io("write", &f, e))
}

/// Gives up the claim on an IPv6 subnet (network removed).
pub fn unclaim6(net: Ipv6Addr, p: u8) {
    let dir = claims_dir();
    if let Ok(_g) = lock_exclusive(&dir.join(".lock")) {
        let _ = std::fs::remove_file(dir.join(claim_name(net.into(), p)));
    }
}

/// The next free IPv6 address of `rec` after its gateway (docker's
/// order), never the subnet's own address or the gateway.
pub fn allocate6(rec: &NetworkRecord) -> Result<Option<Ipv6Addr>> {
    let Some((net, p)) = rec.subnet6 else {
        return Ok(None);
    };
    let first = u128::from(net) + 1;
    let last = u128::from(net) | !mask6(p);
    let taken: std::collections::BTreeSet<Ipv6Addr> =
        rec.leases.values().filter_map(|l| l.ip6).collect();
    // Leases are few: the first free one is within leases + 2 of the start.
    (first..=last)
        .take(taken.len() + 2)
        .map(Ipv6Addr::from)
        .find(|a| Some(*a) != rec.gateway6 && !taken.contains(a))
        .map(Some)
        .ok_or_else(|| {
            Error::option(
                "network",
                rec.name.as_str(),
                format!(
                    "no free IPv6 address left in {}",
                    rec.subnet6_cidr().unwrap_or_default()
                ),
            )
        })
}

/// True for a fresh claim whose record does not exist yet: `network
/// create` claims (under the claims lock) before it writes the record
/// (under its root's lock), so another engine's claim in between must
/// not take it for stale (seen: two `create`s at once, the second's
/// overlapping subnet accepted).
fn being_made(claim: &Path, text: &str) -> bool {
    let rec_path = text.lines().next().unwrap_or("").trim();
    let young = std::fs::metadata(claim)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age < std::time::Duration::from_secs(60));
    young && !Path::new(rec_path).exists()
}

/// The bridge a claim names (second line).
fn claim_bridge(text: &str) -> Option<&str> {
    text.lines().nth(1).map(str::trim).filter(|b| !b.is_empty())
}

/// Claims `want` (explicit) or a free default pool for the record at
/// `record_path`. Errors name what the subnet overlaps.
pub fn claim(
    flag: &str,
    want: Option<(Ipv4Addr, u8)>,
    record_path: &Path,
    bridge: &str,
) -> Result<(Ipv4Addr, u8)> {
    let dir = claims_dir();
    std::fs::create_dir_all(&dir).map_err(|e| Error::io("create directory", &dir, e))?;
    let _g = lock_exclusive(&dir.join(".lock"))?;
    let claims: Vec<(Ipv4Addr, u8, String)> = live_claims(&dir)?
        .into_iter()
        .filter_map(|(a, p, who)| match a {
            IpAddr::V4(a) => Some((a, p, who)),
            IpAddr::V6(_) => None,
        })
        .collect();
    let routes = host_routes();
    let conflict = |a: Ipv4Addr, p: u8| -> Option<String> {
        if let Some((ra, rp, dev)) = routes.iter().find(|(ra, rp, _)| overlaps(a, p, *ra, *rp)) {
            return Some(format!("overlaps the host's route {ra}/{rp} on {dev}"));
        }
        claims
            .iter()
            .find(|(ca, cp, _)| overlaps(a, p, *ca, *cp))
            .map(|(ca, cp, who)| format!("overlaps network {ca}/{cp} ({})", who.trim()))
    };
    let chosen = match want {
        Some((a, p)) => {
            if let Some(why) = conflict(a, p) {
                return Err(Error::option(flag, format!("{a}/{p}"), why));
            }
            (a, p)
        }
        None => default_pools()
            .find(|(a, p)| conflict(*a, *p).is_none())
            .ok_or_else(|| {
                Error::option(
                    "network",
                    "",
                    "all of the default address pools are in use: give --subnet",
                )
            })?,
    };
    let f = dir.join(claim_name(chosen.0.into(), chosen.1));
    std::fs::write(&f, format!("{}\n{bridge}\n", record_path.to_string_lossy()))
        .map_err(|e| Error::io("write", &f, e))?;
    Ok(chosen)
}

/// Gives up the claim on a subnet (network removed).
pub fn unclaim(net: Ipv4Addr, p: u8) {
    let dir = claims_dir();
    if let Ok(_g) = lock_exclusive(&dir.join(".lock")) {
        let _ = std::fs::remove_file(dir.join(claim_name(net.into(), p)));
    }
}

/// The next free address of `rec` (or `want`, checked), excluding the
/// network and broadcast addresses, the gateway and every lease.
pub fn allocate(rec: &NetworkRecord, want: Option<Ipv4Addr>) -> Result<Ipv4Addr> {
    let (net, p) = (rec.subnet, rec.prefix_len);
    let first = u32::from(net) + 1;
    let last = u32::from(net) | !mask(p);
    let usable = |a: u32| {
        a >= first
            && a < last
            && Ipv4Addr::from(a) != rec.gateway
            && !rec.leases.contains_key(&Ipv4Addr::from(a))
    };
    if let Some(a) = want {
        if !contains(net, p, a) {
            return Err(Error::option(
                "--ip",
                a.to_string(),
                format!("not in network {}'s subnet {}", rec.name, rec.subnet_cidr()),
            ));
        }
        if let Some(l) = rec.leases.get(&a) {
            return Err(Error::option(
                "--ip",
                a.to_string(),
                format!("already in use by container {}", l.name),
            ));
        }
        if !usable(u32::from(a)) {
            return Err(Error::option(
                "--ip",
                a.to_string(),
                "is the network, broadcast or gateway address",
            ));
        }
        return Ok(a);
    }
    let (lo, hi) = match rec.ip_range {
        Some((r, rp)) => (u32::from(r), u32::from(r) | !mask(rp)),
        None => (first, last),
    };
    (lo.max(first)..=hi.min(last))
        .find(|a| usable(*a))
        .map(Ipv4Addr::from)
        .ok_or_else(|| {
            Error::option(
                "network",
                rec.name.as_str(),
                format!("no free address left in {}", rec.subnet_cidr()),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_and_pools() {
        assert_eq!(
            parse_cidr("--subnet", "10.9.0.0/16").unwrap(),
            (Ipv4Addr::new(10, 9, 0, 0), 16)
        );
        assert!(parse_cidr("--subnet", "10.9.0.1/16").is_err());
        assert!(parse_cidr("--subnet", "10.9.0.0").is_err());
        assert!(parse_cidr("--subnet", "10.9.0.0/31").is_err());
        assert!(overlaps(
            Ipv4Addr::new(10, 0, 0, 0),
            8,
            Ipv4Addr::new(10, 9, 0, 0),
            16
        ));
        assert_eq!(default_pools().count(), 31);
        let a: Ipv6Addr = "fd00:1::".parse().unwrap();
        assert!(overlaps6(a, 64, "fd00:1::8000:0:0".parse().unwrap(), 80));
        assert!(!overlaps6(a, 64, "fd00::".parse().unwrap(), 64));
        assert_eq!(parse_cidr6("--subnet", "fd00:1::/64").unwrap(), (a, 64));
        for bad in [
            "fd00:1::1/64",
            "fd00:1::/127",
            "fe80::/64",
            "ff02::/16",
            "::/0",
            "fd00:1::",
        ] {
            assert!(parse_cidr6("--subnet", bad).is_err(), "{bad}");
        }
        assert_eq!(parse_claim("fd00:1::_64"), Some((IpAddr::V6(a), 64)));
    }
}
