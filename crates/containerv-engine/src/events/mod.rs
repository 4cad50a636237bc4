//! The engine's event stream (`cv events`): docker's event types and JSON
//! shape, in one append-only file per engine.
//!
//! There is no daemon to hold events in memory, and the writers are many
//! short-lived processes (every `cv` command, every container's monitor),
//! so events go to `<root>/events.log`, one JSON object per line. Each
//! writer takes `<root>/events.lock` (flock) for the append: lines of
//! concurrent writers never interleave, and rotation (the file renamed to
//! `events.log.1` once it reaches [`MAX_BYTES`], the older one dropped)
//! happens under the same lock. A line is one `write(2)` of an `O_APPEND`
//! descriptor, so a writer killed at any point leaves whole lines (or,
//! on a full disk, a partial last line, which the next writer ends with a
//! newline and readers skip). Events survive the writer's death and the
//! engine's restarts; emitting never fails the operation it reports.
//!
//! Shape (docker's `events.Message`): `status`, `id`, `from` (container
//! events only, docker's legacy fields), `Type`, `Action`, `Actor {ID,
//! Attributes}`, `scope` ("local"), `time` (s), `timeNano`. Container
//! attributes: `image`, `name`, the container's labels, plus `exitCode`
//! (`die`), `signal` (`kill`), `execDuration` (`die`). Network events
//! ([`network`]): `create`, `connect`, `disconnect`, `destroy`; volume
//! events ([`volume`]): `create` (also for each volume a new container
//! names, existing or not, as docker), `mount` and `unmount` (each run of
//! a container), `destroy`.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::record::ContainerConfig;

pub mod exec;
mod filter;
pub mod run_end;

pub use filter::Filter;

/// The current events file in an engine root.
pub const EVENTS_FILE: &str = "events.log";
/// The rotated (older) events file.
pub const EVENTS_OLD: &str = "events.log.1";
const LOCK_FILE: &str = "events.lock";
/// The size at which the events file is rotated (two files are kept).
pub const MAX_BYTES: u64 = 4 << 20;

/// One event, as docker's API and `docker events --format json` show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(rename = "Action")]
    pub action: String,
    #[serde(rename = "Actor")]
    pub actor: Actor,
    pub scope: String,
    pub time: i64,
    #[serde(rename = "timeNano")]
    pub time_nano: i64,
}

/// What the event is about.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Actor {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Attributes")]
    pub attributes: BTreeMap<String, String>,
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

impl Event {
    /// An event of `kind` (`container`, `network`, `volume`) now.
    pub fn new(kind: &str, action: &str, id: &str, attributes: BTreeMap<String, String>) -> Self {
        let ns = now_ns();
        Event {
            status: None,
            id: None,
            from: None,
            kind: kind.into(),
            action: action.into(),
            actor: Actor {
                id: id.into(),
                attributes,
            },
            scope: "local".into(),
            time: ns / 1_000_000_000,
            time_nano: ns,
        }
    }

    /// A container event: docker's legacy `status`/`id`/`from` too, and
    /// the attributes `image`, `name`, the labels and `extra`.
    pub fn container(config: &ContainerConfig, action: &str, extra: &[(&str, String)]) -> Self {
        let mut a: BTreeMap<String, String> = config.labels.clone();
        a.insert("image".into(), config.image.clone());
        a.insert("name".into(), config.name.clone());
        for (k, v) in extra {
            a.insert((*k).into(), v.clone());
        }
        let mut e = Event::new("container", action, &config.id, a);
        e.status = Some(action.into());
        e.id = Some(config.id.clone());
        e.from = Some(config.image.clone());
        e
    }
}

/// Appends `e` to the events of engine `root` (see the module docs).
pub fn emit(root: &Path, e: &Event) -> std::io::Result<()> {
    let _lock = lock(root)?;
    append(root, e)
}

/// Takes the events lock of `root` (released when the file closes).
fn lock(root: &Path) -> std::io::Result<File> {
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(root.join(LOCK_FILE))?;
    // SAFETY: flock on a descriptor we own; released when it closes.
    while unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
    Ok(lock)
}

/// Appends one line, rotating first if the file is full; the caller
/// holds the lock.
fn append(root: &Path, e: &Event) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(e).map_err(std::io::Error::other)?;
    line.push(b'\n');
    let path = root.join(EVENTS_FILE);
    let open = || {
        OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(&path)
    };
    let mut f = open()?;
    let mut len = f.metadata()?.len();
    if len >= MAX_BYTES {
        std::fs::rename(&path, root.join(EVENTS_OLD))?;
        f = open()?;
        len = 0;
    }
    if len > 0 {
        // A partial last line (a full disk cut it): end it first.
        let mut last = [0u8; 1];
        if f.read_exact_at(&mut last, len - 1).is_ok() && last[0] != b'\n' {
            line.insert(0, b'\n');
        }
    }
    f.write_all(&line)
}

