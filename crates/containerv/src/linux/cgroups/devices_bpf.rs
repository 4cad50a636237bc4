//! cgroup v2 device rules: the rule list compiled into a
//! BPF_PROG_TYPE_CGROUP_DEVICE program, loaded with `bpf(2)` and attached
//! to the container's cgroup (replacing the one attached before).
//!
//! The program decides each requested access bit (mknod, read, write) on
//! its own: the last rule that covers the device and that bit decides; a
//! bit no rule covers is allowed (v1's starting state, "a *:* rwm"; the
//! container's list starts with a deny-all rule, so in practice denied).
//! All requested bits must be allowed.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use oci_spec::runtime::LinuxDeviceCgroup;

use super::devices::{self, Rule, ACC_MKNOD, ACC_READ, ACC_WRITE};
use super::fs::cg_err;
use crate::error::Result;

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_DETACH: libc::c_long = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
const BPF_PROG_QUERY: libc::c_long = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;
/// `BPF_DEVCG_DEV_BLOCK`, `BPF_DEVCG_DEV_CHAR`.
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;

/// `struct bpf_insn`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Insn {
    code: u8,
    regs: u8,
    off: i16,
    imm: i32,
}

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: (src << 4) | (dst & 0xf),
        off,
        imm,
    }
}

/// r{dst} = *(u32 *)(r1 + off)
fn load_ctx(dst: u8, off: i16) -> Insn {
    insn(0x61, dst, 1, off, 0)
}
/// r0 = imm; exit
fn ret(v: i32) -> [Insn; 2] {
    [insn(0xb7, 0, 0, 0, v), insn(0x95, 0, 0, 0, 0)]
}

/// A jump whose target is a label, resolved by [`Asm::finish`].
enum Item {
    Plain(Insn),
    /// `code dst, imm` jumping to label (0x05 = ja).
    Jump {
        code: u8,
        dst: u8,
        imm: i32,
        to: usize,
    },
    Label(usize),
}

#[derive(Default)]
struct Asm {
    items: Vec<Item>,
    labels: usize,
}

impl Asm {
    fn label(&mut self) -> usize {
        self.labels += 1;
        self.labels - 1
    }
    fn put(&mut self, i: Insn) {
        self.items.push(Item::Plain(i));
    }
    fn jump(&mut self, code: u8, dst: u8, imm: i32, to: usize) {
        self.items.push(Item::Jump { code, dst, imm, to });
    }
    fn here(&mut self, l: usize) {
        self.items.push(Item::Label(l));
    }
    fn finish(self) -> Vec<Insn> {
        let mut at = vec![0usize; self.labels];
        let mut pc = 0;
        for it in &self.items {
            match it {
                Item::Label(l) => at[*l] = pc,
                _ => pc += 1,
            }
        }
        let mut out = Vec::with_capacity(pc);
        for it in &self.items {
            match it {
                Item::Plain(i) => out.push(*i),
                Item::Jump { code, dst, imm, to } => {
                    let off = at[*to] as i64 - (out.len() as i64 + 1);
                    out.push(insn(*code, *dst, 0, off as i16, *imm));
                }
                Item::Label(_) => {}
            }
        }
        out
    }
}

/// Compile `rules` (in order, later wins) into the program.
pub(crate) fn program(rules: &[Rule]) -> Vec<Insn> {
    const JA: u8 = 0x05;
    const JNE_K: u8 = 0x55;
    const JSET_K: u8 = 0x45;
    let mut a = Asm::default();
    // r2 = type, r3 = access, r4 = major, r5 = minor.
    a.put(load_ctx(2, 0));
    a.put(insn(0xbf, 3, 2, 0, 0)); // r3 = r2
    a.put(insn(0x57, 2, 0, 0, 0xffff)); // r2 &= 0xffff
    a.put(insn(0x77, 3, 0, 0, 16)); // r3 >>= 16
    a.put(load_ctx(4, 4));
    a.put(load_ctx(5, 8));
    for bit in [ACC_MKNOD, ACC_READ, ACC_WRITE] {
        let next_bit = a.label();
        let check = a.label();
        // Not requested: next bit.
        a.jump(JSET_K, 3, bit as i32, check);
        a.jump(JA, 0, 0, next_bit);
        a.here(check);
        for r in rules.iter().rev().filter(|r| r.access & bit != 0) {
            let next_rule = a.label();
            match r.typ {
                'c' => a.jump(JNE_K, 2, DEV_CHAR, next_rule),
                'b' => a.jump(JNE_K, 2, DEV_BLOCK, next_rule),
                _ => {}
            }
            if let Some(m) = r.major {
                a.jump(JNE_K, 4, m as i32, next_rule);
            }
            if let Some(m) = r.minor {
                a.jump(JNE_K, 5, m as i32, next_rule);
            }
            if r.allow {
                a.jump(JA, 0, 0, next_bit);
            } else {
                for i in ret(0) {
                    a.put(i);
                }
            }
            a.here(next_rule);
        }
        // No rule covers this bit: allowed (v1's starting state).
        a.here(next_bit);
    }
    for i in ret(1) {
        a.put(i);
    }
    a.finish()
}

