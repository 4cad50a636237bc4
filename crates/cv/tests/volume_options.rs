//! The local driver's options through `cv` (`volume create --opt`, `run
//! --mount …,volume-opt=`): tmpfs, bind and image-file volumes mounted for
//! their first running user and unmounted after the last (also when a
//! monitor was killed), the data of a bind never deleted by `volume rm`;
//! options that would hand the host to a container refused (binds of /,
//! /etc or the engine's state, the host's root device, suid/dev, proc),
//! also when the path changed after the create; bad options refused naming
//! the option with nothing made; a size where the engine's filesystem
//! cannot enforce it refused saying what it lacks. The
//! kernel's enforcement of a size is tested on real xfs and ext4 by
//! crates/containerv/tests/quota_fs.rs (in the VM: this host's kernel has
//! no quotas).

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::Cv;

const IMG: &str = "containerv/busybox";

/// Volumes (made or being made) in this test's engine root.
fn volumes(cv: &Cv) -> Vec<String> {
    std::fs::read_dir(cv.engine_root().join("volumes"))
        .map(|r| {
            r.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n != ".lock")
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn bad_volume_options_name_the_option_and_make_nothing() {
    let cv = Cv::new();
    for (opts, want) in [
        (&["size=abc"][..], "--opt size \"abc\""),
        (&["size="][..], "--opt size"),
        (&["colour=red"][..], "invalid option \"colour\""),
        (&["type=tmpfs"][..], "missing required option \"device\""),
        (
            &["o=bind", "device=/x"][..],
            "missing required option \"type\"",
        ),
        (&["novalue"][..], "KEY=VALUE"),
    ] {
        let mut args = vec!["volume", "create"];
        for o in opts {
            args.extend(["--opt", o]);
        }
        args.push("v1");
        let o = cv.run(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        // docker's CLI exits 1 when the engine refuses a volume create.
        assert_eq!(o.status.code(), Some(1), "{opts:?}: {err}");
        assert!(err.contains(want), "{opts:?}: {want:?} in {err}");
        assert!(volumes(&cv).is_empty(), "{opts:?} left {:?}", volumes(&cv));
    }
    // Through run --mount: cv's own failure (125), no container either.
    for m in [
        "type=volume,src=v2,dst=/d,volume-opt=size=abc",
        "type=volume,src=v2,dst=/d,volume-opt=bogus=1",
        "type=bind,src=/tmp,dst=/d,volume-opt=size=1m",
    ] {
        let o = cv.run(&["run", "--rm", "--mount", m, IMG, "true"]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(125), "{m}: {err}");
        assert!(
            err.contains("size") || err.contains("bogus") || err.contains("volume-opt"),
            "{m}: {err}"
        );
        assert!(volumes(&cv).is_empty(), "{m} left {:?}", volumes(&cv));
        assert!(cv.ids().is_empty(), "{m} left containers {:?}", cv.ids());
    }
}

#[test]
fn a_size_where_the_filesystem_cannot_enforce_it_is_refused() {
    let cv = Cv::new();
    let root = cv.engine_root();
    cv.ok(&["volume", "ls"]); // makes the root
    let why = match containerv::linux::quota::supported(&root.join("volumes")) {
        Ok(()) => {
            // A host with project quotas: the size is taken and shown.
            cv.ok(&["volume", "create", "--opt", "size=10m", "q1"]);
            let o = cv.ok(&["volume", "inspect", "-f", "{{json .Options}}", "q1"]);
            assert_eq!(o.trim(), r#"{"size":"10m"}"#);
            let df = cv.ok(&["system", "df", "-v"]);
            assert!(df.contains("LIMIT") && df.contains("10MiB"), "{df}");
            cv.ok(&["volume", "rm", "q1"]);
            return;
        }
        Err(why) => why,
    };
    println!("the engine's filesystem: {why}");
    let o = cv.run(&["volume", "create", "--opt", "size=10m", "q1"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("--opt size \"10m\"") && err.contains("pquota") && err.contains("prjquota"),
        "{err}"
    );
    assert!(volumes(&cv).is_empty(), "{:?}", volumes(&cv));
    let o = cv.run(&[
        "run",
        "--rm",
        "--mount",
        "type=volume,src=q2,dst=/d,volume-opt=size=10m",
        IMG,
        "true",
    ]);
    assert_eq!(o.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&o.stderr).contains("prjquota"));
    assert!(volumes(&cv).is_empty() && cv.ids().is_empty());
}

fn mounted(p: &Path) -> bool {
    let p = std::fs::canonicalize(p).unwrap();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| l.split(' ').nth(4) == Some(p.to_str().unwrap()))
}

fn wait_unmounted(p: &Path) {
    let end = Instant::now() + Duration::from_secs(5);
    while mounted(p) {
        assert!(Instant::now() < end, "{} is still mounted", p.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn data(cv: &Cv, v: &str) -> std::path::PathBuf {
    cv.engine_root().join("volumes").join(v).join("_data")
}

#[test]
fn tmpfs_volume_is_mounted_for_its_users_and_unmounted_after_the_last() {
    let cv = Cv::new();
    cv.ok(&[
        "volume",
        "create",
        "--opt",
        "type=tmpfs",
        "--opt",
        "device=tmpfs",
        "--opt",
        "o=size=1m,uid=1000",
        "t1",
    ]);
    let inspect = cv.ok(&["volume", "inspect", "t1"]);
    let v: serde_json::Value = serde_json::from_str(&inspect).unwrap();
    assert_eq!(v[0]["Driver"], "local");
    assert_eq!(
        v[0]["Options"],
        serde_json::json!({"device": "tmpfs", "o": "size=1m,uid=1000", "type": "tmpfs"})
    );
    let d = data(&cv, "t1");
    assert!(!mounted(&d), "mounted before any container uses it");
    let a = cv.run_d(&["-v", "t1:/d", IMG, "sleep", "300"]);
    assert!(mounted(&d));
    // The options hold inside: owner, size, and no set-uid.
    let out = cv.ok(&[
        "exec", &a, "sh", "-c",
        "stat -c %u /d; grep ' /d ' /proc/mounts; dd if=/dev/zero of=/d/f bs=1k count=2048 2>&1; true",
    ]);
    assert!(out.starts_with("1000\n"), "{out}");
    assert!(out.contains("nosuid") && out.contains("nodev"), "{out}");
    assert!(out.contains("No space left"), "{out}");
    let b = cv.run_d(&["-v", "t1:/d", IMG, "sleep", "300"]);
    cv.ok(&["stop", "-t", "0", &a]);
    assert!(mounted(&d), "unmounted while another container uses it");
    assert!(cv.ok(&["exec", &b, "ls", "/d"]).contains('f'));
    cv.ok(&["stop", "-t", "0", &b]);
    wait_unmounted(&d);
    // A killed monitor: rm -f does its part, the volume is unmounted.
    let c = cv.run_d(&["-v", "t1:/d", IMG, "sleep", "300"]);
    assert!(mounted(&d));
    for pid in common::monitors_of(&c) {
        // SAFETY: SIGKILL to the monitor this test started.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    cv.ok(&["rm", "-f", &c, &a, &b]);
    wait_unmounted(&d);
    cv.ok(&["volume", "rm", "t1"]);
    assert!(volumes(&cv).is_empty());
}

#[test]
fn bind_and_image_volumes_keep_their_data() {
    let cv = Cv::new();
    let host = cv.root.path().join("hostdata");
    std::fs::create_dir(&host).unwrap();
    std::fs::write(host.join("keep"), "host file").unwrap();
    let hs = host.to_str().unwrap();
    cv.ok(&[
        "volume",
        "create",
        "--opt",
        "type=none",
        "--opt",
        "o=bind",
        "--opt",
        &format!("device={hs}"),
        "b1",
    ]);
    let out = cv.ok(&[
        "run",
        "--rm",
        "-v",
        "b1:/d",
        IMG,
        "sh",
        "-c",
        "echo hi > /d/new; ls /d",
    ]);
    assert!(out.contains("keep") && out.contains("new"), "{out}");
    assert_eq!(std::fs::read_to_string(host.join("new")).unwrap(), "hi\n");
    wait_unmounted(&data(&cv, "b1"));
    // volume rm never deletes through the bind.
    cv.ok(&["volume", "rm", "b1"]);
    assert!(host.join("keep").exists() && host.join("new").exists());

    // An ext4 image file the user names: a loop device of its own.
    let img = cv.root.path().join("disk.img");
    std::fs::File::create(&img)
        .unwrap()
        .set_len(16 << 20)
        .unwrap();
    let st = std::process::Command::new("mkfs.ext4")
        .args(["-q", "-F"])
        .arg(&img)
        .status()
        .unwrap();
    assert!(st.success());
    let is = img.to_str().unwrap();
    cv.ok(&[
        "volume",
        "create",
        "--opt",
        "type=ext4",
        "--opt",
        &format!("device={is}"),
        "e1",
    ]);
    let out = cv.ok(&[
        "run",
        "--rm",
        "-v",
        "e1:/d",
        IMG,
        "sh",
        "-c",
        "echo x > /d/x; grep ' /d ' /proc/mounts",
    ]);
    assert!(out.contains("ext4") && out.contains("nosuid"), "{out}");
    wait_unmounted(&data(&cv, "e1"));
    // The kernel detaches an autoclear device shortly after the unmount.
    let end = Instant::now() + Duration::from_secs(5);
    loop {
        let loops = std::process::Command::new("losetup")
            .args(["-j", is])
            .output()
            .unwrap();
        if loops.stdout.is_empty() {
            break;
        }
        assert!(
            Instant::now() < end,
            "loop device left: {}",
            String::from_utf8_lossy(&loops.stdout)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = cv.ok(&["run", "--rm", "-v", "e1:/d", IMG, "cat", "/d/x"]);
    assert_eq!(out, "x\n", "the data lives in the image");
    cv.ok(&["volume", "rm", "e1"]);
    assert!(volumes(&cv).is_empty());
}

/// The host's root filesystem's device node.
fn root_device() -> String {
    let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let l = mi
        .lines()
        .find(|l| l.split(' ').nth(4) == Some("/"))
        .unwrap();
    let majmin = l.split(' ').nth(2).unwrap();
    let uevent = std::fs::read_to_string(format!("/sys/dev/block/{majmin}/uevent")).unwrap();
    let name = uevent
        .lines()
        .find_map(|l| l.strip_prefix("DEVNAME="))
        .unwrap();
    format!("/dev/{name}")
}

#[test]
fn volume_options_are_no_way_out() {
    let cv = Cv::new();
    cv.ok(&["volume", "ls"]);
    let root = cv.engine_root();
    let root_s = root.to_str().unwrap();
    let rootdev = root_device();
    let parent = root.parent().unwrap().to_str().unwrap().to_string();
    for (opts, want) in [
        (vec!["type=none", "o=bind", "device=/"], "host's /"),
        (vec!["type=none", "o=bind", "device=/etc"], "/etc"),
        (
            vec!["type=none", "o=bind", "device=/proc/1/root"],
            "--opt device \"/proc/1/root\"",
        ),
        (
            vec!["type=none", "o=bind", &format!("device={root_s}")],
            "engine's state",
        ),
        (
            vec!["type=none", "o=bind", &format!("device={parent}")],
            "engine's state",
        ),
        (
            vec!["type=ext4", &format!("device={rootdev}")],
            "mounted on the host",
        ),
        (
            vec!["type=tmpfs", "device=tmpfs", "o=suid"],
            "\"suid\" is refused",
        ),
        (
            vec!["type=tmpfs", "device=tmpfs", "o=dev"],
            "\"dev\" is refused",
        ),
        (vec!["type=proc", "device=proc"], "not a filesystem"),
        (
            vec!["type=overlay", "device=overlay", "o=lowerdir=/"],
            "not a filesystem",
        ),
    ] {
        let mut args = vec!["volume", "create"];
        for o in &opts {
            args.extend(["--opt", o]);
        }
        args.push("evil");
        let o = cv.run(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{opts:?} was accepted");
        assert!(err.contains(want), "{opts:?}: {want:?} in {err}");
        assert!(volumes(&cv).is_empty(), "{opts:?} left {:?}", volumes(&cv));
    }
    // The attack as a container would ask for it: refused (125), nothing made.
    let o = cv.run(&[
        "run",
        "--rm",
        "--mount",
        "type=volume,src=evil,dst=/host,volume-opt=type=none,volume-opt=o=bind,volume-opt=device=/",
        IMG,
        "cat",
        "/host/etc/shadow",
    ]);
    assert_eq!(o.status.code(), Some(125));
    assert!(volumes(&cv).is_empty() && cv.ids().is_empty());

    // The path a bind volume names is checked again at each mount: made
    // for a harmless directory, then that directory swapped for a link to /.
    let dir = cv.root.path().join("innocent");
    std::fs::create_dir(&dir).unwrap();
    let ds = dir.to_str().unwrap();
    cv.ok(&[
        "volume",
        "create",
        "--opt",
        "type=none",
        "--opt",
        "o=bind",
        "--opt",
        &format!("device={ds}"),
        "sw",
    ]);
    std::fs::remove_dir(&dir).unwrap();
    std::os::unix::fs::symlink("/", &dir).unwrap();
    let o = cv.run(&["run", "--rm", "-v", "sw:/host", IMG, "ls", "/host/etc"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success(),
        "the swapped bind was mounted: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(err.contains("host's /"), "{err}");
    assert!(!mounted(&data(&cv, "sw")));
    cv.ok(&["volume", "rm", "sw"]);
}
