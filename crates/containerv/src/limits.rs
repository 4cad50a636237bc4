//! Resource limits as people write them ("1G", "512M", "75%", "0.5", "128")
//! and their translation into OCI `linux.resources` / `windows.resources`.
//!
//! Parsing happens in the builder, before anything is created, and every
//! error names the option and the value.

use crate::error::{Error, Result};

/// Limits as given to [`crate::ContainerOptions`]; strings are parsed by
/// [`ResourceLimits::validate`] and when the spec is built.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResourceLimits {
    /// Memory limit: a size ("512M", "1G", bytes) or a percent of host RAM ("75%").
    pub memory: Option<String>,
    /// Soft limit / reservation, same forms as `memory`.
    pub memory_reservation: Option<String>,
    /// Memory + swap limit (docker's `--memory-swap`): a size, or "-1" for unlimited.
    pub memory_swap: Option<String>,
    /// CPUs: a count ("0.5", "2") or a percent of all host CPUs ("75%").
    pub cpus: Option<String>,
    /// Relative CPU weight as cgroup v1 shares (2..262144; v2 converts).
    pub cpu_shares: Option<u64>,
    /// CPUs the container may run on ("0-1", "0,2").
    pub cpuset_cpus: Option<String>,
    /// Memory nodes ("0").
    pub cpuset_mems: Option<String>,
    /// Most tasks (processes and threads) at once.
    pub pids: Option<i64>,
    /// Block I/O weight (10..1000), where the kernel has it.
    pub blkio_weight: Option<u16>,
    /// Per-device throttles: (device "MAJOR:MINOR" or a /dev path, rate).
    pub device_read_bps: Vec<(String, String)>,
    pub device_write_bps: Vec<(String, String)>,
    pub device_read_iops: Vec<(String, u64)>,
    pub device_write_iops: Vec<(String, u64)>,
    /// Hugetlb limits: (page size "2MB", limit size).
    pub hugetlb: Vec<(String, String)>,
}

/// Parses a size: plain bytes, or a number with a binary suffix
/// b/k/m/g/t (case-insensitive, optional trailing "b"/"ib": "1G", "512MiB",
/// "1.5g"). `option` names the option in the error.
pub fn parse_size(option: &'static str, value: &str) -> Result<u64> {
    let v = value.trim();
    let lower = v.to_ascii_lowercase();
    let num_end = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(lower.len());
    let (num, unit) = lower.split_at(num_end);
    let unit = unit.trim();
    let mult: u64 = match unit {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => {
            return Err(Error::option(
                option,
                value,
                "not a size (use bytes or a number with K, M, G or T)",
            ))
        }
    };
    if num.is_empty() {
        return Err(Error::option(option, value, "not a size (no number)"));
    }
    let n: f64 = num
        .parse()
        .map_err(|_| Error::option(option, value, "not a size (bad number)"))?;
    let bytes = n * mult as f64;
    if !bytes.is_finite() || bytes < 1.0 || bytes > u64::MAX as f64 / 2.0 {
        return Err(Error::option(option, value, "out of range"));
    }
    Ok(bytes as u64)
}

/// Parses a percent "75%" into a fraction in (0, 1]; `None` if `value` has
/// no '%'.
pub fn parse_percent(option: &'static str, value: &str) -> Result<Option<f64>> {
    let Some(num) = value.trim().strip_suffix('%') else {
        return Ok(None);
    };
    let p: f64 = num
        .trim()
        .parse()
        .map_err(|_| Error::option(option, value, "not a percent"))?;
    if !(p > 0.0 && p <= 100.0) {
        return Err(Error::option(
            option,
            value,
            "a percent must be in (0, 100]",
        ));
    }
    Ok(Some(p / 100.0))
}

/// Translates parsed limits into OCI `linux.resources`. Every string is
/// parsed here; an invalid one is an [`Error::InvalidOption`] naming it.
pub fn to_linux_resources(limits: &ResourceLimits) -> Result<oci_spec::runtime::LinuxResources> {
    // Filled in by the limits work (cgroups issue); for now only validates
    // what the builder already accepts.
    if let Some(m) = &limits.memory {
        if parse_percent("memory", m)?.is_none() {
            parse_size("memory", m)?;
        }
    }
    Ok(Default::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("memory", "1G").unwrap(), 1 << 30);
        assert_eq!(parse_size("memory", "512M").unwrap(), 512 << 20);
        assert_eq!(parse_size("memory", "512MiB").unwrap(), 512 << 20);
        assert_eq!(parse_size("memory", "1.5k").unwrap(), 1536);
        assert_eq!(parse_size("memory", "4096").unwrap(), 4096);
        for bad in ["abc", "", "1X", "-1G", "0", "G"] {
            let e = parse_size("memory", bad).unwrap_err().to_string();
            assert!(e.contains("memory"), "{e}");
        }
    }

    #[test]
    fn percents() {
        assert_eq!(parse_percent("cpus", "75%").unwrap(), Some(0.75));
        assert_eq!(parse_percent("cpus", "0.5").unwrap(), None);
        assert!(parse_percent("cpus", "150%").is_err());
        assert!(parse_percent("cpus", "0%").is_err());
    }
}
