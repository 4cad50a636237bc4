//! `linux.seccomp` → a classic-BPF program, the way libseccomp (as runc
//! drives it) builds one, without libseccomp.
//!
//! Layout, per audit architecture in the filter (the order and the
//! architectures are the host's: `super::arch`, one module per host
//! architecture, e.g. x86_64's):
//!
//! ```text
//!   A = arch
//!   arch == X86_64 ?  A = nr
//!                     nr >= X32_BIT ? (x32 listed ? x32 tree : KILL_THREAD)
//!                     nr > highest listed ? ERRNO(ENOSYS)     (runc's stub)
//!                     binary search on nr → the syscall's rules → default
//!   arch == I386   ?  ...same, 32-bit argument compares
//!   KILL_THREAD       (libseccomp's default bad-architecture action)
//! ```
//!
//! Semantics chosen to match runc + libseccomp:
//! - the host's native architecture is always in the filter; listed
//!   compatible ones (`SCMP_ARCH_X86` / `SCMP_ARCH_X32` on x86_64) add
//!   sections; other architectures cannot occur on this host and are
//!   skipped; on a host architecture without tables, compiling a filter is
//!   an error (a filter that kills every call is never installed);
//! - a syscall name unknown on one architecture is skipped there; a name
//!   unknown on every architecture is an error naming it;
//! - a syscall's rules are tried conditional-first, in spec order; the
//!   first whose argument comparisons all hold decides; then its
//!   unconditional rule, if any; otherwise the default action. A rule
//!   comparing one argument twice is split into one rule per comparison
//!   (ORed), as runc does;
//! - `SCMP_ACT_ERRNO` and `SCMP_ACT_TRACE` without `errnoRet` use EPERM;
//! - a syscall numbered above every syscall the profile names returns
//!   ENOSYS instead of the default action unless the default allows (runc
//!   does this so new syscalls such as clone3 fall back gracefully).
//!
//! 64-bit arguments are compared as two 32-bit words (BPF's accumulator
//! is 32 bits): high word first, then low word; `seccomp_data.args[i]` is
//! little-endian, low word at `16 + 8*i`.

use std::collections::BTreeMap;

use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag, LinuxSeccompOperator,
};

use super::arch::Host;
use super::bpf::{Asm, Cmp, Label, SockFilter, To};
use super::tables;
use crate::error::{Error, Result};

pub(crate) const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
pub(crate) const AUDIT_ARCH_I386: u32 = 0x4000_0003;
pub(crate) const AUDIT_ARCH_AARCH64: u32 = 0xc000_00b7;
pub(crate) const X32_SYSCALL_BIT: u32 = 0x4000_0000;

const RET_KILL_PROCESS: u32 = 0x8000_0000;
pub(crate) const RET_KILL_THREAD: u32 = 0x0000_0000;
const RET_TRAP: u32 = 0x0003_0000;
const RET_ERRNO: u32 = 0x0005_0000;
const RET_USER_NOTIF: u32 = 0x7fc0_0000;
const RET_TRACE: u32 = 0x7ff0_0000;
const RET_LOG: u32 = 0x7ffc_0000;
const RET_ALLOW: u32 = 0x7fff_0000;

const FLAG_TSYNC: u32 = 1;
const FLAG_LOG: u32 = 2;
const FLAG_SPEC_ALLOW: u32 = 4;
pub(crate) const FLAG_NEW_LISTENER: u32 = 8;
const FLAG_TSYNC_ESRCH: u32 = 16;
const FLAG_WAIT_KILLABLE_RECV: u32 = 32;

/// Offsets in `struct seccomp_data`.
pub(crate) const OFF_NR: u32 = 0;
pub(crate) const OFF_ARCH: u32 = 4;
const OFF_ARGS: u32 = 16;

