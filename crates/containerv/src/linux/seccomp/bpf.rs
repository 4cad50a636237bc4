//! A tiny classic-BPF assembler with labels, for seccomp filters.
//!
//! Conditional jumps in classic BPF carry 8-bit offsets (at most 255
//! instructions forward); only the unconditional `ja` has a 32-bit one. The
//! compiler writes jumps to labels and never thinks about distance: when a
//! conditional jump's target ends up more than 255 instructions away,
//! [`Asm::assemble`] puts a `ja` trampoline right after the jump and points
//! the short branch at it. Inserting a trampoline only moves targets further
//! away, so the fix-up loop grows monotonically and terminates.

use crate::error::{Error, Result};

/// The kernel's `BPF_MAXINSNS`: longest program `seccomp(2)` accepts.
pub(crate) const MAX_INSNS: usize = 4096;

const BPF_LD_W_ABS: u16 = 0x20;
const BPF_ALU_AND_K: u16 = 0x54;
const BPF_JMP_JA: u16 = 0x05;
const BPF_JMP_JEQ_K: u16 = 0x15;
const BPF_JMP_JGT_K: u16 = 0x25;
const BPF_JMP_JGE_K: u16 = 0x35;
const BPF_RET_K: u16 = 0x06;

/// The kernel's `struct sock_filter`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SockFilter {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

/// A jump target: the next instruction, or a label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum To {
    Next,
    L(Label),
}

/// A position in the program, bound once with [`Asm::bind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Label(usize);

/// Conditional jump kinds (all against the constant `k`, unsigned).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    Eq,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy)]
enum Insn {
    Load(u32),
    And(u32),
    Jump { cmp: Cmp, k: u32, t: To, f: To },
    Ret(u32),
    Bind(Label),
}

/// An instruction list under construction.
#[derive(Debug, Default)]
pub(crate) struct Asm {
    insns: Vec<Insn>,
    labels: usize,
}

impl Asm {
    pub(crate) fn label(&mut self) -> Label {
        self.labels += 1;
        Label(self.labels - 1)
    }

    /// Place `l` at the current position.
    pub(crate) fn bind(&mut self, l: Label) {
        self.insns.push(Insn::Bind(l));
    }

    /// `A = seccomp_data[offset]` (32-bit word).
    pub(crate) fn load(&mut self, offset: u32) {
        self.insns.push(Insn::Load(offset));
    }

    /// `A &= k`.
    pub(crate) fn and(&mut self, k: u32) {
        self.insns.push(Insn::And(k));
    }

    /// `if A <cmp> k goto t else goto f`.
    pub(crate) fn jump(&mut self, cmp: Cmp, k: u32, t: To, f: To) {
        self.insns.push(Insn::Jump { cmp, k, t, f });
    }

    /// `return k`.
    pub(crate) fn ret(&mut self, k: u32) {
        self.insns.push(Insn::Ret(k));
    }

    /// Resolve labels (with trampolines for far conditional branches) into
    /// the kernel's instruction format. Fails on an unbound label or a
    /// program longer than [`MAX_INSNS`].
    pub(crate) fn assemble(&self) -> Result<Vec<SockFilter>> {
        // far[i] = (true branch needs a trampoline, false branch needs one).
        let mut far = vec![(false, false); self.insns.len()];
        loop {
            let (pos, at) = self.layout(&far)?;
            let mut changed = false;
            for (i, insn) in self.insns.iter().enumerate() {
                if let Insn::Jump { t, f, .. } = insn {
                    let from = pos[i] + 1;
                    let dist = |to: &To| match to {
                        To::Next => 0,
                        To::L(l) => at[l.0] - from,
                    };
                    if !far[i].0 && dist(t) > 255 {
                        far[i].0 = true;
                        changed = true;
                    }
                    if !far[i].1 && dist(f) > 255 {
                        far[i].1 = true;
                        changed = true;
                    }
                }
            }
            if !changed {
                return self.emit(&far, &pos, &at);
            }
        }
    }

