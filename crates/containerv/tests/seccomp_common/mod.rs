//! Helpers for the seccomp tests (`seccomp_*.rs`): a busybox spec with a
//! `linux.seccomp` profile; docker's default profile in OCI form (`docker`).
#![allow(dead_code)]

mod docker;
#[allow(unused_imports)]
pub use docker::docker_default;

use containerv::{CreateConfig, Spec};
use serde_json::{json, Value};

use super::spec_common::sh_spec;

/// `sh -c script` on busybox with `seccomp` as `linux.seccomp` and
/// `process.noNewPrivileges` = `nnp`.
pub fn seccomp_spec(id: &str, script: &str, seccomp: Value, nnp: bool) -> (Spec, CreateConfig) {
    let (spec, config) = sh_spec(id, script);
    let mut v = serde_json::to_value(&spec).unwrap();
    v["linux"]["seccomp"] = seccomp;
    v["process"]["noNewPrivileges"] = json!(nnp);
    (
        serde_json::from_value(v).expect("spec with seccomp"),
        config,
    )
}

/// A profile: default allow, one rule.
pub fn one_rule(names: &[&str], action: &str, extra: Value) -> Value {
    let mut rule = json!({"names": names, "action": action});
    if let Value::Object(m) = extra {
        for (k, v) in m {
            rule[k] = v;
        }
    }
    json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [rule]})
}
