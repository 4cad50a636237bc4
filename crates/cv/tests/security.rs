//! docker's isolation defaults and flags, read from inside real
//! containers: the capability sets, seccomp mode and no_new_privs from
//! /proc/self/status for `cv run`, `-u 1000`, `--privileged`,
//! `--cap-drop ALL` and the security options; real attempts at what the
//! defaults forbid (a user namespace, a mount, chown without
//! CAP_CHOWN, a syscall a custom profile denies); block I/O throttles
//! measured with O_DIRECT `dd` against the limit; and every bad value
//! refused with docker's exit code 125, nothing created.

mod common;

use std::time::Instant;

use common::Cv;

/// docker's 14 default capabilities as a /proc mask.
const DOCKER_CAPS: &str = "00000000a80425fb";
const NONE: &str = "0000000000000000";

/// The fields of /proc/self/status we compare.
fn status(cv: &Cv, flags: &[&str]) -> Vec<(String, String)> {
    let mut a = vec!["run", "--rm"];
    a.extend_from_slice(flags);
    a.extend_from_slice(&["containerv/busybox", "cat", "/proc/self/status"]);
    let out = cv.ok(&a);
    out.lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(k, _)| k.starts_with("Cap") || *k == "Seccomp" || *k == "NoNewPrivs")
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

fn field<'a>(s: &'a [(String, String)], k: &str) -> &'a str {
    s.iter()
        .find(|(n, _)| n == k)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("{k} missing in {s:?}"))
}

/// Our own bounding set: what `--privileged` can give at most.
fn own_bounding() -> String {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .unwrap()
        .trim()
        .to_string()
}

/// flags, CapEff, CapPrm, CapBnd, Seccomp mode, NoNewPrivs.
type Row<'a> = (&'a [&'a str], &'a str, &'a str, &'a str, &'a str, &'a str);

#[test]
fn defaults_and_flags_as_seen_from_inside() {
    let cv = Cv::new();
    let all = own_bounding();
    let table: &[Row] = &[
        (&[], DOCKER_CAPS, DOCKER_CAPS, DOCKER_CAPS, "2", "0"),
        (&["-u", "1000"], NONE, NONE, DOCKER_CAPS, "2", "0"),
        (&["-u", "1000:1000"], NONE, NONE, DOCKER_CAPS, "2", "0"),
        (
            &["-u", "root"],
            DOCKER_CAPS,
            DOCKER_CAPS,
            DOCKER_CAPS,
            "2",
            "0",
        ),
        (&["--privileged"], &all, &all, &all, "0", "0"),
        (&["--cap-drop", "ALL"], NONE, NONE, NONE, "2", "0"),
        (
            &["--cap-drop", "all", "--cap-add", "net_bind_service"],
            "0000000000000400",
            "0000000000000400",
            "0000000000000400",
            "2",
            "0",
        ),
        (
            &["--cap-add", "CAP_SYS_ADMIN", "--cap-drop", "chown"],
            "00000000a82425fa",
            "00000000a82425fa",
            "00000000a82425fa",
            "2",
            "0",
        ),
        (
            &["--security-opt", "seccomp=unconfined"],
            DOCKER_CAPS,
            DOCKER_CAPS,
            DOCKER_CAPS,
            "0",
            "0",
        ),
        (
            &["--security-opt", "no-new-privileges"],
            DOCKER_CAPS,
            DOCKER_CAPS,
            DOCKER_CAPS,
            "2",
            "1",
        ),
        (
            &["--security-opt", "no-new-privileges=false"],
            DOCKER_CAPS,
            DOCKER_CAPS,
            DOCKER_CAPS,
            "2",
            "0",
        ),
        // Accepted where they ask for nothing (no LSM on this host).
        (
            &[
                "--security-opt",
                "apparmor=unconfined",
                "--security-opt",
                "label=disable",
            ],
            DOCKER_CAPS,
            DOCKER_CAPS,
            DOCKER_CAPS,
            "2",
            "0",
        ),
    ];
    for (flags, eff, prm, bnd, seccomp, nnp) in table {
        let s = status(&cv, flags);
        let got = (
            field(&s, "CapEff"),
            field(&s, "CapPrm"),
            field(&s, "CapBnd"),
            field(&s, "Seccomp"),
            field(&s, "NoNewPrivs"),
        );
        assert_eq!(got, (*eff, *prm, *bnd, *seccomp, *nnp), "{flags:?}");
        // Never inheritable or ambient (CVE-2022-24769).
        assert_eq!(field(&s, "CapInh"), NONE, "{flags:?}");
        assert_eq!(field(&s, "CapAmb"), NONE, "{flags:?}");
    }
    assert!(cv.ids().is_empty(), "--rm left {:?}", cv.ids());
}

