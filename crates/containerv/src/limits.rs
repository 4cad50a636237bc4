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

/// Host RAM in bytes (for "75%" memory limits); `None` where this module
/// cannot tell (non-Linux: the Windows backend sizes its own limits).
pub fn host_memory_bytes() -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        let text = std::fs::read_to_string("/proc/meminfo").ok()?;
        let kb: u64 = text
            .lines()
            .find(|l| l.starts_with("MemTotal:"))?
            .split_ascii_whitespace()
            .nth(1)?
            .parse()
            .ok()?;
        Some(kb * 1024)
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// CPUs this process may use (for "75%" and the upper bound of `cpus`).
pub fn host_cpus() -> u64 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u64)
}

/// The CFS period used for a `cpus` limit, in µs (docker's default).
pub const CPU_PERIOD_US: u64 = 100_000;

/// A memory-like size: bytes with a suffix, or a percent of host RAM.
/// `Ok(None)` for a percent where host RAM is unknown.
pub fn parse_memory(option: &'static str, value: &str) -> Result<Option<u64>> {
    match parse_percent(option, value)? {
        Some(f) => Ok(host_memory_bytes().map(|ram| (ram as f64 * f) as u64)),
        None => parse_size(option, value).map(Some),
    }
}

/// A CPU count ("0.5", "2") or a percent of all host CPUs ("75%") → the
/// CFS quota in µs for [`CPU_PERIOD_US`].
pub fn parse_cpus(value: &str) -> Result<u64> {
    let ncpu = host_cpus();
    let cpus = match parse_percent("cpus", value)? {
        Some(f) => f * ncpu as f64,
        None => value.trim().parse::<f64>().map_err(|_| {
            Error::option(
                "cpus",
                value,
                "not a number of CPUs (e.g. 0.5) or a percent (e.g. 75%)",
            )
        })?,
    };
    if !cpus.is_finite() || cpus <= 0.0 {
        return Err(Error::option("cpus", value, "must be more than 0"));
    }
    if cpus > ncpu as f64 {
        return Err(Error::option(
            "cpus",
            value,
            format!("more than the {ncpu} CPUs this host has"),
        ));
    }
    let quota = (cpus * CPU_PERIOD_US as f64).round() as u64;
    if quota < 1000 {
        return Err(Error::option("cpus", value, "too small (at least 0.01)"));
    }
    Ok(quota)
}

