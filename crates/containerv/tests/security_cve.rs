//! Real attempts from inside a container at the runtime's known escape
//! classes:
//! - CVE-2019-5736: reopening the runtime binary through /proc/<pid>/exe
//!   of a runtime process in the container (the init before it execs, a
//!   joining `exec` process before its execve);
//! - CVE-2024-21626: host descriptors leaking into the container, and a
//!   working directory reached through one (/proc/self/fd/N);
//! - mount targets that are symlinks pointing out of the rootfs.
#![cfg(target_os = "linux")]

mod spec_common;

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;

use containerv::{ContainerOptions, ProcessOptions, StartMode, Stdio};
use containerv_testutil::{assert_no_leftovers, busybox_rootfs, mounts_mentioning};
use spec_common::*;

/// Run `script` in the container through spawn; its output.
fn spawn_output(c: &containerv::Container, script: &str) -> String {
    let mut p = ProcessOptions::new(["/bin/sh", "-c", script]);
    p.stdout = Stdio::Pipe;
    p.stderr = Stdio::Pipe;
    let mut p = c.spawn(p).unwrap();
    let mut out = String::new();
    use std::io::Read;
    p.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    p.stderr.take().unwrap().read_to_string(&mut out).unwrap();
    p.wait().unwrap();
    out
}

const EXE_ATTACK: &str = "readlink /proc/1/exe || echo readlink-denied; \
    cat /proc/1/exe >/dev/null && echo read-ok; \
    (exec 3>>/proc/1/exe) && echo write-open-ok; \
    (exec 3</proc/1/exe) && echo open-ok; echo done";

fn assert_exe_unreachable(out: &str) {
    assert!(out.contains("done"), "{out}");
    for bad in ["read-ok", "write-open-ok", "open-ok"] {
        assert!(!out.contains(bad), "{bad}: {out}");
    }
    assert!(out.contains("readlink-denied"), "{out}");
    assert!(out.contains("Permission denied"), "{out}");
}

/// While created (OnStart), the init is a copy of the runtime waiting as
/// pid 1; the built-in reaper is one for good. Neither's exe can be opened.
#[test]
fn runtime_exe_of_the_init_cannot_be_reopened() {
    let (_root, rt) = runtime();
    let id = unique_id("sec-exe-init");
    let (spec, mut config) = sh_spec(&id, "sleep 100");
    config.start = StartMode::OnStart;
    let c = rt.create_from_spec(&id, spec, config).unwrap();
    let out = spawn_output(&c, EXE_ATTACK);
    c.destroy().unwrap();
    assert_no_leftovers(rt.root(), &id);
    assert_exe_unreachable(&out);

    let id = unique_id("sec-exe-reaper");
    let c = rt
        .create(&id, &ContainerOptions::new().rootfs(busybox_rootfs()))
        .unwrap();
    let out = spawn_output(&c, EXE_ATTACK);
    c.destroy().unwrap();
    assert_no_leftovers(rt.root(), &id);
    assert_exe_unreachable(&out);
}

/// `stat` of a file: (dev, ino).
fn dev_ino(p: &str) -> (u64, u64) {
    let m = std::fs::metadata(p).unwrap();
    (m.dev(), m.ino())
}

/// Append the decimal digits of `n` to `buf` at `len`.
fn push_num(buf: &mut [u8], len: &mut usize, n: &[u8]) {
    buf[*len..*len + n.len()].copy_from_slice(n);
    *len += n.len();
}

