//! Reading `cv events` back, as the event tests do: a bounded window
//! (`--since T --until now`) as JSON, and the `Type Action` views the
//! tests compare with docker's sequences.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::Cv;

/// Now, as `--since`/`--until` take it (seconds.nanoseconds).
pub fn unix_now() -> String {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    format!("{}.{:09}", d.as_secs(), d.subsec_nanos())
}

/// `cv events --since SINCE --until now --format json ARGS`, parsed.
pub fn events(cv: &Cv, since: &str, args: &[&str]) -> Vec<Value> {
    let until = unix_now();
    let mut a = vec![
        "events", "--since", since, "--until", &until, "--format", "json",
    ];
    a.extend_from_slice(args);
    cv.ok(&a)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// `Type Action` of each event.
pub fn kinds(ev: &[Value]) -> Vec<String> {
    ev.iter()
        .map(|e| {
            format!(
                "{} {}",
                e["Type"].as_str().unwrap(),
                e["Action"].as_str().unwrap()
            )
        })
        .collect()
}

/// The events about container `id`: its own and the network and volume
/// events that name it, as `Type Action`.
pub fn about(ev: &[Value], id: &str) -> Vec<String> {
    let of: Vec<Value> = ev
        .iter()
        .filter(|e| e["Actor"]["ID"] == id || e["Actor"]["Attributes"]["container"] == id)
        .cloned()
        .collect();
    kinds(&of)
}
