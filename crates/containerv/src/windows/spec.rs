//! The builder's Windows branch: [`crate::ContainerOptions`] → OCI `Spec`
//! for a job-object container.
//!
//! Mapping (see [`super::limits`] for how the backend reads it back):
//! - `memory("1G")` (or "50%" of host RAM) → `windows.resources.memory.limit`
//! - `cpu_percent(50)` or `cpus("50%")` / `cpus("0.5")` (CPUs, as a share of
//!   all of them) → `windows.resources.cpu.maximum` = percent × 100
//! - `process_memory`, `active_processes` (or `pids`), `ui_restrictions`,
//!   `kill_on_close`, `working_dir` → `org.containerv.windows.*` annotations
//! - `command`, `cwd`, `env` → `process.args`, `process.cwd`, `process.env`
//!
//! Options that only make sense on Linux (rootfs, binds, overlay, user or
//! network namespaces, rlimits, cgroup paths, the cgroup-only limits) are
//! refused with an error naming them: a job object isolates resources, not
//! files or names, and silently ignoring e.g. a rootfs would mislead.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{
    Spec, WindowsBuilder, WindowsCPUResourcesBuilder, WindowsMemoryResourcesBuilder,
    WindowsResourcesBuilder,
};

use super::limits::{annotations, parse_ui_restrictions, JobLimits};
use crate::config::{CreateConfig, InitKind};
use crate::error::{Error, Result};
use crate::limits::{parse_percent, parse_size, ResourceLimits};

/// Windows-only builder settings (set through `ContainerOptions`'s
/// `process_memory`, `cpu_percent`, `active_processes`, `ui_restrictions`,
/// `kill_on_close` and `working_dir`).
#[derive(Debug, Clone, Default)]
pub struct WindowsOptions {
    pub(crate) process_memory: Option<String>,
    pub(crate) cpu_percent: Option<u32>,
    pub(crate) active_processes: Option<u32>,
    pub(crate) ui_restrictions: Vec<String>,
    pub(crate) kill_on_close: Option<bool>,
    pub(crate) working_dir: Option<PathBuf>,
}

/// What the builder hands to [`build`].
pub(crate) struct BuildInput<'a> {
    pub windows: &'a WindowsOptions,
    pub limits: &'a ResourceLimits,
    pub env: &'a [String],
    pub command: Option<&'a [String]>,
    pub cwd: Option<&'a Path>,
    pub annotations: &'a HashMap<String, String>,
    /// Linux-only options and whether the caller set them.
    pub linux_only: &'a [(&'static str, bool)],
}

/// Validates the options and produces the spec and create config.
pub(crate) fn build(id: &str, input: BuildInput<'_>) -> Result<(Spec, CreateConfig)> {
    crate::id::validate_id(id)?;
    if let Some((name, _)) = input.linux_only.iter().find(|(_, set)| *set) {
        return Err(Error::option(
            name,
            "",
            "is a Linux-only option: a Windows container is a job object, \
             with no root filesystem, mounts or namespaces",
        ));
    }
    let l = input.limits;
    for (name, set) in [
        ("memory reservation", l.memory_reservation.is_some()),
        ("memory swap", l.memory_swap.is_some()),
        ("cpu shares", l.cpu_shares.is_some()),
        ("cpuset cpus", l.cpuset_cpus.is_some()),
        ("cpuset mems", l.cpuset_mems.is_some()),
        ("blkio weight", l.blkio_weight.is_some()),
        ("device read bps", !l.device_read_bps.is_empty()),
        ("device write bps", !l.device_write_bps.is_empty()),
        ("device read iops", !l.device_read_iops.is_empty()),
        ("device write iops", !l.device_write_iops.is_empty()),
        ("hugetlb", !l.hugetlb.is_empty()),
    ] {
        if set {
            return Err(Error::option(
                name,
                "",
                "is not supported by the Windows (job object) backend",
            ));
        }
    }

    let w = input.windows;
    let mut resources = WindowsResourcesBuilder::default();
    if let Some(m) = &l.memory {
        let bytes = match parse_percent("memory", m)? {
            Some(frac) => (host_memory()? as f64 * frac) as u64,
            None => parse_size("memory", m)?,
        };
        resources = resources.memory(
            WindowsMemoryResourcesBuilder::default()
                .limit(bytes)
                .build()
                .map_err(spec_err)?,
        );
    }
    if let Some(max) = cpu_maximum(l.cpus.as_deref(), w.cpu_percent)? {
        resources = resources.cpu(
            WindowsCPUResourcesBuilder::default()
                .maximum(max)
                .build()
                .map_err(spec_err)?,
        );
    }

    let mut ann = input.annotations.clone();
    if let Some(v) = &w.process_memory {
        let bytes = parse_size("process memory", v)?;
        ann.insert(annotations::PROCESS_MEMORY.into(), bytes.to_string());
    }
    let active = match (l.pids, w.active_processes) {
        (Some(_), Some(_)) => {
            return Err(Error::option(
                "active processes",
                "",
                "give either pids or active_processes, not both",
            ))
        }
        (Some(p), None) => Some(u32::try_from(p).ok().filter(|n| *n > 0).ok_or_else(|| {
            Error::option("pids", p.to_string(), "must be 1..=4294967295 on Windows")
        })?),
        (None, Some(0)) => {
            return Err(Error::option("active processes", "0", "must be at least 1"))
        }
        (None, a) => a,
    };
    if let Some(n) = active {
        ann.insert(annotations::ACTIVE_PROCESSES.into(), n.to_string());
    }
    if !w.ui_restrictions.is_empty() {
        let joined = w.ui_restrictions.join(",");
        parse_ui_restrictions(&joined)?;
        ann.insert(annotations::UI_RESTRICTIONS.into(), joined);
    }
    if let Some(k) = w.kill_on_close {
        ann.insert(annotations::KILL_ON_CLOSE.into(), k.to_string());
    }
    if let Some(dir) = &w.working_dir {
        if dir.exists() && !dir.is_dir() {
            return Err(Error::option(
                "working dir",
                dir.display().to_string(),
                "is not a directory",
            ));
        }
        let text = dir.to_str().ok_or_else(|| {
            Error::option(
                "working dir",
                dir.display().to_string(),
                "is not valid Unicode",
            )
        })?;
        ann.insert(annotations::WORKING_DIR.into(), text.to_string());
    }

    let mut spec = Spec::default();
    spec.set_linux(None);
    spec.set_root(None);
    spec.set_mounts(None);
    spec.set_hostname(None);
    spec.set_windows(Some(
        WindowsBuilder::default()
            .resources(resources.build().map_err(spec_err)?)
            .build()
            .map_err(spec_err)?,
    ));
    if !ann.is_empty() {
        spec.set_annotations(Some(ann));
    }
    let process = spec
        .process_mut()
        .as_mut()
        .ok_or_else(|| Error::InvalidSpec("default spec has no process".into()))?;
    process.set_rlimits(None);
    process.set_capabilities(None);
    process.set_terminal(Some(false));
    process.set_env(Some(input.env.to_vec()));
    match input.command {
        Some([]) => return Err(Error::option("command", "", "an empty command")),
        Some(cmd) => process.set_args(Some(cmd.to_vec())),
        None => process.set_args(None),
    };
    if let Some(cwd) = input.cwd {
        process.set_cwd(cwd.to_path_buf());
    }
    // The backend reads the limits back the same way from any spec.
    JobLimits::from_spec(&spec)?;

    let config = CreateConfig {
        init: if input.command.is_some() {
            InitKind::SpecProcess
        } else {
            InitKind::BuiltinReaper
        },
        ..Default::default()
    };
    Ok((spec, config))
}

