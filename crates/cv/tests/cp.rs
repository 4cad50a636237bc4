//! `cv cp` as docker: into a created container (create → cp → start) and
//! out of an exited one, `-` as a tar stream both ways (checked with
//! `tar`), and the attack run for real: a symlink inside the container
//! that names a host path never lets a copy in or out touch the host, in
//! a running or a stopped container; a hostile tar stream cannot escape
//! either. No mount of a copy is left behind.

#![cfg(target_os = "linux")]

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{path_str, Cv};
use containerv_testutil::temp_root;

fn cp_mounts() -> usize {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| l.contains("/cp-"))
        .count()
}

#[test]
fn into_created_and_out_of_exited() {
    let cv = Cv::new();
    let host = temp_root();
    let f = host.path().join("hello.txt");
    std::fs::write(&f, "hello\n").unwrap();
    let id = cv
        .ok(&["create", "containerv/busybox", "cat", "/srv/hello.txt"])
        .trim()
        .to_string();
    cv.ok(&["cp", path_str(&f), &format!("{id}:/srv/hello.txt")]);
    assert_eq!(cv.ok(&["start", "-a", &id]), "hello\n");
    // Exited now: copy a file and a directory out.
    let out = host.path().join("out");
    cv.ok(&["cp", &format!("{id}:/srv/hello.txt"), path_str(&out)]);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "hello\n");
    cv.ok(&["cp", &format!("{id}:/etc"), path_str(host.path())]);
    assert!(host.path().join("etc/passwd").exists());
    assert_eq!(cp_mounts(), 0);
    cv.ok(&["rm", &id]);
    cv.assert_gone(&id);
}

#[test]
fn tar_streams_both_ways() {
    let cv = Cv::new();
    let host = temp_root();
    let src = host.path().join("src");
    std::fs::create_dir_all(src.join("d/sub")).unwrap();
    std::fs::write(src.join("d/sub/f"), "data\n").unwrap();
    std::os::unix::fs::symlink("sub/f", src.join("d/link")).unwrap();
    let id = cv
        .ok(&["create", "containerv/busybox", "true"])
        .trim()
        .to_string();
    // In: `tar c d | cv cp - C:/tmp`.
    let tar = Command::new("tar")
        .arg("-C")
        .arg(&src)
        .args(["-cf", "-", "d"])
        .output()
        .unwrap();
    assert!(tar.status.success());
    let mut c = cv
        .cmd(&["cp", "-", &format!("{id}:/tmp")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(&tar.stdout).unwrap();
    let o = c.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Out: `cv cp C:/tmp/d - | tar t`.
    let o = cv.run(&["cp", &format!("{id}:/tmp/d"), "-"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let list_file = host.path().join("out.tar");
    std::fs::write(&list_file, &o.stdout).unwrap();
    let t = Command::new("tar")
        .arg("-tvf")
        .arg(&list_file)
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&t.stdout);
    assert!(t.status.success(), "{listing}");
    assert!(listing.contains("d/sub/f"), "{listing}");
    assert!(listing.contains("d/link -> sub/f"), "{listing}");
    // A destination that is not a directory is refused.
    let mut c = cv
        .cmd(&["cp", "-", &format!("{id}:/etc/passwd")])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(&tar.stdout).unwrap();
    let o = c.wait_with_output().unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("must be a directory"));
    cv.ok(&["rm", &id]);
    cv.assert_gone(&id);
}

/// The attack: `/evil` in the container is a symlink to a host directory
/// the test owns; copies through it must stay inside the container.
fn symlink_attack(cv: &Cv, id: &str, hostdir: &std::path::Path) {
    let secret = hostdir.join("secret");
    std::fs::write(&secret, "host secret\n").unwrap();
    let payload = hostdir.parent().unwrap().join("payload");
    std::fs::write(&payload, "pwned\n").unwrap();
    // In through the link: the host directory gets nothing.
    let _ = cv.run(&["cp", path_str(&payload), &format!("{id}:/evil/pwned")]);
    assert!(
        !hostdir.join("pwned").exists(),
        "cp wrote through the link onto the host"
    );
    // Out through the link: never the host's file.
    let got = hostdir.parent().unwrap().join("got");
    let _ = cv.run(&["cp", &format!("{id}:/evil/secret"), path_str(&got)]);
    if got.exists() {
        assert_ne!(std::fs::read_to_string(&got).unwrap(), "host secret\n");
    }
    let o = cv.run(&["cp", &format!("{id}:/evil/secret"), "-"]);
    assert!(
        !String::from_utf8_lossy(&o.stdout).contains("host secret"),
        "the tar stream carried the host's file"
    );
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), "host secret\n");
}

#[test]
fn a_symlink_to_a_host_path_does_not_lead_out() {
    let cv = Cv::new();
    let host = temp_root();
    let hostdir = host.path().join("hostside");
    std::fs::create_dir(&hostdir).unwrap();
    let link = format!("ln -s {} /evil", path_str(&hostdir));
    // Running.
    let id = cv.run_d(&[
        "containerv/busybox",
        "sh",
        "-c",
        &format!("{link}; sleep 30"),
    ]);
    let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !cv
        .run(&["exec", &id, "test", "-L", "/evil"])
        .status
        .success()
    {
        assert!(std::time::Instant::now() < end);
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    symlink_attack(&cv, &id, &hostdir);
    cv.ok(&["rm", "-f", &id]);
    // Exited (its root mounted for the copy alone).
    let id = cv
        .ok(&["run", "-d", "containerv/busybox", "sh", "-c", &link])
        .trim()
        .to_string();
    assert_eq!(cv.ok(&["wait", &id]).trim(), "0");
    symlink_attack(&cv, &id, &hostdir);
    assert_eq!(cp_mounts(), 0);
    cv.ok(&["rm", &id]);
    cv.assert_gone(&id);
}

#[test]
fn a_hostile_tar_stream_stays_inside() {
    let cv = Cv::new();
    let host = temp_root();
    let id = cv
        .ok(&["create", "containerv/busybox", "true"])
        .trim()
        .to_string();
    // An entry climbing out with `..`, and a symlink to a host directory
    // followed by a file through it.
    let target = host.path().join("target");
    std::fs::create_dir(&target).unwrap();
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    h.set_mode(0o777);
    b.append_link(&mut h, "esc", &target).unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_size(6);
    h.set_mode(0o644);
    b.append_data(&mut h, "esc/owned", &b"owned\n"[..]).unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_size(6);
    h.set_mode(0o644);
    // append_data refuses `..`: write the name into the header by hand.
    h.as_old_mut().name[..13].copy_from_slice(b"../../escaped");
    h.set_cksum();
    b.append(&h, &b"owned\n"[..]).unwrap();
    let data = b.into_inner().unwrap();
    let mut c = cv
        .cmd(&["cp", "-", &format!("{id}:/tmp")])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(&data).unwrap();
    let _ = c.wait_with_output().unwrap();
    assert!(
        !target.join("owned").exists(),
        "wrote through a symlink onto the host"
    );
    assert!(std::fs::read_dir(&target).unwrap().next().is_none());
    assert_eq!(cp_mounts(), 0);
    cv.ok(&["rm", &id]);
    cv.assert_gone(&id);
}
