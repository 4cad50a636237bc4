//! `cv events --filter/--format/--since/--until` as docker's CLI and
//! daemon answer them, replaying docker's own integration tests
//! (moby's integration-cli `TestEventsFilterContainer`,
//! `TestEventsFilterLabels`, `TestEventsFilterImageName`,
//! `TestEventsContainerEventsAttrSort`, `TestEventsFormat`,
//! `TestEventsFormatBadFunc`, `TestEventsFormatBadField`,
//! `TestEventsSinceInTheFuture`) with real containers and the real CLI;
//! plus the Go field names a template sees and docker's filter rules that
//! those tests do not reach (labels all match, names by prefix, image
//! without tag, `daemon` and `scope` keys); a stream with `--since`
//! started while writers run shows each event once; a stream follows the
//! events file across its rotation, and `--since` reads span both files.

mod common;

use std::time::{Duration, Instant};

use common::events::{unix_now, Stream};
use common::Cv;
use serde_json::Value;

/// `cv events --since since --until now ARGS`, its lines.
fn lines(cv: &Cv, since: &str, args: &[&str]) -> Vec<String> {
    let until = unix_now();
    let mut a = vec!["events", "--since", since, "--until", &until];
    a.extend_from_slice(args);
    cv.ok(&a).lines().map(str::to_string).collect()
}

/// The action of each line of docker's default output
/// (`TIME TYPE ACTION ID (ATTRS)`).
fn plain_actions(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .map(|l| l.split(' ').nth(2).unwrap().to_string())
        .collect()
}

#[test]
fn filters_select_what_dockers_daemon_selects() {
    let cv = Cv::new();
    let since = unix_now();
    // TestEventsFilterContainer: by name and by id, create attach start
    // die of that container only.
    let mut ids = Vec::new();
    for name in ["container_1", "container_2"] {
        cv.ok(&["run", "--name", name, "containerv/busybox", "true"]);
        ids.push(cv.inspect(name, "{{.Id}}"));
    }
    for (name, id) in ["container_1", "container_2"].iter().zip(&ids) {
        for by in [name.to_string(), id.clone(), id[..12].to_string()] {
            let ev = lines(&cv, &since, &["--filter", &format!("container={by}")]);
            assert_eq!(
                plain_actions(&ev),
                ["create", "attach", "start", "die"],
                "{by}: {ev:?}"
            );
            assert!(ev.iter().all(|l| l.contains(id.as_str())), "{ev:?}");
        }
    }
    // docker's fuzzy match: a name prefix takes both.
    let both = lines(&cv, &since, &["--filter", "container=container_"]);
    assert_eq!(both.len(), 8, "{both:?}");

    // TestEventsContainerEventsAttrSort: the attributes sorted, the
    // time RFC 3339 with nanoseconds.
    let create = &lines(
        &cv,
        &since,
        &[
            "--filter",
            "container=container_1",
            "--filter",
            "event=create",
        ],
    )[0];
    assert!(
        create.contains("(image=containerv/busybox, name=container_1)"),
        "{create}"
    );
    let t = create.split(' ').next().unwrap();
    let parsed = chrono::DateTime::parse_from_rfc3339(t).unwrap();
    let frac = t.split('.').nth(1).unwrap();
    assert_eq!(
        frac.chars().take_while(char::is_ascii_digit).count(),
        9,
        "{t}"
    );
    assert!(parsed.timestamp() > 0);

    // TestEventsFilterLabels, and labels all matching (MatchKVList).
    let l1 = cv
        .ok(&[
            "create",
            "-l",
            "io.docker.testing=foo",
            "-l",
            "tier=web",
            "containerv/busybox",
        ])
        .trim()
        .to_string();
    let l2 = cv
        .ok(&["create", "-l", "tier=web", "containerv/busybox"])
        .trim()
        .to_string();
    let by_label = |f: &[&str]| -> Vec<String> {
        let mut a = Vec::new();
        for v in f {
            a.push("--filter");
            a.push(v);
        }
        lines(&cv, &since, &a)
    };
    let foo = by_label(&["label=io.docker.testing=foo"]);
    assert_eq!(foo.len(), 1, "{foo:?}");
    assert!(foo[0].contains(&l1) && !foo[0].contains(&l2));
    assert_eq!(by_label(&["label=tier=web"]).len(), 2);
    let both_labels = by_label(&["label=tier=web", "label=io.docker.testing"]);
    assert_eq!(both_labels.len(), 1, "{both_labels:?}");
    assert!(both_labels[0].contains(&l1));
    assert!(by_label(&["label=tier=web", "label=io.docker.testing=bar"]).is_empty());

    // TestEventsFilterImageName: with or without the tag.
    let t_img = unix_now();
    let tagged = cv.run_d(&["containerv/busybox:latest", "true"]);
    let plain = cv.run_d(&["containerv/busybox", "true"]);
    let ev = lines(&cv, &t_img, &["--filter", "image=containerv/busybox"]);
    assert!(ev.iter().any(|l| l.contains(&tagged)), "{ev:?}");
    assert!(ev.iter().any(|l| l.contains(&plain)), "{ev:?}");
    assert!(ev.iter().all(|l| l.contains(" container ")), "{ev:?}");
    let ev = lines(
        &cv,
        &t_img,
        &["--filter", "image=containerv/busybox:latest"],
    );
    assert!(ev.iter().any(|l| l.contains(&tagged)), "{ev:?}");
    assert!(lines(&cv, &t_img, &["--filter", "image=containerv/busy"]).is_empty());

    // The other keys docker takes: daemon (no daemon events here),
    // scope, type with several values.
    assert!(lines(&cv, &since, &["--filter", "daemon=cv"]).is_empty());
    assert_eq!(
        lines(&cv, &since, &["--filter", "scope=local"]).len(),
        lines(&cv, &since, &[]).len()
    );
    assert!(lines(&cv, &since, &["--filter", "scope=swarm"]).is_empty());
    let nets = lines(
        &cv,
        &since,
        &["--filter", "type=network", "--filter", "type=volume"],
    );
    assert!(
        !nets.is_empty() && nets.iter().all(|l| l.contains(" network ")),
        "{nets:?}"
    );
    cv.ok(&["wait", &tagged, &plain]);
    cv.ok(&[
        "rm",
        "-f",
        "container_1",
        "container_2",
        &l1,
        &l2,
        &tagged,
        &plain,
    ]);
}

