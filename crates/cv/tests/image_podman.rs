//! Image interchange with podman, both ways, both archive formats:
//! `podman save` (docker-archive, its default, and oci-archive, and a
//! multi-image docker-archive) → `cv load` / `ImageStore::load` → the same
//! config digest, diff-ids, config and tags, and a container runs on it;
//! `cv save` (oci-archive, docker-archive, several images in one archive,
//! to stdout) → `podman load` → `podman image inspect` shows the same
//! image and `podman run` (runc) sees the files. A tag with a registry
//! host and port (`127.0.0.1:5000/x:y`) survives cv → podman → cv.
//!
//! Images come from the in-repo registry on 127.0.0.1 (3 layers with a
//! whiteout and a replaced directory; a Docker v2s2 image). podman runs
//! with vfs storage under a temp dir, the cgroupfs manager, the file
//! events logger, runc, no network, and a private tmpfs on /run in the
//! test thread's own mount namespace (ENVIRONMENT.md: it writes to
//! /run/containers whatever it is told). Each test checks that no podman
//! storage, registry, container, cgroup, mount or temp dir is left.

#![cfg(target_os = "linux")]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use containerv_image::ImageStore;
use containerv_testutil::peer::{describe, private_run, remove_cgroups, run_ok, PodmanConfig};
use containerv_testutil::registry::{RegistryAuth, TestRegistry};
use containerv_testutil::{
    cgroups_named, mounts_mentioning, processes_mentioning, require_root, temp_root, unique_id,
    TempRoot,
};
use serde_json::Value;

/// `cv` with its own image store and container state.
struct Cv {
    images: TempRoot,
    state: TempRoot,
}

impl Cv {
    fn new() -> Cv {
        Cv {
            images: temp_root(),
            state: temp_root(),
        }
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_cv"));
        c.arg("--image-root")
            .arg(self.images.path())
            .arg("--root")
            .arg(self.state.path());
        c
    }

    fn ok(&self, args: &[&str]) -> String {
        run_ok(self.cmd().args(args))
    }

    /// `cv image inspect` of one image, docker's shape.
    fn inspect(&self, image: &str) -> Value {
        let v: Value = serde_json::from_str(&self.ok(&["image", "inspect", image])).unwrap();
        v[0].clone()
    }

    /// A real container on `image` (entrypoint /bin/sh) runs `script`.
    /// No network: the test thread has a private /run (for podman), where
    /// the engine's claim of its default bridge would vanish with the test
    /// and leave the bridge on the host.
    fn run_sh(&self, image: &str, script: &str) -> String {
        self.ok(&["run", "--rm", "--network", "none", image, "-c", script])
    }

    /// Nothing of cv's left: no container, no mount of either root.
    fn assert_clean(&self) {
        assert_eq!(self.ok(&["ps", "-a", "-q"]).trim(), "");
        for root in [self.images.path(), self.state.path()] {
            let root = root.to_str().unwrap();
            assert!(mounts_mentioning(root).is_empty(), "{root} still mounted");
            assert!(processes_mentioning(root).is_empty());
        }
    }
}

/// podman with private storage and config under a temp dir.
struct Podman {
    conf: PodmanConfig,
    /// The cgroup parent of every container this podman runs.
    parent: String,
}

impl Podman {
    /// Call only after [`private_run`] in this thread.
    fn new() -> Podman {
        Podman {
            conf: PodmanConfig::new("", "runtime = \"runc\"\n"),
            parent: unique_id("cvimgpodman"),
        }
    }

    fn cmd(&self) -> Command {
        let mut c = self.conf.cmd();
        c.env("TMPDIR", self.conf.dir.path());
        c
    }

    fn ok(&self, args: &[&str]) -> String {
        run_ok(self.cmd().args(args))
    }

    fn inspect(&self, image: &str) -> Value {
        let v: Value = serde_json::from_str(&self.ok(&["image", "inspect", image])).unwrap();
        v[0].clone()
    }