/// Syscalls the runtime itself makes between installing the filter and the
/// program's exec (credentials, cwd, the listener hand-off, the error
/// report): a notify rule on them would stop the runtime waiting for an
/// agent that has not got the listener yet.
const RUNTIME_SYSCALLS: &[&str] = &[
    "capset",
    "chdir",
    "close",
    "execve",
    "exit",
    "exit_group",
    "getcwd",
    "prctl",
    "recvfrom",
    "recvmsg",
    "sendmsg",
    "setgroups",
    "setresgid",
    "setresuid",
    "umask",
    "write",
];

/// A compiled filter, ready for `seccomp(SECCOMP_SET_MODE_FILTER, flags)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    pub(crate) insns: Vec<SockFilter>,
    pub(crate) flags: u32,
}

impl Program {
    /// The BPF instructions.
    pub fn instructions(&self) -> &[SockFilter] {
        &self.insns
    }

    /// `SECCOMP_FILTER_FLAG_*` bits for `seccomp(2)`.
    pub fn flags(&self) -> u32 {
        self.flags
    }

    /// Whether the filter hands out a notification listener
    /// (`SCMP_ACT_NOTIFY` is used).
    pub fn has_listener(&self) -> bool {
        self.flags & FLAG_NEW_LISTENER != 0
    }
}

/// The syscall ABIs a filter can have sections for (which ones a host
/// can run is [`Host::abis`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Abi {
    X86_64,
    X32,
    X86,
    Aarch64,
}

impl Abi {
    const ALL: [Abi; 4] = [Abi::X86_64, Abi::X32, Abi::X86, Abi::Aarch64];

    fn table(self) -> &'static [(&'static str, u32)] {
        match self {
            Abi::X86_64 => tables::X86_64,
            Abi::X32 => tables::X32,
            Abi::X86 => tables::X86,
            Abi::Aarch64 => tables::AARCH64,
        }
    }

    /// The syscall number as `seccomp_data.nr` carries it.
    fn nr(self, name: &str) -> Option<u32> {
        let t = self.table();
        let i = t.binary_search_by(|(n, _)| (*n).cmp(name)).ok()?;
        Some(match self {
            Abi::X32 => t[i].1 | X32_SYSCALL_BIT,
            _ => t[i].1,
        })
    }

    /// 64-bit syscall arguments (i386's are 32 bits, zero-extended).
    fn wide(self) -> bool {
        self != Abi::X86
    }
}

/// One argument comparison, as the spec gives it.
#[derive(Debug, Clone, Copy)]
struct ArgCmp {
    index: u32,
    op: LinuxSeccompOperator,
    value: u64,
    value_two: u64,
}

/// One `syscalls[]` entry, resolved.
#[derive(Debug)]
struct Rule {
    action: u32,
    args: Vec<ArgCmp>,
}

/// Whether `name` is a syscall on any architecture we know of.
pub(crate) fn known_anywhere(name: &str) -> bool {
    Abi::ALL.iter().any(|a| a.nr(name).is_some()) || tables::OTHER_ARCHES.contains(&name)
}

/// The `SECCOMP_RET_*` value of an action. `what` names the spec field for
/// errors.
fn action_value(a: LinuxSeccompAction, errno: Option<u32>, what: &str) -> Result<u32> {
    let data = |default: u32| -> Result<u32> {
        let v = errno.unwrap_or(default);
        if v > 0xffff {
            return Err(Error::InvalidSpec(format!(
                "{what}: errnoRet {v} does not fit the 16 bits seccomp returns"
            )));
        }
        Ok(v)
    };
    if errno.is_some()
        && !matches!(
            a,
            LinuxSeccompAction::ScmpActErrno | LinuxSeccompAction::ScmpActTrace
        )
    {
        tracing::debug!("{what}: errnoRet is ignored for {a}");
    }
    Ok(match a {
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => RET_KILL_THREAD,
        LinuxSeccompAction::ScmpActKillProcess => RET_KILL_PROCESS,
        LinuxSeccompAction::ScmpActTrap => RET_TRAP,
        LinuxSeccompAction::ScmpActErrno => RET_ERRNO | data(libc::EPERM as u32)?,
        LinuxSeccompAction::ScmpActTrace => RET_TRACE | data(libc::EPERM as u32)?,
        LinuxSeccompAction::ScmpActNotify => RET_USER_NOTIF,
        LinuxSeccompAction::ScmpActLog => RET_LOG,
        LinuxSeccompAction::ScmpActAllow => RET_ALLOW,
    })
}

