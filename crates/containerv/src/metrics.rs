//! Prometheus exposition of containers' figures, with cAdvisor's metric
//! names, types, units and labels, so the dashboards and alert rules people
//! already run against cAdvisor work unchanged.
//!
//! One call, [`render`], turns a set of [`MetricsTarget`]s (a [`Stats`]
//! sample plus the labels) into the Prometheus text format (version 0.0.4,
//! [`CONTENT_TYPE`]). The text is written by the `prometheus-client` crate,
//! through a collector that encodes each family straight from the targets
//! (in their order): no per-sample metric objects, label-set hash maps or
//! label copies are built, so a scrape of many containers costs little
//! more than the text itself. A fresh registry per call keeps no state
//! between scrapes.
//!
//! Differences from cAdvisor, all where containerv has no finer figure:
//! - the `id` label is the container id (cAdvisor: the cgroup path);
//! - network and block I/O are summed over interfaces and devices (no
//!   `interface` or `device` label);
//! - `container_spec_memory_limit_bytes` reads 0 for "unlimited".
//!
//! Engine figures that cAdvisor lacks: `container_health_status` (1 for the
//! current status, in its `status` label) and `container_restarts_total`.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{prometheus_text, DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::stats::Stats;

/// The `Content-Type` of [`render`]'s text.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// One container to expose: its sample and its labels.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricsTarget {
    /// The `id` label.
    pub id: String,
    /// The `name` label.
    pub name: String,
    /// The `image` label (may be empty).
    pub image: String,
    /// The figures.
    pub stats: Stats,
    /// CFS quota in microseconds per period (`container_spec_cpu_quota`);
    /// `None` without a CPU limit (then neither quota nor period is shown).
    pub cpu_quota: Option<i64>,
    /// CFS period in microseconds (`container_spec_cpu_period`).
    pub cpu_period: Option<u64>,
    /// When the container started, seconds since the Unix epoch.
    pub start_time: Option<f64>,
    /// Health status (`starting`, `healthy`, `unhealthy`), if checked.
    pub health: Option<String>,
    /// Restarts done by the engine (restart policy), if known.
    pub restarts: Option<u64>,
}

impl MetricsTarget {
    /// A target with labels and a sample, nothing else.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        image: impl Into<String>,
        stats: Stats,
    ) -> Self {
        MetricsTarget {
            id: id.into(),
            name: name.into(),
            image: image.into(),
            stats,
            ..Default::default()
        }
    }

    /// Quota and period taken from an OCI spec's CPU resources.
    pub fn with_spec(mut self, spec: &oci_spec::runtime::Spec) -> Self {
        let cpu = spec
            .linux()
            .as_ref()
            .and_then(|l| l.resources().as_ref())
            .and_then(|r| r.cpu().as_ref());
        if let Some(quota) = cpu.and_then(|c| c.quota()).filter(|q| *q > 0) {
            self.cpu_quota = Some(quota);
            self.cpu_period = Some(cpu.and_then(|c| c.period()).unwrap_or(100_000));
        }
        self
    }
}

/// One sample's value, typed as cAdvisor types it (an integer counter
/// prints `7`, a float one `2.5`, a gauge `100.0`).
enum Value {
    Count(u64),
    Seconds(f64),
    Gauge(f64),
}

/// One family: its name (a counter's without `_total`: the encoder
/// appends it), help text (with the full stop `Registry::register` would
/// add) and each target's sample, if it has one. A family without a
/// sample is left out.
struct Family {
    name: &'static str,
    help: &'static str,
    kind: MetricType,
    value: fn(&MetricsTarget) -> Option<Value>,
}

const fn counter(
    name: &'static str,
    help: &'static str,
    value: fn(&MetricsTarget) -> Option<Value>,
) -> Family {
    Family {
        name,
        help,
        kind: MetricType::Counter,
        value,
    }
}

const fn gauge(
    name: &'static str,
    help: &'static str,
    value: fn(&MetricsTarget) -> Option<Value>,
) -> Family {
    Family {
        name,
        help,
        kind: MetricType::Gauge,
        value,
    }
}

/// The family whose samples carry a `status` label too.
const HEALTH: &str = "container_health_status";

fn secs(ns: u64) -> f64 {
    ns as f64 / 1e9
}

