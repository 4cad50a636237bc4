//! One test per runtime-spec feature, through `create_from_spec` with the
//! spec's own process as init: namespaces joined by path, a user
//! namespace, rootfsPropagation, mount flags and propagation, a read-only
//! root, ioPriority, scheduler, personality, sysctl, masked and read-only
//! paths, and the paused status.
#![cfg(target_os = "linux")]

mod spec_common;

use containerv::{ContainerOptions, IdMap, Status};
use containerv_testutil::{assert_no_leftovers, busybox_rootfs};
use oci_spec::runtime::{
    IOPriorityClass, LinuxIOPriorityBuilder, LinuxNamespace, LinuxNamespaceBuilder,
    LinuxNamespaceType, LinuxPersonalityBuilder, LinuxPersonalityDomain, LinuxSchedulerPolicy,
    MountBuilder, SchedulerBuilder,
};
use spec_common::*;

fn add_mount(spec: &mut containerv::Spec, dest: &str, typ: &str, src: &str, opts: &[&str]) {
    let mut m = spec.mounts().clone().unwrap_or_default();
    m.push(
        MountBuilder::default()
            .destination(dest)
            .typ(typ)
            .source(src)
            .options(opts.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .build()
            .unwrap(),
    );
    spec.set_mounts(Some(m));
}

/// The mountinfo line (inside) whose mount point is `mp`.
fn mountinfo_line<'a>(out: &'a str, mp: &str) -> &'a str {
    out.lines()
        .find(|l| l.split_whitespace().nth(4) == Some(mp))
        .unwrap_or_else(|| panic!("no mount on {mp} in:\n{out}"))
}

#[test]
fn namespaces_joined_by_path() {
    let (_root, rt) = runtime();
    let a_id = unique_id("spec-ns-a");
    let a = rt
        .create(
            &a_id,
            &ContainerOptions::new()
                .rootfs(busybox_rootfs())
                .hostname("owner-a"),
        )
        .unwrap();
    let id = unique_id("spec-ns-b");
    let (mut spec, config) = sh_spec(
        &id,
        "hostname; readlink /proc/self/ns/net; readlink /proc/self/ns/ipc",
    );
    let mut list: Vec<LinuxNamespace> =
        spec.linux().as_ref().unwrap().namespaces().clone().unwrap();
    for ns in list.iter_mut() {
        let name = match ns.typ() {
            LinuxNamespaceType::Network => "net",
            LinuxNamespaceType::Uts => "uts",
            LinuxNamespaceType::Ipc => "ipc",
            _ => continue,
        };
        ns.set_path(Some(format!("/proc/{}/ns/{name}", a.pid()).into()));
    }
    spec.linux_mut()
        .as_mut()
        .unwrap()
        .set_namespaces(Some(list));
    let out = run_ok(&rt, &id, spec, config);
    let link = |n: &str| {
        std::fs::read_link(format!("/proc/{}/ns/{n}", a.pid()))
            .unwrap()
            .display()
            .to_string()
    };
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines, ["owner-a", &link("net"), &link("ipc")], "{out}");
    a.destroy().unwrap();
    assert_no_leftovers(rt.root(), &a_id);
}

#[test]
fn bad_namespace_paths_are_refused_and_leave_nothing() {
    let (_root, rt) = runtime();
    for (path, want) in [
        ("/nonexistent/ns/net", "does not exist"),
        // Not a namespace file: setns refuses it, naming the step.
        ("/etc/hostname", "join Network namespace /etc/hostname"),
        // A namespace of another type.
        (
            "/proc/self/ns/uts",
            "join Network namespace /proc/self/ns/uts",
        ),
    ] {
        let id = unique_id("spec-ns-bad");
        let (mut spec, config) = sh_spec(&id, "true");
        let mut list = spec.linux().as_ref().unwrap().namespaces().clone().unwrap();
        list.retain(|n| n.typ() != LinuxNamespaceType::Network);
        list.push(
            LinuxNamespaceBuilder::default()
                .typ(LinuxNamespaceType::Network)
                .path(path)
                .build()
                .unwrap(),
        );
        spec.linux_mut()
            .as_mut()
            .unwrap()
            .set_namespaces(Some(list));
        let e = create_err(&rt, &id, spec, config);
        assert!(e.contains(want), "{path}: {e}");
    }
}

