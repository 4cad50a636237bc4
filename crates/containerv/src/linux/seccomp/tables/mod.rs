//! Syscall name → number tables per architecture, so the compiler needs no
//! libseccomp: `x86` (x86_64, i386, x32, from the uapi headers) and
//! `aarch64` (generated from the kernel's generic table by
//! `tools/seccomp-tables/gen-aarch64`, checked by a test below). Every
//! table is sorted by name for binary search and compiled on every host:
//! which ones a filter uses is the host architecture's business
//! (`super::arch`).
//!
//! `OTHER_ARCHES` lists names that exist only on architectures containerv
//! does not compile filters for (arm, s390, ppc, riscv...): a profile
//! naming them is valid (docker's default does), they are skipped as runc
//! does.

mod aarch64;
mod x86;

pub(crate) use aarch64::AARCH64;
pub(crate) use x86::{X32, X86, X86_64};

/// Names known only on other architectures.
pub(crate) const OTHER_ARCHES: &[&str] = &[
    "arch_specific_syscall",
    "arm_fadvise64_64",
    "arm_sync_file_range",
    "breakpoint",
    "cachectl",
    "cacheflush",
    "llseek",
    "multiplexer",
    "oldwait4",
    "pciconfig_iobase",
    "pciconfig_read",
    "pciconfig_write",
    "recv",
    "riscv_flush_icache",
    "riscv_hwprobe",
    "rtas",
    "s390_guarded_storage",
    "s390_pci_mmio_read",
    "s390_pci_mmio_write",
    "s390_runtime_instr",
    "s390_sthyi",
    "send",
    "set_tls",
    "spu_create",
    "spu_run",
    "subpage_prot",
    "swapcontext",
    "switch_endian",
    "sync_file_range2",
    "sys_debug_setcontext",
    "syscall",
    "sysmips",
    "timerfd",
    "usr26",
    "usr32",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted_and_unique(t: &[(&str, u32)]) -> bool {
        t.windows(2).all(|w| w[0].0 < w[1].0)
    }

    #[test]
    fn tables_are_sorted_by_name() {
        for t in [X86_64, X86, X32, AARCH64] {
            assert!(sorted_and_unique(t));
        }
    }

    #[test]
    fn other_arches_names_no_known_syscall() {
        for n in OTHER_ARCHES {
            for t in [X86_64, X86, X32, AARCH64] {
                assert!(t.iter().all(|(m, _)| m != n), "{n} is in a table");
            }
        }
    }

    /// Numbers anyone can check in arm64's unistd (and glibc's
    /// `sysdeps/unix/sysv/linux/aarch64/arch-syscall.h`), and names the
    /// generic table does not have.
    #[test]
    fn aarch64_spot_checks() {
        let nr = |n: &str| AARCH64.iter().find(|(m, _)| *m == n).map(|(_, v)| *v);
        for (name, want) in [
            ("io_setup", 0),
            ("fcntl", 25),
            ("renameat", 38),
            ("openat", 56),
            ("read", 63),
            ("write", 64),
            ("newfstatat", 79),
            ("fstat", 80),
            ("exit_group", 94),
            ("clock_gettime", 113),
            ("getrlimit", 163),
            ("setrlimit", 164),
            ("execve", 221),
            ("mmap", 222),
            ("rseq", 293),
            ("clone3", 435),
            ("memfd_secret", 447),
            ("cachestat", 451),
        ] {
            assert_eq!(nr(name), Some(want), "{name}");
        }
        for absent in ["open", "stat", "fork", "arch_prctl", "time", "syscalls"] {
            assert_eq!(nr(absent), None, "{absent}");
        }
        // The newest syscalls match x86_64's numbers (shared from 424 on).
        let top = X86_64.iter().map(|(_, v)| *v).max().unwrap();
        assert_eq!(AARCH64.iter().map(|(_, v)| *v).max(), Some(top));
    }

    /// The checked-in aarch64 table is what the generator prints from this
    /// machine's kernel headers (linux-libc-dev, installed with gcc).
    #[test]
    fn aarch64_is_the_generator_output() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let out = std::process::Command::new(root.join("tools/seccomp-tables/gen-aarch64"))
            .output()
            .expect("run tools/seccomp-tables/gen-aarch64");
        assert!(
            out.status.success(),
            "gen-aarch64 failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let checked_in = std::fs::read_to_string(
            root.join("crates/containerv/src/linux/seccomp/tables/aarch64.rs"),
        )
        .unwrap();
        assert!(
            String::from_utf8_lossy(&out.stdout) == checked_in,
            "tables/aarch64.rs is stale: re-run tools/seccomp-tables/gen-aarch64"
        );
    }
}
