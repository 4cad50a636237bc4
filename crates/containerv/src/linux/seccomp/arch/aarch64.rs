//! aarch64 hosts: native aarch64 only. 32-bit ARM (`SCMP_ARCH_ARM`, the
//! compat ABI some arm64 kernels have) has no table here yet: listed, it
//! is skipped with a debug message, and 32-bit processes meet the
//! bad-architecture action (KILL_THREAD), as on a libseccomp filter
//! without that architecture.

use oci_spec::runtime::Arch;

use crate::linux::seccomp::bpf::{Asm, Cmp, To};
use crate::linux::seccomp::compile::{
    Abi, Sections, AUDIT_ARCH_AARCH64, OFF_ARCH, OFF_NR, RET_KILL_THREAD,
};

pub(super) fn abis(listed: &[Arch]) -> Vec<Abi> {
    for a in listed {
        match a {
            Arch::ScmpArchNative | Arch::ScmpArchAarch64 => {}
            other => {
                tracing::debug!("seccomp architecture {other} has no section on aarch64: skipped")
            }
        }
    }
    vec![Abi::Aarch64]
}

pub(super) fn emit(a: &mut Asm, sections: &Sections) {
    let bad_arch = a.label();
    a.load(OFF_ARCH);
    a.jump(Cmp::Eq, AUDIT_ARCH_AARCH64, To::Next, To::L(bad_arch));
    a.load(OFF_NR);
    sections.emit(a, Abi::Aarch64);
    a.bind(bad_arch);
    a.ret(RET_KILL_THREAD);
}