#[test]
fn user_namespace_init_runs_as_mapped_root() {
    let (_root, rt) = runtime();
    let id = unique_id("spec-userns");
    let map = vec![IdMap {
        container_id: 0,
        host_id: 300_000,
        size: 65536,
    }];
    let (spec, mut config) = ContainerOptions::new()
        .rootfs(busybox_rootfs())
        .user_namespace(map.clone(), map)
        .command([
            "/bin/sh",
            "-c",
            "id -u; cat /proc/self/uid_map /proc/self/gid_map | tr -s ' '; touch /bin/x 2>&1 || echo ro",
        ])
        .build(&id)
        .unwrap();
    config.no_pivot = root_is_initramfs();
    let out = run_ok(&rt, &id, spec, config);
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    assert_eq!(lines[0], "0", "{out}");
    assert_eq!(lines[1], "0 300000 65536", "{out}");
    assert_eq!(lines[2], "0 300000 65536", "{out}");
    assert_eq!(lines.last(), Some(&"ro"), "{out}");
}

#[test]
fn rootfs_propagation() {
    let (_root, rt) = runtime();
    // (The default, rslave, shows as master: only where the host's / is shared.)
    for (prop, want) in [(Some("private"), ""), (Some("rshared"), "shared:")] {
        let id = unique_id("spec-rootprop");
        let (mut spec, config) = sh_spec(&id, "cat /proc/self/mountinfo");
        spec.linux_mut()
            .as_mut()
            .unwrap()
            .set_rootfs_propagation(prop.map(|p: &str| p.to_string()));
        let out = run_ok(&rt, &id, spec, config);
        let root = mountinfo_line(&out, "/");
        let optional = root.split(" - ").next().unwrap();
        if want.is_empty() {
            assert!(
                !optional.contains("shared:") && !optional.contains("master:"),
                "{prop:?}: {root}"
            );
        } else {
            assert!(optional.contains(want), "{prop:?}: {root}");
        }
    }
}

#[test]
fn mount_flags_and_propagation() {
    let (_root, rt) = runtime();
    let id = unique_id("spec-mountopts");
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("f"), "x").unwrap();
    let (mut spec, config) = sh_spec(
        &id,
        "cat /proc/self/mountinfo; touch /mnt/t/x 2>&1; touch /mnt/ro/y 2>&1; cat /mnt/ro/f; echo",
    );
    add_mount(
        &mut spec,
        "/mnt/t",
        "tmpfs",
        "tmpfs",
        &["ro", "nosuid", "nodev", "noexec", "relatime", "size=1m"],
    );
    let src = host.path().to_str().unwrap();
    add_mount(
        &mut spec,
        "/mnt/ro",
        "bind",
        src,
        &["rbind", "ro", "nosuid", "private"],
    );
    add_mount(&mut spec, "/mnt/sh", "bind", src, &["bind", "shared"]);
    add_mount(&mut spec, "/mnt/sl", "bind", src, &["rbind", "rslave"]);
    add_mount(&mut spec, "/mnt/ub", "bind", src, &["bind", "unbindable"]);
    add_mount(
        &mut spec,
        "/mnt/a",
        "tmpfs",
        "tmpfs",
        &["noatime", "nodiratime"],
    );
    let out = run_ok(&rt, &id, spec, config);
    let t = mountinfo_line(&out, "/mnt/t");
    for f in ["ro", "nosuid", "nodev", "noexec", "relatime"] {
        assert!(
            t.split_whitespace()
                .nth(5)
                .unwrap()
                .split(',')
                .any(|o| o == f),
            "{f}: {t}"
        );
    }
    assert!(t.contains("size=1024k"), "{t}");
    let ro = mountinfo_line(&out, "/mnt/ro");
    assert!(ro.contains(" ro,nosuid"), "{ro}");
    assert!(!ro.split(" - ").next().unwrap().contains("shared:"), "{ro}");
    assert!(mountinfo_line(&out, "/mnt/sh").contains("shared:"));
    // rslave: a slave of the host's mount (or private where the host's is
    // not shared): never shared back.
    let sl = mountinfo_line(&out, "/mnt/sl");
    assert!(!sl.split(" - ").next().unwrap().contains("shared:"), "{sl}");
    assert!(mountinfo_line(&out, "/mnt/ub").contains("unbindable"));
    let a = mountinfo_line(&out, "/mnt/a");
    assert!(a.contains("noatime") && a.contains("nodiratime"), "{a}");
    assert_eq!(out.matches("Read-only file system").count(), 2, "{out}");
    assert!(out.trim_end().ends_with('x'), "{out}");
}