fn bpf(cmd: libc::c_long, attr: *const u8, size: usize) -> std::io::Result<libc::c_long> {
    // SAFETY: bpf(2) with an attribute struct of `size` bytes that lives
    // for the call; the kernel copies it.
    let r = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr, size) };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(r)
}

#[repr(C)]
#[derive(Default)]
struct ProgLoad {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

#[repr(C)]
#[derive(Default)]
struct Attach {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

#[repr(C)]
#[derive(Default)]
struct Query {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
}

fn as_bytes<T>(t: &T) -> *const u8 {
    (t as *const T).cast()
}

/// Load the program; on failure load it again with the verifier's log
/// (a log buffer that is too small would itself fail the load).
fn load(prog: &[Insn]) -> std::io::Result<OwnedFd> {
    load_with_log(prog, false).or_else(|_| load_with_log(prog, true))
}

fn load_with_log(prog: &[Insn], with_log: bool) -> std::io::Result<OwnedFd> {
    let mut log = vec![0u8; if with_log { 1 << 20 } else { 0 }];
    let mut name = [0u8; 16];
    name[..10].copy_from_slice(b"containerv");
    let attr = ProgLoad {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: prog.len() as u32,
        insns: prog.as_ptr() as u64,
        license: c"Apache".as_ptr() as u64,
        log_level: with_log as u32,
        log_size: log.len() as u32,
        log_buf: if with_log { log.as_mut_ptr() as u64 } else { 0 },
        prog_name: name,
        expected_attach_type: BPF_CGROUP_DEVICE,
        ..Default::default()
    };
    match bpf(
        BPF_PROG_LOAD,
        as_bytes(&attr),
        std::mem::size_of::<ProgLoad>(),
    ) {
        // SAFETY: a fresh program descriptor, owned here.
        Ok(fd) => Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) }),
        Err(e) => {
            let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
            // The last lines say why.
            let text = String::from_utf8_lossy(&log[..end]);
            let lines: Vec<&str> = text.lines().collect();
            let text = lines[lines.len().saturating_sub(3)..].join(" | ");
            Err(std::io::Error::new(
                e.kind(),
                format!("{e}; verifier: {}", text.trim()),
            ))
        }
    }
}

/// Programs attached to the cgroup now (as descriptors).
fn attached(cg: &OwnedFd) -> Vec<OwnedFd> {
    let mut ids = [0u32; 64];
    let mut q = Query {
        target_fd: cg.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        prog_ids: ids.as_mut_ptr() as u64,
        prog_cnt: ids.len() as u32,
        ..Default::default()
    };
    let qp: *mut Query = &mut q;
    if bpf(BPF_PROG_QUERY, qp.cast(), std::mem::size_of::<Query>()).is_err() {
        return Vec::new();
    }
    // SAFETY: the kernel wrote prog_cnt back through `qp`; read it the same way.
    let n = unsafe { std::ptr::read_volatile(std::ptr::addr_of!((*qp).prog_cnt)) } as usize;
    ids[..n.min(ids.len())]
        .iter()
        .filter_map(|id| {
            let attr: [u32; 4] = [*id, 0, 0, 0];
            let fd = bpf(BPF_PROG_GET_FD_BY_ID, as_bytes(&attr), 16).ok()?;
            // SAFETY: a fresh program descriptor, owned here.
            Some(unsafe { OwnedFd::from_raw_fd(fd as i32) })
        })
        .collect()
}

/// Compile `list`, attach it to cgroup `dir`, detach the programs that
/// were attached before.
pub(crate) fn apply(dir: &Path, list: &[LinuxDeviceCgroup]) -> Result<()> {
    let prog = program(&devices::rules(list)?);
    let err = |what: &str, e: std::io::Error| cg_err(dir, format!("{what}: {e}"));
    let fd = load(&prog).map_err(|e| err("load the device access BPF program", e))?;
    let cg: OwnedFd = std::fs::File::open(dir).map_err(|e| err("open", e))?.into();
    let old = attached(&cg);
    let attr = Attach {
        target_fd: cg.as_raw_fd() as u32,
        attach_bpf_fd: fd.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        ..Default::default()
    };
    bpf(
        BPF_PROG_ATTACH,
        as_bytes(&attr),
        std::mem::size_of::<Attach>(),
    )
    .map_err(|e| err("attach the device access BPF program", e))?;
    for o in old {
        let attr = Attach {
            target_fd: cg.as_raw_fd() as u32,
            attach_bpf_fd: o.as_raw_fd() as u32,
            attach_type: BPF_CGROUP_DEVICE,
            ..Default::default()
        };
        bpf(
            BPF_PROG_DETACH,
            as_bytes(&attr),
            std::mem::size_of::<Attach>(),
        )
        .map_err(|e| err("detach the previous device access BPF program", e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jumps_land_inside_the_program() {
        let rules = devices::rules(&devices::container_rules(&[], &[]).unwrap()).unwrap();
        let p = program(&rules);
        for (pc, i) in p.iter().enumerate() {
            if matches!(i.code, 0x05 | 0x55 | 0x45) {
                let to = pc as i64 + 1 + i.off as i64;
                assert!(to > pc as i64 && (to as usize) < p.len(), "pc {pc}: {i:?}");
            }
        }
        assert_eq!(p.last().unwrap().code, 0x95);
    }
}
