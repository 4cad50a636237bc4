//! Helpers for the runtime-spec tests (`spec_*.rs`, `security_*.rs`): a
//! spec for the busybox rootfs whose init is the spec's process, and a
//! runner that creates the container, collects the init's output, waits,
//! destroys and checks that nothing is left.
#![allow(dead_code)]

use std::io::Read;

use containerv::{ContainerOptions, CreateConfig, ExitStatus, Runtime, Spec, Stdio};
pub use containerv_testutil::unique_id;
use containerv_testutil::{assert_no_leftovers, busybox_rootfs, require_root, temp_root};

/// The builder's spec for container `id` on the busybox rootfs, running
/// `sh -c script` as its init (default namespaces, mounts, capabilities).
/// Its stdout and stderr go to /dev/null (never the test harness's own
/// streams, which a leaked process would hold open).
pub fn sh_spec(id: &str, script: &str) -> (Spec, CreateConfig) {
    let (spec, mut config) = ContainerOptions::new()
        .rootfs(busybox_rootfs())
        .command(["/bin/sh", "-c", script])
        .build(id)
        .unwrap();
    config.stdout = Stdio::Null;
    config.stderr = Stdio::Null;
    config.no_pivot = root_is_initramfs();
    (spec, config)
}

/// True when "/" is an initramfs (the cgroup v2 VM), where pivot_root is
/// refused: containers there enter their root with MS_MOVE + chroot.
pub fn root_is_initramfs() -> bool {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.get(4) == Some(&"/") && l.contains(" - rootfs ")
        })
}

/// A runtime on a private root (keep the guard alive).
pub fn runtime() -> (containerv_testutil::TempRoot, Runtime) {
    require_root();
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    (root, rt)
}

/// Create and run the container to its end; its stdout+stderr and exit
/// status. Destroys it and checks nothing is left.
pub fn run(rt: &Runtime, id: &str, spec: Spec, mut config: CreateConfig) -> (ExitStatus, String) {
    config.stdout = Stdio::Pipe;
    config.stderr = Stdio::Pipe;
    let mut c = rt.create_from_spec(id, spec, config).unwrap();
    let [_, out, err] = c.take_stdio();
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(mut e) = err {
            let _ = e.read_to_string(&mut s);
        }
        s
    });
    let mut s = String::new();
    if let Some(mut o) = out {
        let _ = o.read_to_string(&mut s);
    }
    s.push_str(&err_reader.join().unwrap());
    let status = c.wait().unwrap();
    c.destroy().unwrap();
    assert_no_leftovers(rt.root(), id);
    (status, s)
}

/// `run` that asserts exit 0 and returns the output.
pub fn run_ok(rt: &Runtime, id: &str, spec: Spec, config: CreateConfig) -> String {
    let (st, out) = run(rt, id, spec, config);
    assert!(st.success(), "{st:?}: {out}");
    out
}

/// Create must fail: the error text; nothing may be left behind.
pub fn create_err(rt: &Runtime, id: &str, spec: Spec, config: CreateConfig) -> String {
    let e = match rt.create_from_spec(id, spec, config) {
        Ok(c) => {
            let _ = c.destroy();
            panic!("create of {id} should fail");
        }
        Err(e) => e.to_string(),
    };
    assert_no_leftovers(rt.root(), id);
    e
}