/// A block device given as "MAJOR:MINOR" or a device path ("/dev/sda").
pub fn parse_device(option: &'static str, value: &str) -> Result<(i64, i64)> {
    if let Some((a, b)) = value.split_once(':') {
        if let (Ok(a), Ok(b)) = (a.trim().parse::<i64>(), b.trim().parse::<i64>()) {
            if a >= 0 && b >= 0 {
                return Ok((a, b));
            }
        }
        return Err(Error::option(
            option,
            value,
            "not a MAJOR:MINOR device number",
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        let md = std::fs::metadata(value)
            .map_err(|e| Error::option(option, value, format!("not a device: {e}")))?;
        if !md.file_type().is_block_device() {
            return Err(Error::option(option, value, "not a block device"));
        }
        let rdev = md.rdev();
        // glibc's major()/minor() encoding.
        let major = ((rdev >> 32) & 0xffff_f000) | ((rdev >> 8) & 0xfff);
        let minor = ((rdev >> 12) & 0xffff_ff00) | (rdev & 0xff);
        Ok((major as i64, minor as i64))
    }
    #[cfg(not(unix))]
    Err(Error::option(option, value, "give MAJOR:MINOR"))
}

/// A huge page size as OCI writes it: "2MB", "1GB", "64KB" (also accepts
/// "2M", "2mb", "2MiB").
pub fn parse_page_size(value: &str) -> Result<String> {
    let v = value.trim().to_ascii_uppercase();
    let num_end = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (num, unit) = v.split_at(num_end);
    let unit = match unit {
        "K" | "KB" | "KIB" => "KB",
        "M" | "MB" | "MIB" => "MB",
        "G" | "GB" | "GIB" => "GB",
        _ => "",
    };
    match num.parse::<u64>() {
        Ok(n) if n > 0 && !unit.is_empty() => Ok(format!("{n}{unit}")),
        _ => Err(Error::option(
            "hugetlb page size",
            value,
            "not a page size like 2MB or 1GB",
        )),
    }
}

/// Translates parsed limits into OCI `linux.resources`. Every string is
/// parsed here; an invalid one is an [`Error::InvalidOption`] naming it.
pub fn to_linux_resources(limits: &ResourceLimits) -> Result<oci_spec::runtime::LinuxResources> {
    use oci_spec::runtime::{
        LinuxBlockIo, LinuxCpu, LinuxHugepageLimitBuilder, LinuxMemory, LinuxPidsBuilder,
        LinuxResources, LinuxThrottleDevice, LinuxThrottleDeviceBuilder,
    };
    let spec_err = |e: oci_spec::OciSpecError| Error::InvalidSpec(e.to_string());
    let mut r = LinuxResources::default();

    let mut mem = LinuxMemory::default();
    let mut mem_set = false;
    let limit = match &limits.memory {
        Some(m) => parse_memory("memory", m)?,
        None => None,
    };
    if let Some(l) = limit {
        mem.set_limit(Some(l as i64));
        mem_set = true;
    }
    if let Some(m) = &limits.memory_reservation {
        if let Some(v) = parse_memory("memory reservation", m)? {
            if limit.is_some_and(|l| v > l) {
                return Err(Error::option(
                    "memory reservation",
                    m,
                    "above the memory limit",
                ));
            }
            mem.set_reservation(Some(v as i64));
            mem_set = true;
        }
    }
    if let Some(s) = &limits.memory_swap {
        let v = if s.trim() == "-1" {
            -1
        } else {
            let v = parse_memory("memory swap", s)?.unwrap_or(0) as i64;
            match limit {
                None => {
                    return Err(Error::option(
                        "memory swap",
                        s,
                        "memory+swap needs a memory limit too",
                    ))
                }
                Some(l) if (v as u64) < l => {
                    return Err(Error::option(
                        "memory swap",
                        s,
                        "memory+swap must be at least the memory limit",
                    ))
                }
                _ => v,
            }
        };
        mem.set_swap(Some(v));
        mem_set = true;
    }
    if mem_set {
        r.set_memory(Some(mem));
    }

    let mut cpu = LinuxCpu::default();
    let mut cpu_set = false;
    if let Some(c) = &limits.cpus {
        cpu.set_quota(Some(parse_cpus(c)? as i64));
        cpu.set_period(Some(CPU_PERIOD_US));
        cpu_set = true;
    }
    if let Some(s) = limits.cpu_shares {
        if !(2..=262_144).contains(&s) {
            return Err(Error::option(
                "cpu shares",
                s.to_string(),
                "must be 2..262144",
            ));
        }
        cpu.set_shares(Some(s));
        cpu_set = true;
    }
    for (option, v, setter) in [
        ("cpuset cpus", &limits.cpuset_cpus, 0),
        ("cpuset mems", &limits.cpuset_mems, 1),
    ] {
        if let Some(v) = v {
            check_cpu_list(option, v)?;
            if setter == 0 {
                cpu.set_cpus(Some(v.trim().to_string()));
            } else {
                cpu.set_mems(Some(v.trim().to_string()));
            }
            cpu_set = true;
        }
    }
    if cpu_set {
        r.set_cpu(Some(cpu));
    }

    if let Some(p) = limits.pids {
        if p == 0 || p < -1 {
            return Err(Error::option(
                "pids",
                p.to_string(),
                "must be at least 1 (or -1 for unlimited)",
            ));
        }
        r.set_pids(Some(
            LinuxPidsBuilder::default()
                .limit(p)
                .build()
                .map_err(spec_err)?,
        ));
    }

    let mut bio = LinuxBlockIo::default();
    let mut bio_set = false;
    if let Some(w) = limits.blkio_weight {
        if !(10..=1000).contains(&w) {
            return Err(Error::option(
                "blkio weight",
                w.to_string(),
                "must be 10..1000",
            ));
        }
        bio.set_weight(Some(w));
        bio_set = true;
    }
    let throttle = |option: &'static str, dev: &str, rate: u64| -> Result<LinuxThrottleDevice> {
        let (major, minor) = parse_device(option, dev)?;
        LinuxThrottleDeviceBuilder::default()
            .major(major)
            .minor(minor)
            .rate(rate)
            .build()
            .map_err(spec_err)
    };
    let mut bps = |option: &'static str,
                   list: &[(String, String)]|
     -> Result<Option<Vec<LinuxThrottleDevice>>> {
        if list.is_empty() {
            return Ok(None);
        }
        bio_set = true;
        list.iter()
            .map(|(d, rate)| throttle(option, d, parse_size(option, rate)?))
            .collect::<Result<Vec<_>>>()
            .map(Some)
    };
    let rbps = bps("device read bps", &limits.device_read_bps)?;
    let wbps = bps("device write bps", &limits.device_write_bps)?;
    bio.set_throttle_read_bps_device(rbps);
    bio.set_throttle_write_bps_device(wbps);
    let mut iops = |option: &'static str,
                    list: &[(String, u64)]|
     -> Result<Option<Vec<LinuxThrottleDevice>>> {
        if list.is_empty() {
            return Ok(None);
        }
        bio_set = true;
        list.iter()
            .map(|(d, n)| {
                if *n == 0 {
                    return Err(Error::option(
                        option,
                        format!("{d} {n}"),
                        "must be at least 1",
                    ));
                }
                throttle(option, d, *n)
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    };
    let riops = iops("device read iops", &limits.device_read_iops)?;
    let wiops = iops("device write iops", &limits.device_write_iops)?;
    bio.set_throttle_read_iops_device(riops);
    bio.set_throttle_write_iops_device(wiops);
    if bio_set {
        r.set_block_io(Some(bio));
    }

    if !limits.hugetlb.is_empty() {
        let mut v = Vec::new();
        for (page, limit) in &limits.hugetlb {
            v.push(
                LinuxHugepageLimitBuilder::default()
                    .page_size(parse_page_size(page)?)
                    .limit(parse_size("hugetlb limit", limit)? as i64)
                    .build()
                    .map_err(spec_err)?,
            );
        }
        r.set_hugepage_limits(Some(v));
    }
    Ok(r)
}

/// Checks a cpuset list like "0-3,5".
fn check_cpu_list(option: &'static str, s: &str) -> Result<()> {
    if is_cpu_list(s) {
        Ok(())
    } else {
        Err(Error::option(option, s, "not a list like \"0-3,5\""))
    }
}

/// True for a cpuset list like "0-3,5" (CPUs or memory nodes): ranges
/// and single numbers separated by commas, each range not descending,
/// blanks around numbers allowed.
pub(crate) fn is_cpu_list(s: &str) -> bool {
    !s.trim().is_empty()
        && s.trim().split(',').all(|part| {
            let mut it = part.splitn(2, '-');
            let a = it.next().and_then(|x| x.trim().parse::<u32>().ok());
            match (a, it.next()) {
                (Some(_), None) => true,
                (Some(a), Some(b)) => b.trim().parse::<u32>().is_ok_and(|b| b >= a),
                _ => false,
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        for ok in ["0", "0-3", "0-3,5", " 1 - 2 , 4 ", "7-7"] {
            assert!(is_cpu_list(ok), "{ok:?}");
        }
        for bad in [
            "", " ", "a", "3-1", "0-", "-1", "1,,2", "1,", "0-3-5", "1.5",
        ] {
            assert!(!is_cpu_list(bad), "{bad:?}");
        }
    }

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

    fn err(l: ResourceLimits) -> String {
        to_linux_resources(&l).unwrap_err().to_string()
    }

    #[test]
    fn translates_everything() {
        let l = ResourceLimits {
            memory: Some("256M".into()),
            memory_reservation: Some("128M".into()),
            memory_swap: Some("512M".into()),
            cpus: Some("0.5".into()),
            cpu_shares: Some(512),
            cpuset_cpus: Some("0".into()),
            cpuset_mems: Some("0".into()),
            pids: Some(64),
            blkio_weight: Some(300),
            device_read_bps: vec![("8:0".into(), "1M".into())],
            device_write_iops: vec![("8:0".into(), 100)],
            hugetlb: vec![("2m".into(), "4M".into())],
            ..Default::default()
        };
        let r = to_linux_resources(&l).unwrap();
        let m = r.memory().as_ref().unwrap();
        assert_eq!(m.limit(), Some(256 << 20));
        assert_eq!(m.reservation(), Some(128 << 20));
        assert_eq!(m.swap(), Some(512 << 20));
        let c = r.cpu().as_ref().unwrap();
        assert_eq!((c.quota(), c.period()), (Some(50_000), Some(100_000)));
        assert_eq!(c.shares(), Some(512));
        assert_eq!(c.cpus().as_deref(), Some("0"));
        assert_eq!(r.pids().unwrap().limit(), 64);
        let b = r.block_io().as_ref().unwrap();
        assert_eq!(b.weight(), Some(300));
        let d = &b.throttle_read_bps_device().as_ref().unwrap()[0];
        assert_eq!((d.major(), d.minor(), d.rate()), (8, 0, 1 << 20));
        assert_eq!(
            b.throttle_write_iops_device().as_ref().unwrap()[0].rate(),
            100
        );
        let h = &r.hugepage_limits().as_ref().unwrap()[0];
        assert_eq!((h.page_size().as_str(), h.limit()), ("2MB", 4 << 20));
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn percents_of_the_host() {
        let l = ResourceLimits {
            memory: Some("50%".into()),
            cpus: Some("50%".into()),
            ..Default::default()
        };
        let r = to_linux_resources(&l).unwrap();
        let ram = host_memory_bytes().unwrap();
        let lim = r.memory().as_ref().unwrap().limit().unwrap() as u64;
        assert!(lim.abs_diff(ram / 2) < 4096, "{lim} vs {ram}");
        let q = r.cpu().as_ref().unwrap().quota().unwrap() as u64;
        assert_eq!(q, host_cpus() * CPU_PERIOD_US / 2);
    }

    #[test]
    fn empty_limits_are_empty() {
        let r = to_linux_resources(&ResourceLimits::default()).unwrap();
        assert_eq!(r, Default::default());
    }

    #[test]
    fn bad_values_name_the_option() {
        let base = ResourceLimits::default;
        let cases: Vec<(ResourceLimits, &str)> = vec![
            (
                ResourceLimits {
                    memory: Some("abc".into()),
                    ..base()
                },
                "memory \"abc\"",
            ),
            (
                ResourceLimits {
                    memory: Some("150%".into()),
                    ..base()
                },
                "memory \"150%\"",
            ),
            (
                ResourceLimits {
                    cpus: Some("0".into()),
                    ..base()
                },
                "cpus \"0\"",
            ),
            (
                ResourceLimits {
                    cpus: Some("abc".into()),
                    ..base()
                },
                "cpus \"abc\"",
            ),
            (
                ResourceLimits {
                    cpus: Some("1000".into()),
                    ..base()
                },
                "CPUs this host has",
            ),
            (
                ResourceLimits {
                    pids: Some(-5),
                    ..base()
                },
                "pids \"-5\"",
            ),
            (
                ResourceLimits {
                    pids: Some(0),
                    ..base()
                },
                "pids \"0\"",
            ),
            (
                ResourceLimits {
                    cpu_shares: Some(1),
                    ..base()
                },
                "cpu shares",
            ),
            (
                ResourceLimits {
                    cpuset_cpus: Some("1-0".into()),
                    ..base()
                },
                "cpuset cpus",
            ),
            (
                ResourceLimits {
                    blkio_weight: Some(5),
                    ..base()
                },
                "blkio weight",
            ),
            (
                ResourceLimits {
                    memory: Some("1G".into()),
                    memory_swap: Some("512M".into()),
                    ..base()
                },
                "memory swap",
            ),
            (
                ResourceLimits {
                    memory_swap: Some("1G".into()),
                    ..base()
                },
                "needs a memory limit",
            ),
            (
                ResourceLimits {
                    device_read_bps: vec![("/nonexistent".into(), "1M".into())],
                    ..base()
                },
                "/nonexistent",
            ),
            (
                ResourceLimits {
                    device_read_bps: vec![("8:x".into(), "1M".into())],
                    ..base()
                },
                "8:x",
            ),
            (
                ResourceLimits {
                    hugetlb: vec![("3XB".into(), "1M".into())],
                    ..base()
                },
                "3XB",
            ),
        ];
        for (l, want) in cases {
            let e = err(l);
            assert!(e.contains(want), "{e:?} should mention {want:?}");
        }
    }

    #[test]
    #[cfg(unix)]
    fn devices_by_path() {
        use std::os::unix::fs::FileTypeExt;
        let dev = std::fs::read_dir("/dev")
            .unwrap()
            .flatten()
            .find(|e| e.file_type().is_ok_and(|t| t.is_block_device()))
            .expect("this host has a block device in /dev")
            .path();
        let (maj, min) = parse_device("device read bps", dev.to_str().unwrap()).unwrap();
        let want = std::fs::read_to_string(format!(
            "/sys/class/block/{}/dev",
            dev.file_name().unwrap().to_string_lossy()
        ))
        .unwrap();
        assert_eq!(format!("{maj}:{min}"), want.trim());
        assert!(parse_device("device read bps", "/dev/null").is_err());
    }
}
