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
    let spec: Spec = serde_json::from_slice(text).map_err(|e| {
        let kind = if e.is_syntax() || e.is_eof() {
            "is not valid JSON"
        } else {
            "is not a valid OCI runtime config"
        };
        Fail::new(format!("{} {kind}: {e}", path.display()))
    })?;
    if spec.process().is_none() {
        return Err(Fail::new(format!(
            "{}: process: missing (an OCI runtime needs a process to run)",
            path.display()
        )));
    }
    Ok(spec)
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
}
