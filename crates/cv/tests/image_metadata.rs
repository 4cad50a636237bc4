//! What an image built by a real builder (podman, docker format) says is
//! honoured as docker honours it: a user added by a later layer (`USER`,
//! `run -u`, `exec -u`).

#![cfg(target_os = "linux")]

mod common;

use common::app_image::{load_app_image, APP_IMAGE};
use common::Cv;

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
