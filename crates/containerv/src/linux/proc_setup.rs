//! The last steps before a container process runs its program, shared by
//! the init (OCI `process`) and by `spawn`/`exec`: credentials, rlimits,
//! capabilities, no_new_privs, umask, cwd, environment, and the exec itself
//! with a PATH search inside the container.
//!
//! Split in two halves because the caller may be multi-threaded: `prepare`
//! runs in the parent and does every allocation (C strings, id lists, cap
//! masks); `exec` runs in the forked child and makes system calls only.
//! A failure in the child is a [`ChildError`] (a static step name and an
//! errno) that fits in 8 bytes on a pipe; [`PreparedProcess::error`] turns
//! it into a message naming the program or directory.

use std::ffi::CString;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use libc::c_char;
use oci_spec::runtime::{
    Capabilities, Capability, IOPriorityClass, LinuxIOPriority, LinuxPersonality,
    LinuxPersonalityDomain, LinuxSchedulerFlag, LinuxSchedulerPolicy, PosixRlimitType, Scheduler,
};

use super::user;
use crate::error::{Error, Result};

/// The type of setrlimit's resource argument: glibc's enum, a plain int on
/// musl (the static test binaries run in the cgroup v2 VM are musl).
#[cfg(target_env = "gnu")]
type RlimitResource = libc::__rlimit_resource_t;
#[cfg(not(target_env = "gnu"))]
type RlimitResource = libc::c_int;

/// PATH used for the lookup when the process's env has none (runc's).
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Longest path the child builds for the PATH search (PATH_MAX).
const PATH_BUF: usize = 4096;

/// `_LINUX_CAPABILITY_VERSION_3`.
const CAP_VERSION_3: u32 = 0x2008_0522;

/// Every capability name the kernel defines, by number.
const CAP_NAMES: [&str; 41] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// Step names a child can fail at; the index is what goes over the pipe.
const STEPS: &[&str] = &[
    "child set-up",
    "oom_score_adj",
    "setrlimit",
    "prctl PR_SET_KEEPCAPS",
    "drop capability from bounding set",
    "setgroups",
    "setresgid",
    "setresuid",
    "capset",
    "prctl PR_SET_NO_NEW_PRIVS",
    "chdir",
    "exec",
    // Used by the spawn/exec path (exec.rs) and the init.
    "join cgroup",
    "setns",
    "clone",
    "dup stdio",
    "setsid",
    "set controlling terminal",
    "open pty",
    "send pty master",
    "write pid",
    "prctl PR_SET_DUMPABLE",
    "ioprio_set",
    "sched_setattr",
    "personality",
    "cwd is outside the container",
    // seccomp (see `seccomp::Prepared::install`).
    "seccomp",
    "seccomp agent at linux.seccomp.listenerPath",
    // The program check before the wait for `start` (check_program).
    "lookup",
];

/// A capability number (0 = CAP_CHOWN ...) from a name like `CAP_NET_ADMIN`
/// (the `CAP_` prefix and case are optional). Unknown → `InvalidSpec`.
pub(crate) fn capability_number(name: &str) -> Result<u32> {
    let upper = name.to_ascii_uppercase();
    let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
    CAP_NAMES
        .iter()
        .position(|n| *n == bare)
        .map(|i| i as u32)
        .ok_or_else(|| Error::InvalidSpec(format!("unknown capability {name:?}")))
}

/// Mask of `caps`, limited to what this kernel knows (`last_cap`).
fn cap_mask(caps: &Capabilities, last_cap: u32) -> Result<u64> {
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

/// `CAP_X` name of an oci-spec capability (its serde name).
fn capability_name(cap: &Capability) -> String {
    match serde_json::to_value(cap) {
        Ok(serde_json::Value::String(s)) => s,
        _ => format!("CAP_{cap}"),
    }
}

/// The highest capability number this kernel knows.
fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40)
        .min(CAP_NAMES.len() as u32 - 1)
}

fn rlimit_resource(t: PosixRlimitType) -> RlimitResource {
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

/// The five capability sets as bit masks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct CapSets {
    bounding: u64,
    effective: u64,
    permitted: u64,
    inheritable: u64,
    ambient: u64,
}

