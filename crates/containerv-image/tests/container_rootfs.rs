//! End to end: an image pulled from a real registry becomes a real
//! container's rootfs. The unpacked layers (topmost first, from
//! `ImageStore::rootfs_layers`) are the overlay lower dirs of a container
//! made by the core library; whiteouts hide files of lower layers, every
//! layer's files show through, writes land in the container's upper dir
//! only, and destroy leaves nothing behind.
#![cfg(target_os = "linux")]

use std::io::Read;
use std::path::{Path, PathBuf};

use containerv::{ContainerOptions, ProcessOptions, Runtime, Stdio};
use containerv_image::registry::{ProgressMode, PullOptions};
use containerv_image::ImageStore;
use containerv_testutil::registry::{RegistryAuth, TestRegistry};
use containerv_testutil::{assert_no_leftovers, require_root, temp_root, unique_id};

/// Runs `sh -c script` in the container; returns (stdout, exit code).
fn sh(c: &containerv::Container, script: &str) -> (String, i32) {
    let mut o = ProcessOptions::new(["/bin/sh", "-c", script]);
    o.stdout = Stdio::Pipe;
    let mut p = c.spawn(o).unwrap();
    let mut out = String::new();
    p.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    (out, p.wait().unwrap().code())
}

/// Every regular file under `dir` with its content, for before/after.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    fn walk(d: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        let mut es: Vec<_> = std::fs::read_dir(d).unwrap().flatten().collect();
        es.sort_by_key(|e| e.file_name());
        for e in es {
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                walk(&e.path(), out);
            } else if ft.is_file() && e.metadata().unwrap().len() < (1 << 16) {
                out.push((e.path(), std::fs::read(e.path()).unwrap()));
            } else {
                out.push((e.path(), Vec::new()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out
}

#[test]
fn pulled_multi_layer_image_is_a_container_rootfs() {
    require_root();
    let reg = TestRegistry::start(RegistryAuth::Anonymous);
    reg.push_test_images("busybox");
    let images = temp_root();
    let store = ImageStore::open(images.path()).unwrap();
    let image = format!("{}/busybox:multi", reg.addr);
    store
        .pull(
            &image,
            &PullOptions {
                progress: ProgressMode::Quiet,
                ..Default::default()
            },
        )
        .unwrap();
    let layers = store.rootfs_layers(&image).unwrap();
    assert_eq!(layers.len(), 3);
    let before: Vec<_> = layers.iter().map(|l| snapshot(l)).collect();

    // Lowest layer as the base rootfs, the others above it, topmost first.
    let (base, upper_layers) = layers.split_last().unwrap();
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("img-rootfs");
    let upper = root.path().join("upper");
    let opts = ContainerOptions::new()
        .rootfs(base)
        .layers(upper_layers.iter().cloned())
        .overlay_upper_dir(&upper, true);
    let c = rt.create(&id, &opts).unwrap();

    // A file from each layer; the whiteout'd file and the replaced
    // directory's old entries are gone.
    let (out, code) = sh(
        &c,
        "test -x /bin/busybox && cat /etc/two /etc/hello /opt/d/c && ls /opt/d \
         && test ! -e /etc/motd && echo gone",
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(out, "two\nlayer 3\nc\nc\ngone\n");

    // Writes, deletes and edits go to the upper dir only.
    let (out, code) = sh(
        &c,
        "echo new > /etc/new && rm /etc/two && echo more >> /etc/hello && rm /bin/ls \
         && cat /etc/hello",
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(out, "layer 3\nmore\n");
    assert_eq!(
        std::fs::read_to_string(upper.join("etc/new")).unwrap(),
        "new\n"
    );
    assert_eq!(
        std::fs::read_to_string(upper.join("etc/hello")).unwrap(),
        "layer 3\nmore\n"
    );
    for (l, b) in layers.iter().zip(&before) {
        assert_eq!(&snapshot(l), b, "layer {} changed", l.display());
    }

    c.destroy().unwrap();
    assert_no_leftovers(root.path(), &id);
    for (l, b) in layers.iter().zip(&before) {
        assert_eq!(&snapshot(l), b, "layer {} changed", l.display());
    }
    // The image is still usable by the next container.
    assert_eq!(store.rootfs_layers(&image).unwrap(), layers);
}
