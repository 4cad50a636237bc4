//! The host architectures containerv compiles seccomp filters for, one
//! module each: which ABIs a process on that host can use (the filter's
//! sections) and how the filter dispatches on `seccomp_data.arch`. Every
//! module builds on every host (so tests check each layout anywhere);
//! `cfg(target_arch)` picks the native one. On any other architecture
//! [`Host::NATIVE`] is `None` and `compile` refuses with a clear error:
//! no filter is installed that would kill every system call.

mod aarch64;
mod x86_64;

use oci_spec::runtime::Arch;

use super::bpf::Asm;
use super::compile::{Abi, Sections};

/// A host architecture with syscall tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Host {
    #[cfg_attr(not(any(test, target_arch = "x86_64")), allow(dead_code))]
    X86_64,
    #[cfg_attr(not(any(test, target_arch = "aarch64")), allow(dead_code))]
    Aarch64,
}

impl Host {
    /// This build's architecture.
    #[cfg(target_arch = "x86_64")]
    pub(crate) const NATIVE: Option<Host> = Some(Host::X86_64);
    /// This build's architecture.
    #[cfg(target_arch = "aarch64")]
    pub(crate) const NATIVE: Option<Host> = Some(Host::Aarch64);
    /// This build's architecture: none with syscall tables.
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    pub(crate) const NATIVE: Option<Host> = None;

    /// For error messages.
    pub(crate) const SUPPORTED: &'static str = "x86_64 and aarch64";

    /// The ABIs the filter has sections for: the native one, plus the
    /// listed `architectures` this host can also run. Sorted, unique.
    pub(crate) fn abis(self, listed: &[Arch]) -> Vec<Abi> {
        let mut abis = match self {
            Host::X86_64 => x86_64::abis(listed),
            Host::Aarch64 => aarch64::abis(listed),
        };
        abis.sort();
        abis.dedup();
        abis
    }

    /// The whole filter: dispatch on the audit architecture into each
    /// ABI's section, anything else killed.
    pub(crate) fn emit(self, a: &mut Asm, abis: &[Abi], sections: &Sections) {
        match self {
            Host::X86_64 => x86_64::emit(a, abis, sections),
            Host::Aarch64 => aarch64::emit(a, sections),
        }
    }
}
