//! The Linux bridge of a network: made (with the gateway address, and the
//! IPv6 one of an `--ipv6` network unless it is internal; an internal
//! network's IPv4 gateway answers DNS only, see `nft`) when its first
//! container joins and kept, as
//! docker keeps `docker0`: making and deleting a bridge (and its nftables
//! elements) cost ~70 ms of every `cv run` of an idle engine. It goes with
//! the network (`network rm`, `prune`, `system reset`, or a stale subnet
//! claim of a deleted engine root, see `ipam`). A "reboot" (bridges gone)
//! needs no repair: the next container makes it again.

use containerv::linux::net::Netlink;

use crate::error::{Error, Result};
use crate::network::record::NetworkRecord;

fn nl() -> Result<Netlink> {
    Netlink::open().map_err(|e| Error::sys("open a netlink socket", e))
}

/// Makes the bridge of `rec` if it is missing.
pub fn ensure(rec: &NetworkRecord) -> Result<()> {
    let nl = nl()?;
    if let Some(idx) = nl
        .link_index(&rec.bridge)
        .map_err(|e| Error::sys(format!("look up bridge {}", rec.bridge), e))?
    {
        if rec.internal {
            // An internal bridge made before internal networks got their
            // (DNS-only) gateway address: marked, then addressed (EEXIST
            // on every later start: one netlink request).
            crate::network::nft::mark_internal(&rec.bridge);
            let _ = nl.add_addr(idx, rec.gateway, rec.prefix_len);
        }
        // Kept from before; its nftables elements too unless the table
        // is gone or of an older version (then it is made again and
        // every bridge enrolled).
        if !crate::network::nft::table_exists()
            || (rec.subnet6.is_some() && !crate::network::nft::table6_exists())
            || (rec.internal && !crate::network::nft::internal_table_exists())
        {
            crate::network::nft::bridge_added(&rec.bridge, rec.internal, rec.subnet6.is_some())?;
        }
        return Ok(());
    }
    nl.add_bridge(&rec.bridge)
        .map_err(|e| Error::sys(format!("create bridge {}", rec.bridge), e))?;
    let r = (|| {
        let idx = nl
            .link_index(&rec.bridge)
            .map_err(|e| Error::sys(format!("look up bridge {}", rec.bridge), e))?
            .ok_or_else(|| {
                Error::sys(
                    format!("bridge {} vanished", rec.bridge),
                    std::io::Error::from_raw_os_error(libc::ENODEV),
                )
            })?;
        // The nftables elements first: an internal bridge must be in the
        // `internal` set before it has an address the host answers on.
        crate::network::nft::bridge_added(&rec.bridge, rec.internal, rec.subnet6.is_some())?;
        nl.add_addr(idx, rec.gateway, rec.prefix_len).map_err(|e| {
            Error::sys(
                format!("add {}/{} to {}", rec.gateway, rec.prefix_len, rec.bridge),
                e,
            )
        })?;
        if let (Some((_, p6)), Some(g6), false) = (rec.subnet6, rec.gateway6, rec.internal) {
            nl.add_addr6(idx, g6, p6)
                .map_err(|e| Error::sys(format!("add {g6}/{p6} to {}", rec.bridge), e))?;
        }
        nl.set_up(idx, None)
            .map_err(|e| Error::sys(format!("bring {} up", rec.bridge), e))
    })();
    if r.is_err() {
        let _ = nl.del_link_named(&rec.bridge);
        crate::network::nft::bridge_removed(&rec.bridge, rec.internal);
    }
    r
}

/// Deletes the bridge of `rec` if it exists.
pub fn remove(rec: &NetworkRecord) {
    remove_named(&rec.bridge, rec.internal);
}

/// Deletes bridge `name` and its nftables elements.
pub fn remove_named(name: &str, internal: bool) {
    // A stale claim's bridge: its alias says whether it was internal.
    let alias = std::fs::read_to_string(
        std::path::Path::new("/sys/class/net")
            .join(name)
            .join("ifalias"),
    )
    .unwrap_or_default();
    let internal = internal || alias.trim() == crate::network::nft::INTERNAL_ALIAS;
    if let Ok(nl) = nl() {
        if let Ok(true) = nl.del_link_named(name) {
            crate::network::nft::bridge_removed(name, internal);
        }
    }
}
