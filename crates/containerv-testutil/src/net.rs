//! Network helpers for tests that make real interfaces: subnets that
//! overlap none of the host's routes and are unlikely to meet another
//! test's (random in 10.128.0.0/9, re-drawn on overlap), unique interface
//! names, and leak checks that look only at this test's names.

use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

/// The host's IPv4 routes as (network, prefix), from `/proc/net/route`
/// (main table; enough to avoid what the host uses).
pub fn host_routes() -> Vec<(u32, u8)> {
    let text = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let dst = u32::from_str_radix(f.get(1)?, 16).ok()?;
            let mask = u32::from_str_radix(f.get(7)?, 16).ok()?;
            // The file prints the network-order bytes as a native u32.
            let dst = u32::from_be_bytes(dst.to_ne_bytes());
            let mask = u32::from_be_bytes(mask.to_ne_bytes());
            Some((dst & mask, mask.count_ones() as u8))
        })
        .filter(|(_, p)| *p > 0)
        .collect()
}

fn overlaps(a: u32, ap: u8, b: u32, bp: u8) -> bool {
    let p = ap.min(bp);
    let m = if p == 0 { 0 } else { u32::MAX << (32 - p) };
    a & m == b & m
}

fn random_u32() -> u32 {
    let mut b = [0u8; 4];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = f.read_exact(&mut b);
    }
    u32::from_ne_bytes(b)
}

/// A random `/prefix` network inside 10.128.0.0/9 overlapping no host
/// route (prefix 9..=30).
pub fn free_subnet(prefix: u8) -> Ipv4Addr {
    assert!((9..=30).contains(&prefix));
    let routes = host_routes();
    loop {
        let r = random_u32();
        let base = 0x0a80_0000u32 | (r & 0x007f_ffff);
        let net = base & (u32::MAX << (32 - prefix));
        if !routes.iter().any(|&(n, p)| overlaps(n, p, net, prefix)) {
            return Ipv4Addr::from(net);
        }
    }
}

/// The `n`th address of the network `net`.
pub fn nth(net: Ipv4Addr, n: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(net) + n)
}

/// An interface name unique to this process: `<prefix><pid hex><n>`, at
/// most 15 bytes (`prefix` at most 4).
pub fn unique_ifname(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    assert!(prefix.len() <= 4);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let r = random_u32() & 0xfff;
    format!("{prefix}{:x}{r:03x}{n:x}", std::process::id())
        .chars()
        .take(15)
        .collect()
}

/// True when the host has an interface of this name.
pub fn link_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

/// Host interfaces whose names start with `prefix`.
pub fn links_with_prefix(prefix: &str) -> Vec<String> {
    std::fs::read_dir("/sys/class/net")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(prefix))
                .collect()
        })
        .unwrap_or_default()
}
