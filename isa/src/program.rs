//! The program representation: a strictly decoded, structurally checked
//! sequence of instructions.
//!
//! A [`Program`] is the first stage of the pipeline (bytes → program → loader
//! → verifier → engine). Building one proves only structural facts: every slot
//! decodes, every jump and local call lands on an instruction of the same
//! sub-program. Memory safety and termination are the verifier's business.

use crate::error::{DecodeError, DecodeErrorKind};
use crate::insn::{CallTarget, Instruction, LddwKind, RawInsn};
use std::collections::BTreeSet;
use std::fmt;

/// The most instruction slots a program may have (the Linux limit for a
/// privileged loader).
pub const MAX_PROGRAM_SLOTS: usize = 1_000_000;

/// A conformance group (RFC 9669, section 2.4), plus the suite's `callx`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Group {
    /// 32-bit arithmetic and jumps, calls, exit, loads and stores up to 4 bytes.
    Base32,
    /// 64-bit arithmetic and jumps, `lddw`, 8-byte loads and stores.
    Base64,
    /// 32-bit atomics.
    Atomic32,
    /// 64-bit atomics.
    Atomic64,
    /// 32-bit multiply, divide and modulo.
    DivMul32,
    /// 64-bit multiply, divide and modulo.
    DivMul64,
    /// Legacy packet loads (`LD_ABS`/`LD_IND`).
    Packet,
    /// `callx`: call through a register.
    Callx,
}

impl Group {
    /// The group's name as the conformance suite spells it.
    pub fn name(self) -> &'static str {
        match self {
            Group::Base32 => "base32",
            Group::Base64 => "base64",
            Group::Atomic32 => "atomic32",
            Group::Atomic64 => "atomic64",
            Group::DivMul32 => "divmul32",
            Group::DivMul64 => "divmul64",
            Group::Packet => "packet",
            Group::Callx => "callx",
        }
    }
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a program needs from a runtime: the lowest CPU version and the
/// conformance groups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requirements {
    /// 1 to 4.
    pub cpu_version: u8,
    /// Every group some instruction belongs to.
    pub groups: BTreeSet<Group>,
}

/// An instruction and the slot index (pc) it starts at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Located {
    /// Slot index of the instruction.
    pub pc: usize,
    /// The instruction.
    pub insn: Instruction,
}

/// A decoded eBPF program. Immutable, cheap to share across threads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    slots: Vec<RawInsn>,
    insns: Vec<Located>,
    /// Start pc of each sub-program, ascending; the first is 0.
    subprograms: Vec<usize>,
}

fn err(pc: usize, kind: DecodeErrorKind) -> DecodeError {
    DecodeError { pc, kind }
}

impl Program {
    /// Decodes little-endian bytecode strictly.
    ///
    /// # Errors
    /// A [`DecodeError`] naming the first offending instruction: a length that
    /// is not a multiple of 8, an unknown opcode, a non-zero reserved field, a
    /// bad register, a write to r10, a truncated `lddw`, a jump out of the
    /// program, into a `lddw` or across a sub-program, a bad call target.
    pub fn from_bytes(bytes: &[u8]) -> Result<Program, DecodeError> {
        if bytes.len() % 8 != 0 {
            return Err(err(
                bytes.len() / 8,
                DecodeErrorKind::OddLength(bytes.len()),
            ));
        }
        let slots: Vec<RawInsn> = bytes
            .chunks_exact(8)
            .map(|chunk| {
                let mut word = [0u8; 8];
                word.copy_from_slice(chunk);
                RawInsn::from_bytes(word)
            })
            .collect();
        Program::from_raw(slots)
    }

    /// Decodes raw slots strictly; see [`Program::from_bytes`].
    ///
    /// # Errors
    /// As [`Program::from_bytes`].
    pub fn from_raw(slots: Vec<RawInsn>) -> Result<Program, DecodeError> {
        if slots.is_empty() {
            return Err(err(0, DecodeErrorKind::Empty));
        }
        if slots.len() > MAX_PROGRAM_SLOTS {
            return Err(err(
                MAX_PROGRAM_SLOTS,
                DecodeErrorKind::TooLong {
                    len: slots.len(),
                    limit: MAX_PROGRAM_SLOTS,
                },
            ));
        }
        let mut insns = Vec::with_capacity(slots.len());
        let mut pc = 0;
        while pc < slots.len() {
            let insn =
                Instruction::decode(slots[pc], slots.get(pc + 1).copied()).map_err(|kind| {
                    // A malformed second slot of lddw is reported at that slot.
                    let at = if kind == DecodeErrorKind::BadLddwSecondSlot {
                        pc + 1
                    } else {
                        pc
                    };
                    err(at, kind)
                })?;
            insns.push(Located { pc, insn });
            pc += insn.slots();
        }
        let mut program = Program {
            slots,
            insns,
            subprograms: Vec::new(),
        };
        program.check_structure()?;
        Ok(program)
    }

    /// Encodes instructions and decodes the result strictly, so the program
    /// obeys the same rules as one read from bytes.
    ///
    /// # Errors
    /// As [`Program::from_bytes`].
    pub fn from_instructions(instructions: &[Instruction]) -> Result<Program, DecodeError> {
        let mut slots = Vec::with_capacity(instructions.len());
        for insn in instructions {
            let (first, second) = insn.encode();
            slots.push(first);
            slots.extend(second);
        }
        Program::from_raw(slots)
    }

    /// Whether a slot index is the start of an instruction.
    fn is_insn_start(&self, pc: usize) -> bool {
        self.insns.binary_search_by_key(&pc, |l| l.pc).is_ok()
    }

