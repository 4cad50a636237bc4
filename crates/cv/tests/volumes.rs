//! Named and anonymous volumes end to end on real containers of the
//! built-in image: data that outlives its container, `ro` enforced by the
//! kernel, in-use volumes kept, anonymous volumes removed with `rm -v` and
//! `run --rm`, docker's copy-up from the image, prune, bad names refused
//! with nothing created, and the `volume` commands' output shapes.

mod common;

use std::time::{Duration, Instant};

use common::Cv;

const IMG: &str = "containerv/busybox";

/// Volume names in this test's engine root.
fn volumes(cv: &Cv) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(cv.engine_root().join("volumes"))
        .map(|r| {
            r.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.') || n.starts_with(".new-") || n.starts_with(".rm-"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// No container, no volume, no mount of this test's root is left.
fn assert_clean(cv: &Cv) {
    assert!(cv.ids().is_empty(), "containers left: {:?}", cv.ids());
    assert!(volumes(cv).is_empty(), "volumes left: {:?}", volumes(cv));
    let root = cv.engine_root();
    let m = containerv_testutil::mounts_mentioning(root.to_str().unwrap());
    assert!(m.is_empty(), "mounts left: {m:?}");
}

fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn data_outlives_containers_and_a_used_volume_is_not_removed() {
    let cv = Cv::new();
    // Made on first use, like docker.
    cv.ok(&[
        "run",
        "--rm",
        "-v",
        "data:/d",
        IMG,
        "sh",
        "-c",
        "echo hello > /d/f",
    ]);
    assert_eq!(volumes(&cv), ["data"]);
    let out = cv.ok(&[
        "run", "--name", "reader", "-v", "data:/d", IMG, "cat", "/d/f",
    ]);
    assert_eq!(out, "hello\n");
    // A stopped container still uses it: refused, naming the container.
    let err = cv.fails(&["volume", "rm", "data"]);
    assert!(err.contains("in use") && err.contains("reader"), "{err}");
    let err = cv.fails(&["volume", "rm", "-f", "data"]);
    assert!(
        err.contains("reader"),
        "-f does not force an in-use volume: {err}"
    );
    let id = cv.inspect("reader", "{{.Id}}");
    // `rm -v` keeps named volumes (docker).
    cv.ok(&["rm", "-v", "reader"]);
    cv.assert_gone(&id);
    assert_eq!(volumes(&cv), ["data"]);
    let out = cv.ok(&[
        "run",
        "--rm",
        "--mount",
        "type=volume,src=data,dst=/x",
        IMG,
        "cat",
        "/x/f",
    ]);
    assert_eq!(out, "hello\n");
    assert_eq!(cv.ok(&["volume", "rm", "data"]), "data\n");
    // -f only ignores missing volumes.
    cv.ok(&["volume", "rm", "-f", "data"]);
    let err = cv.fails(&["volume", "rm", "data"]);
    assert!(err.contains("no such volume: data"), "{err}");
    assert_clean(&cv);
}

#[test]
fn read_only_volumes_refuse_writes_inside() {
    let cv = Cv::new();
    cv.ok(&["volume", "create", "rodata"]);
    for spec in [
        vec!["-v", "rodata:/d:ro"],
        vec!["--mount", "type=volume,source=rodata,target=/d,readonly"],
    ] {
        let mut a = vec!["run", "--rm"];
        a.extend(spec.iter().copied());
        a.extend([IMG, "sh", "-c", "echo x > /d/f"]);
        let o = cv.run(&a);
        assert!(!o.status.success(), "{spec:?}: write succeeded");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("Read-only file system"), "{spec:?}: {err}");
    }
    assert!(!cv.engine_root().join("volumes/rodata/_data/f").exists());
    // The same volume read-write works; inspect shows the mount as docker.
    let id = cv.ok(&[
        "create",
        "-v",
        "rodata:/d",
        "--mount",
        "type=bind,src=/tmp,dst=/h,readonly",
        IMG,
        "true",
    ]);
    let mounts = cv.inspect(id.trim(), "{{json .Mounts}}");
    let m: serde_json::Value = serde_json::from_str(&mounts).unwrap();
    let vol = m
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["Type"] == "volume")
        .unwrap();
    assert_eq!(vol["Name"], "rodata");
    assert_eq!(vol["Destination"], "/d");
    assert_eq!(vol["RW"], true);
    let src = cv.engine_root().join("volumes/rodata/_data");
    assert_eq!(vol["Source"], src.to_str().unwrap());
    let bind = m
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["Type"] == "bind")
        .unwrap();
    assert_eq!(
        (bind["Source"].as_str(), bind["RW"].as_bool()),
        (Some("/tmp"), Some(false))
    );
    cv.ok(&["rm", id.trim()]);
    cv.ok(&["volume", "rm", "rodata"]);
    assert_clean(&cv);
}