    /// Positions of every instruction and every label given the
    /// trampolines in `far`. Labels may only be jumped to forward.
    fn layout(&self, far: &[(bool, bool)]) -> Result<(Vec<usize>, Vec<usize>)> {
        let mut pos = Vec::with_capacity(self.insns.len());
        let mut at = vec![usize::MAX; self.labels];
        let mut n = 0usize;
        for (i, insn) in self.insns.iter().enumerate() {
            pos.push(n);
            match insn {
                Insn::Bind(l) => at[l.0] = n,
                Insn::Jump { .. } => n += 1 + far[i].0 as usize + far[i].1 as usize,
                _ => n += 1,
            }
        }
        for (i, insn) in self.insns.iter().enumerate() {
            let targets: &[To] = match insn {
                Insn::Jump { t, f, .. } => &[*t, *f],
                _ => &[],
            };
            for t in targets {
                if let To::L(l) = t {
                    if at[l.0] == usize::MAX || at[l.0] <= pos[i] {
                        return Err(Error::InvalidSpec(format!(
                            "seccomp compiler: label {} is unbound or behind its jump",
                            l.0
                        )));
                    }
                }
            }
        }
        if n > MAX_INSNS {
            return Err(Error::InvalidSpec(format!(
                "linux.seccomp compiles to {n} BPF instructions, more than the kernel's limit of {MAX_INSNS}"
            )));
        }
        Ok((pos, at))
    }

    fn emit(&self, far: &[(bool, bool)], pos: &[usize], at: &[usize]) -> Result<Vec<SockFilter>> {
        let mut out = Vec::with_capacity(pos.last().map_or(0, |p| p + 3));
        let op = |code, k| SockFilter {
            code,
            jt: 0,
            jf: 0,
            k,
        };
        for (i, insn) in self.insns.iter().enumerate() {
            match *insn {
                Insn::Bind(_) => {}
                Insn::Load(off) => out.push(op(BPF_LD_W_ABS, off)),
                Insn::And(k) => out.push(op(BPF_ALU_AND_K, k)),
                Insn::Ret(k) => out.push(op(BPF_RET_K, k)),
                Insn::Jump { cmp, k, t, f } => {
                    let code = match cmp {
                        Cmp::Eq => BPF_JMP_JEQ_K,
                        Cmp::Gt => BPF_JMP_JGT_K,
                        Cmp::Ge => BPF_JMP_JGE_K,
                    };
                    let (far_t, far_f) = far[i];
                    let tramps = far_t as usize + far_f as usize;
                    // Offsets are relative to the instruction after the jump.
                    let from = pos[i] + 1;
                    let short = |to: To| match to {
                        To::Next => tramps,
                        To::L(l) => at[l.0] - from,
                    };
                    let jt = if far_t { 0 } else { short(t) };
                    let jf = if far_f { far_t as usize } else { short(f) };
                    out.push(SockFilter {
                        code,
                        jt: jt as u8,
                        jf: jf as u8,
                        k,
                    });
                    // Trampolines: `ja` from their own position.
                    let far_targets = [(far_t, t), (far_f, f)]
                        .into_iter()
                        .filter_map(|(is_far, to)| is_far.then_some(to));
                    for (n, to) in far_targets.enumerate() {
                        let here = from + n;
                        let target = match to {
                            // Next is past the trampolines: never far.
                            To::Next => from + tramps,
                            To::L(l) => at[l.0],
                        };
                        out.push(op(BPF_JMP_JA, (target - here - 1) as u32));
                    }
                }
            }
        }
        Ok(out)
    }
}

