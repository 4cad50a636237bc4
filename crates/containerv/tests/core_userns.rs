//! A container in its own user namespace, through the options builder:
//! root inside maps to an unprivileged host uid, the init and spawned
//! processes run as that uid on the host, and destroy leaves nothing.
#![cfg(target_os = "linux")]

use std::io::Read;

use containerv::{ContainerOptions, IdMap, ProcessOptions, Runtime, Stdio};
use containerv_testutil::{
    assert_no_leftovers, busybox_rootfs, require_root, temp_root, unique_id,
};

const HOST_BASE: u32 = 200_000;

fn userns_options() -> ContainerOptions {
    let map = vec![IdMap {
        container_id: 0,
        host_id: HOST_BASE,
        size: 65536,
    }];
    ContainerOptions::new()
        .rootfs(busybox_rootfs())
        .user_namespace(map.clone(), map)
}

/// The host uid and gid of a process, from /proc/PID/status.
fn host_ids(pid: i32) -> (u32, u32) {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| -> u32 {
        let l = s.lines().find(|l| l.starts_with(name)).unwrap();
        l.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    (field("Uid:"), field("Gid:"))
}

#[test]
fn root_inside_is_unprivileged_outside() {
    require_root();
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("core-userns");
    let c = rt.create(&id, &userns_options()).unwrap();

    // The init runs as the mapped uid on the host. Everything is collected
    // first and asserted after destroy, so a failure leaves nothing behind.
    let init_ids = host_ids(c.pid());

    let mut p = ProcessOptions::new([
        "/bin/sh",
        "-c",
        "id -u; id -g; cat /proc/self/uid_map; hostname; ls /proc | grep -c '^[0-9]'",
    ]);
    p.stdout = Stdio::Pipe;
    let mut proc_ = c.spawn(p).unwrap();
    let host_pid = proc_.pid();
    let mut out = String::new();
    proc_
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let st = proc_.wait().unwrap();
    let first = out;

    // Root inside is nobody to the host's files: the rootfs (owned by host
    // root, unmapped here) shows as the overflow uid and cannot be written.
    let probe = busybox_rootfs().join("etc/userns-probe");
    let mut p = ProcessOptions::new([
        "/bin/sh",
        "-c",
        "stat -c %u /bin/busybox; touch /etc/userns-probe 2>/dev/null && echo wrote || echo denied",
    ]);
    p.stdout = Stdio::Pipe;
    let mut q = c.spawn(p).unwrap();
    let mut out = String::new();
    q.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    q.wait().unwrap();
    let _ = std::fs::remove_file(&probe);
    c.destroy().unwrap();
    assert_no_leftovers(root.path(), &id);

    assert_eq!(init_ids, (HOST_BASE, HOST_BASE));
    assert!(st.success(), "{st:?}: {first}");
    let lines: Vec<&str> = first.lines().collect();
    assert_eq!(lines[0], "0", "{first}");
    assert_eq!(lines[1], "0", "{first}");
    let map: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(map, ["0", &HOST_BASE.to_string(), "65536"], "{first}");
    assert!(host_pid > 0);
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["65534", "denied"],
        "{out}"
    );
}

#[test]
fn user_namespace_without_mappings_is_refused() {
    require_root();
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("core-userns-bad");
    let e = rt
        .create(
            &id,
            &ContainerOptions::new()
                .rootfs(busybox_rootfs())
                .user_namespace(vec![], vec![]),
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("user namespace"), "{e}");
    assert_no_leftovers(root.path(), &id);
}

/// An overlay rootfs in a user namespace: each layer is an idmapped mount
/// of the container's user namespace, so the image's files (host uid 0 on
/// disk) are root's inside and readable, while what root writes lands in
/// the upper directory owned by the mapped uid; the layers are untouched.
#[test]
fn overlay_layers_are_idmapped_for_the_container_root() {
    use std::os::unix::fs::MetadataExt;
    require_root();
    let root = temp_root();
    let rt = Runtime::new(root.path()).unwrap();
    let id = unique_id("core-userns-ovl");
    // A layer above busybox, made 0700 and root-owned like an image store's.
    let layer = root.path().join("layer");
    std::fs::create_dir_all(layer.join("etc")).unwrap();
    std::fs::write(layer.join("etc/secret-of-image"), "from the layer\n").unwrap();
    std::fs::set_permissions(
        layer.join("etc/secret-of-image"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let upper = root.path().join("upper");
    let c = rt
        .create(
            &id,
            &userns_options()
                .layers(vec![layer.clone()])
                .overlay_upper_dir(&upper, true),
        )
        .unwrap();
    let mut p = ProcessOptions::new([
        "/bin/sh",
        "-c",
        "stat -c '%u %g' /bin/busybox /etc/secret-of-image /; cat /etc/secret-of-image; \
         touch /made-inside && echo wrote; echo more >> /etc/secret-of-image && echo appended",
    ]);
    p.stdout = Stdio::Pipe;
    let mut q = c.spawn(p).unwrap();
    let mut out = String::new();
    q.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    let st = q.wait().unwrap();
    let init_ids = host_ids(c.pid());
    c.destroy().unwrap();
    assert_no_leftovers(root.path(), &id);

    assert_eq!(init_ids, (HOST_BASE, HOST_BASE));
    assert!(st.success(), "{st:?}: {out}");
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["0 0", "0 0", "0 0", "from the layer", "wrote", "appended"],
        "{out}"
    );
    // Written inside: the mapped uid on the host, in the upper directory.
    for f in ["made-inside", "etc/secret-of-image"] {
        let md = std::fs::metadata(upper.join(f)).unwrap();
        assert_eq!((md.uid(), md.gid()), (HOST_BASE, HOST_BASE), "{f}");
    }
    // The layers are as they were.
    assert_eq!(
        std::fs::read_to_string(layer.join("etc/secret-of-image")).unwrap(),
        "from the layer\n"
    );
    assert_eq!(
        std::fs::metadata(layer.join("etc/secret-of-image"))
            .unwrap()
            .uid(),
        0
    );
    assert!(!busybox_rootfs().join("made-inside").exists());
}
