//! `cv events`: real lifecycles produce docker's sequence of events in
//! docker's JSON shape, both streamed (a `cv events` running meanwhile)
//! and read back with `--since/--until`; an OOM kill inside a running
//! container emits `oom` (and the kernel's count shows in
//! `container_oom_events_total`); a health flip emits `health_status`;
//! `--filter` and bad values.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::Cv;
use serde_json::Value;

fn unix_now() -> String {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    format!("{}.{:09}", d.as_secs(), d.subsec_nanos())
}

/// `cv events ARGS --format json` between `since` and now.
fn events(cv: &Cv, since: &str, args: &[&str]) -> Vec<Value> {
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

fn actions(ev: &[Value]) -> Vec<String> {
    ev.iter()
        .map(|e| e["Action"].as_str().unwrap().to_string())
        .collect()
}

/// A streaming `cv events --format json`, its lines on a channel.
struct Stream(Child, Receiver<String>);

impl Stream {
    fn start(cv: &Cv, args: &[&str]) -> Stream {
        let mut a = vec!["events", "--format", "json"];
        a.extend_from_slice(args);
        let mut child = cv.cmd(&a).stdout(Stdio::piped()).spawn().unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    return;
                }
            }
        });
        // It starts following from its start: give it that moment.
        std::thread::sleep(Duration::from_millis(300));
        Stream(child, rx)
    }

    /// Lines until `last` is the action of one (bounded).
    fn until_action(&self, last: &str) -> Vec<Value> {
        let end = Instant::now() + Duration::from_secs(30);
        let mut got = Vec::new();
        while Instant::now() < end {
            if let Ok(l) = self.1.recv_timeout(Duration::from_millis(200)) {
                let v: Value = serde_json::from_str(&l).unwrap();
                let done = v["Action"] == last;
                got.push(v);
                if done {
                    return got;
                }
            }
        }
        panic!("no {last} streamed: {:?}", actions(&got));
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits (bounded) until an event with action `want` shows up.
fn wait_action(cv: &Cv, since: &str, args: &[&str], want: &str) -> Vec<Value> {
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        let ev = events(cv, since, args);
        if actions(&ev).iter().any(|a| a == want) {
            return ev;
        }
        assert!(Instant::now() < end, "no {want}: {:?}", actions(&ev));
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_lifecycle_streams_dockers_sequence() {
    let cv = Cv::new();
    let t0 = unix_now();
    let stream = Stream::start(&cv, &["--filter", "container=life"]);
    let id = cv
        .ok(&[
            "create",
            "--name",
            "life",
            "-l",
            "tier=web",
            "containerv/busybox",
            "sleep",
            "1000",
        ])
        .trim()
        .to_string();
    cv.ok(&["start", "life"]);
    cv.ok(&["pause", "life"]);
    cv.ok(&["unpause", "life"]);
    // sleep as pid 1 ignores SIGTERM: killed after the 1 s timeout.
    cv.ok(&["stop", "-t", "1", "life"]);
    cv.ok(&["restart", "-t", "1", "life"]);
    cv.ok(&["kill", "-s", "USR1", "life"]);
    cv.ok(&["rm", "-f", "life"]);
    cv.assert_gone(&id);
    let streamed = stream.until_action("destroy");
    let want = [
        "create", "start", "pause", "unpause", "kill", "die", "stop", "start", "restart", "kill",
        "kill", "die", "destroy",
    ];
    // The restart's own stop finds the container stopped already: no
    // kill/die/stop from it.
    assert_eq!(actions(&streamed), want);
    let stored = events(&cv, &t0, &["--filter", "container=life"]);
    assert_eq!(stored, streamed, "streamed and stored events differ");

    // docker's shape.
    let create = &stored[0];
    assert_eq!(create["Type"], "container");
    assert_eq!(create["status"], "create");
    assert_eq!(create["id"], id.as_str());
    assert_eq!(create["from"], "containerv/busybox");
    assert_eq!(create["scope"], "local");
    assert_eq!(create["Actor"]["ID"], id.as_str());
    let attrs = &create["Actor"]["Attributes"];
    assert_eq!(attrs["name"], "life");
    assert_eq!(attrs["image"], "containerv/busybox");
    assert_eq!(attrs["tier"], "web");
    let t = create["time"].as_i64().unwrap();
    let tn = create["timeNano"].as_i64().unwrap();
    assert_eq!(t, tn / 1_000_000_000);
    let die = &stored[5];
    assert_eq!(die["Action"], "die");
    assert_eq!(die["Actor"]["Attributes"]["exitCode"], "137");
    assert_eq!(stored[4]["Actor"]["Attributes"]["signal"], "15");
    assert_eq!(stored[9]["Actor"]["Attributes"]["signal"], "10");
    // Times never go backwards.
    let ts: Vec<i64> = stored
        .iter()
        .map(|e| e["timeNano"].as_i64().unwrap())
        .collect();
    assert!(ts.windows(2).all(|w| w[0] <= w[1]), "{ts:?}");

    // Filters: by event (several values are alternatives), label, type.
    let dies = events(
        &cv,
        &t0,
        &["--filter", "event=die", "--filter", "event=oom"],
    );
    assert_eq!(actions(&dies), ["die", "die"]);
    let web = events(
        &cv,
        &t0,
        &["--filter", "label=tier=web", "--filter", "event=create"],
    );
    assert_eq!(web.len(), 1);
    assert!(events(
        &cv,
        &t0,
        &["--filter", "type=network", "--filter", "container=life"]
    )
    .is_empty());
    // The default output: docker's line.
    let until = unix_now();
    let text = cv.ok(&[
        "events",
        "--since",
        &t0,
        "--until",
        &until,
        "-f",
        "event=create",
    ]);
    assert!(
        text.contains(&format!(
            "container create {id} (image=containerv/busybox, name=life, tier=web)"
        )),
        "{text}"
    );
    // A template.
    let tpl = cv.ok(&[
        "events",
        "--since",
        &t0,
        "--until",
        &until,
        "-f",
        "event=destroy",
        "--format",
        "{{.Action}} {{.Actor.Attributes.name}}",
    ]);
    assert_eq!(tpl.trim(), "destroy life");
}

#[test]
fn an_oom_kill_and_a_health_flip_are_events() {
    let cv = Cv::new();
    let t0 = unix_now();
    cv.run_d(&[
        "--name",
        "oomev",
        "--memory",
        "16m",
        "--memory-swap",
        "16m",
        "containerv/busybox",
        "sleep",
        "1000",
    ]);
    let o = cv.run(&[
        "exec",
        "oomev",
        "sh",
        "-c",
        "head -c 67108864 /dev/zero | sort >/dev/null",
    ]);
    assert!(!o.status.success(), "the hog was not killed");
    // Seen live (the container runs on), within a sample interval.
    let ev = wait_action(&cv, &t0, &["--filter", "container=oomev"], "oom");
    assert_eq!(actions(&ev), ["create", "start", "oom"]);
    let metrics = cv.ok(&["system", "metrics"]);
    let oom = metrics
        .lines()
        .find(|l| l.starts_with("container_oom_events_total{") && l.contains("name=\"oomev\""))
        .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .unwrap();
    assert!(oom >= 1.0, "{metrics}");

    cv.run_d(&[
        "--name",
        "hc",
        "--health-cmd",
        "cat /tmp/ok",
        "--health-interval",
        "200ms",
        "--health-retries",
        "1",
        "containerv/busybox",
        "sleep",
        "1000",
    ]);
    let f = [
        "--filter",
        "container=hc",
        "--filter",
        "event=health_status",
    ];
    wait_action(&cv, &t0, &f, "health_status: unhealthy");
    cv.ok(&["exec", "hc", "touch", "/tmp/ok"]);
    wait_action(&cv, &t0, &f, "health_status: healthy");
    cv.ok(&["exec", "hc", "rm", "/tmp/ok"]);
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        let a = actions(&events(&cv, &t0, &f));
        if a.len() >= 3 {
            assert_eq!(
                a[..3],
                [
                    "health_status: unhealthy",
                    "health_status: healthy",
                    "health_status: unhealthy"
                ]
            );
            break;
        }
        assert!(Instant::now() < end, "{a:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
    cv.ok(&["rm", "-f", "oomev", "hc"]);
}

#[test]
fn until_in_the_past_returns_and_bad_values_are_refused() {
    let cv = Cv::new();
    let t = Instant::now();
    cv.ok(&["events", "--since", "1h", "--until", "1s"]);
    assert!(t.elapsed() < Duration::from_secs(5));
    for (args, says) in [
        (vec!["events", "--since", "yesterday"], "--since"),
        (vec!["events", "--until", "x1"], "--until"),
        (vec!["events", "--filter", "colour=red"], "unknown key"),
        (vec!["events", "--filter", "container"], "KEY=VALUE"),
    ] {
        let o = cv.run(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{args:?}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}
