//! `cv ps` (docker's columns, `-a`, `-q`, `--no-trunc`, `--format json`
//! or a `{{.Field}}` template) and `cv inspect`.

use anyhow::bail;
use chrono::Utc;
use clap::Args;
use containerv_engine::inspect::inspect as inspect_doc;
use containerv_engine::store::{Damaged, Entry};
use serde_json::{json, Value};

use super::super::Context;
use super::rows::{print_rows, template};

#[derive(Args)]
pub struct PsArgs {
    /// Show all containers (default shows just running).
    #[arg(short, long)]
    all: bool,
    /// Only display container IDs.
    #[arg(short, long)]
    quiet: bool,
    /// Don't truncate output.
    #[arg(long = "no-trunc")]
    no_trunc: bool,
    /// Show the latest created container.
    #[arg(short = 'l', long)]
    latest: bool,
    /// `json`, or a template such as `{{.ID}} {{.Status}}`.
    #[arg(long)]
    format: Option<String>,
    /// Filter (docker's keys: name, id, label, status, ancestor, exited,
    /// health, volume, network).
    #[arg(short = 'f', long = "filter")]
    filter: Vec<String>,
    /// Show the n last created containers (all states).
    #[arg(short = 'n', long = "last")]
    last: Option<usize>,
    /// Display total file sizes.
    #[arg(short = 's', long)]
    size: bool,
}

/// One row as docker's `ps --format json` names the fields.
fn row(e: &Entry, no_trunc: bool) -> Value {
    let c = &e.config;
    let s = e.state.observed();
    let now = Utc::now();
    let mut cmd = format!("\"{}\"", c.command.join(" "));
    if !no_trunc && cmd.len() > 22 {
        let mut cut = 19;
        while !cmd.is_char_boundary(cut) {
            cut -= 1;
        }
        cmd = format!("{}…\"", &cmd[..cut]);
    }
    let ago = containerv_engine::duration::human((now - c.created).to_std().unwrap_or_default());
    json!({
        "ID": if no_trunc { c.id.clone() } else { c.id[..12].to_string() },
        "Image": c.image,
        "Command": cmd,
        "CreatedAt": c.created.format("%Y-%m-%d %H:%M:%S %z").to_string(),
        "RunningFor": format!("{ago} ago"),
        "Status": s.describe(now),
        "State": s.status.as_str(),
        "Health": s.health.as_ref().map(|h| format!("{:?}", h.status).to_lowercase()).unwrap_or_default(),
        "Names": c.name,
        "Ports": "",
        "Labels": c.labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","),
    })
}

/// A row for a container whose records cannot be read.
fn damaged_row(d: &Damaged, no_trunc: bool) -> Value {
    let c = d.config.as_ref();
    json!({
        "ID": if no_trunc { d.id.clone() } else { d.id[..d.id.len().min(12)].to_string() },
        "Image": c.map(|c| c.image.clone()).unwrap_or_default(),
        "Command": c.map(|c| format!("\"{}\"", c.command.join(" "))).unwrap_or_default(),
        "CreatedAt": c.map(|c| c.created.format("%Y-%m-%d %H:%M:%S %z").to_string()).unwrap_or_default(),
        "RunningFor": "",
        "Status": format!("Dead (unreadable record: {})", d.error),
        "State": "dead",
        "Health": "",
        "Names": d.name.clone().unwrap_or_default(),
        "Ports": "",
        "Labels": "",
    })
}

pub fn ps(ctx: &Context, a: PsArgs) -> anyhow::Result<()> {
    let filters = super::ps_filter::Filters::parse(&a.filter)?;
    let e = ctx.engine()?;
    let scan = e.store.scan()?;
    // docker: -n, -l and a status/exited filter look at every state.
    let every =
        a.all || a.latest || a.last.is_some() || filters.has("status") || filters.has("exited");
    let mut list: Vec<Entry> = scan
        .entries
        .into_iter()
        .filter(|x| every || x.state.observed().status.is_active())
        .filter(|x| filters.matches(x))
        .collect();
    list.reverse(); // newest first, as docker
    if a.latest {
        list.truncate(1);
    }
    if let Some(n) = a.last {
        list.truncate(n);
    }
    let mut rows: Vec<Value> = list.iter().map(|x| row(x, a.no_trunc)).collect();
    if a.size {
        super::ps_size::add_sizes(ctx, &e, &list, &mut rows);
    }
    for (r, x) in rows.iter_mut().zip(&list) {
        r["Ports"] =
            containerv_engine::network::ops::ports_text(e.store.root(), &x.config.id).into();
    }
    // Unreadable records are listed (their state is unknown, so with or
    // without -a), with the error: `rm -f` removes them.
    if !a.latest && a.last.is_none() && filters.is_empty() {
        rows.extend(scan.damaged.iter().map(|d| damaged_row(d, a.no_trunc)));
    }
    if a.quiet {
        for r in &rows {
            println!("{}", r["ID"].as_str().unwrap_or(""));
        }
        return Ok(());
    }
    print_rows(
        &rows,
        &a.format,
        &[
            ("ID", "CONTAINER ID"),
            ("Image", "IMAGE"),
            ("Command", "COMMAND"),
            ("RunningFor", "CREATED"),
            ("Status", "STATUS"),
            ("Ports", "PORTS"),
            ("Names", "NAMES"),
        ]
        .into_iter()
        .chain(a.size.then_some(("Size", "SIZE")))
        .collect::<Vec<_>>(),
    )
}

pub fn inspect(ctx: &Context, names: &[String], format: Option<&str>) -> anyhow::Result<()> {
    let e = ctx.engine()?;
    let mut docs = Vec::new();
    for n in names {
        match e.store.resolve(n) {
            Ok(id) => {
                let entry = e.store.load(&id)?;
                docs.push(inspect_doc(&e.store, &entry));
            }
            Err(err) => {
                // docker inspect falls back to images, in docker's
                // image-inspect shape (as `cv image inspect`).
                match ctx.images().ok().and_then(|s| s.inspect(n).ok()) {
                    Some(d) => docs.push(crate::commands::image::format::inspect_json(&d)),
                    None => bail!("{err}"),
                }
            }
        }
    }
    match format {
        None | Some("json") => println!("{}", serde_json::to_string_pretty(&docs)?),
        Some(t) => {
            for d in &docs {
                println!("{}", template(t, d)?);
            }
        }
    }
    Ok(())
}