#[test]
fn anonymous_volumes_go_with_rm_v_and_run_rm() {
    let cv = Cv::new();
    // `run --rm`: removed with the container by its monitor.
    cv.ok(&[
        "run",
        "--rm",
        "-v",
        "/scratch",
        IMG,
        "sh",
        "-c",
        "echo x > /scratch/f",
    ]);
    wait_until(
        "the --rm container and its volume to go",
        Duration::from_secs(10),
        || cv.ids().is_empty() && volumes(&cv).is_empty(),
    );
    // `rm` keeps it, `rm -v` removes it (docker).
    let id = cv
        .ok(&["create", "-v", "/a", IMG, "true"])
        .trim()
        .to_string();
    let name = cv.inspect(&id, "{{range .Mounts}}{{.Name}}{{end}}");
    assert_eq!(volumes(&cv).len(), 1);
    let label = cv.ok(&[
        "volume",
        "inspect",
        "-f",
        "{{json .Labels}}",
        &volumes(&cv)[0],
    ]);
    assert!(
        label.contains("com.docker.volume.anonymous"),
        "{label} {name}"
    );
    cv.ok(&["rm", &id]);
    assert_eq!(volumes(&cv).len(), 1, "plain rm keeps anonymous volumes");
    cv.ok(&["volume", "prune", "-f"]);
    let id = cv
        .ok(&["create", "-v", "/b", IMG, "true"])
        .trim()
        .to_string();
    cv.ok(&["rm", "-v", &id]);
    cv.assert_gone(&id);
    assert_clean(&cv);
}

#[test]
fn a_new_volume_starts_with_the_image_content_owner_and_mode_kept() {
    let cv = Cv::new();
    let stat = "stat -c '%a %u %g %s %n' /etc/passwd /etc/group /etc";
    let want = cv.ok(&["run", "--rm", IMG, "sh", "-c", stat]);
    let got = cv.ok(&["run", "--rm", "-v", "etc:/etc", IMG, "sh", "-c", stat]);
    assert_eq!(got, want);
    // It was copied once: later changes stay, and are seen by the next.
    cv.ok(&[
        "run",
        "--rm",
        "-v",
        "etc:/etc",
        IMG,
        "sh",
        "-c",
        "echo extra >> /etc/group",
    ]);
    let g = cv.ok(&[
        "run",
        "--rm",
        "-v",
        "etc:/etc",
        IMG,
        "tail",
        "-n1",
        "/etc/group",
    ]);
    assert_eq!(g, "extra\n");
    // nocopy: an empty volume; a path the image lacks: an empty volume.
    let o = cv.ok(&[
        "run",
        "--rm",
        "-v",
        "bare:/etc:nocopy",
        IMG,
        "/bin/busybox",
        "ls",
        "/etc",
    ]);
    // (No /etc/hostname, hosts, resolv.conf either: nothing is made in a
    // directory bound over /etc.)
    assert!(!o.contains("passwd"), "{o}");
    let o = cv.ok(&[
        "run",
        "--rm",
        "-v",
        "new:/nowhere",
        IMG,
        "ls",
        "-a",
        "/nowhere",
    ]);
    assert_eq!(o, ".\n..\n");
    let pruned = cv.ok(&["volume", "prune", "-f", "--all"]);
    assert!(pruned.contains("Total reclaimed space: "), "{pruned}");
    assert_clean(&cv);
}

#[test]
fn prune_removes_only_unused_volumes() {
    let cv = Cv::new();
    cv.ok(&["volume", "create", "keep"]);
    cv.ok(&["volume", "create", "drop1"]);
    std::fs::write(cv.engine_root().join("volumes/drop1/_data/f"), [0u8; 1500]).unwrap();
    let id = cv
        .ok(&["create", "-v", "keep:/k", IMG, "true"])
        .trim()
        .to_string();
    // docker 23+: only anonymous volumes without --all.
    let anon = cv
        .ok(&["create", "-v", "/anon", IMG, "true"])
        .trim()
        .to_string();
    cv.ok(&["rm", &anon]);
    assert_eq!(volumes(&cv).len(), 3);
    let out = cv.ok(&["volume", "prune", "-f"]);
    assert!(out.starts_with("Deleted Volumes:\n"), "{out}");
    assert_eq!(out.lines().count(), 4, "only the anonymous one: {out}");
    assert_eq!(volumes(&cv), ["drop1", "keep"]);
    let out = cv.ok(&["volume", "prune", "-f", "--all"]);
    assert_eq!(
        out,
        "Deleted Volumes:\ndrop1\n\nTotal reclaimed space: 1.5kB\n"
    );
    assert_eq!(volumes(&cv), ["keep"]);
    let dangling = cv.ok(&["volume", "ls", "-q", "--filter", "dangling=true"]);
    assert_eq!(dangling, "");
    cv.ok(&["rm", &id]);
    let dangling = cv.ok(&["volume", "ls", "-q", "--filter", "dangling=true"]);
    assert_eq!(dangling, "keep\n");
    let out = cv.ok(&["volume", "prune", "-f", "-a"]);
    assert!(out.starts_with("Deleted Volumes:\nkeep\n"), "{out}");
    assert_eq!(
        cv.ok(&["volume", "prune", "-f", "-a"]),
        "Total reclaimed space: 0B\n"
    );
    assert_clean(&cv);
}

