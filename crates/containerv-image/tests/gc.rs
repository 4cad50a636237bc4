//! GC: prune removes dangling images and unreferenced blobs and layers,
//! leaves used ones, and is safe while pulls run at the same time.

use containerv_image::registry::{ProgressMode, PullOptions};
use containerv_image::{Digest, ImageStore};
use containerv_testutil::registry::{RegistryAuth, TestRegistry};
use containerv_testutil::{require_root, temp_root};

fn quiet() -> PullOptions {
    PullOptions {
        progress: ProgressMode::Quiet,
        ..Default::default()
    }
}

/// Every blob and layer an image needs is present and intact.
fn assert_complete(store: &ImageStore, image: &str) {
    let d = store.resolve(image).unwrap();
    let m = store.manifest(&d).unwrap();
    for b in std::iter::once(&m.config).chain(m.layers.iter()) {
        let bd = Digest::parse(&b.digest).unwrap();
        let data = std::fs::read(store.blobs().path(&bd)).unwrap();
        assert_eq!(Digest::of(&data), bd);
    }
    for l in store.rootfs_layers(image).unwrap() {
        assert!(l.is_dir());
    }
}

#[test]
fn prune_while_pulling_keeps_pulled_images_whole() {
    require_root();
    let reg = TestRegistry::start(RegistryAuth::Anonymous);
    reg.push_test_images("busybox");
    let root = temp_root();
    let store = ImageStore::open(root.path()).unwrap();
    let a = reg.addr.clone();
    for round in 0..3 {
        let s2 = store.clone();
        let a2 = a.clone();
        let puller = std::thread::spawn(move || {
            for tag in ["latest", "multi", "latest-docker", "multiarch"] {
                s2.pull(&format!("{a2}/busybox:{tag}"), &quiet()).unwrap();
            }
        });
        let mut prunes = 0;
        while !puller.is_finished() && prunes < 200 {
            store.prune(false, &|_| false).unwrap();
            prunes += 1;
        }
        puller.join().unwrap();
        for tag in ["latest", "multi", "latest-docker", "multiarch"] {
            assert_complete(&store, &format!("{a}/busybox:{tag}"));
        }
        // Dangling-only prune never removes tagged images.
        store.prune(false, &|_| false).unwrap();
        assert_eq!(store.list().unwrap().len(), 4, "round {round}");
        // -a with one image "in use" keeps that one only.
        let keep = store
            .resolve(&format!("{a}/busybox:multi"))
            .unwrap()
            .to_string();
        let rep = store.prune(true, &|d| d == keep).unwrap();
        assert!(rep.reclaimed > 0);
        assert_eq!(store.list().unwrap().len(), 1);
        assert_complete(&store, &format!("{a}/busybox:multi"));
        store.prune(true, &|_| false).unwrap();
        assert!(store.blobs().list().unwrap().is_empty());
        assert!(store.layer_store().list().unwrap().is_empty());
    }
}

#[test]
fn retagging_leaves_a_dangling_image_that_prune_removes() {
    require_root();
    let reg = TestRegistry::start(RegistryAuth::Anonymous);
    reg.push_test_images("busybox");
    let root = temp_root();
    let store = ImageStore::open(root.path()).unwrap();
    let a = &reg.addr;
    store.pull(&format!("{a}/busybox:multi"), &quiet()).unwrap();
    // Point the tag elsewhere: the old image becomes <none>.
    store.tag(&format!("{a}/busybox:multi"), "x:old").unwrap();
    store.remove("x:old", false).unwrap();
    store
        .pull(&format!("{a}/busybox:latest"), &quiet())
        .unwrap();
    store
        .tag(
            &format!("{a}/busybox:latest"),
            &format!("{a}/busybox:multi"),
        )
        .unwrap();
    let rows = store.list().unwrap();
    assert!(rows.iter().any(|r| r.tag == "<none>"), "{rows:?}");
    let rep = store.prune(false, &|_| false).unwrap();
    assert_eq!(rep.images_deleted.len(), 1);
    assert_eq!(rep.layers_deleted, 2);
    assert_complete(&store, &format!("{a}/busybox:latest"));
    // Bad input: a clear error naming the image.
    let e = store.remove("does-not-exist", false).unwrap_err();
    assert!(e.to_string().contains("does-not-exist"), "{e}");
}

