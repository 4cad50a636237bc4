//! Every run of a container shows docker's whole sequence of events,
//! whatever network it is on and whoever ends it:
//! - `--network none` and `--network host` are networks in docker:
//!   `network connect` before the start and `network disconnect` (in
//!   docker's cleanup) before the die, Actor.ID the predefined network's
//!   id, attributes `container`, `name`, `type` (`null`, `host`);
//!   `--network container:NAME` owns no network and emits none (moby's
//!   `connectToNetwork` and `releaseNetwork`);
//! - a container whose monitor was killed still gets its `network
//!   disconnect`, `volume unmount` and `die` (docker always emits them),
//!   from whichever of `rm -f`, `stop`, `kill`, `rm`, `start` or a
//!   replacement monitor finds the run ended without its monitor,
//!   exactly once.

mod common;

use std::time::{Duration, Instant};

use common::events::{about, events, unix_now};
use common::{monitors_of, Cv};
use serde_json::Value;

fn kill9(pid: i32) {
    // SAFETY: kill(2) of a pid this test just read from /proc.
    unsafe { libc::kill(pid, libc::SIGKILL) };
}

fn wait_gone(pid: i32, limit: Duration) {
    let end = Instant::now() + limit;
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        assert!(Instant::now() < end, "pid {pid} still there");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Kills the monitor of `id` (no replacement).
fn kill_monitor(id: &str) {
    let m = monitors_of(id);
    assert_eq!(m.len(), 1, "{m:?}");
    kill9(m[0]);
    wait_gone(m[0], Duration::from_secs(5));
}

#[test]
fn none_and_host_are_networks_with_connect_and_disconnect() {
    let cv = Cv::new();
    let t0 = unix_now();
    let net_id = |n: &str| {
        cv.ok(&["network", "inspect", "-f", "{{.Id}}", n])
            .trim()
            .to_string()
    };
    for (net, driver) in [("none", "null"), ("host", "host")] {
        let name = format!("ev{net}");
        let id = cv.run_d(&[
            "--name",
            &name,
            "--network",
            net,
            "containerv/busybox",
            "true",
        ]);
        cv.ok(&["wait", &name]);
        cv.ok(&["rm", &name]);
        let ev = events(&cv, &t0, &[]);
        assert_eq!(
            about(&ev, &id),
            [
                "container create",
                "network connect",
                "container start",
                "network disconnect",
                "container die",
                "container destroy"
            ],
            "{net}"
        );
        let want_id = net_id(net);
        for e in ev
            .iter()
            .filter(|e| e["Type"] == "network" && e["Actor"]["Attributes"]["container"] == id)
        {
            assert_eq!(e["Actor"]["ID"], want_id.as_str(), "{e}");
            let want: serde_json::Map<String, Value> = serde_json::from_value(
                serde_json::json!({"container": id, "name": net, "type": driver}),
            )
            .unwrap();
            assert_eq!(e["Actor"]["Attributes"].as_object().unwrap(), &want, "{e}");
            assert_eq!(e["scope"], "local");
        }
        // docker's `network` filter takes the predefined names too.
        let until = unix_now();
        let by_net = cv.ok(&[
            "events",
            "--since",
            &t0,
            "--until",
            &until,
            "--filter",
            &format!("network={net}"),
            "--format",
            "{{.Action}}",
        ]);
        assert_eq!(
            by_net.lines().collect::<Vec<_>>(),
            ["connect", "disconnect"],
            "{net}"
        );
    }
    // A restart is two runs: each connects and disconnects once.
    let t1 = unix_now();
    let id = cv.run_d(&[
        "--name",
        "evrs",
        "--network",
        "none",
        "containerv/busybox",
        "sleep",
        "1000",
    ]);
    cv.ok(&["restart", "-t", "0", "evrs"]);
    cv.ok(&["rm", "-f", "evrs"]);
    let a = about(&events(&cv, &t1, &[]), &id);
    let count = |what: &str| a.iter().filter(|x| *x == what).count();
    assert_eq!(count("network connect"), 2, "{a:?}");
    assert_eq!(count("network disconnect"), 2, "{a:?}");
    assert_eq!(count("container die"), 2, "{a:?}");

    // `--network container:NAME` joins another's namespace: no network
    // events of its own.
    let t2 = unix_now();
    cv.run_d(&[
        "--name",
        "evdonor",
        "--network",
        "none",
        "containerv/busybox",
        "sleep",
        "1000",
    ]);
    let guest = cv.run_d(&[
        "--name",
        "evguest",
        "--network",
        "container:evdonor",
        "containerv/busybox",
        "true",
    ]);
    cv.ok(&["wait", "evguest"]);
    cv.ok(&["rm", "-f", "evguest", "evdonor"]);
    assert_eq!(
        about(&events(&cv, &t2, &[]), &guest),
        [
            "container create",
            "container start",
            "container die",
            "container destroy"
        ]
    );
}

/// A detached `sleep` with volume `vol` on `net`, its monitor killed.
fn run_and_kill_monitor(cv: &Cv, name: &str, vol: &str, net: &str) -> String {
    let id = cv.run_d(&[
        "--name",
        name,
        "--network",
        net,
        "-v",
        &format!("{vol}:/data"),
        "containerv/busybox",
        "sleep",
        "1000",
    ]);
    kill_monitor(&id);
    id
}

#[test]
fn a_killed_monitors_run_still_ends_with_disconnect_unmount_and_die_once() {
    let cv = Cv::new();
    let vol = containerv_testutil::unique_id("evk");

    // rm -f: docker's kill, cleanup (disconnect, unmount), die, destroy.
    let t0 = unix_now();
    let id = run_and_kill_monitor(&cv, "evk1", &vol, "bridge");
    cv.ok(&["rm", "-f", "evk1"]);
    cv.assert_gone(&id);
    let ev = events(&cv, &t0, &[]);
    assert_eq!(
        about(&ev, &id),
        [
            "container create",
            "network connect",
            "volume mount",
            "container start",
            "container kill",
            "network disconnect",
            "volume unmount",
            "container die",
            "container destroy"
        ]
    );
    let die = ev
        .iter()
        .find(|e| e["Actor"]["ID"] == id.as_str() && e["Action"] == "die")
        .unwrap();
    let at = &die["Actor"]["Attributes"];
    assert_eq!(at["name"], "evk1", "{die}");
    assert_eq!(at["image"], "containerv/busybox", "{die}");
    // The exit status went to nobody (the init was not our child): -1,
    // as `inspect` says.
    assert_eq!(at["exitCode"], "-1", "{die}");
    assert!(at["execDuration"].as_str().unwrap().parse::<u64>().is_ok());
    let unmount = ev
        .iter()
        .find(|e| e["Type"] == "volume" && e["Action"] == "unmount")
        .unwrap();
    assert_eq!(unmount["Actor"]["ID"], vol.as_str());
    let want: serde_json::Map<String, Value> =
        serde_json::from_value(serde_json::json!({"container": id, "driver": "local"})).unwrap();
    assert_eq!(unmount["Actor"]["Attributes"].as_object().unwrap(), &want);

    // stop, then rm: the run ends at the stop, the rm adds only destroy.
    let t1 = unix_now();
    let id = run_and_kill_monitor(&cv, "evk2", &vol, "none");
    cv.ok(&["stop", "-t", "0", "evk2"]);
    assert_eq!(cv.inspect("evk2", "{{.State.Status}}"), "exited");
    cv.ok(&["rm", "evk2"]);
    assert_eq!(
        about(&events(&cv, &t1, &[]), &id),
        [
            "container create",
            "network connect",
            "volume mount",
            "container start",
            "container kill",
            "network disconnect",
            "volume unmount",
            "container die",
            "container stop",
            "container destroy"
        ]
    );

    // The init ends on its own, unseen; `rm` (no -f) ends the run.
    let t2 = unix_now();
    let id = run_and_kill_monitor(&cv, "evk3", &vol, "bridge");
    let pid: i32 = cv.inspect("evk3", "{{.State.Pid}}").parse().unwrap();
    kill9(pid);
    wait_gone(pid, Duration::from_secs(5));
    cv.ok(&["rm", "evk3"]);
    assert_eq!(
        about(&events(&cv, &t2, &[]), &id),
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

    // Unseen end, then `start`: the old run ends before the new begins.
    let t3 = unix_now();
    let id = run_and_kill_monitor(&cv, "evk4", &vol, "none");
    let pid: i32 = cv.inspect("evk4", "{{.State.Pid}}").parse().unwrap();
    kill9(pid);
    wait_gone(pid, Duration::from_secs(5));
    cv.ok(&["start", "evk4"]);
    cv.ok(&["rm", "-f", "evk4"]);
    let run = [
        "network connect",
        "volume mount",
        "container start",
        "network disconnect",
        "volume unmount",
        "container die",
    ];
    let got = about(&events(&cv, &t3, &[]), &id);
    let mut twice: Vec<&str> = vec!["container create"];
    twice.extend(run);
    twice.extend(&run[..3]);
    twice.push("container kill");
    twice.extend(&run[3..]);
    twice.push("container destroy");
    assert_eq!(got, twice);

    // `kill`, then `rm`: the run ends at the kill.
    let t5 = unix_now();
    let id = run_and_kill_monitor(&cv, "evk6", &vol, "bridge");
    cv.ok(&["kill", "evk6"]);
    cv.ok(&["rm", "evk6"]);
    assert_eq!(
        about(&events(&cv, &t5, &[]), &id),
        [
            "container create",
            "network connect",
            "volume mount",
            "container start",
            "container kill",
            "network disconnect",
            "volume unmount",
            "container die",
            "container destroy"
        ]
    );

    // A replacement monitor (`system check --repair`) ends the run when
    // the init ends: the same events, from it.
    let t6 = unix_now();
    let id = run_and_kill_monitor(&cv, "evk7", &vol, "bridge");
    let out = cv.ok(&["system", "check", "--repair"]);
    assert!(out.contains("replacement monitor"), "{out}");
    assert_eq!(monitors_of(&id).len(), 1);
    let pid: i32 = cv.inspect("evk7", "{{.State.Pid}}").parse().unwrap();
    kill9(pid);
    cv.wait_for(
        "evk7",
        "{{.State.Status}}",
        "exited",
        Duration::from_secs(10),
    );
    cv.ok(&["rm", "evk7"]);
    assert_eq!(
        about(&events(&cv, &t6, &[]), &id),
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

    // With a live monitor nothing is doubled (it emits them itself).
    let t4 = unix_now();
    let id = cv.run_d(&[
        "--name",
        "evk5",
        "-v",
        &format!("{vol}:/data"),
        "containerv/busybox",
        "sleep",
        "1000",
    ]);
    cv.ok(&["stop", "-t", "0", "evk5"]);
    cv.ok(&["rm", "-f", "evk5"]);
    assert_eq!(
        about(&events(&cv, &t4, &[]), &id),
        [
            "container create",
            "network connect",
            "volume mount",
            "container start",
            "container kill",
            "network disconnect",
            "volume unmount",
            "container die",
            "container stop",
            "container destroy"
        ]
    );
    cv.ok(&["volume", "rm", &vol]);
}