/// An OCI process turned into ready-to-use system call arguments.
#[derive(Debug)]
pub(crate) struct PreparedProcess {
    /// argv as given (for error messages).
    args: Vec<String>,
    argv: Vec<CString>,
    /// Pointers into `argv`, NULL-terminated.
    argv_ptrs: Vec<*const c_char>,
    /// Owns the strings `envp_ptrs` points to (read only through them).
    #[allow(dead_code)]
    envp: Vec<CString>,
    /// Pointers into `envp`, NULL-terminated.
    envp_ptrs: Vec<*const c_char>,
    /// The PATH the program is looked up in (from env, or the default).
    path: CString,
    cwd: CString,
    cwd_display: String,
    uid: u32,
    gid: u32,
    groups: Vec<libc::gid_t>,
    umask: Option<u32>,
    rlimits: Vec<(RlimitResource, libc::rlimit)>,
    /// `None`: capabilities are left as they are (spec has none).
    caps: Option<CapSets>,
    last_cap: u32,
    no_new_privs: bool,
    /// oom_score_adj, pre-formatted.
    oom_score_adj: Option<CString>,
    /// `process.ioPriority` as the `ioprio_set` value (class << 13 | level).
    ioprio: Option<i32>,
    /// `process.scheduler` for `sched_setattr`.
    sched: Option<SchedAttr>,
    /// `linux.personality` (the init only: see [`Self::set_personality`]).
    personality: Option<libc::c_ulong>,
    /// `process.terminal`.
    pub terminal: bool,
    /// `linux.seccomp`, compiled (see [`Self::set_seccomp`]).
    seccomp: Option<super::seccomp::Prepared>,
}

