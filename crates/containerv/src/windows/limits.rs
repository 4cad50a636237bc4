//! What a container's job object enforces, read from the OCI spec.
//!
//! OCI fields used: `windows.resources.memory.limit` (bytes, the job's
//! committed memory, `JOB_OBJECT_LIMIT_JOB_MEMORY`) and
//! `windows.resources.cpu.maximum` (cycles per 10,000, i.e. percent × 100
//! of all processors, a hard cap through CPU rate control). Everything OCI
//! has no field for travels in annotations (see [`annotations`]). All of it
//! is validated here, before any job exists.

use oci_spec::runtime::Spec;
use windows_sys::Win32::System::JobObjects::{
    JOB_OBJECT_UILIMIT_DESKTOP, JOB_OBJECT_UILIMIT_DISPLAYSETTINGS, JOB_OBJECT_UILIMIT_EXITWINDOWS,
    JOB_OBJECT_UILIMIT_GLOBALATOMS, JOB_OBJECT_UILIMIT_HANDLES, JOB_OBJECT_UILIMIT_READCLIPBOARD,
    JOB_OBJECT_UILIMIT_SYSTEMPARAMETERS, JOB_OBJECT_UILIMIT_WRITECLIPBOARD,
};

use crate::error::{Error, Result};

/// The `org.containerv.windows.*` annotations: what OCI cannot say about a
/// job object.
pub mod annotations {
    /// Most committed memory of any one process: a size ("64M", bytes).
    pub const PROCESS_MEMORY: &str = "org.containerv.windows.process-memory";
    /// Most processes alive in the job at once (a positive integer).
    pub const ACTIVE_PROCESSES: &str = "org.containerv.windows.active-processes";
    /// UI restrictions, comma separated: `desktop`, `display-settings`,
    /// `exit-windows`, `global-atoms`, `handles`, `read-clipboard`,
    /// `write-clipboard`, `system-parameters`, or `all` / `none`.
    pub const UI_RESTRICTIONS: &str = "org.containerv.windows.ui-restrictions";
    /// `true` (default) or `false`: kill every process of the container
    /// when the last handle to its job closes.
    pub const KILL_ON_CLOSE: &str = "org.containerv.windows.kill-on-close";
    /// A working directory given by the caller (kept on destroy); without
    /// it one is made under the runtime root and removed on destroy.
    pub const WORKING_DIR: &str = "org.containerv.windows.working-dir";
}

/// The UI restriction names and their `JOB_OBJECT_UILIMIT_*` flags.
pub const UI_RESTRICTION_NAMES: &[(&str, u32)] = &[
    ("desktop", JOB_OBJECT_UILIMIT_DESKTOP),
    ("display-settings", JOB_OBJECT_UILIMIT_DISPLAYSETTINGS),
    ("exit-windows", JOB_OBJECT_UILIMIT_EXITWINDOWS),
    ("global-atoms", JOB_OBJECT_UILIMIT_GLOBALATOMS),
    ("handles", JOB_OBJECT_UILIMIT_HANDLES),
    ("read-clipboard", JOB_OBJECT_UILIMIT_READCLIPBOARD),
    ("write-clipboard", JOB_OBJECT_UILIMIT_WRITECLIPBOARD),
    ("system-parameters", JOB_OBJECT_UILIMIT_SYSTEMPARAMETERS),
];

/// Parses a comma-separated list of UI restriction names into flags.
pub fn parse_ui_restrictions(value: &str) -> Result<u32> {
    let mut flags = 0;
    for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let lower = name.to_ascii_lowercase();
        flags |= match lower.as_str() {
            "none" => 0,
            "all" => UI_RESTRICTION_NAMES.iter().fold(0, |a, (_, f)| a | f),
            _ => UI_RESTRICTION_NAMES
                .iter()
                .find(|(n, _)| *n == lower)
                .map(|(_, f)| *f)
                .ok_or_else(|| {
                    let known: Vec<&str> = UI_RESTRICTION_NAMES.iter().map(|(n, _)| *n).collect();
                    Error::option(
                        "ui restriction",
                        name,
                        format!("unknown (known: {}, all, none)", known.join(", ")),
                    )
                })?,
        };
    }
    Ok(flags)
}

/// The limits of one container's job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct JobLimits {
    /// `JobMemoryLimit`, bytes.
    pub job_memory: Option<u64>,
    /// `ProcessMemoryLimit`, bytes.
    pub process_memory: Option<u64>,
    /// CPU hard cap in cycles per 10,000 (1..=10000).
    pub cpu_rate: Option<u32>,
    /// `ActiveProcessLimit`.
    pub active_processes: Option<u32>,
    /// `JOB_OBJECT_UILIMIT_*` flags.
    pub ui: u32,
    pub kill_on_close: bool,
}

impl Default for JobLimits {
    fn default() -> Self {
        JobLimits {
            job_memory: None,
            process_memory: None,
            cpu_rate: None,
            active_processes: None,
            ui: 0,
            kill_on_close: true,
        }
    }
}

