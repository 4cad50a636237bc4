//! `cv inspect` as docker prints it: the container's config and observed
//! state under docker's field names, so scripts written for `docker
//! inspect` find `.State.Status`, `.State.Health.Status`, `.RestartCount`.

use serde_json::{json, Value};

use crate::store::{Entry, Store};

fn time(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| crate::logs::rfc3339_nano(&t))
        .unwrap_or_else(|| "0001-01-01T00:00:00Z".into())
}

/// The inspect document of one container.
pub fn inspect(store: &Store, e: &Entry) -> Value {
    let c = &e.config;
    let s = e.state.observed();
    let log_path = c
        .log_config
        .file(&c.id)
        .map(|f| store.dir(&c.id).join(f.name).display().to_string())
        .unwrap_or_default();
    // docker's `LogConfig.Config`: the options as given (with the file's
    // rotation for the file drivers).
    let mut log_opts = serde_json::Map::new();
    if matches!(
        c.log_config.driver,
        crate::logs::LogDriver::JsonFile | crate::logs::LogDriver::Local
    ) {
        log_opts.insert(
            "max-size".into(),
            json!(c.log_config.max_size.map(|n| n.to_string())),
        );
        log_opts.insert("max-file".into(), json!(c.log_config.max_file.to_string()));
        log_opts.insert("compress".into(), json!(c.log_config.compress.to_string()));
    }
    for (k, v) in &c.log_config.opts {
        if !matches!(k.as_str(), "max-size" | "max-file" | "compress") {
            log_opts.insert(k.clone(), json!(v));
        }
    }
    let health = s
        .health
        .as_ref()
        .map(|h| serde_json::to_value(h).unwrap_or(Value::Null));
    json!({
        "Id": c.id,
        "Created": crate::logs::rfc3339_nano(&c.created),
        "Path": c.command.first().cloned().unwrap_or_default(),
        "Args": c.command.iter().skip(1).collect::<Vec<_>>(),
        "State": {
            "Status": s.status.as_str(),
            "Running": matches!(s.status, crate::record::Status::Running | crate::record::Status::Paused),
            "Paused": s.status == crate::record::Status::Paused,
            "Restarting": s.status == crate::record::Status::Restarting,
            "OOMKilled": s.oom_killed,
            "Dead": s.status == crate::record::Status::Dead,
            "Pid": s.pid,
            "ExitCode": s.exit_code,
            "Error": s.error,
            "StartedAt": time(s.started_at),
            "FinishedAt": time(s.finished_at),
            "Health": health,
            "MonitorPid": s.monitor_pid,
            "LogLinesDropped": s.log_lines_dropped,
        },
        "Image": c.image_id,
        "LogPath": log_path,
        "Name": format!("/{}", c.name),
        "RestartCount": s.restart_count,
        "Mounts": crate::volumes::mounts_json(c),
        "NetworkSettings": crate::network::ops::network_settings(store.root(), &c.id),
        "HostConfig": {
            "Binds": c.binds.iter().map(|b| format!("{}:{}{}", b.source.display(), b.destination.display(), if b.read_only {":ro"} else {""})).collect::<Vec<_>>(),
            "Tmpfs": c.tmpfs,
            "ReadonlyRootfs": c.read_only,
            "NetworkMode": match c.network { crate::record::NetworkMode::None => "none".to_string(), crate::record::NetworkMode::Host => "host".to_string(), crate::record::NetworkMode::Bridge => c.networks.first().cloned().unwrap_or_else(|| "bridge".into()), crate::record::NetworkMode::Container => format!("container:{}", c.networks.first().map(String::as_str).unwrap_or("")) },
            "RestartPolicy": serde_json::to_value(c.restart_policy).unwrap_or(Value::Null),
            "AutoRemove": c.auto_remove,
            "LogConfig": {
                "Type": c.log_config.driver.as_str(),
                "Config": log_opts,
            },
            "Memory": memory_bytes(c.resources.memory.as_deref()),
            "MemorySwap": match c.resources.memory_swap.as_deref().map(str::trim) {
                Some("-1") => -1,
                other => memory_bytes(other),
            },
            "NanoCpus": nano_cpus(c.resources.cpus.as_deref()),
            "CpuShares": c.resources.cpu_shares,
            "CpusetCpus": c.resources.cpuset_cpus,
            "PidsLimit": c.resources.pids_limit,
            "Init": c.init,
            "StorageOpt": c.storage_size.map(|n| serde_json::json!({"size": n.to_string()})),
        },
        "Config": {
            "Hostname": c.hostname.clone().unwrap_or_else(|| c.id[..12].to_string()),
            "User": c.user.clone().unwrap_or_default(),
            "Env": c.env,
            "Cmd": c.command,
            "Image": c.image,
            "WorkingDir": c.working_dir.clone().unwrap_or_default(),
            "Labels": c.labels,
            "StopSignal": crate::signal::signal_name(c.stop_signal),
            "StopTimeout": c.stop_timeout,
            "Healthcheck": c.healthcheck,
            "OpenStdin": c.interactive,
            "Tty": c.tty,
        },
    })
}

/// docker's `HostConfig.Memory`: bytes, 0 when unset (the record keeps the
/// flag's text: "96m", "50%").
fn memory_bytes(v: Option<&str>) -> i64 {
    v.and_then(|v| containerv::limits::parse_memory("memory", v).ok().flatten())
        .map_or(0, |b| b as i64)
}

/// docker's `HostConfig.NanoCpus`: CPUs × 10⁹, 0 when unset.
fn nano_cpus(v: Option<&str>) -> i64 {
    v.and_then(|v| containerv::limits::parse_cpus(v).ok())
        .map_or(0, |quota_us| {
            (quota_us as i128 * 1_000_000_000 / containerv::limits::CPU_PERIOD_US as i128) as i64
        })
}
