//! The two records kept per container: its configuration (what `run` or
//! `create` asked for; changed only by `update`) and its state (what the
//! monitor and `cv` commands observed). The field names follow docker's
//! `inspect` so the JSON reads the same.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::health::{Health, HealthConfig};
use crate::logs::LogConfig;
use crate::restart::RestartPolicy;

/// A bind mount (`-v host:ctr[:ro]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindMount {
    pub source: PathBuf,
    pub destination: PathBuf,
    pub read_only: bool,
}

/// Limits, as the flags gave them (validated by the core when the spec is
/// built, re-applied by `update`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resources {
    pub memory: Option<String>,
    pub memory_swap: Option<String>,
    pub cpus: Option<String>,
    pub cpu_shares: Option<u64>,
    pub cpuset_cpus: Option<String>,
    pub pids_limit: Option<i64>,
}

/// `--network`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NetworkMode {
    /// A new, empty network namespace (loopback only).
    #[default]
    None,
    /// The host's network namespace.
    Host,
    /// A new network namespace on a bridge network (`networks[0]`,
    /// default `bridge`).
    Bridge,
    /// Another container's network namespace (`networks[0]` names it).
    Container,
}

/// What a container was asked to be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerConfig {
    /// 64 hex digits.
    pub id: String,
    /// Unique name (without docker's leading `/`).
    pub name: String,
    pub created: DateTime<Utc>,
    /// The image reference as given, and the image's id.
    pub image: String,
    pub image_id: String,
    /// The image store holding the image (its hold is released on rm).
    #[serde(default)]
    pub image_root: Option<PathBuf>,
    /// The image's unpacked layers, lowest first (the rootfs).
    pub layers: Vec<PathBuf>,
    /// The full command: entrypoint + cmd.
    pub command: Vec<String>,
    pub env: Vec<String>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
    pub hostname: Option<String>,
    pub binds: Vec<BindMount>,
    /// `--tmpfs /path[:options]`.
    pub tmpfs: Vec<String>,
    pub read_only: bool,
    pub network: NetworkMode,
    pub resources: Resources,
    pub restart_policy: RestartPolicy,
    /// `--rm`.
    pub auto_remove: bool,
    pub healthcheck: Option<HealthConfig>,
    pub log_config: LogConfig,
    pub stop_signal: i32,
    /// Seconds.
    pub stop_timeout: u64,
    /// `--init`: the built-in reaper as pid 1, the command under it.
    pub init: bool,
    pub interactive: bool,
    pub tty: bool,
    pub labels: BTreeMap<String, String>,
    /// Named and anonymous volumes (`-v NAME:/path`, `-v /path`,
    /// `--mount type=volume`).
    #[serde(default)]
    pub volumes: Vec<crate::volumes::VolumeMount>,
    /// The networks a `Bridge` container joins (the first when it starts).
    #[serde(default)]
    pub networks: Vec<String>,
    /// Capabilities, seccomp, devices, sysctls, limits, namespaces, block I/O.
    #[serde(default)]
    pub security: crate::security::SecurityConfig,
    /// `--ip`, `--mac-address`, `--network-alias`.
    #[serde(default)]
    pub endpoint: crate::network::EndpointRequest,
    /// `--stats-interval`, `--stats-retention` (older records: the defaults).
    #[serde(default)]
    pub stats_history: crate::history::HistoryConfig,
    /// `--storage-opt size=`: the writable layer's bound in bytes (a
    /// project quota; the layer then lives in `layer/upper`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_size: Option<u64>,
}

/// Lifecycle status (docker's `State.Status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
}

