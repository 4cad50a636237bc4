//! `run`/`create` flags of the stats history (containerv's own: docker
//! keeps none): how often the container's monitor samples it and how far
//! back its ring reaches (`containerv_engine::history`).

use clap::Args;
use containerv_engine::history::HistoryOptions;

#[derive(Args, Debug, Clone, Default)]
pub struct HistoryArgs {
    /// Sample the container's stats this often for `cv stats --history`
    /// (100ms to 1h, default 1s; 0 keeps no history).
    #[arg(long = "stats-interval")]
    pub stats_interval: Option<String>,
    /// How far back the stats history reaches (default 1h; at most 36000
    /// samples).
    #[arg(long = "stats-retention")]
    pub stats_retention: Option<String>,
}

impl HistoryArgs {
    pub fn options(&self) -> HistoryOptions {
        HistoryOptions {
            interval: self.stats_interval.clone(),
            retention: self.stats_retention.clone(),
        }
    }
}
