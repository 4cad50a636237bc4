//! Specs as Go tools write them. runtime-spec's Go types mark most fields
//! `omitempty`, so containerd, podman, CRI-O, runtime-tools' generator and
//! friends leave a field out whenever it holds its zero value: an absent
//! field must mean that zero value (`valueTwo` 0, no capabilities, no
//! timeout, ...), never a parse error.
//!
//! Property test: from a full, runnable spec, drop each `omitempty` field
//! alone, then random subsets of them (seeded, the seed printed; set
//! `CV_GO_SPECS_SEED` to replay), and `run` each with `true`. Every run
//! either succeeds or fails with a clear message naming a dropped field —
//! never "is not a valid OCI runtime config" (a parse error about a field
//! that is present) — and leaves nothing behind.

#![cfg(target_os = "linux")]

mod common;

use std::process::{Command, Stdio};

use common::Bundle;
use containerv_testutil::{assert_no_leftovers, cgroups_named};
use serde_json::{json, Value};

/// Paths (into the full spec below) of fields whose Go type says
/// `omitempty`; `N` indexes an array.
const OMITEMPTY: &[&str] = &[
    "process.terminal",
    "process.args",
    "process.env",
    "process.user.umask",
    "process.user.additionalGids",
    "process.capabilities",
    "process.capabilities.bounding",
    "process.capabilities.effective",
    "process.capabilities.inheritable",
    "process.capabilities.permitted",
    "process.capabilities.ambient",
    "process.rlimits",
    "process.noNewPrivileges",
    "process.oomScoreAdj",
    "hostname",
    "domainname",
    "annotations",
    "root.readonly",
    "mounts",
    "mounts.0.source",
    "mounts.0.options",
    "mounts.1.options",
    "hooks",
    "hooks.prestart.0.args",
    "hooks.prestart.0.env",
    "hooks.prestart.0.timeout",
    "hooks.poststart",
    "linux.sysctl",
    "linux.resources",
    "linux.resources.devices",
    "linux.resources.devices.1.type",
    "linux.resources.devices.1.major",
    "linux.resources.devices.1.minor",
    "linux.resources.devices.1.access",
    "linux.resources.memory",
    "linux.resources.memory.limit",
    "linux.resources.memory.reservation",
    "linux.resources.memory.swappiness",
    "linux.resources.cpu",
    "linux.resources.cpu.shares",
    "linux.resources.cpu.quota",
    "linux.resources.cpu.period",
    "linux.resources.cpu.cpus",
    "linux.resources.pids",
    "linux.cgroupsPath",
    "linux.devices",
    "linux.devices.0.fileMode",
    "linux.devices.0.uid",
    "linux.devices.0.gid",
    "linux.seccomp",
    "linux.seccomp.architectures",
    "linux.seccomp.flags",
    "linux.seccomp.syscalls",
    "linux.seccomp.syscalls.0.args",
    "linux.seccomp.syscalls.0.args.0.valueTwo",
    "linux.seccomp.syscalls.1.errnoRet",
    "linux.rootfsPropagation",
    "linux.maskedPaths",
    "linux.readonlyPaths",
];

/// The full spec: `containerv spec`'s, with every field above set to a
/// non-zero value the host accepts.
fn full_spec(b: &Bundle) -> Value {
    let mut c: Value = serde_json::from_slice(&std::fs::read(b.config()).unwrap()).unwrap();
    let p = &mut c["process"];
    p["args"] = json!(["true"]);
    p["user"]["umask"] = json!(0o22);
    p["user"]["additionalGids"] = json!([5, 6]);
    p["capabilities"]["inheritable"] = json!(["CAP_KILL"]);
    p["capabilities"]["ambient"] = json!(["CAP_KILL"]);
    p["capabilities"]["permitted"]
        .as_array_mut()
        .unwrap()
        .push(json!("CAP_KILL"));
    p["oomScoreAdj"] = json!(100);
    c["domainname"] = json!("example.test");
    c["annotations"] = json!({"org.example.k": "v"});
    c["root"]["readonly"] = json!(true);
    c["hooks"] = json!({
        "prestart": [{"path": "/bin/sh", "args": ["sh", "-c", "cat > /dev/null"],
                      "env": ["A=1"], "timeout": 10}],
        "poststart": [{"path": "/bin/true"}]
    });
    c["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"});
    c["linux"]["resources"] = json!({
        "devices": [
            {"allow": false, "access": "rwm"},
            {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}
        ],
        "memory": {"limit": 64 << 20, "reservation": 32 << 20, "swappiness": 10},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0"},
        "pids": {"limit": 64}
    });
    c["linux"]["cgroupsPath"] = json!(common::id("gospec"));
    c["linux"]["devices"] = json!([{"path": "/dev/cvnull", "type": "c", "major": 1,
        "minor": 3, "fileMode": 0o666, "uid": 0, "gid": 0}]);
    c["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "flags": ["SECCOMP_FILTER_FLAG_LOG"],
        "syscalls": [
            {"names": ["personality"], "action": "SCMP_ACT_ERRNO",
             "args": [{"index": 0, "value": 0xff, "valueTwo": 0x08, "op": "SCMP_CMP_MASKED_EQ"}]},
            {"names": ["kexec_load"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}
        ]
    });
    c["linux"]["rootfsPropagation"] = json!("rslave");
    c
}

