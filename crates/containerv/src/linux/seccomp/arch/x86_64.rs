//! x86_64 hosts: native x86_64, plus i386 (`SCMP_ARCH_X86`) and x32
//! (`SCMP_ARCH_X32`, the x86_64 audit arch with `__X32_SYSCALL_BIT` set in
//! the number) when the profile lists them, as libseccomp lays them out.

use oci_spec::runtime::Arch;

use crate::linux::seccomp::bpf::{Asm, Cmp, To};
use crate::linux::seccomp::compile::{
    Abi, Sections, AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, OFF_ARCH, OFF_NR, RET_KILL_THREAD,
    X32_SYSCALL_BIT,
};

pub(super) fn abis(listed: &[Arch]) -> Vec<Abi> {
    let mut abis = vec![Abi::X86_64];
    for a in listed {
        match a {
            Arch::ScmpArchNative | Arch::ScmpArchX86_64 => {}
            Arch::ScmpArchX86 => abis.push(Abi::X86),
            Arch::ScmpArchX32 => abis.push(Abi::X32),
            other => tracing::debug!("seccomp architecture {other} cannot run on x86_64: skipped"),
        }
    }
    abis
}

pub(super) fn emit(a: &mut Asm, abis: &[Abi], sections: &Sections) {
    let bad_arch = a.label();
    a.load(OFF_ARCH);
    let x32 = abis.contains(&Abi::X32);
    // x86_64 (and x32, same audit arch).
    let next_arch = a.label();
    a.jump(Cmp::Eq, AUDIT_ARCH_X86_64, To::Next, To::L(next_arch));
    a.load(OFF_NR);
    let x32_label = a.label();
    a.jump(
        Cmp::Ge,
        X32_SYSCALL_BIT,
        To::L(if x32 { x32_label } else { bad_arch }),
        To::Next,
    );
    sections.emit(a, Abi::X86_64);
    a.bind(x32_label);
    if x32 {
        sections.emit(a, Abi::X32);
    }
    a.bind(next_arch);
    if abis.contains(&Abi::X86) {
        let next = a.label();
        a.jump(Cmp::Eq, AUDIT_ARCH_I386, To::Next, To::L(next));
        a.load(OFF_NR);
        sections.emit(a, Abi::X86);
        a.bind(next);
    }
    a.bind(bad_arch);
    a.ret(RET_KILL_THREAD);
}