/// The attacker, forked from the test: joins the container (namespaces,
/// then a fork into its pid namespace), drops every capability and polls
/// /proc for processes whose exe it can open, until `stop` reaches EOF.
/// Reports (caught, breaches) on `report`: caught = processes seen while
/// they were still the runtime (comm of this test thread), breaches = exe
/// opened and found to be the runtime binary. System calls only.
///
/// # Safety
/// Only in a freshly forked child; never returns.
unsafe fn attacker(nsfds: &[RawFd], stop: RawFd, report: RawFd, runtime: (u64, u64)) -> ! {
    // SAFETY: we are the forked child (the caller's contract); system
    // calls on descriptors the parent opened for us, then _exit.
    unsafe {
        for fd in nsfds {
            if libc::setns(*fd, 0) != 0 {
                libc::_exit(2);
            }
        }
        // Keep only the two pipes: the fork copied every descriptor of the
        // test process (other tests' pipes, the stop pipe's write end).
        let (lo, hi) = (stop.min(report), stop.max(report));
        libc::syscall(libc::SYS_close_range, 0, lo - 1, 0);
        libc::syscall(libc::SYS_close_range, lo + 1, hi - 1, 0);
        libc::syscall(libc::SYS_close_range, hi + 1, u32::MAX, 0);
        let pid = libc::fork();
        if pid != 0 {
            libc::waitpid(pid, std::ptr::null_mut(), 0);
            libc::_exit(0);
        }
        libc::chdir(c"/".as_ptr());
        // The container root's capabilities (the spec's defaults:
        // AUDIT_WRITE, KILL, NET_BIND_SERVICE; no CAP_SYS_PTRACE).
        #[repr(C)]
        struct Hdr {
            v: u32,
            pid: i32,
        }
        let hdr = Hdr {
            v: 0x2008_0522,
            pid: 0,
        };
        let caps: u32 = (1 << 29) | (1 << 5) | (1 << 10);
        let data = [caps, caps, 0, 0, 0, 0];
        if libc::syscall(libc::SYS_capset, &hdr, data.as_ptr()) != 0 {
            libc::_exit(3);
        }
        let me = libc::getpid();
        let mut my_comm = [0u8; 32];
        let cfd = libc::open(c"/proc/self/comm".as_ptr(), libc::O_RDONLY);
        let my_len = libc::read(cfd, my_comm.as_mut_ptr().cast(), 32);
        libc::close(cfd);
        let (mut caught, mut breaches) = (0u32, 0u32);
        let mut b = 0u8;
        while libc::read(stop, (&mut b as *mut u8).cast(), 1) != 0 {
            let dir = libc::open(c"/proc".as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY);
            let mut ents = [0u8; 8192];
            loop {
                let n = libc::syscall(libc::SYS_getdents64, dir, ents.as_mut_ptr(), ents.len());
                if n <= 0 {
                    break;
                }
                let mut off = 0usize;
                while off < n as usize {
                    let reclen = u16::from_ne_bytes([ents[off + 16], ents[off + 17]]) as usize;
                    let name = &ents[off + 19..off + reclen];
                    let name = &name[..name.iter().position(|&c| c == 0).unwrap_or(name.len())];
                    off += reclen;
                    if name.is_empty() || !name.iter().all(u8::is_ascii_digit) {
                        continue;
                    }
                    let mut num = 0i32;
                    for d in name {
                        num = num * 10 + (d - b'0') as i32;
                    }
                    if num == me || num == 1 {
                        continue;
                    }
                    let mut path = [0u8; 64];
                    let mut len = 0;
                    push_num(&mut path, &mut len, b"/proc/");
                    push_num(&mut path, &mut len, name);
                    let base = len;
                    push_num(&mut path, &mut len, b"/exe\0");
                    let fd = libc::open(path.as_ptr().cast(), libc::O_RDONLY | libc::O_CLOEXEC);
                    if fd >= 0 {
                        let mut st: libc::stat = std::mem::zeroed();
                        libc::fstat(fd, &mut st);
                        if (st.st_dev, st.st_ino) == runtime {
                            breaches += 1;
                        }
                        libc::close(fd);
                    }
                    len = base;
                    push_num(&mut path, &mut len, b"/comm\0");
                    let fd = libc::open(path.as_ptr().cast(), libc::O_RDONLY | libc::O_CLOEXEC);
                    if fd >= 0 {
                        let mut comm = [0u8; 32];
                        let l = libc::read(fd, comm.as_mut_ptr().cast(), 32);
                        libc::close(fd);
                        if l == my_len && comm[..l.max(0) as usize] == my_comm[..l.max(0) as usize]
                        {
                            caught += 1;
                        }
                    }
                }
            }
            libc::close(dir);
        }
        let mut out = [0u8; 8];
        out[..4].copy_from_slice(&caught.to_ne_bytes());
        out[4..].copy_from_slice(&breaches.to_ne_bytes());
        libc::write(report, out.as_ptr().cast(), 8);
        libc::_exit(0)
    }
}

