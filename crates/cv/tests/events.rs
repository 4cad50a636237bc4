//! `cv events`: real lifecycles produce docker's sequence of events in
//! docker's JSON shape, both streamed (a `cv events` running meanwhile)
//! and read back with `--since/--until`; an OOM kill inside a running
//! container emits `oom` (and the kernel's count shows in
//! `container_oom_events_total`); a health flip emits `health_status`;
//! networks and volumes emit docker's events in docker's order (the
//! sequences docker's own integration tests expect:
//! `TestNetworkEvents`, `TestEventsContainerWithMultiNetwork`,
//! `TestVolumeEvents`); `--filter` and bad values.

mod common;

use std::time::{Duration, Instant};

use common::events::{about, events, kinds, unix_now, Stream};
use common::Cv;
use serde_json::Value;

fn actions(ev: &[Value]) -> Vec<String> {
    ev.iter()
        .map(|e| e["Action"].as_str().unwrap().to_string())
        .collect()
}

/// A streaming `cv events --format json ARGS`, from its start (it
/// follows from when it started: give it that moment).
fn stream(cv: &Cv, args: &[&str]) -> Stream {
    let mut a = vec!["events", "--format", "json"];
    a.extend_from_slice(args);
    let s = Stream::spawn(cv, &a);
    std::thread::sleep(Duration::from_millis(300));
    s
}

