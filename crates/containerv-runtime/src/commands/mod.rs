//! One module per group of commands; `dispatch` maps the parsed command
//! line onto them. Each returns the process exit code.

mod events;
mod exec;
mod features;
mod lifecycle;
mod query;
mod spec;
mod update;

use containerv::{Container, Runtime, Status};

use crate::cli::{Cli, Command};
use crate::error::{fail, Result};

/// The runtime-spec version this CLI implements (`--version`, `state`).
pub const SPEC_VERSION: &str = "1.2.0";

pub fn dispatch(cli: &Cli) -> Result<i32> {
    let Some(cmd) = &cli.command else {
        use clap::CommandFactory;
        let _ = Cli::command().print_help();
        return Ok(0);
    };
    match cmd {
        Command::Create(a) => lifecycle::create(cli, a),
        Command::Start { id } => lifecycle::start(cli, id),
        Command::Run(a) => lifecycle::run(cli, a),
        Command::Kill { all, id, signal } => lifecycle::kill(cli, id, signal, *all),
        Command::Delete { force, id } => lifecycle::delete(cli, id, *force),
        Command::Pause { id } => lifecycle::pause(cli, id),
        Command::Resume { id } => lifecycle::resume(cli, id),
        Command::State { id } => query::state(cli, id),
        Command::List { format, quiet } => query::list(cli, *format, *quiet),
        Command::Ps {
            format,
            id,
            ps_args,
        } => query::ps(cli, id, *format, ps_args),
        Command::Exec(a) => exec::exec(cli, a),
        Command::Events {
            stats,
            interval,
            id,
        } => events::events(cli, id, *stats, interval),
        Command::Update(a) => update::update(cli, a),
        Command::Features => features::features(),
        Command::Spec { bundle } => spec::spec(
            bundle.as_deref(),
            cli.rootless.as_deref().is_some_and(|r| r == "true"),
        ),
    }
}

/// The runtime at `--root` (created if missing, like runc).
fn runtime(cli: &Cli) -> Result<Runtime> {
    Ok(Runtime::new(&cli.root)?)
}

/// Open container `id` under `--root`.
fn open(cli: &Cli, id: &str) -> Result<Container> {
    Ok(runtime(cli)?.open(id)?)
}

/// The container's status now.
fn status(c: &Container) -> Result<Status> {
    Ok(c.state()?.status)
}

/// Fails with runc's "container not running" unless the init is alive.
fn require_alive(c: &Container) -> Result<Status> {
    match status(c)? {
        Status::Stopped => fail("container not running"),
        s => Ok(s),
    }
}

/// Before making or entering a container: re-execute from a binary that
/// cannot be written through (a read-only mount, or a sealed copy), so
/// no container process can rewrite the host's runtime through the
/// `/proc/<pid>/exe` of a process of ours that entered the container
/// (CVE-2019-5736, see `containerv::linux::exeseal`).
fn seal() -> Result<()> {
    if !containerv::linux::exeseal::is_sealed() {
        crate::log::debug(|| "re-executing from a sealed copy".into());
    }
    // Re-executes, or in the re-executed image lets go of the detached
    // mount off the critical path.
    containerv::linux::exeseal::ensure_sealed()?;
    Ok(())
}
