//! Links the binaries position-dependent on Linux x86_64: no
//! R_X86_64_RELATIVE relocations to apply at start, so `.data.rel.ro`
//! (~200 KiB) stays clean and shared between processes instead of being
//! dirtied in each one (it was most of a monitor's private memory).

fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
        && std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("x86_64")
    {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
