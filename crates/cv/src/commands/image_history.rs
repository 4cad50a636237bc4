//! `cv history IMAGE` / `cv image history`: docker's columns (IMAGE,
//! CREATED, CREATED BY, SIZE, COMMENT), `-q`, `--no-trunc`, `-H=false`
//! and `--format json` or a template with docker's keys (`ID`,
//! `CreatedSince`, `CreatedAt`, `CreatedBy`, `Size`, `Comment`).

use clap::Args;
use serde_json::{json, Value};

use super::image::format::{header, now, render, short_id, since};
use super::Context;
use crate::output::{human_size, table};

#[derive(Args)]
pub struct HistoryArgs {
    image: String,
    /// Only show image IDs.
    #[arg(short, long)]
    quiet: bool,
    /// Don't truncate output.
    #[arg(long)]
    no_trunc: bool,
    /// Print sizes and dates in human readable format.
    #[arg(short = 'H', long, default_value_t = true, action = clap::ArgAction::Set,
          num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    human: bool,
    /// `json` or a template such as `{{.ID}} {{.CreatedBy}}`.
    #[arg(long)]
    format: Option<String>,
}

pub fn history(ctx: &Context, a: HistoryArgs) -> anyhow::Result<()> {
    let rows = ctx.images()?.history(&a.image)?;
    let now = now();
    let id = |s: &str| -> String {
        if s == "<missing>" || a.no_trunc {
            s.to_string()
        } else {
            short_id(s)
        }
    };
    let by = |s: &str| -> String {
        if a.no_trunc || s.chars().count() <= 45 {
            s.to_string()
        } else {
            format!("{}…", s.chars().take(44).collect::<String>())
        }
    };
    if a.quiet {
        for r in &rows {
            println!("{}", id(&r.id));
        }
        return Ok(());
    }
    let docs: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "ID": id(&r.id),
                "CreatedAt": r.created,
                "CreatedSince": since(&r.created, now),
                "CreatedBy": by(&r.created_by),
                "Size": if a.human { human_size(r.size) } else { r.size.to_string() },
                "Comment": r.comment,
            })
        })
        .collect();
    match a.format.as_deref() {
        Some("json") | Some("{{json .}}") => {
            for d in &docs {
                println!("{}", serde_json::to_string(d)?);
            }
        }
        Some(t) => {
            let (table_mode, text) = match t.strip_prefix("table") {
                Some(rest) => (true, rest.trim_start().to_string()),
                None => (false, t.to_string()),
            };
            if table_mode {
                println!("{}", header(&text));
            }
            for d in &docs {
                println!("{}", render(&text, d)?);
            }
        }
        None => {
            let cell = |d: &Value, k: &str| d[k].as_str().unwrap_or("").to_string();
            let created = |d: &Value| {
                if a.human {
                    cell(d, "CreatedSince")
                } else {
                    cell(d, "CreatedAt")
                }
            };
            table(
                &["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"],
                &docs
                    .iter()
                    .map(|d| {
                        vec![
                            cell(d, "ID"),
                            created(d),
                            cell(d, "CreatedBy"),
                            cell(d, "Size"),
                            cell(d, "Comment"),
                        ]
                    })
                    .collect::<Vec<_>>(),
            );
        }
    }
    Ok(())
}
