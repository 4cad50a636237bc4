//! The environment block `CreateProcessW` takes with
//! `CREATE_UNICODE_ENVIRONMENT`: `KEY=VALUE\0` entries in UTF-16, sorted by
//! key without regard to case, ending in an extra `\0`.
//!
//! A container's processes start from the host's environment (a Windows
//! program without `SystemRoot`, `PATH` and friends often cannot even load
//! its DLLs), then the container's entries (`process.env` of the spec), then
//! the process's own: later entries replace earlier ones, keys compared
//! without case as Windows does.

use std::collections::BTreeMap;
use std::ffi::OsString;

use crate::error::{Error, Result};

/// Key compared case-insensitively (Windows environment semantics), kept
/// with its original spelling.
#[derive(Debug, Clone)]
struct Key(String);

impl PartialEq for Key {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == std::cmp::Ordering::Equal
    }
}
impl Eq for Key {}
impl PartialOrd for Key {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Key {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        let a = self.0.chars().flat_map(char::to_uppercase);
        let b = o.0.chars().flat_map(char::to_uppercase);
        a.cmp(b)
    }
}

/// The merged environment, sorted as Windows wants it.
#[derive(Debug, Default, Clone)]
pub(crate) struct EnvBlock {
    vars: BTreeMap<Key, String>,
}

impl EnvBlock {
    /// Starts from the calling process's environment.
    pub(crate) fn from_host() -> Self {
        let mut e = EnvBlock::default();
        for (k, v) in std::env::vars_os() {
            let (k, v): (OsString, OsString) = (k, v);
            if let (Some(k), Some(v)) = (k.to_str(), v.to_str()) {
                e.vars.insert(Key(k.to_string()), v.to_string());
            }
        }
        e
    }

    /// Adds `KEY=VALUE` entries over what is there. A key may start with
    /// `=` (cmd.exe's per-drive `=C:=C:\dir` entries).
    pub(crate) fn extend(&mut self, entries: &[String]) -> Result<()> {
        for entry in entries {
            if entry.contains('\0') {
                return Err(Error::option(
                    "env",
                    entry.replace('\0', "\\0"),
                    "contains a NUL character",
                ));
            }
            let split_from = usize::from(entry.starts_with('='));
            let Some(eq) = entry[split_from..].find('=').map(|i| i + split_from) else {
                return Err(Error::option("env", entry, "not KEY=VALUE"));
            };
            let (k, v) = (&entry[..eq], &entry[eq + 1..]);
            if k.is_empty() {
                return Err(Error::option("env", entry, "empty variable name"));
            }
            let key = Key(k.to_string());
            self.vars.remove(&key);
            self.vars.insert(key, v.to_string());
        }
        Ok(())
    }

    /// Value of `key` (compared without case).
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.vars.get(&Key(key.to_string())).map(String::as_str)
    }

    /// The block for `CreateProcessW` (UTF-16, double-NUL terminated).
    pub(crate) fn to_wide(&self) -> Vec<u16> {
        let mut out = Vec::new();
        for (k, v) in &self.vars {
            out.extend(k.0.encode_utf16());
            out.push(u16::from(b'='));
            out.extend(v.encode_utf16());
            out.push(0);
        }
        if out.is_empty() {
            out.push(0);
        }
        out.push(0);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_sort_and_encode() {
        let mut e = EnvBlock::default();
        e.extend(&["b=1".into(), "A=2".into(), "=C:=C:\\x".into()])
            .unwrap();
        e.extend(&["B=3".into(), "c=x=y".into()]).unwrap();
        assert_eq!(e.get("b"), Some("3"));
        assert_eq!(e.get("C"), Some("x=y"));
        let s = String::from_utf16(&e.to_wide()).unwrap();
        assert_eq!(s, "=C:=C:\\x\0A=2\0B=3\0c=x=y\0\0");
        assert_eq!(EnvBlock::default().to_wide(), vec![0, 0]);
    }

    #[test]
    fn bad_entries() {
        let mut e = EnvBlock::default();
        for bad in ["NOEQUALS", "=", "A=\0"] {
            let msg = e.extend(&[bad.into()]).unwrap_err().to_string();
            assert!(msg.contains("env"), "{msg}");
        }
    }
}
