//! Scheduling, resource limits and personality: `process.rlimits`,
//! `process.ioPriority`, `process.scheduler` and `linux.personality`,
//! checked and turned into system call arguments in the parent
//! (allocation allowed), applied by the child with system calls only.

use oci_spec::runtime::{
    IOPriorityClass, LinuxIOPriority, LinuxPersonality, LinuxPersonalityDomain, LinuxSchedulerFlag,
    LinuxSchedulerPolicy, PosixRlimitType, Scheduler,
};

use super::child::errno;
use crate::error::{Error, Result};
use crate::linux::step::{ChildError, Step};

/// The type of setrlimit's resource argument: glibc's enum, a plain int on
/// musl (the static test binaries run in the cgroup v2 VM are musl).
#[cfg(target_env = "gnu")]
pub(super) type RlimitResource = libc::__rlimit_resource_t;
#[cfg(not(target_env = "gnu"))]
pub(super) type RlimitResource = libc::c_int;

/// The `setrlimit` resource of an OCI rlimit type.
pub(super) fn rlimit_resource(t: PosixRlimitType) -> RlimitResource {
    match t {
        PosixRlimitType::RlimitCpu => libc::RLIMIT_CPU,
        PosixRlimitType::RlimitFsize => libc::RLIMIT_FSIZE,
        PosixRlimitType::RlimitData => libc::RLIMIT_DATA,
        PosixRlimitType::RlimitStack => libc::RLIMIT_STACK,
        PosixRlimitType::RlimitCore => libc::RLIMIT_CORE,
        PosixRlimitType::RlimitRss => libc::RLIMIT_RSS,
        PosixRlimitType::RlimitNproc => libc::RLIMIT_NPROC,
        PosixRlimitType::RlimitNofile => libc::RLIMIT_NOFILE,
        PosixRlimitType::RlimitMemlock => libc::RLIMIT_MEMLOCK,
        PosixRlimitType::RlimitAs => libc::RLIMIT_AS,
        PosixRlimitType::RlimitLocks => libc::RLIMIT_LOCKS,
        PosixRlimitType::RlimitSigpending => libc::RLIMIT_SIGPENDING,
        PosixRlimitType::RlimitMsgqueue => libc::RLIMIT_MSGQUEUE,
        PosixRlimitType::RlimitNice => libc::RLIMIT_NICE,
        PosixRlimitType::RlimitRtprio => libc::RLIMIT_RTPRIO,
        PosixRlimitType::RlimitRttime => libc::RLIMIT_RTTIME,
    }
}

/// The kernel's `struct sched_attr` (SCHED_ATTR_SIZE_VER1, 56 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct SchedAttr {
    size: u32,
    policy: u32,
    flags: u64,
    nice: i32,
    priority: u32,
    runtime: u64,
    deadline: u64,
    period: u64,
    util_min: u32,
    util_max: u32,
}

/// `process.ioPriority` → the `ioprio_set` value; priority must be 0..=7.
pub(super) fn ioprio_value(p: &LinuxIOPriority) -> Result<i32> {
    let class = match p.class() {
        IOPriorityClass::IoprioClassRt => 1,
        IOPriorityClass::IoprioClassBe => 2,
        IOPriorityClass::IoprioClassIdle => 3,
    };
    if !(0..=7).contains(&p.priority()) {
        return Err(Error::InvalidSpec(format!(
            "process.ioPriority.priority {} is outside 0..=7",
            p.priority()
        )));
    }
    Ok((class << 13) | p.priority() as i32)
}