#[test]
fn format_is_dockers_json_or_a_go_template_over_dockers_fields() {
    let cv = Cv::new();
    let since = unix_now();
    // TestEventsFormat: two `run --rm`, {{json .}} gives docker's JSON
    // with two start events.
    for _ in 0..2 {
        cv.ok(&["run", "--rm", "containerv/busybox", "true"]);
    }
    // --rm's removal is the monitor's: its destroy comes a moment later.
    let end = Instant::now() + Duration::from_secs(30);
    while lines(&cv, &since, &["--filter", "event=destroy"]).len() < 2 {
        assert!(Instant::now() < end, "no destroy");
        std::thread::sleep(Duration::from_millis(100));
    }
    for format in ["{{json .}}", "json"] {
        let ev: Vec<Value> = lines(&cv, &since, &["--format", format])
            .iter()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        let starts = ev.iter().filter(|e| e["status"] == "start").count();
        assert_eq!(starts, 2, "{ev:?}");
        let kinds: Vec<String> = ev
            .iter()
            .filter(|e| e["Type"] == "container")
            .map(|e| e["Action"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            kinds,
            ["create", "attach", "start", "die", "destroy"].repeat(2),
            "{format}"
        );
    }
    // A Go template addresses docker's events.Message by field name.
    let tpl = "{{.Status}}|{{.ID}}|{{.From}}|{{.Type}}|{{.Action}}|{{.Actor.ID}}|{{.Actor.Attributes.name}}|{{.Scope}}|{{.Time}}|{{.TimeNano}}";
    let out = lines(&cv, &since, &["--filter", "event=create", "--format", tpl]);
    let json: Vec<Value> = lines(
        &cv,
        &since,
        &["--filter", "event=create", "--format", "json"],
    )
    .iter()
    .map(|l| serde_json::from_str(l).unwrap())
    .collect();
    assert_eq!(out.len(), 2);
    for (l, j) in out.iter().zip(&json) {
        let f: Vec<&str> = l.split('|').collect();
        assert_eq!(f[0], "create");
        assert_eq!(f[1], j["id"].as_str().unwrap());
        assert_eq!(f[2], "containerv/busybox");
        assert_eq!(f[3], "container");
        assert_eq!(f[4], "create");
        assert_eq!(f[5], j["Actor"]["ID"].as_str().unwrap());
        assert_eq!(f[6], j["Actor"]["Attributes"]["name"].as_str().unwrap());
        assert_eq!(f[7], "local");
        assert_eq!(f[8], j["time"].as_i64().unwrap().to_string());
        assert_eq!(f[9], j["timeNano"].as_i64().unwrap().to_string());
    }
    // Fields a network event lacks are empty, as docker's.
    let net = lines(
        &cv,
        &since,
        &[
            "--filter",
            "type=network",
            "--filter",
            "event=connect",
            "--format",
            "[{{.Status}}] {{.Actor.Attributes.type}} {{json .Actor.Attributes}}",
        ],
    );
    assert_eq!(net.len(), 2, "{net:?}");
    assert!(net[0].starts_with("[] bridge {"), "{net:?}");

    // TestEventsFormatBadFunc / BadField: 64 at once, no event needed.
    for (bad, says) in [
        (
            "{{badFuncString .}}",
            "function \"badFuncString\" not defined",
        ),
        ("{{.badFieldString}}", "can't evaluate field badFieldString"),
        ("{{.Action", "--format"),
    ] {
        let t = Instant::now();
        let o = cv.run(&["events", "--format", bad]);
        assert_eq!(o.status.code(), Some(64), "{bad}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("Error parsing format: "), "{bad}: {err}");
        assert!(err.contains(says), "{bad}: {err}");
        assert!(t.elapsed() < Duration::from_secs(5));
    }

    // TestEventsSinceInTheFuture: since after until is refused.
    let o = cv.run(&["events", "--since", "1m", "--until", "1h"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("cannot be after `until`"), "{err}");
}

#[test]
fn a_stream_with_since_shows_each_event_once_while_writers_run() {
    let cv = Cv::new();
    let since = unix_now();
    let n = 40;
    let names: Vec<String> = (0..n)
        .map(|_| containerv_testutil::unique_id("evs"))
        .collect();
    // Writers run while the stream starts: what was stored before it
    // follows is printed from the file, the rest as it comes; none twice.
    let (first, rest) = names.split_at(n / 2);
    for v in first {
        cv.ok(&["volume", "create", v]);
    }
    let writer = {
        let rest = rest.to_vec();
        let cv_root = cv.engine_root();
        let images = cv.images.clone();
        std::thread::spawn(move || {
            for v in &rest {
                let o = std::process::Command::new(env!("CARGO_BIN_EXE_cv"))
                    .arg("--root")
                    .arg(&cv_root)
                    .arg("--image-root")
                    .arg(&images)
                    .args(["volume", "create", v])
                    .output()
                    .unwrap();
                assert!(o.status.success());
            }
        })
    };
    let stream = Stream::spawn(
        &cv,
        &[
            "events",
            "--since",
            &since,
            "--filter",
            "type=volume",
            "--format",
            "{{.Actor.ID}}",
        ],
    );
    writer.join().unwrap();
    let seen = stream.take(n, Duration::from_secs(30));
    // Anything doubled would come right after: give it a moment.
    std::thread::sleep(Duration::from_millis(500));
    let extra: Vec<String> = stream.lines.try_iter().collect();
    drop(stream);
    assert!(extra.is_empty(), "shown twice: {extra:?}");
    let mut want = names.clone();
    want.sort();
    let mut got = seen.clone();
    got.sort();
    assert_eq!(got, want, "every create once");
    for v in &names {
        cv.ok(&["volume", "rm", v]);
    }
}

#[test]
fn a_stream_follows_the_events_file_across_its_rotation() {
    use std::io::Write;
    let cv = Cv::new();
    let t0 = unix_now();
    let first = containerv_testutil::unique_id("evr");
    cv.ok(&["volume", "create", &first]);
    let log = cv.engine_root().join("events.log");
    let stream = Stream::spawn(
        &cv,
        &[
            "events",
            "--filter",
            "type=volume",
            "--format",
            "{{.Actor.ID}}",
        ],
    );
    std::thread::sleep(Duration::from_millis(300));
    // Other writers' events fill the file to its 4 MiB bound.
    let pad = serde_json::json!({
        "Type": "container", "Action": "exec_die", "scope": "local",
        "time": 1, "timeNano": 1_000_000_000,
        "Actor": {"ID": "0".repeat(64), "Attributes": {"pad": "x".repeat(900)}}
    })
    .to_string();
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    let mut chunk = String::new();
    while chunk.len() < (4 << 20) {
        chunk.push_str(&pad);
        chunk.push('\n');
    }
    f.write_all(chunk.as_bytes()).unwrap();
    drop(f);
    // The next events rotate it; the stream follows into the new file.
    let names: Vec<String> = (0..5)
        .map(|_| containerv_testutil::unique_id("evr"))
        .collect();
    for v in &names {
        cv.ok(&["volume", "create", v]);
    }
    assert!(cv.engine_root().join("events.log.1").exists());
    assert!(std::fs::metadata(&log).unwrap().len() < 1 << 20);
    let mut seen = stream.take(names.len(), Duration::from_secs(30));
    std::thread::sleep(Duration::from_millis(300));
    seen.extend(stream.lines.try_iter());
    drop(stream);
    assert_eq!(seen, names, "streamed across the rotation");
    // A read with --since spans both files.
    let mut all = vec![first.clone()];
    all.extend(names.iter().cloned());
    let stored = lines(
        &cv,
        &t0,
        &["--filter", "type=volume", "--format", "{{.Actor.ID}}"],
    );
    assert_eq!(stored, all);
    for v in &all {
        cv.ok(&["volume", "rm", v]);
    }
}