/// The kernel's `struct sched_attr` (SCHED_ATTR_SIZE_VER1, 56 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct SchedAttr {
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
fn ioprio_value(p: &LinuxIOPriority) -> Result<i32> {
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
fn sched_attr(s: &Scheduler) -> Result<SchedAttr> {
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

// SAFETY: the raw pointers point into the CStrings owned by the same struct
// (heap buffers that never move or change after `prepare`); nothing is
// shared mutably.
unsafe impl Send for PreparedProcess {}
// SAFETY: as above; all access after `prepare` is read-only.
unsafe impl Sync for PreparedProcess {}

/// A failed step in the child: what it was doing and the errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChildError {
    pub step: &'static str,
    pub errno: i32,
}

impl ChildError {
    /// 8 bytes for a pipe: step index, errno (native endian). No allocation.
    pub(crate) fn encode(&self) -> [u8; 8] {
        let idx = STEPS.iter().position(|s| *s == self.step).unwrap_or(0) as u32;
        let mut b = [0u8; 8];
        b[..4].copy_from_slice(&idx.to_ne_bytes());
        b[4..].copy_from_slice(&self.errno.to_ne_bytes());
        b
    }

    /// The inverse of [`Self::encode`].
    pub(crate) fn decode(b: [u8; 8]) -> ChildError {
        let idx = u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as usize;
        ChildError {
            step: STEPS.get(idx).copied().unwrap_or(STEPS[0]),
            errno: i32::from_ne_bytes([b[4], b[5], b[6], b[7]]),
        }
    }
}

/// A C string from `s`, or `InvalidSpec` naming `what` if it holds a NUL.
fn cstring(what: &str, s: &[u8]) -> Result<CString> {
    CString::new(s).map_err(|_| {
        Error::InvalidSpec(format!(
            "{what} {:?} contains a NUL byte",
            String::from_utf8_lossy(s)
        ))
    })
}

fn null_terminated(v: &[CString]) -> Vec<*const c_char> {
    v.iter()
        .map(|c| c.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

impl PreparedProcess {
    /// Turn `process` into system call arguments. `root` is the container's
    /// root as the host sees it (to resolve user and group names against
    /// its /etc/passwd and /etc/group).
    ///
    /// `process.user.username`, when set, is a "name[:group]" or
    /// "uid[:gid]" spec resolved in the container; it replaces uid and gid
    /// and adds the user's groups from /etc/group to `additionalGids`.
    pub(crate) fn prepare(process: &oci_spec::runtime::Process, root: &Path) -> Result<Self> {
        let args = process.args().clone().unwrap_or_default();
        if args.is_empty() {
            return Err(Error::InvalidSpec("process.args is empty".into()));
        }
        let argv = args
            .iter()
            .map(|a| cstring("process.args entry", a.as_bytes()))
            .collect::<Result<Vec<_>>>()?;

        let cwd_path = process.cwd();
        if !cwd_path.is_absolute() {
            return Err(Error::InvalidSpec(format!(
                "process.cwd {:?} is not an absolute path",
                cwd_path.display()
            )));
        }
        let cwd = cstring("process.cwd", cwd_path.as_os_str().as_bytes())?;

        // User: names resolved inside the container's root.
        let spec_user = process.user();
        let mut groups: Vec<u32> = spec_user.additional_gids().clone().unwrap_or_default();
        let root_fd = super::fs_copy::open_root(root);
        let (uid, gid, home) = match spec_user.username() {
            Some(name) if !name.is_empty() => {
                let root_fd = root_fd?;
                let r = user::resolve(&root_fd, name)?;
                groups.extend(r.supplementary);
                (r.uid, r.gid, r.home)
            }
            _ => {
                let home = root_fd
                    .ok()
                    .and_then(|fd: OwnedFd| user::home_of(&fd, spec_user.uid()));
                (spec_user.uid(), spec_user.gid(), home)
            }
        };
        groups.sort_unstable();
        groups.dedup();

        // Environment (validated), HOME from passwd when missing.
        let mut env: Vec<String> = process.env().clone().unwrap_or_default();
        for e in &env {
            if !e.contains('=') {
                return Err(Error::InvalidSpec(format!(
                    "process.env entry {e:?} is not KEY=VALUE"
                )));
            }
        }
        if !env.iter().any(|e| e.starts_with("HOME=")) {
            env.push(format!("HOME={}", home.as_deref().unwrap_or("/")));
        }
        let envp = env
            .iter()
            .map(|e| cstring("process.env entry", e.as_bytes()))
            .collect::<Result<Vec<_>>>()?;
        let path_value = env
            .iter()
            .rev()
            .find_map(|e| e.strip_prefix("PATH="))
            .unwrap_or(DEFAULT_PATH);
        let path = cstring("PATH", path_value.as_bytes())?;

        let rlimits = process
            .rlimits()
            .iter()
            .flatten()
            .map(|r| {
                if r.soft() > r.hard() {
                    return Err(Error::InvalidSpec(format!(
                        "rlimit {}: soft limit {} is above hard limit {}",
                        r.typ(),
                        r.soft(),
                        r.hard()
                    )));
                }
                Ok((
                    rlimit_resource(r.typ()),
                    libc::rlimit {
                        rlim_cur: r.soft(),
                        rlim_max: r.hard(),
                    },
                ))
            })
            .collect::<Result<Vec<_>>>()?;

        let last_cap = last_cap();
        let caps = match process.capabilities() {
            None => None,
            Some(c) => {
                let m = |s: &Option<Capabilities>| match s {
                    Some(s) => cap_mask(s, last_cap),
                    None => Ok(0),
                };
                Some(CapSets {
                    bounding: m(c.bounding())?,
                    effective: m(c.effective())?,
                    permitted: m(c.permitted())?,
                    inheritable: m(c.inheritable())?,
                    ambient: m(c.ambient())?,
                })
            }
        };

        let oom_score_adj = match process.oom_score_adj() {
            Some(v) if !(-1000..=1000).contains(&v) => {
                return Err(Error::InvalidSpec(format!(
                    "process.oomScoreAdj {v} is outside -1000..=1000"
                )))
            }
            Some(v) => Some(cstring("oomScoreAdj", v.to_string().as_bytes())?),
            None => None,
        };

        let ioprio = process
            .io_priority()
            .as_ref()
            .map(ioprio_value)
            .transpose()?;
        let sched = process.scheduler().as_ref().map(sched_attr).transpose()?;

        let argv_ptrs = null_terminated(&argv);
        let envp_ptrs = null_terminated(&envp);
        Ok(PreparedProcess {
            args,
            argv,
            argv_ptrs,
            envp,
            envp_ptrs,
            path,
            cwd,
            cwd_display: cwd_path.display().to_string(),
            uid,
            gid,
            groups,
            umask: spec_user.umask(),
            rlimits,
            caps,
            last_cap,
            no_new_privs: process.no_new_privileges().unwrap_or(false),
            oom_score_adj,
            ioprio,
            sched,
            personality: None,
            terminal: process.terminal().unwrap_or(false),
            seccomp: None,
        })
    }

    /// Apply `linux.personality` before the exec (the container's init).
    pub(crate) fn set_personality(&mut self, p: Option<&LinuxPersonality>) -> Result<()> {
        self.personality = match p {
            None => None,
            Some(p) => {
                if let Some(f) = p.flags().as_ref().filter(|f| !f.is_empty()) {
                    return Err(Error::InvalidSpec(format!(
                        "linux.personality.flags {f:?}: no flags are supported"
                    )));
                }
                Some(match p.domain() {
                    LinuxPersonalityDomain::PerLinux => 0x0000,
                    LinuxPersonalityDomain::PerLinux32 => 0x0008,
                })
            }
        };
        Ok(())
    }

    /// Compile and carry `linux.seccomp` (the init and every exec get it,
    /// as in runc). Errors (unknown syscall, bad argument...) come here,
    /// before anything is created.
    pub(crate) fn set_seccomp(&mut self, ctx: super::seccomp::Context<'_>) -> Result<()> {
        self.seccomp = super::seccomp::Prepared::new(ctx, self.no_new_privs)?;
        Ok(())
    }

    /// A descriptor the child must keep until exec (the seccomp agent socket).
    pub(crate) fn seccomp_fd(&self) -> Option<std::os::fd::RawFd> {
        self.seccomp.as_ref().and_then(|s| s.keep_fd())
    }

    /// A container init that waits for `start` and uses SCMP_ACT_NOTIFY
    /// loads its filter before the wait (as runc does), so the process
    /// that creates it relays the listener to the agent; the later
    /// install in [`Self::exec`] is then a no-op. In the child only.
    pub(crate) fn install_seccomp_for_agent(&self) -> Result<(), ChildError> {
        match &self.seccomp {
            Some(s) if s.has_agent() => s
                .install()
                .map_err(|(step, errno)| ChildError { step, errno }),
            _ => Ok(()),
        }
    }

    /// Load the seccomp filter now if it goes in at this point (`early`:
    /// before the credential change, else right before execve).
    fn install_seccomp(&self, early: bool) -> Result<(), ChildError> {
        match &self.seccomp {
            Some(s) if s.early() == early => s
                .install()
                .map_err(|(step, errno)| ChildError { step, errno }),
            _ => Ok(()),
        }
    }

    /// The uid and gid the process will run as.
    pub(crate) fn ids(&self) -> (u32, u32) {
        (self.uid, self.gid)
    }

    /// A child's failure as the library's error, naming the program for
    /// `exec` (`exec "/bin/nosuch": No such file or directory`) and the
    /// directory for `chdir`.
    pub(crate) fn error(&self, e: ChildError) -> Error {
        let step = match e.step {
            "exec" => format!("exec {:?}", self.args[0]),
            // runc's words, which podman turns into exit code 127.
            "lookup" if e.errno == libc::ENOENT && !self.args[0].contains('/') => {
                format!(
                    "exec: {:?}: executable file not found in $PATH",
                    self.args[0]
                )
            }
            "lookup" => format!("exec: {:?}", self.args[0]),
            "chdir" => format!("chdir {:?}", self.cwd_display),
            "cwd is outside the container" => {
                format!(
                    "process.cwd {:?}: resolves outside the container",
                    self.cwd_display
                )
            }
            "setresuid" => format!("setresuid {}", self.uid),
            "setresgid" => format!("setresgid {}", self.gid),
            s => s.to_string(),
        };
        Error::Setup {
            step,
            source: std::io::Error::from_raw_os_error(e.errno),
        }
    }

    /// In the child, inside the container (namespaces joined, rootfs
    /// entered): apply everything and exec. Returns only on failure.
    ///
    /// # Safety
    /// Call only in a freshly forked child that will `_exit` if this returns.
    pub(crate) unsafe fn exec(&self) -> ChildError {
        match self.setup() {
            Ok(()) => self.execvpe(),
            Err(e) => e,
        }
    }

    /// Everything but the exec. System calls only.
    fn setup(&self) -> Result<(), ChildError> {
        let fail = |step: &'static str| ChildError {
            step,
            errno: errno(),
        };
        reset_signals();
        // Until execve replaces it, this process is a copy of the runtime:
        // non-dumpable, nobody in the container may open /proc/<pid>/exe
        // (CVE-2019-5736) or ptrace it. execve makes the program dumpable.
        // SAFETY: prctl with integer arguments.
        if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } != 0 {
            return Err(fail("prctl PR_SET_DUMPABLE"));
        }

        if let Some(v) = &self.oom_score_adj {
            write_file(c"/proc/self/oom_score_adj", v.as_bytes()).map_err(|errno| ChildError {
                step: "oom_score_adj",
                errno,
            })?;
        }
        for (res, lim) in &self.rlimits {
            // SAFETY: setrlimit with a valid rlimit struct.
            if unsafe { libc::setrlimit(*res, lim) } != 0 {
                return Err(fail("setrlimit"));
            }
        }
        if let Some(v) = self.ioprio {
            // SAFETY: ioprio_set(IOPRIO_WHO_PROCESS, self, value): integers only.
            if unsafe { libc::syscall(libc::SYS_ioprio_set, 1, 0, v) } != 0 {
                return Err(fail("ioprio_set"));
            }
        }
        if let Some(attr) = &self.sched {
            // SAFETY: sched_setattr(self, attr, 0) with a valid struct of its declared size.
            if unsafe { libc::syscall(libc::SYS_sched_setattr, 0, attr as *const SchedAttr, 0) }
                != 0
            {
                return Err(fail("sched_setattr"));
            }
        }
        if let Some(p) = self.personality {
            // SAFETY: personality with an integer argument.
            if unsafe { libc::personality(p) } < 0 {
                return Err(fail("personality"));
            }
        }
        // seccomp without no_new_privs needs CAP_SYS_ADMIN: before the caps drop (runc's order).
        self.install_seccomp(true)?;
        if let Some(caps) = &self.caps {
            // Keep the permitted set across the uid change below.
            // SAFETY: prctl with integer arguments.
            if unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) } != 0 {
                return Err(fail("prctl PR_SET_KEEPCAPS"));
            }
            for cap in 0..=self.last_cap {
                if caps.bounding & (1 << cap) == 0 {
                    // SAFETY: prctl with integer arguments.
                    if unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) }
                        != 0
                    {
                        return Err(fail("drop capability from bounding set"));
                    }
                }
            }
        }
        // Raw system calls, not glibc's wrappers: those broadcast the change
        // to every thread glibc believes exists (SETXID) and, in a child
        // forked from a multi-threaded caller by a raw clone, wait forever
        // for threads that are not there.
        // SAFETY: setgroups with a pointer/length pair into our own Vec.
        if unsafe { libc::syscall(libc::SYS_setgroups, self.groups.len(), self.groups.as_ptr()) }
            != 0
        {
            // In a user namespace with setgroups denied, an empty list is fine.
            if !(self.groups.is_empty() && errno() == libc::EPERM) {
                return Err(fail("setgroups"));
            }
        }
        // SAFETY: plain id-setting system calls.
        if unsafe { libc::syscall(libc::SYS_setresgid, self.gid, self.gid, self.gid) } != 0 {
            return Err(fail("setresgid"));
        }
        // SAFETY: as above.
        if unsafe { libc::syscall(libc::SYS_setresuid, self.uid, self.uid, self.uid) } != 0 {
            return Err(fail("setresuid"));
        }
        if let Some(caps) = &self.caps {
            capset(caps).map_err(|errno| ChildError {
                step: "capset",
                errno,
            })?;
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
            for cap in 0..=self.last_cap {
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
        }
        if self.no_new_privs {
            // SAFETY: prctl with integer arguments.
            if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
                return Err(fail("prctl PR_SET_NO_NEW_PRIVS"));
            }
        }
        if let Some(mask) = self.umask {
            // SAFETY: umask cannot fail.
            unsafe { libc::umask(mask as libc::mode_t) };
        }
        // SAFETY: chdir with a valid C string.
        if unsafe { libc::chdir(self.cwd.as_ptr()) } != 0 {
            return Err(fail("chdir"));
        }
        // The cwd must be inside the container's root: a path through a
        // leaked host descriptor (/proc/self/fd/N, CVE-2024-21626) would
        // resolve outside it, and the kernel's getcwd then answers
        // "(unreachable)/..." instead of an absolute path.
        let mut buf = [0u8; PATH_BUF];
        // SAFETY: getcwd into a stack buffer of the given size.
        let n = unsafe { libc::syscall(libc::SYS_getcwd, buf.as_mut_ptr(), buf.len()) };
        if n <= 0 || buf[0] != b'/' {
            return Err(ChildError {
                step: "cwd is outside the container",
                errno: libc::EPERM,
            });
        }
        // seccomp with no_new_privs: the very last step before execve.
        self.install_seccomp(false)?;
        Ok(())
    }

    /// Whether `argv[0]` names an executable file, as `execvpe` will look
    /// for it: called in the init before it reports ready, so that a
    /// missing program fails `create` (as runc's does) rather than being
    /// an exit code after `start`. Still root, before the user switch, so
    /// only "is there a regular file with an x bit" is checked. A path
    /// relative to the (not yet entered) cwd is not checked. System calls
    /// only.
    pub(crate) fn check_program(&self) -> Result<(), ChildError> {
        let prog = self.argv[0].as_bytes();
        let err = |errno| ChildError {
            step: "lookup",
            errno,
        };
        let probe = |path: *const c_char| -> i32 {
            // SAFETY: stat into a zeroed struct with a NUL-terminated path.
            let mut st: libc::stat = unsafe { std::mem::zeroed() };
            if unsafe { libc::stat(path, &mut st) } != 0 {
                return errno();
            }
            if st.st_mode & libc::S_IFMT != libc::S_IFREG || st.st_mode & 0o111 == 0 {
                return libc::EACCES;
            }
            0
        };
        if prog.is_empty() {
            return Err(err(libc::ENOENT));
        }
        if prog.contains(&b'/') {
            if prog[0] != b'/' {
                return Ok(());
            }
            return match probe(self.argv[0].as_ptr()) {
                0 => Ok(()),
                e => Err(err(e)),
            };
        }
        let mut buf = [0u8; PATH_BUF];
        let mut best = libc::ENOENT;
        for dir in self.path.as_bytes().split(|b| *b == b':') {
            if dir.first() != Some(&b'/') {
                // "" or a relative directory: depends on the cwd.
                return Ok(());
            }
            let Some(path) = join_candidate(&mut buf, dir, prog) else {
                continue;
            };
            match probe(path) {
                0 => return Ok(()),
                libc::EACCES => best = libc::EACCES,
                _ => {}
            }
        }
        Err(err(best))
    }

    /// execve `argv[0]`, searching PATH when it has no '/', like execvpe:
    /// EACCES from any directory wins over ENOENT. No allocation: candidate
    /// paths are built in a stack buffer.
    fn execvpe(&self) -> ChildError {
        let prog = self.argv[0].as_bytes();
        let exec = |path: *const c_char| {
            // SAFETY: execve with NUL-terminated strings and NULL-terminated
            // pointer arrays that live as long as `self`.
            unsafe { libc::execve(path, self.argv_ptrs.as_ptr(), self.envp_ptrs.as_ptr()) };
            errno()
        };
        let err = |errno| ChildError {
            step: "exec",
            errno,
        };
        if prog.is_empty() {
            return err(libc::ENOENT);
        }
        if prog.contains(&b'/') {
            return err(exec(self.argv[0].as_ptr()));
        }
        let mut buf = [0u8; PATH_BUF];
        let mut best = libc::ENOENT;
        for dir in self.path.as_bytes().split(|b| *b == b':') {
            let dir: &[u8] = if dir.is_empty() { b"." } else { dir };
            let Some(path) = join_candidate(&mut buf, dir, prog) else {
                continue;
            };
            match exec(path) {
                libc::EACCES => best = libc::EACCES,
                libc::ENOENT | libc::ENOTDIR | libc::ESTALE | libc::ENODEV | libc::ETIMEDOUT => {}
                other => return err(other),
            }
        }
        err(best)
    }
}