/// Compile `linux.seccomp` into a BPF program for this host's
/// architecture (errors name the field). A host architecture without
/// syscall tables is refused, not given a filter that kills every call.
pub fn compile(s: &LinuxSeccomp) -> Result<Program> {
    match Host::NATIVE {
        Some(host) => compile_for(host, s),
        None => Err(Error::InvalidSpec(format!(
            "linux.seccomp: containerv has no syscall tables for this architecture ({}); \
             filters can be compiled on {}",
            std::env::consts::ARCH,
            Host::SUPPORTED
        ))),
    }
}

/// [`compile`] for a given host architecture (tests build every one).
pub(crate) fn compile_for(host: Host, s: &LinuxSeccomp) -> Result<Program> {
    let default_action = s.default_action();
    if default_action == LinuxSeccompAction::ScmpActNotify {
        return Err(Error::InvalidSpec(
            "linux.seccomp.defaultAction SCMP_ACT_NOTIFY is not supported: every system call \
             of the runtime itself would wait for an agent"
                .into(),
        ));
    }
    let default = action_value(
        default_action,
        s.default_errno_ret(),
        "linux.seccomp.defaultErrnoRet",
    )?;

    let listed: Vec<Arch> = s.architectures().iter().flatten().copied().collect();
    let abis = host.abis(&listed);

    // Rules per ABI per syscall number, in spec order.
    let mut per_abi: BTreeMap<Abi, BTreeMap<u32, Vec<usize>>> = BTreeMap::new();
    let mut rules = Vec::new();
    let mut notify = false;
    for (i, sc) in s.syscalls().iter().flatten().enumerate() {
        let what = format!("linux.seccomp.syscalls[{i}]");
        let action = action_value(sc.action(), sc.errno_ret(), &what)?;
        let mut args = Vec::new();
        for a in sc.args().iter().flatten() {
            if a.index() > 5 {
                return Err(Error::InvalidSpec(format!(
                    "{what}: argument index {} is out of range (a syscall has arguments 0..=5)",
                    a.index()
                )));
            }
            args.push(ArgCmp {
                index: a.index() as u32,
                op: a.op(),
                value: a.value(),
                // Go's `ValueTwo uint64 json:"valueTwo,omitempty"`: absent
                // means 0 (containerd's and Kubernetes' default profiles
                // have `clone` MASKED_EQ 2114060288 with no valueTwo).
                value_two: a.value_two().unwrap_or(0),
            });
        }
        if sc.names().is_empty() {
            return Err(Error::InvalidSpec(format!("{what}: names is empty")));
        }
        let is_notify = sc.action() == LinuxSeccompAction::ScmpActNotify;
        notify |= is_notify;
        // runc's rule: when one argument is compared more than once, each
        // comparison becomes a rule of its own (they are ORed).
        let repeated = args
            .iter()
            .enumerate()
            .any(|(i, a)| args[..i].iter().any(|b| b.index == a.index));
        let first = rules.len();
        if repeated {
            rules.extend(args.into_iter().map(|a| Rule {
                action,
                args: vec![a],
            }));
        } else {
            rules.push(Rule { action, args });
        }
        let new_rules = first..rules.len();
        for name in sc.names() {
            if !known_anywhere(name) {
                // runc and crun skip a name libseccomp does not know (a
                // profile written for a newer kernel lists syscalls older
                // tables lack); refusing would fail every container using
                // such a profile. Said, not silent.
                tracing::warn!("{what}: unknown system call {name:?} ignored");
                continue;
            }
            if is_notify && RUNTIME_SYSCALLS.contains(&name.as_str()) {
                return Err(Error::InvalidSpec(format!(
                    "{what}: SCMP_ACT_NOTIFY on {name:?} is not supported: the runtime calls it \
                     after installing the filter"
                )));
            }
            for &abi in &abis {
                if let Some(nr) = abi.nr(name) {
                    let list = per_abi.entry(abi).or_default().entry(nr).or_default();
                    for r in new_rules.clone() {
                        if !list.contains(&r) {
                            list.push(r);
                        }
                    }
                }
            }
        }
    }
    if notify && s.listener_path().is_none() {
        return Err(Error::InvalidSpec(
            "linux.seccomp uses SCMP_ACT_NOTIFY but listenerPath is not set".into(),
        ));
    }

    let mut flags = 0;
    for f in s.flags().iter().flatten() {
        flags |= match f {
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => FLAG_LOG,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => FLAG_SPEC_ALLOW,
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => FLAG_TSYNC,
            // The kernel only takes it with a listener (libseccomp does the same).
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => {
                if notify {
                    FLAG_WAIT_KILLABLE_RECV
                } else {
                    0
                }
            }
        };
    }
    if notify {
        flags |= FLAG_NEW_LISTENER;
        if flags & FLAG_TSYNC != 0 {
            flags |= FLAG_TSYNC_ESRCH;
        }
    }

    let sections = Sections {
        per_abi,
        rules,
        default,
        enosys: !matches!(default, RET_ALLOW | RET_LOG),
    };
    let mut a = Asm::default();
    host.emit(&mut a, &abis, &sections);
    Ok(Program {
        insns: a.assemble()?,
        flags,
    })
}