/// Remove the field at dotted `path` (no-op when an ancestor is gone).
fn drop_field(v: &mut Value, path: &str) {
    let mut parts: Vec<&str> = path.split('.').collect();
    let last = parts.pop().unwrap();
    let mut cur = v;
    for p in parts {
        cur = match p.parse::<usize>() {
            Ok(i) => match cur.get_mut(i) {
                Some(x) => x,
                None => return,
            },
            Err(_) => match cur.get_mut(p) {
                Some(x) => x,
                None => return,
            },
        };
    }
    if let Some(o) = cur.as_object_mut() {
        o.remove(last);
    }
}

/// xorshift64*: enough randomness for choosing subsets, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Write `spec`, `run` it, check the outcome and the cleanup.
fn attempt(b: &Bundle, spec: &Value, dropped: &[&str]) {
    std::fs::write(b.config(), serde_json::to_vec_pretty(spec).unwrap()).unwrap();
    let id = common::id("gospec");
    let out = Command::new(common::bin())
        .arg("--root")
        .arg(b.root.path())
        .args(["run", "--bundle"])
        .arg(b.dir.path())
        .arg(&id)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = common::stderr(&out);
    if !out.status.success() {
        assert!(
            !err.contains("is not a valid OCI runtime config") && !err.contains("not valid JSON"),
            "dropping {dropped:?} gave a parse error: {err}"
        );
        let names: Vec<&str> = dropped
            .iter()
            .flat_map(|p| p.split('.'))
            .filter(|s| s.parse::<usize>().is_err())
            .collect();
        // Named: a dropped field, or the set-up step that could not be
        // done without it (no `mounts`: no /proc for `linux.sysctl`).
        assert!(
            names.iter().any(|n| err.contains(n)) || err.contains("set-up failed at"),
            "dropping {dropped:?}: the error names none of them: {err}"
        );
    }
    assert_no_leftovers(b.root.path(), &id);
    if let Some(cg) = spec["linux"]["cgroupsPath"].as_str() {
        assert!(cgroups_named(cg).is_empty(), "{:?}", cgroups_named(cg));
    }
}

#[test]
fn absent_omitempty_fields_mean_their_zero_value() {
    let b = Bundle::new(&["true"]);
    let full = full_spec(&b);
    // The full spec itself runs.
    attempt(&b, &full, &[]);
    // Each field alone.
    for path in OMITEMPTY {
        let mut s = full.clone();
        drop_field(&mut s, path);
        attempt(&b, &s, &[path]);
    }
    // Random subsets.
    let seed = std::env::var("CV_GO_SPECS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("go_specs: CV_GO_SPECS_SEED={seed}");
    let mut rng = Rng(seed);
    for _ in 0..12 {
        let dropped: Vec<&str> = OMITEMPTY
            .iter()
            .copied()
            .filter(|_| rng.next() % 3 == 0)
            .collect();
        let mut s = full.clone();
        for p in &dropped {
            drop_field(&mut s, p);
        }
        attempt(&b, &s, &dropped);
    }
}

/// Go marshals a nil slice or map that is not `omitempty` as `null`
/// (`"names": null` in a hand-built seccomp rule); such a spec parses and
/// fails on what is wrong with it, by name.
#[test]
fn go_nulls_parse() {
    let b = Bundle::new(&["true"]);
    let mut c = full_spec(&b);
    c["linux"]["seccomp"]["syscalls"][1]["names"] = Value::Null;
    c["process"]["env"] = Value::Null;
    c["linux"]["maskedPaths"] = Value::Null;
    std::fs::write(b.config(), serde_json::to_vec_pretty(&c).unwrap()).unwrap();
    let id = common::id("gonull");
    let out = b.cv(&["run", "--bundle", b.dir.path().to_str().unwrap(), &id]);
    let err = common::stderr(&out);
    assert!(!out.status.success());
    assert!(err.contains("names"), "{err}");
    assert!(!err.contains("is not a valid OCI runtime config"), "{err}");
    assert_no_leftovers(b.root.path(), &id);
}