#[test]
fn read_only_root() {
    let (_root, rt) = runtime();
    let id = unique_id("spec-roroot");
    let (mut spec, config) = sh_spec(&id, "touch /probe 2>&1; touch /dev/shm/ok && echo tmpfs-rw");
    spec.root_mut().as_mut().unwrap().set_readonly(Some(true));
    let out = run_ok(&rt, &id, spec, config);
    assert!(out.contains("Read-only file system"), "{out}");
    assert!(out.contains("tmpfs-rw"), "{out}");
}

#[test]
fn io_priority_scheduler_and_personality() {
    let (_root, rt) = runtime();
    let id = unique_id("spec-sched");
    // Fields 19 (nice) and 41 (policy) of /proc/self/stat; uname -m.
    let (mut spec, config) = sh_spec(
        &id,
        "cut -d' ' -f19,41 /proc/self/stat; uname -m; exec sleep 100",
    );
    let p = spec.process_mut().as_mut().unwrap();
    p.set_io_priority(Some(
        LinuxIOPriorityBuilder::default()
            .class(IOPriorityClass::IoprioClassIdle)
            .priority(0i64)
            .build()
            .unwrap(),
    ));
    p.set_scheduler(Some(
        SchedulerBuilder::default()
            .policy(LinuxSchedulerPolicy::SchedBatch)
            .nice(5)
            .build()
            .unwrap(),
    ));
    spec.linux_mut().as_mut().unwrap().set_personality(Some(
        LinuxPersonalityBuilder::default()
            .domain(LinuxPersonalityDomain::PerLinux32)
            .build()
            .unwrap(),
    ));
    let mut config = config;
    config.stdout = containerv::Stdio::Pipe;
    let mut c = rt.create_from_spec(&id, spec, config).unwrap();
    let [_, out, _] = c.take_stdio();
    let mut out = std::io::BufReader::new(out.unwrap());
    let mut line = |s: &mut String| {
        s.clear();
        std::io::BufRead::read_line(&mut out, s).unwrap();
        s.trim().to_string()
    };
    let mut s = String::new();
    assert_eq!(line(&mut s), "5 3", "nice 5, SCHED_BATCH (3)");
    assert_eq!(line(&mut s), "i686", "LINUX32 personality");
    let ionice = std::process::Command::new("ionice")
        .args(["-p", &c.pid().to_string()])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&ionice.stdout).trim(), "idle");
    c.destroy().unwrap();
    assert_no_leftovers(rt.root(), &id);
}

#[test]
fn bad_scheduler_and_io_priority_are_named() {
    let (_root, rt) = runtime();
    let id = unique_id("spec-sched-bad");
    let (mut spec, config) = sh_spec(&id, "true");
    spec.process_mut().as_mut().unwrap().set_scheduler(Some(
        SchedulerBuilder::default()
            .policy(LinuxSchedulerPolicy::SchedFifo)
            .priority(0)
            .build()
            .unwrap(),
    ));
    let e = create_err(&rt, &id, spec, config);
    assert!(e.contains("process.scheduler.priority 0"), "{e}");
    let id = unique_id("spec-ioprio-bad");
    let (mut spec, config) = sh_spec(&id, "true");
    spec.process_mut().as_mut().unwrap().set_io_priority(Some(
        LinuxIOPriorityBuilder::default()
            .class(IOPriorityClass::IoprioClassBe)
            .priority(9i64)
            .build()
            .unwrap(),
    ));
    let e = create_err(&rt, &id, spec, config);
    assert!(e.contains("process.ioPriority.priority 9"), "{e}");
}

