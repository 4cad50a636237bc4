//! CVE-2019-5736 without `CAP_SYS_PTRACE` (see
//! `containerv_testutil::attack`): `containerv exec ID /tmp/x`, where
//! `/tmp/x` starts with `#!/proc/self/exe`, makes the kernel execute the
//! runtime binary inside the container; a container process opens that
//! process's `/proc/PID/exe` and writes through it once the runtime is
//! gone. Every process entering a container must run from a binary that
//! cannot be written through (a detached read-only mount, or a sealed
//! memfd copy), so the write is refused and the host binary untouched.
//!
//! The runtime under attack is a private copy of the binary, so no other
//! test's process keeps it busy (ETXTBSY would hide the breach). The
//! runtime built by cargo is linked against glibc: the container's rootfs
//! is a busybox copy with the host's glibc added, as an image with glibc
//! would have.
#![cfg(target_os = "linux")]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

use common::*;
use containerv_testutil::attack::{
    drain, full_pipe, glibc_libs, wait_report, EXE_OVERWRITE, SHEBANG_SELF,
};
use containerv_testutil::{assert_no_leftovers, busybox_rootfs_copy, temp_root, TempRoot};

/// A busybox rootfs with `bin`'s glibc, under `dir`.
fn glibc_rootfs(dir: &TempRoot, bin: &Path) -> std::path::PathBuf {
    let rootfs = busybox_rootfs_copy(&dir.path().join("rootfs"));
    let libs = glibc_libs(bin, &rootfs.join("lib64"));
    let multiarch = rootfs.join("lib/x86_64-linux-gnu");
    std::fs::create_dir_all(&multiarch).unwrap();
    for e in std::fs::read_dir(&libs).unwrap().flatten() {
        std::fs::copy(e.path(), multiarch.join(e.file_name())).unwrap();
    }
    rootfs
}

/// The victim's file in the host directory bound over the container's /tmp.
fn write_shebang(host_tmp: &Path) {
    let x = host_tmp.join("x");
    std::fs::write(&x, SHEBANG_SELF).unwrap();
    std::fs::set_permissions(&x, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_shebang_exec_cannot_overwrite_the_runtime() {
    let b = Bundle::new(&["true"]);
    let dir = temp_root();
    let rootfs = glibc_rootfs(&dir, Path::new(bin()));
    let host_tmp = temp_root();
    std::fs::set_permissions(host_tmp.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
    write_shebang(host_tmp.path());
    let private = temp_root();
    let copy = private.path().join("containerv");
    std::fs::copy(bin(), &copy).unwrap();
    let original = std::fs::read(&copy).unwrap();
    b.edit(|c| {
        c["root"]["path"] = rootfs.to_str().unwrap().into();
        // The attacker is the container's init.
        c["process"]["args"] =
            serde_json::json!(["sh", "-c", format!("R=/tmp/r\n{EXE_OVERWRITE}")]);
        c["mounts"].as_array_mut().unwrap().push(serde_json::json!({
            "destination": "/tmp",
            "type": "bind",
            "source": host_tmp.path(),
            "options": ["rbind", "rw"],
        }));
    });
    let id = id("shebang-exe");
    b.create(&id);
    let init = b.state(&id)["pid"].as_i64().unwrap() as i32;
    b.ok(&["start", &id]);

    // The victim: held at its first write to stderr (a full pipe).
    let (r, w) = full_pipe();
    let mut victim = Command::new(&copy)
        .arg("--root")
        .arg(b.root.path())
        .args(["exec", &id, "/tmp/x"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(w))
        .spawn()
        .unwrap();
    let report = host_tmp.path().join("r");
    let first = wait_report(&report, "opened");
    let drained = drain(r);
    let _ = victim.wait();
    drained.join().unwrap();
    let report = if first.contains("opened") {
        wait_report(&report, "done")
    } else {
        first
    };
    let link = std::fs::read_to_string(host_tmp.path().join("r.link")).unwrap_or_default();
    let err = std::fs::read_to_string(host_tmp.path().join("r.err")).unwrap_or_default();
    let now = std::fs::read(&copy).unwrap();
    run_detached_ok(&["delete", "--force", &id], b.root.path());
    reap(init);
    assert_no_leftovers(b.root.path(), &id);

    assert!(
        now == original,
        "the host's runtime binary was overwritten from inside: now {} bytes, report {report:?}",
        now.len()
    );
    // The attack really ran: the attacker held the victim's exe (the
    // runtime binary, not the host's path to it) and the write failed.
    assert!(report.contains("opened"), "{report:?}");
    assert!(
        !link.trim().is_empty() && link.trim() != copy.to_string_lossy(),
        "exe link {link:?}"
    );
    assert!(report.contains("refused"), "{report:?} {err:?}");
}

fn run_detached_ok(args: &[&str], root: &Path) {
    let st = containerv_testutil::cli::run_detached(bin(), root, args);
    assert!(st.success(), "{args:?}");
}

/// The detached read-only mount the runtime re-executes from is held
/// through the re-exec (its descriptor number in an environment variable,
/// see `containerv::linux::exeseal`): neither the descriptor (an O_PATH
/// handle on the host directory of the binary) nor the variable reaches
/// the container's init or an exec'd process, and the mount does not
/// outlive the runtime in any mount table.
#[test]
fn the_sealing_mounts_descriptor_never_reaches_the_container() {
    let b = Bundle::new(&["sh", "-c", "ls -l /proc/self/fd/; env; echo init-done"]);
    let mounts_before = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let dir = std::path::Path::new(bin())
        .parent()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let id = id("seal-fd");
    let out = b.ok(&["run", &id]);
    assert!(out.contains("init-done"), "{out}");
    let check = |who: &str, out: &str| {
        assert!(!out.contains("_CONTAINERV_SEALED_TREE"), "{who}: {out}");
        assert!(
            !out.contains(&dir),
            "{who} holds the binary's directory: {out}"
        );
        // stdio and ls's own /proc/self/fd only.
        let fds: Vec<&str> = out
            .lines()
            .filter(|l| l.contains(" -> "))
            .filter_map(|l| l.split(" -> ").next()?.split_whitespace().last())
            .collect();
        assert!(fds.len() <= 4, "{who}: descriptors {fds:?} in {out}");
    };
    check("init", &out);
    assert_no_leftovers(b.root.path(), &id);

    b.edit(|c| c["process"]["args"] = serde_json::json!(["sleep", "60"]));
    let id = containerv_testutil::unique_id("seal-fd-exec");
    b.create(&id);
    let init = b.state(&id)["pid"].as_i64().unwrap() as i32;
    b.ok(&["start", &id]);
    let out = b.ok(&[
        "exec",
        &id,
        "sh",
        "-c",
        "ls -l /proc/self/fd/; env; echo exec-done",
    ]);
    assert!(out.contains("exec-done"), "{out}");
    check("exec", &out);
    run_detached_ok(&["delete", "--force", &id], b.root.path());
    reap(init);
    assert_no_leftovers(b.root.path(), &id);
    let mounts_after = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let count = |m: &str| m.lines().filter(|l| l.contains(&dir)).count();
    assert_eq!(
        count(&mounts_after),
        count(&mounts_before),
        "{mounts_after}"
    );
}
