//! A minimal rtnetlink client: the handful of requests container
//! networking needs (veth pairs, bridges, addresses, a default route, link
//! up/down/delete), each acknowledged synchronously.
//!
//! Why not a crate: `rtnetlink` is async (tokio) and `netlink-packet-*`
//! bring a message model many times the size of these few requests; the
//! whole client is ~300 lines of plain structs over one socket, costs no
//! dependency, and a request takes tens of microseconds.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

const NLMSG_ERROR: u16 = 2;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;

const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
const RTM_GETLINK: u16 = 18;
const RTM_NEWADDR: u16 = 20;
const RTM_NEWROUTE: u16 = 24;

const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MASTER: u16 = 10;
const IFLA_LINKINFO: u16 = 18;
const IFLA_NET_NS_FD: u16 = 28;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const VETH_INFO_PEER: u16 = 1;
const NLA_F_NESTED: u16 = 0x8000;

const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_BROADCAST: u16 = 4;
/// `ifaddrmsg.ifa_flags`: no duplicate address detection (usable at once).
const IFA_F_NODAD: u8 = 0x02;

const RTA_GATEWAY: u16 = 5;
const RT_TABLE_MAIN: u8 = 254;
const RTPROT_BOOT: u8 = 3;
const RTN_UNICAST: u8 = 1;

const IFF_UP: u32 = libc::IFF_UP as u32;

/// A request being built: header, fixed part, attributes (nested with
/// [`Msg::begin`]/[`Msg::end`]).
struct Msg {
    buf: Vec<u8>,
}

impl Msg {
    fn new(kind: u16, flags: u16) -> Msg {
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(&0u32.to_ne_bytes()); // length, set in finish
        buf.extend_from_slice(&kind.to_ne_bytes());
        buf.extend_from_slice(&(flags | NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
        buf.extend_from_slice(&1u32.to_ne_bytes()); // seq
        buf.extend_from_slice(&0u32.to_ne_bytes()); // pid: the kernel's
        Msg { buf }
    }

    /// `struct ifinfomsg`.
    fn ifinfo(&mut self, index: u32, flags: u32, change: u32) {
        self.buf.push(libc::AF_UNSPEC as u8);
        self.buf.push(0);
        self.buf.extend_from_slice(&0u16.to_ne_bytes()); // type
        self.buf.extend_from_slice(&index.to_ne_bytes());
        self.buf.extend_from_slice(&flags.to_ne_bytes());
        self.buf.extend_from_slice(&change.to_ne_bytes());
    }

    fn attr(&mut self, kind: u16, data: &[u8]) {
        let len = 4 + data.len();
        self.buf.extend_from_slice(&(len as u16).to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.pad();
    }

    fn attr_str(&mut self, kind: u16, s: &str) {
        let mut d = s.as_bytes().to_vec();
        d.push(0);
        self.attr(kind, &d);
    }

    fn pad(&mut self) {
        while self.buf.len() % 4 != 0 {
            self.buf.push(0);
        }
    }

    /// Open a nested attribute; returns its offset for [`Msg::end`].
    fn begin(&mut self, kind: u16) -> usize {
        let at = self.buf.len();
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf
            .extend_from_slice(&(kind | NLA_F_NESTED).to_ne_bytes());
        at
    }

    fn end(&mut self, at: usize) {
        let len = (self.buf.len() - at) as u16;
        self.buf[at..at + 2].copy_from_slice(&len.to_ne_bytes());
    }

    fn finish(mut self) -> Vec<u8> {
        let len = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf
    }
}

/// A NETLINK_ROUTE socket, bound to the network namespace it was opened in.
pub struct Netlink {
    fd: OwnedFd,
}

impl Netlink {
    /// A socket in the caller's network namespace.
    pub fn open() -> io::Result<Netlink> {
        // SAFETY: plain socket call; the fd is owned below.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_ROUTE,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a fresh descriptor we own.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // Ask for extended acks (the kernel's own words on errors) with
        // only the request's header echoed; best effort.
        let one: libc::c_int = 1;
        for opt in [libc::NETLINK_EXT_ACK, libc::NETLINK_CAP_ACK] {
            // SAFETY: a valid int option on our socket.
            unsafe {
                libc::setsockopt(
                    fd.as_raw_fd(),
                    libc::SOL_NETLINK,
                    opt,
                    &one as *const _ as *const libc::c_void,
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                );
            }
        }
        Ok(Netlink { fd })
    }

    /// A socket in the network namespace `netns` (an open `ns/net` fd):
    /// opened by a short-lived thread that joins it, so the caller's own
    /// namespace never changes.
    pub fn open_in(netns: RawFd) -> io::Result<Netlink> {
        std::thread::scope(|s| {
            s.spawn(|| {
                // SAFETY: setns on this thread only (network namespaces may
                // be joined by one thread of a multi-threaded process).
                if unsafe { libc::setns(netns, libc::CLONE_NEWNET) } != 0 {
                    return Err(io::Error::last_os_error());
                }
                Netlink::open()
            })
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("netlink thread panicked")))
        })
    }

    /// Send one request and wait for its acknowledgement; `reply` gets the
    /// payload of a non-error answer (RTM_GETLINK).
    fn request(&self, msg: Msg, mut reply: Option<&mut Vec<u8>>) -> io::Result<()> {
        let data = msg.finish();
        // SAFETY: a zeroed sockaddr_nl is valid; family set below.
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        // SAFETY: data and addr are valid for the call.
        let n = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                data.as_ptr() as *const libc::c_void,
                data.len(),
                0,
                &addr as *const _ as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            // SAFETY: buf is writable for its length.
            let n = unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr() as *mut libc::c_void,
                    buf.len(),
                    0,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            let mut off = 0usize;
            let n = n as usize;
            while off + 16 <= n {
                let len = u32::from_ne_bytes(buf[off..off + 4].try_into().expect("4")) as usize;
                let kind = u16::from_ne_bytes(buf[off + 4..off + 6].try_into().expect("2"));
                if len < 16 || off + len > n {
                    return Err(io::Error::other("short netlink answer"));
                }
                let body = &buf[off + 16..off + len];
                if kind == NLMSG_ERROR {
                    let code = i32::from_ne_bytes(body[0..4].try_into().expect("4"));
                    if code == 0 {
                        return Ok(());
                    }
                    let os = io::Error::from_raw_os_error(-code);
                    return Err(match ext_ack_message(body) {
                        Some(m) => io::Error::new(os.kind(), format!("{os} ({m})")),
                        None => os,
                    });
                }
                if let Some(r) = reply.as_deref_mut() {
                    r.clear();
                    r.extend_from_slice(body);
                }
                off += (len + 3) & !3;
            }
        }
    }

