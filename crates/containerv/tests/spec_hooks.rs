//! OCI hooks, all six kinds: when each runs, in which namespaces, with the
//! state JSON on stdin, its args and env; a failing or timed-out
//! create-time hook fails create and leaves nothing behind.
#![cfg(target_os = "linux")]

mod spec_common;

use std::path::Path;
use std::time::{Duration, Instant};

use containerv::linux::HookKind;
use containerv::{Spec, StartMode};
use oci_spec::runtime::{Hook, HookBuilder, HooksBuilder, MountBuilder};
use spec_common::*;

/// A hook script logging "<kind> <hostname> env=<HOOKVAR> <state json>".
const LOGGER: &str =
    "#!/bin/sh\nstate=$(cat)\necho \"$1 $(hostname) env=$HOOKVAR $state\" >> \"$2\"\n";

fn hook(path: &Path, args: &[&str], timeout: Option<i64>) -> Hook {
    let mut a = vec![path.display().to_string()];
    a.extend(args.iter().map(|s| s.to_string()));
    let mut b = HookBuilder::default()
        .path(path)
        .args(a)
        .env(vec!["HOOKVAR=xyz".to_string()]);
    if let Some(t) = timeout {
        b = b.timeout(t);
    }
    b.build().unwrap()
}

fn script(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    p
}

/// Bind `dir` on /hooks in the container.
fn bind_hooks_dir(spec: &mut Spec, dir: &Path) {
    let mut m = spec.mounts().clone().unwrap_or_default();
    m.push(
        MountBuilder::default()
            .destination("/hooks")
            .typ("bind")
            .source(dir)
            .options(vec!["rbind".to_string()])
            .build()
            .unwrap(),
    );
    spec.set_mounts(Some(m));
}