/// The resolved rules of a filter, per ABI, ready to be laid out by the
/// host's architecture module.
pub(crate) struct Sections {
    per_abi: BTreeMap<Abi, BTreeMap<u32, Vec<usize>>>,
    rules: Vec<Rule>,
    default: u32,
    /// Unknown (newer) syscalls return ENOSYS: the default does not allow.
    enosys: bool,
}

impl Sections {
    /// `abi`'s dispatch; `A` holds the syscall number on entry. Every path
    /// ends in a return.
    pub(crate) fn emit(&self, a: &mut Asm, abi: Abi) {
        let empty = BTreeMap::new();
        let by_nr = self.per_abi.get(&abi).unwrap_or(&empty);
        emit_section(a, by_nr, &self.rules, self.default, self.enosys, abi.wide());
    }
}

/// One architecture's dispatch; `A` holds the syscall number on entry.
fn emit_section(
    a: &mut Asm,
    by_nr: &BTreeMap<u32, Vec<usize>>,
    rules: &[Rule],
    default: u32,
    enosys: bool,
    wide: bool,
) {
    let mut entries: Vec<(u32, Vec<&Rule>)> = by_nr
        .iter()
        .map(|(nr, idx)| {
            let mut r: Vec<&Rule> = idx.iter().map(|i| &rules[*i]).collect();
            // Conditional rules first (stable: spec order kept).
            r.sort_by_key(|r| r.args.is_empty());
            (*nr, r)
        })
        .collect();
    entries.sort_by_key(|e| e.0);
    if let (true, Some(max)) = (enosys, entries.last().map(|e| e.0)) {
        let tree = a.label();
        a.jump(Cmp::Gt, max, To::Next, To::L(tree));
        a.ret(RET_ERRNO | libc::ENOSYS as u32);
        a.bind(tree);
    }
    emit_tree(a, &entries, default, wide);
}

