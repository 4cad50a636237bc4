//! Checks on OCI `linux.resources` that need no cgroup: run by `create`
//! before any directory is made and by `apply` before any file is written,
//! so a bad value fails cleanly, naming the field and the value.

use oci_spec::runtime::LinuxResources;

use crate::error::{Error, Result};

fn bad(field: &'static str, value: impl ToString, reason: &str) -> Result<()> {
    Err(Error::option(field, value.to_string(), reason))
}

/// Validates every field this library writes.
pub(crate) fn validate(r: &LinuxResources) -> Result<()> {
    if let Some(m) = r.memory() {
        for (field, v) in [
            ("memory.limit", m.limit()),
            ("memory.reservation", m.reservation()),
            ("memory.swap", m.swap()),
        ] {
            if let Some(v) = v {
                if v == 0 || v < -1 {
                    bad(field, v, "must be a positive byte count or -1 (unlimited)")?;
                }
            }
        }
        if let (Some(l), Some(s)) = (m.limit(), m.swap()) {
            if l > 0 && s > 0 && s < l {
                bad(
                    "memory.swap",
                    s,
                    "memory+swap must be at least the memory limit",
                )?;
            }
        }
        if let Some(s) = m.swappiness() {
            if s > 100 {
                bad("memory.swappiness", s, "must be 0..100")?;
            }
        }
    }
    if let Some(c) = r.cpu() {
        if let Some(s) = c.shares() {
            if s != 0 && !(2..=262_144).contains(&s) {
                bad("cpu.shares", s, "must be 2..262144")?;
            }
        }
        if let Some(q) = c.quota() {
            if q == 0 || q < -1 {
                bad("cpu.quota", q, "must be a positive number of µs or -1")?;
            }
            if q > 0 && q < 1000 {
                bad("cpu.quota", q, "must be at least 1000 µs")?;
            }
        }
        if let Some(p) = c.period() {
            if !(1000..=1_000_000).contains(&p) {
                bad("cpu.period", p, "must be 1000..1000000 µs")?;
            }
        }
        if let Some(cpus) = c.cpus() {
            check_list("cpu.cpus", cpus)?;
        }
        if let Some(mems) = c.mems() {
            check_list("cpu.mems", mems)?;
        }
    }
    if let Some(p) = r.pids() {
        if p.limit() < -1 {
            bad(
                "pids.limit",
                p.limit(),
                "must be positive, or -1/0 for unlimited",
            )?;
        }
    }
    if let Some(b) = r.block_io() {
        if let Some(w) = b.weight() {
            if !(10..=1000).contains(&w) {
                bad("blockIO.weight", w, "must be 10..1000")?;
            }
        }
        for d in b.weight_device().iter().flatten() {
            if let Some(w) = d.weight() {
                if !(10..=1000).contains(&w) {
                    bad("blockIO.weightDevice", w, "must be 10..1000")?;
                }
            }
        }
        for list in [
            b.throttle_read_bps_device(),
            b.throttle_write_bps_device(),
            b.throttle_read_iops_device(),
            b.throttle_write_iops_device(),
        ] {
            for d in list.iter().flatten() {
                if d.major() < 0 || d.minor() < 0 {
                    bad(
                        "blockIO throttle device",
                        format!("{}:{}", d.major(), d.minor()),
                        "bad device number",
                    )?;
                }
            }
        }
    }
    for h in r.hugepage_limits().iter().flatten() {
        hugepage_dir(h.page_size())?;
        if h.limit() < 0 {
            bad("hugepageLimits.limit", h.limit(), "must not be negative")?;
        }
    }
    for k in r.unified().iter().flat_map(|u| u.keys()) {
        if k.contains('/') || k.starts_with('.') || !k.contains('.') {
            bad("unified", k, "not a cgroup control file name")?;
        }
    }
    Ok(())
}

/// Checks a cpuset list like "0-3,5".
pub(crate) fn check_list(field: &'static str, s: &str) -> Result<()> {
    if crate::limits::is_cpu_list(s) {
        Ok(())
    } else {
        bad(field, s, "not a CPU/node list like \"0-3,5\"")
    }
}

/// The kernel's directory for a hugepage size "2MB"/"1GB"; an error
/// naming the size when the host has no such page size.
pub(crate) fn hugepage_dir(page_size: &str) -> Result<std::path::PathBuf> {
    let kb = page_size_kb(page_size).ok_or_else(|| {
        Error::option(
            "hugepageLimits.pageSize",
            page_size,
            "not a page size like \"2MB\" or \"1GB\"",
        )
    })?;
    let dir = std::path::PathBuf::from(format!("/sys/kernel/mm/hugepages/hugepages-{kb}kB"));
    if !dir.exists() {
        return Err(Error::option(
            "hugepageLimits.pageSize",
            page_size,
            "this host has no such huge page size (see /sys/kernel/mm/hugepages)",
        ));
    }
    Ok(dir)
}

fn page_size_kb(s: &str) -> Option<u64> {
    let num_end = s.find(|c: char| !c.is_ascii_digit())?;
    let n: u64 = s[..num_end].parse().ok()?;
    let mult = match &s[num_end..] {
        "KB" => 1,
        "MB" => 1 << 10,
        "GB" => 1 << 20,
        _ => return None,
    };
    Some(n * mult)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{LinuxCpuBuilder, LinuxPidsBuilder, LinuxResourcesBuilder};

    #[test]
    fn lists() {
        check_list("cpu.cpus", "0-1,3").unwrap();
        for b in ["", "a", "3-1", "0-", "1,,2"] {
            assert!(check_list("cpu.cpus", b).is_err(), "{b}");
        }
    }

    #[test]
    fn rejects_bad_values() {
        let r = LinuxResourcesBuilder::default()
            .pids(LinuxPidsBuilder::default().limit(-5).build().unwrap())
            .build()
            .unwrap();
        let e = validate(&r).unwrap_err().to_string();
        assert!(e.contains("pids.limit") && e.contains("-5"), "{e}");
        let r = LinuxResourcesBuilder::default()
            .cpu(LinuxCpuBuilder::default().quota(0).build().unwrap())
            .build()
            .unwrap();
        assert!(validate(&r).unwrap_err().to_string().contains("cpu.quota"));
        assert!(hugepage_dir("3XB").is_err());
    }
}