/// Run `prog` on a `seccomp_data` image the way the kernel would (for the
/// compiler's unit tests): returns the action value.
#[cfg(test)]
pub(crate) fn interpret(prog: &[SockFilter], data: &[u8; 64]) -> u32 {
    let word = |off: u32| {
        let o = off as usize;
        u32::from_ne_bytes([data[o], data[o + 1], data[o + 2], data[o + 3]])
    };
    let (mut pc, mut a) = (0usize, 0u32);
    loop {
        let i = prog[pc];
        pc += 1;
        match i.code {
            BPF_LD_W_ABS => a = word(i.k),
            BPF_ALU_AND_K => a &= i.k,
            BPF_RET_K => return i.k,
            BPF_JMP_JA => pc += i.k as usize,
            BPF_JMP_JEQ_K | BPF_JMP_JGT_K | BPF_JMP_JGE_K => {
                let c = match i.code {
                    BPF_JMP_JEQ_K => a == i.k,
                    BPF_JMP_JGT_K => a > i.k,
                    _ => a >= i.k,
                };
                pc += if c { i.jt } else { i.jf } as usize;
            }
            other => panic!("unknown opcode {other:#x}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(nr: u32) -> [u8; 64] {
        let mut d = [0u8; 64];
        d[..4].copy_from_slice(&nr.to_ne_bytes());
        d
    }

    #[test]
    fn short_jumps_need_no_trampoline() {
        let mut a = Asm::default();
        let yes = a.label();
        a.load(0);
        a.jump(Cmp::Eq, 7, To::L(yes), To::Next);
        a.ret(1);
        a.bind(yes);
        a.ret(2);
        let p = a.assemble().unwrap();
        assert_eq!(p.len(), 4);
        assert_eq!((p[1].jt, p[1].jf), (1, 0));
        assert_eq!(interpret(&p, &data(7)), 2);
        assert_eq!(interpret(&p, &data(8)), 1);
    }

    #[test]
    fn far_jumps_get_trampolines() {
        // 600 syscall checks that all jump to one shared return far away,
        // plus a far false branch: every far branch must still land.
        let mut a = Asm::default();
        let allow = a.label();
        let other = a.label();
        a.load(0);
        a.jump(Cmp::Ge, 10_000, To::L(other), To::Next);
        for nr in 0..600 {
            a.jump(Cmp::Eq, nr, To::L(allow), To::Next);
        }
        a.ret(0xdead);
        a.bind(allow);
        a.ret(0x7fff_0000);
        a.bind(other);
        a.ret(0x1234);
        let p = a.assemble().unwrap();
        assert!(p.len() > 603, "trampolines inserted: {}", p.len());
        assert!(p.len() <= MAX_INSNS);
        for nr in [0, 1, 299, 344, 345, 599] {
            assert_eq!(interpret(&p, &data(nr)), 0x7fff_0000, "nr {nr}");
        }
        assert_eq!(interpret(&p, &data(600)), 0xdead);
        assert_eq!(interpret(&p, &data(20_000)), 0x1234);
    }

    #[test]
    fn both_branches_far() {
        let mut a = Asm::default();
        let (t, f) = (a.label(), a.label());
        a.load(0);
        a.jump(Cmp::Gt, 5, To::L(t), To::L(f));
        for _ in 0..300 {
            a.ret(9);
        }
        a.bind(t);
        a.ret(1);
        for _ in 0..300 {
            a.ret(9);
        }
        a.bind(f);
        a.ret(2);
        let p = a.assemble().unwrap();
        assert_eq!(interpret(&p, &data(6)), 1);
        assert_eq!(interpret(&p, &data(5)), 2);
    }

    #[test]
    fn too_long_and_unbound_are_errors() {
        let mut a = Asm::default();
        for _ in 0..=MAX_INSNS {
            a.ret(0);
        }
        let e = a.assemble().unwrap_err().to_string();
        assert!(e.contains("4097 BPF instructions"), "{e}");
        let mut a = Asm::default();
        let l = a.label();
        a.jump(Cmp::Eq, 0, To::L(l), To::Next);
        assert!(a.assemble().is_err());
    }
}
