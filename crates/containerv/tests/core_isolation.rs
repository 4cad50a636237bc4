//! What a container sees is its own: processes, hostname, network, mounts,
//! IPC (root, real kernel, busybox rootfs).
#![cfg(target_os = "linux")]

use std::io::Read;

use containerv::{Container, ContainerOptions, ProcessOptions, Runtime, Stdio};
use containerv_testutil::{
    assert_no_leftovers, busybox_rootfs, mounts_mentioning, require_root, temp_root, unique_id,
};

/// Run `script` in `c` with `sh -c` and return (stdout, exit code).
fn sh(c: &Container, script: &str) -> (String, i32) {
    let mut o = ProcessOptions::new(["/bin/sh", "-c", script]);
    o.stdout = Stdio::Pipe;
    let mut p = c.spawn(o).unwrap();
    let mut s = String::new();
    p.stdout.take().unwrap().read_to_string(&mut s).unwrap();
    (s, p.wait().unwrap().code())
}

#[test]
fn container_sees_only_its_own() {
    require_root();
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("core-iso");
    let c = rt
        .create(
            &id,
            &ContainerOptions::new()
                .rootfs(busybox_rootfs())
                .hostname("isolated-box"),
        )
        .unwrap();

    // Processes: the init (pid 1) and the ps itself, nothing of the host.
    let (ps, code) = sh(&c, "ps -o pid,comm");
    assert_eq!(code, 0, "{ps}");
    let pids: Vec<&str> = ps.lines().skip(1).collect();
    assert!(pids.len() <= 3, "ps sees more than the container: {ps}");
    assert!(pids.iter().any(|l| l.trim().starts_with("1 ")), "{ps}");

    // Hostname, and /etc/hostname + /etc/hosts generated for it.
    let (h, _) = sh(
        &c,
        "hostname; cat /etc/hostname; grep -c isolated-box /etc/hosts",
    );
    assert_eq!(h, "isolated-box\nisolated-box\n1\n");

    // Network: only lo.
    let (net, _) = sh(&c, "ls /sys/class/net");
    assert_eq!(net.split_whitespace().collect::<Vec<_>>(), ["lo"], "{net}");

    // Mounts made inside (the rootfs on <root>/<id>/rootfs, /dev, /proc,
    // ...) never show on the host. (Spawned processes run with the spec's
    // default capabilities, without CAP_SYS_ADMIN, so they cannot mount.)
    let (inside, _) = sh(&c, "cat /proc/self/mountinfo");
    assert!(inside.contains(" /dev/mqueue "), "{inside}");
    assert!(mounts_mentioning(&id).is_empty());
    let (_, code) = sh(&c, "mkdir -p /tmp/m && mount -t tmpfs x /tmp/m");
    assert_ne!(code, 0, "mount without CAP_SYS_ADMIN succeeded");

    // IPC: a SysV shm segment made on the host is invisible inside.
    // SAFETY: a fresh private segment, removed below.
    let shm = unsafe { libc::shmget(libc::IPC_PRIVATE, 12345, libc::IPC_CREAT | 0o600) };
    assert!(shm >= 0);
    let host = std::fs::read_to_string("/proc/sysvipc/shm").unwrap();
    let (inside, _) = sh(&c, "cat /proc/sysvipc/shm");
    // SAFETY: removing the segment made above.
    unsafe { libc::shmctl(shm, libc::IPC_RMID, std::ptr::null_mut()) };
    let has = |t: &str| {
        t.lines()
            .any(|l| l.split_whitespace().nth(3) == Some("12345"))
    };
    assert!(has(&host), "{host}");
    assert!(!has(&inside), "{inside}");

    // Standard mounts and masked/read-only paths.
    let (m, _) = sh(
        &c,
        "test -c /dev/null && test -c /dev/urandom && test -L /dev/ptmx && \
         test -d /dev/pts && test -d /dev/shm && test -d /dev/mqueue && echo dev; \
         touch /sys/x 2>/dev/null || echo sys-ro; \
         echo 1 > /proc/sysrq-trigger 2>/dev/null || echo proc-ro; \
         test -s /proc/kcore || echo kcore-masked; \
         ls /sys/fs/cgroup | grep -q memory && echo cgroup",
    );
    assert_eq!(m, "dev\nsys-ro\nproc-ro\nkcore-masked\ncgroup\n");

    c.destroy().unwrap();
    assert_no_leftovers(root.path(), &id);
}

#[test]
fn readonly_rootfs_and_binds() {
    require_root();
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("core-ro");
    let host_dir = root.path().join("shared");
    std::fs::create_dir(&host_dir).unwrap();
    std::fs::write(host_dir.join("in"), "from host").unwrap();
    let ro_dir = root.path().join("ro");
    std::fs::create_dir(&ro_dir).unwrap();
    let c = rt
        .create(
            &id,
            &ContainerOptions::new()
                .rootfs(busybox_rootfs())
                .readonly_rootfs(true)
                .bind(&host_dir, "/mnt/rw", false)
                .bind(&ro_dir, "/mnt/ro", true),
        )
        .unwrap();
    let (out, _) = sh(
        &c,
        "touch /newfile 2>/dev/null || echo root-ro; cat /mnt/rw/in; echo; \
         echo hi > /mnt/rw/out && echo rw-ok; touch /mnt/ro/x 2>/dev/null || echo ro-ok",
    );
    assert_eq!(out, "root-ro\nfrom host\nrw-ok\nro-ok\n");
    assert_eq!(
        std::fs::read_to_string(host_dir.join("out")).unwrap(),
        "hi\n"
    );
    c.destroy().unwrap();
    assert_no_leftovers(root.path(), &id);
}

#[test]
fn mount_made_inside_never_shows_on_the_host() {
    require_root();
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("core-mnt");
    let marker = format!("mnt-{id}");
    let (mut spec, mut cfg) = ContainerOptions::new()
        .rootfs(busybox_rootfs())
        .overlay(false)
        .command([
            "/bin/sh".to_string(),
            "-c".to_string(),
            format!(
                "mkdir -p /tmp/{marker} && mount -t tmpfs {marker} /tmp/{marker} && \
                 grep -c {marker} /proc/self/mountinfo && (read x; exit 0)"
            ),
        ])
        .build(&id)
        .unwrap();
    // No capability set in the spec: the init keeps root's (CAP_SYS_ADMIN).
    spec.process_mut().as_mut().unwrap().set_capabilities(None);
    cfg.stdin = Stdio::Pipe;
    cfg.stdout = Stdio::Pipe;
    let mut c = rt.create_from_spec(&id, spec, cfg).unwrap();
    let [stdin, stdout, _] = c.take_stdio();
    let mut line = [0u8; 2];
    stdout.unwrap().read_exact(&mut line).unwrap();
    assert_eq!(&line, b"1\n", "the mount exists inside");
    assert!(
        mounts_mentioning(&marker).is_empty(),
        "mount leaked to the host"
    );
    drop(stdin);
    assert!(c.wait().unwrap().success());
    c.destroy().unwrap();
    assert_no_leftovers(root.path(), &id);
}