/// `dir/prog`, NUL-terminated, in `buf` (a PATH candidate); `None` when it
/// does not fit.
fn join_candidate(buf: &mut [u8; PATH_BUF], dir: &[u8], prog: &[u8]) -> Option<*const c_char> {
    let len = dir.len() + 1 + prog.len();
    if len + 1 > buf.len() {
        return None;
    }
    buf[..dir.len()].copy_from_slice(dir);
    buf[dir.len()] = b'/';
    buf[dir.len() + 1..len].copy_from_slice(prog);
    buf[len] = 0;
    Some(buf.as_ptr().cast())
}

/// The current thread's errno.
fn errno() -> i32 {
    // SAFETY: __errno_location returns this thread's errno slot.
    unsafe { *libc::__errno_location() }
}

/// Signal dispositions and mask as a new program expects them: the Rust
/// runtime ignores SIGPIPE, and ignored signals survive exec.
fn reset_signals() {
    // SAFETY: sigset manipulation on a local, then sigprocmask/signal calls
    // with valid arguments; SIGKILL/SIGSTOP are skipped.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
        for sig in 1..libc::SIGRTMIN() {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                libc::signal(sig, libc::SIG_DFL);
            }
        }
    }
}

/// Write `data` to an existing file. System calls only.
fn write_file(path: &std::ffi::CStr, data: &[u8]) -> Result<(), i32> {
    // SAFETY: open/write/close with a valid path and buffer.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return Err(errno());
        }
        let n = libc::write(fd, data.as_ptr().cast(), data.len());
        let e = errno();
        libc::close(fd);
        if n < 0 {
            return Err(e);
        }
    }
    Ok(())
}

