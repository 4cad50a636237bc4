//! `linux.devices` (nodes made in the container's /dev with their type,
//! numbers, mode and owner) and `linux.resources.devices` (the device
//! cgroup: v1 devices.allow/deny here, a BPF program on cgroup v2 — this
//! file also runs in the v2 VM, tools/cgroup2-vm/run-tests.sh).
//!
//! /dev/kmsg (c 1:11) is the probe: opening it write-only needs no
//! capability, so only the device rules decide.
#![cfg(target_os = "linux")]

mod spec_common;

use oci_spec::runtime::{
    LinuxDeviceBuilder, LinuxDeviceCgroupBuilder, LinuxDeviceType, MountBuilder,
};
use spec_common::*;

/// The builder's spec plus the host's /dev/kmsg bound at /dev/kmsg-host.
fn with_host_kmsg(id: &str, script: &str) -> (containerv::Spec, containerv::CreateConfig) {
    let (mut spec, config) = sh_spec(id, script);
    let mut m = spec.mounts().clone().unwrap_or_default();
    m.push(
        MountBuilder::default()
            .destination("/dev/kmsg-host")
            .typ("bind")
            .source("/dev/kmsg")
            .options(vec!["bind".to_string()])
            .build()
            .unwrap(),
    );
    spec.set_mounts(Some(m));
    (spec, config)
}

const PROBE: &str = "(exec 3>/dev/kmsg-host) 2>&1 && echo write-ok; \
                     (exec 3<>/dev/kmsg-host) 2>&1 && echo rw-ok; \
                     (exec 3>/dev/null) && echo null-ok";

#[test]
fn device_not_allowed_cannot_be_opened() {
    let (_root, rt) = runtime();
    let id = unique_id("spec-dev-deny");
    let (spec, config) = with_host_kmsg(&id, PROBE);
    let out = run_ok(&rt, &id, spec, config);
    assert!(!out.contains("write-ok"), "{out}");
    assert!(out.contains("Operation not permitted"), "{out}");
    assert!(
        out.contains("null-ok"),
        "standard devices stay usable: {out}"
    );
}

#[test]
fn allowed_access_is_exactly_what_the_rule_grants() {
    let (_root, rt) = runtime();
    let id = unique_id("spec-dev-allow");
    let (mut spec, config) = with_host_kmsg(&id, PROBE);
    let rule = LinuxDeviceCgroupBuilder::default()
        .allow(true)
        .typ(LinuxDeviceType::C)
        .major(1i64)
        .minor(11i64)
        .access("w")
        .build()
        .unwrap();
    let linux = spec.linux_mut().as_mut().unwrap();
    let mut res = linux.resources().clone().unwrap_or_default();
    res.set_devices(Some(vec![rule]));
    linux.set_resources(Some(res));
    let out = run_ok(&rt, &id, spec, config);
    assert!(out.contains("write-ok"), "{out}");
    // Read was not granted: read-write is refused.
    assert!(!out.contains("rw-ok"), "{out}");
}

#[test]
fn spec_devices_are_made_with_numbers_mode_owner_and_usable() {
    let (_root, rt) = runtime();
    let id = unique_id("spec-dev-node");
    let (mut spec, config) = sh_spec(
        &id,
        "stat -c '%F|%t|%T|%a|%u|%g' /dev/mykmsg; (exec 3>/dev/mykmsg) && echo mine-ok",
    );
    let dev = LinuxDeviceBuilder::default()
        .path("/dev/mykmsg")
        .typ(LinuxDeviceType::C)
        .major(1i64)
        .minor(11i64)
        .file_mode(0o622u32)
        .uid(1000u32)
        .gid(10u32)
        .build()
        .unwrap();
    spec.linux_mut()
        .as_mut()
        .unwrap()
        .set_devices(Some(vec![dev]));
    let out = run_ok(&rt, &id, spec, config);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "character special file|1|b|622|1000|10", "{out}");
    assert!(out.contains("mine-ok"), "a spec device is allowed: {out}");
}

#[test]
fn bad_devices_are_refused_and_leave_nothing() {
    let (_root, rt) = runtime();
    let id = unique_id("spec-dev-bad");
    let (mut spec, config) = sh_spec(&id, "true");
    let dev = LinuxDeviceBuilder::default()
        .path("/etc/passwd")
        .typ(LinuxDeviceType::C)
        .major(1i64)
        .minor(3i64)
        .build()
        .unwrap();
    spec.linux_mut()
        .as_mut()
        .unwrap()
        .set_devices(Some(vec![dev]));
    let e = create_err(&rt, &id, spec, config);
    assert!(e.contains("linux.devices /etc/passwd"), "{e}");

    let id = unique_id("spec-dev-badrule");
    let (mut spec, config) = sh_spec(&id, "true");
    let rule = LinuxDeviceCgroupBuilder::default()
        .allow(true)
        .typ(LinuxDeviceType::C)
        .major(1i64)
        .access("rwq")
        .build()
        .unwrap();
    let linux = spec.linux_mut().as_mut().unwrap();
    let mut res = linux.resources().clone().unwrap_or_default();
    res.set_devices(Some(vec![rule]));
    linux.set_resources(Some(res));
    let e = create_err(&rt, &id, spec, config);
    assert!(
        e.contains("linux.resources.devices") && e.contains("'q'"),
        "{e}"
    );
}
