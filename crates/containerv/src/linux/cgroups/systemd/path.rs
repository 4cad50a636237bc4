//! The systemd form of an OCI `cgroupsPath`, `slice:prefix:name`, read the
//! way runc reads it, so a spec that podman or containerd (`SystemdCgroup =
//! true`) wrote for runc lands in the same unit here:
//!
//! - the unit is the scope `prefix-name.scope` (`name.scope` with an empty
//!   prefix), placed in `slice`; an empty slice is `system.slice`;
//! - a slice is named after its ancestors: `a-b.slice` lives in
//!   `a.slice/a-b.slice`, and `-.slice` is the root slice;
//! - with `--systemd-cgroup` and no `cgroupsPath` the path is
//!   `system.slice:containerv:<id>` (runc uses prefix `runc`).
//!
//! - a name ending in `.slice` asks for a slice unit of that name instead
//!   of a scope (the prefix is then ignored), as runc does; the slice is
//!   started with `Wants=` its parent slice, and its cgroup is where
//!   systemd puts a slice of that name (`a-b.slice` → `a.slice/a-b.slice`);
//!   so the name must be a slice below the given one (runc would make a
//!   directory of that name under the parent slice behind systemd's back).

use std::path::PathBuf;

use crate::error::{Error, Result};

/// Where a container's scope goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnitPath {
    /// The parent slice, e.g. `system.slice`.
    pub slice: String,
    /// The unit, e.g. `cv-test-c1.scope` (or `machine-pod1.slice`).
    pub unit: String,
    /// Whether the unit is a slice (the name ended in `.slice`).
    pub is_slice: bool,
    /// The scope's cgroup relative to the cgroup2 root, e.g.
    /// `system.slice/cv-test-c1.scope`.
    pub cgroup: PathBuf,
}

/// The prefix of the scope when the spec has no `cgroupsPath`.
pub(crate) const DEFAULT_PREFIX: &str = "containerv";

fn bad(value: &str, why: impl Into<String>) -> Error {
    Error::option("cgroupsPath", value.to_string(), why)
}

/// Reads `slice:prefix:name` (or, with no path, the default for `id`).
pub(crate) fn parse(cgroups_path: Option<&str>, id: &str) -> Result<UnitPath> {
    let default = format!("system.slice:{DEFAULT_PREFIX}:{id}");
    let value = cgroups_path.unwrap_or(&default);
    let parts: Vec<&str> = value.split(':').collect();
    let [slice, prefix, name] = parts[..] else {
        return Err(bad(
            value,
            "the systemd cgroup driver (--systemd-cgroup) needs the form \"slice:prefix:name\", \
             e.g. \"system.slice:cv:ID\" (an empty slice means system.slice)",
        ));
    };
    if name.is_empty() {
        return Err(bad(
            value,
            "the name part of \"slice:prefix:name\" is empty",
        ));
    }
    let slice = if slice.is_empty() {
        "system.slice"
    } else {
        slice
    };
    if name.ends_with(".slice") {
        let cgroup = expand_slice(name).map_err(|why| bad(value, why))?;
        let parent = expand_slice(slice).map_err(|why| bad(value, why))?;
        if cgroup.parent() != Some(parent.as_path()) {
            return Err(bad(
                value,
                format!(
                    "slice {name} is not a child of slice {slice} (systemd places it by its name: \
                     {}); name it {}-NAME.slice",
                    cgroup.display(),
                    slice.strip_suffix(".slice").unwrap_or(slice)
                ),
            ));
        }
        check_unit_chars(value, name)?;
        return Ok(UnitPath {
            slice: slice.to_string(),
            unit: name.to_string(),
            is_slice: true,
            cgroup,
        });
    }
    let unit = if prefix.is_empty() {
        format!("{name}.scope")
    } else {
        format!("{prefix}-{name}.scope")
    };
    check_unit_chars(value, &unit)?;
    let mut cgroup = expand_slice(slice).map_err(|why| bad(value, why))?;
    cgroup.push(&unit);
    Ok(UnitPath {
        slice: slice.to_string(),
        unit,
        is_slice: false,
        cgroup,
    })
}

