//! The end of a run that its monitor did not see: docker always ends a
//! run with `network disconnect` and `volume unmount` (its cleanup), then
//! `die`; a monitor killed mid-run leaves them unsaid, so whoever finds
//! the run ended without it (`rm`, `rm -f`, `stop`, `kill`, `start`, a
//! replacement monitor) says what is missing.
//!
//! What is missing is read from the events themselves, under the events
//! lock: the container's events are replayed (connect/disconnect,
//! mount/unmount, start/die) and only what the run left open is emitted.
//! So each is said exactly once, whether the monitor died before, during
//! or after its own end-of-run events, and whoever else comes later finds
//! nothing open. (A run whose `start` was rotated out of both files is
//! beyond the replay: nothing is said for it.)

use std::collections::BTreeMap;
use std::path::Path;

use super::{append, lock, read_all, Event};
use crate::record::ContainerConfig;

/// What the last run of a container left open.
#[derive(Debug, Default, PartialEq)]
struct Open {
    /// network id → (name, type)
    networks: BTreeMap<String, (String, String)>,
    /// volume name → driver
    volumes: BTreeMap<String, String>,
    /// The time of the run's `start` (ns), when it has no `die` yet.
    started: Option<i64>,
}

/// Replays the events of container `id`.
fn open_of(events: &[Event], id: &str) -> Open {
    let mut o = Open::default();
    for e in events {
        let attr = |k: &str| e.actor.attributes.get(k).cloned().unwrap_or_default();
        match e.kind.as_str() {
            "container" if e.actor.id == id => match e.action.as_str() {
                "start" => o.started = Some(e.time_nano),
                // A run ends with its die; a new container starts clean.
                "die" | "create" | "destroy" => o = Open::default(),
                _ => {}
            },
            "network" if attr("container") == id => match e.action.as_str() {
                "connect" => {
                    o.networks
                        .insert(e.actor.id.clone(), (attr("name"), attr("type")));
                }
                "disconnect" => {
                    o.networks.remove(&e.actor.id);
                }
                _ => {}
            },
            "volume" if attr("container") == id => match e.action.as_str() {
                "mount" => {
                    o.volumes.insert(e.actor.id.clone(), attr("driver"));
                }
                "unmount" => {
                    o.volumes.remove(&e.actor.id);
                }
                _ => {}
            },
            _ => {}
        }
    }
    o
}

/// The events that end what `o` left open, in docker's order.
fn closing(config: &ContainerConfig, o: &Open, exit_code: i32, now_ns: i64) -> Vec<Event> {
    let c = || ("container".to_string(), config.id.clone());
    let mut out = Vec::new();
    for (net, (name, kind)) in &o.networks {
        let a = BTreeMap::from([
            c(),
            ("name".to_string(), name.clone()),
            ("type".to_string(), kind.clone()),
        ]);
        out.push(Event::new("network", "disconnect", net, a));
    }
    for (vol, driver) in &o.volumes {
        let a = BTreeMap::from([c(), ("driver".to_string(), driver.clone())]);
        out.push(Event::new("volume", "unmount", vol, a));
    }
    if let Some(t) = o.started {
        let secs = (now_ns - t).max(0) / 1_000_000_000;
        out.push(Event::container(
            config,
            "die",
            &[
                ("exitCode", exit_code.to_string()),
                ("execDuration", secs.to_string()),
            ],
        ));
    }
    out
}

/// Says what the last run of `config`'s container left unsaid (see the
/// module docs); `exit_code` for its `die`. Best-effort, as every event.
pub fn complete(root: &Path, config: &ContainerConfig, exit_code: i32) {
    let r = (|| -> std::io::Result<()> {
        let _lock = lock(root)?;
        let o = open_of(&read_all(root)?, &config.id);
        for e in closing(config, &o, exit_code, super::now_ns()) {
            append(root, &e)?;
        }
        Ok(())
    })();
    if let Err(err) = r {
        eprintln!("cv: the end of the run of {}: {err}", config.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ContainerConfig {
        crate::store::tests::config("c1", "web")
    }

    fn net(action: &str, id: &str, container: &str) -> Event {
        let a = BTreeMap::from([
            ("container".to_string(), container.to_string()),
            ("name".to_string(), format!("n-{id}")),
            ("type".to_string(), "bridge".to_string()),
        ]);
        Event::new("network", action, id, a)
    }

    fn vol(action: &str, id: &str, container: &str) -> Event {
        let a = BTreeMap::from([
            ("container".to_string(), container.to_string()),
            ("driver".to_string(), "local".to_string()),
        ]);
        Event::new("volume", action, id, a)
    }

    fn actions(v: &[Event]) -> Vec<String> {
        v.iter()
            .map(|e| format!("{} {} {}", e.kind, e.action, e.actor.id))
            .collect()
    }

    #[test]
    fn only_what_the_run_left_open_is_said_and_only_once() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        let c = config();
        let emit = |e: Event| super::super::emit(root, &e).unwrap();
        emit(Event::container(&c, "create", &[]));
        // A first run that ended as it should.
        emit(net("connect", "n1", "c1"));
        emit(Event::container(&c, "start", &[]));
        emit(net("disconnect", "n1", "c1"));
        emit(Event::container(&c, "die", &[]));
        // A second run whose monitor died after the disconnect of n1;
        // another container's events in between.
        emit(net("connect", "n1", "c1"));
        emit(net("connect", "n2", "c1"));
        emit(vol("mount", "v1", "c1"));
        emit(vol("mount", "v2", "c2"));
        emit(Event::container(&c, "start", &[]));
        emit(net("disconnect", "n1", "c1"));
        complete(root, &c, -1);
        let all = read_all(root).unwrap();
        let tail = &all[all.len() - 3..];
        assert_eq!(
            actions(tail),
            [
                "network disconnect n2",
                "volume unmount v1",
                "container die c1"
            ]
        );
        assert_eq!(tail[0].actor.attributes["name"], "n-n2");
        assert_eq!(tail[0].actor.attributes["type"], "bridge");
        assert_eq!(tail[1].actor.attributes["driver"], "local");
        assert_eq!(tail[2].actor.attributes["exitCode"], "-1");
        assert_eq!(tail[2].actor.attributes["name"], "web");
        // Once: a second caller finds nothing open.
        let n = all.len();
        complete(root, &c, -1);
        assert_eq!(read_all(root).unwrap().len(), n);
        // A run that never started (monitor killed while starting):
        // disconnect and unmount, no die (as docker's failed start).
        emit(net("connect", "n1", "c1"));
        complete(root, &c, -1);
        let all = read_all(root).unwrap();
        assert_eq!(actions(&all[n + 1..]), ["network disconnect n1"]);
    }
}
