//! `cv ps --filter KEY=VALUE` with docker's keys: `name` (substring),
//! `id` (prefix), `label` (`KEY` or `KEY=VALUE`), `status`, `ancestor`
//! (image as named, its repository, or its id), `exited` (exit code),
//! `health` (`starting|healthy|unhealthy|none`), `volume` (name or
//! mount destination), `network` (name, or `host`/`none`). Several
//! values of one key match any of them; different keys must all match.

use anyhow::bail;
use containerv_engine::health::HealthStatus;
use containerv_engine::record::NetworkMode;
use containerv_engine::store::Entry;

const KEYS: [&str; 9] = [
    "name", "id", "label", "status", "ancestor", "exited", "health", "volume", "network",
];

const STATUSES: [&str; 7] = [
    "created",
    "restarting",
    "running",
    "removing",
    "paused",
    "exited",
    "dead",
];

/// Parsed `--filter` flags.
#[derive(Default)]
pub struct Filters(Vec<(String, String)>);

impl Filters {
    pub fn parse(args: &[String]) -> anyhow::Result<Filters> {
        let mut out = Vec::new();
        for a in args {
            let Some((k, v)) = a.split_once('=') else {
                bail!("invalid --filter {a:?}: expected KEY=VALUE");
            };
            if !KEYS.contains(&k) {
                bail!(
                    "invalid --filter {a:?}: unknown key {k:?} (use {})",
                    KEYS.join(", ")
                );
            }
            match k {
                "status" if !STATUSES.contains(&v) => {
                    bail!(
                        "invalid --filter {a:?}: status is one of {}",
                        STATUSES.join(", ")
                    )
                }
                "exited" if v.parse::<i32>().is_err() => {
                    bail!("invalid --filter {a:?}: exited takes an exit code")
                }
                "health" if !["starting", "healthy", "unhealthy", "none"].contains(&v) => {
                    bail!("invalid --filter {a:?}: health is starting, healthy, unhealthy or none")
                }
                _ => {}
            }
            out.push((k.to_string(), v.to_string()));
        }
        Ok(Filters(out))
    }

    /// Whether a filter on `key` was given.
    pub fn has(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| k == key)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn matches(&self, e: &Entry) -> bool {
        KEYS.iter().all(|key| {
            let mut values = self.0.iter().filter(|(k, _)| k == key).peekable();
            values.peek().is_none() || values.any(|(_, v)| one(key, v, e))
        })
    }
}

fn one(key: &str, v: &str, e: &Entry) -> bool {
    let c = &e.config;
    let s = e.state.observed();
    match key {
        "name" => c.name.contains(v.trim_start_matches('/')),
        "id" => c.id.starts_with(v),
        "label" => match v.split_once('=') {
            Some((k, val)) => c.labels.get(k).is_some_and(|x| x == val),
            None => c.labels.contains_key(v),
        },
        "status" => s.status.as_str() == v,
        "ancestor" => {
            let repo = |r: &str| -> String {
                match r.rsplit_once(':') {
                    Some((repo, tag)) if !tag.contains('/') => repo.to_string(),
                    _ => r.to_string(),
                }
            };
            let id = c.image_id.trim_start_matches("sha256:");
            c.image == v
                || repo(&c.image) == v
                || (v.len() >= 4 && id.starts_with(v.trim_start_matches("sha256:")))
        }
        "exited" => {
            !s.status.is_active()
                && s.status.as_str() == "exited"
                && v.parse::<i32>().is_ok_and(|code| code == s.exit_code)
        }
        "health" => match (&s.health, v) {
            (None, "none") => c.healthcheck.is_none(),
            (Some(h), _) => matches!(
                (h.status, v),
                (HealthStatus::Starting, "starting")
                    | (HealthStatus::Healthy, "healthy")
                    | (HealthStatus::Unhealthy, "unhealthy")
            ),
            (None, _) => v == "starting" && c.healthcheck.is_some(),
        },
        "volume" => {
            c.volumes.iter().any(|m| m.name == v || m.destination == v)
                || c.binds.iter().any(|b| {
                    b.destination.to_string_lossy() == v || b.source.to_string_lossy() == v
                })
        }
        "network" => match c.network {
            NetworkMode::Host => v == "host",
            NetworkMode::None => v == "none",
            _ => c.networks.iter().any(|n| n == v) || (c.networks.is_empty() && v == "bridge"),
        },
        _ => false,
    }
}
