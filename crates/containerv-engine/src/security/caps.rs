//! Capabilities as docker gives them: its default 14, `--cap-add` and
//! `--cap-drop` (names with or without `CAP_`, any case, `ALL`), and
//! `--privileged` (every capability). The result goes into the bounding
//! set, and into the effective and permitted sets only for uid 0: moby's
//! `oci.SetCapabilities` leaves a non-root user with none, as execve
//! would. Inheritable and ambient stay empty (CVE-2022-24769).

use crate::error::{Error, Result};

/// Docker's default capabilities (moby `oci/caps/defaults.go`).
pub const DEFAULT: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// Every capability Linux defines (up to 6.x), in kernel order: the
/// core's table.
pub const ALL: [&str; 41] = containerv::linux::CAPABILITIES;

/// `CAP_NAME` for `name` (`net_admin`, `CAP_NET_ADMIN`, `Net_Admin`), or
/// `ALL`; unknown names are an error naming `flag`.
fn normalize(flag: &str, name: &str) -> Result<String> {
    let upper = name.trim().to_ascii_uppercase();
    if upper == "ALL" {
        return Ok(upper);
    }
    let full = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    if ALL.contains(&full.as_str()) {
        Ok(full)
    } else {
        Err(Error::option(flag, name, "unknown capability"))
    }
}

/// Our own bounding set (a container can get no capability we lack:
/// here CAP_SYS_RESOURCE may be missing, see ENVIRONMENT.md).
fn own_bounding() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapBnd:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .unwrap_or(u64::MAX)
}

/// The capability list of a container (moby's `caps.TweakCapabilities`):
/// privileged → all; otherwise the defaults, minus drops, plus adds
/// (`--cap-drop ALL` empties the defaults first, `--cap-add ALL` gives
/// all; an add wins over a drop of the same name). "All" is every
/// capability this engine itself holds.
pub fn tweak(add: &[String], drop: &[String], privileged: bool) -> Result<Vec<String>> {
    let adds = add
        .iter()
        .map(|c| normalize("--cap-add", c))
        .collect::<Result<Vec<_>>>()?;
    let drops = drop
        .iter()
        .map(|c| normalize("--cap-drop", c))
        .collect::<Result<Vec<_>>>()?;
    let held = own_bounding();
    if privileged || adds.iter().any(|c| c == "ALL") {
        return Ok(ALL
            .iter()
            .enumerate()
            .filter(|(i, _)| held & (1 << i) != 0)
            .map(|(_, c)| c.to_string())
            .collect());
    }
    for (a, given) in adds.iter().zip(add) {
        let bit = ALL.iter().position(|c| c == a).unwrap_or(0);
        if held & (1 << bit) == 0 {
            return Err(Error::option(
                "--cap-add",
                given.as_str(),
                "this engine does not hold that capability itself, so it cannot give it",
            ));
        }
    }
    let mut caps: Vec<String> = if drops.iter().any(|c| c == "ALL") {
        Vec::new()
    } else {
        DEFAULT
            .iter()
            .filter(|c| !drops.iter().any(|d| d == *c))
            .map(|c| c.to_string())
            .collect()
    };
    for a in adds {
        if !caps.contains(&a) {
            caps.push(a);
        }
    }
    Ok(caps)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn docker_semantics() {
        assert_eq!(tweak(&[], &[], false).unwrap().len(), 14);
        let all = tweak(&[], &[], true).unwrap();
        assert_eq!(
            all.len() as u32,
            own_bounding().count_ones().min(ALL.len() as u32)
        );
        assert!(tweak(&[], &s(&["all"]), false).unwrap().is_empty());
        let c = tweak(&s(&["net_admin"]), &s(&["ALL"]), false).unwrap();
        assert_eq!(c, ["CAP_NET_ADMIN"]);
        let c = tweak(&[], &s(&["CAP_CHOWN", "kill"]), false).unwrap();
        assert_eq!(c.len(), 12);
        assert!(!c.contains(&"CAP_KILL".to_string()));
        let e = tweak(&s(&["CAP_BOGUS"]), &[], false).unwrap_err();
        assert!(e.to_string().contains("--cap-add"), "{e}");
        let e = tweak(&[], &s(&["nope"]), false).unwrap_err();
        assert!(e.to_string().contains("--cap-drop"), "{e}");
    }
}
