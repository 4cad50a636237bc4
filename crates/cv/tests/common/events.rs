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

/// A running `cv ARGS` (an events command that follows), its output lines
/// on a channel; ended on drop.
pub struct Stream {
    child: std::process::Child,
    pub lines: std::sync::mpsc::Receiver<String>,
}

impl Stream {
    pub fn spawn(cv: &Cv, args: &[&str]) -> Stream {
        use std::io::{BufRead, BufReader};
        let mut child = cv
            .cmd(args)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    return;
                }
            }
        });
        Stream { child, lines }
    }

    /// Lines until `n` arrived or `limit` passed.
    pub fn take(&self, n: usize, limit: std::time::Duration) -> Vec<String> {
        let end = std::time::Instant::now() + limit;
        let mut seen = Vec::new();
        while seen.len() < n && std::time::Instant::now() < end {
            if let Ok(l) = self
                .lines
                .recv_timeout(std::time::Duration::from_millis(200))
            {
                seen.push(l);
            }
        }
        seen
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