/// Runs `script` in a new container; (exit code, stdout + stderr).
fn sh(cv: &Cv, flags: &[&str], script: &str) -> (i32, String) {
    let mut a = vec!["run", "--rm"];
    a.extend_from_slice(flags);
    a.extend_from_slice(&["containerv/busybox", "sh", "-c", script]);
    let o = cv.run(&a);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.code().unwrap_or(-1), text)
}

#[test]
fn what_the_defaults_forbid_fails_for_real() {
    let cv = Cv::new();
    // A user namespace needs no capability: only the filter stops it.
    let (code, out) = sh(&cv, &[], "unshare -U true");
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("Operation not permitted"), "{out}");
    let (code, out) = sh(
        &cv,
        &["--security-opt", "seccomp=unconfined"],
        "unshare -U true",
    );
    assert_eq!(code, 0, "without the filter: {out}");
    // mount: neither the capability nor the syscall.
    let (code, out) = sh(&cv, &[], "mkdir /m && mount -t tmpfs t /m");
    assert_ne!(code, 0, "{out}");
    let (code, out) = sh(
        &cv,
        &["--cap-add", "SYS_ADMIN"],
        "mkdir /m && mount -t tmpfs t /m",
    );
    assert_eq!(
        code, 0,
        "CAP_SYS_ADMIN opens mount in the profile too: {out}"
    );
    // chown of someone else's file needs CAP_CHOWN.
    let script = "touch /f && chown 1:1 /f && echo chowned";
    let (code, out) = sh(&cv, &["--cap-drop", "CHOWN"], script);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("Operation not permitted"), "{out}");
    assert_eq!(sh(&cv, &[], script).0, 0);
    // A non-root user holds nothing, even with the capability bounded in.
    let (code, out) = sh(&cv, &["-u", "1000"], "mkdir /tmp/d && chown 0 /tmp/d");
    assert_ne!(code, 0, "{out}");
    // A profile from a file: its rule holds.
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("p.json");
    std::fs::write(
        &profile,
        r#"{"defaultAction":"SCMP_ACT_ALLOW",
            "syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":13}]}"#,
    )
    .unwrap();
    let opt = format!("seccomp={}", profile.display());
    let (code, out) = sh(&cv, &["--security-opt", &opt], "mkdir /x");
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("Permission denied"),
        "EACCES from the rule: {out}"
    );
    // no-new-privileges: a setuid binary gives nothing.
    let (code, out) = sh(
        &cv,
        &["--security-opt", "no-new-privileges", "-u", "1000"],
        "grep NoNewPrivs /proc/self/status",
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains('1'), "{out}");
    assert!(cv.ids().is_empty(), "--rm left {:?}", cv.ids());
}

#[test]
fn privileged_sees_host_devices_and_a_writable_sys() {
    let cv = Cv::new();
    let disk = root_disk();
    let (code, out) = sh(
        &cv,
        &["--privileged"],
        &format!("grep -w /sys /proc/mounts; ls {disk}; cat /proc/self/status | grep Seccomp:"),
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("sysfs /sys sysfs rw"), "{out}");
    assert!(out.contains(&disk), "{out}");
    let (_, out) = sh(&cv, &[], &format!("grep -w /sys /proc/mounts; ls {disk}"));
    assert!(out.contains("sysfs /sys sysfs ro"), "{out}");
    assert!(out.contains("No such file"), "{out}");
    // --device: the node under its new name, with the host's numbers.
    // (Block devices cannot be opened even by root on this host.)
    let (code, out) = sh(
        &cv,
        &["--device", "/dev/zero:/dev/z0:rw"],
        "ls -l /dev/z0 && head -c 4 /dev/z0 | od -An -tx1",
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("1,   5") && out.contains("00 00 00 00"),
        "{out}"
    );
    let (code, out) = sh(
        &cv,
        &["--device-cgroup-rule", "c 1:3 rwm"],
        "echo > /dev/null",
    );
    assert_eq!(code, 0, "{out}");
}

