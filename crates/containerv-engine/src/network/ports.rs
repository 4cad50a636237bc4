//! Published ports: `-p [ip:][hostPort:]containerPort[/tcp|udp]` (ranges
//! `8000-8009:80-89`) and `-P` from the image's `ExposedPorts`, parsed
//! into [`PortSpec`]s when the container is created; host ports left open
//! are picked when it starts ([`resolve`]).

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One requested mapping (host port 0: any free port).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortSpec {
    /// `None`: every local address of both families (docker's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<IpAddr>,
    pub host_port: u16,
    pub container_port: u16,
    /// `tcp` or `udp`.
    pub proto: String,
}

/// One mapping in force (docker's `Ports` entries).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMapping {
    /// `None`: every local address, IPv4 and (for a container with an
    /// IPv6 address) IPv6; `::` every IPv6 one.
    pub host_ip: Option<IpAddr>,
    pub host_port: u16,
    pub container_port: u16,
    pub proto: String,
}

fn port(flag: &str, whole: &str, s: &str, allow_zero: bool) -> Result<(u16, u16)> {
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let p = |x: &str| -> Result<u16> {
        let n: u32 = x
            .parse()
            .map_err(|_| Error::option(flag, whole, format!("invalid port {x:?}")))?;
        if n > 65535 || (n == 0 && !allow_zero) {
            return Err(Error::option(
                flag,
                whole,
                format!("invalid port {n}: must be 1..=65535"),
            ));
        }
        Ok(n as u16)
    };
    let (a, b) = (p(a)?, p(b)?);
    if b < a {
        return Err(Error::option(
            flag,
            whole,
            format!("invalid port range {s}"),
        ));
    }
    Ok((a, b))
}

/// Parses one `-p` value into one spec per port.
pub fn parse_publish(s: &str) -> Result<Vec<PortSpec>> {
    let flag = "-p";
    let (rest, proto) = match s.rsplit_once('/') {
        Some((r, p)) => (r, p.to_ascii_lowercase()),
        None => (s, "tcp".to_string()),
    };
    if proto != "tcp" && proto != "udp" {
        return Err(Error::option(
            flag,
            s,
            format!("unsupported protocol {proto:?} (tcp or udp)"),
        ));
    }
    // `[v6]:hostPort:containerPort` (docker's form for an IPv6 address).
    let (bracketed, rest) = match rest.strip_prefix('[') {
        Some(r) => {
            let (a, tail) = r
                .split_once(']')
                .ok_or_else(|| Error::option(flag, s, "missing ']' after the IPv6 address"))?;
            let tail = tail.strip_prefix(':').ok_or_else(|| {
                Error::option(flag, s, "expected [ipv6]:[hostPort:]containerPort")
            })?;
            (Some(a), tail)
        }
        None => (None, rest),
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let (ip, hp, cp) = match (bracketed, parts.as_slice()) {
        (Some(a), [hp, cp]) => (Some(a), *hp, *cp),
        (Some(_), _) => {
            return Err(Error::option(
                flag,
                s,
                "expected [ipv6]:[hostPort:]containerPort",
            ))
        }
        (None, parts) => match parts {
            [cp] => (None, "", *cp),
            [hp, cp] => (None, *hp, *cp),
            [ip, hp, cp] => (Some(*ip), *hp, *cp),
            _ => {
                return Err(Error::option(
                    flag,
                    s,
                    "expected [ip:][hostPort:]containerPort[/proto]",
                ))
            }
        },
    };
    let host_ip = match ip {
        None | Some("") | Some("0.0.0.0") => None,
        Some(a) => {
            let ip = a
                .parse::<IpAddr>()
                .map_err(|_| Error::option(flag, s, format!("invalid IP address {a:?}")))?;
            if bracketed.is_some() != ip.is_ipv6() {
                return Err(Error::option(
                    flag,
                    s,
                    "an IPv6 address goes in brackets: [::1]:8080:80",
                ));
            }
            Some(ip)
        }
    };
    let (c0, c1) = port(flag, s, cp, false)?;
    let (h0, h1) = if hp.is_empty() {
        (0, 0)
    } else {
        port(flag, s, hp, false)?
    };
    let n = c1 - c0;
    if hp.is_empty() || (h0 == h1 && n == 0) {
        return Ok((c0..=c1)
            .map(|c| PortSpec {
                host_ip,
                host_port: if hp.is_empty() { 0 } else { h0 },
                container_port: c,
                proto: proto.clone(),
            })
            .collect());
    }
    if h1 - h0 != n {
        return Err(Error::option(
            flag,
            s,
            "the host and container port ranges differ in length",
        ));
    }
    Ok((0..=n)
        .map(|i| PortSpec {
            host_ip,
            host_port: h0 + i,
            container_port: c0 + i,
            proto: proto.clone(),
        })
        .collect())
}

/// `-P`: every `ExposedPorts` key (`80/tcp`, `53/udp`, `8080`) on a free
/// host port.
pub fn from_exposed<'a>(keys: impl Iterator<Item = &'a String>) -> Result<Vec<PortSpec>> {
    let mut out = Vec::new();
    for k in keys {
        out.extend(parse_publish(k).map_err(|_| {
            Error::option(
                "-P",
                k.as_str(),
                "the image exposes a port that is not PORT[/tcp|udp]",
            )
        })?);
    }
    Ok(out)
}

