//! `linux.resources` as systemd unit properties, with runc's conversions
//! (libcontainer/cgroups/systemd/v2.go), so `systemctl show` of the scope
//! says what runc's would and systemd keeps the limits when it re-applies
//! a unit's cgroup settings (daemon-reload, a sibling's change):
//!
//! - memory: `MemoryMax` (limit), `MemoryLow` (reservation),
//!   `MemorySwapMax` (OCI swap is memory+swap; the property is swap alone);
//! - cpu: `CPUWeight` (shares converted as for cpu.weight),
//!   `CPUQuotaPerSecUSec` (quota per second, rounded up to 10 ms as systemd
//!   stores it) and `CPUQuotaPeriodUSec`; `AllowedCPUs` /
//!   `AllowedMemoryNodes` (bitmasks);
//! - pids: `TasksMax`.
//!
//! runc sets no IO property on cgroup v2, and neither do we: io.weight and
//! io.max, like everything else, are then written to the cgroup files by
//! the same code as the cgroupfs driver (systemd does not touch what it
//! was not told about in a delegated unit).

use oci_spec::runtime::LinuxResources;
use zbus::zvariant::Value;

use crate::error::{Error, Result};

/// One unit property (D-Bus `(sv)`).
pub(crate) type Prop = (String, Value<'static>);

/// "infinity" for systemd's u64 limits.
const INFINITY: u64 = u64::MAX;
/// The kernel's (and systemd's) default CFS period, in µs.
const DEFAULT_PERIOD: u64 = 100_000;

/// The resource properties of `r`, in runc's order.
pub(crate) fn resources(r: &LinuxResources) -> Result<Vec<Prop>> {
    let mut p: Vec<Prop> = Vec::new();
    if let Some(m) = r.memory() {
        let limit = m.limit().unwrap_or(0);
        if limit != 0 {
            p.push(("MemoryMax".into(), Value::U64(limit_u64(limit))));
        }
        if let Some(low) = m.reservation().filter(|v| *v != 0) {
            p.push(("MemoryLow".into(), Value::U64(limit_u64(low))));
        }
        if let Some(swap) = swap_v2(m.swap().unwrap_or(0), limit)? {
            p.push(("MemorySwapMax".into(), Value::U64(swap)));
        }
    }
    if let Some(c) = r.cpu() {
        if let Some(s) = c.shares().filter(|s| *s != 0) {
            p.push((
                "CPUWeight".into(),
                Value::U64(crate::linux::cgroups::shares_to_weight(s)),
            ));
        }
        let quota = c.quota().unwrap_or(0);
        let period = c.period().unwrap_or(0);
        if period != 0 {
            p.push(("CPUQuotaPeriodUSec".into(), Value::U64(period)));
        }
        if quota != 0 || period != 0 {
            p.push((
                "CPUQuotaPerSecUSec".into(),
                Value::U64(quota_per_sec(quota, period)),
            ));
        }
        if let Some(cpus) = c.cpus().as_deref().filter(|s| !s.is_empty()) {
            p.push((
                "AllowedCPUs".into(),
                Value::from(range_to_bits("cpu.cpus", cpus)?),
            ));
        }
        if let Some(mems) = c.mems().as_deref().filter(|s| !s.is_empty()) {
            p.push((
                "AllowedMemoryNodes".into(),
                Value::from(range_to_bits("cpu.mems", mems)?),
            ));
        }
    }
    if let Some(pids) = r.pids() {
        match pids.limit() {
            l if l > 0 => p.push(("TasksMax".into(), Value::U64(l as u64))),
            l if l < 0 => p.push(("TasksMax".into(), Value::U64(INFINITY))),
            _ => {}
        }
    }
    Ok(p)
}

/// A byte limit: negative means none.
fn limit_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(INFINITY)
}

/// OCI memory+swap → swap alone (runc's ConvertMemorySwapToCgroupV2Value):
/// `None` when unset.
fn swap_v2(swap: i64, limit: i64) -> Result<Option<u64>> {
    match swap {
        0 => Ok(None),
        s if s < 0 => Ok(Some(INFINITY)),
        _ if limit <= 0 => Err(Error::option(
            "memory.swap",
            swap.to_string(),
            "needs a memory limit",
        )),
        s if s < limit => Err(Error::option(
            "memory.swap",
            swap.to_string(),
            format!("is memory+swap and must not be below memory.limit ({limit})"),
        )),
        s => Ok(Some((s - limit) as u64)),
    }
}

