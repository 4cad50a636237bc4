//! Reading an OCI bundle: `config.json` into an `oci_spec` `Spec`.
//!
//! Every way a config can be wrong is reported with the file's path and
//! serde's own words (line, column, the unknown capability or the field
//! with the wrong type), before anything is created.

use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;

use crate::error::{Fail, Result};

/// The bundle directory as an absolute path (default: the current one).
pub fn dir(bundle: Option<&Path>) -> Result<PathBuf> {
    let b = bundle.unwrap_or(Path::new("."));
    std::path::absolute(b)
        .map_err(|e| Fail::new(format!("bundle {}: {e}", b.display())))
        .and_then(|p| {
            if p.is_dir() {
                Ok(p)
            } else {
                Err(Fail::new(format!(
                    "bundle {}: not a directory",
                    p.display()
                )))
            }
        })
}

/// `<bundle>/config.json`, parsed and checked.
pub fn load_spec(bundle: &Path) -> Result<Spec> {
    let path = bundle.join("config.json");
    let text =
        std::fs::read(&path).map_err(|e| Fail::new(format!("read {}: {e}", path.display())))?;
    parse_spec(&path, &text)
}

/// Parse config.json text (`path` only names it in errors).
pub fn parse_spec(path: &Path, text: &[u8]) -> Result<Spec> {
    let spec: Spec = match serde_json::from_slice(text) {
        Ok(s) => s,
        // Only a config that does not parse as it is pays for the Go
        // reading (a second parse); its errors are the first parse's.
        Err(e) => go_nulls(text).ok_or(e).map_err(|e| {
            let kind = if e.is_syntax() || e.is_eof() {
                "is not valid JSON"
            } else {
                "is not a valid OCI runtime config"
            };
            Fail::new(format!("{} {kind}: {e}", path.display()))
        })?,
    };
    if spec.process().is_none() {
        return Err(Fail::new(format!(
            "{}: process: missing (an OCI runtime needs a process to run)",
            path.display()
        )));
    }
    Ok(spec)
}

/// The config read as Go reads it: Go marshals a nil slice or map that is
/// not `omitempty` as `null` (e.g. a seccomp rule's `"names": null`), and
/// `null` unmarshals to the zero value. Every `null` member is dropped
/// (absent = zero value for the optional fields) and a `null` seccomp
/// `names` becomes `[]` (then refused by name, not as a type error).
fn go_nulls(text: &[u8]) -> Option<Spec> {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(o) => {
                if o.get("names").is_some_and(|n| n.is_null()) {
                    o.insert("names".into(), serde_json::Value::Array(Vec::new()));
                }
                o.retain(|_, v| !v.is_null());
                o.values_mut().for_each(strip);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut v: serde_json::Value = serde_json::from_slice(text).ok()?;
    strip(&mut v);
    serde_json::from_value(v).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_problem() {
        let p = Path::new("/b/config.json");
        let e = parse_spec(p, b"{\"ociVersion\": ").unwrap_err().msg;
        assert!(e.contains("/b/config.json is not valid JSON"), "{e}");
        let caps = br#"{"ociVersion":"1.2.0","root":{"path":"rootfs"},"process":{"cwd":"/","args":["sh"],"user":{"uid":0,"gid":0},"capabilities":{"bounding":["CAP_NOPE"]}}}"#;
        let e = parse_spec(p, caps).unwrap_err().msg;
        assert!(e.contains("CAP_NOPE"), "{e}");
    }

    #[test]
    fn go_nulls_are_zero_values() {
        let p = Path::new("/b/config.json");
        let text = br#"{"ociVersion":"1.0.2","root":{"path":"rootfs"},"hostname":null,
            "process":{"cwd":"/","args":["sh"],"env":null,"user":{"uid":0,"gid":0,"additionalGids":null}},
            "linux":{"maskedPaths":null,"seccomp":{"defaultAction":"SCMP_ACT_ALLOW",
              "syscalls":[{"names":null,"action":"SCMP_ACT_ERRNO","args":null}]}}}"#;
        let s = parse_spec(p, text).unwrap();
        assert!(s.hostname().is_none());
        let l = s.linux().as_ref().unwrap();
        assert!(l.masked_paths().is_none());
        let sc = &l.seccomp().as_ref().unwrap().syscalls().as_ref().unwrap()[0];
        assert!(sc.names().is_empty() && sc.args().is_none());
    }
}
