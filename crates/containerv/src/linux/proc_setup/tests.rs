//! Fork-based tests of the prepare/exec split.

use super::caps::{cap_mask, capability_number, CAPABILITIES};
use super::*;
use oci_spec::runtime::{
    Capabilities, Capability, LinuxCapabilitiesBuilder, PosixRlimitBuilder, PosixRlimitType,
    ProcessBuilder, UserBuilder,
};
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd};
use std::path::Path;

fn process(args: &[&str]) -> oci_spec::runtime::ProcessBuilder {
    ProcessBuilder::default()
        .args(args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .env(vec!["PATH=/usr/sbin:/usr/bin:/sbin:/bin".to_string()])
        .cwd("/")
}

/// Fork, run `p.exec()` with stdout on a pipe; return (output, exit
/// status, child error if exec failed).
fn run(p: &PreparedProcess) -> (String, i32, Option<ChildError>) {
    let (out_r, out_w) = nix::unistd::pipe().unwrap();
    let (err_r, err_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    // SAFETY: the child only makes system calls (dup2, exec, write, _exit).
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        // SAFETY: in the forked child; system calls only.
        unsafe {
            libc::dup2(out_w.as_raw_fd(), 1);
            crate::linux::report::send_failed(err_w.as_raw_fd(), p.exec());
            libc::_exit(127);
        }
    }
    drop(out_w);
    drop(err_w);
    let mut out = String::new();
    // SAFETY: we own out_r; into a File that closes it.
    let mut f = unsafe { std::fs::File::from_raw_fd(std::os::fd::IntoRawFd::into_raw_fd(out_r)) };
    f.read_to_string(&mut out).unwrap();
    let report = crate::linux::report::receive(&mut std::fs::File::from(err_r)).unwrap();
    let status = super::super::process::wait_pid(pid).unwrap().code();
    let err = match report {
        crate::linux::report::Report::Failed(e) => Some(e),
        _ => None,
    };
    (out, status, err)
}

#[test]
fn capability_names() {
    assert_eq!(capability_number("CAP_CHOWN").unwrap(), 0);
    assert_eq!(capability_number("CAP_NET_ADMIN").unwrap(), 12);
    assert_eq!(capability_number("sys_admin").unwrap(), 21);
    assert_eq!(capability_number("CAP_CHECKPOINT_RESTORE").unwrap(), 40);
    let e = capability_number("CAP_BOGUS").unwrap_err().to_string();
    assert!(e.contains("CAP_BOGUS"), "{e}");
    // Every oci-spec capability maps to a number.
    let all: Capabilities = serde_json::from_str::<Vec<Capability>>(
        &serde_json::to_string(&CAPABILITIES.to_vec()).unwrap(),
    )
    .unwrap()
    .into_iter()
    .collect();
    assert_eq!(cap_mask(&all, 40).unwrap(), (1u64 << 41) - 1);
}

#[test]
fn bad_specs_are_named() {
    let p = process(&[]).build().unwrap();
    let e = PreparedProcess::prepare(&p, Path::new("/"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("process.args is empty"), "{e}");
    let p = process(&["/bin/true"]).cwd("rel").build().unwrap();
    let e = PreparedProcess::prepare(&p, Path::new("/"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("\"rel\"") && e.contains("absolute"), "{e}");
    let p = process(&["/bin/tr\0ue"]).build().unwrap();
    let e = PreparedProcess::prepare(&p, Path::new("/"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("NUL"), "{e}");
    let p = process(&["/bin/true"])
        .env(vec!["NOEQUALS".to_string()])
        .build()
        .unwrap();
    let e = PreparedProcess::prepare(&p, Path::new("/"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("NOEQUALS"), "{e}");
    let rl = PosixRlimitBuilder::default()
        .typ(PosixRlimitType::RlimitNofile)
        .soft(10u64)
        .hard(5u64)
        .build()
        .unwrap();
    let p = process(&["/bin/true"]).rlimits(vec![rl]).build().unwrap();
    let e = PreparedProcess::prepare(&p, Path::new("/"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("RLIMIT_NOFILE"), "{e}");
}

#[test]
fn unknown_user_is_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("etc")).unwrap();
    std::fs::write(dir.path().join("etc/passwd"), "root:x:0:0::/root:/bin/sh\n").unwrap();
    let user = UserBuilder::default().username("nosuch").build().unwrap();
    let p = process(&["/bin/true"]).user(user).build().unwrap();
    let e = PreparedProcess::prepare(&p, dir.path()).unwrap_err();
    assert!(matches!(&e, Error::UnknownUser(n) if n == "nosuch"), "{e}");
}

#[test]
fn passwd_symlink_stays_in_root() {
    // /etc -> /etc inside the root is a loop there, never the host's
    // /etc: resolving "root" must fail, not find the host's root.
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/etc", dir.path().join("etc")).unwrap();
    let user = UserBuilder::default().username("root").build().unwrap();
    let p = process(&["/bin/true"]).user(user).build().unwrap();
    let e = PreparedProcess::prepare(&p, dir.path())
        .unwrap_err()
        .to_string();
    assert!(e.contains("etc/passwd"), "{e}");
    // An absolute symlink is taken from the container's root.
    std::fs::remove_file(dir.path().join("etc")).unwrap();
    std::fs::create_dir(dir.path().join("real")).unwrap();
    std::fs::write(
        dir.path().join("real/passwd"),
        "app:x:1234:99:app:/home/app:/bin/sh\n",
    )
    .unwrap();
    std::os::unix::fs::symlink("/../../real", dir.path().join("etc")).unwrap();
    let user = UserBuilder::default().username("app").build().unwrap();
    let p = process(&["/bin/true"]).user(user).build().unwrap();
    let p = PreparedProcess::prepare(&p, dir.path()).unwrap();
    assert_eq!(p.ids(), (1234, 99));
}

#[test]
fn path_search_and_exit_code() {
    let p = PreparedProcess::prepare(
        &process(&["sh", "-c", "echo $HOME; exit 7"])
            .build()
            .unwrap(),
        Path::new("/"),
    )
    .unwrap();
    let (out, status, err) = run(&p);
    assert_eq!((out.trim(), status, err), ("/root", 7, None));
}

#[test]
fn missing_program_is_reported() {
    let p = PreparedProcess::prepare(
        &process(&["nosuch-program-xyz"]).build().unwrap(),
        Path::new("/"),
    )
    .unwrap();
    let (_, status, err) = run(&p);
    assert_eq!(status, 127);
    let err = err.expect("a child error");
    assert_eq!((err.step, err.errno), (Step::Exec, libc::ENOENT));
    let msg = p.error(err).to_string();
    assert!(
        msg.contains("exec \"nosuch-program-xyz\": No such file"),
        "{msg}"
    );
}

#[test]
fn eacces_wins_over_enoent() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("prog"), "#!/bin/sh\n").unwrap();
    let path = format!("PATH=/nonexistent:{}:/also-missing", dir.path().display());
    let p = process(&["prog"]).env(vec![path]).build().unwrap();
    let p = PreparedProcess::prepare(&p, Path::new("/")).unwrap();
    let (_, _, err) = run(&p);
    assert_eq!(err.map(|e| e.errno), Some(libc::EACCES));
}

#[test]
fn bad_cwd_is_reported() {
    let p = process(&["/bin/true"])
        .cwd("/nonexistent-dir-xyz")
        .build()
        .unwrap();
    let p = PreparedProcess::prepare(&p, Path::new("/")).unwrap();
    let (_, _, err) = run(&p);
    let msg = p.error(err.expect("a child error")).to_string();
    assert!(msg.contains("chdir \"/nonexistent-dir-xyz\""), "{msg}");
}

#[test]
fn credentials_groups_and_caps() {
    let user = UserBuilder::default()
        .uid(65534u32)
        .gid(65534u32)
        .additional_gids(vec![10u32, 20])
        .umask(0o027u32)
        .build()
        .unwrap();
    let p = process(&[
        "sh",
        "-c",
        "id -u; id -g; id -G; umask; grep -E '^Cap(Eff|Bnd)' /proc/self/status",
    ])
    .user(user)
    .no_new_privileges(true)
    .build()
    .unwrap();
    let p = PreparedProcess::prepare(&p, Path::new("/")).unwrap();
    let (out, status, err) = run(&p);
    assert_eq!((status, err), (0, None), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "65534");
    assert_eq!(lines[1], "65534");
    let mut g: Vec<&str> = lines[2].split_whitespace().collect();
    g.sort();
    assert_eq!(g, ["10", "20", "65534"]);
    assert_eq!(lines[3], "0027");
    // Default oci-spec caps: AUDIT_WRITE, KILL, NET_BIND_SERVICE in the
    // bounding set; a non-root user gets them as ambient → effective.
    let want = format!("{:016x}", (1u64 << 29) | (1 << 5) | (1 << 10));
    assert!(lines[4].ends_with(&want), "{out}");
    assert!(lines[5].ends_with(&want), "{out}");
}

#[test]
fn root_with_restricted_caps() {
    let caps: Capabilities = [Capability::Kill, Capability::Chown].into_iter().collect();
    let c = LinuxCapabilitiesBuilder::default()
        .bounding(caps.clone())
        .effective(caps.clone())
        .permitted(caps.clone())
        .inheritable(Capabilities::new())
        .ambient(Capabilities::new())
        .build()
        .unwrap();
    let p = process(&["sh", "-c", "grep -E '^Cap(Eff|Bnd)' /proc/self/status"])
        .capabilities(c)
        .build()
        .unwrap();
    let p = PreparedProcess::prepare(&p, Path::new("/")).unwrap();
    let (out, status, err) = run(&p);
    assert_eq!((status, err), (0, None), "{out}");
    let want = format!("{:016x}", (1u64 << 5) | 1);
    for l in out.lines() {
        assert!(l.ends_with(&want), "{out}");
    }
}
