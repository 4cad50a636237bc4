//! `cv system df`: disk usage (images part for now).

use clap::Subcommand;

use super::Context;
use crate::output::{human_size, is_json, table};

#[derive(Subcommand)]
pub enum SystemCmd {
    /// Show disk usage.
    Df {
        /// `json` for machine-readable output.
        #[arg(long)]
        format: Option<String>,
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
}

pub fn run(ctx: &Context, cmd: SystemCmd) -> anyhow::Result<()> {
    match cmd {
        SystemCmd::Df { format } => {
            let du = ctx.images()?.disk_usage()?;
            if is_json(&format) {
                println!("{}", serde_json::to_string_pretty(&du)?);
            } else {
                table(
                    &["TYPE", "TOTAL", "SIZE", "RECLAIMABLE"],
                    &[
                        vec![
                            "Images".into(),
                            du.images.to_string(),
                            human_size(du.blob_bytes),
                            human_size(du.blob_bytes),
                        ],
                        vec![
                            "Unpacked layers".into(),
                            du.layers.to_string(),
                            human_size(du.layer_bytes),
                            human_size(du.layer_bytes),
                        ],
                    ],
                );
            }
            Ok(())
        }
        SystemCmd::Check { repair } => super::system_check::check(ctx, repair),
        SystemCmd::RestartPolicy => super::system_check::restart_policy(ctx),
    }
}
