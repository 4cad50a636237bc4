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
    }
}
