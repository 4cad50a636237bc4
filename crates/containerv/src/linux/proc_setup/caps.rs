//! Capabilities: names and numbers (parent side, from the spec's
//! `CAP_*` strings), and the child-side steps of the drop: the bounding
//! set before the uid change, then capset and the ambient set after it.

use oci_spec::runtime::{Capabilities, Capability};

use super::child::errno;
use crate::error::{Error, Result};
use crate::linux::step::{ChildError, Step};

/// `_LINUX_CAPABILITY_VERSION_3`.
const CAP_VERSION_3: u32 = 0x2008_0522;

/// Every capability name the kernel defines, by number (one table for
/// the core, the OCI runtime's `features` and the engine's `--cap-add`).
pub const CAPABILITIES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// A capability number (0 = CAP_CHOWN ...) from a name like `CAP_NET_ADMIN`
/// (the `CAP_` prefix and case are optional). Unknown → `InvalidSpec`.
pub(super) fn capability_number(name: &str) -> Result<u32> {
    let upper = name.to_ascii_uppercase();
    let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
    CAPABILITIES
        .iter()
        .position(|n| n[4..] == *bare)
        .map(|i| i as u32)
        .ok_or_else(|| Error::InvalidSpec(format!("unknown capability {name:?}")))
}

/// Mask of `caps`, limited to what this kernel knows (`last_cap`).
pub(super) fn cap_mask(caps: &Capabilities, last_cap: u32) -> Result<u64> {
    let mut mask = 0u64;
    for cap in caps {
        let n = capability_number(&capability_name(cap))?;
        if n <= last_cap {
            mask |= 1 << n;
        } else {
            tracing::debug!("capability {cap} unknown to this kernel: ignored");
        }
    }
    Ok(mask)
}

/// Sets the kernel's capset(2) would refuse (EPERM after `start`, too late
/// for a message) are refused by name before anything is created: an
/// inheritable capability outside the bounding set (a Go spec that leaves
/// `bounding` out means an empty one), an effective one outside permitted.
pub(super) fn check_cap_sets(c: &CapSets) -> Result<()> {
    let first = |m: u64| {
        CAPABILITIES
            .get(m.trailing_zeros() as usize)
            .map_or("?", |n| &n[4..])
    };
    let outside_bounding = c.inheritable & !c.bounding;
    if outside_bounding != 0 {
        return Err(Error::InvalidSpec(format!(
            "process.capabilities.inheritable: CAP_{} is not in process.capabilities.bounding (the kernel refuses an inheritable capability outside the bounding set)",
            first(outside_bounding)
        )));
    }
    let outside_permitted = c.effective & !c.permitted;
    if outside_permitted != 0 {
        return Err(Error::InvalidSpec(format!(
            "process.capabilities.effective: CAP_{} is not in process.capabilities.permitted (the kernel refuses it)",
            first(outside_permitted)
        )));
    }
    Ok(())
}

/// `CAP_X` name of an oci-spec capability (its serde name).
fn capability_name(cap: &Capability) -> String {
    match serde_json::to_value(cap) {
        Ok(serde_json::Value::String(s)) => s,
        _ => format!("CAP_{cap}"),
    }
}

/// The highest capability number this kernel knows.
pub(super) fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40)
        .min(CAPABILITIES.len() as u32 - 1)
}

/// The five capability sets as bit masks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct CapSets {
    pub bounding: u64,
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
    pub ambient: u64,
}

/// capset(2) with the effective, permitted and inheritable masks.
pub(super) fn capset(caps: &CapSets) -> Result<(), i32> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    let hdr = Header {
        version: CAP_VERSION_3,
        pid: 0,
    };
    let word = |m: u64, i: usize| (m >> (32 * i)) as u32;
    let data: [Data; 2] = [0, 1].map(|i| Data {
        effective: word(caps.effective, i),
        permitted: word(caps.permitted, i),
        inheritable: word(caps.inheritable, i),
    });
    // SAFETY: capset with a v3 header and its two data words.
    let r = unsafe { libc::syscall(libc::SYS_capset, &hdr, data.as_ptr()) };
    if r != 0 {
        return Err(errno());
    }
    Ok(())
}

/// In the child, before the uid change: keep the permitted set across it
/// and drop what is not in the bounding set. System calls only.
pub(super) fn drop_bounding(caps: &CapSets, last_cap: u32) -> std::result::Result<(), ChildError> {
    // SAFETY: prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) } != 0 {
        return Err(Step::KeepCaps.failed(errno()));
    }
    for cap in 0..=last_cap {
        if caps.bounding & (1 << cap) == 0 {
            // SAFETY: prctl with integer arguments.
            if unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) } != 0 {
                return Err(Step::DropBoundingCap.failed(errno()));
            }
        }
    }
    Ok(())
}

/// In the child, after the uid change: the effective, permitted and
/// inheritable sets, then the ambient set. System calls only.
pub(super) fn apply_after_ids(
    caps: &CapSets,
    last_cap: u32,
) -> std::result::Result<(), ChildError> {
    capset(caps).map_err(|errno| Step::Capset.failed(errno))?;
    // SAFETY: prctl with integer arguments.
    unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
            0,
            0,
        )
    };
    for cap in 0..=last_cap {
        if caps.ambient & (1 << cap) != 0 {
            // Like runc, a cap that cannot be ambient (not in
            // permitted and inheritable) is skipped, not fatal.
            // SAFETY: prctl with integer arguments.
            unsafe {
                libc::prctl(
                    libc::PR_CAP_AMBIENT,
                    libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
                    cap as libc::c_ulong,
                    0,
                    0,
                )
            };
        }
    }
    Ok(())
}
