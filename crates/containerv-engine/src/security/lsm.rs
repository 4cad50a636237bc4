//! `--security-opt label=...` (SELinux) and `apparmor=...`: cv applies
//! no LSM profile, so these are accepted only where they ask for nothing
//! (`label=disable`, `apparmor=unconfined`, as docker accepts them on any
//! host). Anything else is refused with the reason: the host has no such
//! LSM (this one has neither), or cv does not apply LSM labels yet.

use std::path::Path;

use crate::error::{Error, Result};

fn selinux_enabled() -> bool {
    Path::new("/sys/fs/selinux/enforce").exists()
}

fn apparmor_enabled() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.trim() == "Y")
}

/// Checks `key=value` (`given` is the whole flag value, for the error).
pub(super) fn check(key: &str, value: &str, given: &str) -> Result<()> {
    let (lsm, enabled, noop) = match key {
        "label" => ("SELinux", selinux_enabled(), value == "disable"),
        _ => ("AppArmor", apparmor_enabled(), value == "unconfined"),
    };
    if noop {
        return Ok(());
    }
    if value.is_empty() {
        return Err(Error::option(
            "--security-opt",
            given,
            format!("{key} needs a value"),
        ));
    }
    let why = if enabled {
        format!("{lsm} labels are not supported by cv yet")
    } else {
        format!("{lsm} is not available on this host")
    };
    Err(Error::option("--security-opt", given, why))
}
