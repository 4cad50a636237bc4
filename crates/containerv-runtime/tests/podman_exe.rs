//! CVE-2019-5736 without `CAP_SYS_PTRACE` under podman (`podman --runtime
//! PATH`, conmon, podman's default capabilities and seccomp profile):
//! `podman exec CTR /tmp/x`, `/tmp/x` starting with `#!/proc/self/exe`,
//! makes the kernel run the runtime binary inside the container; a
//! static attacker in the container spins on `/proc/PID/exe` (conmon
//! reads the victim's output, so it cannot be held; the exec is repeated
//! until the attacker caught one), keeps the descriptor, and writes
//! through it once the runtime has exited. The
//! runtime is a private copy; with the sealing the write is refused.
#![cfg(target_os = "linux")]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use containerv_testutil::attack::{
    build_static, glibc_libs, wait_report, EXE_OVERWRITE_C, SHEBANG_SELF,
};
use containerv_testutil::peer::{self, describe, run_ok, PodmanConfig};
use containerv_testutil::temp_root;

#[test]
fn podman_exec_of_a_shebang_cannot_overwrite_the_runtime() {
    common::become_subreaper();
    containerv_testutil::require_root();
    assert!(
        peer::have("podman") && peer::have("conmon"),
        "podman and conmon are needed (apt-get install podman)"
    );
    peer::private_run();
    let work = temp_root();
    let private = work.path().join("bin");
    std::fs::create_dir_all(&private).unwrap();
    let copy = private.join("containerv");
    std::fs::copy(common::bin(), &copy).unwrap();
    let original = std::fs::read(&copy).unwrap();
    let libs = glibc_libs(Path::new(common::bin()), &work.path().join("libs"));
    let host_tmp = work.path().join("tmp");
    std::fs::create_dir_all(&host_tmp).unwrap();
    std::fs::set_permissions(&host_tmp, std::fs::Permissions::from_mode(0o1777)).unwrap();
    build_static(EXE_OVERWRITE_C, &host_tmp.join("atk"));
    std::fs::write(host_tmp.join("x"), SHEBANG_SELF).unwrap();
    std::fs::set_permissions(host_tmp.join("x"), std::fs::Permissions::from_mode(0o755)).unwrap();

    let conf = PodmanConfig::new("", "");
    let parent = common::id("podman-exe");
    let podman = || -> Command {
        let mut c = conf.cmd();
        c.args([
            "--runtime",
            copy.to_str().unwrap(),
            "--cgroup-manager",
            "cgroupfs",
        ]);
        c
    };
    let tar = peer::rootfs_tar(conf.dir.path());
    run_ok(podman().args(["import", tar.to_str().unwrap(), "localhost/cvexe:test"]));
    let vol = |src: &Path, dst: &str| format!("{}:{dst}", src.display());
    let id = run_ok(podman().args([
        "run",
        "-d",
        "--network",
        "none",
        "--cgroup-parent",
        &parent,
        "-v",
        &vol(&host_tmp, "/tmp"),
        "-v",
        &vol(&libs, "/lib64:ro"),
        "-v",
        &vol(&libs, "/lib/x86_64-linux-gnu:ro"),
        "localhost/cvexe:test",
        "/tmp/atk",
        "/tmp/r",
    ]))
    .trim()
    .to_string();
    // The victim: its own exit code does not matter. It lives a few ms;
    // a busy machine may not schedule the attacker in time: try again,
    // as a real attacker would (at most 20 times).
    let r = host_tmp.join("r");
    let mut exec = podman().args(["exec", &id, "/tmp/x"]).output().unwrap();
    for _ in 0..19 {
        std::thread::sleep(std::time::Duration::from_millis(200));
        if r.exists() {
            break;
        }
        exec = podman().args(["exec", &id, "/tmp/x"]).output().unwrap();
    }
    let report = wait_report(&r, "done");
    let link = std::fs::read_to_string(host_tmp.join("r.link")).unwrap_or_default();
    let now = std::fs::read(&copy).unwrap();
    // podman needs a working runtime to clean up.
    if now != original {
        std::fs::write(&copy, &original).unwrap();
    }
    let rm = podman()
        .args(["rm", "-f", "-t", "0", &id])
        .output()
        .unwrap();
    let _ = podman().args(["rmi", "-a", "-f"]).output();
    peer::remove_cgroups(&parent);

    assert!(rm.status.success(), "rm: {}", describe(&rm));
    assert!(
        now == original,
        "the host's runtime binary was overwritten from inside: report {report:?}, exec: {}",
        describe(&exec)
    );
    assert!(report.contains("opened"), "{report:?} {}", describe(&exec));
    assert!(
        !link.trim().is_empty() && link.trim() != copy.to_string_lossy(),
        "exe link {link:?}"
    );
    assert!(report.contains("refused"), "{report:?}");
}
