//! The local driver's options through `cv` (`volume create --opt`, `run
//! --mount …,volume-opt=`): bad options are refused naming the option and
//! nothing is made (no volume, no container); a size where the engine's
//! filesystem cannot enforce it is refused saying what it lacks. The
//! kernel's enforcement of a size is tested on real xfs and ext4 by
//! crates/containerv/tests/quota_fs.rs (in the VM: this host's kernel has
//! no quotas).

mod common;

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