/// A free host port for `proto` (the kernel's choice for a port-0 bind).
pub fn free_port(proto: &str) -> Result<u16> {
    let r = if proto == "udp" {
        std::net::UdpSocket::bind("0.0.0.0:0").and_then(|s| s.local_addr())
    } else {
        std::net::TcpListener::bind("0.0.0.0:0").and_then(|s| s.local_addr())
    };
    r.map(|a| a.port())
        .map_err(|e| Error::sys("pick a free host port", e))
}

/// Host ports for the specs left open.
pub fn resolve(specs: &[PortSpec]) -> Result<Vec<PortMapping>> {
    specs
        .iter()
        .map(|s| {
            Ok(PortMapping {
                host_ip: s.host_ip,
                host_port: if s.host_port == 0 {
                    free_port(&s.proto)?
                } else {
                    s.host_port
                },
                container_port: s.container_port,
                proto: s.proto.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_forms() {
        let p = parse_publish("8080:80").unwrap();
        assert_eq!(
            (p[0].host_port, p[0].container_port, p[0].proto.as_str()),
            (8080, 80, "tcp")
        );
        let p = parse_publish("127.0.0.1:5353:53/udp").unwrap();
        assert_eq!(p[0].host_ip, Some(IpAddr::from([127, 0, 0, 1])));
        let p = parse_publish("[::1]:8080:80").unwrap();
        assert_eq!(p[0].host_ip, "::1".parse().ok());
        assert_eq!((p[0].host_port, p[0].container_port), (8080, 80));
        let p = parse_publish("[::]::80/udp").unwrap();
        assert_eq!((p[0].host_ip, p[0].host_port), ("::".parse().ok(), 0));
        assert_eq!(p[0].proto, "udp");
        let p = parse_publish("127.0.0.1::80").unwrap();
        assert_eq!(p[0].host_port, 0);
        let p = parse_publish("8000-8002:80-82").unwrap();
        assert_eq!(p.len(), 3);
        assert_eq!((p[2].host_port, p[2].container_port), (8002, 82));
        assert_eq!(parse_publish("80-81").unwrap().len(), 2);
        for bad in [
            "99999:80",
            "abc",
            "80:abc",
            "1.2.3:80:80",
            "80/sctp",
            "8000-8001:80-89",
            "0:80",
            "a:b:c:d",
            "::1:8080:80",
            "[::1:8080:80",
            "[127.0.0.1]:8080:80",
            "[::1]:80",
        ] {
            assert!(parse_publish(bad).is_err(), "{bad}");
        }
        assert!(parse_publish("99999:80")
            .unwrap_err()
            .to_string()
            .contains("99999"));
    }
}