/// The CPU cap in cycles per 10,000, or `None` for no cap.
fn cpu_maximum(cpus: Option<&str>, percent: Option<u32>) -> Result<Option<u16>> {
    let frac = match (cpus, percent) {
        (Some(_), Some(_)) => {
            return Err(Error::option(
                "cpu percent",
                "",
                "give either cpus or cpu_percent, not both",
            ))
        }
        (None, None) => return Ok(None),
        (None, Some(p)) => {
            if !(1..=100).contains(&p) {
                return Err(Error::option(
                    "cpu percent",
                    p.to_string(),
                    "must be 1..=100 (percent of all processors)",
                ));
            }
            f64::from(p) / 100.0
        }
        (Some(c), None) => match parse_percent("cpus", c)? {
            Some(f) => f,
            None => {
                let n: f64 = c
                    .trim()
                    .parse()
                    .map_err(|_| Error::option("cpus", c, "not a number of CPUs or a percent"))?;
                if !(n.is_finite() && n > 0.0) {
                    return Err(Error::option("cpus", c, "must be more than 0"));
                }
                let host = std::thread::available_parallelism().map_or(1, |n| n.get());
                (n / host as f64).min(1.0)
            }
        },
    };
    let cycles = (frac * 10_000.0).round().clamp(1.0, 10_000.0) as u16;
    Ok(if cycles >= 10_000 { None } else { Some(cycles) })
}

fn host_memory() -> Result<u64> {
    use windows_sys::Win32::System::SystemInformation::{GlobalMemoryStatusEx, MEMORYSTATUSEX};
    let mut st = MEMORYSTATUSEX {
        dwLength: std::mem::size_of::<MEMORYSTATUSEX>() as u32,
        ..Default::default()
    };
    // SAFETY: `st` is a properly sized MEMORYSTATUSEX with dwLength set.
    let ok = unsafe { GlobalMemoryStatusEx(&mut st) };
    super::sys::check(ok, "GlobalMemoryStatusEx")?;
    Ok(st.ullTotalPhys)
}

fn spec_err(e: oci_spec::OciSpecError) -> Error {
    Error::InvalidSpec(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_caps() {
        assert_eq!(cpu_maximum(None, Some(50)).unwrap(), Some(5000));
        assert_eq!(cpu_maximum(None, Some(100)).unwrap(), None);
        assert_eq!(cpu_maximum(Some("25%"), None).unwrap(), Some(2500));
        assert_eq!(cpu_maximum(None, None).unwrap(), None);
        for (c, p) in [
            (None, Some(0)),
            (None, Some(150)),
            (Some("150%"), None),
            (Some("0"), None),
            (Some("x"), None),
            (Some("1"), Some(5)),
        ] {
            assert!(cpu_maximum(c, p).is_err(), "{c:?} {p:?}");
        }
        let e = cpu_maximum(None, Some(150)).unwrap_err().to_string();
        assert!(e.contains("cpu percent") && e.contains("150"), "{e}");
    }
}