    fn run_sh(&self, image: &str, script: &str) -> String {
        self.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "--cgroup-parent",
            &self.parent,
            image,
            "-c",
            script,
        ])
    }

    /// Removes every container and image, then the storage dir, and
    /// checks nothing is left: no process, cgroup, mount or directory.
    fn finish(self) {
        let dir = self.conf.dir.path().to_path_buf();
        let parent = self.parent.clone();
        drop(self);
        let d = dir.to_str().unwrap();
        assert!(!dir.exists(), "podman storage left: {d}");
        assert!(
            mounts_mentioning(d).is_empty(),
            "{:?}",
            mounts_mentioning(d)
        );
        assert!(processes_mentioning(&parent).is_empty());
        assert!(
            cgroups_named(&parent).is_empty(),
            "{:?}",
            cgroups_named(&parent)
        );
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.cmd().args(["rm", "-a", "-f", "-t", "0"]).output();
        let _ = self.cmd().args(["system", "reset", "-f"]).output();
        // podman's cgroups (the parent and conmon's below it), deepest first.
        remove_cgroups(&self.parent);
        // `TempRoot` removes the storage directory.
    }
}

/// The registry with the test images; stopped (and checked gone) by
/// [`stop_registry`].
fn registry() -> TestRegistry {
    let reg = TestRegistry::start(RegistryAuth::Anonymous);
    reg.push_test_images("busybox");
    reg
}

