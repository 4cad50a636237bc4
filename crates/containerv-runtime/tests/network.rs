//! The OCI runtime's network namespaces as runc leaves them: runc 1.1
//! brings `lo` up in a network namespace it creates and leaves a joined
//! one (`linux.namespaces[].path`) as it was. The same bundle runs under
//! both and the flags of `lo` are compared.

#![cfg(target_os = "linux")]

mod common;

use std::process::{Command, Stdio};

use common::{bin, id, Bundle};
use containerv_testutil::peer::have;

/// `RUNTIME --root <private> run --bundle <dir> ID`: its stdout.
fn run_with(runtime: &str, b: &Bundle, id: &str) -> String {
    let root = containerv_testutil::temp_root();
    let out = Command::new(runtime)
        .arg("--root")
        .arg(root.path())
        .args(["run", "--bundle"])
        .arg(b.dir.path())
        .arg(id)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{runtime} run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn loopback_matches_runc_in_new_and_joined_namespaces() {
    assert!(
        have("runc"),
        "runc is needed as the reference (apt-get install runc)"
    );
    let b = Bundle::new(&["cat", "/sys/class/net/lo/flags"]);
    let ours = run_with(bin(), &b, &id("net-lo"));
    let runc = run_with("runc", &b, &id("net-lo-runc"));
    assert_eq!(ours.trim(), "0x9", "lo up in a new netns");
    assert_eq!(ours, runc);

    // A namespace someone else made (lo down) is joined as it is.
    let mut holder = Command::new("unshare")
        .args(["-n", "sleep", "30"])
        .spawn()
        .unwrap();
    let path = format!("/proc/{}/ns/net", holder.id());
    // Wait until the holder has unshared.
    let mine = std::fs::read_link("/proc/self/ns/net").unwrap();
    for _ in 0..200 {
        if std::fs::read_link(&path)
            .map(|l| l != mine)
            .unwrap_or(false)
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    b.edit(|c| {
        for ns in c["linux"]["namespaces"].as_array_mut().unwrap() {
            if ns["type"] == "network" {
                ns["path"] = path.clone().into();
            }
        }
    });
    let ours = run_with(bin(), &b, &id("net-join"));
    let runc = run_with("runc", &b, &id("net-join-runc"));
    let _ = holder.kill();
    let _ = holder.wait();
    assert_eq!(ours.trim(), "0x8", "a joined netns keeps lo down");
    assert_eq!(ours, runc);
}
