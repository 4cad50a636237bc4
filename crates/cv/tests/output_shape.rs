//! Output as docker users rely on it: printing into a pipe whose reader
//! has gone (`cv ps | head -1`) ends quietly by SIGPIPE, as docker and
//! every Unix filter do (no panic, no message); `cv inspect IMAGE` gives
//! docker's image-inspect shape, as `cv image inspect` does.

#![cfg(target_os = "linux")]

mod common;

use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;

use common::Cv;
use serde_json::Value;

/// Runs `cv args` with stdout a pipe whose read end is already closed.
fn into_closed_pipe(cv: &Cv, args: &[&str]) -> (std::process::ExitStatus, String) {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills the two-element array.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: closing the read end we own; nothing else uses it.
    unsafe { libc::close(fds[0]) };
    // SAFETY: fds[1] is a fresh fd we own; the Stdio takes it over.
    let stdout = unsafe { <Stdio as std::os::fd::FromRawFd>::from_raw_fd(fds[1]) };
    let mut child = cv
        .cmd(args)
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (child.wait().unwrap(), err)
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let cv = Cv::new();
    let id = cv.run_d(&["containerv/busybox", "sleep", "30"]);
    for args in [
        &["ps", "-a"][..],
        &["images"],
        &["inspect", &id],
        &["ps", "--format", "json"],
    ] {
        let (status, err) = into_closed_pipe(&cv, args);
        assert_eq!(
            status.signal(),
            Some(libc::SIGPIPE),
            "cv {args:?}: {status}: {err}"
        );
        assert!(err.is_empty(), "cv {args:?} said: {err}");
    }
    cv.ok(&["rm", "-f", &id]);
    cv.assert_gone(&id);
}

#[test]
fn inspect_of_an_image_has_dockers_shape() {
    let cv = Cv::new();
    // Make sure the built-in image exists in the store.
    let id = cv.ok(&["create", "containerv/busybox"]).trim().to_string();
    cv.ok(&["rm", &id]);
    let top: Value = serde_json::from_str(&cv.ok(&["inspect", "containerv/busybox"])).unwrap();
    let image: Value =
        serde_json::from_str(&cv.ok(&["image", "inspect", "containerv/busybox"])).unwrap();
    assert_eq!(top, image);
    let d = &top[0];
    assert!(d["Id"].as_str().unwrap().starts_with("sha256:"), "{d}");
    assert_eq!(d["RepoTags"][0], "containerv/busybox:latest", "{d}");
    assert!(d["RepoDigests"][0]
        .as_str()
        .unwrap()
        .starts_with("containerv/busybox@sha256:"));
    assert_eq!(d["Config"]["Cmd"][0], "sh", "{d}");
    assert_eq!(d["RootFS"]["Type"], "layers");
    assert_eq!(d["RootFS"]["Layers"].as_array().unwrap().len(), 1);
    assert!(d["Size"].as_u64().unwrap() > 1_000_000);
    assert!(d["Created"].is_string());
    assert_eq!(d["Os"], "linux");
    assert_eq!(
        cv.ok(&["inspect", "-f", "{{.Os}}", "containerv/busybox"])
            .trim(),
        "linux"
    );
}

/// `inspect -f` runs the one template engine on docker's values: Memory
/// in bytes, NanoCpus an integer, `{{json .State.Health}}` valid JSON,
/// range/if/printf/join, and an unknown field refused by name; `ps
/// --format "table ..."` prints docker's header.
#[test]
fn inspect_and_ps_templates_as_docker() {
    let cv = common::Cv::new();
    let id = cv.ok(&[
        "create",
        "--name",
        "tmpl",
        "-m",
        "256m",
        "--cpus",
        "0.5",
        "--label",
        "a=1",
        "containerv/busybox",
        "sh",
        "-c",
        "true",
    ]);
    let id = id.trim();
    assert_eq!(cv.inspect(id, "{{.HostConfig.Memory}}"), "268435456");
    assert_eq!(cv.inspect(id, "{{.HostConfig.NanoCpus}}"), "500000000");
    let health = cv.inspect(id, "{{json .State.Health}}");
    serde_json::from_str::<serde_json::Value>(&health).expect("valid JSON");
    assert_eq!(
        cv.inspect(
            id,
            "{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}"
        ),
        "a=1;"
    );
    assert_eq!(
        cv.inspect(
            id,
            "{{if eq .State.Status \"created\"}}new{{else}}old{{end}}"
        ),
        "new"
    );
    assert_eq!(
        cv.inspect(
            id,
            "{{printf \"%s:%d\" .Name .RestartCount}} {{join .Args \",\"}}"
        ),
        "/tmpl:0 -c,true"
    );
    let err = cv.fails(&["inspect", "-f", "{{.Nope}}", id]);
    assert!(err.contains("can't evaluate field Nope"), "{err}");
    let out = cv.ok(&["ps", "-a", "--format", "table {{.ID}}\\t{{upper .Names}}"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "CONTAINER ID\tNAMES", "{out}");
    assert_eq!(lines[1], format!("{}\tTMPL", &id[..12]), "{out}");
    cv.ok(&["rm", id]);
}
