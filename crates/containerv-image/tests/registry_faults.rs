//! Transfers that go wrong, against a real registry behind a proxy that
//! drops and cuts connections: pulls retry and complete, a blob cut half
//! way is resumed with a Range request (not downloaded again), pulls give
//! up with a clear error when the registry stays unreachable (leaving
//! nothing half-written), and zstd-compressed layers pull and unpack.

use containerv_image::registry::{ProgressMode, PullOptions, RegistryOptions};
use containerv_image::{Error, ImageStore};
use containerv_testutil::registry::{Faults, FlakyProxy, RegistryAuth, TestRegistry};
use containerv_testutil::{require_root, temp_root};

fn quiet() -> PullOptions {
    PullOptions {
        progress: ProgressMode::Quiet,
        ..Default::default()
    }
}

fn count(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map(|r| r.count()).unwrap_or(0)
}

#[test]
fn dropped_and_cut_connections_are_retried() {
    require_root();
    let reg = TestRegistry::start(RegistryAuth::Anonymous);
    reg.push_random_image("big:v1", &[2048, 1024], false);
    let proxy = FlakyProxy::start(
        &reg.addr,
        Faults {
            refuse_first: 1,
            cut_first: 2,
            cut_after: 256 << 10,
            ..Default::default()
        },
    );
    let root = temp_root();
    let store = ImageStore::open(root.path()).unwrap();
    let image = format!("{}/big:v1", proxy.addr);
    let r = store.pull(&image, &quiet()).unwrap();
    assert_eq!(r.layers, 2);
    assert_eq!(proxy.injected(), 3, "one refused and two cut connections");
    let layers = store.rootfs_layers(&image).unwrap();
    assert_eq!(
        std::fs::metadata(layers[1].join("layer1.bin"))
            .unwrap()
            .len(),
        2048 << 10
    );
    assert_eq!(
        std::fs::metadata(layers[0].join("layer2.bin"))
            .unwrap()
            .len(),
        1024 << 10
    );
    assert_eq!(count(&root.path().join("ingest")), 0);
    assert_eq!(count(&root.path().join("layers/tmp")), 0);
}

/// A layer cut after 1 MiB, twice: each retry asks for the rest with a
/// Range request (206 from the registry), the bytes already written are
/// kept, and the blob still verifies and unpacks.
#[test]
fn cut_downloads_resume_with_range_requests() {
    require_root();
    let reg = TestRegistry::start(RegistryAuth::Anonymous);
    // Random data: the gzip layer is as big as its content (~4 MiB).
    reg.push_random_image("resume:v1", &[4096], false);
    let proxy = FlakyProxy::start(
        &reg.addr,
        Faults {
            cut_first: 2,
            cut_after: 1 << 20,
            ..Default::default()
        },
    );
    let root = temp_root();
    let store = ImageStore::open(root.path()).unwrap();
    let image = format!("{}/resume:v1", proxy.addr);
    let r = store.pull(&image, &quiet()).unwrap();
    assert_eq!(proxy.injected(), 2, "two cut connections");
    assert_eq!(r.layers_downloaded, 1);
    let ranges = reg.blob_range_gets();
    assert!(
        (1..=2).contains(&ranges),
        "{ranges} range requests: every cut mid-blob resumes"
    );
    // Complete and verified: the pull recorded it, the layer unpacked.
    let layers = store.rootfs_layers(&image).unwrap();
    assert_eq!(
        std::fs::metadata(layers[0].join("layer1.bin"))
            .unwrap()
            .len(),
        4096 << 10
    );
    assert_eq!(count(&root.path().join("ingest")), 0);
    assert_eq!(count(&root.path().join("layers/tmp")), 0);
}

/// The same cut against a registry that ignores Range (200, whole blob):
/// the retry starts the blob over and the pull is still complete.
#[test]
fn cut_downloads_start_over_when_ranges_are_ignored() {
    require_root();
    let reg = TestRegistry::start(RegistryAuth::Anonymous);
    reg.push_random_image("norange:v1", &[2048], false);
    let proxy = FlakyProxy::start(
        &reg.addr,
        Faults {
            cut_first: 1,
            cut_after: 1 << 20,
            ignore_range: true,
            ..Default::default()
        },
    );
    let root = temp_root();
    let store = ImageStore::open(root.path()).unwrap();
    let image = format!("{}/norange:v1", proxy.addr);
    store.pull(&image, &quiet()).unwrap();
    assert_eq!(proxy.injected(), 1);
    assert_eq!(reg.blob_range_gets(), 0, "the registry saw no Range");
    let layers = store.rootfs_layers(&image).unwrap();
    assert_eq!(
        std::fs::metadata(layers[0].join("layer1.bin"))
            .unwrap()
            .len(),
        2048 << 10
    );
    assert_eq!(count(&root.path().join("ingest")), 0);
}

#[test]
fn unreachable_registry_gives_up_with_a_clear_error() {
    require_root();
    let reg = TestRegistry::start(RegistryAuth::Anonymous);
    reg.push_test_images("busybox");
    let proxy = FlakyProxy::start(
        &reg.addr,
        Faults {
            refuse_first: 100,
            ..Default::default()
        },
    );
    let root = temp_root();
    let store = ImageStore::open(root.path()).unwrap();
    let opts = PullOptions {
        registry: RegistryOptions {
            attempts: 3,
            ..Default::default()
        },
        ..quiet()
    };
    let t = std::time::Instant::now();
    let e = store
        .pull(&format!("{}/busybox:latest", proxy.addr), &opts)
        .unwrap_err();
    assert!(matches!(e, Error::Registry { .. }), "{e:?}");
    assert!(e.to_string().contains(&proxy.addr), "{e}");
    assert!(e.to_string().contains("after 3 attempts"), "{e}");
    // Three attempts (each may open more than one connection), then stop.
    let dropped = proxy.injected();
    assert!((3..=9).contains(&dropped), "{dropped} connections dropped");
    eprintln!("error after {dropped} dropped connections: {e}");
    assert!(
        t.elapsed() >= std::time::Duration::from_millis(600),
        "backoff"
    );
    assert!(store.list().unwrap().is_empty());
    assert_eq!(count(&root.path().join("ingest")), 0);
    assert_eq!(count(&root.path().join("blobs/sha256")), 0);
}

#[test]
fn zstd_layers_pull_and_unpack() {
    require_root();
    let reg = TestRegistry::start(RegistryAuth::Anonymous);
    reg.push_random_image("z:v1", &[64, 128], true);
    let root = temp_root();
    let store = ImageStore::open(root.path()).unwrap();
    let image = format!("{}/z:v1", reg.addr);
    store.pull(&image, &quiet()).unwrap();
    let d = store.resolve(&image).unwrap();
    let m = store.manifest(&d).unwrap();
    for l in &m.layers {
        assert_eq!(l.media_type, "application/vnd.oci.image.layer.v1.tar+zstd");
    }
    let layers = store.rootfs_layers(&image).unwrap();
    assert!(layers[1].join("bin/busybox").is_file());
    assert_eq!(
        std::fs::metadata(layers[0].join("layer2.bin"))
            .unwrap()
            .len(),
        128 << 10
    );
}