/// Streamed events until `last` is the action of one (bounded).
fn until_action(s: &Stream, last: &str) -> Vec<Value> {
    let end = Instant::now() + Duration::from_secs(30);
    let mut got = Vec::new();
    while Instant::now() < end {
        if let Ok(l) = s.lines.recv_timeout(Duration::from_millis(200)) {
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
    let stream = stream(&cv, &["--filter", "container=life"]);
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
    let streamed = until_action(&stream, "destroy");
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
    // The exec's own events come with it (the oom may come before or
    // after its exec_die).
    let (execs, own): (Vec<String>, Vec<String>) = actions(&ev)
        .into_iter()
        .partition(|a| a.starts_with("exec_"));
    assert_eq!(own, ["create", "start", "oom"]);
    assert_eq!(execs.len(), 3, "{execs:?}");
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

#[test]
fn networks_emit_dockers_events_in_dockers_order() {
    use containerv_testutil::net::{free_subnet, link_exists};
    let cv = Cv::new();
    let t0 = unix_now();
    let n1 = containerv_testutil::unique_id("evn");
    let n2 = containerv_testutil::unique_id("evn");
    for n in [&n1, &n2] {
        let cidr = format!("{}/24", free_subnet(24));
        cv.ok(&["network", "create", "--subnet", &cidr, n]);
    }
    let id_of = |n: &str| {
        cv.ok(&["network", "inspect", "-f", "{{.Id}}", n])
            .trim()
            .to_string()
    };
    let (id1, id2) = (id_of(&n1), id_of(&n2));
    let bridges: Vec<String> = [&n1, &n2]
        .iter()
        .map(|n| {
            let o: Value =
                serde_json::from_str(&cv.ok(&["network", "inspect", "-f", "{{json .Options}}", n]))
                    .unwrap();
            o["com.docker.network.bridge.name"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    // docker's TestNetworkEvents: a container that runs on the network
    // and is removed.
    let a = cv.run_d(&[
        "--name",
        "eva",
        "--network",
        &n1,
        "containerv/busybox",
        "true",
    ]);
    cv.ok(&["wait", "eva"]);
    cv.ok(&["rm", "eva"]);
    // TestEventsContainerWithMultiNetwork: connected to a second network
    // while it runs, a stop disconnects it from both.
    let b = cv.run_d(&[
        "--name",
        "evb",
        "--network",
        &n1,
        "containerv/busybox",
        "sleep",
        "1000",
    ]);
    cv.ok(&["network", "connect", &n2, "evb"]);
    cv.ok(&["network", "disconnect", &n2, "evb"]);
    cv.ok(&["network", "connect", &n2, "evb"]);
    let t_stop = unix_now();
    cv.ok(&["stop", "-t", "0", "evb"]);
    cv.ok(&["rm", "evb"]);
    cv.ok(&["network", "rm", &n1, &n2]);
    for br in &bridges {
        assert!(!link_exists(br), "bridge {br} left");
    }

    // By name (docker's `network` filter takes names and ids).
    let on1 = events(&cv, &t0, &["--filter", &format!("network={n1}")]);
    assert_eq!(
        actions(&on1),
        [
            "create",
            "connect",
            "disconnect",
            "connect",
            "disconnect",
            "destroy"
        ]
    );
    let on2 = events(&cv, &t0, &["--filter", &format!("network={id2}")]);
    assert_eq!(
        actions(&on2),
        [
            "create",
            "connect",
            "disconnect",
            "connect",
            "disconnect",
            "destroy"
        ]
    );
    // docker's shape: Actor.ID the network id; name, type, container.
    for e in &on1 {
        assert_eq!(e["Type"], "network", "{e}");
        assert_eq!(e["Actor"]["ID"], id1.as_str(), "{e}");
        assert_eq!(e["scope"], "local", "{e}");
        assert!(e.get("status").is_none() && e.get("from").is_none(), "{e}");
        let at = &e["Actor"]["Attributes"];
        assert_eq!(at["name"], n1.as_str(), "{e}");
        assert_eq!(at["type"], "bridge", "{e}");
    }
    let attrs = |e: &Value| e["Actor"]["Attributes"].as_object().unwrap().clone();
    assert_eq!(attrs(&on1[0]).len(), 2, "create: name and type only");
    assert_eq!(on1[1]["Actor"]["Attributes"]["container"], a.as_str());
    assert_eq!(on1[2]["Actor"]["Attributes"]["container"], a.as_str());
    assert_eq!(on1[3]["Actor"]["Attributes"]["container"], b.as_str());
    assert_eq!(attrs(&on1[5]).len(), 2, "destroy: name and type only");

    // Interleaved with the container's own events as docker does: the
    // connect before its start, the disconnect (docker's cleanup) before
    // its die.
    let all = events(&cv, &t0, &[]);
    assert_eq!(
        about(&all, &a),
        [
            "container create",
            "network connect",
            "container start",
            "network disconnect",
            "container die",
            "container destroy"
        ]
    );
    let stop = events(&cv, &t_stop, &["--filter", "type=network"]);
    let mut gone: Vec<String> = stop
        .iter()
        .filter(|e| e["Action"] == "disconnect" && e["Actor"]["Attributes"]["container"] == b)
        .map(|e| {
            e["Actor"]["Attributes"]["name"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    gone.sort();
    let mut want = vec![n1.clone(), n2.clone()];
    want.sort();
    assert_eq!(gone, want, "{:?}", kinds(&stop));
    // Filters combine as docker's: type and event.
    let connects = events(
        &cv,
        &t0,
        &["--filter", "type=network", "--filter", "event=connect"],
    );
    assert_eq!(connects.len(), 4, "{:?}", kinds(&connects));
    assert!(events(&cv, &t0, &["--filter", "type=volume"]).is_empty());
}

#[test]
fn volumes_emit_dockers_events_in_dockers_order() {
    let cv = Cv::new();
    let t0 = unix_now();
    let v = containerv_testutil::unique_id("evv");
    cv.ok(&["volume", "create", &v]);
    // docker's TestVolumeEvents.
    let a = cv.run_d(&[
        "--name",
        "evva",
        "--network",
        "none",
        "-v",
        &format!("{v}:/foo"),
        "containerv/busybox",
        "true",
    ]);
    cv.ok(&["wait", "evva"]);
    cv.ok(&["rm", "evva"]);
    cv.ok(&["volume", "rm", &v]);
    let ev = events(&cv, &t0, &["--filter", &format!("volume={v}")]);
    // docker 20.10 says `create` again when a container names an
    // existing volume.
    assert_eq!(
        actions(&ev),
        ["create", "create", "mount", "unmount", "destroy"]
    );
    for e in &ev {
        assert_eq!(e["Type"], "volume", "{e}");
        assert_eq!(e["Actor"]["ID"], v.as_str(), "{e}");
        assert_eq!(e["Actor"]["Attributes"]["driver"], "local", "{e}");
        assert!(e.get("status").is_none(), "{e}");
    }
    let mount = ev[2]["Actor"]["Attributes"].as_object().unwrap();
    let want: serde_json::Map<String, Value> = serde_json::from_value(serde_json::json!({
        "container": a, "destination": "/foo", "driver": "local",
        "propagation": "", "read/write": "true"
    }))
    .unwrap();
    assert_eq!(mount, &want);
    let unmount = ev[3]["Actor"]["Attributes"].as_object().unwrap();
    let want: serde_json::Map<String, Value> =
        serde_json::from_value(serde_json::json!({"container": a, "driver": "local"})).unwrap();
    assert_eq!(unmount, &want);
    assert_eq!(ev[4]["Actor"]["Attributes"].as_object().unwrap().len(), 1);
    let all = events(&cv, &t0, &[]);
    assert_eq!(
        about(&all, &a),
        [
            "container create",
            "network connect",
            "volume mount",
            "container start",
            "network disconnect",
            "volume unmount",
            "container die",
            "container destroy"
        ]
    );

    // `run --rm`: a new named volume read-only, an anonymous one that
    // goes with the container.
    let t1 = unix_now();
    let w = containerv_testutil::unique_id("evw");
    cv.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        &format!("{w}:/ro:ro"),
        "-v",
        "/anon",
        "containerv/busybox",
        "true",
    ]);
    // --rm's removal is the monitor's: wait for the anonymous volume's
    // destroy.
    let end = Instant::now() + Duration::from_secs(30);
    let ev = loop {
        let ev = events(&cv, &t1, &["--filter", "type=volume"]);
        if ev.iter().any(|e| e["Action"] == "destroy") {
            break ev;
        }
        assert!(Instant::now() < end, "{:?}", kinds(&ev));
        std::thread::sleep(Duration::from_millis(100));
    };
    let by = |name: &str| -> Vec<String> {
        actions(
            &ev.iter()
                .filter(|e| e["Actor"]["ID"] == name)
                .cloned()
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(by(&w), ["create", "mount", "unmount"]);
    let ro = ev
        .iter()
        .find(|e| e["Actor"]["ID"] == w.as_str() && e["Action"] == "mount")
        .unwrap();
    assert_eq!(ro["Actor"]["Attributes"]["read/write"], "false");
    assert_eq!(ro["Actor"]["Attributes"]["destination"], "/ro");
    let anon = ev
        .iter()
        .find(|e| e["Actor"]["Attributes"]["destination"] == "/anon")
        .unwrap()["Actor"]["ID"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(anon.len(), 64, "{anon}");
    assert_eq!(by(&anon), ["create", "mount", "unmount", "destroy"]);
    cv.ok(&["volume", "rm", &w]);
    let last = events(
        &cv,
        &t1,
        &[
            "--filter",
            &format!("volume={w}"),
            "--filter",
            "event=destroy",
        ],
    );
    assert_eq!(last.len(), 1);

    // docker's prune events: no actor, `reclaimed` (bytes; "0" always
    // for networks, as moby's NetworksPrune).
    let t2 = unix_now();
    let p = containerv_testutil::unique_id("evp");
    cv.ok(&["volume", "create", &p]);
    cv.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        &format!("{p}:/p"),
        "containerv/busybox",
        "sh",
        "-c",
        "head -c 100000 /dev/zero > /p/f",
    ]);
    let end = Instant::now() + Duration::from_secs(30);
    while !actions(&events(&cv, &t2, &["--filter", "type=container"]))
        .contains(&"destroy".to_string())
    {
        assert!(Instant::now() < end, "no destroy");
        std::thread::sleep(Duration::from_millis(100));
    }
    // A stopped container whose writable layer holds 200000 bytes.
    cv.run_d(&[
        "--name",
        "evpr",
        "--network",
        "none",
        "containerv/busybox",
        "sh",
        "-c",
        "head -c 200000 /dev/zero > /big",
    ]);
    cv.ok(&["wait", "evpr"]);
    cv.ok(&["container", "prune", "-f"]);
    cv.ok(&["volume", "prune", "-a", "-f"]);
    cv.ok(&["network", "prune", "-f"]);
    let pr = events(&cv, &t2, &["--filter", "event=prune"]);
    assert_eq!(
        kinds(&pr),
        ["container prune", "volume prune", "network prune"]
    );
    for e in &pr {
        assert_eq!(e["Actor"]["ID"], "", "{e}");
        assert_eq!(
            e["Actor"]["Attributes"].as_object().unwrap().len(),
            1,
            "{e}"
        );
    }
    // docker's legacy `status` for container events, no `id`/`from`.
    assert_eq!(pr[0]["status"], "prune");
    assert!(pr[0].get("id").is_none() && pr[0].get("from").is_none());
    let ctr: u64 = pr[0]["Actor"]["Attributes"]["reclaimed"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((200_000..2_000_000).contains(&ctr), "{ctr}");
    assert_eq!(pr[1]["Actor"]["Attributes"]["reclaimed"], "100000");
    assert_eq!(pr[2]["Actor"]["Attributes"]["reclaimed"], "0");
}

#[test]
fn exec_rename_update_and_attach_are_dockers_events() {
    let cv = Cv::new();
    let t0 = unix_now();
    let id = cv.run_d(&[
        "--name",
        "evx",
        "--network",
        "none",
        "containerv/busybox",
        "sleep",
        "1000",
    ]);
    // moby's ContainerExecCreate/Start and its exit: the command after
    // `exec_create: `, one execID for the three.
    let o = cv.run(&["exec", "evx", "sh", "-c", "exit 3"]);
    assert_eq!(o.status.code(), Some(3));
    cv.ok(&["exec", "evx", "true"]);
    let ev = events(&cv, &t0, &["--filter", "container=evx"]);
    let a = actions(&ev);
    assert_eq!(
        a[2..],
        [
            "exec_create: sh -c exit 3",
            "exec_start: sh -c exit 3",
            "exec_die",
            "exec_create: true ",
            "exec_start: true ",
            "exec_die"
        ],
        "{a:?}"
    );
    let exec_id = ev[2]["Actor"]["Attributes"]["execID"].as_str().unwrap();
    assert_eq!(exec_id.len(), 64);
    for e in &ev[2..5] {
        assert_eq!(e["Actor"]["Attributes"]["execID"], exec_id, "{e}");
        assert_eq!(e["Actor"]["Attributes"]["name"], "evx", "{e}");
    }
    assert_ne!(ev[5]["Actor"]["Attributes"]["execID"], exec_id);
    assert_eq!(ev[4]["Actor"]["Attributes"]["exitCode"], "3");
    assert_eq!(ev[7]["Actor"]["Attributes"]["exitCode"], "0");
    // event=exec_start takes every command (docker's fuzzy match).
    let starts = events(&cv, &t0, &["--filter", "event=exec_start"]);
    assert_eq!(starts.len(), 2);

    // Health probes are execs in docker, with their events; a probe
    // killed at its timeout dies with 137.
    for (name, cmd, timeout, code) in [
        ("evhc", "exit 0", "5s", "0"),
        ("evht", "sleep 5", "300ms", "137"),
    ] {
        cv.run_d(&[
            "--name",
            name,
            "--network",
            "none",
            "--health-cmd",
            cmd,
            "--health-interval",
            "200ms",
            "--health-timeout",
            timeout,
            "containerv/busybox",
            "sleep",
            "1000",
        ]);
        let f = ["--filter", &format!("container={name}")];
        let ev = wait_action(&cv, &t0, &f, "exec_die");
        let probe: Vec<&Value> = ev
            .iter()
            .filter(|e| e["Action"].as_str().unwrap().starts_with("exec_"))
            .take(3)
            .collect();
        let shown: Vec<&str> = probe
            .iter()
            .map(|e| e["Action"].as_str().unwrap())
            .collect();
        assert_eq!(
            shown,
            [
                format!("exec_create: /bin/sh -c {cmd}").as_str(),
                &format!("exec_start: /bin/sh -c {cmd}"),
                "exec_die"
            ]
        );
        let id = &probe[0]["Actor"]["Attributes"]["execID"];
        assert!(probe
            .iter()
            .all(|e| &e["Actor"]["Attributes"]["execID"] == id));
        assert_eq!(probe[2]["Actor"]["Attributes"]["exitCode"], code, "{name}");
        cv.ok(&["rm", "-f", name]);
    }

    // rename: the new name, oldName as docker keeps it; update.
    cv.ok(&["rename", "evx", "evy"]);
    cv.ok(&["update", "--memory", "64m", "evy"]);
    let ev = events(&cv, &t0, &["--filter", &format!("container={id}")]);
    let rename = ev.iter().find(|e| e["Action"] == "rename").unwrap();
    assert_eq!(rename["Actor"]["Attributes"]["name"], "evy");
    assert_eq!(rename["Actor"]["Attributes"]["oldName"], "/evx");
    assert_eq!(actions(&ev).last().unwrap(), "update");

    // `run` in the foreground and `start -a`: attach before start.
    let t1 = unix_now();
    cv.ok(&[
        "run",
        "--name",
        "eva1",
        "--network",
        "none",
        "containerv/busybox",
        "true",
    ]);
    cv.ok(&["start", "-a", "eva1"]);
    assert_eq!(
        actions(&events(&cv, &t1, &["--filter", "type=container"])),
        ["create", "attach", "start", "die", "attach", "start", "die"]
    );
    cv.ok(&["rm", "-f", "evy", "eva1"]);
}
