//! The few bytes of RFC 1035 the engine's DNS server needs: read a
//! query's header and first question, and build an answer with A or
//! AAAA records or an error code. Everything else (compression in questions,
//! EDNS options) is echoed or ignored; a malformed query gets no answer.

use std::net::IpAddr;

pub const TYPE_A: u16 = 1;
pub const TYPE_AAAA: u16 = 28;
pub const CLASS_IN: u16 = 1;
pub const RCODE_NXDOMAIN: u8 = 3;
pub const RCODE_SERVFAIL: u8 = 2;

/// A query's first question.
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    pub id: u16,
    /// Lower case, no trailing dot.
    pub name: String,
    pub qtype: u16,
    pub qclass: u16,
    /// The question section as sent (copied into the answer).
    raw: Vec<u8>,
    /// The query's RD bit.
    rd: bool,
}

/// Parses a query (QR = 0, one question at least); `None` if malformed.
pub fn parse_query(msg: &[u8]) -> Option<Question> {
    if msg.len() < 12 || msg[2] & 0x80 != 0 {
        return None;
    }
    let qdcount = u16::from_be_bytes([msg[4], msg[5]]);
    if qdcount == 0 {
        return None;
    }
    let mut i = 12;
    let mut labels = Vec::new();
    loop {
        let len = *msg.get(i)? as usize;
        i += 1;
        if len == 0 {
            break;
        }
        if len & 0xc0 != 0 {
            return None;
        }
        let l = msg.get(i..i + len)?;
        labels.push(String::from_utf8_lossy(l).to_ascii_lowercase());
        i += len;
    }
    let qtype = u16::from_be_bytes([*msg.get(i)?, *msg.get(i + 1)?]);
    let qclass = u16::from_be_bytes([*msg.get(i + 2)?, *msg.get(i + 3)?]);
    Some(Question {
        id: u16::from_be_bytes([msg[0], msg[1]]),
        name: labels.join("."),
        qtype,
        qclass,
        raw: msg[12..i + 4].to_vec(),
        rd: msg[2] & 0x01 != 0,
    })
}

/// An authoritative answer to `q`: `addrs` as A (IPv4) and AAAA (IPv6)
/// records (none: an empty NOERROR, e.g. MX for a known name) or `rcode`.
pub fn answer(q: &Question, addrs: &[IpAddr], rcode: u8, ttl: u32) -> Vec<u8> {
    let mut m = Vec::with_capacity(12 + q.raw.len() + addrs.len() * 16);
    m.extend_from_slice(&q.id.to_be_bytes());
    // QR, AA, RD as asked; RA; rcode.
    m.push(0x84 | u8::from(q.rd));
    m.push(0x80 | (rcode & 0x0f));
    m.extend_from_slice(&1u16.to_be_bytes());
    m.extend_from_slice(&(addrs.len() as u16).to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 0]);
    m.extend_from_slice(&q.raw);
    for a in addrs {
        // A pointer to the question's name (offset 12).
        m.extend_from_slice(&[0xc0, 0x0c]);
        let (kind, data) = match a {
            IpAddr::V4(a) => (TYPE_A, a.octets().to_vec()),
            IpAddr::V6(a) => (TYPE_AAAA, a.octets().to_vec()),
        };
        m.extend_from_slice(&kind.to_be_bytes());
        m.extend_from_slice(&CLASS_IN.to_be_bytes());
        m.extend_from_slice(&ttl.to_be_bytes());
        m.extend_from_slice(&(data.len() as u16).to_be_bytes());
        m.extend_from_slice(&data);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(name: &str, qtype: u16) -> Vec<u8> {
        let mut m = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        for l in name.split('.') {
            m.push(l.len() as u8);
            m.extend_from_slice(l.as_bytes());
        }
        m.push(0);
        m.extend_from_slice(&qtype.to_be_bytes());
        m.extend_from_slice(&CLASS_IN.to_be_bytes());
        m
    }

    #[test]
    fn parses_and_answers() {
        let q = parse_query(&query("Web.Example", TYPE_A)).unwrap();
        assert_eq!((q.id, q.name.as_str(), q.qtype), (0x1234, "web.example", 1));
        let a = answer(&q, &[IpAddr::from([10, 0, 0, 2])], 0, 600);
        assert_eq!(&a[..4], &[0x12, 0x34, 0x85, 0x80]);
        assert_eq!(u16::from_be_bytes([a[6], a[7]]), 1);
        assert_eq!(&a[a.len() - 4..], &[10, 0, 0, 2]);
        let nx = answer(&q, &[], RCODE_NXDOMAIN, 0);
        assert_eq!(nx[3] & 0x0f, 3);
        assert!(parse_query(&a).is_none(), "a response is not a query");
        let q6 = parse_query(&query("web", TYPE_AAAA)).unwrap();
        let six: IpAddr = "fd00:1::2".parse().unwrap();
        let a6 = answer(&q6, &[six], 0, 10);
        // type AAAA, 16 bytes of data at the end
        assert_eq!(
            &a6[a6.len() - 16..],
            &"fd00:1::2".parse::<std::net::Ipv6Addr>().unwrap().octets()
        );
        assert_eq!(
            u16::from_be_bytes([a6[a6.len() - 26], a6[a6.len() - 25]]),
            TYPE_AAAA
        );
        assert!(parse_query(&[1, 2, 3]).is_none());
        let mut cut = query("x", TYPE_A);
        cut.truncate(14);
        assert!(parse_query(&cut).is_none());
    }

    /// Queries come from containers, to a root process on the host: any
    /// bytes (random, and every truncation and bit flip of a real query)
    /// parse to a question or to nothing, never a panic, and an answer
    /// to what parsed is well formed.
    #[test]
    fn hostile_bytes_never_panic() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let real = query("web.example", TYPE_A);
        for n in 0..=real.len() {
            let _ = parse_query(&real[..n]);
        }
        for bit in 0..real.len() * 8 {
            let mut m = real.clone();
            m[bit / 8] ^= 1 << (bit % 8);
            if let Some(q) = parse_query(&m) {
                let a = answer(&q, &[IpAddr::from([127, 0, 0, 1])], 0, 1);
                assert!(a.len() >= 12 + q.raw.len());
            }
        }
        for _ in 0..20_000 {
            let len = (next() % 600) as usize;
            let mut m: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if m.len() > 2 {
                m[2] &= 0x7f; // a query, so the parser goes past the header
            }
            if let Some(q) = parse_query(&m) {
                let _ = answer(&q, &[], RCODE_NXDOMAIN, 0);
            }
        }
    }
}