/// capset(2) with the effective, permitted and inheritable masks.
fn capset(caps: &CapSets) -> Result<(), i32> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{
        LinuxCapabilitiesBuilder, PosixRlimitBuilder, ProcessBuilder, UserBuilder,
    };
    use std::io::Read;
    use std::os::fd::{AsRawFd, FromRawFd};

    fn process(args: &[&str]) -> oci_spec::runtime::ProcessBuilder {
        ProcessBuilder::default()
            .args(args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .env(vec!["PATH=/usr/sbin:/usr/bin:/sbin:/bin".to_string()])
            .cwd("/")
    }

    /// Fork, run `p.exec()` with stdout on a pipe; return (output, exit
    /// status, child error if exec failed).
    fn run(p: &PreparedProcess) -> (String, i32, Option<ChildError>) {
        let (out_r, out_w) = nix::unistd::pipe().unwrap();
        let (err_r, err_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
        // SAFETY: the child only makes system calls (dup2, exec, write, _exit).
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            // SAFETY: in the forked child; system calls only.
            unsafe {
                libc::dup2(out_w.as_raw_fd(), 1);
                let e = p.exec().encode();
                libc::write(err_w.as_raw_fd(), e.as_ptr().cast(), 8);
                libc::_exit(127);
            }
        }
        drop(out_w);
        drop(err_w);
        let mut out = String::new();
        // SAFETY: we own out_r; into a File that closes it.
        let mut f =
            unsafe { std::fs::File::from_raw_fd(std::os::fd::IntoRawFd::into_raw_fd(out_r)) };
        f.read_to_string(&mut out).unwrap();
        let mut buf = Vec::new();
        std::fs::File::from(err_r).read_to_end(&mut buf).unwrap();
        let status = super::super::process::wait_pid(pid).unwrap().code();
        let err = (buf.len() == 8).then(|| ChildError::decode(buf.try_into().unwrap()));
        (out, status, err)
    }

    #[test]
    fn capability_names() {
        assert_eq!(capability_number("CAP_CHOWN").unwrap(), 0);
        assert_eq!(capability_number("CAP_NET_ADMIN").unwrap(), 12);
        assert_eq!(capability_number("sys_admin").unwrap(), 21);
        assert_eq!(capability_number("CAP_CHECKPOINT_RESTORE").unwrap(), 40);
        let e = capability_number("CAP_BOGUS").unwrap_err().to_string();
        assert!(e.contains("CAP_BOGUS"), "{e}");
        // Every oci-spec capability maps to a number.
        let all: Capabilities = serde_json::from_str::<Vec<Capability>>(
            &serde_json::to_string(&CAP_NAMES.map(|n| format!("CAP_{n}")).to_vec()).unwrap(),
        )
        .unwrap()
        .into_iter()
        .collect();
        assert_eq!(cap_mask(&all, 40).unwrap(), (1u64 << 41) - 1);
    }

    #[test]
    fn child_error_round_trip() {
        for step in STEPS {
            let e = ChildError {
                step,
                errno: libc::EACCES,
            };
            assert_eq!(ChildError::decode(e.encode()), e);
        }
    }

    #[test]
    fn bad_specs_are_named() {
        let p = process(&[]).build().unwrap();
        let e = PreparedProcess::prepare(&p, Path::new("/"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("process.args is empty"), "{e}");
        let p = process(&["/bin/true"]).cwd("rel").build().unwrap();
        let e = PreparedProcess::prepare(&p, Path::new("/"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"rel\"") && e.contains("absolute"), "{e}");
        let p = process(&["/bin/tr\0ue"]).build().unwrap();
        let e = PreparedProcess::prepare(&p, Path::new("/"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("NUL"), "{e}");
        let p = process(&["/bin/true"])
            .env(vec!["NOEQUALS".to_string()])
            .build()
            .unwrap();
        let e = PreparedProcess::prepare(&p, Path::new("/"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("NOEQUALS"), "{e}");
        let rl = PosixRlimitBuilder::default()
            .typ(PosixRlimitType::RlimitNofile)
            .soft(10u64)
            .hard(5u64)
            .build()
            .unwrap();
        let p = process(&["/bin/true"]).rlimits(vec![rl]).build().unwrap();
        let e = PreparedProcess::prepare(&p, Path::new("/"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("RLIMIT_NOFILE"), "{e}");
    }

    #[test]
    fn unknown_user_is_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("etc")).unwrap();
        std::fs::write(dir.path().join("etc/passwd"), "root:x:0:0::/root:/bin/sh\n").unwrap();
        let user = UserBuilder::default().username("nosuch").build().unwrap();
        let p = process(&["/bin/true"]).user(user).build().unwrap();
        let e = PreparedProcess::prepare(&p, dir.path()).unwrap_err();
        assert!(matches!(&e, Error::UnknownUser(n) if n == "nosuch"), "{e}");
    }

    #[test]
    fn passwd_symlink_stays_in_root() {
        // /etc -> /etc inside the root is a loop there, never the host's
        // /etc: resolving "root" must fail, not find the host's root.
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/etc", dir.path().join("etc")).unwrap();
        let user = UserBuilder::default().username("root").build().unwrap();
        let p = process(&["/bin/true"]).user(user).build().unwrap();
        let e = PreparedProcess::prepare(&p, dir.path())
            .unwrap_err()
            .to_string();
        assert!(e.contains("etc/passwd"), "{e}");
        // An absolute symlink is taken from the container's root.
        std::fs::remove_file(dir.path().join("etc")).unwrap();
        std::fs::create_dir(dir.path().join("real")).unwrap();
        std::fs::write(
            dir.path().join("real/passwd"),
            "app:x:1234:99:app:/home/app:/bin/sh\n",
        )
        .unwrap();
        std::os::unix::fs::symlink("/../../real", dir.path().join("etc")).unwrap();
        let user = UserBuilder::default().username("app").build().unwrap();
        let p = process(&["/bin/true"]).user(user).build().unwrap();
        let p = PreparedProcess::prepare(&p, dir.path()).unwrap();
        assert_eq!(p.ids(), (1234, 99));
    }

    #[test]
    fn path_search_and_exit_code() {
        let p = PreparedProcess::prepare(
            &process(&["sh", "-c", "echo $HOME; exit 7"])
                .build()
                .unwrap(),
            Path::new("/"),
        )
        .unwrap();
        let (out, status, err) = run(&p);
        assert_eq!((out.trim(), status, err), ("/root", 7, None));
    }

    #[test]
    fn missing_program_is_reported() {
        let p = PreparedProcess::prepare(
            &process(&["nosuch-program-xyz"]).build().unwrap(),
            Path::new("/"),
        )
        .unwrap();
        let (_, status, err) = run(&p);
        assert_eq!(status, 127);
        let err = err.expect("a child error");
        assert_eq!((err.step, err.errno), ("exec", libc::ENOENT));
        let msg = p.error(err).to_string();
        assert!(
            msg.contains("exec \"nosuch-program-xyz\": No such file"),
            "{msg}"
        );
    }

    #[test]
    fn eacces_wins_over_enoent() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("prog"), "#!/bin/sh\n").unwrap();
        let path = format!("PATH=/nonexistent:{}:/also-missing", dir.path().display());
        let p = process(&["prog"]).env(vec![path]).build().unwrap();
        let p = PreparedProcess::prepare(&p, Path::new("/")).unwrap();
        let (_, _, err) = run(&p);
        assert_eq!(err.map(|e| e.errno), Some(libc::EACCES));
    }

    #[test]
    fn bad_cwd_is_reported() {
        let p = process(&["/bin/true"])
            .cwd("/nonexistent-dir-xyz")
            .build()
            .unwrap();
        let p = PreparedProcess::prepare(&p, Path::new("/")).unwrap();
        let (_, _, err) = run(&p);
        let msg = p.error(err.expect("a child error")).to_string();
        assert!(msg.contains("chdir \"/nonexistent-dir-xyz\""), "{msg}");
    }

    #[test]
    fn credentials_groups_and_caps() {
        let user = UserBuilder::default()
            .uid(65534u32)
            .gid(65534u32)
            .additional_gids(vec![10u32, 20])
            .umask(0o027u32)
            .build()
            .unwrap();
        let p = process(&[
            "sh",
            "-c",
            "id -u; id -g; id -G; umask; grep -E '^Cap(Eff|Bnd)' /proc/self/status",
        ])
        .user(user)
        .no_new_privileges(true)
        .build()
        .unwrap();
        let p = PreparedProcess::prepare(&p, Path::new("/")).unwrap();
        let (out, status, err) = run(&p);
        assert_eq!((status, err), (0, None), "{out}");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "65534");
        assert_eq!(lines[1], "65534");
        let mut g: Vec<&str> = lines[2].split_whitespace().collect();
        g.sort();
        assert_eq!(g, ["10", "20", "65534"]);
        assert_eq!(lines[3], "0027");
        // Default oci-spec caps: AUDIT_WRITE, KILL, NET_BIND_SERVICE in the
        // bounding set; a non-root user gets them as ambient → effective.
        let want = format!("{:016x}", (1u64 << 29) | (1 << 5) | (1 << 10));
        assert!(lines[4].ends_with(&want), "{out}");
        assert!(lines[5].ends_with(&want), "{out}");
    }

    #[test]
    fn root_with_restricted_caps() {
        let caps: Capabilities = [Capability::Kill, Capability::Chown].into_iter().collect();
        let c = LinuxCapabilitiesBuilder::default()
            .bounding(caps.clone())
            .effective(caps.clone())
            .permitted(caps.clone())
            .inheritable(Capabilities::new())
            .ambient(Capabilities::new())
            .build()
            .unwrap();
        let p = process(&["sh", "-c", "grep -E '^Cap(Eff|Bnd)' /proc/self/status"])
            .capabilities(c)
            .build()
            .unwrap();
        let p = PreparedProcess::prepare(&p, Path::new("/")).unwrap();
        let (out, status, err) = run(&p);
        assert_eq!((status, err), (0, None), "{out}");
        let want = format!("{:016x}", (1u64 << 5) | 1);
        for l in out.lines() {
            assert!(l.ends_with(&want), "{out}");
        }
    }
}
