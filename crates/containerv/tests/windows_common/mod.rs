//! Shared by the `windows_*` integration tests: the helper program and a
//! runtime root per test.
#![allow(dead_code, unused_imports)]

use std::path::PathBuf;

pub use containerv_testutil::windows::{assert_no_leftovers, job_exists};
pub use containerv_testutil::{temp_root, unique_id};

/// `examples/windows_helper.exe`, which `cargo test` builds beside the tests.
pub fn helper() -> String {
    let exe = std::env::current_exe().unwrap();
    let p: PathBuf = exe
        .parent()
        .and_then(|d| d.parent())
        .unwrap()
        .join("examples")
        .join("windows_helper.exe");
    assert!(
        p.is_file(),
        "{} is missing: run the tests with plain `cargo test` (it builds examples)",
        p.display()
    );
    p.to_str().unwrap().to_string()
}

/// argv for the helper: `helper COMMAND ARGS...`.
pub fn helper_args(args: &[&str]) -> Vec<String> {
    std::iter::once(helper())
        .chain(args.iter().map(|s| s.to_string()))
        .collect()
}

/// True under Wine (where job limits and accounting are not implemented).
pub fn under_wine() -> bool {
    std::env::var_os("WINEPREFIX").is_some()
        || std::path::Path::new(r"C:\windows\system32\winecfg.exe").exists()
}
