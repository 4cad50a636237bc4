//! The flags of `cv run` / `cv create`, with docker's names, and their
//! translation into the engine's [`RunOptions`] (which validates them).

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use containerv_engine::RunOptions;

/// `cv run` / `cv create` flags. `-h` is `--hostname`, as in docker, so
/// help is `--help` only.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Assign a name to the container.
    #[arg(long)]
    pub name: Option<String>,
    /// Remove the container when it exits.
    #[arg(long)]
    pub rm: bool,
    /// Set environment variables (KEY=VALUE, or KEY to copy ours).
    #[arg(short = 'e', long = "env")]
    pub env: Vec<String>,
    /// Read environment variables from a file.
    #[arg(long = "env-file")]
    pub env_file: Vec<PathBuf>,
    /// Working directory inside the container.
    #[arg(short = 'w', long)]
    pub workdir: Option<String>,
    /// User (name|uid[:group|gid]).
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// Container host name.
    #[arg(short = 'h', long)]
    pub hostname: Option<String>,
    /// Mount a volume (NAME:/container[:ro], /host:/container[:ro], or /container for an anonymous one).
    #[arg(short = 'v', long = "volume")]
    pub volume: Vec<String>,
    /// Attach a filesystem mount (type=volume|bind,src=…,dst=…[,readonly]).
    #[arg(long)]
    pub mount: Vec<String>,
    /// Mount a tmpfs directory (/path[:options]).
    #[arg(long)]
    pub tmpfs: Vec<String>,
    /// Mount the container's root filesystem as read only.
    #[arg(long = "read-only")]
    pub read_only: bool,
    /// Memory limit (e.g. 256m, 1g).
    #[arg(short = 'm', long)]
    pub memory: Option<String>,
    /// Memory + swap limit; -1 for unlimited swap.
    #[arg(long = "memory-swap", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Number of CPUs (e.g. 0.5).
    #[arg(long)]
    pub cpus: Option<String>,
    /// CPU shares (relative weight).
    #[arg(short = 'c', long = "cpu-shares", allow_hyphen_values = true)]
    pub cpu_shares: Option<i64>,
    /// CPUs in which to allow execution (0-3, 0,1).
    #[arg(long = "cpuset-cpus")]
    pub cpuset_cpus: Option<String>,
    /// Tune container pids limit (-1 for unlimited).
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Network: bridge (default), none, host or a network's name.
    #[arg(long, alias = "net")]
    pub network: Option<String>,
    #[command(flatten)]
    pub net: super::network_args::NetworkArgs,
    /// Restart policy: no, on-failure[:max], always, unless-stopped.
    #[arg(long)]
    pub restart: Option<String>,
    /// Command to run to check health.
    #[arg(long = "health-cmd")]
    pub health_cmd: Option<String>,
    /// Time between running the check (e.g. 30s).
    #[arg(long = "health-interval")]
    pub health_interval: Option<String>,
    /// Maximum time to allow one check to run.
    #[arg(long = "health-timeout")]
    pub health_timeout: Option<String>,
    /// Consecutive failures needed to report unhealthy.
    #[arg(long = "health-retries", allow_hyphen_values = true)]
    pub health_retries: Option<i64>,
    /// Start period during which failures do not count.
    #[arg(long = "health-start-period")]
    pub health_start_period: Option<String>,
    /// Disable any container-specified HEALTHCHECK.
    #[arg(long = "no-healthcheck")]
    pub no_healthcheck: bool,
    /// Storage driver options for the container: size=SIZE bounds its
    /// writable layer (a project quota: xfs pquota or ext4 prjquota).
    #[arg(long = "storage-opt")]
    pub storage_opt: Vec<String>,
    /// Logging driver: json-file (default), local, none.
    #[arg(long = "log-driver")]
    pub log_driver: Option<String>,
    /// Log driver options (max-size, max-file, compress).
    #[arg(long = "log-opt")]
    pub log_opt: Vec<String>,
    /// Signal to stop the container.
    #[arg(long = "stop-signal")]
    pub stop_signal: Option<String>,
    /// Timeout (in seconds) to stop a container.
    #[arg(long = "stop-timeout", allow_hyphen_values = true)]
    pub stop_timeout: Option<i64>,
    /// Run an init inside the container that forwards signals and reaps processes.
    #[arg(long)]
    pub init: bool,
    /// Keep STDIN open.
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY.
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Set metadata (KEY=VALUE).
    #[arg(short = 'l', long = "label")]
    pub label: Vec<String>,
    /// Overwrite the image's entrypoint.
    #[arg(long)]
    pub entrypoint: Option<String>,
    #[command(flatten)]
    pub security: super::security_args::SecurityArgs,
    #[command(flatten)]
    pub history: super::history_args::HistoryArgs,
    /// Pull the image before running ("always", "missing", "never").
    #[arg(long, value_enum, default_value_t = PullPolicy::Missing)]
    pub pull: PullPolicy,
    /// Print help.
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    /// IMAGE [COMMAND [ARG...]] (no IMAGE: the built-in containerv/busybox).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "IMAGE [COMMAND]"
    )]
    pub args: Vec<String>,
}

/// docker's `--pull` of `run` and `create`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PullPolicy {
    /// Pull every time.
    Always,
    /// Pull when the image is not in the store.
    Missing,
    /// Never pull: a missing image is an error.
    Never,
}

impl RunArgs {
    pub fn options(&self) -> RunOptions {
        let mut args = self.args.iter();
        RunOptions {
            name: self.name.clone(),
            storage_opts: self.storage_opt.clone(),
            image: args.next().cloned(),
            command: args.cloned().collect(),
            entrypoint: self.entrypoint.clone(),
            env: self.env.clone(),
            env_files: self.env_file.clone(),
            workdir: self.workdir.clone(),
            user: self.user.clone(),
            hostname: self.hostname.clone(),
            volumes: self.volume.clone(),
            mounts: self.mount.clone(),
            tmpfs: self.tmpfs.clone(),
            read_only: self.read_only,
            memory: self.memory.clone(),
            memory_swap: self.memory_swap.clone(),
            cpus: self.cpus.clone(),
            cpu_shares: self.cpu_shares,
            cpuset_cpus: self.cpuset_cpus.clone(),
            pids_limit: self.pids_limit,
            network: self.network.clone(),
            net: self.net.flags(),
            restart: self.restart.clone(),
            rm: self.rm,
            health_cmd: self.health_cmd.clone(),
            health_interval: self.health_interval.clone(),
            health_timeout: self.health_timeout.clone(),
            health_start_period: self.health_start_period.clone(),
            health_retries: self.health_retries,
            no_healthcheck: self.no_healthcheck,
            log_driver: self.log_driver.clone(),
            log_opts: self.log_opt.clone(),
            stop_signal: self.stop_signal.clone(),
            stop_timeout: self.stop_timeout,
            init: self.init,
            interactive: self.interactive,
            tty: self.tty,
            labels: self.label.clone(),
            security: self.security.options(),
            history: self.history.options(),
        }
    }
}
