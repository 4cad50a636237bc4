//! `cv run` / `cv create` flags as given (strings), and their validation
//! into a [`ContainerConfig`]. Every value is checked here, before any
//! record, cgroup or mount exists, and every error names the flag.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::Utc;
use containerv_image::RunConfig;

use crate::error::{Error, Result};
use crate::health::HealthConfig;
use crate::logs::LogConfig;
use crate::record::{ContainerConfig, Resources};
use crate::restart::RestartPolicy;
use crate::signal::parse_signal;
use crate::stop::DEFAULT_STOP_TIMEOUT;
use crate::volumes::mounts::{self, MountArg};

/// The flags of `run` and `create` (docker's names in the comments).
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// `--name`.
    pub name: Option<String>,
    /// `--storage-opt KEY=VALUE` (docker's: `size=`).
    pub storage_opts: Vec<String>,
    /// IMAGE; `None`: the built-in image.
    pub image: Option<String>,
    /// COMMAND ARG...; empty: the image's.
    pub command: Vec<String>,
    /// `--entrypoint`.
    pub entrypoint: Option<String>,
    /// `-e KEY=VALUE` or `-e KEY` (from the caller's environment).
    pub env: Vec<String>,
    /// `--env-file`.
    pub env_files: Vec<PathBuf>,
    /// `-w`.
    pub workdir: Option<String>,
    /// `-u`.
    pub user: Option<String>,
    /// `-h`.
    pub hostname: Option<String>,
    /// `-v /host:/ctr[:ro]`, `-v NAME:/ctr[:ro]`, `-v /ctr`.
    pub volumes: Vec<String>,
    /// `--mount type=volume|bind,src=…,dst=…[,readonly]`.
    pub mounts: Vec<String>,
    /// `--tmpfs /path[:opts]`.
    pub tmpfs: Vec<String>,
    pub read_only: bool,
    pub memory: Option<String>,
    pub memory_swap: Option<String>,
    pub cpus: Option<String>,
    pub cpu_shares: Option<i64>,
    pub cpuset_cpus: Option<String>,
    pub pids_limit: Option<i64>,
    /// `--network bridge|none|host|NETWORK`.
    pub network: Option<String>,
    /// `--ip`, `--mac-address`, `--network-alias`.
    pub net: crate::network::NetFlags,
    /// `--restart`.
    pub restart: Option<String>,
    /// `--rm`.
    pub rm: bool,
    pub health_cmd: Option<String>,
    pub health_interval: Option<String>,
    pub health_timeout: Option<String>,
    pub health_start_period: Option<String>,
    pub health_retries: Option<i64>,
    pub no_healthcheck: bool,
    pub log_driver: Option<String>,
    pub log_opts: Vec<String>,
    pub stop_signal: Option<String>,
    pub stop_timeout: Option<i64>,
    pub init: bool,
    pub interactive: bool,
    pub tty: bool,
    /// `-l KEY=VALUE`.
    pub labels: Vec<String>,
    /// Capabilities, seccomp, devices, sysctls, ulimits, namespaces, block I/O.
    pub security: crate::security::SecurityOptions,
    /// `--stats-interval`, `--stats-retention`.
    pub history: crate::history::HistoryOptions,
}

/// Everything from the image a container needs.
#[derive(Debug, Clone, Default)]
pub struct ImageInfo {
    pub reference: String,
    pub id: String,
    /// The manifest digest.
    pub digest: String,
    /// Unpacked layers, topmost first.
    pub layers: Vec<PathBuf>,
    pub run: RunConfig,
}