/// Emits a container event, best-effort (an event that cannot be written
/// never fails the operation: it is said on stderr).
pub fn container(root: &Path, config: &ContainerConfig, action: &str, extra: &[(&str, String)]) {
    if let Err(err) = emit(root, &Event::container(config, action, extra)) {
        eprintln!("cv: event {action} of {}: {err}", config.id);
    }
}

/// Emits a container event for container `id` of `store` (its config
/// read for the attributes), best-effort.
pub fn for_id(store: &crate::store::Store, id: &str, action: &str, extra: &[(&str, String)]) {
    if let Ok(c) = store.load_config(id) {
        container(store.root(), &c, action, extra);
    }
}

/// Emits an event of another kind (network, volume), best-effort.
pub fn other(root: &Path, kind: &str, action: &str, id: &str, attrs: &[(&str, String)]) {
    let a = attrs
        .iter()
        .map(|(k, v)| ((*k).to_string(), v.clone()))
        .collect();
    if let Err(err) = emit(root, &Event::new(kind, action, id, a)) {
        eprintln!("cv: event {kind} {action} of {id}: {err}");
    }
}

/// Emits docker's network event: `Actor.ID` the network's id, attributes
/// `name`, `type` (the driver) and, for `connect`/`disconnect`,
/// `container` (the container's id). Best-effort.
pub fn network(
    root: &Path,
    net: &crate::network::record::NetworkRecord,
    action: &str,
    container: Option<&str>,
) {
    let mut attrs = vec![("name", net.name.clone()), ("type", net.driver.clone())];
    if let Some(c) = container {
        attrs.push(("container", c.to_string()));
    }
    other(root, "network", action, &net.id, &attrs);
}

/// Emits docker's volume event: `Actor.ID` the volume's name, attributes
/// `driver` and `extra` (`container`, `destination`, `read/write`,
/// `propagation` for `mount`; `container` for `unmount`). Best-effort.
pub fn volume(root: &Path, name: &str, action: &str, extra: &[(&str, String)]) {
    let mut attrs = vec![("driver", "local".to_string())];
    attrs.extend(extra.iter().map(|(k, v)| (*k, v.clone())));
    other(root, "volume", action, name, &attrs);
}

/// Emits docker's image event: `Actor.ID` what moby logs (a reference for
/// `pull`/`push`, the image id for the others), attributes `name` and the
/// image's labels, docker's legacy `status` and `id`. Best-effort.
pub fn image(root: &Path, action: &str, id: &str, name: &str, labels: &BTreeMap<String, String>) {
    let mut a = labels.clone();
    a.insert("name".into(), name.into());
    let mut e = Event::new("image", action, id, a);
    e.status = Some(action.into());
    e.id = Some(id.into());
    if let Err(err) = emit(root, &e) {
        eprintln!("cv: event image {action} of {id}: {err}");
    }
}

/// Parses the complete lines of `buf` (a partial or damaged line is
/// skipped).
fn parse(buf: &[u8], out: &mut Vec<Event>) {
    for l in buf.split(|b| *b == b'\n') {
        if let Ok(e) = serde_json::from_slice::<Event>(l) {
            out.push(e);
        }
    }
}

