//! Network counters of a container's own network namespace.
//!
//! `/proc/<pid>/net/dev` shows the interfaces of *that pid's* network
//! namespace, so reading it through the container's init gives the
//! container's interfaces without entering any namespace. Loopback is left
//! out (traffic that never leaves the container). A container that shares
//! the caller's network namespace has no interfaces of its own: its
//! counters read 0 rather than the host's.

use std::io::Read;

use super::cgroups::read_seq;
use crate::error::{Error, Result};

/// Summed counters of every non-loopback interface.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetCounters {
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
}

/// Parses the text of a `/proc/<pid>/net/dev` file.
pub fn parse_net_dev(text: &str) -> NetCounters {
    let mut c = NetCounters::default();
    for line in text.lines().skip(2) {
        let Some((name, rest)) = line.split_once(':') else {
            continue;
        };
        if name.trim() == "lo" {
            continue;
        }
        let mut f = rest
            .split_ascii_whitespace()
            .map(|x| x.parse::<u64>().unwrap_or(0));
        let v: [u64; 10] = std::array::from_fn(|_| f.next().unwrap_or(0));
        c.rx_bytes += v[0];
        c.rx_packets += v[1];
        c.tx_bytes += v[8];
        c.tx_packets += v[9];
    }
    c
}

/// Counters of the network namespace of `pid`, read into `buf` (reused by
/// the caller). Zero when `pid` shares the caller's network namespace.
pub fn read_net_counters(pid: i32, buf: &mut String) -> Result<NetCounters> {
    if pid <= 0 {
        return Ok(NetCounters::default());
    }
    let ns = format!("/proc/{pid}/ns/net");
    let theirs = std::fs::read_link(&ns).map_err(|e| Error::io("readlink", &ns, e))?;
    let ours = std::fs::read_link("/proc/self/ns/net")
        .map_err(|e| Error::io("readlink", "/proc/self/ns/net", e))?;
    if theirs == ours {
        return Ok(NetCounters::default());
    }
    let path = format!("/proc/{pid}/net/dev");
    buf.clear();
    std::fs::File::open(&path)
        .and_then(|mut f| f.read_to_string(buf))
        .map_err(|e| Error::io("read", &path, e))?;
    Ok(parse_net_dev(buf))
}

/// Reads the counters of one container again and again through a kept
/// descriptor (one `pread(2)` per sample; the namespace check is done once
/// per init pid).
#[derive(Debug, Default)]
pub struct NetReader {
    pid: i32,
    /// `None`: the pid shares the caller's network namespace (or is gone).
    file: Option<std::fs::File>,
    data: Vec<u8>,
}

impl NetReader {
    /// Counters of the network namespace of `pid`; zero when it has none of
    /// its own or cannot be read (the init just exited).
    pub fn read(&mut self, pid: i32) -> NetCounters {
        if pid <= 0 {
            return NetCounters::default();
        }
        if self.pid != pid {
            self.pid = pid;
            self.file = own_netns(pid)
                .then(|| std::fs::File::open(format!("/proc/{pid}/net/dev")).ok())
                .flatten();
        }
        let Some(f) = &self.file else {
            return NetCounters::default();
        };
        if read_seq(f, &mut self.data).is_err() {
            self.pid = 0;
            return NetCounters::default();
        }
        parse_net_dev(std::str::from_utf8(&self.data).unwrap_or(""))
    }
}

/// True when `pid` has a network namespace other than the caller's.
fn own_netns(pid: i32) -> bool {
    match (
        std::fs::read_link(format!("/proc/{pid}/ns/net")),
        std::fs::read_link("/proc/self/ns/net"),
    ) {
        (Ok(a), Ok(b)) => a != b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_skips_lo() {
        let t = "Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    1000      10    0    0    0     0          0         0     1000      10    0    0    0     0       0          0
  eth0:     500       5    0    0    0     0          0         0      300       3    0    0    0     0       0          0
  veth1:     20       2    0    0    0     0          0         0       10       1    0    0    0     0       0          0
";
        assert_eq!(
            parse_net_dev(t),
            NetCounters {
                rx_bytes: 520,
                rx_packets: 7,
                tx_bytes: 310,
                tx_packets: 4
            }
        );
    }
}