fn log_lines(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn wait_for_lines(p: &Path, n: usize) -> Vec<String> {
    let end = Instant::now() + Duration::from_secs(5);
    loop {
        let l = log_lines(p);
        if l.len() >= n || Instant::now() > end {
            return l;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn all_six_kinds_run_in_order_with_state_on_stdin() {
    let (_root, rt) = runtime();
    let id = unique_id("spec-hooks");
    let dir = tempfile::tempdir().unwrap();
    let host = script(dir.path(), "log.sh", LOGGER);
    let log = dir.path().join("log");
    let log_s = log.to_str().unwrap();
    let (mut spec, mut config) = sh_spec(&id, "echo program >> /hooks/log; exec sleep 1000");
    bind_hooks_dir(&mut spec, dir.path());
    #[allow(deprecated)]
    let hooks = HooksBuilder::default()
        .prestart(vec![hook(&host, &["prestart", log_s], None)])
        .create_runtime(vec![hook(&host, &["createRuntime", log_s], Some(10))])
        .create_container(vec![hook(&host, &["createContainer", log_s], None)])
        // In the container: its path and the log's are the container's.
        .start_container(vec![hook(
            Path::new("/hooks/log.sh"),
            &["startContainer", "/hooks/log"],
            None,
        )])
        .poststart(vec![hook(&host, &["poststart", log_s], None)])
        .poststop(vec![hook(&host, &["poststop", log_s], None)])
        .build()
        .unwrap();
    spec.set_hooks(Some(hooks));
    config.start = StartMode::OnStart;
    config.stdout = containerv::Stdio::Null;
    config.stderr = containerv::Stdio::Null;
    let host_name = nix::unistd::gethostname().unwrap().into_string().unwrap();

    let c = rt.create_from_spec(&id, spec, config).unwrap();
    let pid = c.pid();
    let lines = log_lines(&log);
    assert_eq!(lines.len(), 3, "{lines:#?}");
    let creating = format!("\"pid\":{pid}");
    for (line, kind, hostname) in [
        (&lines[0], "prestart", host_name.as_str()),
        (&lines[1], "createRuntime", host_name.as_str()),
        (&lines[2], "createContainer", id.as_str()),
    ] {
        let want = format!("{kind} {hostname} env=xyz ");
        assert!(line.starts_with(&want), "{line:?} should start {want:?}");
        let status = if kind == "prestart" {
            "created"
        } else {
            "creating"
        };
        assert!(line.contains(&format!("\"status\":\"{status}\"")), "{line}");
        assert!(line.contains(&format!("\"id\":\"{id}\"")), "{line}");
        assert!(line.contains(&creating), "{line}");
        assert!(line.contains("\"ociVersion\""), "{line}");
    }

    c.start().unwrap();
    let lines = wait_for_lines(&log, 5);
    assert!(
        lines[3].starts_with(&format!("startContainer {id} env=xyz ")),
        "{lines:#?}"
    );
    assert!(lines[3].contains("\"status\":\"created\""), "{lines:#?}");
    assert_eq!(lines[4], "program", "{lines:#?}");

    c.run_hooks(HookKind::Poststart).unwrap();
    let lines = log_lines(&log);
    assert!(lines[5].starts_with(&format!("poststart {host_name} env=xyz ")));
    assert!(lines[5].contains("\"status\":\"running\""), "{lines:#?}");

    c.destroy_with_poststop().unwrap();
    let lines = log_lines(&log);
    assert!(lines[6].starts_with(&format!("poststop {host_name} env=xyz ")));
    assert!(lines[6].contains("\"status\":\"stopped\""), "{lines:#?}");
    assert_eq!(lines.len(), 7, "{lines:#?}");
    containerv_testutil::assert_no_leftovers(rt.root(), &id);
}

#[test]
fn failing_create_hooks_fail_create_and_leave_nothing() {
    let (_root, rt) = runtime();
    let dir = tempfile::tempdir().unwrap();
    let fail = script(
        dir.path(),
        "fail.sh",
        "#!/bin/sh\necho boom-$1 >&2\nexit 3\n",
    );
    for kind in ["createRuntime", "createContainer", "prestart"] {
        let id = unique_id("spec-hook-fail");
        let (mut spec, config) = sh_spec(&id, "true");
        let h = vec![hook(&fail, &[kind], None)];
        #[allow(deprecated)]
        let b = match kind {
            "createRuntime" => HooksBuilder::default().create_runtime(h),
            "createContainer" => HooksBuilder::default().create_container(h),
            _ => HooksBuilder::default().prestart(h),
        };
        spec.set_hooks(Some(b.build().unwrap()));
        let e = create_err(&rt, &id, spec, config);
        assert!(
            e.contains(&format!("{kind} hook {}", fail.display())),
            "{e}"
        );
        assert!(e.contains("exit status: 3") || e.contains("3"), "{e}");
        assert!(e.contains(&format!("boom-{kind}")), "{e}");
    }
}

#[test]
fn hook_timeout_kills_it_and_fails_create() {
    let (_root, rt) = runtime();
    let id = unique_id("spec-hook-timeout");
    let dir = tempfile::tempdir().unwrap();
    let marker = format!("{}-sleeper", id);
    // The hook starts a child and waits: the whole group must go.
    let slow = script(dir.path(), "slow.sh", "#!/bin/sh\nsleep 30 &\nwait\n");
    let (mut spec, config) = sh_spec(&id, "true");
    let mut h = hook(&slow, &[], Some(1));
    h.set_env(Some(vec![format!("MARK={marker}")]));
    spec.set_hooks(Some(
        HooksBuilder::default()
            .create_runtime(vec![h])
            .build()
            .unwrap(),
    ));
    let t0 = Instant::now();
    let e = create_err(&rt, &id, spec, config);
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
    assert!(e.contains("timed out after 1 s"), "{e}");
    let left: Vec<_> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|p| {
            std::fs::read(p.path().join("environ"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&marker))
        })
        .collect();
    assert!(left.is_empty(), "hook left running: {left:?}");
}

#[test]
fn failing_start_container_hook_fails_start_and_stops_the_container() {
    let (_root, rt) = runtime();
    let id = unique_id("spec-hook-start");
    let dir = tempfile::tempdir().unwrap();
    script(
        dir.path(),
        "fail.sh",
        "#!/bin/sh\necho start-refused >&2\nexit 1\n",
    );
    let (mut spec, mut config) = sh_spec(&id, "echo program >> /hooks/log");
    config.stdout = containerv::Stdio::Null;
    config.stderr = containerv::Stdio::Null;
    bind_hooks_dir(&mut spec, dir.path());
    spec.set_hooks(Some(
        HooksBuilder::default()
            .start_container(vec![hook(Path::new("/hooks/fail.sh"), &[], None)])
            .build()
            .unwrap(),
    ));
    config.start = StartMode::OnStart;
    let c = rt.create_from_spec(&id, spec, config).unwrap();
    let e = c.start().unwrap_err().to_string();
    assert!(e.contains("startContainer hook /hooks/fail.sh"), "{e}");
    assert!(e.contains("start-refused"), "{e}");
    assert!(!dir.path().join("log").exists(), "the program must not run");
    c.destroy().unwrap();
    containerv_testutil::assert_no_leftovers(rt.root(), &id);
}

#[test]
fn bad_hooks_are_refused_before_anything_is_made() {
    let (_root, rt) = runtime();
    for (hook, want) in [
        (
            HookBuilder::default()
                .path("relative/hook")
                .build()
                .unwrap(),
            "is not absolute",
        ),
        (
            HookBuilder::default()
                .path("/bin/true")
                .timeout(0)
                .build()
                .unwrap(),
            "timeout 0 must be greater than zero",
        ),
        (
            HookBuilder::default()
                .path("/bin/true")
                .env(vec!["NOEQUALS".to_string()])
                .build()
                .unwrap(),
            "NOEQUALS",
        ),
    ] {
        let id = unique_id("spec-hook-bad");
        let (mut spec, config) = sh_spec(&id, "true");
        spec.set_hooks(Some(
            HooksBuilder::default()
                .poststop(vec![hook])
                .build()
                .unwrap(),
        ));
        let e = create_err(&rt, &id, spec, config);
        assert!(e.contains("hooks.poststop") && e.contains(want), "{e}");
    }
}

#[test]
fn start_container_hooks_run_before_an_immediate_start() {
    let (_root, rt) = runtime();
    let id = unique_id("spec-hook-immediate");
    let dir = tempfile::tempdir().unwrap();
    script(dir.path(), "log.sh", LOGGER);
    let log = dir.path().join("log");
    let (mut spec, config) = sh_spec(&id, "echo program >> /hooks/log");
    bind_hooks_dir(&mut spec, dir.path());
    spec.set_hooks(Some(
        HooksBuilder::default()
            .start_container(vec![hook(
                Path::new("/hooks/log.sh"),
                &["startContainer", "/hooks/log"],
                None,
            )])
            .build()
            .unwrap(),
    ));
    assert_eq!(config.start, StartMode::Immediately);
    let c = rt.create_from_spec(&id, spec, config).unwrap();
    let lines = wait_for_lines(&log, 2);
    assert!(lines[0].starts_with("startContainer "), "{lines:#?}");
    assert_eq!(lines[1], "program", "{lines:#?}");
    c.wait().unwrap();
    c.destroy().unwrap();
    containerv_testutil::assert_no_leftovers(rt.root(), &id);
}
