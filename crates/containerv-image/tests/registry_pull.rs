//! Pulls from a real registry (docker-registry 2.8 on 127.0.0.1): OCI
//! single and multi-layer images (with a whiteout), Docker v2s2, a
//! multi-arch index, shared layers fetched once, basic and token auth,
//! wrong credentials.

use std::os::unix::fs::FileTypeExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use containerv_image::registry::{Credentials, ProgressMode, PullOptions};
use containerv_image::spec::Platform;
use containerv_image::{Error, ImageStore};
use containerv_testutil::registry::{RegistryAuth, TestRegistry};
use containerv_testutil::{require_root, temp_root};

fn quiet() -> PullOptions {
    PullOptions {
        progress: ProgressMode::Quiet,
        ..Default::default()
    }
}

fn assert_gone(pids: &[i32]) {
    for &p in pids {
        let mut gone = false;
        for _ in 0..100 {
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
            if stat.is_empty() || stat.contains(") Z ") {
                gone = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(gone, "registry process {p} still running");
    }
}

#[test]
fn anonymous_registry_oci_docker_index_and_shared_layers() {
    require_root();
    let reg = TestRegistry::start(RegistryAuth::Anonymous);
    reg.push_test_images("busybox");
    let root = temp_root();
    let store = ImageStore::open(root.path()).unwrap();
    let a = &reg.addr;

    // Single-layer OCI image.
    let before = reg.blob_gets();
    let r = store
        .pull(&format!("{a}/busybox:latest"), &quiet())
        .unwrap();
    assert_eq!(r.layers, 1);
    assert_eq!(r.layers_downloaded, 1);
    assert_eq!(reg.blob_gets() - before, 2, "config + 1 layer");
    let layers = store.rootfs_layers(&format!("{a}/busybox")).unwrap();
    assert_eq!(layers.len(), 1);
    assert!(layers[0].join("bin/busybox").is_file());
    assert_eq!(
        std::fs::read_link(layers[0].join("bin/sh")).unwrap(),
        Path::new("busybox")
    );
    let rc = store.run_config(&format!("{a}/busybox:latest")).unwrap();
    assert_eq!(rc.entrypoint, Some(vec!["/bin/sh".to_string()]));
    assert_eq!(rc.working_dir.as_deref(), Some("/"));

    // Multi-layer with a whiteout: only the two new layers (and the new
    // config) are downloaded.
    let before = reg.blob_gets();
    let r = store.pull(&format!("{a}/busybox:multi"), &quiet()).unwrap();
    assert_eq!(r.layers, 3);
    assert_eq!(r.layers_downloaded, 2);
    assert_eq!(reg.blob_gets() - before, 3, "config + 2 new layers");
    let layers = store.rootfs_layers(&format!("{a}/busybox:multi")).unwrap();
    assert_eq!(layers.len(), 3);
    let top = &layers[0];
    let wh = std::fs::symlink_metadata(top.join("etc/motd")).unwrap();
    assert!(wh.file_type().is_char_device(), "whiteout is a char device");
    assert_eq!(wh.rdev(), 0);
    assert_eq!(
        std::fs::read_to_string(top.join("etc/hello")).unwrap(),
        "layer 3\n"
    );
    assert_eq!(
        std::fs::read_to_string(layers[1].join("etc/motd")).unwrap(),
        "layer 2\n"
    );
    assert_eq!(
        layers[2],
        store.rootfs_layers(&format!("{a}/busybox:latest")).unwrap()[0]
    );

    // Docker v2s2: same layer content, reused.
    let r = store
        .pull(&format!("{a}/busybox:latest-docker"), &quiet())
        .unwrap();
    let d = store
        .inspect(&format!("{a}/busybox:latest-docker"))
        .unwrap();
    assert_eq!(
        d.media_type,
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    assert_eq!(r.layers, 1);

    // Multi-arch index: linux/amd64 by default, arm64 on request.
    let r = store
        .pull(&format!("{a}/busybox:multiarch"), &quiet())
        .unwrap();
    assert!(r.index_digest.is_some());
    assert_eq!(
        store
            .inspect(&format!("{a}/busybox:multiarch"))
            .unwrap()
            .architecture,
        "amd64"
    );
    let arm = PullOptions {
        platform: Some(Platform {
            architecture: "arm64".into(),
            os: "linux".into(),
            variant: None,
        }),
        ..quiet()
    };
    store.pull(&format!("{a}/busybox:multiarch"), &arm).unwrap();
    assert_eq!(
        store
            .inspect(&format!("{a}/busybox:multiarch"))
            .unwrap()
            .architecture,
        "arm64"
    );
    let bad = PullOptions {
        platform: Some(Platform {
            architecture: "s390x".into(),
            os: "linux".into(),
            variant: None,
        }),
        ..quiet()
    };
    let e = store
        .pull(&format!("{a}/busybox:multiarch"), &bad)
        .unwrap_err();
    assert!(matches!(e, Error::NoMatchingPlatform { .. }), "{e}");
    assert!(e.to_string().contains("linux/s390x"), "{e}");

    // Pull by digest.
    let dig = store
        .inspect(&format!("{a}/busybox:latest"))
        .unwrap()
        .digest;
    let r = store.pull(&format!("{a}/busybox@{dig}"), &quiet()).unwrap();
    assert_eq!(r.digest, dig);
    assert_eq!(r.layers_downloaded, 0);

    // A missing tag is a clear error naming the registry.
    let e = store
        .pull(&format!("{a}/busybox:nope"), &quiet())
        .unwrap_err();
    assert!(e.to_string().contains(a.as_str()), "{e}");

    // Nothing half-written is left behind.
    assert_eq!(
        std::fs::read_dir(root.path().join("ingest"))
            .unwrap()
            .count(),
        0
    );
    assert_eq!(
        std::fs::read_dir(root.path().join("layers/tmp"))
            .unwrap()
            .count(),
        0
    );
    let pids = reg.pids().to_vec();
    drop(reg);
    assert_gone(&pids);
}

fn auth_cases(reg: &TestRegistry) {
    let root = temp_root();
    let store = ImageStore::open(root.path()).unwrap();
    let r = format!("{}/busybox:latest", reg.addr);
    let creds = Credentials::parse_user_pass(reg.creds().unwrap()).unwrap();
    store
        .pull(
            &r,
            &PullOptions {
                credentials: creds,
                ..quiet()
            },
        )
        .unwrap();

    let wrong = Credentials::parse_user_pass("user:wrong").unwrap();
    let e = store
        .pull(
            &r,
            &PullOptions {
                credentials: wrong,
                ..quiet()
            },
        )
        .unwrap_err();
    assert!(matches!(e, Error::Unauthorized { .. }), "{e:?}");
    assert!(e.to_string().contains(&reg.addr), "{e}");

    let e = store
        .pull(
            &r,
            &PullOptions {
                credentials: Credentials::Anonymous,
                ..quiet()
            },
        )
        .unwrap_err();
    assert!(matches!(e, Error::Unauthorized { .. }), "{e:?}");

    // Credentials from a docker-style auth file.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("auth.json");
    use base64::Engine as _;
    let enc = base64::engine::general_purpose::STANDARD.encode(reg.creds().unwrap());
    std::fs::write(
        &file,
        format!(r#"{{"auths":{{"{}":{{"auth":"{enc}"}}}}}}"#, reg.addr),
    )
    .unwrap();
    let store2 = ImageStore::open(root.path().join("second")).unwrap();
    store2
        .pull(
            &r,
            &PullOptions {
                credentials: Credentials::AuthFile(file),
                ..quiet()
            },
        )
        .unwrap();
}

#[test]
fn basic_auth_registry() {
    require_root();
    let reg = TestRegistry::start(RegistryAuth::Basic("user:pass".into()));
    reg.push_test_images("busybox");
    auth_cases(&reg);
}

#[test]
fn token_auth_registry() {
    require_root();
    let reg = TestRegistry::start(RegistryAuth::Token("user:pass".into()));
    reg.push_test_images("busybox");
    auth_cases(&reg);
}
