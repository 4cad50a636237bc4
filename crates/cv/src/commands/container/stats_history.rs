//! `cv stats --history DURATION`: the samples each container's monitor
//! kept (`containerv_engine::history`) over the last DURATION, oldest
//! first, one row per container and sample: docker's `stats` columns
//! with the sample's time first (`TIME`; JSON `Time`, RFC 3339). The
//! JSON rows also carry the raw figures (`Sample`: the core's `Stats`,
//! bytes and nanoseconds) for tools. Without containers: every running
//! one (`-a`: every one, stopped ones keep their history until `rm`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use containerv_engine::Engine;
use serde_json::Value;

use super::rows::print_rows;
use super::stats::{sample_row, target_ids, StatsArgs};

/// `--history`'s value: a Go duration, more than 0.
pub(super) fn parse_window(s: &str) -> Result<Duration, String> {
    match containerv::time::parse_go_duration(s) {
        Ok(d) if d.is_zero() => Err("must be more than 0 (e.g. 30s, 5m, 1h)".into()),
        Ok(d) => Ok(d),
        Err(why) => Err(format!("{why} (e.g. 30s, 5m, 1h)")),
    }
}

pub(super) fn print(e: &Engine, a: &StatsArgs, window: Duration) -> anyhow::Result<()> {
    let ids = target_ids(e, a)?;
    let since = SystemTime::now().checked_sub(window).unwrap_or(UNIX_EPOCH);
    let mut rows: Vec<Value> = Vec::new();
    for id in ids {
        let name = e.store.load_config(&id)?.name;
        for s in containerv_engine::history::read(&e.store, &id, Some(since))? {
            let t = UNIX_EPOCH + Duration::from_nanos(s.timestamp_ns);
            let mut r = sample_row(&id, &name, &s, a.no_trunc);
            if let Value::Object(m) = &mut r {
                let time = containerv::time::rfc3339(t, true);
                m.insert("Time".into(), Value::String(time));
                m.insert("Sample".into(), serde_json::to_value(&s)?);
            }
            rows.push(r);
        }
    }
    print_rows(
        &rows,
        &a.format,
        &[
            ("Time", "TIME"),
            ("Container", "CONTAINER ID"),
            ("Name", "NAME"),
            ("CPUPerc", "CPU %"),
            ("MemUsage", "MEM USAGE / LIMIT"),
            ("MemPerc", "MEM %"),
            ("NetIO", "NET I/O"),
            ("BlockIO", "BLOCK I/O"),
            ("PIDs", "PIDS"),
        ],
    )
}
