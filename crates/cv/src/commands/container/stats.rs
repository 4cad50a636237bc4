//! `cv stats`: docker's live table (CPU %, memory use / limit, net and
//! block I/O, pids), refreshed every second; `--no-stream` prints one
//! table; `--format json` one JSON object per container and sample.
//! CPU % needs two samples: each container's core handle is kept open
//! between refreshes (the first table waits a second for a delta);
//! `--no-stream` samples once and shows the average since the start.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use clap::Args;
use serde_json::{json, Value};

use super::super::Context;
use super::rows::print_rows;
use crate::output::{human_size, is_json};

#[derive(Args)]
pub struct StatsArgs {
    /// Show all containers (default shows just running).
    #[arg(short, long)]
    pub(super) all: bool,
    /// Print one table and exit.
    #[arg(long = "no-stream")]
    no_stream: bool,
    /// `json`, or a template such as `{{.Name}} {{.CPUPerc}}`.
    #[arg(long)]
    pub(super) format: Option<String>,
    /// Do not truncate ids.
    #[arg(long = "no-trunc")]
    pub(super) no_trunc: bool,
    /// Print the samples the containers' monitors kept over the last
    /// DURATION (e.g. 5m) instead of live figures.
    #[arg(
        long,
        value_name = "DURATION",
        allow_hyphen_values = true,
        value_parser = super::stats_history::parse_window
    )]
    pub(super) history: Option<Duration>,
    pub(super) containers: Vec<String>,
}

struct Target {
    id: String,
    name: String,
    core: Option<containerv::Container>,
    /// When its init started (for `--no-stream`'s CPU %).
    started: Option<chrono::DateTime<chrono::Utc>>,
}

/// `--no-stream` takes one sample: CPU % is the average since the
/// container started (podman's first sample), so 50 containers cost one
/// read each instead of a one-second wait for deltas.
fn cpu_since_start(t: &Target, s: &mut containerv::Stats) {
    let Some(start) = t.started else { return };
    let ran = (chrono::Utc::now() - start).num_nanoseconds().unwrap_or(0);
    if ran > 0 {
        s.cpu_percent = s.cpu_time_ns as f64 * 100.0 / ran as f64;
    }
}

fn row(t: &Target, s: &containerv::Stats, no_trunc: bool) -> Value {
    sample_row(&t.id, &t.name, s, no_trunc)
}

/// docker's `stats` row of one sample.
pub(super) fn sample_row(id: &str, name: &str, s: &containerv::Stats, no_trunc: bool) -> Value {
    let limit = s
        .memory_limit
        .unwrap_or_else(|| containerv::limits::host_memory_bytes().unwrap_or(0));
    let mem_pct = if limit > 0 {
        s.memory_usage as f64 * 100.0 / limit as f64
    } else {
        0.0
    };
    json!({
        "ID": if no_trunc { id } else { &id[..12] },
        "Container": if no_trunc { id } else { &id[..12] },
        "Name": name,
        "CPUPerc": format!("{:.2}%", s.cpu_percent),
        "MemUsage": format!("{} / {}", human_bin(s.memory_usage), human_bin(limit)),
        "MemPerc": format!("{mem_pct:.2}%"),
        "NetIO": format!("{} / {}", human_size(s.net_rx_bytes), human_size(s.net_tx_bytes)),
        "BlockIO": format!("{} / {}", human_size(s.read_bytes), human_size(s.write_bytes)),
        "PIDs": s.total_processes.to_string(),
    })
}

/// Docker prints memory in binary units (`1.5MiB`).
fn human_bin(n: u64) -> String {
    const U: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1024.0 && i < U.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{n}B")
    } else {
        format!("{v:.2}{}", U[i])
    }
}

/// The containers `stats` reports on: those named, else the running ones
/// (every one with `-a`). Shared by the live table and `--history`.
pub(super) fn target_ids(
    e: &containerv_engine::Engine,
    a: &StatsArgs,
) -> anyhow::Result<Vec<String>> {
    Ok(if a.containers.is_empty() {
        e.store
            .list()?
            .into_iter()
            .filter(|x| a.all || x.state.observed().status.is_active())
            .map(|x| x.config.id)
            .collect()
    } else {
        a.containers
            .iter()
            .map(|n| e.store.resolve(n))
            .collect::<Result<_, _>>()?
    })
}

pub fn stats(ctx: &Context, a: StatsArgs) -> anyhow::Result<()> {
    let e = ctx.engine()?;
    if let Some(window) = a.history {
        return super::stats_history::print(&e, &a, window);
    }
    let mut targets: Vec<Target> = Vec::new();
    let ids = target_ids(&e, &a)?;
    for id in ids {
        let name = e.store.load_config(&id)?.name;
        let core = e.core(&id).ok();
        let started = e.store.load_state(&id).ok().and_then(|s| s.started_at);
        targets.push(Target {
            id,
            name,
            core,
            started,
        });
    }
    if !a.no_stream {
        // Prime the CPU deltas.
        for t in &targets {
            if let Some(c) = &t.core {
                let _ = c.stats();
            }
        }
        // A second, as docker: quota periods are 100 ms, shorter windows jitter.
        std::thread::sleep(Duration::from_secs(1));
    }
    let live = !a.no_stream && !is_json(&a.format) && std::io::stdout().is_terminal();
    loop {
        let mut rows = Vec::new();
        for t in &targets {
            let mut s = t
                .core
                .as_ref()
                .and_then(|c| c.stats().ok())
                .unwrap_or_default();
            if a.no_stream {
                cpu_since_start(t, &mut s);
            }
            rows.push(row(t, &s, a.no_trunc));
        }
        let mut out = std::io::stdout().lock();
        if live {
            write!(out, "\x1b[2J\x1b[H")?;
        }
        drop(out);
        print_rows(
            &rows,
            &a.format,
            &[
                ("Container", "CONTAINER ID"),
                ("Name", "NAME"),
                ("CPUPerc", "CPU %"),
                ("MemUsage", "MEM USAGE / LIMIT"),
                ("MemPerc", "MEM %"),
                ("NetIO", "NET I/O"),
                ("BlockIO", "BLOCK I/O"),
                ("PIDs", "PIDS"),
            ],
        )?;
        if a.no_stream {
            return Ok(());
        }
        std::io::stdout().flush()?;
        std::thread::sleep(Duration::from_secs(1));
        // Containers that stopped drop out of the live view.
        targets.retain(|t| {
            e.store
                .load_state(&t.id)
                .map(|s| a.all || s.observed().status.is_active())
                .unwrap_or(false)
        });
        if targets.is_empty() && !a.all {
            return Ok(());
        }
    }
}
