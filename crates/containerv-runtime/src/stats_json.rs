//! runc's `events` stats object (`types.Stats` in runc's events package),
//! filled from the library's [`containerv::Stats`].
//!
//! Go's `omitempty` is followed so the JSON reads like runc's. What the
//! library does not measure is left out or zero, never estimated: per-CPU
//! and user/kernel CPU split, per-device blkio entries (one aggregate
//! entry per op, without major/minor), memory.raw, swap and kernel memory,
//! cpuset and hugetlb details. `network_interfaces` is null, as in runc.

use serde_json::{json, Map, Value};

/// Go's "no limit" for a uint64 limit field.
const UNLIMITED: u64 = u64::MAX;

fn put(m: &mut Map<String, Value>, k: &str, v: u64) {
    if v != 0 {
        m.insert(k.into(), v.into());
    }
}

/// The `data` of a `{"type":"stats"}` event.
pub fn stats(s: &containerv::Stats, pids_limit: Option<i64>) -> Value {
    let mut usage = Map::new();
    put(&mut usage, "total", s.cpu_time_ns);
    usage.insert("kernel".into(), 0.into());
    usage.insert("user".into(), 0.into());
    let mut throttling = Map::new();
    put(&mut throttling, "periods", s.cpu_periods);
    put(&mut throttling, "throttledPeriods", s.cpu_throttled_periods);
    put(&mut throttling, "throttledTime", s.cpu_throttled_ns);

    let mut mem_usage = Map::new();
    mem_usage.insert("limit".into(), s.memory_limit.unwrap_or(UNLIMITED).into());
    put(&mut mem_usage, "usage", s.memory_usage);
    put(&mut mem_usage, "max", s.memory_peak);
    mem_usage.insert("failcnt".into(), 0.into());

    let mut pids = Map::new();
    put(&mut pids, "current", s.total_processes);
    put(
        &mut pids,
        "limit",
        pids_limit.filter(|l| *l > 0).unwrap_or(0) as u64,
    );

    let entries = |read: u64, write: u64| -> Value {
        let mut v = Vec::new();
        for (op, n) in [("Read", read), ("Write", write), ("Total", read + write)] {
            let mut e = Map::new();
            e.insert("op".into(), op.into());
            put(&mut e, "value", n);
            v.push(Value::Object(e));
        }
        Value::Array(v)
    };
    json!({
        "cpu": { "usage": usage, "throttling": throttling },
        "memory": { "usage": mem_usage },
        "pids": pids,
        "blkio": {
            "ioServiceBytesRecursive": entries(s.read_bytes, s.write_bytes),
            "ioServicedRecursive": entries(s.read_ops, s.write_ops),
        },
        "hugetlb": {},
        "intel_rdt": {},
        "network_interfaces": null,
    })
}

/// One event line: `{"type":...,"id":...,"data":...}` (data omitted when null).
/// Written by hand to keep runc's key order.
pub fn event(kind: &str, id: &str, data: Option<Value>) -> String {
    let q = |s: &str| Value::from(s).to_string();
    match data {
        Some(d) => format!("{{\"type\":{},\"id\":{},\"data\":{d}}}", q(kind), q(id)),
        None => format!("{{\"type\":{},\"id\":{}}}", q(kind), q(id)),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn shape() {
        let s = containerv::Stats {
            cpu_time_ns: 5,
            memory_usage: 100,
            memory_peak: 200,
            memory_limit: Some(1 << 20),
            total_processes: 2,
            read_bytes: 7,
            ..Default::default()
        };
        let v = super::stats(&s, Some(10));
        assert_eq!(v["cpu"]["usage"]["total"], 5);
        assert!(v["cpu"]["throttling"].as_object().unwrap().is_empty());
        assert_eq!(v["memory"]["usage"]["limit"], 1 << 20);
        assert_eq!(v["memory"]["usage"]["max"], 200);
        assert_eq!(v["pids"]["current"], 2);
        assert_eq!(v["pids"]["limit"], 10);
        assert_eq!(v["blkio"]["ioServiceBytesRecursive"][0]["op"], "Read");
        assert_eq!(v["blkio"]["ioServiceBytesRecursive"][0]["value"], 7);
        assert!(v["network_interfaces"].is_null());
        let e = super::event("oom", "x", None);
        assert_eq!(e, r#"{"type":"oom","id":"x"}"#);
    }
}
