//! A spec's `cgroup` mount shows the container its own cgroup, with and
//! without a cgroup namespace, on whatever the host runs: v1/hybrid here
//! (one entry per hierarchy: a fresh mount with a cgroup namespace, a bind
//! of the container's directory without), cgroup2 in the VM
//! (tools/cgroup2-vm/run-tests.sh: a cgroup2 mount or a bind). The
//! container reads its own memory limit and cannot write there.
#![cfg(target_os = "linux")]

mod spec_common;

use containerv::Namespaces;
use oci_spec::runtime::MountBuilder;
use spec_common::*;

const LIMIT: u64 = 48 << 20;

const PROBE: &str = "if [ -e /sys/fs/cgroup/memory.max ]; then cat /sys/fs/cgroup/memory.max; \
                     else cat /sys/fs/cgroup/memory/memory.limit_in_bytes; fi; \
                     touch /sys/fs/cgroup/x 2>/dev/null || echo read-only";

fn check(cgroupns: bool) {
    let (_root, rt) = runtime();
    let id = unique_id(if cgroupns {
        "spec-cgfs-ns"
    } else {
        "spec-cgfs-host"
    });
    let (mut spec, mut config) = containerv::ContainerOptions::new()
        .rootfs(containerv_testutil::busybox_rootfs())
        .command(["/bin/sh", "-c", PROBE])
        .memory(&LIMIT.to_string())
        .namespaces(Namespaces {
            cgroup: cgroupns,
            ..Namespaces::default()
        })
        .build(&id)
        .unwrap();
    config.no_pivot = root_is_initramfs();
    let mut m = spec.mounts().clone().unwrap_or_default();
    m.push(
        MountBuilder::default()
            .destination("/sys/fs/cgroup")
            .typ("cgroup")
            .source("cgroup")
            .options(
                ["nosuid", "noexec", "nodev", "relatime", "ro"]
                    .map(String::from)
                    .to_vec(),
            )
            .build()
            .unwrap(),
    );
    spec.set_mounts(Some(m));
    let out = run_ok(&rt, &id, spec, config);
    assert_eq!(out, format!("{LIMIT}\nread-only\n"), "cgroupns={cgroupns}");
}

#[test]
fn own_cgroup_without_a_cgroup_namespace() {
    check(false);
}

#[test]
fn own_cgroup_with_a_cgroup_namespace() {
    check(true);
}
