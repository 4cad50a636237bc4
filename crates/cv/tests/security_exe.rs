//! CVE-2019-5736 without `CAP_SYS_PTRACE` against the engine (see
//! `containerv_testutil::attack`): `cv exec CTR /tmp/x`, where `/tmp/x`
//! starts with `#!/proc/self/exe`, makes the kernel execute the `cv`
//! binary inside the container; a container process opens that process's
//! `/proc/PID/exe` and writes through it once `cv exec` is gone. `cv exec`
//! and the monitor (whose clones become the container's init) must run
//! from a binary that cannot be written through.
//!
//! Two private copies of `cv`: one runs the monitor (which keeps its
//! binary busy while the container lives), the other `cv exec`, the
//! victim, free once the exec is over. `cv` is linked against glibc: the
//! host's glibc is bound into the busybox container, as an image with
//! glibc would have it.
#![cfg(target_os = "linux")]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;

use common::{monitors_of, path_str, Cv};
use containerv_testutil::attack::{
    drain, full_pipe, glibc_libs, wait_report, EXE_OVERWRITE, SHEBANG_SELF,
};
use containerv_testutil::temp_root;

const IMG: &str = "containerv/busybox";

/// Whether `/proc/PID/exe` of a live process is on a read-only mount or a
/// sealed memfd (the same test as `exeseal::is_sealed`, from outside).
fn runs_sealed(pid: i32) -> (bool, String) {
    let link = std::fs::read_link(format!("/proc/{pid}/exe"))
        .map(|l| l.to_string_lossy().into_owned())
        .unwrap_or_default();
    let path = std::ffi::CString::new(format!("/proc/{pid}/exe")).unwrap();
    // SAFETY: statvfs with a NUL-terminated path into a zeroed struct.
    let ro = unsafe {
        let mut st: libc::statvfs = std::mem::zeroed();
        libc::statvfs(path.as_ptr(), &mut st) == 0 && st.f_flag & libc::ST_RDONLY != 0
    };
    (ro || link.starts_with("/memfd:"), link)
}

#[test]
fn a_shebang_cv_exec_cannot_overwrite_cv() {
    let cv = Cv::new();
    let work = temp_root();
    let libs = glibc_libs(
        Path::new(env!("CARGO_BIN_EXE_cv")),
        &work.path().join("libs"),
    );
    let host_tmp = work.path().join("tmp");
    std::fs::create_dir_all(&host_tmp).unwrap();
    std::fs::set_permissions(&host_tmp, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let x = host_tmp.join("x");
    std::fs::write(&x, SHEBANG_SELF).unwrap();
    std::fs::set_permissions(&x, std::fs::Permissions::from_mode(0o755)).unwrap();
    let copy = |name: &str| {
        let dir = work.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let bin = dir.join("cv");
        std::fs::copy(env!("CARGO_BIN_EXE_cv"), &bin).unwrap();
        bin
    };
    let (monitor_bin, victim_bin) = (copy("monitor"), copy("victim"));
    let original = std::fs::read(&victim_bin).unwrap();

    let attack = format!("R=/tmp/r\n{EXE_OVERWRITE}");
    let lib64 = format!("{}:/lib64:ro", path_str(&libs));
    let multiarch = format!("{}:/lib/x86_64-linux-gnu:ro", path_str(&libs));
    let tmp = format!("{}:/tmp", path_str(&host_tmp));
    let out = cv
        .cmd_of(
            &monitor_bin,
            &[
                "run", "-d", "-v", &lib64, "-v", &multiarch, "-v", &tmp, IMG, "sh", "-c", &attack,
            ],
        )
        .output()
        .unwrap();
    assert!(out.status.success(), "run -d: {out:?}");
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let monitor = monitors_of(&id);

    // The victim: held at its first write to stderr (a full pipe).
    let (r, w) = full_pipe();
    let mut victim = cv
        .cmd_of(&victim_bin, &["exec", &id, "/tmp/x"])
        .stdout(Stdio::null())
        .stderr(Stdio::from(w))
        .spawn()
        .unwrap();
    let report = host_tmp.join("r");
    let first = wait_report(&report, "opened");
    let drained = drain(r);
    let _ = victim.wait();
    drained.join().unwrap();
    let report = if first.contains("opened") {
        wait_report(&report, "done")
    } else {
        first
    };
    let monitor_exe: Vec<(bool, String)> = monitor.iter().map(|p| runs_sealed(*p)).collect();
    let link = std::fs::read_to_string(host_tmp.join("r.link")).unwrap_or_default();
    let err = std::fs::read_to_string(host_tmp.join("r.err")).unwrap_or_default();
    let now = std::fs::read(&victim_bin).unwrap();
    cv.ok(&["rm", "-f", &id]);
    cv.assert_gone(&id);

    assert!(
        now == original,
        "the host's cv binary was overwritten from inside: now {} bytes, report {report:?}",
        now.len()
    );
    assert!(report.contains("opened"), "{report:?}");
    assert!(
        !link.trim().is_empty() && link.trim() != victim_bin.to_string_lossy(),
        "exe link {link:?}"
    );
    assert!(report.contains("refused"), "{report:?} {err:?}");
    // The monitor, whose clone became the container's init, runs sealed.
    assert!(!monitor_exe.is_empty(), "no monitor of {id} found");
    for (sealed, link) in monitor_exe {
        assert!(sealed, "the monitor runs from {link:?}, not a sealed copy");
    }
}