impl Status {
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Restarting => "restarting",
            Status::Removing => "removing",
            Status::Exited => "exited",
            Status::Dead => "dead",
        }
    }

    /// True while a container process may exist.
    pub fn is_active(&self) -> bool {
        matches!(self, Status::Running | Status::Paused | Status::Restarting)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened to a container (docker's `State`, plus what the engine
/// needs to check it: start times of the init and of the monitor).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContainerState {
    pub status: Status,
    /// Host pid of the container's init (0 when not running).
    pub pid: i32,
    /// Its start time (see [`crate::proc`]) to tell it from a reused pid.
    pub pid_start: u64,
    pub monitor_pid: i32,
    pub monitor_start: u64,
    pub exit_code: i32,
    /// Why the container could not start, if it could not.
    pub error: String,
    pub oom_killed: bool,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub restart_count: u32,
    /// `stop`/`kill` by a user: restart policies do not apply.
    pub manually_stopped: bool,
    pub health: Option<Health>,
    /// Log lines the monitor could not write (full disk).
    pub log_lines_dropped: u64,
    /// The boot (`/proc/sys/kernel/random/boot_id`) the recorded pids
    /// belong to: after a reboot they name other processes, if any.
    #[serde(default)]
    pub boot_id: String,
    /// Set by [`ContainerState::observed`] only: the init runs, its
    /// monitor does not.
    #[serde(skip)]
    pub monitor_gone: bool,
}

impl ContainerState {
    /// The status as it really is now: a record that says the container
    /// runs is checked against the monitor's and the init's liveness, so a
    /// monitor killed with SIGKILL cannot leave a container that looks
    /// alive forever.
    pub fn observed(&self) -> ContainerState {
        self.observed_with(crate::proc::is_alive)
    }

    /// As [`ContainerState::observed`], with whether a process (pid,
    /// start time) is alive told by `alive` (the metrics server asks its
    /// kept pidfds, see `crate::proc::Watch`).
    pub fn observed_with(&self, alive: impl Fn(i32, u64) -> bool) -> ContainerState {
        let mut s = self.clone();
        if !s.status.is_active() {
            return s;
        }
        let this_boot = s.boot_id.is_empty() || s.boot_id == crate::boot::current_boot_id();
        if !this_boot {
            s.status = Status::Exited;
            s.pid = 0;
            if s.error.is_empty() {
                s.error = "the host restarted while the container ran".into();
                s.exit_code = 255;
            }
            return s;
        }
        let init_alive = alive(s.pid, s.pid_start);
        let monitor_alive = alive(s.monitor_pid, s.monitor_start);
        // A live monitor records the exit itself (it may be reaping the
        // init right now): its record is the truth until it dies.
        match s.status {
            _ if monitor_alive => {}
            _ if init_alive => {
                // Still running, unwatched: say so rather than a silent
                // "Up" (see ARCHITECTURE.md, "killed monitor").
                s.monitor_gone = true;
                if s.error.is_empty() {
                    s.error = "the container's monitor died: its output is no longer logged and its exit code will be unknown; `cv stop`/`rm -f` still work, `cv system restart-policy` applies its restart policy once it ends".into();
                }
            }
            _ => {
                s.status = Status::Exited;
                s.pid = 0;
                if !monitor_alive && s.error.is_empty() {
                    s.error = "the container's monitor died; exit code unknown".into();
                    s.exit_code = -1;
                }
            }
        }
        s
    }

    /// `Up 5 seconds`, `Exited (0) 3 minutes ago`, `Created`: docker's
    /// STATUS column.
    pub fn describe(&self, now: DateTime<Utc>) -> String {
        let since = |t: Option<DateTime<Utc>>| {
            crate::duration::human((now - t.unwrap_or(now)).to_std().unwrap_or_default())
        };
        let health = match &self.health {
            Some(h) if self.status == Status::Running => format!(" ({})", h.status),
            _ => String::new(),
        };
        match self.status {
            Status::Created => "Created".into(),
            Status::Running if self.monitor_gone => {
                format!("Up {} (monitor gone)", since(self.started_at))
            }
            Status::Running => format!("Up {}{health}", since(self.started_at)),
            Status::Paused => format!("Up {} (Paused)", since(self.started_at)),
            Status::Restarting => format!(
                "Restarting ({}) {} ago",
                self.exit_code,
                since(self.finished_at)
            ),
            Status::Removing => "Removal In Progress".into(),
            // No end time (the monitor died before it saw the end):
            // no made-up "Less than a second ago".
            Status::Exited if self.finished_at.is_none() => format!("Exited ({})", self.exit_code),
            Status::Exited => format!(
                "Exited ({}) {} ago",
                self.exit_code,
                since(self.finished_at)
            ),
            Status::Dead => "Dead".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_running_record_with_a_dead_init_and_monitor_reads_exited() {
        let s = ContainerState {
            status: Status::Running,
            pid: i32::MAX - 1,
            pid_start: 12345,
            monitor_pid: i32::MAX - 2,
            monitor_start: 12345,
            ..Default::default()
        };
        let o = s.observed();
        assert_eq!(o.status, Status::Exited);
        assert_eq!(o.exit_code, -1);
        assert!(o.error.contains("monitor died"));
    }

    #[test]
    fn a_running_record_with_a_live_init_stays_running() {
        let me = std::process::id() as i32;
        let st = crate::proc::start_time(me).unwrap();
        let s = ContainerState {
            status: Status::Running,
            pid: me,
            pid_start: st,
            ..Default::default()
        };
        assert_eq!(s.observed().status, Status::Running);
    }

    #[test]
    fn describes_like_docker_ps() {
        let now = Utc::now();
        let s = ContainerState {
            status: Status::Exited,
            exit_code: 3,
            finished_at: Some(now - chrono::Duration::seconds(5)),
            ..Default::default()
        };
        assert_eq!(s.describe(now), "Exited (3) 5 seconds ago");
    }
}
