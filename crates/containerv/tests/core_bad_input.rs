//! Bad input gives a clear error naming the problem and leaves nothing.
#![cfg(target_os = "linux")]

use containerv::{ContainerOptions, Error, Runtime};
use containerv_testutil::{
    assert_no_leftovers, busybox_rootfs, require_root, temp_root, unique_id,
};
use oci_spec::runtime::{MountBuilder, Spec};

fn builder_spec(id: &str) -> (Spec, containerv::CreateConfig) {
    ContainerOptions::new()
        .rootfs(busybox_rootfs())
        .build(id)
        .unwrap()
}

fn left_nothing(rt: &Runtime, root: &std::path::Path, id: &str) {
    assert_no_leftovers(root, id);
    assert!(rt.list().unwrap().is_empty());
}

#[test]
fn missing_rootfs() {
    require_root();
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("core-bad");
    let (mut spec, cfg) = builder_spec(&id);
    spec.root_mut()
        .as_mut()
        .unwrap()
        .set_path("/nonexistent/rootfs".into());
    let e = rt.create_from_spec(&id, spec, cfg).unwrap_err().to_string();
    assert!(e.contains("root.path /nonexistent/rootfs"), "{e}");
    left_nothing(&rt, root.path(), &id);
}

#[test]
fn invalid_id() {
    require_root();
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let (spec, cfg) = builder_spec("ok");
    let e = rt.create_from_spec("../evil", spec, cfg).unwrap_err();
    assert!(matches!(e, Error::InvalidId { .. }), "{e}");
    assert!(e.to_string().contains("\"../evil\""), "{e}");
    assert!(std::fs::read_dir(root.path()).unwrap().next().is_none());
}

#[test]
fn duplicate_id() {
    require_root();
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("core-dup");
    let c = rt
        .create(&id, &ContainerOptions::new().rootfs(busybox_rootfs()))
        .unwrap();
    let e = rt
        .create(&id, &ContainerOptions::new().rootfs(busybox_rootfs()))
        .unwrap_err();
    assert!(matches!(e, Error::AlreadyExists(_)), "{e}");
    assert!(e.to_string().contains(&id), "{e}");
    // The first container is untouched.
    assert_eq!(c.state().unwrap().status, containerv::Status::Running);
    c.destroy().unwrap();
    left_nothing(&rt, root.path(), &id);
}

#[test]
fn bad_mounts() {
    require_root();
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("core-badmnt");
    let cases: [(MountBuilder, &str); 3] = [
        (
            MountBuilder::default()
                .destination("relative/dir")
                .typ("tmpfs")
                .source("tmpfs"),
            "must be an absolute path",
        ),
        (
            MountBuilder::default()
                .destination("/mnt")
                .typ("bind")
                .source("/nonexistent/src")
                .options(vec!["rbind".to_string()]),
            "bind source /nonexistent/src does not exist",
        ),
        (
            MountBuilder::default()
                .destination("/mnt/../../etc")
                .typ("tmpfs"),
            "must not contain \"..\"",
        ),
    ];
    for (m, want) in cases {
        let (mut spec, cfg) = builder_spec(&id);
        let mut mounts = spec.mounts().clone().unwrap();
        mounts.push(m.build().unwrap());
        spec.set_mounts(Some(mounts));
        let e = rt.create_from_spec(&id, spec, cfg).unwrap_err().to_string();
        assert!(e.contains(want), "{e}");
        left_nothing(&rt, root.path(), &id);
    }
}

#[test]
fn mount_failing_inside_names_the_step_and_cleans_up() {
    require_root();
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("core-failmnt");
    let (mut spec, cfg) = builder_spec(&id);
    let mut mounts = spec.mounts().clone().unwrap();
    mounts.push(
        MountBuilder::default()
            .destination("/mnt/x")
            .typ("nosuchfs")
            .source("none")
            .build()
            .unwrap(),
    );
    spec.set_mounts(Some(mounts));
    let e = rt.create_from_spec(&id, spec, cfg).unwrap_err();
    assert!(matches!(e, Error::Setup { .. }), "{e}");
    assert!(e.to_string().contains("mount nosuchfs on /mnt/x"), "{e}");
    left_nothing(&rt, root.path(), &id);
}

#[test]
fn missing_program_names_it() {
    require_root();
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("core-noprog");
    let e = rt
        .create(
            &id,
            &ContainerOptions::new()
                .rootfs(busybox_rootfs())
                .command(["/bin/nosuch"]),
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("exec \"/bin/nosuch\""), "{e}");
    left_nothing(&rt, root.path(), &id);
}

#[test]
fn user_namespace_without_maps() {
    require_root();
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("core-nomap");
    let (mut spec, cfg) = builder_spec(&id);
    let linux = spec.linux_mut().as_mut().unwrap();
    let mut ns = linux.namespaces().clone().unwrap();
    ns.push(
        oci_spec::runtime::LinuxNamespaceBuilder::default()
            .typ(oci_spec::runtime::LinuxNamespaceType::User)
            .build()
            .unwrap(),
    );
    linux.set_namespaces(Some(ns));
    let e = rt.create_from_spec(&id, spec, cfg).unwrap_err().to_string();
    assert!(e.contains("uidMappings"), "{e}");
    left_nothing(&rt, root.path(), &id);
}