#[test]
fn bad_names_paths_and_drivers_are_refused_and_leave_nothing() {
    let cv = Cv::new();
    for (args, want) in [
        (vec!["volume", "create", "-x"], "unexpected argument"),
        (vec!["volume", "create", "a/b"], "volume name"),
        (vec!["volume", "create", "x"], "too short"),
        (vec!["volume", "create", ".hidden"], "volume name"),
        (
            vec!["volume", "create", "--driver", "nfs", "ok1"],
            "--driver",
        ),
        (vec!["volume", "inspect", "nope"], "no such volume"),
        (vec!["run", "-v", "../x:/d", IMG, "true"], "volume name"),
        (vec!["run", "-v", "ok2:rel", IMG, "true"], "absolute"),
        (
            vec!["run", "-v", "ok3:/d:rx", IMG, "true"],
            "unknown option",
        ),
        (
            vec!["run", "-v", "ok4:/d", "-v", "ok5:/d", IMG, "true"],
            "duplicate mount point",
        ),
        (
            vec!["run", "--mount", "type=volume,src=a:b,dst=/x", IMG, "true"],
            "volume name",
        ),
        (
            vec!["run", "--mount", "type=nfs,dst=/x", IMG, "true"],
            "unknown type",
        ),
        // A bad flag after a valid volume: nothing is made.
        (
            vec!["run", "-v", "ok6:/d", "--memory", "lots", IMG, "true"],
            "--memory",
        ),
        (
            vec!["run", "-v", "/anon", "--cpus", "zero", IMG, "true"],
            "--cpus",
        ),
    ] {
        let err = cv.fails(&args);
        assert!(err.contains(want), "{args:?}: {err}");
    }
    assert_clean(&cv);
}

#[test]
fn ls_inspect_and_formats_follow_docker() {
    // Names with letters that are not hex digits: a name filter matches
    // substrings, and the anonymous volume's name is 64 random hex digits.
    let cv = Cv::new();
    let anon = cv.ok(&["volume", "create"]).trim().to_string();
    assert_eq!(anon.len(), 64);
    assert!(anon.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(
        cv.ok(&["volume", "create", "--label", "tier=db", "-l", "x", "pg1"]),
        "pg1\n"
    );
    assert_eq!(
        cv.ok(&["volume", "create", "pg1"]),
        "pg1\n",
        "create is idempotent"
    );
    let table = cv.ok(&["volume", "ls"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["DRIVER", "VOLUME", "NAME"]
    );
    assert_eq!(lines.len(), 3, "{table}");
    assert_eq!(
        cv.ok(&["volume", "ls", "--format", "{{.Name}}", "-f", "name=pg"]),
        "pg1\n"
    );
    assert_eq!(
        cv.ok(&["volume", "ls", "-q", "--filter", "label=tier=db"]),
        "pg1\n"
    );
    assert_eq!(
        cv.ok(&["volume", "ls", "-q", "--filter", "label=x"]),
        "pg1\n"
    );
    let t = cv.ok(&[
        "volume",
        "ls",
        "--format",
        "table {{.Name}}\t{{.Driver}}",
        "-f",
        "name=pg",
    ]);
    assert_eq!(t, "NAME\tDRIVER\npg1\tlocal\n");
    let j = cv.ok(&["volume", "ls", "--format", "json", "--filter", "name=pg1"]);
    let v: serde_json::Value = serde_json::from_str(j.trim()).unwrap();
    assert_eq!(
        (
            v["Name"].as_str(),
            v["Driver"].as_str(),
            v["Scope"].as_str()
        ),
        (Some("pg1"), Some("local"), Some("local"))
    );
    assert_eq!(v["Labels"], "tier=db,x=");
    let err = cv.fails(&["volume", "ls", "--filter", "colour=red"]);
    assert!(err.contains("unknown filter"), "{err}");

    let doc = cv.ok(&["volume", "inspect", "pg1", &anon]);
    let arr: serde_json::Value = serde_json::from_str(&doc).unwrap();
    let d = &arr[0];
    let keys: Vec<&String> = d.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "CreatedAt",
            "Driver",
            "Labels",
            "Mountpoint",
            "Name",
            "Options",
            "Scope"
        ]
    );
    assert_eq!(
        d["Mountpoint"],
        cv.engine_root().join("volumes/pg1/_data").to_str().unwrap()
    );
    assert_eq!(d["Labels"]["tier"], "db");
    assert!(d["CreatedAt"].as_str().unwrap().ends_with('Z'));
    assert_eq!(arr[1]["Name"], anon.as_str());
    assert_eq!(
        cv.ok(&["volume", "inspect", "-f", "{{.Driver}} {{.Scope}}", "pg1"]),
        "local local\n"
    );
    // One missing name: the others printed, exit 1.
    let o = cv.run(&["volume", "inspect", "pg1", "nope"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("\"pg1\""));
    assert_eq!(
        cv.ok(&["volume", "rm", "pg1", &anon]),
        format!("pg1\n{anon}\n")
    );
    assert_clean(&cv);
}