    /// Index of the link `name`, `None` when there is none.
    pub fn link_index(&self, name: &str) -> io::Result<Option<u32>> {
        let mut m = Msg::new(RTM_GETLINK, 0);
        m.ifinfo(0, 0, 0);
        m.attr_str(IFLA_IFNAME, name);
        let mut reply = Vec::new();
        match self.request(m, Some(&mut reply)) {
            Ok(()) if reply.len() >= 8 => {
                Ok(Some(u32::from_ne_bytes(reply[4..8].try_into().expect("4"))))
            }
            Ok(()) => Ok(None),
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A veth pair: `host` here, `peer` created directly in the network
    /// namespace `peer_netns` (an `ns/net` fd), with `peer_mac` if given.
    /// `EEXIST` when `host` is taken.
    pub fn add_veth(
        &self,
        host: &str,
        peer: &str,
        peer_netns: RawFd,
        peer_mac: Option<[u8; 6]>,
    ) -> io::Result<()> {
        let mut m = Msg::new(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
        m.ifinfo(0, 0, 0);
        m.attr_str(IFLA_IFNAME, host);
        let info = m.begin(IFLA_LINKINFO);
        m.attr_str(IFLA_INFO_KIND, "veth");
        let data = m.begin(IFLA_INFO_DATA);
        let p = m.begin(VETH_INFO_PEER);
        m.ifinfo(0, 0, 0);
        m.attr_str(IFLA_IFNAME, peer);
        m.attr(IFLA_NET_NS_FD, &(peer_netns as u32).to_ne_bytes());
        if let Some(mac) = peer_mac {
            m.attr(IFLA_ADDRESS, &mac);
        }
        m.end(p);
        m.end(data);
        m.end(info);
        self.request(m, None)
    }

    /// A Linux bridge `name` (`EEXIST` when the name is taken).
    pub fn add_bridge(&self, name: &str) -> io::Result<()> {
        let mut m = Msg::new(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
        m.ifinfo(0, 0, 0);
        m.attr_str(IFLA_IFNAME, name);
        let info = m.begin(IFLA_LINKINFO);
        m.attr_str(IFLA_INFO_KIND, "bridge");
        m.end(info);
        self.request(m, None)
    }

    /// Set the link up, and enslave it to `master` when given.
    pub fn set_up(&self, index: u32, master: Option<u32>) -> io::Result<()> {
        let mut m = Msg::new(RTM_NEWLINK, 0);
        m.ifinfo(index, IFF_UP, IFF_UP);
        if let Some(master) = master {
            m.attr(IFLA_MASTER, &master.to_ne_bytes());
        }
        self.request(m, None)
    }

    /// Delete the link with this index.
    pub fn del_link(&self, index: u32) -> io::Result<()> {
        let mut m = Msg::new(RTM_DELLINK, 0);
        m.ifinfo(index, 0, 0);
        self.request(m, None)
    }

    /// Delete the link `name` if it exists; true when one was deleted.
    pub fn del_link_named(&self, name: &str) -> io::Result<bool> {
        match self.link_index(name)? {
            Some(i) => match self.del_link(i) {
                Ok(()) => Ok(true),
                Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(false),
                Err(e) => Err(e),
            },
            None => Ok(false),
        }
    }

    /// `addr/prefix` on link `index` (with its broadcast address).
    pub fn add_addr(&self, index: u32, addr: Ipv4Addr, prefix: u8) -> io::Result<()> {
        let mut m = Msg::new(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
        m.buf.push(libc::AF_INET as u8);
        m.buf.push(prefix);
        m.buf.push(0); // flags
        m.buf.push(0); // scope: universe
        m.buf.extend_from_slice(&index.to_ne_bytes());
        m.attr(IFA_LOCAL, &addr.octets());
        m.attr(IFA_ADDRESS, &addr.octets());
        if prefix < 31 {
            let b = u32::from(addr) | !crate::network::mask(prefix);
            m.attr(IFA_BROADCAST, &b.to_be_bytes());
        }
        self.request(m, None)
    }

    /// IPv6 `addr/prefix` on link `index`, without duplicate address
    /// detection (the address is usable at once; the caller hands each
    /// address out once).
    pub fn add_addr6(&self, index: u32, addr: Ipv6Addr, prefix: u8) -> io::Result<()> {
        let mut m = Msg::new(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
        m.buf.push(libc::AF_INET6 as u8);
        m.buf.push(prefix);
        m.buf.push(IFA_F_NODAD);
        m.buf.push(0); // scope: universe
        m.buf.extend_from_slice(&index.to_ne_bytes());
        m.attr(IFA_LOCAL, &addr.octets());
        m.attr(IFA_ADDRESS, &addr.octets());
        self.request(m, None)
    }

    /// The default route via `gateway` in the main table.
    pub fn add_default_route(&self, gateway: Ipv4Addr) -> io::Result<()> {
        self.default_route(libc::AF_INET as u8, &gateway.octets())
    }

    /// The IPv6 default route via `gateway` in the main table.
    pub fn add_default_route6(&self, gateway: Ipv6Addr) -> io::Result<()> {
        self.default_route(libc::AF_INET6 as u8, &gateway.octets())
    }

    fn default_route(&self, family: u8, gateway: &[u8]) -> io::Result<()> {
        let mut m = Msg::new(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
        m.buf.extend_from_slice(&[
            family,
            0, // dst_len
            0, // src_len
            0, // tos
            RT_TABLE_MAIN,
            RTPROT_BOOT,
            0, // scope universe
            RTN_UNICAST,
        ]);
        m.buf.extend_from_slice(&0u32.to_ne_bytes()); // flags
        m.attr(RTA_GATEWAY, gateway);
        self.request(m, None)
    }
}

/// The `NLMSGERR_ATTR_MSG` text of an extended ack, if any. The error
/// body is the error code, the original header (16 bytes: the echo is
/// capped with NETLINK_CAP_ACK) and then attributes.
fn ext_ack_message(body: &[u8]) -> Option<String> {
    const NLMSGERR_ATTR_MSG: u16 = 1;
    let mut off = 20;
    while off + 4 <= body.len() {
        let len = u16::from_ne_bytes(body[off..off + 2].try_into().ok()?) as usize;
        let kind = u16::from_ne_bytes(body[off + 2..off + 4].try_into().ok()?);
        if len < 4 || off + len > body.len() {
            return None;
        }
        if kind == NLMSGERR_ATTR_MSG {
            let s = &body[off + 4..off + len];
            let s = s.split(|b| *b == 0).next().unwrap_or(s);
            return Some(String::from_utf8_lossy(s).into_owned());
        }
        off += (len + 3) & !3;
    }
    None
}
