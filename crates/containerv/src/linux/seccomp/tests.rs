//! Compiler unit tests: programs are run through a BPF interpreter on
//! hand-made `seccomp_data` images (the kernel-facing behaviour is covered
//! by the `seccomp_*` integration tests on real containers).

use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction as A, LinuxSeccompOperator as Op};
use serde_json::json;

use super::arch::Host;
use super::bpf::interpret;
use super::compile::{
    compile_for, Program, AUDIT_ARCH_AARCH64, AUDIT_ARCH_I386, AUDIT_ARCH_X86_64,
};
use crate::error::Result;

/// The x86_64 layout, whatever the host (the tests below are about it).
fn compile(s: &LinuxSeccomp) -> Result<Program> {
    compile_for(Host::X86_64, s)
}

const ALLOW: u32 = 0x7fff_0000;
const KILL_THREAD: u32 = 0;
const fn errno(e: u32) -> u32 {
    0x0005_0000 | e
}

fn profile(v: serde_json::Value) -> LinuxSeccomp {
    serde_json::from_value(v).expect("valid LinuxSeccomp")
}

/// `seccomp_data` for syscall `nr` on `arch` with `args`.
fn data(arch: u32, nr: u32, args: &[u64]) -> [u8; 64] {
    let mut d = [0u8; 64];
    d[..4].copy_from_slice(&nr.to_ne_bytes());
    d[4..8].copy_from_slice(&arch.to_ne_bytes());
    for (i, a) in args.iter().enumerate() {
        d[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_le_bytes());
    }
    d
}

fn run(s: &LinuxSeccomp, nr: u32, args: &[u64]) -> u32 {
    let p = compile(s).unwrap();
    interpret(p.instructions(), &data(AUDIT_ARCH_X86_64, nr, args))
}

const PERSONALITY: u32 = 135;
const MKDIR: u32 = 83;
const GETPID: u32 = 39;

#[test]
fn every_action_value() {
    let cases = [
        (A::ScmpActAllow, None, ALLOW),
        (A::ScmpActErrno, None, errno(1)),
        (A::ScmpActErrno, Some(13), errno(13)),
        (A::ScmpActKill, None, KILL_THREAD),
        (A::ScmpActKillThread, None, KILL_THREAD),
        (A::ScmpActKillProcess, None, 0x8000_0000),
        (A::ScmpActTrap, None, 0x0003_0000),
        (A::ScmpActTrace, Some(7), 0x7ff0_0007),
        (A::ScmpActLog, None, 0x7ffc_0000),
    ];
    for (action, ret, want) in cases {
        let mut rule = json!({"names": ["mkdir"], "action": action});
        if let Some(r) = ret {
            rule["errnoRet"] = json!(r);
        }
        let s = profile(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [rule]}));
        assert_eq!(run(&s, MKDIR, &[]), want, "{action}");
        assert_eq!(run(&s, GETPID, &[]), ALLOW, "{action}: others allowed");
    }
    let s = profile(json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38}));
    assert_eq!(run(&s, GETPID, &[]), errno(38));
}

#[test]
fn argument_comparisons_64_bit() {
    let rule = |op: Op, value: u64, two: Option<u64>| {
        let mut arg = json!({"index": 1, "value": value, "op": op});
        if let Some(t) = two {
            arg["valueTwo"] = json!(t);
        }
        profile(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ERRNO", "args": [arg]}]
        }))
    };
    let big = 0x1_0000_0005u64;
    let hits = |s: &LinuxSeccomp, v: u64| run(s, PERSONALITY, &[0, v]) == errno(1);
    let probes = [
        0u64,
        4,
        5,
        6,
        0x1_0000_0004,
        big,
        0x1_0000_0006,
        0x2_0000_0000,
        u64::MAX,
    ];
    for (op, f) in [
        (Op::ScmpCmpEq, (|a, b| a == b) as fn(u64, u64) -> bool),
        (Op::ScmpCmpNe, |a, b| a != b),
        (Op::ScmpCmpLt, |a, b| a < b),
        (Op::ScmpCmpLe, |a, b| a <= b),
        (Op::ScmpCmpGt, |a, b| a > b),
        (Op::ScmpCmpGe, |a, b| a >= b),
    ] {
        let s = rule(op, big, None);
        for p in probes {
            assert_eq!(hits(&s, p), f(p, big), "{op:?} {p:#x} vs {big:#x}");
        }
    }
    // masked_eq: (arg & value) == valueTwo, across both words.
    let s = rule(
        Op::ScmpCmpMaskedEq,
        0xff00_0000_0000_00ff,
        Some(0x1200_0000_0000_0034),
    );
    assert!(hits(&s, 0x12ab_cdef_0000_9934));
    assert!(!hits(&s, 0x13ab_cdef_0000_9934));
    assert!(!hits(&s, 0x12ab_cdef_0000_9935));
    // Go writes no valueTwo when it is 0 (omitempty): containerd's and
    // Kubernetes' default profile allow clone only without namespace flags
    // with exactly this rule (mask 2114060288 = CLONE_NEW*, valueTwo absent).
    let s = profile(json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                      "args": [{"index": 1, "value": 2114060288u64, "op": "SCMP_CMP_MASKED_EQ"}]}]
    }));
    let allowed = |v: u64| run(&s, PERSONALITY, &[0, v]) == ALLOW;
    assert!(allowed(0x0001_0000 | 17), "no namespace flag: allowed");
    assert!(!allowed(0x2000_0000 | 17), "CLONE_NEWPID: denied");
    assert!(!allowed(0x0002_0000), "CLONE_NEWNS: denied");
}

