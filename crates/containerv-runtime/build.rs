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
    println!("cargo:rerun-if-changed=../../.git/HEAD");
    println!("cargo:rerun-if-changed=../../.git/refs/heads");
}
