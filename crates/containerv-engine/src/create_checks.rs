//! Checks docker makes at `create` that the spec builder cannot: values
//! that are well-formed but would only fail when the container starts
//! (leaving an exited container behind), refused here so nothing is made.
//!
//! - `--memory` below docker's minimum (6 MB): "Minimum memory limit
//!   allowed is 6MB" (also for `update`);
//! - `--cpuset-cpus` naming a CPU this host does not have (docker:
//!   "Requested CPUs are not available");
//! - a NUL byte in an environment value or the command (no `execve` can
//!   carry it; it only arrives through `--env-file` or the API).

use crate::error::{Error, Result};
use crate::record::Resources;

/// docker's `linuxMinMemory`.
pub const MIN_MEMORY: u64 = 6 * 1024 * 1024;

/// `--memory` / `--cpuset-cpus` of `r`, as `create` and `update` take them.
pub fn check_resources(r: &Resources) -> Result<()> {
    if let Some(m) = &r.memory {
        // "75%" and malformed sizes are the limit parser's business.
        if let Ok(n) = containerv::limits::parse_size("--memory", m) {
            if n < MIN_MEMORY {
                return Err(Error::option(
                    "--memory",
                    m.as_str(),
                    "Minimum memory limit allowed is 6MB",
                ));
            }
        }
    }
    if let Some(c) = &r.cpuset_cpus {
        check_cpuset(c, &present_cpus())?;
    }
    Ok(())
}

/// A NUL byte in the environment or command.
pub fn check_no_nul(env: &[String], command: &[String]) -> Result<()> {
    if let Some(e) = env.iter().find(|e| e.contains('\0')) {
        let key = e.split('=').next().unwrap_or_default().replace('\0', "\\0");
        return Err(Error::option(
            "-e",
            key,
            "the value contains a NUL byte (an environment variable cannot hold one)",
        ));
    }
    if let Some(a) = command.iter().find(|a| a.contains('\0')) {
        return Err(Error::option(
            "COMMAND",
            a.replace('\0', "\\0"),
            "contains a NUL byte",
        ));
    }
    Ok(())
}

/// The CPUs of this host (`/sys/devices/system/cpu/present`, "0-1,4").
fn present_cpus() -> Vec<(u32, u32)> {
    std::fs::read_to_string("/sys/devices/system/cpu/present")
        .ok()
        .and_then(|s| ranges(s.trim()))
        .unwrap_or_default()
}

fn ranges(list: &str) -> Option<Vec<(u32, u32)>> {
    list.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let p = p.trim();
            match p.split_once('-') {
                Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
                None => p.parse().ok().map(|n| (n, n)),
            }
        })
        .collect()
}

fn check_cpuset(value: &str, present: &[(u32, u32)]) -> Result<()> {
    // Malformed lists are the limit parser's business; present unknown:
    // nothing to compare with.
    let (Some(want), false) = (ranges(value), present.is_empty()) else {
        return Ok(());
    };
    let has = |n: u32| present.iter().any(|(a, b)| (*a..=*b).contains(&n));
    for (a, b) in want {
        if let Some(missing) = (a..=b.min(a.saturating_add(4096))).find(|n| !has(*n)) {
            let avail: Vec<String> = present
                .iter()
                .map(|(a, b)| {
                    if a == b {
                        a.to_string()
                    } else {
                        format!("{a}-{b}")
                    }
                })
                .collect();
            return Err(Error::option(
                "--cpuset-cpus",
                value,
                format!(
                    "Requested CPUs are not available - requested {value}, available: {} (CPU {missing} is not present)",
                    avail.join(",")
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_below_six_megabytes_is_refused() {
        for bad in ["1", "4m", "6291455"] {
            let r = Resources {
                memory: Some(bad.into()),
                ..Default::default()
            };
            let e = check_resources(&r).unwrap_err().to_string();
            assert!(e.contains("Minimum memory limit allowed is 6MB"), "{e}");
        }
        for ok in ["6m", "1g", "75%"] {
            let r = Resources {
                memory: Some(ok.into()),
                ..Default::default()
            };
            check_resources(&r).unwrap();
        }
    }

    #[test]
    fn cpus_that_are_not_present_are_refused() {
        let present = [(0, 1)];
        check_cpuset("0-1", &present).unwrap();
        check_cpuset("1", &present).unwrap();
        let e = check_cpuset("99", &present).unwrap_err().to_string();
        assert!(
            e.contains("Requested CPUs are not available") && e.contains("0-1"),
            "{e}"
        );
        assert!(check_cpuset("0,2", &present).is_err());
        // Gaps in what is present.
        let present = [(0, 1), (4, 5)];
        check_cpuset("4-5,0", &present).unwrap();
        assert!(check_cpuset("2", &present).is_err());
    }

    #[test]
    fn nul_bytes_are_refused() {
        let e = check_no_nul(&["A=b\0c".into()], &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("NUL") && e.contains("-e"), "{e}");
        assert!(check_no_nul(&[], &["sh".into(), "a\0b".into()]).is_err());
        check_no_nul(&["A=b".into()], &["true".into()]).unwrap();
    }
}
