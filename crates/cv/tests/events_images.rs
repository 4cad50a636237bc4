//! docker's image events from the image commands, against a real
//! registry on 127.0.0.1 and a private image store: `pull` and `push`
//! (the reference as id and name), `tag` (the image id, the new name),
//! `untag` and `delete` from `rmi`, `save`, `load` (the image id as id
//! and name), `image prune` (`delete`, then `prune` with no actor and
//! `reclaimed`), each with docker's legacy
//! `status` and `id`; and none written when the command names no engine
//! that exists (an image command never makes one).

mod common;

use common::events::{events, unix_now};
use common::Cv;
use containerv_testutil::registry::{RegistryAuth, TestRegistry};
use serde_json::Value;

/// The image events since `since`.
fn image_events(cv: &Cv, since: &str) -> Vec<Value> {
    events(cv, since, &["--filter", "type=image"])
}

/// `Action Actor.ID Attributes.name` of each event.
fn shown(ev: &[Value]) -> Vec<String> {
    ev.iter()
        .map(|e| {
            format!(
                "{} {} {}",
                e["Action"].as_str().unwrap(),
                e["Actor"]["ID"].as_str().unwrap(),
                e["Actor"]["Attributes"]["name"].as_str().unwrap_or("-")
            )
        })
        .collect()
}

#[test]
fn image_commands_emit_dockers_image_events() {
    let reg = TestRegistry::start(RegistryAuth::Anonymous);
    reg.push_test_images("busybox");
    let mut cv = Cv::new();
    let store = cv.root.path().join("images");
    cv.images = store.clone();
    let a = &reg.addr;
    let src = format!("{a}/busybox:latest");

    // No engine yet: nothing is written, and none is made.
    cv.ok(&["pull", "-q", &src]);
    assert!(!cv.engine_root().exists());
    cv.ok(&["ps"]);
    assert!(cv.engine_root().is_dir());

    let t0 = unix_now();
    cv.ok(&["pull", "-q", &src]);
    let id = cv
        .ok(&["image", "inspect", "-f", "{{.Id}}", &src])
        .trim()
        .to_string();
    assert!(id.starts_with("sha256:"), "{id}");
    cv.ok(&["tag", &src, "evimg:one"]);
    cv.ok(&["rmi", "evimg:one"]);
    let archive = cv.root.path().join("img.tar");
    cv.ok(&["save", "-o", archive.to_str().unwrap(), &src]);
    cv.ok(&["rmi", &src]);
    cv.ok(&["load", "-q", "-i", archive.to_str().unwrap()]);
    let dest = format!("{a}/evimg:pushed");
    cv.ok(&["tag", &src, &dest]);
    cv.ok(&["push", "-q", &dest]);
    cv.ok(&["image", "prune", "-a", "-f"]);

    let ev = image_events(&cv, &t0);
    assert_eq!(
        shown(&ev),
        [
            format!("pull {src} {src}"),
            format!("tag {id} evimg:one"),
            format!("untag {id} {id}"),
            format!("save {id} {id}"),
            format!("untag {id} {id}"),
            format!("delete {id} {id}"),
            format!("load {id} {id}"),
            format!("tag {id} {dest}"),
            format!("push {dest} {dest}"),
            format!("delete {id} {id}"),
            "prune  -".to_string(),
        ]
    );
    for e in &ev {
        assert_eq!(e["Type"], "image", "{e}");
        assert_eq!(e["scope"], "local", "{e}");
        assert_eq!(e["status"], e["Action"], "{e}");
        if e["Action"] != "prune" {
            assert_eq!(e["id"], e["Actor"]["ID"], "{e}");
        }
        assert!(e.get("from").is_none(), "{e}");
    }
    let prune = ev.last().unwrap();
    let reclaimed: u64 = prune["Actor"]["Attributes"]["reclaimed"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(reclaimed > 0, "{prune}");
    // docker's image filter takes the reference or the id.
    let until = unix_now();
    let by_ref = cv.ok(&[
        "events",
        "--since",
        &t0,
        "--until",
        &until,
        "--filter",
        &format!("image={src}"),
        "--format",
        "{{.Action}}",
    ]);
    assert_eq!(by_ref.trim(), "pull");
    let by_id = cv.ok(&[
        "events",
        "--since",
        &t0,
        "--until",
        &until,
        "--filter",
        &format!("image={id}"),
        "--format",
        "{{.Action}}",
    ]);
    assert_eq!(
        by_id.lines().collect::<Vec<_>>(),
        ["tag", "untag", "save", "untag", "delete", "load", "tag", "delete"]
    );
}
