//! `cv version` and `cv info`: what docker users type first on a new
//! machine. Docker's layout and field names (`{{.Client.Version}}`,
//! `{{.Server.Version}}`, `--format json`); the facts are this machine's
//! and this engine's.

use clap::{Args, Subcommand};
use serde_json::{json, Value};

use super::image::format::render;
use super::Context;

/// The Docker Engine API version the `system service` speaks.
const API_VERSION: &str = "1.41";

#[derive(Subcommand)]
pub enum TopLevel {
    /// Show the cv version information.
    Version(FormatArg),
    /// Display system-wide information.
    Info(FormatArg),
}

#[derive(Args)]
pub struct FormatArg {
    /// `json`, or a template such as `{{.Server.Version}}`.
    #[arg(short, long)]
    format: Option<String>,
}

pub fn run(ctx: &Context, c: TopLevel) -> anyhow::Result<()> {
    match c {
        TopLevel::Version(f) => version(f.format),
        TopLevel::Info(f) => info(ctx, f.format),
    }
}

fn arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        a => a,
    }
}

fn kernel() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn print(v: &Value, format: Option<String>, text: impl FnOnce() -> String) -> anyhow::Result<()> {
    match format.as_deref() {
        None => print!("{}", text()),
        Some("json") | Some("{{json .}}") => println!("{}", serde_json::to_string(v)?),
        Some(t) => println!("{}", render(t, v)?),
    }
    Ok(())
}

fn version(format: Option<String>) -> anyhow::Result<()> {
    let v = env!("CARGO_PKG_VERSION");
    let os_arch = format!("linux/{}", arch());
    let doc = json!({
        "Client": {
            "Platform": {"Name": "containerv"},
            "Version": v,
            "ApiVersion": API_VERSION,
            "Os": "linux",
            "Arch": arch(),
        },
        "Server": {
            "Platform": {"Name": "containerv engine"},
            "Version": v,
            "ApiVersion": API_VERSION,
            "MinAPIVersion": "1.12",
            "Os": "linux",
            "Arch": arch(),
            "KernelVersion": kernel(),
            "Components": [{"Name": "Engine", "Version": v}],
        },
    });
    print(&doc, format, || {
        format!(
            "Client: containerv\n Version:           {v}\n API version:       {API_VERSION}\n \
             OS/Arch:           {os_arch}\n\nServer: containerv engine\n Engine:\n  \
             Version:          {v}\n  API version:      {API_VERSION} (minimum version 1.12)\n  \
             OS/Arch:          {os_arch}\n  Kernel version:   {}\n",
            kernel()
        )
    })
}

fn info(ctx: &Context, format: Option<String>) -> anyhow::Result<()> {
    let e = ctx.engine()?;
    let entries = e.store.list()?;
    let (mut running, mut paused, mut stopped) = (0, 0, 0);
    for x in &entries {
        match x.state.observed().status.as_str() {
            "running" | "restarting" => running += 1,
            "paused" => paused += 1,
            _ => stopped += 1,
        }
    }
    let images = ctx
        .images()?
        .list()?
        .iter()
        .map(|r| r.id.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let cgroup_version = if std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        "2"
    } else {
        "1"
    };
    let mem_total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .unwrap_or(0)
        * 1024;
    let ncpu = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let os = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|s| s.trim_matches('"').to_string())
        })
        .unwrap_or_else(|| "Linux".into());
    let root = e.store.root().display().to_string();
    // The engine's file (containerv's own fields; docker has none).
    let (config_path, _) =
        containerv_engine::engine_config::EngineConfig::locate(ctx.config_file.as_deref());
    let config_file = match &e.config.source {
        Some(p) => p.display().to_string(),
        None => format!("{} (absent: defaults)", config_path.display()),
    };
    let volume_opts = &e.config.volumes.default_opts;
    let volume_opts_text = if volume_opts.is_empty() {
        "none".to_string()
    } else {
        let kv: Vec<String> = volume_opts
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        kv.join(",")
    };
    let log = &e.config.log;
    let log_opts_text = if log.opts.is_empty() {
        "none".to_string()
    } else {
        let kv: Vec<String> = log.opts.iter().map(|(k, v)| format!("{k}={v}")).collect();
        kv.join(",")
    };
    // docker's: "name=userns" when the daemon remaps.
    let mut security_options = vec!["name=seccomp,profile=builtin"];
    if e.config.security.remap.is_some() {
        security_options.push("name=userns");
    }
    let doc = json!({
        "Containers": entries.len(),
        "ContainersRunning": running,
        "ContainersPaused": paused,
        "ContainersStopped": stopped,
        "Images": images,
        "Driver": "overlay",
        "LoggingDriver": log.driver(),
        "DefaultLogOptions": log.opts,
        "CgroupDriver": "cgroupfs",
        "CgroupVersion": cgroup_version,
        "KernelVersion": kernel(),
        "OperatingSystem": os,
        "OSType": "linux",
        "Architecture": std::env::consts::ARCH,
        "NCPU": ncpu,
        "MemTotal": mem_total,
        "Name": name,
        "DockerRootDir": root,
        "EngineConfigFile": config_file,
        "DefaultVolumeOptions": volume_opts,
        "ServerVersion": env!("CARGO_PKG_VERSION"),
        "SecurityOptions": security_options,
        "DefaultRuntime": "containerv",
        "InitBinary": "/sbin/cv-init (built in)",
    });
    print(&doc, format, || {
        format!(
            "Client: containerv\n Version:    {v}\n\nServer:\n Containers: {n}\n  Running: {running}\n  \
             Paused: {paused}\n  Stopped: {stopped}\n Images: {images}\n Server Version: {v}\n \
             Storage Driver: overlay\n Logging Driver: {log_driver}\n Default Log Options: {log_opts_text}\n Cgroup Driver: cgroupfs\n \
             Cgroup Version: {cgroup_version}\n Security Options:\n  seccomp\n   Profile: builtin\n{userns} \
             Kernel Version: {}\n Operating System: {os}\n OSType: linux\n Architecture: {}\n \
             CPUs: {ncpu}\n Total Memory: {}\n Name: {name}\n Docker Root Dir: {root}\n \
             Engine Config File: {config_file}\n Default Volume Options: {volume_opts_text}\n",
            kernel(),
            std::env::consts::ARCH,
            crate::output::human_size(mem_total),
            v = env!("CARGO_PKG_VERSION"),
            n = entries.len(),
            log_driver = log.driver(),
            userns = if e.config.security.remap.is_some() { "  userns\n" } else { "" },
        )
    })
}
