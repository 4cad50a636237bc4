//! `cv logs`: reads the container's log files directly (no process to ask),
//! with `-f` following across rotations until the container stops.

use std::io::Write;

use chrono::Utc;
use clap::Args;
use containerv_engine::logs::{format_entry, parse_time_filter, read_logs, ReadOptions, Stream};

use super::super::Context;

#[derive(Args)]
pub struct LogsArgs {
    /// Follow log output.
    #[arg(short, long)]
    follow: bool,
    /// Show logs since a timestamp (RFC 3339 or Unix) or relative (e.g. 42m).
    #[arg(long)]
    since: Option<String>,
    /// Show logs before a timestamp or relative time.
    #[arg(long)]
    until: Option<String>,
    /// Number of lines to show from the end ("all" for every line).
    #[arg(short = 'n', long)]
    tail: Option<String>,
    /// Show timestamps.
    #[arg(short, long)]
    timestamps: bool,
    container: String,
}

pub fn logs(ctx: &Context, a: LogsArgs) -> anyhow::Result<()> {
    let e = ctx.engine()?;
    let id = e.store.resolve(&a.container)?;
    let config = e.store.load_config(&id)?;
    let now = Utc::now();
    let tail = match a.tail.as_deref() {
        None | Some("all") => None,
        Some(t) => Some(t.parse::<i64>().ok().filter(|n| *n >= -1).ok_or_else(|| {
            anyhow::anyhow!("invalid --tail {t:?}: expected a number of lines or \"all\"")
        })?),
    }
    .and_then(|n| (n >= 0).then_some(n as usize));
    let opts = ReadOptions {
        since: a
            .since
            .as_deref()
            .map(|s| parse_time_filter("--since", s, now))
            .transpose()?,
        until: a
            .until
            .as_deref()
            .map(|s| parse_time_filter("--until", s, now))
            .transpose()?,
        tail,
        follow: a.follow,
        poll: None,
    };
    let store = e.store.clone();
    let running = move || {
        store
            .load_state(&id)
            .map(|s| s.observed().status.is_active())
            .unwrap_or(false)
    };
    let id = e.store.resolve(&a.container)?;
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr();
    let mut buf = Vec::new();
    read_logs(
        &e.store.dir(&id),
        &id,
        &config.log_config,
        &opts,
        &running,
        &mut |entry| {
            buf.clear();
            format_entry(entry, a.timestamps, &mut buf);
            match entry.stream {
                Stream::Stdout => out.write_all(&buf).and_then(|_| out.flush()),
                Stream::Stderr => err.write_all(&buf),
            }
        },
    )?;
    Ok(())
}
