//! The seed's network option: a veth pair between the host and the
//! container, with the container's address, the host side's address and the
//! netmask given by the caller.
//!
//! This is plain data, validated before anything exists (so it is the same
//! on every platform); the Linux backend (`linux::net`) makes the pair.
//! Windows refuses it by name.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::error::{Error, Result};

/// Longest interface name the kernel takes (IFNAMSIZ - 1).
pub const IFNAME_MAX: usize = 15;

/// One veth pair: `host_ifname` stays on the host, `container_ifname`
/// (default `eth0`) goes into the container's new network namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Veth {
    /// Name of the host end (at most 15 bytes, unique on the host).
    pub host_ifname: String,
    /// Name of the container end (default `eth0`).
    pub container_ifname: String,
    /// The container's address (on `container_ifname`).
    pub container_addr: Ipv4Addr,
    /// The prefix length of both addresses (from the netmask).
    pub prefix_len: u8,
    /// Address of the host end; `None` when the host end is enslaved to a
    /// bridge that holds the gateway address instead.
    pub host_addr: Option<Ipv4Addr>,
    /// The container's default route (default: `host_addr`).
    pub gateway: Option<Ipv4Addr>,
    /// Attach the host end to this (existing) bridge.
    pub bridge: Option<String>,
    /// MAC address of the container end (default: the kernel's random one).
    pub mac: Option<[u8; 6]>,
    /// An IPv6 address and prefix length for the container end too
    /// (dual stack; added without duplicate address detection, so it is
    /// usable at once, as the engine hands out each address once).
    pub addr6: Option<(Ipv6Addr, u8)>,
    /// The container's IPv6 default route (on-link, e.g. the bridge's
    /// IPv6 gateway address).
    pub gateway6: Option<Ipv6Addr>,
}

impl Veth {
    /// The seed's option from strings: host interface name, container
    /// address, host address, netmask (`255.255.255.0` or `24`).
    pub fn new(
        host_ifname: &str,
        container_addr: &str,
        host_addr: &str,
        netmask: &str,
    ) -> Result<Veth> {
        let container_addr = parse_addr("veth container address", container_addr)?;
        let host_addr = parse_addr("veth host address", host_addr)?;
        let prefix_len = parse_netmask(netmask)?;
        let v = Veth {
            host_ifname: host_ifname.to_string(),
            container_ifname: "eth0".into(),
            container_addr,
            prefix_len,
            host_addr: Some(host_addr),
            gateway: None,
            bridge: None,
            mac: None,
            addr6: None,
            gateway6: None,
        };
        v.validate()?;
        Ok(v)
    }

    /// Check names and addresses; every error names the value.
    pub fn validate(&self) -> Result<()> {
        check_ifname("veth host interface name", &self.host_ifname)?;
        check_ifname("veth container interface name", &self.container_ifname)?;
        if let Some(b) = &self.bridge {
            check_ifname("veth bridge", b)?;
        }
        if self.prefix_len == 0 || self.prefix_len > 32 {
            return Err(Error::option(
                "veth netmask",
                self.prefix_len.to_string(),
                "prefix length must be 1..=32",
            ));
        }
        check_host_addr(
            "veth container address",
            self.container_addr,
            self.prefix_len,
        )?;
        if let Some(h) = self.host_addr {
            check_host_addr("veth host address", h, self.prefix_len)?;
            if h == self.container_addr {
                return Err(Error::option(
                    "veth host address",
                    h.to_string(),
                    "is the container's address too",
                ));
            }
            if network(h, self.prefix_len) != network(self.container_addr, self.prefix_len) {
                return Err(Error::option(
                    "veth host address",
                    h.to_string(),
                    format!(
                        "is not in the container's subnet {}/{}",
                        network(self.container_addr, self.prefix_len),
                        self.prefix_len
                    ),
                ));
            }
        }
        if let Some(g) = self.gateway {
            if network(g, self.prefix_len) != network(self.container_addr, self.prefix_len) {
                return Err(Error::option(
                    "veth gateway",
                    g.to_string(),
                    "is not in the container's subnet",
                ));
            }
        }
        if let Some((a, p)) = self.addr6 {
            check_addr6("veth IPv6 address", a, p)?;
        }
        if let Some(g) = self.gateway6 {
            let Some((a, p)) = self.addr6 else {
                return Err(Error::option(
                    "veth IPv6 gateway",
                    g.to_string(),
                    "needs an IPv6 address for the container",
                ));
            };
            if network6(g, p) != network6(a, p) || g == a {
                return Err(Error::option(
                    "veth IPv6 gateway",
                    g.to_string(),
                    format!("is not another address of {}/{p}", network6(a, p)),
                ));
            }
        }
        if let Some(m) = self.mac {
            if m[0] & 1 != 0 {
                return Err(Error::option(
                    "veth mac address",
                    format_mac(&m),
                    "is a multicast address",
                ));
            }
        }
        Ok(())
    }