/// A process entering the container with `exec` is a copy of the runtime
/// until its execve: an attacker inside polling /proc must never open its
/// exe. The PATH makes execve try many directories first, so the window
/// is wide and the attacker demonstrably sees these processes.
#[test]
fn runtime_exe_of_an_exec_process_cannot_be_reopened() {
    let (_root, rt) = runtime();
    let id = unique_id("sec-exe-exec");
    let c = rt
        .create(&id, &ContainerOptions::new().rootfs(busybox_rootfs()))
        .unwrap();
    let runtime = dev_ino("/proc/self/exe");
    let nsfds: Vec<OwnedFd> = ["ipc", "uts", "net", "cgroup", "pid", "mnt"]
        .iter()
        .map(|n| {
            std::fs::File::open(format!("/proc/{}/ns/{n}", c.pid()))
                .unwrap()
                .into()
        })
        .collect();
    let raw: Vec<RawFd> = nsfds.iter().map(|f| f.as_raw_fd()).collect();
    let (stop_r, stop_w) = nix::unistd::pipe().unwrap();
    nix::fcntl::fcntl(
        &stop_r,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    )
    .unwrap();
    let (rep_r, rep_w) = nix::unistd::pipe().unwrap();
    // SAFETY: the child runs `attacker` (system calls only) and exits.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        // SAFETY: we are the forked child.
        unsafe { attacker(&raw, stop_r.as_raw_fd(), rep_w.as_raw_fd(), runtime) }
    }
    drop(rep_w);
    drop(stop_r);

    let path: Vec<String> = (0..300).map(|i| format!("/nonexistent{i}")).collect();
    let path = format!("PATH={}:/bin", path.join(":"));
    let mut rounds = 0;
    let (caught, breaches) = loop {
        for _ in 0..50 {
            let mut p = ProcessOptions::new(["true"]);
            p.env = vec![path.clone()];
            c.spawn(p).unwrap().wait().unwrap();
        }
        rounds += 1;
        if rounds == 2 {
            drop(stop_w);
            let mut buf = [0u8; 8];
            let mut f = std::fs::File::from(rep_r);
            use std::io::Read;
            f.read_exact(&mut buf).expect("the attacker reports");
            break (
                u32::from_ne_bytes(buf[..4].try_into().unwrap()),
                u32::from_ne_bytes(buf[4..].try_into().unwrap()),
            );
        }
    };
    // SAFETY: reaping the attacker we forked.
    unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
    c.destroy().unwrap();
    assert_no_leftovers(rt.root(), &id);
    eprintln!("attacker: {caught} sightings of exec'ing processes, {breaches} breaches");
    assert_eq!(breaches, 0, "the runtime binary was opened from inside");
    assert!(
        caught > 0,
        "the attacker never saw an exec'ing process: the test proved nothing"
    );
}

/// Open a host directory without CLOEXEC, as a careless caller might.
fn leaky_dir_fd(p: &str) -> OwnedFd {
    let c = CString::new(p).unwrap();
    // SAFETY: open(2) with a valid path; the fd is owned below.
    let fd = unsafe { libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY) };
    assert!(fd >= 0);
    // SAFETY: a fresh descriptor.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

