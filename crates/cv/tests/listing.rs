//! Listing and cleaning as docker users script them: `ps --filter` with
//! docker's keys, `-n`, `-s`; `images [REPO]` and `images --filter`;
//! `system df` (in-use images and volumes are not reclaimable; `-v`
//! tables) and `system prune` (`-a`, `--volumes`). Bad filters are
//! refused naming the key.

#![cfg(target_os = "linux")]

mod common;

use std::time::Duration;

use common::app_image::{load_app_image, APP_IMAGE};
use common::Cv;
use serde_json::Value;

fn names(cv: &Cv, args: &[&str]) -> Vec<String> {
    let mut a = vec!["ps", "--format", "{{.Names}}"];
    a.extend_from_slice(args);
    let mut v: Vec<String> = cv.ok(&a).lines().map(str::to_string).collect();
    v.sort();
    v
}

#[test]
fn ps_filters_last_and_size() {
    let cv = Cv::new();
    let up = cv.run_d(&[
        "--name",
        "up1",
        "-l",
        "tier=web",
        "-v",
        "/vol1",
        "containerv/busybox",
        "sleep",
        "30",
    ]);
    let done = cv.run(&[
        "run",
        "--name",
        "done3",
        "-l",
        "tier=db",
        "containerv/busybox",
        "sh",
        "-c",
        "exit 3",
    ]);
    assert_eq!(done.status.code(), Some(3));
    let _fresh = cv.ok(&[
        "create",
        "--name",
        "fresh",
        "--network",
        "host",
        "containerv/busybox",
    ]);
    assert_eq!(names(&cv, &[]), ["up1"]);
    assert_eq!(names(&cv, &["-a", "--filter", "name=p1"]), ["up1"]);
    assert_eq!(
        names(&cv, &["-a", "-f", "id=".to_string().as_str()]).len(),
        3
    );
    assert_eq!(
        names(&cv, &["-a", "-f", &format!("id={}", &up[..8])]),
        ["up1"]
    );
    assert_eq!(names(&cv, &["-a", "-f", "label=tier"]), ["done3", "up1"]);
    assert_eq!(names(&cv, &["-a", "-f", "label=tier=db"]), ["done3"]);
    assert_eq!(names(&cv, &["-f", "status=exited"]), ["done3"]);
    assert_eq!(names(&cv, &["-f", "status=created"]), ["fresh"]);
    assert_eq!(
        names(&cv, &["-f", "status=created", "-f", "status=running"]),
        ["fresh", "up1"]
    );
    assert_eq!(names(&cv, &["-f", "exited=3"]), ["done3"]);
    assert!(names(&cv, &["-f", "exited=0"]).is_empty());
    assert_eq!(
        names(&cv, &["-a", "-f", "ancestor=containerv/busybox"]).len(),
        3
    );
    assert_eq!(names(&cv, &["-a", "-f", "volume=/vol1"]), ["up1"]);
    assert_eq!(names(&cv, &["-a", "-f", "network=host"]), ["fresh"]);
    assert_eq!(names(&cv, &["-a", "-f", "health=none"]).len(), 3);
    assert_eq!(
        names(&cv, &["-a", "-f", "label=tier", "-f", "status=running"]),
        ["up1"]
    );
    // -n: the last n created, any state; -s adds SIZE.
    let last = cv.ok(&["ps", "-n", "2", "--format", "{{.Names}}"]);
    assert_eq!(last, "fresh\ndone3\n");
    let sized = cv.ok(&["ps", "-s"]);
    assert!(sized.lines().next().unwrap().ends_with("SIZE"), "{sized}");
    assert!(sized.contains("(virtual "), "{sized}");
    // Bad filters: named.
    for (f, want) in [
        ("bogus=1", "bogus"),
        ("status=sleeping", "status"),
        ("exited=x", "exited"),
        ("noequals", "KEY=VALUE"),
    ] {
        let err = cv.fails(&["ps", "-f", f]);
        assert!(err.contains(want), "{f}: {err}");
    }
    cv.cleanup();
}