    /// The default route the container gets (gateway, else the host end).
    pub fn default_route(&self) -> Option<Ipv4Addr> {
        self.gateway.or(self.host_addr)
    }
}

/// The network address of `a` under a `/prefix`.
pub fn network(a: Ipv4Addr, prefix: u8) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(a) & mask(prefix))
}

/// The network address of IPv6 `a` under a `/prefix`.
pub fn network6(a: Ipv6Addr, prefix: u8) -> Ipv6Addr {
    Ipv6Addr::from(u128::from(a) & mask6(prefix))
}

/// The IPv6 netmask of a prefix length as a number.
pub fn mask6(prefix: u8) -> u128 {
    if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(prefix.min(128)))
    }
}

/// An IPv6 interface address: a unicast address that is not the
/// subnet's own (all-zero host part), prefix 1..=128.
fn check_addr6(option: &'static str, a: Ipv6Addr, prefix: u8) -> Result<()> {
    if prefix == 0 || prefix > 128 {
        return Err(Error::option(
            option,
            format!("{a}/{prefix}"),
            "prefix length must be 1..=128",
        ));
    }
    if a.is_unspecified() || a.is_multicast() || a.is_loopback() {
        return Err(Error::option(
            option,
            a.to_string(),
            "cannot be an interface's address",
        ));
    }
    if prefix < 127 && u128::from(a) & !mask6(prefix) == 0 {
        return Err(Error::option(
            option,
            a.to_string(),
            format!("is the subnet's own address (its /{prefix})"),
        ));
    }
    Ok(())
}

/// The netmask of a prefix length as a number.
pub fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix.min(32)))
    }
}

