//! update: new limits for a running container, from `--resources FILE|-`
//! (a LinuxResources JSON, what containerd and podman send) and/or runc's
//! single flags, which win over the file.

use std::io::Read;

use oci_spec::runtime::LinuxResources;
use serde_json::{Map, Value};

use super::{open, require_alive};
use crate::cli::{Cli, UpdateArgs};
use crate::error::{Fail, Result};

pub fn update(cli: &Cli, a: &UpdateArgs) -> Result<i32> {
    let resources = resources(a)?;
    let c = open(cli, &a.id)?;
    require_alive(&c)?;
    c.update(&resources)?;
    Ok(0)
}

/// Bytes ("512M", "1g", "1048576") or -1 (no limit).
fn bytes(flag: &str, v: &str) -> Result<i64> {
    if v == "-1" {
        return Ok(-1);
    }
    let n = containerv::limits::parse_size("memory", v).map_err(|_| {
        Fail::new(format!(
            "--{flag} {v:?}: not a size (bytes, or 512M, 1G; -1 for none)"
        ))
    })?;
    i64::try_from(n).map_err(|_| Fail::new(format!("--{flag} {v:?}: too large")))
}

fn resources(a: &UpdateArgs) -> Result<LinuxResources> {
    let mut root = match &a.resources {
        None => Value::Object(Map::new()),
        Some(src) => {
            let mut text = Vec::new();
            let read = if src == "-" {
                std::io::stdin().read_to_end(&mut text).map(|_| ())
            } else {
                std::fs::read(src).map(|t| text = t)
            };
            read.map_err(|e| Fail::new(format!("read resources {src}: {e}")))?;
            serde_json::from_slice(&text)
                .map_err(|e| Fail::new(format!("resources {src} is not valid JSON: {e}")))?
        }
    };
    let obj = root
        .as_object_mut()
        .ok_or_else(|| Fail::new("resources: not a JSON object"))?;
    let mut set = |group: &str, key: &str, v: Value| {
        let g = obj
            .entry(group)
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(g) = g.as_object_mut() {
            g.insert(key.into(), v);
        }
    };
    for (flag, key, v) in [
        ("memory", "limit", &a.memory),
        ("memory-reservation", "reservation", &a.memory_reservation),
        ("memory-swap", "swap", &a.memory_swap),
        ("kernel-memory", "kernel", &a.kernel_memory),
        ("kernel-memory-tcp", "kernelTCP", &a.kernel_memory_tcp),
    ] {
        if let Some(v) = v {
            set("memory", key, bytes(flag, v)?.into());
        }
    }
    if let Some(v) = a.cpu_share {
        set("cpu", "shares", v.into());
    }
    if let Some(v) = a.cpu_quota {
        set("cpu", "quota", v.into());
    }
    if let Some(v) = a.cpu_period {
        set("cpu", "period", v.into());
    }
    if let Some(v) = a.cpu_rt_runtime {
        set("cpu", "realtimeRuntime", v.into());
    }
    if let Some(v) = a.cpu_rt_period {
        set("cpu", "realtimePeriod", v.into());
    }
    if let Some(v) = &a.cpuset_cpus {
        set("cpu", "cpus", v.clone().into());
    }
    if let Some(v) = &a.cpuset_mems {
        set("cpu", "mems", v.clone().into());
    }
    if let Some(v) = a.pids_limit {
        set("pids", "limit", v.into());
    }
    if let Some(v) = a.blkio_weight {
        set("blockIO", "weight", v.into());
    }
    serde_json::from_value(root)
        .map_err(|e| Fail::new(format!("resources: not valid OCI LinuxResources: {e}")))
}