/// Binary search over sorted syscall numbers; leaves of up to four
/// syscalls are checked in a row. Every path ends in a return.
fn emit_tree(a: &mut Asm, entries: &[(u32, Vec<&Rule>)], default: u32, wide: bool) {
    if entries.len() <= 4 {
        // Syscalls with one unconditional rule jump to a shared return per
        // action (after the leaf); the others get their rule block inline.
        let mut shared: Vec<(u32, Label)> = Vec::new();
        for (nr, rules) in entries {
            if let [r] = rules.as_slice() {
                if r.args.is_empty() {
                    let l = match shared.iter().find(|(act, _)| *act == r.action) {
                        Some((_, l)) => *l,
                        None => {
                            let l = a.label();
                            shared.push((r.action, l));
                            l
                        }
                    };
                    a.jump(Cmp::Eq, *nr, To::L(l), To::Next);
                    continue;
                }
            }
            let next = a.label();
            a.jump(Cmp::Eq, *nr, To::Next, To::L(next));
            emit_rules(a, rules, default, wide);
            a.bind(next);
        }
        a.ret(default);
        for (action, l) in shared {
            a.bind(l);
            a.ret(action);
        }
        return;
    }
    let mid = entries.len() / 2;
    let right = a.label();
    a.jump(Cmp::Gt, entries[mid - 1].0, To::L(right), To::Next);
    emit_tree(a, &entries[..mid], default, wide);
    a.bind(right);
    emit_tree(a, &entries[mid..], default, wide);
}

/// A matched syscall's rules, then the default. Clobbers `A`.
fn emit_rules(a: &mut Asm, rules: &[&Rule], default: u32, wide: bool) {
    for r in rules {
        if r.args.is_empty() {
            a.ret(r.action);
            return;
        }
        let fail = a.label();
        for c in &r.args {
            emit_cmp(a, c, fail, wide);
        }
        a.ret(r.action);
        a.bind(fail);
    }
    a.ret(default);
}

/// Fall through when the comparison holds, jump to `fail` otherwise.
fn emit_cmp(a: &mut Asm, c: &ArgCmp, fail: Label, wide: bool) {
    use LinuxSeccompOperator as Op;
    let lo_off = OFF_ARGS + 8 * c.index;
    let hi_off = lo_off + 4;
    let (vhi, vlo) = ((c.value >> 32) as u32, c.value as u32);
    let (dhi, dlo) = ((c.value_two >> 32) as u32, c.value_two as u32);
    let ok = a.label();
    let fail = To::L(fail);
    match c.op {
        Op::ScmpCmpEq => {
            if wide {
                a.load(hi_off);
                a.jump(Cmp::Eq, vhi, To::Next, fail);
            }
            a.load(lo_off);
            a.jump(Cmp::Eq, vlo, To::Next, fail);
        }
        Op::ScmpCmpMaskedEq => {
            if wide {
                a.load(hi_off);
                a.and(vhi);
                a.jump(Cmp::Eq, dhi, To::Next, fail);
            }
            a.load(lo_off);
            a.and(vlo);
            a.jump(Cmp::Eq, dlo, To::Next, fail);
        }
        Op::ScmpCmpNe => {
            if wide {
                a.load(hi_off);
                a.jump(Cmp::Eq, vhi, To::Next, To::L(ok));
            }
            a.load(lo_off);
            a.jump(Cmp::Eq, vlo, fail, To::Next);
        }
        Op::ScmpCmpGt | Op::ScmpCmpGe => {
            if wide {
                a.load(hi_off);
                a.jump(Cmp::Gt, vhi, To::L(ok), To::Next);
                a.jump(Cmp::Eq, vhi, To::Next, fail);
            }
            a.load(lo_off);
            let cmp = if c.op == Op::ScmpCmpGt {
                Cmp::Gt
            } else {
                Cmp::Ge
            };
            a.jump(cmp, vlo, To::Next, fail);
        }
        Op::ScmpCmpLt | Op::ScmpCmpLe => {
            // Not GE / not GT.
            if wide {
                a.load(hi_off);
                a.jump(Cmp::Gt, vhi, fail, To::Next);
                a.jump(Cmp::Eq, vhi, To::Next, To::L(ok));
            }
            a.load(lo_off);
            let cmp = if c.op == Op::ScmpCmpLt {
                Cmp::Ge
            } else {
                Cmp::Gt
            };
            a.jump(cmp, vlo, fail, To::Next);
        }
    }
    a.bind(ok);
}
