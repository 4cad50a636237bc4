//! `cv volume create|ls|inspect|rm|prune`: docker's volume commands and
//! output shapes (`ls` table, `--format json|table …|{{.Name}}`, inspect's
//! JSON array). The volumes themselves are `containerv_engine::volumes`.

use std::io::IsTerminal;

use clap::Subcommand;
use containerv_engine::volumes::Volume;
use serde_json::{json, Value};

// The image commands' `--format` templates: one copy for both.
use super::image::format::{header, render, Format};
use super::Context;
use crate::output::{human_size, table};

#[derive(Subcommand)]
pub enum VolumeCmd {
    /// Create a volume (a random name when NAME is omitted).
    Create {
        /// Volume driver (only "local").
        #[arg(short, long, default_value = "local")]
        driver: String,
        /// Set metadata (KEY=VALUE).
        #[arg(short, long = "label")]
        label: Vec<String>,
        /// Driver options (docker's local driver: type, device, o, size).
        #[arg(short, long = "opt")]
        opt: Vec<String>,
        /// Volume name (also accepted as --name).
        #[arg(long = "name")]
        name_flag: Option<String>,
        name: Option<String>,
    },
    /// List volumes.
    #[command(alias = "list")]
    Ls {
        /// Only display volume names.
        #[arg(short, long)]
        quiet: bool,
        /// `json`, `table`, or a template like `{{.Name}}`.
        #[arg(long)]
        format: Option<String>,
        /// Filter: dangling=true|false, name=…, driver=…, label=KEY[=VALUE].
        #[arg(short, long)]
        filter: Vec<String>,
    },
    /// Display detailed information on one or more volumes.
    Inspect {
        /// `json` (the default) or a template like `{{.Mountpoint}}`.
        #[arg(short, long)]
        format: Option<String>,
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Remove one or more volumes (refused while a container uses them).
    #[command(alias = "remove")]
    Rm {
        /// Do not fail on volumes that do not exist.
        #[arg(short, long)]
        force: bool,
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Remove every volume no container uses.
    Prune {
        /// Do not prompt for confirmation.
        #[arg(short, long)]
        force: bool,
        /// Remove all unused volumes, not just anonymous ones.
        #[arg(short, long)]
        all: bool,
    },
}

/// docker's `volume inspect` object.
fn inspect_json(v: &Volume, mountpoint: &std::path::Path) -> Value {
    json!({
        "CreatedAt": v.created_at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "Driver": v.driver,
        "Labels": v.labels,
        "Mountpoint": mountpoint,
        "Name": v.name,
        "Options": v.options,
        "Scope": "local",
    })
}

/// docker's `volume ls --format json` object.
fn summary_json(v: &Volume, mountpoint: &std::path::Path) -> Value {
    let labels: Vec<String> = v.labels.iter().map(|(k, x)| format!("{k}={x}")).collect();
    json!({
        "Availability": "N/A",
        "Driver": v.driver,
        "Group": "N/A",
        "Labels": labels.join(","),
        "Links": "N/A",
        "Mountpoint": mountpoint,
        "Name": v.name,
        "Scope": "local",
        "Size": "N/A",
        "Status": "N/A",
    })
}

/// One `--filter` of `volume ls`.
fn matches(f: &str, v: &Volume, used: bool) -> anyhow::Result<bool> {
    let (k, val) = f.split_once('=').unwrap_or((f, ""));
    Ok(match k {
        "dangling" => match val {
            "true" | "1" => !used,
            "false" | "0" => used,
            _ => anyhow::bail!("--filter {f:?}: dangling takes true or false"),
        },
        "name" => v.name.contains(val),
        "driver" => v.driver == val,
        "label" => match val.split_once('=') {
            Some((lk, lv)) => v.labels.get(lk).is_some_and(|x| x == lv),
            None => v.labels.contains_key(val),
        },
        _ => anyhow::bail!("--filter {f:?}: unknown filter (use dangling, name, driver or label)"),
    })
}

fn confirm(question: &str) -> bool {
    if !std::io::stdin().is_terminal() {
        return true;
    }
    eprint!("{question} [y/N] ");
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    matches!(line.trim(), "y" | "Y" | "yes")
}

pub fn run(ctx: &Context, c: VolumeCmd) -> anyhow::Result<()> {
    let e = ctx.engine()?;
    match c {
        VolumeCmd::Create {
            driver,
            label,
            opt,
            name_flag,
            name,
        } => {
            let name = match (name_flag, name) {
                (Some(a), Some(b)) if a != b => {
                    anyhow::bail!("conflicting names: --name {a:?} and {b:?}")
                }
                (a, b) => a.or(b),
            };
            let v = e.volume_create(name.as_deref(), &driver, &label, &opt)?;
            println!("{}", v.name);
            Ok(())
        }
        VolumeCmd::Ls {
            quiet,
            format,
            filter,
        } => {
            let vols = e.volumes()?;
            let mut rows = Vec::new();
            for v in vols.list()? {
                let used = filter.iter().any(|f| f.starts_with("dangling"))
                    && !e.volume_users(&v.name)?.is_empty();
                let mut keep = true;
                for f in &filter {
                    keep &= matches(f, &v, used)?;
                }
                if keep {
                    rows.push(v);
                }
            }
            if quiet {
                rows.iter().for_each(|v| println!("{}", v.name));
                return Ok(());
            }
            match Format::parse(format.as_deref()) {
                Format::Default => table(
                    &["DRIVER", "VOLUME NAME"],
                    &rows
                        .iter()
                        .map(|v| vec![v.driver.clone(), v.name.clone()])
                        .collect::<Vec<_>>(),
                ),
                Format::Json => {
                    for v in &rows {
                        println!("{}", summary_json(v, &vols.data_dir(&v.name)));
                    }
                }
                Format::Template { table, text } => {
                    if table {
                        println!("{}", header(&text));
                    }
                    for v in &rows {
                        println!(
                            "{}",
                            render(&text, &summary_json(v, &vols.data_dir(&v.name)))?
                        );
                    }
                }
            }
            Ok(())
        }
        VolumeCmd::Inspect { format, names } => {
            let vols = e.volumes()?;
            let mut found = Vec::new();
            let mut failed = false;
            for n in &names {
                match vols.inspect(n) {
                    Ok(v) => found.push(inspect_json(&v, &vols.data_dir(&v.name))),
                    Err(err) => {
                        eprintln!("Error: {err}");
                        failed = true;
                    }
                }
            }
            match Format::parse(format.as_deref()) {
                Format::Default | Format::Json if format.as_deref() != Some("{{json .}}") => {
                    println!("{}", serde_json::to_string_pretty(&found)?)
                }
                Format::Template { text, .. } => {
                    for v in &found {
                        println!("{}", render(&text, v)?);
                    }
                }
                _ => {
                    for v in &found {
                        println!("{v}");
                    }
                }
            }
            if failed {
                std::process::exit(1);
            }
            Ok(())
        }
        VolumeCmd::Rm { force, names } => {
            let mut failed = false;
            for n in &names {
                match e.volume_remove(n, force) {
                    Ok(()) => println!("{n}"),
                    Err(err) => {
                        eprintln!("Error: {err}");
                        failed = true;
                    }
                }
            }
            if failed {
                std::process::exit(1);
            }
            Ok(())
        }
        VolumeCmd::Prune { force, all } => {
            if !force
                && !confirm("WARNING! This will remove all volumes not used by at least one container.\nAre you sure you want to continue?")
            {
                return Ok(());
            }
            let r = e.volume_prune(all)?;
            if !r.removed.is_empty() {
                println!("Deleted Volumes:");
                r.removed.iter().for_each(|n| println!("{n}"));
                println!();
            }
            println!("Total reclaimed space: {}", human_size(r.reclaimed));
            Ok(())
        }
    }
}
