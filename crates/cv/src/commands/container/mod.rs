//! Container commands with docker's names and flags: `run`, `create`,
//! `start`, `stop`, `restart`, `kill`, `rm`, `ps`, `inspect`, `exec`,
//! `logs`, `stats`, `top`, `wait`, `cp`, `update`, `pause`, `unpause` at
//! top level, and `container <cmd>` (plus `ls` and `prune`). Parsing and
//! printing only: the engine does the work.

pub(crate) mod args;
mod attach;
mod attach_cmd;
mod cp;
mod events;
mod exec;
mod history_args;
mod logs;
mod network_args;
mod ps;
mod ps_filter;
mod ps_size;
mod rows;
mod security_args;
mod sigproxy;
mod stats;
mod stats_history;
mod top;
mod winsize;

use std::time::Duration;

use anyhow::bail;
use clap::{Args, Subcommand};
use containerv_engine::record::Resources;
use containerv_engine::signal::parse_signal;

pub use args::RunArgs;

use super::Context;

/// Container commands docker has at top level.
#[derive(Subcommand)]
pub enum TopLevel {
    /// Create and run a new container (no IMAGE: the built-in containerv/busybox).
    #[command(disable_help_flag = true)]
    Run(Box<RunCmd>),
    /// Create a new container.
    #[command(disable_help_flag = true)]
    Create(Box<RunArgs>),
    /// Start one or more stopped containers.
    Start {
        /// Attach: wait for the container and print its output.
        #[arg(short, long)]
        attach: bool,
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Stop one or more running containers.
    Stop(StopArgs),
    /// Restart one or more containers.
    Restart(StopArgs),
    /// Kill one or more running containers.
    Kill {
        /// Signal to send (default SIGKILL).
        #[arg(short, long, default_value = "KILL")]
        signal: String,
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Remove one or more containers.
    Rm {
        /// Force the removal of a running container (uses SIGKILL).
        #[arg(short, long)]
        force: bool,
        /// Remove the container's anonymous volumes too.
        #[arg(short, long)]
        volumes: bool,
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// List containers.
    Ps(ps::PsArgs),
    /// Display detailed information on containers (or images).
    Inspect {
        /// `json` (the default), or a template like `{{.State.Status}}`.
        #[arg(short, long)]
        format: Option<String>,
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Run a command in a running container.
    #[command(disable_help_flag = true)]
    Exec(exec::ExecArgs),
    /// Fetch the logs of a container.
    Logs(logs::LogsArgs),
    /// Display a live stream of container resource usage.
    Stats(stats::StatsArgs),
    /// Get real time events from the engine.
    Events(events::EventsArgs),
    /// List port mappings (or one port's) of a container.
    Port {
        container: String,
        /// PRIVATE_PORT[/PROTO]
        port: Option<String>,
    },
    /// Display the running processes of a container.
    Top {
        container: String,
        /// Accepted for docker compatibility (ps options are not used).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        ps_args: Vec<String>,
    },
    /// Block until containers stop, then print their exit codes.
    Wait {
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Copy files between a container and the host (CONTAINER:PATH either side).
    Cp { src: String, dest: String },
    /// Update the limits of containers.
    Update(UpdateArgs),
    /// Attach to a running container's output (until it stops).
    Attach {
        container: String,
        /// Proxy received signals to the container (not with -t).
        #[arg(long = "sig-proxy", default_value_t = true, action = clap::ArgAction::Set,
              num_args = 0..=1, default_missing_value = "true", require_equals = true)]
        sig_proxy: bool,
        /// Do not attach stdin (cv attaches output only: accepted).
        #[arg(long)]
        no_stdin: bool,
    },
    /// Rename a container.
    Rename { container: String, new_name: String },
    /// Pause all processes within containers.
    Pause {
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Unpause all processes within containers.
    Unpause {
        #[arg(required = true)]
        containers: Vec<String>,
    },
}

/// `cv container …`: the same commands, plus `ls` and `prune`.
#[derive(Subcommand)]
pub enum ContainerCmd {
    #[command(flatten)]
    Common(TopLevel),
    /// List containers.
    #[command(alias = "list")]
    Ls(ps::PsArgs),
    /// Remove all stopped containers.
    Prune {
        /// Do not prompt (cv never prompts).
        #[arg(short, long)]
        force: bool,
    },
}

#[derive(Args)]
pub struct RunCmd {
    /// Run in the background and print the container id.
    #[arg(short, long)]
    detach: bool,
    /// Proxy received signals to the container (not with -t).
    #[arg(long = "sig-proxy", default_value_t = true, action = clap::ArgAction::Set,
          num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    sig_proxy: bool,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Args)]
pub struct StopArgs {
    /// Seconds to wait before killing the container.
    #[arg(
        short = 't',
        long = "time",
        alias = "timeout",
        allow_hyphen_values = true
    )]
    time: Option<i64>,
    #[arg(required = true)]
    containers: Vec<String>,
}

impl StopArgs {
    fn timeout(&self) -> anyhow::Result<Option<Duration>> {
        match self.time {
            Some(t) if t < 0 => bail!("invalid --time {t}: must be 0 or more seconds"),
            Some(t) => Ok(Some(Duration::from_secs(t as u64))),
            None => Ok(None),
        }
    }
}

#[derive(Args)]
pub struct UpdateArgs {
    #[arg(short = 'm', long)]
    memory: Option<String>,
    #[arg(long = "memory-swap", allow_hyphen_values = true)]
    memory_swap: Option<String>,
    #[arg(long)]
    cpus: Option<String>,
    #[arg(short = 'c', long = "cpu-shares")]
    cpu_shares: Option<u64>,
    #[arg(long = "cpuset-cpus")]
    cpuset_cpus: Option<String>,
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pids_limit: Option<i64>,
    /// Restart policy: no, on-failure[:max], always, unless-stopped.
    #[arg(long)]
    restart: Option<String>,
    #[arg(required = true)]
    containers: Vec<String>,
}

/// Runs `f` on each container; prints what `ok` returns; fails at the end
/// if any failed (docker's behaviour for multi-container commands).
fn each(
    names: &[String],
    mut f: impl FnMut(&str) -> anyhow::Result<Option<String>>,
) -> anyhow::Result<()> {
    let mut failed = 0;
    for n in names {
        match f(n) {
            Ok(Some(out)) => println!("{out}"),
            Ok(None) => {}
            Err(e) => {
                eprintln!("Error: {}", crate::diag::chain(&e));
                failed += 1;
            }
        }
    }
    if failed > 0 {
        std::process::exit(1);
    }
    Ok(())
}

/// Like [`each`], with one thread per container (docker and podman stop,
/// kill and remove in parallel: 50 containers that ignore SIGTERM stop in
/// one timeout, not fifty). Output keeps the order of the arguments.
fn each_parallel(
    names: &[String],
    f: impl Fn(&str) -> anyhow::Result<Option<String>> + Sync,
) -> anyhow::Result<()> {
    if names.len() < 2 {
        return each(names, f);
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let mut failed = 0;
    std::thread::scope(|s| {
        for (i, n) in names.iter().enumerate() {
            let tx = tx.clone();
            let f = &f;
            s.spawn(move || {
                let _ = tx.send((i, f(n)));
            });
        }
        drop(tx);
        let mut done: Vec<Option<anyhow::Result<Option<String>>>> =
            names.iter().map(|_| None).collect();
        let mut next = 0;
        for (i, r) in rx {
            done[i] = Some(r);
            while next < done.len() {
                let Some(r) = done[next].take() else { break };
                match r {
                    Ok(Some(out)) => println!("{out}"),
                    Ok(None) => {}
                    Err(e) => {
                        eprintln!("Error: {}", crate::diag::chain(&e));
                        failed += 1;
                    }
                }
                next += 1;
            }
        }
    });
    if failed > 0 {
        std::process::exit(1);
    }
    Ok(())
}

pub fn run_container(ctx: &Context, c: ContainerCmd) -> anyhow::Result<()> {
    match c {
        ContainerCmd::Common(t) => run_top(ctx, t),
        ContainerCmd::Ls(a) => ps::ps(ctx, a),
        ContainerCmd::Prune { .. } => {
            let e = ctx.engine()?;
            println!("Deleted Containers:");
            for id in e.prune()? {
                println!("{id}");
            }
            Ok(())
        }
    }
}

/// Whether `c` makes a container (`run`, `create`): its errors exit 125.
/// Which exit-code rules apply to `c` (see `crate::exit`).
pub fn kind(c: &TopLevel) -> crate::exit::Kind {
    match c {
        TopLevel::Run(_) => crate::exit::Kind::Run,
        TopLevel::Create(_) => crate::exit::Kind::Create,
        _ => crate::exit::Kind::Other,
    }
}

pub fn run_top(ctx: &Context, c: TopLevel) -> anyhow::Result<()> {
    match c {
        TopLevel::Run(r) => attach::run(ctx, r.run, r.detach, r.sig_proxy),
        TopLevel::Create(r) => {
            let opts = r.options();
            crate::commands::image::pull_for_run(ctx, opts.image.as_deref(), r.pull)?;
            let e = ctx.engine()?;
            let id = e.create(&opts)?;
            println!("{id}");
            Ok(())
        }
        TopLevel::Start { attach, containers } => {
            let e = ctx.engine()?;
            if attach {
                if containers.len() != 1 {
                    bail!("start -a takes one container");
                }
                return attach::start_attached(ctx, &containers[0]);
            }
            each(&containers, |n| {
                e.start(n, false)?;
                Ok(Some(n.to_string()))
            })
        }
        TopLevel::Stop(a) => {
            let e = ctx.engine()?;
            let t = a.timeout()?;
            each_parallel(&a.containers, |n| {
                e.stop(n, t)?;
                Ok(Some(n.to_string()))
            })
        }
        TopLevel::Restart(a) => {
            let e = ctx.engine()?;
            let t = a.timeout()?;
            each_parallel(&a.containers, |n| {
                e.restart(n, t)?;
                Ok(Some(n.to_string()))
            })
        }
        TopLevel::Kill { signal, containers } => {
            let sig = parse_signal("--signal", &signal)?;
            let e = ctx.engine()?;
            each_parallel(&containers, |n| {
                e.kill(n, sig)?;
                Ok(Some(n.to_string()))
            })
        }
        TopLevel::Rm {
            force,
            volumes,
            containers,
        } => {
            let e = ctx.engine()?;
            each_parallel(&containers, |n| {
                e.remove_with_volumes(n, force, volumes)?;
                Ok(Some(n.to_string()))
            })
        }
        TopLevel::Ps(a) => ps::ps(ctx, a),
        TopLevel::Inspect { format, names } => ps::inspect(ctx, &names, format.as_deref()),
        TopLevel::Exec(a) => exec::exec(ctx, a),
        TopLevel::Logs(a) => logs::logs(ctx, a),
        TopLevel::Stats(a) => stats::stats(ctx, a),
        TopLevel::Events(a) => events::events(ctx, a),
        TopLevel::Top { container, .. } => top::top(ctx, &container),
        TopLevel::Port { container, port } => port_cmd(ctx, &container, port.as_deref()),
        TopLevel::Wait { containers } => {
            let e = ctx.engine()?;
            each(&containers, |n| Ok(Some(e.wait(n)?.to_string())))
        }
        TopLevel::Cp { src, dest } => cp::cp(ctx, &src, &dest),
        TopLevel::Update(a) => {
            let e = ctx.engine()?;
            let r = Resources {
                memory: a.memory.clone(),
                memory_swap: a.memory_swap.clone(),
                cpus: a.cpus.clone(),
                cpu_shares: a.cpu_shares,
                cpuset_cpus: a.cpuset_cpus.clone(),
                pids_limit: a.pids_limit,
            };
            if r == Resources::default() && a.restart.is_none() {
                bail!("update: give at least one of --memory, --memory-swap, --cpus, --cpu-shares, --cpuset-cpus, --pids-limit, --restart");
            }
            each(&a.containers, |n| {
                e.update_with(n, &r, a.restart.as_deref())?;
                Ok(Some(n.to_string()))
            })
        }
        TopLevel::Attach {
            container,
            sig_proxy,
            no_stdin: _,
        } => attach_cmd::attach(ctx, &container, sig_proxy),
        TopLevel::Rename {
            container,
            new_name,
        } => Ok(ctx.engine()?.store.rename(&container, &new_name)?),
        TopLevel::Pause { containers } => {
            let e = ctx.engine()?;
            each(&containers, |n| {
                e.set_paused(n, true)?;
                Ok(Some(n.to_string()))
            })
        }
        TopLevel::Unpause { containers } => {
            let e = ctx.engine()?;
            each(&containers, |n| {
                e.set_paused(n, false)?;
                Ok(Some(n.to_string()))
            })
        }
    }
}

/// `cv port`: docker's `80/tcp -> 0.0.0.0:8080` lines, or with a port
/// only `0.0.0.0:8080`.
fn port_cmd(ctx: &Context, container: &str, which: Option<&str>) -> anyhow::Result<()> {
    let e = ctx.engine()?;
    let id = e.store.resolve(container)?;
    let want = which.map(|w| match w.split_once('/') {
        Some((p, proto)) => (p.to_string(), proto.to_ascii_lowercase()),
        None => (w.to_string(), "tcp".to_string()),
    });
    let mut found = false;
    for p in containerv_engine::network::ops::ports_of(e.store.root(), &id) {
        // docker: `0.0.0.0:8080`, `[::]:8080`.
        let host = match p.host_ip {
            Some(a) if a.is_ipv6() => format!("[{a}]:{}", p.host_port),
            _ => format!(
                "{}:{}",
                containerv_engine::network::ops::host_ip_text(&p),
                p.host_port
            ),
        };
        match &want {
            Some((wp, wproto)) => {
                if *wp == p.container_port.to_string() && *wproto == p.proto {
                    println!("{host}");
                    found = true;
                }
            }
            None => println!("{}/{} -> {host}", p.container_port, p.proto),
        }
    }
    if let (Some(w), false) = (which, found) {
        anyhow::bail!("no public port '{w}' published for {container}");
    }
    Ok(())
}