/// `--device HOST:CTR:PERMS` gives what PERMS says: with `r` the node
/// opens for reading and opening it for writing is refused by the device
/// cgroup (EPERM), with `rw` both work. /dev/net/tun: not one of the
/// devices every container may use, and opening it does nothing.
#[test]
fn device_permissions_are_the_ones_asked_for() {
    let cv = Cv::new();
    if !std::path::Path::new("/dev/net/tun").exists() {
        println!("SKIP device_permissions_are_the_ones_asked_for: no /dev/net/tun on this host");
        return;
    }
    let probe = "true < /dev/tun0 && echo read-ok; (true > /dev/tun0) 2>&1 && echo write-ok; true";
    let (code, out) = sh(&cv, &["--device", "/dev/net/tun:/dev/tun0:r"], probe);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("read-ok"), "read refused with r: {out}");
    assert!(!out.contains("write-ok"), "write allowed with r: {out}");
    assert!(out.contains("Operation not permitted"), "{out}");
    let (code, out) = sh(&cv, &["--device", "/dev/net/tun:/dev/tun0:rw"], probe);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("read-ok") && out.contains("write-ok"), "{out}");
    // Without permissions: docker's rwm.
    let (_, out) = sh(&cv, &["--device", "/dev/net/tun:/dev/tun0"], probe);
    assert!(out.contains("read-ok") && out.contains("write-ok"), "{out}");
    assert!(cv.ids().is_empty(), "--rm left {:?}", cv.ids());
}

/// `--ipc host` shares the host's POSIX shared memory too: docker binds
/// the host's /dev/shm, so a segment the host made is there inside, and
/// one made inside is the host's.
#[test]
fn ipc_host_shares_the_hosts_dev_shm() {
    let cv = Cv::new();
    let name = format!("cv-ipc-host-test-{}", std::process::id());
    let host_file = std::path::Path::new("/dev/shm").join(&name);
    std::fs::write(&host_file, "from the host").unwrap();
    let back = format!("{name}-back");
    let (code, out) = sh(
        &cv,
        &["--ipc", "host"],
        &format!("cat /dev/shm/{name}; echo; echo inside > /dev/shm/{back}"),
    );
    let seen_back = std::fs::read_to_string(std::path::Path::new("/dev/shm").join(&back));
    let _ = std::fs::remove_file(&host_file);
    let _ = std::fs::remove_file(std::path::Path::new("/dev/shm").join(&back));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("from the host"), "{out}");
    assert_eq!(seen_back.unwrap_or_default(), "inside\n");
    // The default: a private /dev/shm.
    std::fs::write(&host_file, "x").unwrap();
    let (code, out) = sh(&cv, &[], &format!("ls /dev/shm/{name}"));
    let _ = std::fs::remove_file(&host_file);
    assert_ne!(code, 0, "the host's /dev/shm is visible by default: {out}");
    assert!(cv.ids().is_empty(), "--rm left {:?}", cv.ids());
}

