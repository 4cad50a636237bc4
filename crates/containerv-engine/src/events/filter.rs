//! `cv events --filter KEY=VALUE`, matched as docker's daemon matches
//! (moby's `daemon/events/filter.go` over `filters.Args`), so a script
//! written for `docker events` selects the same events:
//! - `type`, `scope`: exact; values of one key are alternatives.
//! - `event`: the action, exact; when one value is `health_status`,
//!   `exec_create` or `exec_start`, every value is also a prefix
//!   (`event=health_status` takes `health_status: healthy`).
//! - `container`, `network`, `volume`, `daemon`, `plugin`, and swarm's
//!   `service`, `node`, `secret`, `config`: the value is the actor's id
//!   or its `name` attribute, or a prefix of either, whatever the type of
//!   the event (docker's fuzzy match: `container=web` takes `web2` too).
//! - `image`: exact, the actor's id or its `image` attribute (`name` for
//!   image events), each also without its tag or digest and registry
//!   defaults (`busybox` takes `busybox:latest`, `docker.io/library/busybox`);
//!   a value `X:latest` is taken as `X`, the name the engine keeps.
//! - `label`: `KEY` or `KEY=VALUE` of the attributes; every label value
//!   has to match (docker's `MatchKVList`), not one of them.
//!
//! Keys all have to match. An unknown key or a value without `=` is an
//! error naming it (docker's daemon lets an unknown key match all).

use std::collections::BTreeMap;

use super::Event;

/// Parsed `--filter` values.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    by: BTreeMap<String, Vec<String>>,
}

/// docker's keys for events.
const KEYS: [&str; 14] = [
    "config",
    "container",
    "daemon",
    "event",
    "image",
    "label",
    "network",
    "node",
    "plugin",
    "scope",
    "secret",
    "service",
    "type",
    "volume",
];

/// The keys matched by the actor's id or `name` (or a prefix of either).
const BY_NAME: [&str; 9] = [
    "config",
    "container",
    "daemon",
    "network",
    "node",
    "plugin",
    "secret",
    "service",
    "volume",
];

/// An image reference without tag, digest, `docker.io/` and `library/`
/// (docker's `FamiliarName` of the normalized reference).
fn strip_tag(image: &str) -> &str {
    let no_digest = image.split('@').next().unwrap_or(image);
    let last_slash = no_digest.rfind('/').map_or(0, |i| i + 1);
    let name = match no_digest[last_slash..].find(':') {
        Some(i) => &no_digest[..last_slash + i],
        None => no_digest,
    };
    let name = name
        .strip_prefix("docker.io/")
        .or_else(|| name.strip_prefix("index.docker.io/"))
        .unwrap_or(name);
    name.strip_prefix("library/").unwrap_or(name)
}

impl Filter {
    /// Parses `--filter` values; an unknown key or a missing `=` is an
    /// error naming it.
    pub fn parse(filters: &[String]) -> crate::error::Result<Filter> {
        let mut by: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for f in filters {
            let Some((k, v)) = f.split_once('=') else {
                return Err(crate::error::Error::option(
                    "--filter",
                    f.as_str(),
                    "expected KEY=VALUE",
                ));
            };
            if !KEYS.contains(&k) {
                return Err(crate::error::Error::option(
                    "--filter",
                    f.as_str(),
                    format!("unknown key {k:?} (known: {})", KEYS.join(", ")),
                ));
            }
            by.entry(k.into()).or_default().push(v.into());
        }
        Ok(Filter { by })
    }