fn stop_registry(reg: TestRegistry) {
    let pids = reg.pids().to_vec();
    let state = reg.state.clone();
    drop(reg);
    assert!(!state.exists(), "registry state left: {}", state.display());
    let t = std::time::Instant::now();
    for pid in pids {
        // Gone, or a zombie waiting for its reaper.
        while std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|s| !s.rsplit(')').next().unwrap_or("").trim().starts_with('Z'))
        {
            assert!(t.elapsed().as_secs() < 5, "registry pid {pid} still runs");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

fn string_list(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

/// What both tools agree an image is: config digest (podman's image id),
/// diff-ids, entrypoint.
#[derive(Debug, PartialEq)]
struct Identity {
    config: String,
    layers: Vec<String>,
    entrypoint: Vec<String>,
}

fn podman_identity(p: &Podman, image: &str) -> Identity {
    let v = p.inspect(image);
    Identity {
        config: format!("sha256:{}", v["Id"].as_str().unwrap()),
        layers: string_list(&v["RootFS"]["Layers"]),
        entrypoint: string_list(&v["Config"]["Entrypoint"]),
    }
}

fn cv_identity(cv: &Cv, image: &str) -> Identity {
    let v = cv.inspect(image);
    Identity {
        config: v["Id"].as_str().unwrap().to_string(),
        layers: string_list(&v["RootFS"]["Layers"]),
        entrypoint: string_list(&v["Config"]["Entrypoint"]),
    }
}

/// The files of the `multi` test image, as a shell inside it sees them:
/// layer 3 added /etc/hello, replaced /opt/d by a dir holding only c, and
/// whited out layer 2's /etc/motd.
const MULTI_CHECK: &str = "cat /etc/hello /etc/two; ls /opt/d; test -e /etc/motd || echo motd-gone";
const MULTI_SEES: &str = "layer 3\ntwo\nc\nmotd-gone\n";

/// `podman save` in both formats, and a multi-image docker-archive, load
/// into cv (CLI and library) as the same images, and containers run.
#[test]
fn podman_save_then_cv_load() {
    require_root();
    let reg = registry();
    let a = reg.addr.clone();
    let multi = format!("{a}/busybox:multi");
    let latest = format!("{a}/busybox:latest");
    private_run();
    let p = Podman::new();
    p.ok(&["pull", "-q", "--tls-verify=false", &multi]);
    p.ok(&["pull", "-q", "--tls-verify=false", &latest]);
    p.ok(&["tag", &multi, "127.0.0.1:5000/x:y"]);
    let want = podman_identity(&p, &multi);
    assert_eq!(want.layers.len(), 3, "{want:?}");
    let work = p.conf.dir.path().to_path_buf();

    for format in ["docker-archive", "oci-archive"] {
        let file = work.join(format!("{format}.tar"));
        p.ok(&[
            "save",
            "-q",
            "--format",
            format,
            "-o",
            file.to_str().unwrap(),
            &multi,
        ]);

        // The CLI: the name podman wrote, the same image, a container.
        let cv = Cv::new();
        let out = cv.ok(&["load", "-i", file.to_str().unwrap()]);
        assert_eq!(out, format!("Loaded image: {multi}\n"), "{format}");
        assert_eq!(cv_identity(&cv, &multi), want, "{format}");
        let v = cv.inspect(&multi);
        assert_eq!(
            string_list(&v["Config"]["Env"]),
            ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]
        );
        assert_eq!(cv.run_sh(&multi, MULTI_CHECK), MULTI_SEES, "{format}");
        cv.assert_clean();

        // The library: import, then the unpacked layers hold the files.
        let lib = temp_root();
        let store = ImageStore::open(lib.path()).unwrap();
        assert_eq!(store.load(&file).unwrap(), std::slice::from_ref(&multi));
        let layers = store.rootfs_layers(&multi).unwrap();
        assert_eq!(layers.len(), 3, "{layers:?}");
        // Topmost first: layer 3's file and whiteout, layer 2's files, busybox.
        assert_eq!(
            std::fs::read_to_string(layers[0].join("etc/hello")).unwrap(),
            "layer 3\n"
        );
        assert!(is_whiteout(&layers[0].join("etc/motd")), "{format}");
        assert!(layers[1].join("opt/d/a").exists());
        assert!(layers[2].join("bin/busybox").exists());
        let rc = store.run_config(&multi).unwrap();
        assert_eq!(rc.entrypoint, Some(vec!["/bin/sh".to_string()]));
    }

    // Several images in one docker-archive (podman save -m), read from
    // stdin as `docker load` does: every tag, host:port ones included.
    let file = work.join("multi-image.tar");
    p.ok(&[
        "save",
        "-q",
        "-m",
        "-o",
        file.to_str().unwrap(),
        &multi,
        "127.0.0.1:5000/x:y",
        &latest,
    ]);
    let cv = Cv::new();
    let o = cv
        .cmd()
        .arg("load")
        .stdin(std::fs::File::open(&file).unwrap())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", describe(&o));
    let mut loaded: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    loaded.sort();
    let mut expect = vec![
        format!("Loaded image: {multi}"),
        format!("Loaded image: {latest}"),
        "Loaded image: 127.0.0.1:5000/x:y".to_string(),
    ];
    expect.sort();
    assert_eq!(loaded, expect);
    assert_eq!(cv_identity(&cv, "127.0.0.1:5000/x:y"), want);
    assert_eq!(cv_identity(&cv, &latest), podman_identity(&p, &latest));
    assert_eq!(cv_identity(&cv, &latest).layers.len(), 1);
    assert_eq!(cv.run_sh("127.0.0.1:5000/x:y", MULTI_CHECK), MULTI_SEES);
    cv.assert_clean();

    p.finish();
    stop_registry(reg);
}

/// `cv save` in both formats (and several images to stdout) loads into
/// podman as the same images; podman runs them; a host:port tag comes
/// back to cv unchanged.
#[test]
fn cv_save_then_podman_load() {
    require_root();
    let reg = registry();
    let a = reg.addr.clone();
    let multi = format!("{a}/busybox:multi");
    let docker = format!("{a}/busybox:latest-docker");
    let cv = Cv::new();
    cv.ok(&["pull", "-q", &multi]);
    cv.ok(&["pull", "-q", &docker]);
    cv.ok(&["tag", &multi, "127.0.0.1:5000/x:y"]);
    let want = cv_identity(&cv, "127.0.0.1:5000/x:y");
    assert_eq!(want.layers.len(), 3);
    stop_registry(reg);

    private_run();
    let p = Podman::new();
    let work = p.conf.dir.path().to_path_buf();
    for format in ["oci-archive", "docker-archive"] {
        let file = work.join(format!("cv-{format}.tar"));
        cv.ok(&[
            "save",
            "--format",
            format,
            "-o",
            file.to_str().unwrap(),
            "127.0.0.1:5000/x:y",
        ]);
        let out = p.ok(&["load", "-q", "-i", file.to_str().unwrap()]);
        assert!(
            out.contains("Loaded image: 127.0.0.1:5000/x:y"),
            "{format}: {out}"
        );
        assert_eq!(podman_identity(&p, "127.0.0.1:5000/x:y"), want, "{format}");
        assert_eq!(
            p.run_sh("127.0.0.1:5000/x:y", MULTI_CHECK),
            MULTI_SEES,
            "{format}"
        );
        p.ok(&["rmi", "-f", "127.0.0.1:5000/x:y"]);
    }

    // Several images, one of them under two names, as one docker-archive
    // on stdout (docker's `save` without -o).
    let file = work.join("cv-several.tar");
    let o = cv
        .cmd()
        .args([
            "save",
            "--format",
            "docker-archive",
            &multi,
            "127.0.0.1:5000/x:y",
            &docker,
        ])
        .stdout(Stdio::from(std::fs::File::create(&file).unwrap()))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", describe(&o));
    let manifest = tar_member(&file, "manifest.json");
    let entries: Value = serde_json::from_slice(&manifest).unwrap();
    assert_eq!(entries.as_array().unwrap().len(), 2, "{entries}");
    assert_eq!(
        string_list(&entries[0]["RepoTags"]),
        [multi.clone(), "127.0.0.1:5000/x:y".to_string()]
    );
    p.ok(&["load", "-q", "-i", file.to_str().unwrap()]);
    let mut names: Vec<String> = p
        .ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .lines()
        .map(str::to_string)
        .collect();
    names.sort();
    let mut expect = vec![multi.clone(), docker.clone(), "127.0.0.1:5000/x:y".into()];
    expect.sort();
    assert_eq!(names, expect);
    assert_eq!(podman_identity(&p, &multi), want);
    assert_eq!(podman_identity(&p, &docker), cv_identity(&cv, &docker));
    assert_eq!(
        p.run_sh(&docker, "cat /etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\n"
    );

    // And back: podman's docker-archive of the host:port tag into a fresh cv.
    let back = work.join("back.tar");
    p.ok(&[
        "save",
        "-q",
        "-o",
        back.to_str().unwrap(),
        "127.0.0.1:5000/x:y",
    ]);
    let cv2 = Cv::new();
    assert_eq!(
        cv2.ok(&["load", "-i", back.to_str().unwrap()]),
        "Loaded image: 127.0.0.1:5000/x:y\n"
    );
    assert_eq!(cv_identity(&cv2, "127.0.0.1:5000/x:y"), want);
    let listed = cv2.ok(&["images", "--format", "{{.Repository}} {{.Tag}}"]);
    assert_eq!(listed, "127.0.0.1:5000/x y\n");

    p.finish();
    cv.assert_clean();
    cv2.assert_clean();
}

/// Bad input: neither an archive cv knows nor a readable file; saving an
/// unknown image. Clear errors, nothing written, nothing recorded.
#[test]
fn bad_archives_are_refused_cleanly() {
    require_root();
    let cv = Cv::new();
    let dir = temp_root();
    let junk = dir.path().join("junk.tar");
    std::fs::write(&junk, b"not a tar archive at all").unwrap();
    let o = cv
        .cmd()
        .args(["load", "-i", junk.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("junk.tar"), "{err}");
    let o = cv
        .cmd()
        .args(["load"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("index.json") && err.contains("stdin"), "{err}");
    let out = dir.path().join("out.tar");
    let o = cv
        .cmd()
        .args(["save", "-o", out.to_str().unwrap(), "nosuch:tag"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("nosuch:tag"));
    assert!(!out.exists(), "a failed save left {}", out.display());
    assert_eq!(cv.ok(&["images", "-q"]), "");
    cv.assert_clean();
}

/// An overlay whiteout: a 0/0 character device.
fn is_whiteout(p: &Path) -> bool {
    use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _};
    std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_char_device() && m.rdev() == 0)
}

/// One member of a tar file, read with the system's tar.
fn tar_member(file: &PathBuf, name: &str) -> Vec<u8> {
    let o = Command::new("tar")
        .arg("-xOf")
        .arg(file)
        .arg(name)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", describe(&o));
    o.stdout
}
