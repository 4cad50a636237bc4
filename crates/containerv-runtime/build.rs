//! Records the git commit for `containerv --version` ("commit: ..."), as
//! runc prints its own. Outside a git checkout the commit reads "unknown".

fn main() {
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=CONTAINERV_COMMIT={commit}");
    // A position-dependent executable: no R_X86_64_RELATIVE relocations to
    // apply at start (258 KiB of .rela.dyn read, 204 KiB of .data.rel.ro
    // dirtied in every run), a measurable share of the peak RSS of a
    // process started once per container operation. Linux x86_64 only.
    // The static build (scripts/build-runtime: crt-static with the static
    // relocation model) is non-PIE already; -no-pie on top of it would
    // produce a broken binary. So would it on musl, whose default is a
    // static-pie (crt-static is on there without being in the target
    // features): `_start_c` crashed in every run (the systemd VM's tests
    // run a musl build).
    let crt_static = std::env::var("CARGO_CFG_TARGET_FEATURE")
        .unwrap_or_default()
        .split(',')
        .any(|f| f == "crt-static");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
        && std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("x86_64")
        && !crt_static
        && std::env::var("CARGO_CFG_TARGET_ENV").as_deref() != Ok("musl")
    {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
    // The checkout's HEAD and branch refs: in a `git worktree` `.git` is a
    // file and HEAD lives in the worktree's own git dir (watching a path
    // that does not exist would rebuild the binary every time).
    let dirs = std::process::Command::new("git")
        .args([
            "rev-parse",
            "--path-format=absolute",
            "--git-dir",
            "--git-common-dir",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    match dirs.as_deref().map(|d| d.lines().collect::<Vec<_>>()) {
        Some(d) if d.len() == 2 => {
            println!("cargo:rerun-if-changed={}/HEAD", d[0]);
            println!("cargo:rerun-if-changed={}/refs/heads", d[1]);
            let packed = format!("{}/packed-refs", d[1]);
            if std::path::Path::new(&packed).exists() {
                println!("cargo:rerun-if-changed={packed}");
            }
        }
        _ => println!("cargo:rerun-if-changed=build.rs"),
    }
}
