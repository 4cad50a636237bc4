//! `cv network create|ls|inspect|rm|prune|connect|disconnect`: docker's
//! network commands and output shapes. The networks themselves are
//! `containerv_engine::network`.

use clap::Subcommand;
use containerv_engine::network::ops::{self, CreateOptions};
use serde_json::Value;

use super::image::format::{header, render, Format};
use super::Context;
use crate::output::table;

#[derive(Subcommand)]
pub enum NetworkCmd {
    /// Create a bridge network.
    Create {
        /// Driver (only "bridge").
        #[arg(short, long)]
        driver: Option<String>,
        /// Subnet in CIDR form (default: a free IPv4 pool); give it
        /// twice for dual stack (an IPv4 and, with --ipv6, an IPv6 one).
        #[arg(long)]
        subnet: Vec<String>,
        /// Gateway address (default: the subnet's first address); one per
        /// subnet, matched by family.
        #[arg(long)]
        gateway: Vec<String>,
        /// Hand out container addresses from this sub-range.
        #[arg(long = "ip-range")]
        ip_range: Option<String>,
        /// No route out of the network.
        #[arg(long)]
        internal: bool,
        /// Enable IPv6 (dual stack; needs an IPv6 --subnet).
        #[arg(long)]
        ipv6: bool,
        /// Driver options (KEY=VALUE), e.g. com.docker.network.bridge.name.
        #[arg(short, long = "opt")]
        opt: Vec<String>,
        /// Metadata (KEY=VALUE).
        #[arg(long)]
        label: Vec<String>,
        name: String,
    },
    /// List networks.
    #[command(alias = "list")]
    Ls {
        /// Only display network ids.
        #[arg(short, long)]
        quiet: bool,
        /// `json`, `table`, or a template like `{{.Name}}`.
        #[arg(long)]
        format: Option<String>,
        /// Filter: name=…, id=…, driver=…, label=KEY[=VALUE], type=custom|builtin.
        #[arg(short, long)]
        filter: Vec<String>,
        /// Do not truncate ids.
        #[arg(long = "no-trunc")]
        no_trunc: bool,
    },
    /// Display detailed information on one or more networks.
    Inspect {
        #[arg(short, long)]
        format: Option<String>,
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Remove one or more networks (refused while containers use them).
    #[command(alias = "remove")]
    Rm {
        #[arg(short, long)]
        force: bool,
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Connect a running container to a network.
    Connect {
        /// IPv4 address on the network.
        #[arg(long)]
        ip: Option<String>,
        /// Network-scoped alias.
        #[arg(long)]
        alias: Vec<String>,
        network: String,
        container: String,
    },
    /// Disconnect a container from a network.
    Disconnect {
        /// Accepted for docker compatibility.
        #[arg(short, long)]
        force: bool,
        network: String,
        container: String,
    },
    /// Remove every network no container uses.
    Prune {
        #[arg(short, long)]
        force: bool,
    },
}

/// docker's `network ls --format json` object.
fn summary(v: &Value, no_trunc: bool) -> Value {
    let id = v["Id"].as_str().unwrap_or("");
    let labels: Vec<String> = v["Labels"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, x)| format!("{k}={}", x.as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default();
    serde_json::json!({
        "ID": if no_trunc { id } else { &id[..12.min(id.len())] },
        "Name": v["Name"], "Driver": v["Driver"], "Scope": "local",
        "IPv6": v["EnableIPv6"].to_string(), "Internal": v["Internal"].to_string(),
        "Labels": labels.join(","), "CreatedAt": v["Created"],
    })
}

fn matches(f: &str, v: &Value) -> anyhow::Result<bool> {
    let (k, val) = f.split_once('=').unwrap_or((f, ""));
    let name = v["Name"].as_str().unwrap_or("");
    Ok(match k {
        "name" => name.contains(val),
        "id" => v["Id"].as_str().unwrap_or("").starts_with(val),
        "driver" => v["Driver"] == val,
        "label" => match val.split_once('=') {
            Some((lk, lv)) => v["Labels"][lk] == lv,
            None => v["Labels"].get(val).is_some(),
        },
        "type" => match val {
            "custom" => !ops::PREDEFINED.contains(&name),
            "builtin" => ops::PREDEFINED.contains(&name),
            _ => anyhow::bail!("--filter {f:?}: type takes custom or builtin"),
        },
        _ => anyhow::bail!("--filter {f:?}: unknown filter (use name, id, driver, label or type)"),
    })
}

pub fn run(ctx: &Context, c: NetworkCmd) -> anyhow::Result<()> {
    let e = ctx.engine()?;
    let root = e.store.root().to_path_buf();
    match c {
        NetworkCmd::Create {
            driver,
            subnet,
            gateway,
            ip_range,
            internal,
            ipv6,
            opt,
            label,
            name,
        } => {
            let r = ops::create(
                &root,
                &CreateOptions {
                    name,
                    driver,
                    subnets: subnet,
                    gateways: gateway,
                    ip_range,
                    internal,
                    ipv6,
                    options: opt,
                    labels: label,
                },
            )?;
            println!("{}", r.id);
        }
        NetworkCmd::Ls {
            quiet,
            format,
            filter,
            no_trunc,
        } => {
            let mut rows = Vec::new();
            for v in ops::list(&root)? {
                let mut keep = true;
                for f in &filter {
                    keep &= matches(f, &v)?;
                }
                if keep {
                    rows.push(summary(&v, no_trunc));
                }
            }
            if quiet {
                rows.iter()
                    .for_each(|v| println!("{}", v["ID"].as_str().unwrap_or("")));
                return Ok(());
            }
            match Format::parse(format.as_deref()) {
                Format::Default => table(
                    &["NETWORK ID", "NAME", "DRIVER", "SCOPE"],
                    &rows
                        .iter()
                        .map(|v| {
                            ["ID", "Name", "Driver", "Scope"]
                                .iter()
                                .map(|k| v[*k].as_str().unwrap_or("").to_string())
                                .collect()
                        })
                        .collect::<Vec<_>>(),
                ),
                Format::Json => rows.iter().for_each(|v| println!("{v}")),
                Format::Template { table, text } => {
                    if table {
                        println!("{}", header(&text));
                    }
                    for v in &rows {
                        println!("{}", render(&text, v)?);
                    }
                }
            }
        }
        NetworkCmd::Inspect { format, names } => {
            let all = ops::list(&root)?;
            let mut found = Vec::new();
            let mut failed = false;
            for n in &names {
                let hit = all.iter().find(|v| v["Name"] == n.as_str()).or_else(|| {
                    let m: Vec<_> = all
                        .iter()
                        .filter(|v| v["Id"].as_str().is_some_and(|i| i.starts_with(n.as_str())))
                        .collect();
                    (m.len() == 1).then(|| m[0])
                });
                match hit {
                    Some(v) => found.push(v.clone()),
                    None => {
                        eprintln!("Error: network {n} not found");
                        failed = true;
                    }
                }
            }
            match Format::parse(format.as_deref()) {
                Format::Template { text, .. } => {
                    for v in &found {
                        println!("{}", render(&text, v)?);
                    }
                }
                _ => println!("{}", serde_json::to_string_pretty(&found)?),
            }
            if failed {
                std::process::exit(1);
            }
        }
        NetworkCmd::Rm { force, names } => {
            let mut failed = false;
            for n in &names {
                match ops::remove(&root, n) {
                    Ok(name) => println!("{name}"),
                    Err(containerv_engine::Error::NoSuchNetwork(_)) if force => {}
                    Err(err) => {
                        eprintln!("Error: {err}");
                        failed = true;
                    }
                }
            }
            if failed {
                std::process::exit(1);
            }
        }
        NetworkCmd::Connect {
            ip,
            alias,
            network,
            container,
        } => {
            containerv_engine::network::connect::connect(
                &e,
                &network,
                &container,
                ip.as_deref(),
                &alias,
            )?;
        }
        NetworkCmd::Disconnect {
            force: _,
            network,
            container,
        } => {
            containerv_engine::network::connect::disconnect(&e, &network, &container)?;
        }
        NetworkCmd::Prune { force: _ } => {
            let removed = ops::prune(&root)?;
            if !removed.is_empty() {
                println!("Deleted Networks:");
                removed.iter().for_each(|n| println!("{n}"));
            }
        }
    }
    Ok(())
}