/// Builds the validated config of a new container `id`.
pub fn to_config(o: &RunOptions, id: &str, image: ImageInfo) -> Result<ContainerConfig> {
    let name = o
        .name
        .clone()
        .unwrap_or_else(|| crate::store::random_name(id));
    if o.rm && o.restart.as_deref().is_some_and(|r| r != "no") {
        return Err(Error::option(
            "--restart",
            o.restart.clone().unwrap_or_default(),
            "conflicts with --rm (a removed container cannot be restarted)",
        ));
    }
    let restart_policy = match &o.restart {
        Some(r) => RestartPolicy::parse(r)?,
        None => RestartPolicy::No,
    };

    let mut command: Vec<String> = match &o.entrypoint {
        Some(e) if e.is_empty() => vec![],
        Some(e) => vec![e.clone()],
        None => image.run.entrypoint.clone().unwrap_or_default(),
    };
    if !o.command.is_empty() {
        command.extend(o.command.iter().cloned());
    } else if o.entrypoint.is_none() {
        command.extend(image.run.cmd.clone().unwrap_or_default());
    }
    if command.is_empty() {
        return Err(Error::option(
            "COMMAND",
            "",
            "no command given and the image has neither Entrypoint nor Cmd",
        ));
    }

    let hostname = o
        .hostname
        .clone()
        .unwrap_or_else(|| id[..12.min(id.len())].to_string());
    let env = merge_env(image.run.env.as_deref().unwrap_or(&[]), o, &hostname)?;
    let (mut binds, mut volumes) = (Vec::new(), Vec::new());
    let mut tmpfs = o.tmpfs.clone();
    let parsed = o.volumes.iter().map(|v| mounts::parse_v(v));
    for m in parsed.chain(o.mounts.iter().map(|m| mounts::parse_mount(m))) {
        match m? {
            MountArg::Bind(b) => binds.push(b),
            MountArg::Volume(v) => volumes.push(v),
            MountArg::Tmpfs(t) => tmpfs.push(t),
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    let tmpfs_paths = tmpfs.iter().map(|t| parse_tmpfs(t).map(|(p, _)| p));
    let dests = binds
        .iter()
        .map(|b| Ok(b.destination.to_string_lossy().into_owned()))
        .chain(volumes.iter().map(|v| Ok(v.destination.clone())))
        .chain(tmpfs_paths);
    for d in dests {
        let d = d?;
        if !seen.insert(Path::new(&d).components().collect::<PathBuf>()) {
            return Err(Error::option("-v", d.as_str(), "duplicate mount point"));
        }
    }
    // The image's VOLUMEs: an anonymous volume each, unless a mount of
    // the container already covers that path.
    for path in image.run.volumes.iter().flat_map(|v| v.keys()) {
        let key = Path::new(path).components().collect::<PathBuf>();
        if seen.contains(&key) {
            continue;
        }
        match mounts::parse_v(path) {
            Ok(MountArg::Volume(v)) => {
                seen.insert(key);
                volumes.push(v);
            }
            _ => {
                return Err(Error::option(
                    "image",
                    path.as_str(),
                    "the image's VOLUME is not an absolute container path",
                ))
            }
        }
    }
    if let Some(w) = &o.workdir {
        if !w.starts_with('/') {
            return Err(Error::option("-w", w.as_str(), "must be an absolute path"));
        }
    }
    if let Some(h) = &o.hostname {
        if h.is_empty()
            || h.len() > 64
            || !h
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        {
            return Err(Error::option(
                "-h",
                h.as_str(),
                "not a valid hostname (letters, digits, '-' and '.', at most 64)",
            ));
        }
    }
    if let Some(u) = &o.user {
        if u.is_empty() || u.contains(char::is_whitespace) {
            return Err(Error::option("-u", u.as_str(), "not a user[:group]"));
        }
    }
    let (network, networks, endpoint) = crate::network::parse_run_flags(
        o.network.as_deref(),
        &o.net,
        &image
            .run
            .exposed_ports
            .as_ref()
            .map(|m| m.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default(),
    )?;
    let cpu_shares = match o.cpu_shares {
        None | Some(0) => None,
        Some(n) if !(2..=262144).contains(&n) => {
            return Err(Error::option(
                "--cpu-shares",
                n.to_string(),
                "must be between 2 and 262144",
            ))
        }
        Some(n) => Some(n as u64),
    };
    if let Some(p) = o.pids_limit {
        if p == 0 || p < -1 {
            return Err(Error::option(
                "--pids-limit",
                p.to_string(),
                "must be a number >= 1, or -1 for no limit",
            ));
        }
    }
    let healthcheck = match (&o.health_cmd, o.no_healthcheck) {
        (Some(_), true) => {
            return Err(Error::option(
                "--no-healthcheck",
                "true",
                "conflicts with --health-cmd",
            ))
        }
        (Some(cmd), false) => Some(HealthConfig::from_flags(
            cmd,
            o.health_interval.as_deref(),
            o.health_timeout.as_deref(),
            o.health_start_period.as_deref(),
            o.health_retries,
        )?),
        (None, true) => None,
        (None, false) => match &image.run.healthcheck {
            Some(h) => HealthConfig::from_image(
                h,
                o.health_interval.as_deref(),
                o.health_timeout.as_deref(),
                o.health_start_period.as_deref(),
                o.health_retries,
            )?,
            None => {
                for (flag, v) in [
                    ("--health-interval", &o.health_interval),
                    ("--health-timeout", &o.health_timeout),
                    ("--health-start-period", &o.health_start_period),
                ] {
                    if let Some(v) = v {
                        return Err(Error::option(flag, v.as_str(), "needs --health-cmd"));
                    }
                }
                None
            }
        },
    };
    let log_config = LogConfig::from_flags(o.log_driver.as_deref(), &o.log_opts)?;
    let security = o
        .security
        .validate(network == crate::record::NetworkMode::Host)?;
    if security.uts == crate::security::NsMode::Host && o.hostname.is_some() {
        return Err(Error::option(
            "-h",
            o.hostname.clone().unwrap_or_default(),
            "conflicts with --uts host",
        ));
    }
    let stop_signal = match o
        .stop_signal
        .as_deref()
        .or(image.run.stop_signal.as_deref())
    {
        Some(s) => parse_signal("--stop-signal", s)?,
        None => libc::SIGTERM,
    };
    let stop_timeout = match o.stop_timeout {
        None => DEFAULT_STOP_TIMEOUT.as_secs(),
        Some(n) if n < 0 => {
            return Err(Error::option(
                "--stop-timeout",
                n.to_string(),
                "must be 0 or more seconds",
            ))
        }
        Some(n) => n as u64,
    };
    let mut labels: BTreeMap<String, String> = image.run.labels.clone().unwrap_or_default();
    for l in &o.labels {
        let (k, v) = l.split_once('=').unwrap_or((l.as_str(), ""));
        if k.is_empty() {
            return Err(Error::option("--label", l.as_str(), "empty key"));
        }
        labels.insert(k.to_string(), v.to_string());
    }
    crate::create_checks::check_no_nul(&env, &command)?;
    crate::create_checks::check_resources(&Resources {
        memory: o.memory.clone(),
        cpuset_cpus: o.cpuset_cpus.clone(),
        ..Default::default()
    })?;
    let stats_history = o.history.to_config()?;
    let storage_size = crate::storage_opt::parse(&o.storage_opts)?;
    let mut layers = image.layers;
    layers.reverse();
    Ok(ContainerConfig {
        id: id.to_string(),
        name,
        created: Utc::now(),
        image: image.reference,
        image_id: image.id,
        image_root: None,
        layers,
        command,
        env,
        working_dir: o
            .workdir
            .clone()
            .or(image.run.working_dir.clone())
            .filter(|w| !w.is_empty()),
        user: o
            .user
            .clone()
            .or(image.run.user.clone())
            .filter(|u| !u.is_empty()),
        hostname: o.hostname.clone(),
        binds,
        tmpfs,
        read_only: o.read_only,
        network,
        resources: Resources {
            memory: o.memory.clone(),
            memory_swap: o.memory_swap.clone(),
            cpus: o.cpus.clone(),
            cpu_shares,
            cpuset_cpus: o.cpuset_cpus.clone(),
            pids_limit: o.pids_limit,
        },
        restart_policy,
        auto_remove: o.rm,
        healthcheck,
        log_config,
        stop_signal,
        stop_timeout,
        init: o.init,
        interactive: o.interactive,
        tty: o.tty,
        labels,
        volumes,
        networks,
        security,
        endpoint,
        stats_history,
        storage_size,
    })
}

/// The image's env, then `--env-file`s, then `-e`s (later wins); PATH is
/// always set.
/// Docker's order: PATH, HOSTNAME, TERM (with `-t`), then the image's
/// env, then `--env-file` and `-e`, each overriding what came before.
fn merge_env(image_env: &[String], o: &RunOptions, hostname: &str) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    let set = |kv: String, out: &mut Vec<String>| {
        let key = kv.split('=').next().unwrap_or("").to_string();
        out.retain(|e| e.split('=').next() != Some(key.as_str()));
        out.push(kv);
    };
    set(containerv::options::DEFAULT_PATH_ENV.into(), &mut out);
    set(format!("HOSTNAME={hostname}"), &mut out);
    if o.tty {
        set("TERM=xterm".into(), &mut out);
    }
    for e in image_env {
        set(e.clone(), &mut out);
    }
    let mut given: Vec<(String, String)> = Vec::new();
    for f in &o.env_files {
        let text = std::fs::read_to_string(f)
            .map_err(|e| Error::option("--env-file", f.display().to_string(), e.to_string()))?;
        for line in text.lines() {
            let l = line.trim_start();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            given.push(("--env-file".into(), l.to_string()));
        }
    }
    for e in &o.env {
        given.push(("-e".into(), e.clone()));
    }
    for (flag, e) in given {
        let key = e.split('=').next().unwrap_or("");
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(Error::option(flag, e.as_str(), "not KEY=VALUE"));
        }
        if e.contains('=') {
            set(e, &mut out);
        } else if let Ok(v) = std::env::var(key) {
            set(format!("{key}={v}"), &mut out);
        }
    }
    Ok(out)
}

/// `--tmpfs /path[:opt,opt]` → (path, mount options).
pub fn parse_tmpfs(t: &str) -> Result<(String, Vec<String>)> {
    let (path, opts) = t.split_once(':').unwrap_or((t, ""));
    if !path.starts_with('/') || path == "/" {
        return Err(Error::option(
            "--tmpfs",
            t,
            "the path must be absolute and not /",
        ));
    }
    let mut v = vec![
        "nosuid".to_string(),
        "nodev".to_string(),
        "noexec".to_string(),
    ];
    for o in opts.split(',').filter(|o| !o.is_empty()) {
        let known = [
            "ro", "rw", "exec", "noexec", "suid", "nosuid", "dev", "nodev",
        ];
        let key = o.split('=').next().unwrap_or("");
        if !known.contains(&o) && !["size", "mode", "uid", "gid", "nr_inodes"].contains(&key) {
            return Err(Error::option("--tmpfs", t, format!("unknown option {o:?}")));
        }
        if let Some(opp) = o.strip_prefix("no") {
            v.retain(|x| x != opp);
        } else {
            v.retain(|x| x.strip_prefix("no") != Some(o));
        }
        v.push(o.to_string());
    }
    Ok((path.to_string(), v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img() -> ImageInfo {
        ImageInfo {
            reference: "x".into(),
            id: "sha256:1".into(),
            digest: "sha256:2".into(),
            layers: vec![],
            run: RunConfig {
                cmd: Some(vec!["sh".into()]),
                env: Some(vec!["A=1".into()]),
                ..Default::default()
            },
        }
    }

    #[test]
    fn command_env_and_defaults() {
        let o = RunOptions {
            env: vec!["A=2".into(), "B=3".into()],
            ..Default::default()
        };
        let c = to_config(&o, &"a".repeat(64), img()).unwrap();
        assert_eq!(c.command, ["sh"]);
        assert!(c.env.contains(&"A=2".to_string()) && !c.env.contains(&"A=1".to_string()));
        assert!(c.env[0].starts_with("PATH="));
        assert_eq!(c.stop_signal, libc::SIGTERM);
        let o = RunOptions {
            command: vec!["echo".into(), "hi".into()],
            ..Default::default()
        };
        assert_eq!(
            to_config(&o, &"a".repeat(64), img()).unwrap().command,
            ["echo", "hi"]
        );
    }

    #[test]
    fn bad_values_name_their_flag() {
        let cases: Vec<(RunOptions, &str)> = vec![
            (
                RunOptions {
                    volumes: vec!["./rel:/x".into()],
                    ..Default::default()
                },
                "-v",
            ),
            (
                RunOptions {
                    volumes: vec!["/:/x:rx".into()],
                    ..Default::default()
                },
                "-v",
            ),
            (
                RunOptions {
                    tmpfs: vec!["/t:bogus".into()],
                    ..Default::default()
                },
                "--tmpfs",
            ),
            (
                RunOptions {
                    network: Some("-bridge0".into()),
                    ..Default::default()
                },
                "--network",
            ),
            (
                RunOptions {
                    restart: Some("sometimes".into()),
                    ..Default::default()
                },
                "--restart",
            ),
            (
                RunOptions {
                    rm: true,
                    restart: Some("always".into()),
                    ..Default::default()
                },
                "--restart",
            ),
            (
                RunOptions {
                    stop_signal: Some("SIGNOPE".into()),
                    ..Default::default()
                },
                "--stop-signal",
            ),
            (
                RunOptions {
                    stop_timeout: Some(-3),
                    ..Default::default()
                },
                "--stop-timeout",
            ),
            (
                RunOptions {
                    pids_limit: Some(0),
                    ..Default::default()
                },
                "--pids-limit",
            ),
            (
                RunOptions {
                    cpu_shares: Some(1),
                    ..Default::default()
                },
                "--cpu-shares",
            ),
            (
                RunOptions {
                    log_driver: Some("gelf".into()),
                    ..Default::default()
                },
                "--log-driver",
            ),
            (
                RunOptions {
                    health_interval: Some("1s".into()),
                    ..Default::default()
                },
                "--health-interval",
            ),
            (
                RunOptions {
                    workdir: Some("rel".into()),
                    ..Default::default()
                },
                "-w",
            ),
            (
                RunOptions {
                    env: vec!["=x".into()],
                    ..Default::default()
                },
                "-e",
            ),
        ];
        for (o, flag) in cases {
            let e = to_config(&o, &"a".repeat(64), img())
                .unwrap_err()
                .to_string();
            assert!(e.contains(flag), "{flag}: {e}");
        }
    }

    #[test]
    fn tmpfs_options() {
        let (p, o) = parse_tmpfs("/run:exec,size=64m").unwrap();
        assert_eq!(p, "/run");
        assert!(o.contains(&"exec".to_string()) && !o.contains(&"noexec".to_string()));
        assert!(o.contains(&"size=64m".to_string()));
    }
}
