//! The seed's two C examples (examples/c/) as users build them: with `cc`
//! against libcontainerv.so and libcontainerv.a, run on real containers;
//! and with `x86_64-w64-mingw32-gcc` against containerv.dll, run under
//! Wine (tools/wine/run). Wine enforces no job limit and reads CPU times as
//! 0: the examples detect Wine and say so, and these tests check that they
//! do (the enforcement itself is checked on real Windows only).
#![cfg(target_os = "linux")]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{compile, include_dir, lib_dir, out_dir, repo_dir, target_dir, STATIC_LIBS, WARN};
use containerv_testutil::{busybox_rootfs, require_root, temp_root};

fn example(name: &str) -> PathBuf {
    repo_dir().join("examples/c").join(format!("{name}.c"))
}

/// The example built against the shared (`static_lib` false) or the
/// static library.
fn build_linux(name: &str, static_lib: bool) -> PathBuf {
    let lib = lib_dir();
    let kind = if static_lib { "static" } else { "shared" };
    let bin = out_dir().join(format!("{name}-{kind}-{}", std::process::id()));
    let mut cmd = Command::new("cc");
    cmd.arg("-std=c99")
        .args(WARN)
        .arg("-I")
        .arg(include_dir())
        .arg(example(name));
    if static_lib {
        cmd.arg(lib.join("libcontainerv.a")).args(STATIC_LIBS);
    } else {
        cmd.arg("-L")
            .arg(&lib)
            .arg(format!("-Wl,-rpath,{}", lib.display()))
            .arg("-lcontainerv");
    }
    compile(cmd.arg("-o").arg(&bin));
    bin
}