#[test]
fn several_args_and_several_rules() {
    // personality(0xffffffff) denied only; socket(AF_NETLINK, *, NETLINK_AUDIT) → EINVAL,
    // socket otherwise allowed unconditionally (conditional rules first).
    let s = profile(json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [
            {"names": ["socket"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22, "args": [
                {"index": 0, "value": 16, "op": "SCMP_CMP_EQ"},
                {"index": 2, "value": 9, "op": "SCMP_CMP_EQ"}]},
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [
                {"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]},
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [
                {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
        ]
    }));
    const SOCKET: u32 = 41;
    assert_eq!(run(&s, SOCKET, &[16, 3, 9]), errno(22));
    assert_eq!(run(&s, SOCKET, &[16, 3, 0]), ALLOW);
    assert_eq!(run(&s, SOCKET, &[2, 1, 9]), ALLOW);
    assert_eq!(run(&s, PERSONALITY, &[0]), ALLOW);
    assert_eq!(run(&s, PERSONALITY, &[8]), ALLOW);
    assert_eq!(run(&s, PERSONALITY, &[0xffff_ffff]), errno(1));
    assert_eq!(run(&s, GETPID, &[]), errno(1));
    // The same argument compared twice: ORed (runc splits the rule).
    let s2 = profile(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ERRNO", "args": [
            {"index": 0, "value": 8, "op": "SCMP_CMP_GE"},
            {"index": 0, "value": 4, "op": "SCMP_CMP_LT"}]}]
    }));
    assert_eq!(run(&s2, PERSONALITY, &[2]), errno(1));
    assert_eq!(run(&s2, PERSONALITY, &[9]), errno(1));
    assert_eq!(run(&s2, PERSONALITY, &[5]), ALLOW);
    // Above every listed syscall: ENOSYS (runc's stub), not the default.
    assert_eq!(run(&s, 435, &[]), errno(38));
}

#[test]
fn architectures() {
    let rule = json!([{"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 3}]);
    let native = profile(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": rule}));
    let all = profile(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64"],
        "syscalls": rule
    }));
    let (pn, pa) = (compile(&native).unwrap(), compile(&all).unwrap());
    let x86_getpid = data(AUDIT_ARCH_I386, 20, &[]);
    let x32_getpid = data(AUDIT_ARCH_X86_64, 0x4000_0000 | 39, &[]);
    let other_arch = data(0xc000_00b7, 172, &[]);
    // Unlisted architectures and x32 calls: libseccomp's bad-arch action.
    assert_eq!(interpret(pn.instructions(), &x86_getpid), KILL_THREAD);
    assert_eq!(interpret(pn.instructions(), &x32_getpid), KILL_THREAD);
    assert_eq!(interpret(pa.instructions(), &other_arch), KILL_THREAD);
    // Listed: each arch's own number.
    assert_eq!(interpret(pa.instructions(), &x86_getpid), errno(3));
    assert_eq!(interpret(pa.instructions(), &x32_getpid), errno(3));
    assert_eq!(
        interpret(pa.instructions(), &data(AUDIT_ARCH_I386, 39, &[])),
        ALLOW,
        "39 is mkdir on i386, not getpid"
    );
    // A name only some arches have is skipped on the others.
    let s = profile(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86"],
        "syscalls": [{"names": ["arch_prctl", "socketcall"], "action": "SCMP_ACT_KILL_PROCESS"}]
    }));
    let p = compile(&s).unwrap();
    assert_eq!(
        interpret(p.instructions(), &data(AUDIT_ARCH_X86_64, 158, &[])),
        0x8000_0000
    );
    assert_eq!(
        interpret(p.instructions(), &data(AUDIT_ARCH_I386, 102, &[])),
        0x8000_0000
    );
    assert_eq!(
        interpret(p.instructions(), &data(AUDIT_ARCH_I386, 384, &[])),
        0x8000_0000
    );
}