/// Every family, in the order of the text.
const FAMILIES: &[Family] = &[
    counter(
        "container_cpu_usage_seconds",
        "Cumulative cpu time consumed in seconds.",
        |t| Some(Value::Seconds(secs(t.stats.cpu_time_ns))),
    ),
    counter(
        "container_cpu_cfs_periods",
        "Number of elapsed enforcement period intervals.",
        |t| Some(Value::Count(t.stats.cpu_periods)),
    ),
    counter(
        "container_cpu_cfs_throttled_periods",
        "Number of throttled period intervals.",
        |t| Some(Value::Count(t.stats.cpu_throttled_periods)),
    ),
    counter(
        "container_cpu_cfs_throttled_seconds",
        "Total time duration the container has been throttled.",
        |t| Some(Value::Seconds(secs(t.stats.cpu_throttled_ns))),
    ),
    gauge(
        "container_memory_usage_bytes",
        "Current memory usage in bytes, including all memory regardless of when it was accessed.",
        |t| Some(Value::Gauge(t.stats.memory_charged as f64)),
    ),
    gauge(
        "container_memory_working_set_bytes",
        "Current working set in bytes.",
        |t| Some(Value::Gauge(t.stats.memory_usage as f64)),
    ),
    gauge(
        "container_memory_max_usage_bytes",
        "Maximum memory usage recorded in bytes.",
        |t| Some(Value::Gauge(t.stats.memory_peak as f64)),
    ),
    gauge(
        "container_spec_memory_limit_bytes",
        "Memory limit for the container.",
        |t| Some(Value::Gauge(t.stats.memory_limit.unwrap_or(0) as f64)),
    ),
    gauge(
        "container_spec_cpu_quota",
        "CPU quota of the container.",
        |t| match (t.cpu_quota, t.cpu_period) {
            (Some(q), Some(_)) => Some(Value::Gauge(q as f64)),
            _ => None,
        },
    ),
    gauge(
        "container_spec_cpu_period",
        "CPU period of the container.",
        |t| match (t.cpu_quota, t.cpu_period) {
            (Some(_), Some(p)) => Some(Value::Gauge(p as f64)),
            _ => None,
        },
    ),
    counter(
        "container_fs_reads_bytes",
        "Cumulative count of bytes read.",
        |t| Some(Value::Count(t.stats.read_bytes)),
    ),
    counter(
        "container_fs_writes_bytes",
        "Cumulative count of bytes written.",
        |t| Some(Value::Count(t.stats.write_bytes)),
    ),
    counter(
        "container_fs_reads",
        "Cumulative count of reads completed.",
        |t| Some(Value::Count(t.stats.read_ops)),
    ),
    counter(
        "container_fs_writes",
        "Cumulative count of writes completed.",
        |t| Some(Value::Count(t.stats.write_ops)),
    ),
    counter(
        "container_network_receive_bytes",
        "Cumulative count of bytes received.",
        |t| Some(Value::Count(t.stats.net_rx_bytes)),
    ),
    counter(
        "container_network_transmit_bytes",
        "Cumulative count of bytes transmitted.",
        |t| Some(Value::Count(t.stats.net_tx_bytes)),
    ),
    counter(
        "container_network_receive_packets",
        "Cumulative count of packets received.",
        |t| Some(Value::Count(t.stats.net_rx_packets)),
    ),
    counter(
        "container_network_transmit_packets",
        "Cumulative count of packets transmitted.",
        |t| Some(Value::Count(t.stats.net_tx_packets)),
    ),
    gauge(
        "container_processes",
        "Number of processes running inside the container.",
        |t| Some(Value::Gauge(t.stats.active_processes as f64)),
    ),
    gauge(
        "container_threads",
        "Number of threads running inside the container.",
        // Windows' `total_processes` counts every process ever in the
        // job, not threads alive now: no thread figure there.
        |t| cfg!(target_os = "linux").then(|| Value::Gauge(t.stats.total_processes as f64)),
    ),
    counter(
        "container_oom_events",
        "Count of out of memory events observed for the container.",
        |t| Some(Value::Count(t.stats.oom_kills)),
    ),
    gauge(
        "container_last_seen",
        "Last time a container was seen by the exporter.",
        |t| Some(Value::Gauge(secs(t.stats.timestamp_ns).floor())),
    ),
    gauge(
        "container_start_time_seconds",
        "Start time of the container since unix epoch in seconds.",
        |t| t.start_time.map(Value::Gauge),
    ),
    gauge(
        HEALTH,
        "Health check status of the container (1 for the status in the status label).",
        |t| t.health.as_ref().map(|_| Value::Gauge(1.0)),
    ),
    counter(
        "container_restarts",
        "Restarts of the container by its restart policy.",
        |t| t.restarts.map(Value::Count),
    ),
];

/// The families of a set of targets, encoded when the registry is.
#[derive(Debug)]
struct Exposition(Vec<MetricsTarget>);

impl Collector for Exposition {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        for f in FAMILIES {
            if !self.0.iter().any(|t| (f.value)(t).is_some()) {
                continue;
            }
            let mut family = encoder.encode_descriptor(f.name, f.help, None, f.kind)?;
            for t in &self.0 {
                let Some(v) = (f.value)(t) else { continue };
                let labels = [
                    ("id", t.id.as_str()),
                    ("image", t.image.as_str()),
                    ("name", t.name.as_str()),
                ];
                let health;
                let mut e = match &t.health {
                    Some(h) if f.name == HEALTH => {
                        let [id, image, name] = labels;
                        health = [id, image, name, ("status", h.as_str())];
                        family.encode_family(&health)?
                    }
                    _ => family.encode_family(&labels)?,
                };
                match v {
                    Value::Count(n) => e.encode_counter::<NoLabelSet, _, u64>(&n, None)?,
                    Value::Seconds(s) => e.encode_counter::<NoLabelSet, _, u64>(&s, None)?,
                    Value::Gauge(g) => e.encode_gauge(&g)?,
                }
            }
        }
        Ok(())
    }
}

