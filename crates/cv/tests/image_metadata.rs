//! What an image built by a real builder (podman, docker format) says is
//! honoured as docker honours it: a user added by a later layer (`USER`,
//! `run -u`, `exec -u`); `HEALTHCHECK` run (unless `--no-healthcheck`,
//! flags override its fields); `VOLUME` an anonymous volume seeded from
//! the image (owner kept), removed by `rm -v`; `WORKDIR`.

#![cfg(target_os = "linux")]

mod common;

use common::app_image::{load_app_image, APP_IMAGE};
use common::Cv;
use std::time::Duration;

#[test]
fn user_added_by_a_later_layer() {
    let cv = Cv::new();
    load_app_image(&cv);
    // USER svc from the image.
    let out = cv.ok(&["run", "--rm", APP_IMAGE, "id"]);
    assert!(out.starts_with("uid=1234(svc) gid=1234(svc)"), "{out}");
    // -u by name, and name:group.
    let out = cv.ok(&["run", "--rm", "-u", "svc:root", APP_IMAGE, "id"]);
    assert!(out.starts_with("uid=1234(svc) gid=0(root)"), "{out}");
    let out = cv.ok(&["run", "--rm", "-u", "root", APP_IMAGE, "id", "-u"]);
    assert_eq!(out, "0\n");
    // HOME from the later layer's passwd.
    let out = cv.ok(&["run", "--rm", APP_IMAGE, "sh", "-c", "echo $HOME"]);
    assert_eq!(out, "/home/svc\n");
    // exec -u in a running one.
    let id = cv.run_d(&[APP_IMAGE]);
    let out = cv.ok(&["exec", "-u", "svc", &id, "id", "-un"]);
    assert_eq!(out, "svc\n");
    // An unknown name still fails, naming it.
    let err = cv.fails(&["run", "--rm", "-u", "nosuchuser", APP_IMAGE, "id"]);
    assert!(err.contains("nosuchuser"), "{err}");
    cv.ok(&["rm", "-f", &id]);
    cv.assert_gone(&id);
    assert!(cv.ids().is_empty(), "left: {:?}", cv.ids());
}

#[test]
fn healthcheck_of_the_image_runs_unless_disabled() {
    let cv = Cv::new();
    load_app_image(&cv);
    // HEALTHCHECK --interval=1s --retries=1 CMD test -e /tmp/healthy
    let id = cv.run_d(&[APP_IMAGE]);
    let health = "{{.State.Health.Status}}";
    cv.wait_for(&id, health, "unhealthy", Duration::from_secs(10));
    cv.ok(&["exec", &id, "touch", "/tmp/healthy"]);
    cv.wait_for(&id, health, "healthy", Duration::from_secs(10));
    let test = cv.inspect(&id, "{{json .Config.Healthcheck.Test}}");
    assert_eq!(test, r#"["CMD-SHELL","test -e /tmp/healthy"]"#);
    // --no-healthcheck: none at all.
    let off = cv.run_d(&["--no-healthcheck", APP_IMAGE]);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(cv.inspect(&off, "{{json .State.Health}}"), "null");
    // A flag overrides one field and keeps the image's test.
    let slow = cv.run_d(&["--health-interval", "1h", APP_IMAGE]);
    assert_eq!(
        cv.inspect(&slow, "{{json .Config.Healthcheck.Test}}"),
        r#"["CMD-SHELL","test -e /tmp/healthy"]"#
    );
    assert_eq!(
        cv.inspect(&slow, "{{.Config.Healthcheck.Interval}}"),
        "3600000000000"
    );
    for c in [&id, &off, &slow] {
        cv.ok(&["rm", "-f", c]);
        cv.assert_gone(c);
    }
}

#[test]
fn volume_of_the_image_is_an_anonymous_volume() {
    let cv = Cv::new();
    load_app_image(&cv);
    let id = cv.run_d(&[APP_IMAGE]);
    let mounts = cv.inspect(&id, "{{json .Mounts}}");
    let m: serde_json::Value = serde_json::from_str(&mounts).unwrap();
    assert_eq!(m.as_array().unwrap().len(), 1, "{mounts}");
    assert_eq!(m[0]["Destination"], "/data");
    assert_eq!(m[0]["Type"], "volume");
    let name = m[0]["Name"].as_str().unwrap().to_string();
    assert_eq!(cv.ok(&["volume", "ls", "-q"]).trim(), name);
    // Seeded from the image, owner kept; writable by the image's user.
    let out = cv.ok(&[
        "exec",
        &id,
        "sh",
        "-c",
        "cat /data/seed; stat -c %u /data/seed; touch /data/new",
    ]);
    assert_eq!(out, "seeded\n1234\n");
    // A -v on the same path replaces it.
    let own = cv.run_d(&["-v", "mine:/data", APP_IMAGE]);
    let m: serde_json::Value = serde_json::from_str(&cv.inspect(&own, "{{json .Mounts}}")).unwrap();
    assert_eq!(m.as_array().unwrap().len(), 1, "{m}");
    assert_eq!(m[0]["Name"], "mine");
    cv.ok(&["rm", "-f", "-v", &id]);
    cv.ok(&["rm", "-f", &own]);
    cv.ok(&["volume", "rm", "mine"]);
    assert_eq!(cv.ok(&["volume", "ls", "-q"]), "");
    cv.assert_gone(&id);
}
