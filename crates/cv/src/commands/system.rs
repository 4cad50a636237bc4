//! `cv system df|prune|reset|check|restart-policy`.

use clap::Subcommand;

use super::Context;

#[derive(Subcommand)]
pub enum SystemCmd {
    /// Show disk usage.
    Df {
        /// `json` for machine-readable output.
        #[arg(long)]
        format: Option<String>,
        /// Show detailed information on space usage.
        #[arg(short, long)]
        verbose: bool,
    },
    /// Remove stopped containers, unused networks, dangling images (and
    /// with --volumes unused anonymous volumes).
    Prune {
        /// Remove all unused images, not just dangling ones (and named
        /// volumes with --volumes).
        #[arg(short, long)]
        all: bool,
        /// Prune volumes too.
        #[arg(long)]
        volumes: bool,
        /// Do not prompt (cv never prompts).
        #[arg(short, long)]
        force: bool,
    },
    /// Remove every container and network of this engine, the default
    /// bridge network's Linux bridge too (podman's `system reset`; images
    /// live in their own store and are kept: `cv image prune -a`).
    Reset {
        /// Do not prompt (cv never prompts).
        #[arg(short, long)]
        force: bool,
    },
    /// Check the store for what a killed command or a reboot left (unfinished
    /// creates and removals, names, image holds and runtime state of no
    /// container, unreadable records); exit 1 if anything is left unrepaired.
    Check {
        /// Repair what can be repaired (unreadable records: `cv rm -f` them).
        #[arg(long)]
        repair: bool,
    },
    /// The boot step (contrib/systemd/cv-restart.service): reconcile records
    /// with the reboot and start every container whose restart policy says so
    /// (always; unless-stopped and on-failure unless a user stopped it).
    RestartPolicy,
    /// Prometheus text of every running container (cAdvisor's names), once
    /// on stdout or served with `--listen ADDR`.
    Metrics(super::metrics::MetricsArgs),
}

pub fn run(ctx: &Context, cmd: SystemCmd) -> anyhow::Result<()> {
    match cmd {
        SystemCmd::Df { format, verbose } => super::system_df::df(ctx, verbose, format),
        SystemCmd::Prune {
            all,
            volumes,
            force: _,
        } => super::system_prune::prune(ctx, all, volumes),
        SystemCmd::Reset { force: _ } => super::system_prune::reset(ctx),
        SystemCmd::Check { repair } => super::system_check::check(ctx, repair),
        SystemCmd::RestartPolicy => super::system_check::restart_policy(ctx),
        SystemCmd::Metrics(a) => super::metrics::run(ctx, a),
    }
}