impl JobLimits {
    /// Reads and checks the limits of `spec`.
    pub(crate) fn from_spec(spec: &Spec) -> Result<Self> {
        let mut l = JobLimits::default();
        // oci-spec 0.10 generates no getters for the Windows resource
        // types (get_copy without CopyGetters), so read their JSON form.
        let res = spec
            .windows()
            .as_ref()
            .and_then(|w| w.resources())
            .map(serde_json::to_value)
            .transpose()
            .map_err(|e| Error::InvalidSpec(format!("windows.resources: {e}")))?
            .unwrap_or_default();
        if let Some(limit) = res.pointer("/memory/limit").and_then(|v| v.as_u64()) {
            if limit == 0 {
                return Err(Error::option(
                    "windows.resources.memory.limit",
                    "0",
                    "must be at least 1 byte",
                ));
            }
            l.job_memory = Some(limit);
        }
        if let Some(max) = res.pointer("/cpu/maximum").and_then(|v| v.as_u64()) {
            if !(1..=10_000).contains(&max) {
                return Err(Error::option(
                    "windows.resources.cpu.maximum",
                    max.to_string(),
                    "must be 1..=10000 (cycles per 10,000: percent x 100)",
                ));
            }
            if max < 10_000 {
                l.cpu_rate = Some(max as u32);
            }
        }
        if res.pointer("/cpu/count").is_some() || res.pointer("/cpu/shares").is_some() {
            return Err(Error::Unsupported(
                "windows.resources.cpu.count and .shares: only cpu.maximum is \
                 implemented on job objects"
                    .into(),
            ));
        }
        if res.get("storage").is_some() {
            return Err(Error::Unsupported(
                "windows.resources.storage: no I/O limits on job objects here".into(),
            ));
        }
        let ann = spec.annotations().clone().unwrap_or_default();
        if let Some(v) = ann.get(annotations::PROCESS_MEMORY) {
            l.process_memory = Some(crate::limits::parse_size(
                "process memory (org.containerv.windows.process-memory)",
                v,
            )?);
        }
        if let Some(v) = ann.get(annotations::ACTIVE_PROCESSES) {
            let n: u32 = v.trim().parse().map_err(|_| {
                Error::option(
                    "active processes (org.containerv.windows.active-processes)",
                    v,
                    "not a whole number",
                )
            })?;
            if n == 0 {
                return Err(Error::option(
                    "active processes (org.containerv.windows.active-processes)",
                    v,
                    "must be at least 1",
                ));
            }
            l.active_processes = Some(n);
        }
        if let Some(v) = ann.get(annotations::UI_RESTRICTIONS) {
            l.ui = parse_ui_restrictions(v)?;
        }
        if let Some(v) = ann.get(annotations::KILL_ON_CLOSE) {
            l.kill_on_close = match v.trim() {
                "true" | "1" | "yes" => true,
                "false" | "0" | "no" => false,
                _ => {
                    return Err(Error::option(
                        "kill on close (org.containerv.windows.kill-on-close)",
                        v,
                        "use true or false",
                    ))
                }
            }
        }
        Ok(l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{
        WindowsBuilder, WindowsCPUResourcesBuilder, WindowsMemoryResourcesBuilder,
        WindowsResourcesBuilder,
    };

    fn spec(max: Option<u16>, mem: Option<u64>, ann: &[(&str, &str)]) -> Spec {
        let mut res = WindowsResourcesBuilder::default();
        if let Some(m) = max {
            res = res.cpu(
                WindowsCPUResourcesBuilder::default()
                    .maximum(m)
                    .build()
                    .unwrap(),
            );
        }
        if let Some(m) = mem {
            res = res.memory(
                WindowsMemoryResourcesBuilder::default()
                    .limit(m)
                    .build()
                    .unwrap(),
            );
        }
        let mut s = Spec::default();
        s.set_windows(Some(
            WindowsBuilder::default()
                .resources(res.build().unwrap())
                .build()
                .unwrap(),
        ));
        s.set_annotations(Some(
            ann.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ));
        s
    }

    #[test]
    fn reads_spec_and_annotations() {
        let l = JobLimits::from_spec(&spec(
            Some(5000),
            Some(1 << 30),
            &[
                (annotations::PROCESS_MEMORY, "64M"),
                (annotations::ACTIVE_PROCESSES, "8"),
                (annotations::UI_RESTRICTIONS, "desktop, read-clipboard"),
                (annotations::KILL_ON_CLOSE, "false"),
            ],
        ))
        .unwrap();
        assert_eq!(
            l,
            JobLimits {
                job_memory: Some(1 << 30),
                process_memory: Some(64 << 20),
                cpu_rate: Some(5000),
                active_processes: Some(8),
                ui: JOB_OBJECT_UILIMIT_DESKTOP | JOB_OBJECT_UILIMIT_READCLIPBOARD,
                kill_on_close: false,
            }
        );
        assert_eq!(
            JobLimits::from_spec(&Spec::default()).unwrap(),
            JobLimits::default()
        );
        // 100% is no cap at all.
        assert_eq!(
            JobLimits::from_spec(&spec(Some(10_000), None, &[]))
                .unwrap()
                .cpu_rate,
            None
        );
        assert_eq!(parse_ui_restrictions("all").unwrap(), 0xff);
    }

    #[test]
    fn bad_values_are_named() {
        for (s, word) in [
            (spec(Some(0), None, &[]), "cpu.maximum"),
            (spec(Some(15_000), None, &[]), "cpu.maximum"),
            (spec(None, Some(0), &[]), "memory.limit"),
            (
                spec(None, None, &[(annotations::PROCESS_MEMORY, "abc")]),
                "process memory",
            ),
            (
                spec(None, None, &[(annotations::ACTIVE_PROCESSES, "0")]),
                "active processes",
            ),
            (
                spec(None, None, &[(annotations::ACTIVE_PROCESSES, "x")]),
                "active processes",
            ),
            (
                spec(None, None, &[(annotations::UI_RESTRICTIONS, "desk")]),
                "desk",
            ),
            (
                spec(None, None, &[(annotations::KILL_ON_CLOSE, "maybe")]),
                "kill on close",
            ),
        ] {
            let e = JobLimits::from_spec(&s).unwrap_err().to_string();
            assert!(e.contains(word), "{e}");
        }
    }
}
