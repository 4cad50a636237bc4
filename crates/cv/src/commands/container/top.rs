//! `cv top`: the container's processes (from its cgroup, via the core
//! library) with their uid, parent, memory and command line.

use super::super::Context;
use crate::output::{human_size, table};

fn proc_field(pid: i32, key: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix(key)
                    .map(|v| v.split_whitespace().next().unwrap_or("").to_string())
            })
        })
        .unwrap_or_default()
}

fn cmdline(pid: i32, name: &str) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let s: Vec<String> = raw
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    if s.is_empty() {
        format!("[{name}]")
    } else {
        s.join(" ")
    }
}

pub fn top(ctx: &Context, reference: &str) -> anyhow::Result<()> {
    let e = ctx.engine()?;
    let id = e.store.resolve(reference)?;
    let c = e.core(&id)?;
    // Two samples a moment apart, so the C column has a delta.
    let _ = c.processes();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let mut procs = c.processes()?;
    procs.sort_by_key(|p| p.pid);
    let rows: Vec<Vec<String>> = procs
        .iter()
        .map(|p| {
            vec![
                proc_field(p.pid, "Uid:"),
                p.pid.to_string(),
                proc_field(p.pid, "PPid:"),
                format!("{:.1}", p.cpu_percent),
                human_size(p.memory),
                cmdline(p.pid, &p.name),
            ]
        })
        .collect();
    table(&["UID", "PID", "PPID", "C", "RSS", "CMD"], &rows);
    Ok(())
}
