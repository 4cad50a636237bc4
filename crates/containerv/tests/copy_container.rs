//! upload / download through a real running container (root, busybox
//! rootfs with a writable overlay): a round trip of a file and of a tree,
//! and hostile symlinks made inside the container that must never make a
//! copy read or write outside its root.
#![cfg(target_os = "linux")]

use std::path::Path;

use containerv::{ContainerOptions, ProcessOptions, Runtime};
use containerv_testutil::tree::assert_same_tree;
use containerv_testutil::{
    assert_no_leftovers, busybox_rootfs, require_root, temp_root, unique_id,
};

#[test]
fn copies_in_and_out_and_stays_inside() {
    require_root();
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("copy");
    let c = rt
        .create(
            &id,
            &ContainerOptions::new()
                .rootfs(busybox_rootfs())
                .overlay(false),
        )
        .unwrap();
    let work = tempfile::tempdir().unwrap();
    let host = work.path().join("host");
    std::fs::create_dir(&host).unwrap();
    std::fs::write(host.join("secret"), "host secret").unwrap();

    // Round trip: a tree with a binary file, modes and a symlink.
    let src = work.path().join("src");
    std::fs::create_dir_all(src.join("d/e")).unwrap();
    let bin: Vec<u8> = (0..100_000u32).map(|i| (i * 13 % 256) as u8).collect();
    std::fs::write(src.join("d/e/blob"), &bin).unwrap();
    std::fs::write(src.join("run.sh"), "#!/bin/sh\necho ran\n").unwrap();
    std::fs::set_permissions(
        src.join("run.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    std::os::unix::fs::symlink("d/e/blob", src.join("link")).unwrap();
    c.upload(&src, Path::new("/opt/app")).unwrap();
    // The container sees it.
    let mut o = ProcessOptions::new(["/opt/app/run.sh"]);
    o.stdout = containerv::Stdio::Pipe;
    let mut p = c.spawn(o).unwrap();
    let mut s = String::new();
    std::io::Read::read_to_string(&mut p.stdout.take().unwrap(), &mut s).unwrap();
    assert_eq!(s, "ran\n");
    assert!(p.wait().unwrap().success());
    c.download(Path::new("/opt/app"), &work.path().join("back"))
        .unwrap();
    assert_same_tree(&src, &work.path().join("back"));
    // A single file into an existing directory keeps its name.
    c.upload(&src.join("d/e/blob"), Path::new("/tmp")).unwrap();
    c.download(Path::new("/tmp/blob"), &work.path().join("blob"))
        .unwrap();
    assert_eq!(std::fs::read(work.path().join("blob")).unwrap(), bin);

    // Hostile links made by the container itself.
    let script = format!(
        "ln -s {h} /tmp/evil && ln -s ../../../../../../../.. /tmp/up && ln -s {h}/secret /tmp/leak",
        h = host.display()
    );
    let mut o = ProcessOptions::new(["sh", "-c", script.as_str()]);
    o.wait = true;
    assert!(c.spawn(o).unwrap().wait().unwrap().success());
    let payload = work.path().join("payload");
    std::fs::write(&payload, "payload").unwrap();
    for dest in ["/tmp/evil/x", "/tmp/up/y", "/tmp/leak", "/../../../z"] {
        // Dangling inside the container: may fail, must not escape.
        let _ = c.upload(&payload, Path::new(dest));
    }
    let names: Vec<_> = std::fs::read_dir(&host)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["secret"], "a write escaped the container");
    assert_eq!(
        std::fs::read_to_string(host.join("secret")).unwrap(),
        "host secret"
    );
    // Downloads: the link itself comes out as a link; through links, only
    // the container's own files are reachable.
    c.download(Path::new("/tmp/leak"), &work.path().join("leak"))
        .unwrap();
    assert!(work
        .path()
        .join("leak")
        .symlink_metadata()
        .unwrap()
        .file_type()
        .is_symlink());
    for src in ["/tmp/evil/secret", "/tmp/up/tmp/leak/../secret"] {
        let r = c.download(Path::new(src), &work.path().join("got"));
        assert!(r.is_err(), "{src} was read");
        assert!(!work.path().join("got").exists());
    }
    let host_rel = host.strip_prefix("/").unwrap().join("secret");
    let r = c.download(
        &Path::new("/tmp/up").join(host_rel),
        &work.path().join("got"),
    );
    assert!(r.is_err() && !work.path().join("got").exists());
    c.download(Path::new("/tmp/up/etc/passwd"), &work.path().join("pw"))
        .unwrap();
    assert_eq!(
        std::fs::read(work.path().join("pw")).unwrap(),
        std::fs::read(busybox_rootfs().join("etc/passwd")).unwrap()
    );

    c.destroy().unwrap();
    assert_no_leftovers(root.path(), &id);
}