/// `aa:bb:cc:dd:ee:ff`.
pub fn format_mac(m: &[u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Parse `aa:bb:cc:dd:ee:ff`.
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 {
        return None;
    }
    let mut m = [0u8; 6];
    for (i, p) in parts.iter().enumerate() {
        if p.len() != 2 {
            return None;
        }
        m[i] = u8::from_str_radix(p, 16).ok()?;
    }
    Some(m)
}

fn parse_addr(option: &'static str, s: &str) -> Result<Ipv4Addr> {
    s.parse()
        .map_err(|_| Error::option(option, s, "not an IPv4 address"))
}

/// `255.255.255.0` or `24` (or `/24`) → 24.
pub fn parse_netmask(s: &str) -> Result<u8> {
    let t = s.trim_start_matches('/');
    if let Ok(n) = t.parse::<u8>() {
        if (1..=32).contains(&n) {
            return Ok(n);
        }
        return Err(Error::option(
            "veth netmask",
            s,
            "prefix length must be 1..=32",
        ));
    }
    let a: Ipv4Addr = t
        .parse()
        .map_err(|_| Error::option("veth netmask", s, "not a netmask"))?;
    let v = u32::from(a);
    let ones = v.leading_ones();
    if v != mask(ones as u8) || ones == 0 {
        return Err(Error::option("veth netmask", s, "not a contiguous netmask"));
    }
    Ok(ones as u8)
}

fn check_host_addr(option: &'static str, a: Ipv4Addr, prefix: u8) -> Result<()> {
    if a.is_unspecified() || a.is_multicast() || a.is_broadcast() || a.is_loopback() {
        return Err(Error::option(
            option,
            a.to_string(),
            "cannot be an interface's address",
        ));
    }
    if prefix < 31 {
        let host = u32::from(a) & !mask(prefix);
        if host == 0 || host == !mask(prefix) {
            return Err(Error::option(
                option,
                a.to_string(),
                format!("is the network or broadcast address of its /{prefix}"),
            ));
        }
    }
    Ok(())
}

/// Interface names: 1..=15 bytes, no `/`, `:` or blanks, not `.`/`..`.
pub fn check_ifname(option: &'static str, name: &str) -> Result<()> {
    let bad = name.is_empty()
        || name.len() > IFNAME_MAX
        || name == "."
        || name == ".."
        || name
            .bytes()
            .any(|b| b == b'/' || b == b':' || !(0x21..=0x7e).contains(&b));
    if bad {
        return Err(Error::option(
            option,
            name,
            "interface names are 1 to 15 printable characters without '/', ':' or blanks",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_option_validates() {
        let v = Veth::new("cvh0", "10.1.2.3", "10.1.2.1", "255.255.255.0").unwrap();
        assert_eq!(v.prefix_len, 24);
        assert_eq!(v.default_route(), Some("10.1.2.1".parse().unwrap()));
        assert!(Veth::new("cvh0", "10.1.2.3", "10.1.2.1", "/30").is_err()); // .3 is broadcast
        assert!(Veth::new("cvh0", "10.1.2.3", "10.1.3.1", "24").is_err());
        assert!(Veth::new("cvh0", "10.1.2.300", "10.1.2.1", "24").is_err());
        assert!(Veth::new("cvh0", "10.1.2.3", "10.1.2.1", "255.0.255.0").is_err());
        assert!(Veth::new("cvh0", "10.1.2.3", "10.1.2.3", "24").is_err());
        assert!(Veth::new("a-very-long-interface", "10.1.2.3", "10.1.2.1", "24").is_err());
        assert!(Veth::new("a/b", "10.1.2.3", "10.1.2.1", "24").is_err());
        assert!(Veth::new("ok", "10.1.2.0", "10.1.2.1", "31").is_ok());
        assert_eq!(
            parse_mac("02:42:ac:11:00:02"),
            Some([2, 0x42, 0xac, 0x11, 0, 2])
        );
        assert_eq!(parse_mac("02:42:ac:11:00"), None);
    }

    #[test]
    fn ipv6_fields_validate() {
        let mut v = Veth::new("cvh0", "10.1.2.3", "10.1.2.1", "24").unwrap();
        v.addr6 = Some(("fd00:1::2".parse().unwrap(), 64));
        v.gateway6 = Some("fd00:1::1".parse().unwrap());
        v.validate().unwrap();
        v.gateway6 = Some("fd00:2::1".parse().unwrap());
        assert!(v.validate().unwrap_err().to_string().contains("fd00:2::1"));
        v.gateway6 = None;
        v.addr6 = Some(("fd00:1::".parse().unwrap(), 64));
        assert!(v.validate().is_err());
        v.addr6 = Some(("ff02::1".parse().unwrap(), 64));
        assert!(v.validate().is_err());
        v.addr6 = None;
        v.gateway6 = Some("fd00:1::1".parse().unwrap());
        assert!(v.validate().is_err());
        assert_eq!(
            network6("fd00:1::5".parse().unwrap(), 64),
            "fd00:1::".parse::<Ipv6Addr>().unwrap()
        );
    }
}