#[test]
fn no_host_fd_and_no_host_cwd_reach_the_container() {
    let (_root, rt) = runtime();
    let leak = leaky_dir_fd("/sys/fs/cgroup");
    let n = leak.as_raw_fd();

    // The init: exactly 0, 1, 2 (the shell's own view of itself). The
    // listing waits for the background child to be `sleep`: before its
    // exec the forked shell is still moving its stdin to /dev/null
    // (close 0, open), and a loaded machine caught it with fd 0 closed.
    let id = unique_id("sec-fds-init");
    let (spec, config) = sh_spec(&id, "sleep 5 & p=$!; until [ \"$(cat /proc/$p/comm)\" = sleep ]; do :; done; ls /proc/$p/fd > /dev/shm/fds; readlink /proc/$p/cwd > /dev/shm/cwd; kill $p; echo $(cat /dev/shm/fds); cat /dev/shm/cwd");
    let out = run_ok(&rt, &id, spec, config);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0].trim(), "0 1 2", "{out}");
    assert_eq!(lines[1], "/", "{out}");

    // The init with its cwd through the leaked descriptor.
    let id = unique_id("sec-cwd-init");
    let (mut spec, config) = sh_spec(&id, "pwd; ls");
    spec.process_mut()
        .as_mut()
        .unwrap()
        .set_cwd(format!("/proc/self/fd/{n}").into());
    let e = create_err(&rt, &id, spec, config);
    assert!(e.contains(&format!("/proc/self/fd/{n}")), "{e}");

    // exec: the same checks for a process joining a running container.
    let id = unique_id("sec-fds-exec");
    let c = rt
        .create(&id, &ContainerOptions::new().rootfs(busybox_rootfs()))
        .unwrap();
    let out = spawn_output(&c, "sleep 5 & p=$!; until [ \"$(cat /proc/$p/comm)\" = sleep ]; do :; done; ls /proc/$p/fd > /dev/shm/fds; readlink /proc/$p/cwd > /dev/shm/cwd; kill $p; echo $(cat /dev/shm/fds); cat /dev/shm/cwd");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0].trim(), "0 1 2", "{out}");
    assert_eq!(lines[1], "/", "{out}");
    let mut p = ProcessOptions::new(["/bin/sh", "-c", "pwd; ls"]);
    p.cwd = Some(format!("/proc/self/fd/{n}").into());
    p.stdout = Stdio::Pipe;
    let e = c.spawn(p).unwrap_err().to_string();
    // chdir works there (the descriptor is still open before exec); the
    // check after it sees the cwd is not under the container's root.
    assert!(e.contains("resolves outside the container"), "{e}");
    assert_eq!(
        c.processes().map(|p| p.len()).unwrap_or(0),
        1,
        "only the init is left"
    );
    c.destroy().unwrap();
    assert_no_leftovers(rt.root(), &id);
    drop(leak);
}

/// A rootfs whose /abs-escape and /rel-escape are symlinks aiming at a
/// host directory (absolute, and relative with many ".."), and the spec
/// mounting tmpfs below them.
fn escape_setup(
    rootfs: &std::path::Path,
    host_dir: &std::path::Path,
    id: &str,
) -> (containerv::Spec, containerv::CreateConfig) {
    std::os::unix::fs::symlink(host_dir, rootfs.join("abs-escape")).unwrap();
    let up = "../".repeat(20);
    std::os::unix::fs::symlink(
        format!(
            "{up}{}",
            host_dir.display().to_string().trim_start_matches('/')
        ),
        rootfs.join("rel-escape"),
    )
    .unwrap();
    let (mut spec, config) = sh_spec(
        id,
        "grep -c escape-tmpfs /proc/self/mountinfo; ls -d /abs-escape/sub /rel-escape/sub2 && echo listed",
    );
    spec.root_mut()
        .as_mut()
        .unwrap()
        .set_path(rootfs.to_path_buf());
    let mut m = spec.mounts().clone().unwrap_or_default();
    for dest in ["/abs-escape/sub", "/rel-escape/sub2"] {
        m.push(
            oci_spec::runtime::MountBuilder::default()
                .destination(dest)
                .typ("tmpfs")
                .source("escape-tmpfs")
                .build()
                .unwrap(),
        );
    }
    spec.set_mounts(Some(m));
    (spec, config)
}