fn stdout_of(out: &Output, what: &str) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what}: {}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Runs a Linux build of an example with a private runtime root; checks
/// that nothing is left in it.
fn run_linux(bin: &Path) -> String {
    require_root();
    let root = temp_root();
    let child = Command::new(bin)
        .arg(busybox_rootfs())
        .env("CONTAINERV_ROOT", root.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The examples name their container "<what>-demo-<their pid>".
    let needle = format!("-demo-{}", child.id());
    let out = child.wait_with_output().unwrap();
    if !out.status.success() {
        // A failed example may leave its container: end it before failing.
        for pid in containerv_testutil::processes_mentioning(&needle) {
            // SAFETY: kill(2) on a process in the example's container cgroup.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
        containerv_testutil::peer::remove_cgroups(&needle);
    }
    let stdout = stdout_of(&out, &bin.display().to_string());
    let left: Vec<_> = std::fs::read_dir(root.path()).unwrap().flatten().collect();
    assert!(left.is_empty(), "left in the runtime root: {left:?}");
    stdout
}

#[test]
fn container_monitoring_with_the_shared_and_the_static_library() {
    for static_lib in [false, true] {
        let out = run_linux(&build_linux("container-monitoring", static_lib));
        assert!(out.contains("created"), "{out}");
        // Live figures: CPU time and the 2 × 16 MiB written show up.
        let last = out
            .lines()
            .rfind(|l| l.starts_with("[3]"))
            .unwrap_or_else(|| panic!("no 4th sample: {out}"));
        assert!(!last.contains("(0.000 s)"), "no CPU time: {last}");
        assert!(!last.contains("r/w 0/0 bytes"), "no I/O: {last}");
        assert!(out.contains("processes:"), "{out}");
        assert!(out.contains("worker 0 exited with 0"), "{out}");
        assert!(out.contains("worker 1 exited with 0"), "{out}");
        assert!(out.contains("destroyed"), "{out}");
    }
}

#[test]
fn resource_limits_are_enforced_on_linux() {
    let out = run_linux(&build_linux("windows-resource-limits", false));
    assert!(out.contains("process limit enforced"), "{out}");
    assert!(out.contains("container destroyed"), "{out}");
}

/// containerv.dll and its import library, cross-built (same profile and
/// target directory as this test).
fn windows_lib_dir() -> PathBuf {
    let target = target_dir();
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.args([
        "build",
        "--quiet",
        "--offline",
        "-p",
        "containerv-capi",
        "--lib",
        "--target",
        "x86_64-pc-windows-gnu",
    ])
    .arg("--target-dir")
    .arg(&target)
    .current_dir(env!("CARGO_MANIFEST_DIR"));
    let st = cmd.status().unwrap();
    assert!(st.success(), "{cmd:?}: {st}");
    let profile = lib_dir().parent().unwrap().file_name().unwrap().to_owned();
    let dir = target.join("x86_64-pc-windows-gnu").join(profile);
    assert!(dir.join("containerv.dll").exists(), "no {}", dir.display());
    dir
}

/// The two examples, and join and upload/download (tests/c/api_win.c).
#[test]
fn windows_examples_run_under_wine() {
    let lib = windows_lib_dir();
    // The .exe files beside containerv.dll, as a Windows user ships them.
    let dir = out_dir().join(format!("wine-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(lib.join("containerv.dll"), dir.join("containerv.dll")).unwrap();
    let root = tempfile::tempdir().unwrap();
    for name in ["container-monitoring", "windows-resource-limits", "api_win"] {
        let exe = dir.join(format!("{name}.exe"));
        let source = if name == "api_win" {
            common::c_file("api_win.c")
        } else {
            example(name)
        };
        compile(
            Command::new("x86_64-w64-mingw32-gcc")
                .arg("-std=c99")
                .args(WARN)
                .arg("-I")
                .arg(include_dir())
                .arg(source)
                .arg("-L")
                .arg(&lib)
                .arg("-lcontainerv")
                .arg("-o")
                .arg(&exe),
        );
        // Output to files, not pipes: the wineserver that wine starts
        // inherits them and lingers, and a pipe would stay open with it.
        let (so, se) = (
            dir.join(format!("{name}.out")),
            dir.join(format!("{name}.err")),
        );
        let status = Command::new("timeout")
            .arg("120")
            .arg(repo_dir().join("tools/wine/run"))
            .arg(&exe)
            .current_dir(&dir)
            // The Windows runtime root, in a directory of this test.
            .env("CONTAINERV_ROOT", format!("Z:{}", root.path().display()))
            .stdin(std::process::Stdio::null())
            .stdout(std::fs::File::create(&so).unwrap())
            .stderr(std::fs::File::create(&se).unwrap())
            .status()
            .unwrap();
        let out = Output {
            status,
            stdout: std::fs::read(&so).unwrap(),
            stderr: std::fs::read(&se).unwrap(),
        };
        let out = stdout_of(&out, name);
        if name == "api_win" {
            // A process outside the container joined its job; files went
            // in and out of the container's working directory.
            assert!(out.contains("copy round trip ok"), "{out}");
            assert!(out.contains("ok join"), "{out}");
            continue;
        }
        assert!(out.contains("destroyed"), "{name}: {out}");
        if name == "windows-resource-limits" {
            // Wine takes the limits and enforces none: the example says so.
            assert!(out.contains("running under Wine"), "{out}");
            assert!(
                out.contains("process limit not enforced: Wine does not enforce job limits"),
                "{out}"
            );
        } else {
            assert!(out.contains("worker 1 exited with 0"), "{out}");
            assert!(out.contains("running under Wine"), "{out}");
        }
    }
    let left: Vec<_> = std::fs::read_dir(root.path()).unwrap().flatten().collect();
    assert!(
        left.is_empty(),
        "left in the Windows runtime root: {left:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// scripts/install-capi into a private prefix, then the monitoring example
/// built the way a user builds against an installed library: only with
/// `pkg-config --cflags --libs containerv` (and `--static`).
#[test]
fn installed_with_pkg_config() {
    let prefix = tempfile::tempdir().unwrap();
    let profile = lib_dir()
        .parent()
        .unwrap()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let profile = if profile == "debug" {
        "dev".to_string()
    } else {
        profile
    };
    let out = Command::new(repo_dir().join("scripts/install-capi"))
        .arg("--prefix")
        .arg(prefix.path())
        .args(["--profile", &profile])
        .env("CARGO_TARGET_DIR", target_dir())
        .output()
        .unwrap();
    stdout_of(&out, "scripts/install-capi");
    let pkgconfig = prefix.path().join("lib/pkgconfig");
    for static_lib in [false, true] {
        let mut pc = Command::new("pkg-config");
        pc.env("PKG_CONFIG_PATH", &pkgconfig);
        if static_lib {
            pc.arg("--static");
        }
        let flags = stdout_of(
            &pc.args(["--cflags", "--libs", "containerv"])
                .output()
                .unwrap(),
            "pkg-config",
        );
        let bin = out_dir().join(format!("monitoring-pc-{static_lib}-{}", std::process::id()));
        let mut cc = Command::new("cc");
        cc.arg("-std=c99")
            .args(WARN)
            .arg(example("container-monitoring"));
        if static_lib {
            // Only the archive: -l would prefer the .so.
            cc.arg("-static-libgcc")
                .arg(prefix.path().join("lib/libcontainerv.a"));
            cc.args(flags.split_whitespace().filter(|f| *f != "-lcontainerv"));
        } else {
            cc.args(flags.split_whitespace());
            cc.arg(format!(
                "-Wl,-rpath,{}",
                prefix.path().join("lib").display()
            ));
        }
        compile(cc.arg("-o").arg(&bin));
        let out = run_linux(&bin);
        assert!(out.contains("destroyed"), "{out}");
    }
}