    /// True when `e` passes every key.
    pub fn matches(&self, e: &Event) -> bool {
        let attr = |k: &str| e.actor.attributes.get(k).map(String::as_str);
        self.by.iter().all(|(k, vals)| match k.as_str() {
            "type" => vals.contains(&e.kind),
            "scope" => vals.contains(&e.scope),
            "event" => {
                let fuzzy = vals
                    .iter()
                    .any(|v| matches!(v.as_str(), "health_status" | "exec_create" | "exec_start"));
                vals.iter()
                    .any(|v| e.action == *v || (fuzzy && e.action.starts_with(v.as_str())))
            }
            "image" => {
                let name = attr(if e.kind == "image" { "name" } else { "image" }).unwrap_or("");
                let id = e.actor.id.as_str();
                vals.iter().any(|v| {
                    // The engine keeps `X:latest` as `X`: so is the value.
                    let v = v.strip_suffix(":latest").unwrap_or(v);
                    [id, name, strip_tag(id), strip_tag(name)]
                        .iter()
                        .any(|s| !s.is_empty() && *s == v)
                })
            }
            "label" => {
                !e.actor.attributes.is_empty()
                    && vals.iter().all(|v| match v.split_once('=') {
                        Some((lk, lv)) => attr(lk) == Some(lv),
                        None => attr(v).is_some(),
                    })
            }
            k if BY_NAME.contains(&k) => {
                let name = attr("name").unwrap_or("");
                vals.iter().any(|v| {
                    e.actor.id.starts_with(v.as_str())
                        || (!name.is_empty() && name.starts_with(v.as_str()))
                })
            }
            _ => false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: &str, action: &str, id: &str, attrs: &[(&str, &str)]) -> Event {
        let a = attrs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Event::new(kind, action, id, a)
    }

    fn f(v: &[&str]) -> Filter {
        Filter::parse(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn matches_as_dockers_daemon() {
        let web = ev(
            "container",
            "health_status: healthy",
            "0123456789ab",
            &[
                ("name", "web2"),
                ("image", "busybox:latest"),
                ("tier", "web"),
                ("zone", "a"),
            ],
        );
        // event: exact, fuzzy with health_status.
        assert!(f(&["event=health_status"]).matches(&web));
        assert!(f(&["event=health_status: healthy"]).matches(&web));
        assert!(!f(&["event=health"]).matches(&web));
        assert!(!f(&["event=start"]).matches(&web));
        assert!(f(&["event=start", "event=health_status"]).matches(&web));
        // container: id or name, or a prefix of either.
        for v in [
            "container=web2",
            "container=web",
            "container=0123",
            "container=0123456789ab",
        ] {
            assert!(f(&[v]).matches(&web), "{v}");
        }
        assert!(!f(&["container=db"]).matches(&web));
        assert!(f(&["container=db", "container=web2"]).matches(&web));
        // label: every value must match.
        assert!(f(&["label=tier", "label=zone=a"]).matches(&web));
        assert!(!f(&["label=tier=web", "label=zone=b"]).matches(&web));
        assert!(!f(&["label=owner"]).matches(&web));
        // image: exact, with or without the tag.
        for v in ["image=busybox", "image=busybox:latest"] {
            assert!(f(&[v]).matches(&web), "{v}");
        }
        assert!(!f(&["image=busy"]).matches(&web));
        // type, scope.
        assert!(f(&["type=container", "scope=local"]).matches(&web));
        assert!(f(&["type=network", "type=container"]).matches(&web));
        assert!(!f(&["type=network"]).matches(&web));
        assert!(!f(&["scope=swarm"]).matches(&web));
        // network / volume / daemon: the actor's id or name.
        let net = ev(
            "network",
            "connect",
            "abcdef",
            &[
                ("name", "front"),
                ("type", "bridge"),
                ("container", "0123456789ab"),
            ],
        );
        assert!(f(&["network=front", "type=network"]).matches(&net));
        assert!(f(&["network=abc"]).matches(&net));
        assert!(!f(&["container=0123"]).matches(&net));
        assert!(!f(&["network=front"]).matches(&web));
        let vol = ev("volume", "mount", "data", &[("driver", "local")]);
        assert!(f(&["volume=data"]).matches(&vol));
        assert!(!f(&["volume=logs"]).matches(&vol));
        assert!(!f(&["daemon=cv"]).matches(&vol));
        assert!(!f(&["label=driver=nfs"]).matches(&vol));
        // Errors name what was wrong.
        assert!(Filter::parse(&["nope=1".into()]).is_err());
        assert!(Filter::parse(&["container".into()]).is_err());
    }

    #[test]
    fn image_names_lose_tag_digest_and_registry_defaults() {
        assert_eq!(strip_tag("busybox:latest"), "busybox");
        assert_eq!(strip_tag("docker.io/library/busybox:1.36"), "busybox");
        assert_eq!(strip_tag("localhost:5000/app:v1"), "localhost:5000/app");
        assert_eq!(strip_tag("containerv/busybox"), "containerv/busybox");
        assert_eq!(strip_tag("app@sha256:abcd"), "app");
    }
}