/// Renders the Prometheus text for `targets` (cAdvisor's names; see the
/// module docs), their samples in the order given. A family without a
/// sample is left out (no targets: empty text).
pub fn render(targets: &[MetricsTarget]) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Exposition(targets.to_vec())));
    let mut out = String::with_capacity(512 + targets.len() * 4096);
    // Writing into a String cannot fail.
    let _ = prometheus_text::encode(&mut out, &registry);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_types_and_labels_are_cadvisors() {
        let s = Stats {
            cpu_time_ns: 2_500_000_000,
            memory_usage: 100,
            memory_charged: 150,
            memory_limit: Some(1 << 20),
            net_rx_bytes: 7,
            oom_kills: 1,
            timestamp_ns: 1_700_000_000_900_000_000,
            ..Default::default()
        };
        let mut t = MetricsTarget::new("abc", "web", "busybox:latest", s);
        t.health = Some("healthy".into());
        t.restarts = Some(3);
        let text = render(&[t]);
        let l = r#"{id="abc",image="busybox:latest",name="web"}"#;
        for want in [
            "# TYPE container_cpu_usage_seconds_total counter\n".to_string(),
            format!("container_cpu_usage_seconds_total{l} 2.5\n"),
            "# TYPE container_memory_working_set_bytes gauge\n".to_string(),
            format!("container_memory_working_set_bytes{l} 100.0\n"),
            format!("container_memory_usage_bytes{l} 150.0\n"),
            format!("container_spec_memory_limit_bytes{l} 1048576.0\n"),
            format!("container_network_receive_bytes_total{l} 7\n"),
            format!("container_oom_events_total{l} 1\n"),
            format!("container_last_seen{l} 1700000000.0\n"),
            format!("container_restarts_total{l} 3\n"),
            r#"container_health_status{id="abc",image="busybox:latest",name="web",status="healthy"} 1.0"#
                .to_string(),
        ] {
            assert!(text.contains(&want), "missing {want:?} in\n{text}");
        }
        // No CPU limit: no quota sample.
        assert!(!text.contains("container_spec_cpu_quota{"), "{text}");
    }

    /// Every figure of a target, the whole text byte for byte as the
    /// `Family`-based encoding before the collector wrote it (HELP with
    /// its full stop, counters' `_total`, number formats).
    #[test]
    fn the_whole_text_is_unchanged() {
        let s = Stats {
            cpu_time_ns: 2_500_000_001,
            cpu_periods: 11,
            cpu_throttled_periods: 3,
            cpu_throttled_ns: 1_000_000,
            memory_usage: 100,
            memory_charged: 150,
            memory_peak: 4096,
            memory_limit: Some(1 << 20),
            read_bytes: 1,
            write_bytes: 2,
            read_ops: 3,
            write_ops: 4,
            net_rx_bytes: 7,
            net_tx_bytes: 8,
            net_rx_packets: 9,
            net_tx_packets: 10,
            active_processes: 2,
            total_processes: 3,
            oom_kills: 1,
            timestamp_ns: 1_700_000_000_900_000_000,
            ..Default::default()
        };
        let mut t = MetricsTarget::new("abc", "we\"b", "busybox:latest", s);
        t.health = Some("healthy".into());
        t.restarts = Some(3);
        t.cpu_quota = Some(150000);
        t.cpu_period = Some(100000);
        t.start_time = Some(1_700_000_000.25);
        if cfg!(target_os = "linux") {
            assert_eq!(render(&[t]), include_str!("metrics_golden.prom"));
        }
    }

    #[test]
    fn samples_follow_the_targets_order_and_empty_families_are_left_out() {
        let mut a = MetricsTarget::new("a", "first", "", Stats::default());
        a.restarts = Some(1);
        let b = MetricsTarget::new("b", "second", "", Stats::default());
        let text = render(&[a, b]);
        let rows: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("container_processes{"))
            .collect();
        assert_eq!(
            rows,
            [
                r#"container_processes{id="a",image="",name="first"} 0.0"#,
                r#"container_processes{id="b",image="",name="second"} 0.0"#
            ]
        );
        assert!(text.contains(r#"container_restarts_total{id="a",image="",name="first"} 1"#));
        assert!(
            !text.contains(r#"container_restarts_total{id="b""#),
            "{text}"
        );
        for absent in [
            "container_spec_cpu_quota",
            "container_health_status",
            "container_start_time_seconds",
        ] {
            assert!(!text.contains(absent), "{absent} in\n{text}");
        }
        assert_eq!(render(&[]), "");
    }

    #[test]
    fn label_values_are_escaped() {
        let t = MetricsTarget::new("a", "we\"ird\\n\name", "", Stats::default());
        let text = render(&[t]);
        assert!(text.contains(r#"name="we\"ird\\n\name""#), "{text}");
    }
}
