//! Corrupt records and blobs. A running container whose state.json (and
//! then config.json) is damaged stays visible (`ps -a` shows the error),
//! makes `volume rm`/`volume prune` refuse rather than delete its data,
//! and is removable with `rm -f`, which still stops its processes. An
//! image config edited in the store makes `cv run` fail clearly.

mod common;
mod faults_common;

use common::Cv;
use faults_common::{assert_nothing_left, init_pid, wait_gone};

#[test]
fn a_damaged_record_fails_safe_and_is_removable() {
    let mut cv = Cv::new();
    // A private image store: its image must survive rmi while the
    // damaged container may still use it.
    cv.images = cv.root.path().join("images");
    let vol = format!("precious{}", std::process::id());
    cv.ok(&["volume", "create", &vol]);
    let id = cv.run_d(&[
        "--name",
        "holder",
        "-v",
        &format!("{vol}:/data"),
        "containerv/busybox",
        "sh",
        "-c",
        "echo keep > /data/f; sleep 300",
    ]);
    let pid = init_pid(&cv, "holder");
    assert!(pid > 0);
    let dir = cv.engine_root().join("containers").join(&id);

    // state.json damaged: the config still says which volume it uses.
    std::fs::write(dir.join("state.json"), b"{\"Status\": garbage").unwrap();
    let ps = cv.ok(&["ps", "-a"]);
    assert!(
        ps.contains("holder") && ps.contains("unreadable record") && ps.contains("state.json"),
        "{ps}"
    );
    let err = cv.fails(&["volume", "rm", &vol]);
    assert!(err.contains("holder"), "{err}");
    cv.ok(&["volume", "prune", "-f", "-a"]);
    assert!(cv.ok(&["volume", "ls", "-q"]).contains(&vol));

    // config.json damaged too: nobody can tell who uses what, so nothing
    // that might be in use is removed.
    std::fs::write(dir.join("config.json"), b"\0\0not json").unwrap();
    let ps = cv.ok(&["ps", "-a"]);
    assert!(ps.contains(&id[..12]) && ps.contains("holder"), "{ps}");
    let err = cv.fails(&["volume", "rm", &vol]);
    assert!(
        err.contains("cannot tell whether") && err.contains(&id[..12]),
        "{err}"
    );
    let err = cv.fails(&["volume", "prune", "-f", "-a"]);
    assert!(err.contains("cannot tell whether"), "{err}");
    cv.fails(&["rmi", "containerv/busybox"]);
    cv.ok(&["image", "prune", "-a", "-f"]);
    assert!(cv.ok(&["images"]).contains("containerv/busybox"));
    let out = cv.run(&["system", "check"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("unreadable record"));
    // The data is intact, the process still runs.
    let data = std::fs::read_to_string(cv.engine_root().join("volumes").join(&vol).join("_data/f"))
        .unwrap();
    assert_eq!(data, "keep\n");
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());

    // rm without -f refuses; rm -f by name stops and removes it.
    let err = cv.fails(&["rm", "holder"]);
    assert!(err.contains("unreadable"), "{err}");
    cv.ok(&["rm", "-f", "holder"]);
    wait_gone(pid, std::time::Duration::from_secs(3));
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
    assert_eq!(cv.ok(&["ps", "-a", "-q"]).trim(), "");
    // Now the volume can go.
    cv.ok(&["volume", "rm", &vol]);
    cv.ok(&["system", "check"]);
    assert_nothing_left(&cv, &[id]);
}

#[test]
fn an_edited_image_config_is_refused() {
    let mut cv = Cv::new();
    // A private image store: the edit must not touch other tests' images.
    let images = cv.root.path().join("images");
    cv.images = images.clone();
    let cmd = |args: &[&str]| {
        let o = cv.run(args);
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (ok, err) = cmd(&["run", "--rm", "containerv/busybox", "true"]);
    assert!(ok, "{err}");
    // Find the config blob: the one JSON blob with "rootfs".
    let blobs = images.join("blobs/sha256");
    let config = std::fs::read_dir(&blobs)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            std::fs::read(p)
                .ok()
                .filter(|b| b.len() < 64 * 1024)
                .is_some_and(|b| String::from_utf8_lossy(&b).contains("\"diff_ids\""))
        })
        .expect("config blob");
    let text = std::fs::read_to_string(&config).unwrap();
    // What an attacker with write access to the store would do: change
    // what runs.
    let edited = text.replacen(
        "\"config\":{",
        "\"config\":{\"Entrypoint\":[\"/bin/false\"],",
        1,
    );
    assert_ne!(edited, text, "{text}");
    std::fs::write(&config, edited).unwrap();
    let (ok, err) = cmd(&["run", "--rm", "containerv/busybox", "true"]);
    assert!(!ok);
    assert!(
        err.contains("digest mismatch") && err.contains("damaged or edited"),
        "{err}"
    );
    assert_nothing_left(&cv, &[]);
}