    fn check_structure(&mut self) -> Result<(), DecodeError> {
        let len = self.slots.len() as i64;
        let mut starts = BTreeSet::from([0usize]);
        // Local calls and code addresses define sub-program entry points.
        for l in &self.insns {
            let rel = match l.insn {
                Instruction::Call(CallTarget::Local(imm)) => imm,
                Instruction::LoadImm64 {
                    kind: LddwKind::CodeAddr,
                    imm,
                    ..
                } => imm,
                _ => continue,
            };
            // Relative to the slot after the first one, for `lddw` too (its
            // second slot does not count): the kernel and libbpf compute
            // `pc + imm + 1` for both.
            let target = l.pc as i64 + 1 + i64::from(rel);
            if !(0..len).contains(&target) || !self.is_insn_start(target as usize) {
                return Err(err(l.pc, DecodeErrorKind::BadCallTarget { target }));
            }
            starts.insert(target as usize);
        }
        self.subprograms = starts.into_iter().collect();
        for l in &self.insns {
            let Some(rel) = l.insn.jump_offset() else {
                continue;
            };
            let target = l.pc as i64 + 1 + rel;
            if !(0..len).contains(&target) {
                return Err(err(l.pc, DecodeErrorKind::JumpOutOfProgram { target }));
            }
            let target = target as usize;
            if !self.is_insn_start(target) {
                return Err(err(l.pc, DecodeErrorKind::JumpIntoLddw { target }));
            }
            if self.subprogram_of(target) != self.subprogram_of(l.pc) {
                return Err(err(l.pc, DecodeErrorKind::JumpAcrossSubprogram { target }));
            }
        }
        Ok(())
    }

    /// Index into [`Program::subprograms`] of the sub-program containing `pc`.
    pub fn subprogram_of(&self, pc: usize) -> usize {
        self.subprograms.partition_point(|&start| start <= pc) - 1
    }

    /// Start pcs of the sub-programs, ascending; the first is 0.
    pub fn subprograms(&self) -> &[usize] {
        &self.subprograms
    }

    /// The instructions in order, each with its pc.
    pub fn instructions(&self) -> &[Located] {
        &self.insns
    }

    /// The raw slots (two per `lddw`).
    pub fn slots(&self) -> &[RawInsn] {
        &self.slots
    }

    /// Number of slots; pcs range over `0..len_slots()`.
    pub fn len_slots(&self) -> usize {
        self.slots.len()
    }

    /// The instruction starting at `pc`, if one does.
    pub fn instruction_at(&self, pc: usize) -> Option<&Instruction> {
        self.insns
            .binary_search_by_key(&pc, |l| l.pc)
            .ok()
            .map(|i| &self.insns[i].insn)
    }

    /// The little-endian bytecode.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.slots.iter().flat_map(|s| s.to_bytes()).collect()
    }

    /// The lowest CPU version and the conformance groups this program needs.
    pub fn requirements(&self) -> Requirements {
        Requirements {
            cpu_version: self
                .insns
                .iter()
                .map(|l| l.insn.cpu_version())
                .max()
                .unwrap_or(1),
            groups: self.insns.iter().map(|l| l.insn.group()).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insn::{AluOp, AtomicOp, JmpCond, Reg, Size, Source, Width};

    fn requirements(insns: &[Instruction]) -> Requirements {
        let mut all = insns.to_vec();
        all.push(Instruction::Exit);
        Program::from_instructions(&all).unwrap().requirements()
    }

    #[test]
    fn classifies_cpu_version_and_groups() {
        let mov32 = Instruction::Alu {
            width: Width::W32,
            op: AluOp::Mov,
            dst: Reg::R0,
            src: Source::Imm(1),
        };
        assert_eq!(
            requirements(&[mov32]),
            Requirements {
                cpu_version: 1,
                groups: BTreeSet::from([Group::Base32])
            }
        );
        let jlt = Instruction::Jump {
            width: Width::W64,
            cond: JmpCond::Lt,
            dst: Reg::R0,
            src: Source::Imm(0),
            off: 0,
        };
        let r = requirements(&[mov32, jlt]);
        assert_eq!(r.cpu_version, 2);
        assert_eq!(r.groups, BTreeSet::from([Group::Base32, Group::Base64]));
        let atomic = Instruction::Atomic {
            size: Size::W,
            op: AtomicOp::Add,
            fetch: false,
            dst: Reg::R10,
            src: Reg::R1,
            off: -8,
        };
        let r = requirements(&[mov32, atomic]);
        assert_eq!(r.cpu_version, 3);
        assert!(r.groups.contains(&Group::Atomic32));
        let sdiv = Instruction::Alu {
            width: Width::W64,
            op: AluOp::SDiv,
            dst: Reg::R0,
            src: Source::Imm(3),
        };
        let r = requirements(&[mov32, sdiv]);
        assert_eq!(r.cpu_version, 4);
        assert!(r.groups.contains(&Group::DivMul64));
        let callx = Instruction::Call(crate::CallTarget::Register(Reg::R2));
        assert!(requirements(&[callx]).groups.contains(&Group::Callx));
    }

    #[test]
    fn subprograms_come_from_local_calls() {
        let call = |rel| Instruction::Call(crate::CallTarget::Local(rel));
        let program = Program::from_instructions(&[
            call(1),
            Instruction::Exit,
            call(0),
            Instruction::Exit,
            Instruction::Exit,
        ])
        .unwrap();
        assert_eq!(program.subprograms(), &[0, 2, 3]);
        assert_eq!(program.subprogram_of(0), 0);
        assert_eq!(program.subprogram_of(2), 1);
        assert_eq!(program.subprogram_of(4), 2);
    }
}
