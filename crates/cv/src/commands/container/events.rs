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
use containerv_engine::events::{Event, Filter, Follower};
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
    /// Filter as docker: container=, event=, type=, label=, image=,
    /// network=, volume=, daemon=, scope=, plugin= (KEY=VALUE, repeatable).
    #[arg(short, long)]
    filter: Vec<String>,
    /// `json`, or a Go template over docker's event (`{{.Type}}`,
    /// `{{.Action}}`, `{{.Actor.ID}}`, `{{.Actor.Attributes.name}}`,
    /// `{{.Time}}`, `{{json .}}`, ...).
    #[arg(long)]
    format: Option<String>,
}

fn nanos(t: DateTime<Utc>) -> i64 {
    t.timestamp_nanos_opt().unwrap_or(i64::MAX)
}

/// docker's default line: `TIME TYPE ACTION ID (k=v, ...)`, the time
/// local with nanoseconds (`Z` when the zone is UTC), the attributes
/// sorted, no parentheses without attributes (docker's
/// `prettyPrintEvent`).
fn plain(e: &Event) -> String {
    let t = DateTime::from_timestamp(
        e.time_nano.div_euclid(1_000_000_000),
        e.time_nano.rem_euclid(1_000_000_000) as u32,
    )
    .unwrap_or_default()
    .with_timezone(&chrono::Local)
    .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    let mut line = format!("{t} {} {} {}", e.kind, e.action, e.actor.id);
    if !e.actor.attributes.is_empty() {
        let attrs: Vec<String> = e
            .actor
            .attributes
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        line.push_str(&format!(" ({})", attrs.join(", ")));
    }
    line
}

/// What a `--format` template sees: docker's `events.Message` by its Go
/// field names (`.Status`, `.ID`, `.From`, `.Type`, `.Action`,
/// `.Actor.ID`, `.Actor.Attributes`, `.Scope`, `.Time`, `.TimeNano`),
/// empty strings where the JSON omits a field.
fn template_data(e: &Event) -> serde_json::Value {
    serde_json::json!({
        "Status": e.status.clone().unwrap_or_default(),
        "ID": e.id.clone().unwrap_or_default(),
        "From": e.from.clone().unwrap_or_default(),
        "Type": e.kind,
        "Action": e.action,
        "Actor": {"ID": e.actor.id, "Attributes": e.actor.attributes},
        "Scope": e.scope,
        "Time": e.time,
        "TimeNano": e.time_nano,
    })
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
    if let (Some(s), Some(u)) = (since, until) {
        if u < s {
            anyhow::bail!(
                "`since` time ({}) cannot be after `until` time ({})",
                a.since.as_deref().unwrap_or_default(),
                a.until.as_deref().unwrap_or_default()
            );
        }
    }
    let template = match &a.format {
        Some(f) if !is_json(&a.format) => {
            // As docker: the template is tried on an empty event first, so
            // a bad one fails at once (64), not at the first event.
            let bad = |e: containerv_engine::template::TemplateError| crate::exit::StatusError {
                code: 64,
                message: format!("Error parsing format: {e}"),
            };
            let t = Template::parse_for("--format", f)
                .map_err(bad)?
                .with_maps(&["Attributes"]);
            let empty = Event::new("", "", "", Default::default());
            t.render(&template_data(&empty)).map_err(bad)?;
            Some(t)
        }
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
            Some(t) => t.render(&template_data(ev))?,
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
        for ev in follow.stored()? {
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