#[test]
fn namespaces_ulimits_sysctls_shm_groups() {
    let cv = Cv::new();
    let host_pidns = std::fs::read_link("/proc/self/ns/pid").unwrap();
    let (_, out) = sh(&cv, &["--pid", "host"], "readlink /proc/self/ns/pid");
    assert_eq!(out.trim(), host_pidns.to_str().unwrap());
    let host_uts = std::fs::read_link("/proc/self/ns/uts").unwrap();
    let (_, out) = sh(
        &cv,
        &["--uts", "host"],
        "readlink /proc/self/ns/uts; hostname",
    );
    assert!(out.starts_with(host_uts.to_str().unwrap()), "{out}");
    let host_ipc = std::fs::read_link("/proc/self/ns/ipc").unwrap();
    let (_, out) = sh(&cv, &["--ipc", "host"], "readlink /proc/self/ns/ipc");
    assert_eq!(out.trim(), host_ipc.to_str().unwrap());
    let (_, out) = sh(&cv, &[], "readlink /proc/self/ns/ipc /proc/self/ns/pid");
    assert!(!out.contains(host_ipc.to_str().unwrap()), "{out}");
    // --ipc container:NAME shares that container's IPC namespace and its
    // /dev/shm (POSIX shared memory) while it runs, both ways; only a
    // donor made `--ipc shareable` (docker's rule); a stopped one refuses
    // the start.
    let private = cv.run_d(&["--name", "ipc-private", "containerv/busybox", "sleep", "60"]);
    let (code, out) = sh(&cv, &["--ipc", "container:ipc-private"], "true");
    assert_eq!(code, 125, "{out}");
    assert!(out.contains("non-shareable IPC"), "{out}");
    cv.ok(&["rm", "-f", &private]);
    let target = cv.run_d(&[
        "--name",
        "ipc-target",
        "--ipc",
        "shareable",
        "containerv/busybox",
        "sleep",
        "60",
    ]);
    cv.ok(&[
        "exec",
        "ipc-target",
        "sh",
        "-c",
        "echo from-donor > /dev/shm/seg",
    ]);
    let theirs = cv.ok(&["exec", "ipc-target", "readlink", "/proc/self/ns/ipc"]);
    let (code, out) = sh(
        &cv,
        &["--ipc", "container:ipc-target"],
        "readlink /proc/self/ns/ipc; cat /dev/shm/seg; echo from-joiner > /dev/shm/back",
    );
    let back = cv.ok(&["exec", "ipc-target", "cat", "/dev/shm/back"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [theirs.trim(), "from-donor"],
        "{out}"
    );
    assert_eq!(back.trim(), "from-joiner");
    cv.ok(&["stop", "-t", "0", &target]);
    let (code, out) = sh(&cv, &["--ipc", "container:ipc-target"], "true");
    assert_eq!(code, 125, "{out}");
    assert!(out.contains("not running"), "{out}");
    cv.ok(&["rm", &target]);
    // --pid container:NAME: the init is born in that container's pid
    // namespace (its sleep is pid 1 there) and sees nothing of the host's
    // processes; a stopped one refuses the start.
    let target = cv.run_d(&["--name", "pid-target", "containerv/busybox", "sleep", "61"]);
    let theirs = cv.ok(&["exec", "pid-target", "readlink", "/proc/self/ns/pid"]);
    let (code, out) = sh(
        &cv,
        &["--pid", "container:pid-target"],
        "readlink /proc/self/ns/pid; cat /proc/1/cmdline | tr '\\0' ' '; echo; ls /proc | grep -c '^[0-9]'",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(code, 0, "{out}");
    assert_eq!(lines[0], theirs.trim(), "{out}");
    assert_eq!(lines[1].trim(), "sleep 61", "{out}");
    let seen: u32 = lines[2].trim().parse().unwrap();
    assert!(
        seen <= 6,
        "the joined container sees {seen} processes: {out}"
    );
    cv.ok(&["stop", "-t", "0", &target]);
    let (code, out) = sh(&cv, &["--pid", "container:pid-target"], "true");
    assert_eq!(code, 125, "{out}");
    assert!(out.contains("not running"), "{out}");
    cv.ok(&["rm", &target]);
    // docker's nofile default (hard capped at ours), and --ulimit.
    let (_, out) = sh(&cv, &[], "ulimit -Sn; ulimit -Hn");
    let ours: u64 = nofile_hard();
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>(),
        ["1024", &ours.min(524288).to_string()]
    );
    let (_, out) = sh(
        &cv,
        &["--ulimit", "nofile=100:200", "--ulimit", "nproc=50"],
        "ulimit -Sn; ulimit -Hn; ulimit -u",
    );
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>(),
        ["100", "200", "50"]
    );
    // Namespaced sysctls land in the container only.
    let (code, out) = sh(
        &cv,
        &[
            "--sysctl",
            "net.ipv4.ip_unprivileged_port_start=42",
            "--sysctl",
            "kernel.msgmax=12345",
        ],
        "cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/kernel/msgmax",
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.split_whitespace().collect::<Vec<_>>(), ["42", "12345"]);
    // /dev/shm: docker's 64m, or --shm-size.
    let (_, out) = sh(&cv, &[], "df -k /dev/shm | tail -1");
    assert!(out.split_whitespace().nth(1) == Some("65536"), "{out}");
    let (_, out) = sh(&cv, &["--shm-size", "8m"], "df -k /dev/shm | tail -1");
    assert!(out.split_whitespace().nth(1) == Some("8192"), "{out}");
    // --group-add by number and by the image's group name.
    let (_, out) = sh(
        &cv,
        &[
            "--group-add",
            "1234",
            "--group-add",
            "nogroup",
            "-u",
            "1000",
        ],
        "id -G",
    );
    let gids: Vec<&str> = out.split_whitespace().collect();
    assert!(gids.contains(&"1234") && gids.contains(&"65534"), "{out}");
    assert!(cv.ids().is_empty(), "--rm left {:?}", cv.ids());
}

