//! `cv` image commands end to end against a real registry on 127.0.0.1:
//! pull/images/tag/rmi/inspect/prune/push, save/load interchange with
//! skopeo, and a pull killed with SIGKILL half way.

use std::path::Path;
use std::process::{Command, Output};

use containerv_image::{Digest, ImageStore};
use containerv_testutil::registry::{Faults, FlakyProxy, RegistryAuth, TestRegistry};
use containerv_testutil::{require_root, temp_root};

fn cv(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cv"))
        .arg("--image-root")
        .arg(root)
        .args(args)
        .output()
        .unwrap()
}

fn ok(root: &Path, args: &[&str]) -> String {
    let o = cv(root, args);
    assert!(
        o.status.success(),
        "cv {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn count(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|r| r.count()).unwrap_or(0)
}

#[test]
fn pull_list_tag_rmi_inspect_prune_push() {
    require_root();
    let reg = TestRegistry::start(RegistryAuth::Anonymous);
    reg.push_test_images("busybox");
    let root = temp_root();
    let r = root.path();
    let a = &reg.addr;
    ok(r, &["pull", "-q", &format!("{a}/busybox:latest")]);
    ok(r, &["pull", "-q", &format!("{a}/busybox:multi")]);
    let json = ok(r, &["images", "--format", "json"]);
    let rows: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2, "{json}");
    // Docker's keys and value shapes.
    let m = rows
        .iter()
        .find(|v| v["Tag"] == "multi")
        .expect("multi row");
    assert_eq!(m["Repository"], format!("{a}/busybox"));
    assert_eq!(m["ID"].as_str().unwrap().len(), 12);
    assert!(
        m["CreatedAt"].as_str().unwrap().ends_with("+0000 UTC"),
        "{m}"
    );
    assert!(m["CreatedSince"].as_str().unwrap().ends_with(" ago"), "{m}");
    assert!(m["Size"].as_str().unwrap().ends_with("MB"), "{m}");
    let table = ok(r, &["images"]);
    assert!(table.starts_with("REPOSITORY"), "{table}");
    assert!(table.contains(" ago "), "{table}");
    // Go templates, as docker users write them.
    let names = ok(r, &["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    let mut names: Vec<&str> = names.lines().collect();
    names.sort();
    assert_eq!(
        names,
        [format!("{a}/busybox:latest"), format!("{a}/busybox:multi")]
    );
    let t = ok(r, &["images", "--format", r"table {{.Tag}}\t{{.Size}}"]);
    assert!(t.starts_with("TAG\tSIZE\n"), "{t}");
    let o = cv(r, &["images", "--format", "{{.Nope}}"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("Nope") && err.contains("Repository"), "{err}");

    ok(r, &["tag", &format!("{a}/busybox:latest"), "mine:v1"]);
    let insp = ok(r, &["image", "inspect", "mine:v1"]);
    let v: serde_json::Value = serde_json::from_str(&insp).unwrap();
    assert_eq!(v[0]["Config"]["Entrypoint"][0], "/bin/sh");
    let tags = v[0]["RepoTags"].as_array().unwrap();
    assert!(tags.iter().any(|t| t == "mine:v1"), "{tags:?}");
    assert!(
        tags.iter().any(|t| *t == format!("{a}/busybox:latest")),
        "{tags:?}"
    );
    assert_eq!(v[0]["RootFS"]["Type"], "layers");
    assert_eq!(
        v[0]["Descriptor"]["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    let id = ok(r, &["image", "inspect", "-f", "{{.Id}}", "mine:v1"]);
    assert_eq!(id.trim(), v[0]["Id"]);
    let ep = ok(
        r,
        &[
            "image",
            "inspect",
            "--format",
            "{{json .Config.Entrypoint}}",
            "mine:v1",
        ],
    );
    assert_eq!(ep.trim(), r#"["/bin/sh"]"#);

    // Push under a new name, pull it back into a fresh store.
    ok(r, &["push", "-q", "mine:v1", &format!("{a}/copy:v1")]);
    let root2 = temp_root();
    ok(root2.path(), &["pull", "-q", &format!("{a}/copy:v1")]);

    // rmi: unknown image is a clear error.
    let o = cv(r, &["rmi", "nosuch:tag"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("image not found: nosuch:tag"));
    let out = ok(r, &["rmi", &format!("{a}/busybox:multi")]);
    assert!(out.contains("Untagged") && out.contains("Deleted"), "{out}");
    // The multi image's own layers are now unreferenced: prune frees them.
    let out = ok(r, &["image", "prune", "-f"]);
    assert!(out.contains("Total reclaimed space"), "{out}");
    assert_eq!(
        count(&r.join("layers/sha256")),
        1,
        "only the shared base layer stays"
    );
    // prune -a removes everything.
    ok(r, &["image", "prune", "-a", "-f"]);
    assert_eq!(ok(r, &["images", "-q"]), "");
    assert_eq!(count(&r.join("blobs/sha256")), 0);
    assert_eq!(count(&r.join("layers/sha256")), 0);
    // df counts containers and volumes too: a private engine root.
    let engine = r.join("engine");
    let df = ok(
        r,
        &[
            "--root",
            engine.to_str().unwrap(),
            "system",
            "df",
            "--format",
            "json",
        ],
    );
    assert!(
        df.lines()
            .next()
            .unwrap()
            .contains(r#""TotalCount":"0","Type":"Images""#),
        "{df}"
    );
}

fn skopeo(args: &[&str]) {
    let o = Command::new("skopeo").args(args).output().unwrap();
    assert!(
        o.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn save_and_load_interchange_with_skopeo() {
    require_root();
    let reg = TestRegistry::start(RegistryAuth::Anonymous);
    reg.push_test_images("busybox");
    let root = temp_root();
    let r = root.path();
    let a = &reg.addr;
    let work = tempfile::tempdir().unwrap();
    let w = work.path();

    // skopeo → cv load (oci-archive and docker-archive).
    let src = format!("docker://{a}/busybox:multi");
    let oa = w.join("sk-oci.tar");
    let da = w.join("sk-docker.tar");
    skopeo(&[
        "copy",
        "-q",
        "--src-tls-verify=false",
        &src,
        &format!("oci-archive:{}:multi", oa.display()),
    ]);
    skopeo(&[
        "copy",
        "-q",
        "--src-tls-verify=false",
        &src,
        &format!("docker-archive:{}:example/bb:multi", da.display()),
    ]);
    let out = ok(r, &["load", "-i", oa.to_str().unwrap()]);
    assert!(
        out.contains("Loaded image: localhost/sk-oci:multi"),
        "{out}"
    );
    let out = ok(r, &["load", "-i", da.to_str().unwrap()]);
    assert!(out.contains("docker.io/example/bb:multi"), "{out}");
    let store = ImageStore::open(r).unwrap();
    for img in ["localhost/sk-oci:multi", "example/bb:multi"] {
        let layers = store.rootfs_layers(img).unwrap();
        assert_eq!(layers.len(), 3, "{img}");
        assert!(layers[0].join("etc/hello").is_file(), "{img}");
    }

    // cv save → skopeo reads it back (and the copy is complete).
    for (fmt, transport) in [
        ("oci-archive", "oci-archive"),
        ("docker-archive", "docker-archive"),
    ] {
        let f = w.join(format!("cv-{fmt}.tar"));
        ok(
            r,
            &[
                "save",
                "--format",
                fmt,
                "-o",
                f.to_str().unwrap(),
                "example/bb:multi",
            ],
        );
        let dir = w.join(format!("copy-{fmt}"));
        skopeo(&[
            "copy",
            "-q",
            &format!("{transport}:{}", f.display()),
            &format!("oci:{}:x", dir.display()),
        ]);
        // And cv loads its own archive into a fresh store.
        let root2 = temp_root();
        ok(root2.path(), &["load", "-q", "-i", f.to_str().unwrap()]);
        let s2 = ImageStore::open(root2.path()).unwrap();
        assert_eq!(
            s2.rootfs_layers("example/bb:multi").unwrap().len(),
            3,
            "{fmt}"
        );
    }
    // OCI layout directory written by cv, read by skopeo.
    let d = w.join("cv-dir");
    ok(
        r,
        &[
            "save",
            "--format",
            "oci-dir",
            "-o",
            d.to_str().unwrap(),
            "example/bb:multi",
        ],
    );
    skopeo(&["inspect", &format!("oci:{}", d.display())]);

    // Bad input: a clear error naming the file, nothing recorded.
    let junk = w.join("junk.tar");
    std::fs::write(&junk, b"not a tar at all").unwrap();
    let before = ok(r, &["images", "-q"]);
    let o = cv(r, &["load", "-i", junk.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("junk.tar"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(ok(r, &["images", "-q"]), before);
    assert_eq!(count(&r.join("ingest")), 0);
}

#[test]
fn pull_killed_half_way_leaves_no_corrupt_state() {
    require_root();
    let reg = TestRegistry::start(RegistryAuth::Anonymous);
    reg.push_random_image("big:v1", &[8192], false);
    // Slow the transfer down (8 MiB/s) so the pull can be caught half way.
    let proxy = FlakyProxy::start(
        &reg.addr,
        Faults {
            rate: Some(8 << 20),
            ..Default::default()
        },
    );
    let root = temp_root();
    let r = root.path();
    let image = format!("{}/big:v1", proxy.addr);

    let mut child = Command::new(env!("CARGO_BIN_EXE_cv"))
        .arg("--image-root")
        .arg(r)
        .args(["pull", "-q", &image])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the layer is partly downloaded, then SIGKILL.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut killed_mid = false;
    while std::time::Instant::now() < deadline {
        let partial = std::fs::read_dir(r.join("ingest"))
            .map(|rd| {
                rd.flatten()
                    .any(|e| e.metadata().map(|m| m.len() > (1 << 20)).unwrap_or(false))
            })
            .unwrap_or(false);
        if partial {
            child.kill().unwrap();
            killed_mid = true;
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let _ = child.kill();
    child.wait().unwrap();
    assert!(killed_mid, "the pull finished before it could be killed");

    // No reference recorded; every visible blob matches its name.
    assert_eq!(ok(r, &["images", "-q"]), "");
    let store = ImageStore::open(r).unwrap();
    for (d, _) in store.blobs().list().unwrap() {
        let data = std::fs::read(store.blobs().path(&d)).unwrap();
        assert_eq!(Digest::of(&data), d, "corrupt blob visible");
    }
    // The next pull completes.
    ok(r, &["pull", "-q", &image]);
    let layers = store.rootfs_layers(&image).unwrap();
    assert_eq!(
        std::fs::metadata(layers[0].join("layer1.bin"))
            .unwrap()
            .len(),
        8192 << 10
    );
    // And prune clears the killed pull's leftovers.
    ok(r, &["image", "prune", "-a", "-f"]);
    assert_eq!(count(&r.join("ingest")), 0);
    assert_eq!(count(&r.join("layers/tmp")), 0);
    assert_eq!(count(&r.join("blobs/sha256")), 0);
}

/// Progress bars are drawn on a terminal (a pty made by `script`) and
/// nothing is written to stderr otherwise.
#[test]
fn progress_bars_only_on_a_terminal() {
    require_root();
    let reg = TestRegistry::start(RegistryAuth::Anonymous);
    reg.push_random_image("p:v1", &[1024], false);
    let proxy = FlakyProxy::start(
        &reg.addr,
        Faults {
            rate: Some(4 << 20),
            ..Default::default()
        },
    );
    let image = format!("{}/p:v1", proxy.addr);
    let root = temp_root();
    let o = cv(root.path(), &["pull", &image]);
    assert!(o.status.success());
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("Status: Downloaded"));

    let root2 = temp_root();
    let cmd = format!(
        "{} --image-root {} pull {image}",
        env!("CARGO_BIN_EXE_cv"),
        root2.path().display()
    );
    let o = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let tty = String::from_utf8_lossy(&o.stdout);
    assert!(
        tty.contains("=>") && tty.contains(" MiB") && tty.contains("done"),
        "{tty}"
    );
}

/// An image used by a container (`cv create`) survives `image prune -a`
/// and `rmi` (which names the container); after `cv rm` it goes.
#[test]
fn images_used_by_containers_are_kept() {
    require_root();
    let reg = TestRegistry::start(RegistryAuth::Anonymous);
    reg.push_test_images("busybox");
    let images = temp_root();
    let state = temp_root();
    let r = images.path();
    let image = format!("{}/busybox:multi", reg.addr);
    ok(r, &["pull", "-q", &image]);
    let with_state = |args: &[&str]| {
        let mut v = vec!["--root", state.path().to_str().unwrap()];
        v.extend_from_slice(args);
        cv(r, &v)
    };
    let o = with_state(&["create", &image, "true"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let id = String::from_utf8_lossy(&o.stdout).trim().to_string();

    let o = with_state(&["rmi", &image]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("in use") && err.contains(&id[..12]), "{err}");
    ok(r, &["image", "prune", "-a", "-f"]);
    let listed = ok(r, &["images", "--format", "{{.Tag}}"]);
    assert!(listed.lines().any(|l| l == "multi"), "{listed}");
    assert_eq!(count(&r.join("layers/sha256")), 3);

    let o = with_state(&["rm", &id]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    ok(r, &["image", "prune", "-a", "-f"]);
    assert_eq!(ok(r, &["images", "-q"]), "");
    assert_eq!(count(&r.join("layers/sha256")), 0);
}
