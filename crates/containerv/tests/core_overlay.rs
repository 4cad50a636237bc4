//! Overlay rootfs: the base stays untouched; the upper is kept or discarded.
#![cfg(target_os = "linux")]

use containerv::{ContainerOptions, ProcessOptions, Runtime};
use containerv_testutil::{
    assert_no_leftovers, busybox_rootfs, require_root, temp_root, unique_id,
};

fn write_inside(c: &containerv::Container) {
    let mut o = ProcessOptions::new([
        "/bin/sh",
        "-c",
        "echo data > /written && rm /bin/true && test ! -e /bin/true",
    ]);
    o.wait = true;
    assert!(c.spawn(o).unwrap().wait().unwrap().success());
}

#[test]
fn overlay_discarded_leaves_base_untouched() {
    require_root();
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("core-ovl");
    let base = busybox_rootfs();
    let c = rt
        .create(&id, &ContainerOptions::new().rootfs(base).overlay(false))
        .unwrap();
    write_inside(&c);
    assert!(!base.join("written").exists());
    assert!(base.join("bin/true").symlink_metadata().is_ok());
    c.destroy().unwrap();
    assert_no_leftovers(root.path(), &id);
    assert!(!root.path().join(format!("{id}.upper")).exists());
}

#[test]
fn overlay_upper_kept_in_given_dir() {
    require_root();
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("core-keep");
    let upper = root.path().join("my-upper");
    let c = rt
        .create(
            &id,
            &ContainerOptions::new()
                .rootfs(busybox_rootfs())
                .overlay_upper_dir(&upper, true),
        )
        .unwrap();
    write_inside(&c);
    c.destroy().unwrap();
    assert_no_leftovers(root.path(), &id);
    assert_eq!(
        std::fs::read_to_string(upper.join("written")).unwrap(),
        "data\n"
    );
    assert!(!root.path().join("my-upper.work").exists());
    assert!(!busybox_rootfs().join("written").exists());
}

#[test]
fn overlay_upper_kept_beside_state() {
    require_root();
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("core-keep2");
    let c = rt
        .create(
            &id,
            &ContainerOptions::new()
                .rootfs(busybox_rootfs())
                .overlay(true),
        )
        .unwrap();
    write_inside(&c);
    c.destroy().unwrap();
    assert_no_leftovers(root.path(), &id);
    let kept = root.path().join(format!("{id}.upper"));
    assert_eq!(
        std::fs::read_to_string(kept.join("written")).unwrap(),
        "data\n"
    );
}