/// Every stored event, oldest first.
pub fn read_all(root: &Path) -> std::io::Result<Vec<Event>> {
    let mut out = Vec::new();
    for name in [EVENTS_OLD, EVENTS_FILE] {
        match std::fs::read(root.join(name)) {
            Ok(b) => parse(&b, &mut out),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Follows the events file from its current end, across rotations.
pub struct Follower {
    path: PathBuf,
    file: Option<File>,
    pos: u64,
    ino: u64,
    partial: Vec<u8>,
}

impl Follower {
    /// Starts at the current end of `root`'s events ([`Follower::stored`]
    /// gives what was there before).
    pub fn at_end(root: &Path) -> Follower {
        let path = root.join(EVENTS_FILE);
        let mut f = Follower {
            path,
            file: None,
            pos: 0,
            ino: 0,
            partial: Vec::new(),
        };
        if let Ok(file) = File::open(&f.path) {
            if let Ok(m) = file.metadata() {
                f.pos = m.len();
                f.ino = m.ino();
            }
            f.file = Some(file);
        }
        f
    }

    /// The events stored before the follower started, oldest first: the
    /// rotated file, and the current one up to where following begins, so
    /// an event written meanwhile is neither lost nor shown twice (a
    /// rotation meanwhile: the file followed is now the rotated one).
    pub fn stored(&self) -> std::io::Result<Vec<Event>> {
        let mut out = Vec::new();
        for path in [self.path.with_file_name(EVENTS_OLD), self.path.clone()] {
            let mut f = match File::open(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            let mut buf = Vec::new();
            if self.file.is_some() && f.metadata()?.ino() == self.ino {
                (&mut f).take(self.pos).read_to_end(&mut buf)?;
            } else if path == self.path {
                continue; // made after the start: the follower's
            } else {
                f.read_to_end(&mut buf)?;
            }
            parse(&buf, &mut out);
        }
        Ok(out)
    }

    /// New events since the last call.
    pub fn poll(&mut self) -> Vec<Event> {
        let mut out = Vec::new();
        self.drain(&mut out);
        // Rotated (or made): finish the old file, then the new one.
        if let Ok(m) = std::fs::metadata(&self.path) {
            if m.ino() != self.ino || self.file.is_none() {
                if let Ok(file) = File::open(&self.path) {
                    self.file = Some(file);
                    self.ino = m.ino();
                    self.pos = 0;
                    self.partial.clear();
                    self.drain(&mut out);
                }
            }
        }
        out
    }

    fn drain(&mut self, out: &mut Vec<Event>) {
        let Some(f) = self.file.as_mut() else { return };
        if f.seek(SeekFrom::Start(self.pos)).is_err() {
            return;
        }
        let mut buf = Vec::new();
        if f.read_to_end(&mut buf).is_err() {
            return;
        }
        self.pos += buf.len() as u64;
        self.partial.extend_from_slice(&buf);
        if let Some(end) = self.partial.iter().rposition(|b| *b == b'\n') {
            let rest = self.partial.split_off(end + 1);
            parse(&self.partial, out);
            self.partial = rest;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(action: &str, name: &str) -> Event {
        let mut a = BTreeMap::new();
        a.insert("name".into(), name.into());
        a.insert("image".into(), "busybox".into());
        a.insert("tier".into(), "web".into());
        Event::new("container", action, &format!("{name}0123456789"), a)
    }

    #[test]
    fn concurrent_writers_never_interleave_and_rotation_keeps_two_files() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().to_path_buf();
        std::thread::scope(|s| {
            for t in 0..4 {
                let root = &root;
                s.spawn(move || {
                    for i in 0..3000 {
                        let mut e = ev("start", &format!("c{t}"));
                        e.actor
                            .attributes
                            .insert("pad".into(), format!("{i}-{}", "x".repeat(900)));
                        emit(root, &e).unwrap();
                    }
                });
            }
        });
        // 12000 lines of ~1.2 KB: rotated, two files, each under the bound
        // plus one line, every line whole.
        let cur = std::fs::metadata(root.join(EVENTS_FILE)).unwrap().len();
        let old = std::fs::metadata(root.join(EVENTS_OLD)).unwrap().len();
        assert!(cur <= MAX_BYTES + 2048 && old <= MAX_BYTES + 2048);
        for name in [EVENTS_FILE, EVENTS_OLD] {
            let text = std::fs::read_to_string(root.join(name)).unwrap();
            for l in text.lines() {
                serde_json::from_str::<Event>(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            }
        }
    }

    #[test]
    fn a_cut_line_is_ended_and_skipped_and_the_follower_sees_new_events() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        emit(root, &ev("create", "a")).unwrap();
        let mut f = Follower::at_end(root);
        // A writer cut off mid-line.
        let mut file = OpenOptions::new()
            .append(true)
            .open(root.join(EVENTS_FILE))
            .unwrap();
        file.write_all(b"{\"Type\":\"contai").unwrap();
        emit(root, &ev("start", "a")).unwrap();
        let all = read_all(root).unwrap();
        let actions: Vec<&str> = all.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["create", "start"]);
        let new: Vec<String> = f.poll().into_iter().map(|e| e.action).collect();
        assert_eq!(new, ["start"]);
        assert!(f.poll().is_empty());
    }

    #[test]
    fn stored_and_followed_events_neither_overlap_nor_miss() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        emit(root, &ev("create", "a")).unwrap();
        let mut f = Follower::at_end(root);
        // Written between the start of following and the read of what
        // was stored: followed, not stored.
        emit(root, &ev("start", "a")).unwrap();
        let names = |v: Vec<Event>| v.into_iter().map(|e| e.action).collect::<Vec<_>>();
        assert_eq!(names(f.stored().unwrap()), ["create"]);
        assert_eq!(names(f.poll()), ["start"]);
        // A rotation between: the stored part is in the rotated file.
        let mut f = Follower::at_end(root);
        std::fs::rename(root.join(EVENTS_FILE), root.join(EVENTS_OLD)).unwrap();
        emit(root, &ev("die", "a")).unwrap();
        assert_eq!(names(f.stored().unwrap()), ["create", "start"]);
        assert_eq!(names(f.poll()), ["die"]);
        // No events yet: nothing stored, the first one followed.
        let e = tempfile::tempdir().unwrap();
        let mut f = Follower::at_end(e.path());
        emit(e.path(), &ev("create", "b")).unwrap();
        assert!(f.stored().unwrap().is_empty());
        assert_eq!(names(f.poll()), ["create"]);
    }
}
