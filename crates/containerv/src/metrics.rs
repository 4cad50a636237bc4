//! Prometheus exposition of containers' figures, with cAdvisor's metric
//! names, types, units and labels, so the dashboards and alert rules people
//! already run against cAdvisor work unchanged.
//!
//! One call, [`render`], turns a set of [`MetricsTarget`]s (a [`Stats`]
//! sample plus the labels) into the Prometheus text format (version 0.0.4,
//! [`CONTENT_TYPE`]). The text is written by the `prometheus-client` crate;
//! a fresh registry per call keeps no state between scrapes.
//!
//! Differences from cAdvisor, all where containerv has no finer figure:
//! - the `id` label is the container id (cAdvisor: the cgroup path);
//! - network and block I/O are summed over interfaces and devices (no
//!   `interface` or `device` label);
//! - `container_spec_memory_limit_bytes` reads 0 for "unlimited".
//!
//! Engine figures that cAdvisor lacks: `container_health_status` (1 for the
//! current status, in its `status` label) and `container_restarts_total`.

use prometheus_client::encoding::{prometheus_text, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::TypedMetric;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

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

/// `id`, `image`, `name`: shared by every family of one container (a
/// clone per family is three reference counts, not three strings).
type Labels = [(&'static str, Arc<str>); 3];
/// [`Labels`] and `status`.
type HealthLabels = [(&'static str, Arc<str>); 4];
type F64Counter = Family<Labels, Counter<f64, AtomicU64>>;
type U64Counter = Family<Labels, Counter>;
type F64Gauge = Family<Labels, Gauge<f64, AtomicU64>>;

/// The families, registered once per render.
struct Families {
    registry: Registry,
}

impl Families {
    fn new() -> Self {
        Families {
            registry: Registry::default(),
        }
    }

    /// Registers a new family; a counter's `name` without `_total` (the
    /// encoder appends it).
    fn family<F>(&mut self, name: &str, help: &str) -> F
    where
        F: Default + Clone + EncodeMetric + TypedMetric + Send + Sync + std::fmt::Debug + 'static,
    {
        let f = F::default();
        self.registry.register(name, help, f.clone());
        f
    }
}

fn secs(ns: u64) -> f64 {
    ns as f64 / 1e9
}

/// Renders the Prometheus text for `targets` (cAdvisor's names; see the
/// module docs). A family without a sample is left out (no targets: empty
/// text).
pub fn render(targets: &[MetricsTarget]) -> String {
    let mut f = Families::new();
    let cpu: F64Counter = f.family(
        "container_cpu_usage_seconds",
        "Cumulative cpu time consumed in seconds",
    );
    let periods: U64Counter = f.family(
        "container_cpu_cfs_periods",
        "Number of elapsed enforcement period intervals",
    );
    let throttled: U64Counter = f.family(
        "container_cpu_cfs_throttled_periods",
        "Number of throttled period intervals",
    );
    let throttled_s: F64Counter = f.family(
        "container_cpu_cfs_throttled_seconds",
        "Total time duration the container has been throttled",
    );
    let mem_usage: F64Gauge = f.family(
        "container_memory_usage_bytes",
        "Current memory usage in bytes, including all memory regardless of when it was accessed",
    );
    let mem_ws: F64Gauge = f.family(
        "container_memory_working_set_bytes",
        "Current working set in bytes",
    );
    let mem_max: F64Gauge = f.family(
        "container_memory_max_usage_bytes",
        "Maximum memory usage recorded in bytes",
    );
    let mem_limit: F64Gauge = f.family(
        "container_spec_memory_limit_bytes",
        "Memory limit for the container",
    );
    let quota: F64Gauge = f.family("container_spec_cpu_quota", "CPU quota of the container");
    let period: F64Gauge = f.family("container_spec_cpu_period", "CPU period of the container");
    let fs_rb: U64Counter = f.family("container_fs_reads_bytes", "Cumulative count of bytes read");
    let fs_wb: U64Counter = f.family(
        "container_fs_writes_bytes",
        "Cumulative count of bytes written",
    );
    let fs_r: U64Counter = f.family("container_fs_reads", "Cumulative count of reads completed");
    let fs_w: U64Counter = f.family(
        "container_fs_writes",
        "Cumulative count of writes completed",
    );
    let rx: U64Counter = f.family(
        "container_network_receive_bytes",
        "Cumulative count of bytes received",
    );
    let tx: U64Counter = f.family(
        "container_network_transmit_bytes",
        "Cumulative count of bytes transmitted",
    );
    let rxp: U64Counter = f.family(
        "container_network_receive_packets",
        "Cumulative count of packets received",
    );
    let txp: U64Counter = f.family(
        "container_network_transmit_packets",
        "Cumulative count of packets transmitted",
    );
    let procs: F64Gauge = f.family(
        "container_processes",
        "Number of processes running inside the container",
    );
    let threads: F64Gauge = f.family(
        "container_threads",
        "Number of threads running inside the container",
    );
    let oom: U64Counter = f.family(
        "container_oom_events",
        "Count of out of memory events observed for the container",
    );
    let last_seen: F64Gauge = f.family(
        "container_last_seen",
        "Last time a container was seen by the exporter",
    );
    let start: F64Gauge = f.family(
        "container_start_time_seconds",
        "Start time of the container since unix epoch in seconds",
    );
    let health: Family<HealthLabels, Gauge<f64, AtomicU64>> = f.family(
        "container_health_status",
        "Health check status of the container (1 for the status in the status label)",
    );
    let restarts: U64Counter = f.family(
        "container_restarts",
        "Restarts of the container by its restart policy",
    );

    for t in targets {
        let s = &t.stats;
        let l: Labels = [
            ("id", Arc::from(t.id.as_str())),
            ("image", Arc::from(t.image.as_str())),
            ("name", Arc::from(t.name.as_str())),
        ];
        cpu.get_or_create(&l).inc_by(secs(s.cpu_time_ns));
        periods.get_or_create(&l).inc_by(s.cpu_periods);
        throttled.get_or_create(&l).inc_by(s.cpu_throttled_periods);
        throttled_s
            .get_or_create(&l)
            .inc_by(secs(s.cpu_throttled_ns));
        mem_usage.get_or_create(&l).set(s.memory_charged as f64);
        mem_ws.get_or_create(&l).set(s.memory_usage as f64);
        mem_max.get_or_create(&l).set(s.memory_peak as f64);
        mem_limit
            .get_or_create(&l)
            .set(s.memory_limit.unwrap_or(0) as f64);
        if let (Some(q), Some(p)) = (t.cpu_quota, t.cpu_period) {
            quota.get_or_create(&l).set(q as f64);
            period.get_or_create(&l).set(p as f64);
        }
        fs_rb.get_or_create(&l).inc_by(s.read_bytes);
        fs_wb.get_or_create(&l).inc_by(s.write_bytes);
        fs_r.get_or_create(&l).inc_by(s.read_ops);
        fs_w.get_or_create(&l).inc_by(s.write_ops);
        rx.get_or_create(&l).inc_by(s.net_rx_bytes);
        tx.get_or_create(&l).inc_by(s.net_tx_bytes);
        rxp.get_or_create(&l).inc_by(s.net_rx_packets);
        txp.get_or_create(&l).inc_by(s.net_tx_packets);
        procs.get_or_create(&l).set(s.active_processes as f64);
        // Windows' `total_processes` counts every process ever in the job,
        // not threads alive now: no thread figure there.
        if cfg!(target_os = "linux") {
            threads.get_or_create(&l).set(s.total_processes as f64);
        }
        oom.get_or_create(&l).inc_by(s.oom_kills);
        last_seen
            .get_or_create(&l)
            .set(secs(s.timestamp_ns).floor());
        if let Some(st) = t.start_time {
            start.get_or_create(&l).set(st);
        }
        if let Some(h) = &t.health {
            let [id, image, name] = l.clone();
            let hl: HealthLabels = [id, image, name, ("status", Arc::from(h.as_str()))];
            health.get_or_create(&hl).set(1.0);
        }
        if let Some(r) = t.restarts {
            restarts.get_or_create(&l).inc_by(r);
        }
    }
    let mut out = String::with_capacity(512 + targets.len() * 4096);
    // Writing into a String cannot fail.
    let _ = prometheus_text::encode(&mut out, &f.registry);
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

    #[test]
    fn label_values_are_escaped() {
        let t = MetricsTarget::new("a", "we\"ird\\n\name", "", Stats::default());
        let text = render(&[t]);
        assert!(text.contains(r#"name="we\"ird\\n\name""#), "{text}");
    }
}
