//! The seed's limit strings ("1G", "512M", "max", "75", "256") and its
//! defaults when an argument is NULL (memory 1G, CPU 50 % or weight 100,
//! 256 processes), checked when set so a bad one is reported at once.
//! The values go to the core's builder unchanged in meaning; the core
//! writes them to cgroups or the job object.

use crate::error::CError;

/// Parsed limits of one options object.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Limits {
    /// A size string for the core ("1G"), None for "max".
    pub memory: Option<String>,
    pub cpu: Cpu,
    /// None for "max".
    pub pids: Option<i64>,
}

/// How CPU is limited.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) enum Cpu {
    #[default]
    Unlimited,
    /// cgroup v2 `cpu.weight` (1..=10000; Linux's set_cgroup_limits).
    #[cfg_attr(windows, allow(dead_code))]
    Weight(u64),
    /// Percent of the whole machine (1..=100).
    Percent(f64),
}

pub(crate) const DEFAULT_MEMORY: &str = "1G";
#[cfg(target_os = "linux")]
pub(crate) const DEFAULT_CPU_WEIGHT: &str = "100";
pub(crate) const DEFAULT_CPU_PERCENT: &str = "50";
pub(crate) const DEFAULT_PROCESSES: &str = "256";

fn is_max(v: &str) -> bool {
    v.trim().eq_ignore_ascii_case("max")
}

/// Memory: a size ("1G", "512M", bytes) or "max".
pub(crate) fn memory(v: &str) -> Result<Option<String>, CError> {
    if is_max(v) {
        return Ok(None);
    }
    cv_core::limits::parse_size("memory limit", v).map_err(CError::from)?;
    Ok(Some(v.trim().to_string()))
}

/// Processes: a positive count or "max".
pub(crate) fn processes(v: &str) -> Result<Option<i64>, CError> {
    if is_max(v) {
        return Ok(None);
    }
    match v.trim().parse::<i64>() {
        Ok(n) if n > 0 => Ok(Some(n)),
        _ => Err(CError::inval(format!(
            "invalid process limit {v:?}: not a positive count or \"max\""
        ))),
    }
}

/// CPU weight 1..=10000.
#[cfg(target_os = "linux")]
pub(crate) fn cpu_weight(v: &str) -> Result<Cpu, CError> {
    match v.trim().parse::<u64>() {
        Ok(n) if (1..=10_000).contains(&n) => Ok(Cpu::Weight(n)),
        _ => Err(CError::inval(format!(
            "invalid cpu weight {v:?}: not a number from 1 to 10000"
        ))),
    }
}

/// CPU percent 1..=100 ("75" or "75%"), or "max".
pub(crate) fn cpu_percent(v: &str) -> Result<Cpu, CError> {
    if is_max(v) {
        return Ok(Cpu::Unlimited);
    }
    let t = v.trim();
    let t = t.strip_suffix('%').unwrap_or(t).trim();
    match t.parse::<f64>() {
        Ok(p) if p > 0.0 && p <= 100.0 => Ok(Cpu::Percent(p)),
        _ => Err(CError::inval(format!(
            "invalid cpu percent {v:?}: not a number in (0, 100] or \"max\""
        ))),
    }
}

/// cgroup v2 weight → cgroup v1 shares, the inverse of the kernel-side
/// conversion runc and the core use (shares 2..262144 ↔ weight 1..10000),
/// so cgroup v2 gets back exactly `weight`.
#[cfg(target_os = "linux")]
pub(crate) fn weight_to_shares(weight: u64) -> u64 {
    2 + ((weight - 1) * 262_142).div_ceil(9_999)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_and_errors() {
        assert_eq!(memory("1G").unwrap().as_deref(), Some("1G"));
        assert_eq!(memory("max").unwrap(), None);
        assert!(memory("12Q").unwrap_err().message.contains("12Q"));
        assert_eq!(processes("256").unwrap(), Some(256));
        assert_eq!(processes("max").unwrap(), None);
        assert!(processes("0").is_err() && processes("x").is_err());
        #[cfg(target_os = "linux")]
        assert_eq!(cpu_weight("100").unwrap(), Cpu::Weight(100));
        #[cfg(target_os = "linux")]
        assert!(cpu_weight("0").is_err() && cpu_weight("10001").is_err());
        assert_eq!(cpu_percent("75").unwrap(), Cpu::Percent(75.0));
        assert_eq!(cpu_percent("50%").unwrap(), Cpu::Percent(50.0));
        assert!(cpu_percent("101").is_err() && cpu_percent("-1").is_err());
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn shares_round_trip_to_the_weight() {
        for w in [1u64, 39, 100, 5000, 10_000] {
            let s = weight_to_shares(w);
            assert!((2..=262_144).contains(&s));
            // The kernel-side formula (runc, the core): weight from shares.
            assert_eq!(1 + ((s - 2) * 9999) / 262_142, w, "weight {w} shares {s}");
        }
    }
}