fn nofile_hard() -> u64 {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit fills the struct we own.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) }, 0);
    r.rlim_max
}

/// O_DIRECT writes and reads through the root disk (the engine root is
/// on it) against each throttle: the time is at least what the limit
/// allows, and the unthrottled run is far faster.
#[test]
fn block_io_throttles_are_enforced() {
    let cv = Cv::new();
    let data = tempfile::tempdir_in(cv.root.path()).unwrap();
    let bind = format!("{}:/data", data.path().display());
    let disk = root_disk();
    let timed = |flags: &[&str], script: &str| -> f64 {
        let mut f = vec!["-v", bind.as_str()];
        f.extend_from_slice(flags);
        let t = Instant::now();
        let (code, out) = sh(&cv, &f, script);
        assert_eq!(code, 0, "{flags:?}: {out}");
        t.elapsed().as_secs_f64()
    };
    // 2 MiB of O_DIRECT writes, then reads, of 256 KiB each.
    let write = "dd if=/dev/zero of=/data/f bs=256k count=8 oflag=direct 2>&1";
    let read = "dd if=/data/f of=/dev/null bs=256k iflag=direct 2>&1";
    let free = timed(&[], write);
    let wbps = format!("{disk}:1mb");
    let slow = timed(&["--device-write-bps", &wbps], write);
    assert!(slow >= 1.5, "2 MiB at 1 MiB/s took {slow:.2}s");
    assert!(free < slow / 2.0, "unthrottled {free:.2}s vs {slow:.2}s");
    let rbps = format!("{disk}:1mb");
    let slow = timed(&["--device-read-bps", &rbps], read);
    assert!(slow >= 1.5, "2 MiB read at 1 MiB/s took {slow:.2}s");
    // 40 writes of 4 KiB at 20 IOPS: about 2 s.
    let small = "dd if=/dev/zero of=/data/g bs=4k count=40 oflag=direct 2>&1";
    let wiops = format!("{disk}:20");
    let slow = timed(&["--device-write-iops", &wiops], small);
    assert!(slow >= 1.4, "40 writes at 20/s took {slow:.2}s");
    let small_read = "dd if=/data/g of=/dev/null bs=4k iflag=direct 2>&1";
    let riops = format!("{disk}:20");
    let slow = timed(&["--device-read-iops", &riops], small_read);
    assert!(slow >= 1.4, "40 reads at 20/s took {slow:.2}s");
    assert!(cv.ids().is_empty(), "--rm left {:?}", cv.ids());
}

/// The block device under the engine root (e.g. /dev/vda).
fn root_disk() -> String {
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap();
    mounts
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.len() > 2 && f[1] == "/" && f[0].starts_with("/dev/"))
        .map(|f| f[0].to_string())
        .expect("the root filesystem is on a /dev block device")
}