#[test]
fn sysctl_in_the_container_only() {
    let (_root, rt) = runtime();
    let id = unique_id("spec-sysctl");
    let (mut spec, config) = sh_spec(
        &id,
        "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/msgmax",
    );
    let mut s = std::collections::HashMap::new();
    s.insert("net.ipv4.ip_forward".to_string(), "1".to_string());
    s.insert("kernel.msgmax".to_string(), "12345".to_string());
    spec.linux_mut().as_mut().unwrap().set_sysctl(Some(s));
    let host_msgmax = std::fs::read_to_string("/proc/sys/kernel/msgmax").unwrap();
    let out = run_ok(&rt, &id, spec, config);
    assert_eq!(out.lines().collect::<Vec<_>>(), ["1", "12345"], "{out}");
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/msgmax").unwrap(),
        host_msgmax
    );
}

#[test]
fn masked_and_read_only_paths() {
    let (_root, rt) = runtime();
    let id = unique_id("spec-masked");
    let (mut spec, config) = sh_spec(
        &id,
        "echo passwd=$(cat /etc/passwd | wc -c); echo home=$(ls -A /home | wc -l); \
         echo 1 > /proc/sys/kernel/msgmax 2>&1 || echo sys-ro; echo done",
    );
    let l = spec.linux_mut().as_mut().unwrap();
    l.set_masked_paths(Some(vec![
        "/etc/passwd".into(),
        "/home".into(),
        "/nonexistent".into(),
    ]));
    l.set_readonly_paths(Some(vec!["/proc/sys".into()]));
    let out = run_ok(&rt, &id, spec, config);
    assert!(out.contains("passwd=0"), "{out}");
    assert!(out.contains("home=0"), "{out}");
    assert!(
        out.contains("Read-only file system") || out.contains("sys-ro"),
        "{out}"
    );
    assert!(out.contains("done"), "{out}");
}

#[test]
fn bad_mounts_are_refused_and_leave_nothing() {
    let (_root, rt) = runtime();
    let id = unique_id("spec-badmount");
    let (mut spec, config) = sh_spec(&id, "true");
    add_mount(
        &mut spec,
        "/mnt/x",
        "bind",
        "/nonexistent/source",
        &["rbind"],
    );
    let e = create_err(&rt, &id, spec, config);
    assert!(
        e.contains("/nonexistent/source") && e.contains("/mnt/x"),
        "{e}"
    );

    let id = unique_id("spec-badmount-rel");
    let (mut spec, config) = sh_spec(&id, "true");
    add_mount(&mut spec, "relative/dest", "tmpfs", "tmpfs", &[]);
    let e = create_err(&rt, &id, spec, config);
    assert!(e.contains("relative/dest") && e.contains("absolute"), "{e}");

    let id = unique_id("spec-badmount-fs");
    let (mut spec, config) = sh_spec(&id, "true");
    add_mount(&mut spec, "/mnt/y", "nosuchfs", "none", &[]);
    let e = create_err(&rt, &id, spec, config);
    assert!(e.contains("mount nosuchfs on /mnt/y"), "{e}");
}

#[test]
fn unknown_capability_is_named() {
    let (spec, _) = sh_spec("parse", "true");
    let mut v = serde_json::to_value(&spec).unwrap();
    v["process"]["capabilities"]["bounding"] = serde_json::json!(["CAP_KILL", "CAP_BOGUS"]);
    let e = serde_json::from_value::<containerv::Spec>(v)
        .unwrap_err()
        .to_string();
    assert!(e.contains("CAP_BOGUS"), "{e}");
}

#[test]
fn paused_status_comes_from_the_freezer() {
    let (_root, rt) = runtime();
    let id = unique_id("spec-paused");
    let c = rt
        .create(&id, &ContainerOptions::new().rootfs(busybox_rootfs()))
        .unwrap();
    assert_eq!(c.state().unwrap().status, Status::Running);
    c.pause().unwrap();
    assert_eq!(c.state().unwrap().status, Status::Paused);
    // Another handle (another process would do the same) reads it too.
    assert_eq!(
        rt.open(&id).unwrap().state().unwrap().status,
        Status::Paused
    );
    c.resume().unwrap();
    assert_eq!(c.state().unwrap().status, Status::Running);
    c.destroy().unwrap();
    assert_no_leftovers(rt.root(), &id);
}
