//! state, list, ps: what runc prints, field for field.
//!
//! `state` and `list --format json` use runc's `containerState` object
//! (ociVersion, id, pid, status, bundle, rootfs, created, annotations when
//! there are any, owner); `state` leaves owner empty and `list` fills it
//! with the name of the state directory's owner, as runc does.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;

use containerv::ContainerState;
use serde::Serialize;

use super::{open, runtime, SPEC_VERSION};
use crate::cli::{Cli, Format};
use crate::error::{fail, Fail, Result};

#[derive(Serialize)]
struct StateJson<'a> {
    #[serde(rename = "ociVersion")]
    oci_version: &'a str,
    id: &'a str,
    pid: i32,
    status: String,
    bundle: String,
    rootfs: String,
    created: &'a str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<&'a String, &'a String>,
    owner: String,
}

fn to_json(s: &ContainerState, owner: String) -> StateJson<'_> {
    StateJson {
        oci_version: SPEC_VERSION,
        id: &s.id,
        pid: s.pid,
        status: s.status.to_string(),
        bundle: s
            .bundle
            .as_ref()
            .map(|b| b.display().to_string())
            .unwrap_or_default(),
        rootfs: s.rootfs.display().to_string(),
        created: &s.created,
        annotations: s.annotations.iter().collect(),
        owner,
    }
}

fn print(s: &str) -> Result<i32> {
    let mut out = std::io::stdout().lock();
    out.write_all(s.as_bytes())
        .and_then(|_| out.flush())
        .map_err(|e| Fail::new(format!("write output: {e}")))?;
    Ok(0)
}

pub fn state(cli: &Cli, id: &str) -> Result<i32> {
    let st = open(cli, id)?.state()?;
    let text = serde_json::to_string_pretty(&to_json(&st, String::new()))
        .map_err(|e| Fail::new(e.to_string()))?;
    print(&(text + "\n"))
}

pub fn list(cli: &Cli, format: Format, quiet: bool) -> Result<i32> {
    let states = runtime(cli)?.list()?;
    if quiet {
        let ids: String = states.iter().map(|s| format!("{}\n", s.id)).collect();
        return print(&ids);
    }
    let users = passwd_names();
    let owner = |id: &str| {
        use std::os::unix::fs::MetadataExt;
        let uid = std::fs::metadata(cli.root.join(id))
            .map(|m| m.uid())
            .unwrap_or(0);
        users
            .get(&uid)
            .cloned()
            .unwrap_or_else(|| format!("#{uid}"))
    };
    match format {
        Format::Json => {
            let v: Vec<_> = states.iter().map(|s| to_json(s, owner(&s.id))).collect();
            // runc prints `null` for no containers (a nil Go slice).
            let text = if v.is_empty() {
                "null".to_string()
            } else {
                serde_json::to_string(&v).map_err(|e| Fail::new(e.to_string()))?
            };
            print(&(text + "\n"))
        }
        Format::Table => {
            let mut rows =
                vec![["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(String::from)];
            for s in &states {
                let j = to_json(s, owner(&s.id));
                rows.push([
                    s.id.clone(),
                    s.pid.to_string(),
                    j.status,
                    j.bundle,
                    s.created.clone(),
                    j.owner,
                ]);
            }
            print(&table(&rows))
        }
    }
}

/// Go's tabwriter as runc sets it up (min width 12, padding 3); the last
/// column is not padded.
fn table<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [12usize; N];
    for r in rows {
        for (i, c) in r.iter().enumerate().take(N - 1) {
            widths[i] = widths[i].max(c.chars().count() + 3);
        }
    }
    let mut out = String::new();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            out.push_str(c);
            if i + 1 < N {
                out.extend(std::iter::repeat_n(' ', widths[i] - c.chars().count()));
            }
        }
        out.push('\n');
    }
    out
}

/// uid → user name from the host's /etc/passwd.
fn passwd_names() -> HashMap<u32, String> {
    std::fs::read_to_string("/etc/passwd")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            let uid = f.nth(1)?.parse().ok()?;
            Some((uid, name.to_string()))
        })
        .collect()
}

pub fn ps(cli: &Cli, id: &str, format: Format, ps_args: &[String]) -> Result<i32> {
    let c = open(cli, id)?;
    let pids: Vec<i32> = c.processes()?.iter().map(|p| p.pid).collect();
    if format == Format::Json {
        let text = serde_json::to_string(&pids).map_err(|e| Fail::new(e.to_string()))?;
        return print(&(text + "\n"));
    }
    let args: Vec<&str> = if ps_args.is_empty() {
        vec!["-ef"]
    } else {
        ps_args.iter().map(String::as_str).collect()
    };
    let out = std::process::Command::new("ps")
        .args(&args)
        .output()
        .map_err(|e| Fail::new(format!("run ps: {e}")))?;
    if !out.status.success() {
        return fail(format!(
            "ps {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let Some(col) = header.split_whitespace().position(|f| f == "PID") else {
        return fail("couldn't find PID field in ps output");
    };
    let mut s = format!("{header}\n");
    for l in lines {
        let pid = l.split_whitespace().nth(col).and_then(|p| p.parse().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            s.push_str(l);
            s.push('\n');
        }
    }
    print(&s)
}

#[cfg(test)]
mod tests {
    #[test]
    fn table_like_tabwriter() {
        let rows = [
            ["ID", "PID", "OWNER"].map(String::from),
            ["cli-runc-probe", "30392", "root"].map(String::from),
        ];
        assert_eq!(
            super::table(&rows),
            "ID               PID         OWNER\ncli-runc-probe   30392       root\n"
        );
    }
}