/// CPU time per second of wall time, in µs, from quota/period (µs):
/// "infinity" for no quota; systemd keeps it in 10 ms steps, rounded up.
fn quota_per_sec(quota: i64, period: u64) -> u64 {
    if quota <= 0 {
        return INFINITY;
    }
    let period = if period == 0 { DEFAULT_PERIOD } else { period };
    let v = (quota as u64).saturating_mul(1_000_000) / period;
    if v % 10_000 == 0 {
        v
    } else {
        (v / 10_000 + 1) * 10_000
    }
}

/// "0-3,8" → a little-endian bitmask (byte 0 bit 0 is CPU 0), as systemd's
/// `AllowedCPUs` takes it.
fn range_to_bits(field: &'static str, list: &str) -> Result<Vec<u8>> {
    let bad = || {
        Error::option(
            field,
            list.to_string(),
            "is not a list of numbers and ranges like \"0-3,8\"",
        )
    };
    let mut bytes: Vec<u8> = Vec::new();
    for part in list.trim().split(',') {
        let part = part.trim();
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.trim(), b.trim()),
            None => (part, part),
        };
        let a: usize = a.parse().map_err(|_| bad())?;
        let b: usize = b.parse().map_err(|_| bad())?;
        if a > b || b >= 1 << 16 {
            return Err(bad());
        }
        for i in a..=b {
            if bytes.len() <= i / 8 {
                bytes.resize(i / 8 + 1, 0);
            }
            bytes[i / 8] |= 1 << (i % 8);
        }
    }
    if bytes.is_empty() {
        bytes.push(0);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{
        LinuxCpuBuilder, LinuxMemoryBuilder, LinuxPidsBuilder, LinuxResourcesBuilder,
    };

    fn find<'a>(p: &'a [Prop], k: &str) -> Option<&'a Value<'static>> {
        p.iter().find(|(n, _)| *n == k).map(|(_, v)| v)
    }

    #[test]
    fn runc_values() {
        let r = LinuxResourcesBuilder::default()
            .memory(
                LinuxMemoryBuilder::default()
                    .limit(64 << 20)
                    .swap(96 << 20)
                    .reservation(32 << 20)
                    .build()
                    .unwrap(),
            )
            .cpu(
                LinuxCpuBuilder::default()
                    .shares(1024u64)
                    .quota(50_000)
                    .period(100_000u64)
                    .cpus("0-1,3")
                    .build()
                    .unwrap(),
            )
            .pids(LinuxPidsBuilder::default().limit(42).build().unwrap())
            .build()
            .unwrap();
        let p = resources(&r).unwrap();
        assert_eq!(find(&p, "MemoryMax"), Some(&Value::U64(64 << 20)));
        assert_eq!(find(&p, "MemoryLow"), Some(&Value::U64(32 << 20)));
        assert_eq!(find(&p, "MemorySwapMax"), Some(&Value::U64(32 << 20)));
        assert_eq!(find(&p, "CPUWeight"), Some(&Value::U64(39)));
        assert_eq!(find(&p, "CPUQuotaPerSecUSec"), Some(&Value::U64(500_000)));
        assert_eq!(find(&p, "CPUQuotaPeriodUSec"), Some(&Value::U64(100_000)));
        assert_eq!(find(&p, "TasksMax"), Some(&Value::U64(42)));
        assert_eq!(find(&p, "AllowedCPUs"), Some(&Value::from(vec![0b1011u8])));
    }

    #[test]
    fn conversions() {
        assert_eq!(quota_per_sec(-1, 0), INFINITY);
        assert_eq!(quota_per_sec(12_345, 0), 130_000);
        assert_eq!(quota_per_sec(20_000, 50_000), 400_000);
        assert_eq!(range_to_bits("c", "9").unwrap(), vec![0, 2]);
        assert!(range_to_bits("c", "3-1").is_err());
        assert!(range_to_bits("c", "x").is_err());
        assert_eq!(swap_v2(-1, 5).unwrap(), Some(INFINITY));
        assert_eq!(swap_v2(0, 5).unwrap(), None);
        assert!(swap_v2(4, 5).is_err());
        assert!(swap_v2(4, 0).is_err());
    }
}