#[test]
fn images_reference_and_filters() {
    let cv = Cv::new();
    load_app_image(&cv);
    cv.ok(&["create", "containerv/busybox"]);
    let repos = |args: &[&str]| -> Vec<String> {
        let mut a = vec!["images", "--format", "{{.Repository}}:{{.Tag}}"];
        a.extend_from_slice(args);
        let mut v: Vec<String> = cv.ok(&a).lines().map(str::to_string).collect();
        v.sort();
        v.dedup();
        v
    };
    assert_eq!(repos(&[APP_IMAGE]), [APP_IMAGE]);
    assert_eq!(repos(&["localhost/*"]), [APP_IMAGE]);
    assert_eq!(
        repos(&["-f", "reference=containerv/*"]),
        ["containerv/busybox:latest"]
    );
    assert!(repos(&["-f", "dangling=true", "-f", "reference=localhost/*"]).is_empty());
    let not_dangling = repos(&["-f", "dangling=false"]);
    assert!(
        not_dangling.contains(&APP_IMAGE.to_string()),
        "{not_dangling:?}"
    );
    // The built-in image was made in 1970: before the app image.
    let before = repos(&["-f", &format!("before={APP_IMAGE}"), "-f", "dangling=false"]);
    assert!(
        before.contains(&"containerv/busybox:latest".to_string()),
        "{before:?}"
    );
    assert!(!before.contains(&APP_IMAGE.to_string()), "{before:?}");
    assert!(repos(&["-f", &format!("since={APP_IMAGE}")])
        .iter()
        .all(|r| r != APP_IMAGE));
    for (f, want) in [
        ("size=1", "size"),
        ("dangling=maybe", "dangling"),
        ("before=nosuch:1", "nosuch"),
    ] {
        let err = cv.fails(&["images", "-f", f]);
        assert!(err.contains(want), "{f}: {err}");
    }
    cv.cleanup();
}

#[test]
fn system_df_and_prune() {
    let cv = Cv::new();
    let id = cv.run_d(&[
        "-v",
        "keepme:/k",
        "-v",
        "/anon",
        "containerv/busybox",
        "sleep",
        "30",
    ]);
    let done = cv
        .ok(&["create", "containerv/busybox", "true"])
        .trim()
        .to_string();
    let df: Vec<Value> = cv
        .ok(&["system", "df", "--format", "json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(df[1]["Type"], "Containers");
    assert_eq!(df[1]["TotalCount"], "2");
    assert_eq!(df[1]["Active"], "1");
    assert_eq!(df[2]["Type"], "Local Volumes");
    assert_eq!(df[2]["Active"], "2");
    assert_eq!(df[2]["Reclaimable"], "0B");
    // The built-in image is used: active, and not counted reclaimable.
    assert_eq!(df[0]["Type"], "Images");
    assert!(df[0]["Active"].as_str().unwrap() != "0");
    let v = cv.ok(&["system", "df", "-v"]);
    assert!(
        v.contains("Images space usage:") && v.contains("keepme"),
        "{v}"
    );
    // prune: the stopped container goes, the running one and its
    // volumes stay; --volumes -a after it stopped takes the volumes.
    let out = cv.ok(&["system", "prune", "-f"]);
    assert!(
        out.starts_with(&format!("Deleted Containers:\n{done}\n")),
        "{out}"
    );
    assert!(out.contains("Total reclaimed space:"), "{out}");
    assert_eq!(cv.ids(), std::slice::from_ref(&id));
    cv.ok(&["stop", "-t", "0", &id]);
    cv.wait_for(&id, "{{.State.Status}}", "exited", Duration::from_secs(10));
    let out = cv.ok(&["system", "prune", "-f", "-a", "--volumes"]);
    assert!(
        out.contains("Deleted Volumes:") && out.contains("keepme"),
        "{out}"
    );
    assert!(cv.ids().is_empty());
    assert_eq!(cv.ok(&["volume", "ls", "-q"]), "");
}