#[test]
fn flags_and_listener() {
    let s = profile(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                  "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
    }));
    // WAIT_KILLABLE_RECV only goes with a listener.
    assert_eq!(compile(&s).unwrap().flags(), 2 | 4);
    let s = profile(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "listenerPath": "/run/agent.sock",
        "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]
    }));
    let p = compile(&s).unwrap();
    assert!(p.has_listener());
    assert_eq!(p.flags(), 8 | 32);
    assert_eq!(run(&s, MKDIR, &[]), 0x7fc0_0000);
}

#[test]
fn bad_profiles_are_named() {
    let err = |v| compile(&profile(v)).unwrap_err().to_string();
    // An unknown name is skipped (runc's and crun's rule), the rest applies.
    let s = profile(json!({"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["no_such_call", "mkdir"], "action": "SCMP_ACT_ERRNO"}]}));
    assert!(compile(&s).is_ok());
    assert_eq!(run(&s, MKDIR, &[]), errno(1));
    let e = err(json!({"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": [], "action": "SCMP_ACT_ERRNO"}]}));
    assert!(
        e.contains("names is empty") && e.contains("syscalls[0]"),
        "{e}"
    );
    let e = err(json!({"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ERRNO",
                      "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}));
    assert!(e.contains("argument index 6"), "{e}");
    let e = err(json!({"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}));
    assert!(e.contains("listenerPath"), "{e}");
    let e = err(json!({"defaultAction": "SCMP_ACT_NOTIFY", "listenerPath": "/x"}));
    assert!(e.contains("defaultAction SCMP_ACT_NOTIFY"), "{e}");
    let e = err(
        json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/x",
        "syscalls": [{"names": ["write"], "action": "SCMP_ACT_NOTIFY"}]}),
    );
    assert!(e.contains("\"write\""), "{e}");
    let e = err(json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 70000}));
    assert!(e.contains("70000"), "{e}");
    // Names of other architectures are valid (skipped here).
    compile(&profile(json!({"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["arm_fadvise64_64", "s390_runtime_instr"], "action": "SCMP_ACT_ERRNO"}]})))
        .unwrap();
}

#[test]
fn long_profile_uses_far_jumps_and_stays_correct() {
    // Every x86_64 syscall, alternating actions, on three arches: the
    // program is far longer than 255 instructions, so branches around the
    // sections and down the search tree need trampolines.
    let names: Vec<&str> = super::tables::X86_64.iter().map(|(n, _)| *n).collect();
    let (even, odd): (Vec<_>, Vec<_>) = names.iter().enumerate().partition(|(i, _)| i % 2 == 0);
    let list = |v: Vec<(usize, &&str)>| {
        v.into_iter()
            .map(|(_, n)| n.to_string())
            .collect::<Vec<_>>()
    };
    let s = profile(json!({
        "defaultAction": "SCMP_ACT_KILL_PROCESS",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [
            {"names": list(even), "action": "SCMP_ACT_ALLOW"},
            {"names": list(odd), "action": "SCMP_ACT_ERRNO", "errnoRet": 5},
        ]
    }));
    let p = compile(&s).unwrap();
    assert!(p.instructions().len() > 1000, "{}", p.instructions().len());
    for (i, (name, nr)) in super::tables::X86_64.iter().enumerate() {
        let want = if i % 2 == 0 { ALLOW } else { errno(5) };
        let got = interpret(p.instructions(), &data(AUDIT_ARCH_X86_64, *nr, &[]));
        assert_eq!(got, want, "{name} ({nr})");
    }
    // i386 calls land by their own numbers.
    for (name, nr) in super::tables::X86.iter() {
        let got = interpret(p.instructions(), &data(AUDIT_ARCH_I386, *nr, &[]));
        let i = names.iter().position(|n| n == name);
        let want = match i {
            Some(i) if i % 2 == 0 => ALLOW,
            Some(_) => errno(5),
            None => 0x8000_0000,
        };
        // Numbers above every listed i386 syscall get ENOSYS.
        assert!(got == want || got == errno(38), "{name} ({nr}): {got:#x}");
    }
}

#[test]
fn features_name_what_compiles() {
    let f = super::features();
    for a in f["actions"].as_array().unwrap() {
        let v = json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/a.sock",
            "syscalls": [{"names": ["mkdir"], "action": a}]});
        compile(&profile(v)).unwrap();
    }
    for op in f["operators"].as_array().unwrap() {
        let v = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"],
            "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "valueTwo": 1, "op": op}]}]});
        compile(&profile(v)).unwrap();
    }
    let v = json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": f["archs"],
        "flags": f["supportedFlags"]});
    compile(&profile(v)).unwrap();
}

#[test]
fn native_compile_is_the_hosts_layout() {
    let s = profile(json!({"defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ALLOW"}]}));
    match Host::NATIVE {
        Some(h) => assert_eq!(super::compile(&s).unwrap(), compile_for(h, &s).unwrap()),
        None => {
            let e = super::compile(&s).unwrap_err().to_string();
            assert!(e.contains("no syscall tables"), "{e}");
        }
    }
}

#[test]
fn aarch64_layout() {
    const GETPID: u32 = 172;
    const OPENAT: u32 = 56;
    const READ: u32 = 63;
    let s = profile(json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "architectures": ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
        "syscalls": [
            // "open" and "arch_prctl" do not exist on aarch64: skipped there.
            {"names": ["getpid", "open", "arch_prctl"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["openat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
             "args": [{"index": 2, "value": 64, "valueTwo": 64, "op": "SCMP_CMP_MASKED_EQ"}]},
        ]
    }));
    let p = compile_for(Host::Aarch64, &s).unwrap();
    let run = |arch, nr, args: &[u64]| interpret(p.instructions(), &data(arch, nr, args));
    assert_eq!(run(AUDIT_ARCH_AARCH64, GETPID, &[]), ALLOW);
    assert_eq!(run(AUDIT_ARCH_AARCH64, READ, &[]), errno(1));
    // 64-bit argument compare: O_CREAT (0o100 = 64) set → EACCES.
    assert_eq!(run(AUDIT_ARCH_AARCH64, OPENAT, &[0, 0, 0o101]), errno(13));
    assert_eq!(run(AUDIT_ARCH_AARCH64, OPENAT, &[0, 0, 1 << 32]), errno(1));
    // Above every listed syscall: ENOSYS (runc's stub for newer calls).
    assert_eq!(run(AUDIT_ARCH_AARCH64, 1000, &[]), errno(38));
    // Any other architecture (x86_64 numbers, 32-bit ARM) is killed.
    assert_eq!(run(AUDIT_ARCH_X86_64, 39, &[]), KILL_THREAD);
    assert_eq!(run(0x4000_0028, 20, &[]), KILL_THREAD);
}

#[test]
fn every_aarch64_syscall_lands_on_its_number() {
    let names: Vec<String> = super::tables::AARCH64
        .iter()
        .map(|(n, _)| n.to_string())
        .collect();
    let s = profile(json!({"defaultAction": "SCMP_ACT_KILL_PROCESS",
        "syscalls": [{"names": names, "action": "SCMP_ACT_ALLOW"}]}));
    let p = compile_for(Host::Aarch64, &s).unwrap();
    for (name, nr) in super::tables::AARCH64 {
        let got = interpret(p.instructions(), &data(AUDIT_ARCH_AARCH64, *nr, &[]));
        assert_eq!(got, ALLOW, "{name} ({nr})");
    }
    // A number no syscall has (244 is arch_specific_syscall's slot).
    assert_eq!(
        interpret(p.instructions(), &data(AUDIT_ARCH_AARCH64, 244, &[])),
        0x8000_0000
    );
}

#[test]
fn docker_default_profile_compiles_for_both_hosts() {
    let s: LinuxSeccomp =
        serde_json::from_str(include_str!("../../../tests/seccomp_docker_default.json")).unwrap();
    for host in [Host::X86_64, Host::Aarch64] {
        let p = compile_for(host, &s).unwrap();
        assert!(p.instructions().len() > 100, "{host:?}");
    }
}
