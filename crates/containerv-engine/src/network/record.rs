//! A network's record: `<root>/networks/<name>.json`, replaced atomically
//! and changed only under `<root>/networks/.lock` (leases included), so
//! two `cv` processes never hand out one address twice.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::store::{lock_exclusive, read_json, write_json, LockGuard};

/// One container's address on a network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lease {
    pub container: String,
    /// The container's name when it joined.
    pub name: String,
    pub mac: String,
    /// The host end of its veth pair.
    pub host_ifname: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Published ports in force (their nftables elements).
    #[serde(default)]
    pub ports: Vec<crate::network::ports::PortMapping>,
    /// The container's IPv6 address (networks with `--ipv6`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip6: Option<Ipv6Addr>,
}

/// A network (docker's `network inspect` names where they exist).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkRecord {
    pub name: String,
    /// 64 hex digits.
    pub id: String,
    pub created: DateTime<Utc>,
    pub driver: String,
    pub subnet: Ipv4Addr,
    pub prefix_len: u8,
    pub gateway: Ipv4Addr,
    /// `--ip-range`: addresses are handed out from this part only.
    #[serde(default)]
    pub ip_range: Option<(Ipv4Addr, u8)>,
    #[serde(default)]
    pub internal: bool,
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The Linux bridge (`cv-` + 12 hex digits of the id).
    pub bridge: String,
    /// The subnet is claimed host-wide (user networks always; the default
    /// network only while it has containers).
    #[serde(default)]
    pub claimed: bool,
    /// Address → lease.
    #[serde(default)]
    pub leases: BTreeMap<Ipv4Addr, Lease>,
    /// `--ipv6`: dual stack, with this IPv6 subnet (claimed host-wide
    /// like the IPv4 one) and gateway (on the bridge unless internal).
    #[serde(default)]
    pub enable_ipv6: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet6: Option<(Ipv6Addr, u8)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway6: Option<Ipv6Addr>,
}

impl NetworkRecord {
    /// `a.b.c.d/n`.
    pub fn subnet_cidr(&self) -> String {
        format!("{}/{}", self.subnet, self.prefix_len)
    }

    /// `a:b::/n` of the IPv6 subnet, if any.
    pub fn subnet6_cidr(&self) -> Option<String> {
        self.subnet6.map(|(a, p)| format!("{a}/{p}"))
    }

    /// The lease of container `id`, if any.
    pub fn lease_of(&self, id: &str) -> Option<(Ipv4Addr, &Lease)> {
        self.leases
            .iter()
            .find(|(_, l)| l.container == id)
            .map(|(a, l)| (*a, l))
    }
}

/// The networks directory of an engine root.
#[derive(Debug, Clone)]
pub struct NetworkStore {
    dir: PathBuf,
}

impl NetworkStore {
    pub fn new(engine_root: &Path) -> NetworkStore {
        NetworkStore {
            dir: engine_root.join("networks"),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The lock every change of any network's record takes.
    pub fn lock(&self) -> Result<LockGuard> {
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| Error::io("create directory", &self.dir, e))?;
        lock_exclusive(&self.dir.join(".lock"))
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.json"))
    }

    /// The record of network `name`, `None` if there is none.
    pub fn load(&self, name: &str) -> Result<Option<NetworkRecord>> {
        let p = self.path(name);
        if !p.exists() {
            return Ok(None);
        }
        read_json(&p).map(Some)
    }

    /// Writes the record (hold [`NetworkStore::lock`]).
    pub fn save(&self, rec: &NetworkRecord, _lock: &LockGuard) -> Result<()> {
        write_json(&self.path(&rec.name), rec)
    }

    /// Writes the record after a lease change only (hold the lock): no
    /// `fdatasync` (two per `cv run`, ~5 ms each here, more under load).
    /// Leases need not survive a power loss: every container dies with
    /// the host and leases of dead containers are dropped at the next
    /// use; the network itself was written durably by [`Self::save`].
    pub fn save_leases(&self, rec: &NetworkRecord, _lock: &LockGuard) -> Result<()> {
        crate::store::write_json_volatile(&self.path(&rec.name), rec)
    }

    pub fn delete(&self, name: &str, _lock: &LockGuard) -> Result<()> {
        let p = self.path(name);
        std::fs::remove_file(&p).map_err(|e| Error::io("remove", &p, e))
    }

    /// Every network, by name.
    pub fn list(&self) -> Result<Vec<NetworkRecord>> {
        let mut out = Vec::new();
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return Ok(out);
        };
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if let Some(name) = n.strip_suffix(".json") {
                if name.starts_with('.') {
                    continue;
                }
                if let Some(r) = self.load(name)? {
                    out.push(r);
                }
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// A network by name, full id or id prefix.
    pub fn resolve(&self, reference: &str) -> Result<NetworkRecord> {
        if let Some(r) = self.load(reference)? {
            return Ok(r);
        }
        let all = self.list()?;
        let hits: Vec<_> = all
            .into_iter()
            .filter(|r| !reference.is_empty() && r.id.starts_with(reference))
            .collect();
        match hits.len() {
            1 => Ok(hits.into_iter().next().expect("one")),
            0 => Err(Error::NoSuchNetwork(reference.to_string())),
            _ => Err(Error::option(
                "network",
                reference,
                "ambiguous: it matches several networks",
            )),
        }
    }
}