#[test]
fn images_held_by_containers_survive_prune_and_rmi() {
    require_root();
    let reg = TestRegistry::start(RegistryAuth::Anonymous);
    reg.push_test_images("busybox");
    let root = temp_root();
    let store = ImageStore::open(root.path()).unwrap();
    let (latest, multi) = (
        format!("{}/busybox:latest", reg.addr),
        format!("{}/busybox:multi", reg.addr),
    );
    store.pull(&latest, &quiet()).unwrap();
    store.pull(&multi, &quiet()).unwrap();
    let held = store.hold(&multi, "ctr-1").unwrap();
    assert_eq!(held, store.resolve(&multi).unwrap());

    // rmi refuses an image a container uses, naming the container.
    let e = store.remove(&multi, false).unwrap_err();
    assert!(e.to_string().contains("ctr-1"), "{e}");
    // prune -a removes only the unused image; the held one stays whole.
    let rep = store.prune(true, &|_| false).unwrap();
    assert_eq!(rep.images_deleted.len(), 1, "{rep:?}");
    assert_complete(&store, &multi);
    // rmi -f untags it but keeps it while it is used; prune keeps it too.
    let out = store.remove(&multi, true).unwrap();
    assert!(out.iter().all(|l| !l.starts_with("Deleted")), "{out:?}");
    store.prune(true, &|_| false).unwrap();
    assert_complete(&store, held.as_str());
    // Released, it goes with the next prune, and with it every blob and layer.
    store.release("ctr-1").unwrap();
    store.release("ctr-1").unwrap();
    let rep = store.prune(false, &|_| false).unwrap();
    assert_eq!(rep.images_deleted.len(), 1, "{rep:?}");
    assert_eq!(store.blobs().list().unwrap().len(), 0);
    assert_eq!(store.layer_store().list().unwrap().len(), 0);
    // Bad input: a holder name that could not be a container id.
    store.pull(&latest, &quiet()).unwrap();
    let e = store.hold(&latest, "../x").unwrap_err();
    assert!(e.to_string().contains("../x"), "{e}");
    let e = store.hold("nosuch:tag", "ctr-2").unwrap_err();
    assert!(e.to_string().contains("nosuch:tag"), "{e}");
    assert!(store.meta().unwrap().holds.is_empty());
}

#[test]
fn holds_for_this_boot_protect_until_released_and_hold_nothing_after_a_reboot() {
    require_root();
    let reg = TestRegistry::start(RegistryAuth::Anonymous);
    reg.push_test_images("busybox");
    let root = temp_root();
    let store = ImageStore::open(root.path()).unwrap();
    let (latest, multi) = (
        format!("{}/busybox:latest", reg.addr),
        format!("{}/busybox:multi", reg.addr),
    );
    store.pull(&latest, &quiet()).unwrap();
    store.pull(&multi, &quiet()).unwrap();
    let held = store.hold_for_boot(&multi, "rm-1").unwrap();
    let file = root.path().join("holds/rm-1");
    assert!(file.is_file());
    // Not in the durable index: no rewrite (and no fsync) of images.json.
    assert!(store.meta().unwrap().holds.is_empty());
    assert_eq!(store.meta().unwrap().holders_of(held.as_str()), ["rm-1"]);

    // rmi refuses it, naming the holder; prune -a keeps it whole.
    let e = store.remove(&multi, false).unwrap_err();
    assert!(e.to_string().contains("rm-1"), "{e}");
    let rep = store.prune(true, &|_| false).unwrap();
    assert_eq!(rep.images_deleted.len(), 1, "{rep:?}");
    assert_complete(&store, &multi);

    // What a power loss may leave: the file of a release that never
    // reached the disk, from the previous boot, and a torn one. Neither
    // holds anything now, and the next prune removes both files.
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    assert!(!boot.trim().is_empty());
    std::fs::write(
        &file,
        format!("00000000-0000-0000-0000-000000000000 {held}\n"),
    )
    .unwrap();
    std::fs::write(root.path().join("holds/rm-2"), b"").unwrap();
    assert!(store.meta().unwrap().holders_of(held.as_str()).is_empty());
    let rep = store.prune(true, &|_| false).unwrap();
    assert_eq!(rep.images_deleted.len(), 1, "{rep:?}");
    assert!(!file.exists() && !root.path().join("holds/rm-2").exists());

    // Released: gone at once, and a second release is fine.
    store.pull(&latest, &quiet()).unwrap();
    store.hold_for_boot(&latest, "rm-3").unwrap();
    store.release("rm-3").unwrap();
    store.release("rm-3").unwrap();
    assert!(!root.path().join("holds/rm-3").exists());
    let rep = store.prune(true, &|_| false).unwrap();
    assert_eq!(rep.images_deleted.len(), 1, "{rep:?}");

    // Bad input: a holder that is no file name, an unknown image.
    store.pull(&latest, &quiet()).unwrap();
    for bad in ["../x", ".hidden", ""] {
        let e = store.hold_for_boot(&latest, bad).unwrap_err();
        assert!(e.to_string().contains("holder"), "{bad}: {e}");
    }
    let e = store.hold_for_boot("nosuch:tag", "rm-4").unwrap_err();
    assert!(e.to_string().contains("nosuch:tag"), "{e}");
    let left: Vec<_> = std::fs::read_dir(root.path().join("holds"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
