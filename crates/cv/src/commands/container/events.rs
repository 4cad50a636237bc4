//! `cv events`: the engine's events (`containerv_engine::events`) as
//! docker prints them. Without `--until` it prints the stored events
//! since `--since` (none without it, as docker) and then streams new ones
//! until interrupted; with `--until` it stops at that time (at once when
//! it is past). `--filter` with docker's keys; `--format json` one
//! docker-shaped JSON object a line, or a template over that object.

use std::io::Write;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::Args;
use containerv_engine::events::{read_all, Event, Filter, Follower};
use containerv_engine::logs::parse_time_filter;

use super::super::Context;
use crate::output::is_json;
use crate::template::Template;

#[derive(Args)]
pub struct EventsArgs {
    /// Show events created since this time (RFC 3339, Unix time, or
    /// relative such as 10m).
    #[arg(long)]
    since: Option<String>,
    /// Stream events until this time (same forms as --since).
    #[arg(long)]
    until: Option<String>,
    /// Filter (container=, event=, type=, label=, image=, network=, volume=).
    #[arg(short, long)]
    filter: Vec<String>,
    /// `json`, or a template such as `{{.Action}} {{.Actor.ID}}`.
    #[arg(long)]
    format: Option<String>,
}

fn nanos(t: DateTime<Utc>) -> i64 {
    t.timestamp_nanos_opt().unwrap_or(i64::MAX)
}

/// docker's default line: `TIME TYPE ACTION ID (k=v, ...)`.
fn plain(e: &Event) -> String {
    let t = DateTime::from_timestamp(
        e.time_nano / 1_000_000_000,
        (e.time_nano % 1_000_000_000) as u32,
    )
    .unwrap_or_default()
    .with_timezone(&chrono::Local);
    let attrs: Vec<String> = e
        .actor
        .attributes
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    format!(
        "{} {} {} {} ({})",
        t.format("%Y-%m-%dT%H:%M:%S%.9f%:z"),
        e.kind,
        e.action,
        e.actor.id,
        attrs.join(", ")
    )
}

pub fn events(ctx: &Context, a: EventsArgs) -> anyhow::Result<()> {
    let now = Utc::now();
    let since = a
        .since
        .as_deref()
        .map(|s| parse_time_filter("--since", s, now))
        .transpose()?;
    let until = a
        .until
        .as_deref()
        .map(|s| parse_time_filter("--until", s, now))
        .transpose()?;
    let filter = Filter::parse(&a.filter)?;
    let template = match &a.format {
        Some(f) if !is_json(&a.format) => Some(Template::parse(f)?),
        _ => None,
    };
    let e = ctx.engine()?;
    let root = e.store.root().to_path_buf();
    let until_ns = until.map(nanos);
    let mut out = std::io::stdout().lock();
    let mut print = |ev: &Event| -> anyhow::Result<()> {
        if !filter.matches(ev) {
            return Ok(());
        }
        let line = match &template {
            Some(t) => t.render(&serde_json::to_value(ev)?)?,
            None if is_json(&a.format) => serde_json::to_string(ev)?,
            None => plain(ev),
        };
        writeln!(out, "{line}")?;
        out.flush()?;
        Ok(())
    };
    // Follow from here on; what is stored is read first.
    let mut follow = Follower::at_end(&root);
    if since.is_some() || until.is_some() {
        let from = since.map_or(i64::MIN, nanos);
        for ev in read_all(&root)? {
            if ev.time_nano >= from && until_ns.is_none_or(|u| ev.time_nano <= u) {
                print(&ev)?;
            }
        }
    }
    loop {
        if until_ns.is_some_and(|u| nanos(Utc::now()) > u) {
            // One last look for what was written up to `until`.
            for ev in follow.poll() {
                if until_ns.is_none_or(|u| ev.time_nano <= u) {
                    print(&ev)?;
                }
            }
            return Ok(());
        }
        for ev in follow.poll() {
            if until_ns.is_none_or(|u| ev.time_nano <= u) {
                print(&ev)?;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