/// `process.scheduler` → `struct sched_attr`, checked like the kernel would.
pub(super) fn sched_attr(s: &Scheduler) -> Result<SchedAttr> {
    use LinuxSchedulerPolicy as P;
    let policy = match s.policy() {
        P::SchedOther => 0,
        P::SchedFifo => 1,
        P::SchedRr => 2,
        P::SchedBatch => 3,
        P::SchedIso => {
            return Err(Error::InvalidSpec(
                "process.scheduler.policy SCHED_ISO is not implemented by Linux".into(),
            ))
        }
        P::SchedIdle => 5,
        P::SchedDeadline => 6,
    };
    let mut flags = 0u64;
    for f in s.flags().iter().flatten() {
        flags |= match f {
            LinuxSchedulerFlag::SchedResetOnFork => 0x01,
            LinuxSchedulerFlag::SchedFlagReclaim => 0x02,
            LinuxSchedulerFlag::SchedFlagDLOverrun => 0x04,
            LinuxSchedulerFlag::SchedFlagKeepPolicy => 0x08,
            LinuxSchedulerFlag::SchedFlagKeepParams => 0x10,
            LinuxSchedulerFlag::SchedFlagUtilClampMin => 0x20,
            LinuxSchedulerFlag::SchedFlagUtilClampMax => 0x40,
        };
    }
    let nice = s.nice().unwrap_or(0);
    if !(-20..=19).contains(&nice) {
        return Err(Error::InvalidSpec(format!(
            "process.scheduler.nice {nice} is outside -20..=19"
        )));
    }
    let priority = s.priority().unwrap_or(0);
    let realtime = matches!(s.policy(), P::SchedFifo | P::SchedRr);
    if realtime && !(1..=99).contains(&priority) || !realtime && priority != 0 {
        return Err(Error::InvalidSpec(format!(
            "process.scheduler.priority {priority}: must be 1..=99 for SCHED_FIFO/SCHED_RR and 0 otherwise"
        )));
    }
    Ok(SchedAttr {
        size: std::mem::size_of::<SchedAttr>() as u32,
        policy,
        flags,
        nice,
        priority: priority as u32,
        runtime: s.runtime().unwrap_or(0),
        deadline: s.deadline().unwrap_or(0),
        period: s.period().unwrap_or(0),
        util_min: 0,
        util_max: 0,
    })
}

/// `linux.personality` → the `personality(2)` persona; no flags are supported.
pub(super) fn personality(p: &LinuxPersonality) -> Result<libc::c_ulong> {
    if let Some(f) = p.flags().as_ref().filter(|f| !f.is_empty()) {
        return Err(Error::InvalidSpec(format!(
            "linux.personality.flags {f:?}: no flags are supported"
        )));
    }
    Ok(match p.domain() {
        LinuxPersonalityDomain::PerLinux => 0x0000,
        LinuxPersonalityDomain::PerLinux32 => 0x0008,
    })
}

/// In the child: rlimits, I/O priority, scheduler and personality, in
/// that order. System calls only.
pub(super) fn apply(
    rlimits: &[(RlimitResource, libc::rlimit)],
    ioprio: Option<i32>,
    sched: Option<&SchedAttr>,
    personality: Option<libc::c_ulong>,
) -> std::result::Result<(), ChildError> {
    let fail = |step: Step| step.failed(errno());
    for (res, lim) in rlimits {
        // SAFETY: setrlimit with a valid rlimit struct.
        if unsafe { libc::setrlimit(*res, lim) } != 0 {
            return Err(fail(Step::Setrlimit));
        }
    }
    if let Some(v) = ioprio {
        // SAFETY: ioprio_set(IOPRIO_WHO_PROCESS, self, value): integers only.
        if unsafe { libc::syscall(libc::SYS_ioprio_set, 1, 0, v) } != 0 {
            return Err(fail(Step::IoprioSet));
        }
    }
    if let Some(attr) = sched {
        // SAFETY: sched_setattr(self, attr, 0) with a valid struct of its declared size.
        if unsafe { libc::syscall(libc::SYS_sched_setattr, 0, attr as *const SchedAttr, 0) } != 0 {
            return Err(fail(Step::SchedSetattr));
        }
    }
    if let Some(p) = personality {
        // SAFETY: personality with an integer argument.
        if unsafe { libc::personality(p) } < 0 {
            return Err(fail(Step::Personality));
        }
    }
    Ok(())
}