/// systemd's unit-name alphabet (unit_name_is_valid): ASCII letters and
/// digits, `:-_.\@`; and at most 255 bytes.
fn check_unit_chars(value: &str, unit: &str) -> Result<()> {
    if unit.len() > 255 {
        return Err(bad(
            value,
            format!("unit name {unit:?} is longer than 255 bytes"),
        ));
    }
    if let Some(c) = unit
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || ":-_.\\@".contains(*c)))
    {
        return Err(bad(
            value,
            format!("unit name {unit:?} has {c:?}, which systemd does not allow in unit names"),
        ));
    }
    Ok(())
}

/// `a-b-c.slice` → `a.slice/a-b.slice/a-b-c.slice`; `-.slice` → the root.
pub(crate) fn expand_slice(slice: &str) -> std::result::Result<PathBuf, String> {
    let Some(stem) = slice.strip_suffix(".slice") else {
        return Err(format!("slice {slice:?} does not end in \".slice\""));
    };
    if slice.contains('/') {
        return Err(format!(
            "slice {slice:?} contains '/' (name nested slices with '-', e.g. a-b.slice)"
        ));
    }
    if stem == "-" {
        return Ok(PathBuf::new());
    }
    if stem.is_empty() || stem.starts_with('-') || stem.ends_with('-') || stem.contains("--") {
        return Err(format!("slice {slice:?} is not a valid slice name"));
    }
    let mut path = PathBuf::new();
    let mut prefix = String::new();
    for part in stem.split('-') {
        if !prefix.is_empty() {
            prefix.push('-');
        }
        prefix.push_str(part);
        path.push(format!("{prefix}.slice"));
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runc_forms() {
        let p = parse(Some("system.slice:cv-test:c1"), "x").unwrap();
        assert_eq!(p.slice, "system.slice");
        assert_eq!(p.unit, "cv-test-c1.scope");
        assert_eq!(p.cgroup, PathBuf::from("system.slice/cv-test-c1.scope"));
        let p = parse(Some(":cv-test:c1"), "x").unwrap();
        assert_eq!(p.slice, "system.slice");
        assert_eq!(p.cgroup, PathBuf::from("system.slice/cv-test-c1.scope"));
        let p = parse(Some("machine-pod1.slice:crio:abc"), "x").unwrap();
        assert_eq!(
            p.cgroup,
            PathBuf::from("machine.slice/machine-pod1.slice/crio-abc.scope")
        );
        let p = parse(Some("-.slice::c1"), "x").unwrap();
        assert_eq!(p.unit, "c1.scope");
        assert_eq!(p.cgroup, PathBuf::from("c1.scope"));
        let p = parse(Some("machine.slice:ignored:machine-pod1.slice"), "x").unwrap();
        assert!(p.is_slice);
        assert_eq!(p.unit, "machine-pod1.slice");
        assert_eq!(p.slice, "machine.slice");
        assert_eq!(p.cgroup, PathBuf::from("machine.slice/machine-pod1.slice"));
        let p = parse(Some("-.slice::top.slice"), "x").unwrap();
        assert_eq!(p.cgroup, PathBuf::from("top.slice"));
        let p = parse(None, "c9").unwrap();
        assert!(!p.is_slice);
        assert_eq!(p.unit, "containerv-c9.scope");
        assert_eq!(p.cgroup, PathBuf::from("system.slice/containerv-c9.scope"));
    }

    #[test]
    fn refused() {
        for v in [
            "/sys/fs/cgroup/x",
            "a:b",
            "a:b:c:d",
            "system.slice:p:",
            "system.slice:p:n.slice",
            "machine.slice:p:system-x.slice",
            "system:p:n",
            "a/b.slice:p:n",
            "a--b.slice:p:n",
            "-a.slice:p:n",
            "system.slice:p:n m",
        ] {
            let e = parse(Some(v), "x").unwrap_err().to_string();
            assert!(e.contains("cgroupsPath"), "{v}: {e}");
        }
    }
}
