//! `cv run/create --storage-opt size=` (docker's flag for the writable
//! layer): bad values and a filesystem that cannot enforce a size are
//! refused with cv's own exit code (125), naming the flag and what the
//! filesystem lacks, and leave nothing behind. The bound itself (a
//! project quota on the layer, filled with dd in a container until the
//! kernel refuses) is tested where the kernel has quotas:
//! `containerv/tests/quota_fs.rs` in the VM (tools/cgroup2-vm/run-tests.sh).

mod common;

use common::Cv;

const IMG: &str = "containerv/busybox";

/// Entries of the engine's containers directory (made or half-made).
fn container_dirs(cv: &Cv) -> Vec<String> {
    std::fs::read_dir(cv.engine_root().join("containers"))
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn bad_storage_opts_are_refused_by_name_and_make_nothing() {
    let cv = Cv::new();
    for (opt, says) in [
        ("size=abc", "not a positive size"),
        ("size=0", "not a positive size"),
        ("size", "KEY=VALUE"),
        ("overlay2.size=1g", "unknown option"),
    ] {
        for cmd in ["run", "create"] {
            let o = cv.run(&[cmd, "--storage-opt", opt, IMG, "true"]);
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(125), "{cmd} {opt}: {err}");
            assert!(
                err.contains("--storage-opt") && err.contains(says),
                "{cmd} {opt}: {err}"
            );
            assert!(cv.ids().is_empty(), "{opt} left containers {:?}", cv.ids());
            assert!(
                container_dirs(&cv).is_empty(),
                "{opt} left {:?}",
                container_dirs(&cv)
            );
        }
    }
}

#[test]
fn a_size_where_the_filesystem_cannot_enforce_it_is_refused() {
    let cv = Cv::new();
    cv.ok(&["ps", "-a"]); // makes the root
    let containers = cv.engine_root().join("containers");
    std::fs::create_dir_all(&containers).unwrap();
    match containerv::linux::quota::supported(&containers) {
        Ok(()) => {
            // A host with project quotas: taken, recorded and shown.
            let id = cv.run_d(&["--storage-opt", "size=8m", IMG, "sleep", "30"]);
            let o = cv.inspect(&id, "{{json .HostConfig.StorageOpt}}");
            assert_eq!(o.trim(), r#"{"size":"8388608"}"#);
            cv.ok(&["rm", "-f", &id]);
            cv.assert_gone(&id);
        }
        Err(why) => {
            println!("the engine's filesystem: {why}");
            for cmd in ["run", "create"] {
                let o = cv.run(&[cmd, "--storage-opt", "size=1g", IMG, "true"]);
                let err = String::from_utf8_lossy(&o.stderr);
                assert_eq!(o.status.code(), Some(125), "{err}");
                assert!(
                    err.contains("--storage-opt")
                        && err.contains("size=1g")
                        && err.contains("pquota")
                        && err.contains("prjquota"),
                    "{err}"
                );
                // The same words as the volume refusal: what it lacks.
                assert!(err.contains(&why), "{err}\nwants: {why}");
                assert!(cv.ids().is_empty() && container_dirs(&cv).is_empty());
            }
        }
    }
    // Without the flag the writable layer is where it always was.
    let id = cv.run_d(&[IMG, "sh", "-c", "echo x > /f"]);
    cv.ok(&["wait", &id]);
    assert!(cv
        .engine_root()
        .join("containers")
        .join(&id)
        .join("upper/f")
        .exists());
    assert_eq!(
        cv.inspect(&id, "{{json .HostConfig.StorageOpt}}").trim(),
        "null"
    );
    cv.ok(&["rm", &id]);
}
