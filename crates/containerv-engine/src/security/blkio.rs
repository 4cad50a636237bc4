//! Block I/O: `--blkio-weight` and the four per-device throttles
//! (`--device-read-bps /dev/vda:10mb`, `--device-write-iops /dev/vda:100`,
//! ...), into `linux.resources.blockIO`; the core writes them to
//! `blkio.throttle.*` (v1) or `io.max`/`io.weight` (v2).
//!
//! A device path is resolved to its numbers at create time, as docker
//! does. A weight is refused at create time where the kernel has no
//! weight file (a v1 blkio without CFQ/BFQ, as on this machine: throttle
//! files only), instead of failing at start.

use std::path::Path;

use oci_spec::runtime::{LinuxBlockIo, Spec};
use serde::{Deserialize, Serialize};

use super::SecurityOptions;
use crate::error::{Error, Result};

/// One throttle: device numbers and a rate (bytes or operations per second).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Throttle {
    pub major: i64,
    pub minor: i64,
    pub rate: u64,
}

/// The validated block I/O settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlkioConfig {
    pub weight: Option<u16>,
    pub read_bps: Vec<Throttle>,
    pub write_bps: Vec<Throttle>,
    pub read_iops: Vec<Throttle>,
    pub write_iops: Vec<Throttle>,
}

impl BlkioConfig {
    fn is_empty(&self) -> bool {
        *self == BlkioConfig::default()
    }
}

fn throttles(flag: &'static str, given: &[String], bytes: bool) -> Result<Vec<Throttle>> {
    given
        .iter()
        .map(|g| {
            let (dev, rate) = g.rsplit_once(':').ok_or_else(|| {
                Error::option(flag, g.as_str(), "not DEVICE:RATE (e.g. /dev/sda:10mb)")
            })?;
            if !dev.starts_with('/') {
                return Err(Error::option(
                    flag,
                    g.as_str(),
                    "the device must be a path like /dev/sda",
                ));
            }
            let (major, minor) = containerv::limits::parse_device(flag, dev)
                .map_err(|e| Error::option(flag, g.as_str(), e.to_string()))?;
            let rate = if bytes {
                containerv::limits::parse_size(flag, rate)
                    .map_err(|e| Error::option(flag, g.as_str(), e.to_string()))?
            } else {
                rate.parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                    Error::option(
                        flag,
                        g.as_str(),
                        "the rate must be a positive number of operations per second",
                    )
                })?
            };
            Ok(Throttle { major, minor, rate })
        })
        .collect()
}

/// Whether this host's block I/O controller has a weight file.
fn kernel_has_weight() -> bool {
    let v1 = Path::new("/sys/fs/cgroup/blkio");
    if v1.is_dir() {
        return v1.join("blkio.weight").exists() || v1.join("blkio.bfq.weight").exists();
    }
    // cgroup v2: the files live in non-root cgroups; look at ours.
    let own = std::fs::read_to_string("/proc/self/cgroup")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("0::").map(str::to_string))
        })
        .unwrap_or_default();
    let dir = Path::new("/sys/fs/cgroup").join(own.trim_start_matches('/'));
    if own.trim_matches('/').is_empty() {
        // The root has no weight files: trust the controller list.
        return std::fs::read_to_string("/sys/fs/cgroup/cgroup.controllers")
            .is_ok_and(|c| c.split_whitespace().any(|x| x == "io"));
    }
    dir.join("io.weight").exists() || dir.join("io.bfq.weight").exists()
}

pub(super) fn parse(o: &SecurityOptions) -> Result<BlkioConfig> {
    let weight = match &o.blkio_weight {
        None => None,
        Some(w) => match w.parse::<u16>() {
            Ok(0) => None,
            Ok(n) if (10..=1000).contains(&n) => {
                if !kernel_has_weight() {
                    return Err(Error::option(
                        "--blkio-weight",
                        w.as_str(),
                        "this kernel's block I/O controller has no weight file (no CFQ/BFQ weight); use --device-*-bps/iops throttles",
                    ));
                }
                Some(n)
            }
            _ => {
                return Err(Error::option(
                    "--blkio-weight",
                    w.as_str(),
                    "must be between 10 and 1000 (or 0: none)",
                ))
            }
        },
    };
    Ok(BlkioConfig {
        weight,
        read_bps: throttles("--device-read-bps", &o.device_read_bps, true)?,
        write_bps: throttles("--device-write-bps", &o.device_write_bps, true)?,
        read_iops: throttles("--device-read-iops", &o.device_read_iops, false)?,
        write_iops: throttles("--device-write-iops", &o.device_write_iops, false)?,
    })
}

pub(super) fn apply(spec: &mut Spec, b: &BlkioConfig) -> Result<()> {
    if b.is_empty() {
        return Ok(());
    }
    let list = |t: &[Throttle]| -> serde_json::Value {
        t.iter()
            .map(|t| serde_json::json!({"major": t.major, "minor": t.minor, "rate": t.rate}))
            .collect()
    };
    let mut v = serde_json::json!({
        "throttleReadBpsDevice": list(&b.read_bps),
        "throttleWriteBpsDevice": list(&b.write_bps),
        "throttleReadIOPSDevice": list(&b.read_iops),
        "throttleWriteIOPSDevice": list(&b.write_iops),
    });
    if let Some(w) = b.weight {
        v["weight"] = w.into();
    }
    let bio: LinuxBlockIo = serde_json::from_value(v)
        .map_err(|e| Error::option("--device-read-bps", "", e.to_string()))?;
    let linux = spec.linux_mut().as_mut().expect("built spec has linux");
    let mut resources = linux.resources().clone().unwrap_or_default();
    resources.set_block_io(Some(bio));
    linux.set_resources(Some(resources));
    Ok(())
}
