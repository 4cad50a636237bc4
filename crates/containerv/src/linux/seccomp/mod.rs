//! seccomp: `linux.seccomp` compiled to BPF in Rust (no libseccomp) and
//! installed in the container's processes as the last step before execve.
//!
//! - [`compile`] (`compile.rs`) turns the spec into a [`Program`]: arch
//!   check, per-arch binary search on the syscall number, 64-bit argument
//!   comparisons, every action, the filter flags. It runs in the runtime at
//!   create/exec time, so a bad profile fails before anything exists.
//! - `bpf.rs` is the assembler (labels, far-jump trampolines, the
//!   kernel's 4096-instruction limit); `tables.rs` the syscall numbers.
//! - [`Prepared`] carries the program into the forked child;
//!   [`Prepared::install`] makes the `seccomp(2)` call there (system calls
//!   only). Like runc, without `noNewPrivileges` the filter goes in before
//!   the credentials and capabilities change (installing needs
//!   CAP_SYS_ADMIN then), with it as late as possible, right before execve.
//! - `agent.rs` hands the `SCMP_ACT_NOTIFY` listener to the agent at
//!   `listenerPath`.

mod agent;
mod arch;
mod bpf;
mod compile;
mod tables;

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use oci_spec::runtime::{ContainerState, Spec};

pub use bpf::SockFilter;
pub use compile::{compile, Program};

use crate::error::{Error, Result};
use crate::linux::step::{ChildError, Step};

const SECCOMP_SET_MODE_FILTER: libc::c_ulong = 1;

/// The kernel's `struct sock_fprog`.
#[repr(C)]
struct SockFprog {
    len: libc::c_ushort,
    filter: *const SockFilter,
}

/// The `linux.seccomp` part of the OCI features document (runtime-spec
/// features.md), for `containerv features`.
pub fn features() -> serde_json::Value {
    let flags = [
        "SECCOMP_FILTER_FLAG_TSYNC",
        "SECCOMP_FILTER_FLAG_LOG",
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
    ];
    serde_json::json!({
        "enabled": true,
        "actions": ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
                    "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE",
                    "SCMP_ACT_TRAP"],
        "operators": ["SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
                      "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"],
        "archs": ["SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32"],
        "knownFlags": flags,
        "supportedFlags": flags,
    })
}

/// Where the container's process is coming from, for the seccomp agent's
/// `ContainerProcessState`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Context<'a> {
    pub spec: &'a Spec,
    pub id: &'a str,
    pub bundle: Option<&'a Path>,
    /// `creating` for the init, `running` for an exec.
    pub status: ContainerState,
}

/// A compiled filter ready to install in a forked child.
#[derive(Debug)]
pub(crate) struct Prepared {
    program: Program,
    /// Install before the credential change (no `noNewPrivileges`).
    early: bool,
    /// The child's end of the listener socketpair (`SCMP_ACT_NOTIFY`).
    agent: Option<OwnedFd>,
    /// Set in the child once loaded: [`Self::install`] runs at most once.
    installed: AtomicBool,
}

impl Prepared {
    /// Compile `ctx.spec`'s `linux.seccomp` (None when it has none) and,
    /// when it uses notify, start the listener forwarder.
    pub(crate) fn new(ctx: Context<'_>, no_new_privs: bool) -> Result<Option<Self>> {
        let Some(s) = ctx.spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) else {
            return Ok(None);
        };
        let program = compile(s)?;
        let agent = if program.has_listener() {
            let path = s.listener_path().clone().unwrap_or_default();
            if !path.is_absolute() {
                return Err(Error::InvalidSpec(format!(
                    "linux.seccomp.listenerPath {:?} is not an absolute path",
                    path.display()
                )));
            }
            Some(agent::spawn_forwarder(agent::AgentInfo {
                listener_path: path,
                metadata: s.listener_metadata().clone(),
                id: ctx.id.to_string(),
                bundle: ctx.bundle.map(Path::to_path_buf).unwrap_or_default(),
                annotations: ctx.spec.annotations().clone(),
                status: ctx.status,
            })?)
        } else {
            None
        };
        Ok(Some(Prepared {
            program,
            early: !no_new_privs,
            agent,
            installed: AtomicBool::new(false),
        }))
    }

    /// Whether to install before the credentials change (runc's order
    /// without `noNewPrivileges`).
    pub(crate) fn early(&self) -> bool {
        self.early
    }

    /// Whether the filter hands a listener to an agent.
    pub(crate) fn has_agent(&self) -> bool {
        self.agent.is_some()
    }

    /// The descriptor the child must keep open until [`Self::install`].
    pub(crate) fn keep_fd(&self) -> Option<RawFd> {
        self.agent.as_ref().map(|f| f.as_raw_fd())
    }

    /// In the forked child: load the filter and hand a listener to the
    /// agent. System calls only.
    pub(crate) fn install(&self) -> std::result::Result<(), ChildError> {
        if self.installed.swap(true, Ordering::Relaxed) {
            return Ok(());
        }
        let prog = SockFprog {
            len: self.program.insns.len() as libc::c_ushort,
            filter: self.program.insns.as_ptr(),
        };
        // SAFETY: seccomp(SET_MODE_FILTER) with a valid sock_fprog that
        // points at our instruction vector.
        let r = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                SECCOMP_SET_MODE_FILTER,
                self.program.flags as libc::c_ulong,
                &prog as *const SockFprog,
            )
        };
        if r < 0 {
            return Err(Step::Seccomp.failed(crate::linux::init::sys::errno()));
        }
        if let Some(sock) = &self.agent {
            agent::hand_over(sock.as_raw_fd(), r as RawFd)
                .map_err(|e| Step::SeccompAgent.failed(e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
