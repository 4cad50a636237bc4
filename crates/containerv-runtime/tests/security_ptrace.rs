//! CVE-2019-5736 with the capability that gets past non-dumpable:
//! a container process holding `CAP_SYS_PTRACE` opens `/proc/1/exe` of a
//! created container's init (still a clone of the runtime), keeps the
//! descriptor until no runtime process is left, then reopens it for
//! writing. The runtime must have re-executed itself from a binary that
//! cannot be written through (a detached read-only mount, or a sealed
//! memfd copy) before entering it, so the write is refused and the host
//! binary is untouched.
//!
//! The runtime under attack is a private copy of the binary, so no other
//! test's process keeps it busy (ETXTBSY would hide the breach).
#![cfg(target_os = "linux")]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use containerv_testutil::{assert_no_leftovers, temp_root};

/// Add `CAP_SYS_PTRACE` to every capability set of the container's process.
fn grant_ptrace(c: &mut serde_json::Value) {
    let caps = c["process"]["capabilities"].as_object_mut().unwrap();
    for set in caps.values_mut() {
        set.as_array_mut().unwrap().push("CAP_SYS_PTRACE".into());
    }
}

/// Bind `host` over the container's /tmp (the shared rootfs is read-only).
fn bind_tmp(c: &mut serde_json::Value, host: &Path) {
    c["mounts"].as_array_mut().unwrap().push(serde_json::json!({
        "destination": "/tmp",
        "type": "bind",
        "source": host,
        "options": ["rbind", "rw"],
    }));
}

/// `bin() --root ROOT ARGS`, asserting success. The container's processes
/// keep what they inherit, so no pipe of ours reaches them (reading it
/// would wait for the container): stdio is /dev/null and a file.
fn run_ok(bin: &Path, root: &Path, args: &[&str]) {
    let err = tempfile_in(root);
    let st = Command::new(bin)
        .arg("--root")
        .arg(root)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err).unwrap())
        .status();
    let msg = std::fs::read_to_string(&err).unwrap_or_default();
    let _ = std::fs::remove_file(&err);
    let st = st.unwrap();
    assert!(st.success(), "{args:?}: {msg}");
}

fn tempfile_in(root: &Path) -> std::path::PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    root.with_extension(format!("stderr-{n}"))
}

fn read_pid(file: &Path) -> i32 {
    std::fs::read_to_string(file)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn wait_for(file: &Path, word: &str) -> String {
    let t = Instant::now();
    loop {
        let s = std::fs::read_to_string(file).unwrap_or_default();
        if s.contains(word) {
            return s;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "{} never said {word:?}: {s:?}",
            file.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

const ATTACK: &str = "exec 3</proc/1/exe || { echo open-failed >/tmp/r; exit 0; }; \
    readlink /proc/1/exe >/tmp/link; echo opened >/tmp/r; \
    while [ ! -e /tmp/go ]; do sleep 0.05; done; \
    if (echo PWNED >/proc/self/fd/3) 2>/tmp/err; then echo written >>/tmp/r; \
    else echo refused >>/tmp/r; fi; echo done >>/tmp/r";

#[test]
fn a_ptrace_capable_container_cannot_overwrite_the_runtime() {
    let b = Bundle::new(&["sleep", "1000"]);
    let host_tmp = temp_root();
    let private = temp_root();
    let copy = private.path().join("containerv");
    std::fs::copy(bin(), &copy).unwrap();
    let original = std::fs::read(&copy).unwrap();
    b.edit(|c| {
        grant_ptrace(c);
        bind_tmp(c, host_tmp.path());
    });
    let root = b.root.path();
    let id = id("ptrace-exe");
    let bundle = b.dir.path().to_str().unwrap();
    run_ok(&copy, root, &["create", "--bundle", bundle, &id]);
    let init = b.state(&id)["pid"].as_i64().unwrap() as i32;
    let pid_file = b.dir.path().join("attacker.pid");
    let pid_file_s = pid_file.to_str().unwrap();
    run_ok(
        &copy,
        root,
        &[
            "exec",
            "-d",
            "--pid-file",
            pid_file_s,
            &id,
            "sh",
            "-c",
            ATTACK,
        ],
    );
    let r = host_tmp.path().join("r");
    let first = wait_for(&r, "open");
    // The init's exe: with the fix, the sealed copy.
    let link = std::fs::read_to_string(host_tmp.path().join("link")).unwrap_or_default();
    // The init execs sleep: no process runs the private binary any more.
    run_ok(&copy, root, &["start", &id]);
    std::fs::write(host_tmp.path().join("go"), "").unwrap();
    let report = if first.contains("opened") {
        wait_for(&r, "done")
    } else {
        first
    };
    let err = std::fs::read_to_string(host_tmp.path().join("err")).unwrap_or_default();
    let now = std::fs::read(&copy).unwrap();
    // The private copy may be wrecked: clean up with the real binary.
    run_ok(Path::new(bin()), root, &["delete", "--force", &id]);
    // Ours as subreaper: the attacker, then the init (which waits for
    // every process of its pid namespace to be reaped).
    reap(read_pid(&pid_file));
    reap(init);
    assert_no_leftovers(root, &id);

    assert!(
        now == original,
        "the host's runtime binary was overwritten from inside: now {} bytes, report {report:?}",
        now.len()
    );
    // The attack really ran: CAP_SYS_PTRACE opened the init's exe, which
    // was not the host path (a detached read-only mount of the binary's
    // directory shows as "/containerv"; the memfd fallback as
    // "/memfd:containerv-sealed"), and the write was refused.
    assert!(report.contains("opened"), "{report:?}");
    let host_path = copy.to_string_lossy();
    assert!(
        !link.trim().is_empty() && link.trim() != host_path,
        "exe link {link:?}"
    );
    assert!(report.contains("refused"), "{report:?} {err:?}");
}

/// Every entry into a container runs sealed, whatever the container may
/// hold (a `#!/proc/self/exe` file gets past non-dumpable without any
/// capability: see `security_exe`): `run` and `exec` of a container with
/// the default capabilities re-execute from the sealed copy.
#[test]
fn every_entry_runs_sealed() {
    let b = Bundle::new(&["sleep", "1000"]);
    let id = id("sealed-always");
    let log = b.dir.path().join("debug.log");
    let log_s = log.to_str().unwrap();
    let bundle = b.dir.path().to_str().unwrap().to_string();
    let sealed = |args: &[&str]| {
        let _ = std::fs::remove_file(&log);
        let mut all = vec!["--debug", "--log", log_s];
        all.extend_from_slice(args);
        run_ok(Path::new(bin()), b.root.path(), &all);
        std::fs::read_to_string(&log)
            .unwrap()
            .contains("re-executing from a sealed copy")
    };
    let created = sealed(&["run", "-d", "--bundle", &bundle, &id]);
    let exec = sealed(&["exec", &id, "true"]);
    let init = b.state(&id)["pid"].as_i64().unwrap() as i32;
    b.ok(&["delete", "--force", &id]);
    reap(init);
    assert_no_leftovers(b.root.path(), &id);
    assert!(created, "run -d not sealed");
    assert!(exec, "exec not sealed");
}