#[test]
fn bad_values_exit_125_and_leave_nothing() {
    let cv = Cv::new();
    let cases: &[(&[&str], &str)] = &[
        (&["--cap-add", "CAP_BOGUS"], "--cap-add"),
        (&["--cap-drop", "nope"], "--cap-drop"),
        (&["--cap-add", "SYS_RESOURCE"], "--cap-add"),
        (
            &["--security-opt", "seccomp=/nonexistent/profile.json"],
            "seccomp",
        ),
        (&["--security-opt", "seccomp"], "seccomp"),
        (
            &["--security-opt", "no-new-privileges=maybe"],
            "no-new-privileges",
        ),
        (
            &["--security-opt", "label=type:container_t"],
            "SELinux is not available",
        ),
        (
            &["--security-opt", "apparmor=docker-default"],
            "AppArmor is not available",
        ),
        (&["--security-opt", "bogus=1"], "--security-opt"),
        (&["--device", "/nonexistent-dev"], "--device"),
        (&["--device", "/dev/null:/dev/n:rwx"], "--device"),
        (&["--device", "/etc/hostname"], "not a device"),
        (&["--device", "relative"], "--device"),
        (
            &["--device-cgroup-rule", "x 1:3 rwm"],
            "--device-cgroup-rule",
        ),
        (&["--device-cgroup-rule", "c 1 rwm"], "--device-cgroup-rule"),
        (&["--group-add", "a:b"], "--group-add"),
        (&["--group-add", "nosuchgroup"], "--group-add"),
        (&["--ulimit", "nofile"], "--ulimit"),
        (&["--ulimit", "bogus=1"], "--ulimit"),
        (&["--ulimit", "nofile=10:5"], "--ulimit"),
        (&["--ulimit", "nofile=x"], "--ulimit"),
        (&["--ulimit", "nofile=1024:99999999"], "CAP_SYS_RESOURCE"),
        (&["--sysctl", "kernel.hostname=x"], "--sysctl"),
        (&["--sysctl", "vm.swappiness=1"], "--sysctl"),
        (&["--sysctl", "noequals"], "--sysctl"),
        (
            &["--sysctl", "net.ipv4.ip_forward=1", "--network", "host"],
            "--network host",
        ),
        (
            &["--sysctl", "kernel.msgmax=1", "--ipc", "host"],
            "--ipc host",
        ),
        (&["--shm-size", "lots"], "--shm-size"),
        (&["--pid", "bogus"], "--pid"),
        (&["--pid", "container:other"], "--pid"),
        (&["--ipc", "bogus"], "--ipc"),
        (&["--ipc", "container:nosuchcontainer"], "--ipc"),
        (&["--uts", "container:x"], "--uts"),
        (&["--uts", "private"], "--uts"),
        (&["--uts", "host", "-h", "name"], "--uts host"),
        (&["--userns", "auto"], "--userns"),
        (&["--blkio-weight", "5"], "--blkio-weight"),
        (&["--blkio-weight", "300"], "no weight file"),
        (&["--device-read-bps", "/dev/vda"], "--device-read-bps"),
        (
            &["--device-read-bps", "/dev/null:1mb"],
            "not a block device",
        ),
        (
            &["--device-write-bps", "/dev/vda:fast"],
            "--device-write-bps",
        ),
        (&["--device-read-iops", "/dev/vda:0"], "--device-read-iops"),
        (&["--device-write-iops", "vda:10"], "--device-write-iops"),
    ];
    for (flags, needle) in cases {
        for cmd in ["run", "create"] {
            let mut a = vec![cmd];
            a.extend_from_slice(flags);
            a.extend_from_slice(&["containerv/busybox", "true"]);
            let o = cv.run(&a);
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(125), "{cmd} {flags:?}: {err}");
            assert!(err.contains(needle), "{cmd} {flags:?}: {err}");
            assert!(!err.contains("panicked"), "{err}");
        }
    }
    assert_eq!(cv.ok(&["ps", "-a", "-q"]).trim(), "");
    assert!(cv.ids().is_empty(), "left {:?}", cv.ids());
    let runtime = cv.engine_root().join("runtime");
    let left = std::fs::read_dir(&runtime).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "core state left under {}", runtime.display());
}

/// `cv exec` and the command under `--init` get the container's sets and
/// filter too (docker applies them to every process of a container).
#[test]
fn exec_and_init_processes_are_confined_the_same() {
    let cv = Cv::new();
    let q = "grep -E '^(CapEff|CapBnd|Seccomp):' /proc/self/status";
    let (code, out) = sh(&cv, &["--init"], q);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(DOCKER_CAPS) && out.contains("Seccomp:\t2"),
        "{out}"
    );
    let id = cv.run_d(&["--cap-drop", "ALL", "containerv/busybox", "sleep", "60"]);
    let out = cv.ok(&["exec", &id, "sh", "-c", q]);
    assert!(
        !out.contains(DOCKER_CAPS) && out.contains("Seccomp:\t2"),
        "{out}"
    );
    assert!(out.contains(&format!("CapEff:\t{NONE}")), "{out}");
    let o = cv.run(&["exec", &id, "unshare", "-U", "true"]);
    assert!(!o.status.success(), "exec escaped the filter");
    cv.ok(&["rm", "-f", &id]);
    cv.assert_gone(&id);
}
