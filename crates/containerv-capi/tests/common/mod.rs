//! Shared by the C test files: building the library, compiling C.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The system libraries a Rust staticlib needs
/// (`rustc --print native-static-libs`).
pub const STATIC_LIBS: [&str; 7] = [
    "-lgcc_s",
    "-lutil",
    "-lrt",
    "-lpthread",
    "-lm",
    "-ldl",
    "-lc",
];

/// Where cargo puts libcontainerv.so and libcontainerv.a: the deps
/// directory this test binary runs from. `cargo test` does not build a
/// cdylib/staticlib-only library for an integration test, so the test
/// builds it first (same profile and target directory: up to date in a
/// second when nothing changed).
pub fn lib_dir() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(build_library).clone()
}

fn build_library() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap().to_path_buf();
    let profile_dir = deps.parent().unwrap();
    let target_dir = profile_dir.parent().unwrap();
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.args([
        "build",
        "--quiet",
        "--offline",
        "-p",
        "containerv-capi",
        "--lib",
    ])
    .arg("--target-dir")
    .arg(target_dir)
    .current_dir(env!("CARGO_MANIFEST_DIR"));
    match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => {}
        Some("release") => {
            cmd.arg("--release");
        }
        Some(p) => {
            cmd.args(["--profile", p]);
        }
        None => panic!("unexpected target layout: {}", deps.display()),
    }
    let st = cmd.status().unwrap();
    assert!(st.success(), "{cmd:?}: {st}");
    assert!(
        deps.join("libcontainerv.so").exists() && deps.join("libcontainerv.a").exists(),
        "libcontainerv.so/.a not in {} (cargo test builds them with this test)",
        deps.display()
    );
    deps
}

pub fn include_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("include")
}

pub fn c_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/c")
        .join(name)
}

pub fn out_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("capi-c");
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub fn compile(cmd: &mut Command) {
    let out = cmd.output().expect("the C compiler runs");
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub const WARN: [&str; 4] = ["-Wall", "-Wextra", "-Werror", "-g"];

/// The target directory this test binary was built in.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The repository's top directory.
pub fn repo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}