#[test]
fn mount_targets_do_not_follow_symlinks_out_of_the_rootfs() {
    let (_root, rt) = runtime();
    let host = tempfile::tempdir().unwrap();
    let host_dir = host.path().join("victim");
    std::fs::create_dir(&host_dir).unwrap();

    // The symlinks resolve inside the rootfs, where the path exists: the
    // mounts land there (visible in the container after pivot_root).
    let rootfs_dir = tempfile::tempdir().unwrap();
    let rootfs = containerv_testutil::busybox_rootfs_copy(rootfs_dir.path());
    let inside = rootfs.join(host_dir.strip_prefix("/").unwrap());
    std::fs::create_dir_all(&inside).unwrap();
    let id = unique_id("sec-mount-escape");
    let (mut spec, mut config) = escape_setup(&rootfs, &host_dir, &id);
    spec.set_hostname(Some("x".into()));
    config.stdout = Stdio::Pipe;
    let out = run_ok(&rt, &id, spec, config);
    assert!(out.contains("listed"), "{out}");
    assert_eq!(out.lines().next(), Some("2"), "{out}");
    assert!(inside.join("sub").is_dir() && inside.join("sub2").is_dir());
    assert_eq!(std::fs::read_dir(&host_dir).unwrap().count(), 0);
    assert!(mounts_mentioning("escape-tmpfs").is_empty());

    // Where the symlinks' targets do not exist inside the rootfs, they are
    // made there (runc's securejoin does the same); nothing on the host.
    let rootfs_dir = tempfile::tempdir().unwrap();
    let rootfs = containerv_testutil::busybox_rootfs_copy(rootfs_dir.path());
    let inside = rootfs.join(host_dir.strip_prefix("/").unwrap());
    let id = unique_id("sec-mount-escape2");
    let (mut spec, mut config) = escape_setup(&rootfs, &host_dir, &id);
    spec.set_hostname(Some("x".into()));
    config.stdout = Stdio::Pipe;
    let out = run_ok(&rt, &id, spec, config);
    assert!(out.contains("listed"), "{out}");
    assert!(inside.join("sub").is_dir() && inside.join("sub2").is_dir());
    assert!(mounts_mentioning("escape-tmpfs").is_empty());
    assert_eq!(std::fs::read_dir(&host_dir).unwrap().count(), 0);
}

/// A mount target through a symlink loop: a clear error, nothing left.
#[test]
fn mount_target_through_a_symlink_loop_fails_cleanly() {
    let (_root, rt) = runtime();
    let rootfs_dir = tempfile::tempdir().unwrap();
    let rootfs = containerv_testutil::busybox_rootfs_copy(rootfs_dir.path());
    std::os::unix::fs::symlink("/loop2", rootfs.join("loop1")).unwrap();
    std::os::unix::fs::symlink("loop1", rootfs.join("loop2")).unwrap();
    let id = unique_id("sec-mount-loop");
    let (mut spec, config) = sh_spec(&id, "true");
    spec.root_mut().as_mut().unwrap().set_path(rootfs.clone());
    let mut m = spec.mounts().clone().unwrap_or_default();
    m.push(
        oci_spec::runtime::MountBuilder::default()
            .destination("/loop1/x")
            .typ("tmpfs")
            .source("loop-tmpfs")
            .build()
            .unwrap(),
    );
    spec.set_mounts(Some(m));
    let e = create_err(&rt, &id, spec, config);
    assert!(e.contains("mount tmpfs on /loop1/x"), "{e}");
    assert!(e.contains("symbolic links"), "{e}");
    assert!(mounts_mentioning("loop-tmpfs").is_empty());
}
