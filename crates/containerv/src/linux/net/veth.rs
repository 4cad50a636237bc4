//! Make and remove a container's veth pair.
//!
//! `setup` runs in the parent while the init waits at its sync step (after
//! clone, before the program runs): the host end is created here with its
//! peer born directly inside the init's network namespace (no move, so the
//! peer's name can never clash on the host), then the peer is addressed,
//! brought up and given its default route through a netlink socket opened
//! inside that namespace. Any failure deletes the host end (which takes
//! the peer with it).

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

use serde::{Deserialize, Serialize};

use super::netlink::Netlink;
use crate::error::{Error, Result};
use crate::network::Veth;

/// What `destroy` needs to remove the host end.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct VethState {
    pub host_ifname: String,
    pub host_index: u32,
}

fn nl_err(what: &str, e: io::Error) -> Error {
    Error::sys(what.to_string(), e)
}

/// Create the pair for the init `pid` and configure both ends.
pub(crate) fn setup(v: &Veth, pid: i32) -> Result<VethState> {
    let nl = Netlink::open().map_err(|e| nl_err("open a netlink socket", e))?;
    let master = match &v.bridge {
        Some(b) => Some(
            nl.link_index(b)
                .map_err(|e| nl_err("look up the bridge", e))?
                .ok_or_else(|| Error::option("veth bridge", b.clone(), "no such interface"))?,
        ),
        None => None,
    };
    let ns_path = format!("/proc/{pid}/ns/net");
    let netns = File::open(&ns_path).map_err(|e| Error::io("open", &ns_path, e))?;
    match nl.add_veth(
        &v.host_ifname,
        &v.container_ifname,
        netns.as_raw_fd(),
        v.mac,
    ) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
            return Err(Error::option(
                "veth host interface name",
                v.host_ifname.clone(),
                "an interface of that name already exists",
            ))
        }
        Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => {
            return Err(Error::Unsupported(format!(
                "veth interfaces on this host (the kernel refused a veth pair: {e})"
            )))
        }
        Err(e) => {
            return Err(nl_err(
                &format!(
                    "create veth pair {} / {}",
                    v.host_ifname, v.container_ifname
                ),
                e,
            ))
        }
    }
    let index = match nl.link_index(&v.host_ifname) {
        Ok(Some(i)) => i,
        Ok(None) => {
            return Err(Error::sys(
                format!("veth {} vanished after creation", v.host_ifname),
                io::Error::from_raw_os_error(libc::ENODEV),
            ))
        }
        Err(e) => return Err(nl_err("look up the new veth", e)),
    };
    let st = VethState {
        host_ifname: v.host_ifname.clone(),
        host_index: index,
    };
    let r = configure(&nl, v, index, master, &netns);
    if let Err(e) = r {
        remove(&st);
        return Err(e);
    }
    Ok(st)
}

fn configure(nl: &Netlink, v: &Veth, index: u32, master: Option<u32>, netns: &File) -> Result<()> {
    if let Some(h) = v.host_addr {
        nl.add_addr(index, h, v.prefix_len)
            .map_err(|e| nl_err(&format!("add {h}/{} to {}", v.prefix_len, v.host_ifname), e))?;
    }
    nl.set_up(index, master)
        .map_err(|e| nl_err(&format!("bring {} up", v.host_ifname), e))?;
    let inner = Netlink::open_in(netns.as_raw_fd())
        .map_err(|e| nl_err("open a netlink socket in the container", e))?;
    let cidx = inner
        .link_index(&v.container_ifname)
        .map_err(|e| nl_err("look up the container's veth end", e))?
        .ok_or_else(|| {
            Error::sys(
                format!("{} missing in the container", v.container_ifname),
                io::Error::from_raw_os_error(libc::ENODEV),
            )
        })?;
    let a = v.container_addr;
    inner.add_addr(cidx, a, v.prefix_len).map_err(|e| {
        nl_err(
            &format!(
                "add {a}/{} to the container's {}",
                v.prefix_len, v.container_ifname
            ),
            e,
        )
    })?;
    if let Some((a6, p6)) = v.addr6 {
        inner.add_addr6(cidx, a6, p6).map_err(|e| {
            nl_err(
                &format!("add {a6}/{p6} to the container's {}", v.container_ifname),
                e,
            )
        })?;
    }
    inner
        .set_up(cidx, None)
        .map_err(|e| nl_err("bring the container's veth end up", e))?;
    if let Some(gw) = v.default_route() {
        inner
            .add_default_route(gw)
            .map_err(|e| nl_err(&format!("add the container's default route via {gw}"), e))?;
    }
    if let Some(gw) = v.gateway6 {
        inner.add_default_route6(gw).map_err(|e| {
            nl_err(
                &format!("add the container's IPv6 default route via {gw}"),
                e,
            )
        })?;
    }
    Ok(())
}

/// Delete the host end (and so the pair) if it is still the one we made:
/// the same index under the same name. Best effort; gone is fine.
pub(crate) fn remove(st: &VethState) {
    let Ok(nl) = Netlink::open() else { return };
    if let Ok(Some(i)) = nl.link_index(&st.host_ifname) {
        if i == st.host_index {
            let _ = nl.del_link(i);
        }
    }
}
