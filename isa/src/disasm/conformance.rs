//! The bpf_conformance dialect, printed so that [`crate::asm::assemble`]
//! reads back the same instruction. Names come from the assembler's own
//! table ([`crate::asm::spelling`]).

use crate::asm::spelling::{self, Mnemonic};
use crate::{AtomicOp, CallTarget, Instruction, LddwKind, LegacyMode, Reg, Source};

fn reg(r: Reg) -> String {
    format!("%r{}", r.index())
}

fn source(src: Source) -> String {
    match src {
        Source::Reg(r) => reg(r),
        Source::Imm(imm) => imm.to_string(),
    }
}

/// `[%r1+4]`, `[%r10-8]`.
fn memory(base: Reg, off: i16) -> String {
    format!("[{}{off:+}]", reg(base))
}

/// The operand of `lddw`: the 64-bit value, or a pseudo source in the
/// kernel document's notation with the second slot's immediate added.
fn lddw_operand(kind: LddwKind, imm: i32, next_imm: i32) -> String {
    let call = match kind {
        LddwKind::Imm => {
            let value = (u64::from(next_imm as u32) << 32) | u64::from(imm as u32);
            return format!("{value:#x}");
        }
        LddwKind::MapFd => format!("map_by_fd({imm})"),
        LddwKind::MapValue => format!("map_val(map_by_fd({imm}))"),
        LddwKind::VarAddr => format!("var_addr({imm})"),
        LddwKind::CodeAddr => format!("code_addr({imm:+})"),
        LddwKind::MapIdx => format!("map_by_idx({imm})"),
        LddwKind::MapIdxValue => format!("map_val(map_by_idx({imm}))"),
    };
    match next_imm {
        0 => call,
        // `unsigned_abs` keeps i32::MIN printable as a magnitude.
        n if n < 0 => format!("{call} - {}", n.unsigned_abs()),
        n => format!("{call} + {n}"),
    }
}

/// Prints one instruction in the conformance dialect.
pub(super) fn format(insn: &Instruction) -> String {
    let name = spelling::name;
    match *insn {
        Instruction::Alu {
            width,
            op,
            dst,
            src,
        } => format!(
            "{} {}, {}",
            name(Mnemonic::Alu(width, op)),
            reg(dst),
            source(src)
        ),
        Instruction::Neg { width, dst } => format!("{} {}", name(Mnemonic::Neg(width)), reg(dst)),
        Instruction::Swap { kind, bits, dst } => {
            format!("{} {}", name(Mnemonic::Swap(kind, bits)), reg(dst))
        }
        Instruction::LoadImm64 {
            kind,
            dst,
            imm,
            next_imm,
        } => format!("lddw {}, {}", reg(dst), lddw_operand(kind, imm, next_imm)),
        Instruction::Load {
            size,
            signed,
            dst,
            src,
            off,
        } => format!(
            "{} {}, {}",
            name(Mnemonic::Load { size, signed }),
            reg(dst),
            memory(src, off)
        ),
        Instruction::Store {
            size,
            dst,
            off,
            src,
        } => {
            let mnemonic = match src {
                Source::Imm(_) => Mnemonic::StoreImm(size),
                Source::Reg(_) => Mnemonic::StoreReg(size),
            };
            format!("{} {}, {}", name(mnemonic), memory(dst, off), source(src))
        }
        Instruction::Atomic {
            size,
            op,
            fetch,
            dst,
            src,
            off,
        } => {
            // Exchanges always fetch; the dialect leaves the word out.
            let implied = matches!(op, AtomicOp::Xchg | AtomicOp::CmpXchg);
            let fetch = if fetch && !implied { "fetch " } else { "" };
            format!(
                "lock {fetch}{} {}, {}",
                spelling::atomic_name(op, size),
                memory(dst, off),
                reg(src)
            )
        }
        Instruction::LegacyLoad {
            mode,
            size,
            src,
            imm,
        } => {
            let mnemonic = name(Mnemonic::Legacy(mode, size));
            match mode {
                LegacyMode::Abs => format!("{mnemonic} {imm}"),
                LegacyMode::Ind => format!("{mnemonic} {}, {imm}", reg(src)),
            }
        }
        Instruction::Ja { offset, long } => {
            format!("{} {offset:+}", name(Mnemonic::Ja { long }))
        }
        Instruction::Jump {
            width,
            cond,
            dst,
            src,
            off,
        } => format!(
            "{} {}, {}, {off:+}",
            name(Mnemonic::Jump(width, cond)),
            reg(dst),
            source(src)
        ),
        Instruction::Call(CallTarget::Helper(imm)) => format!("call {imm}"),
        Instruction::Call(CallTarget::Local(imm)) => format!("call local {imm:+}"),
        Instruction::Call(CallTarget::Kfunc(imm)) => format!("call runtime {imm}"),
        Instruction::Call(CallTarget::Register(r)) => format!("call {}", reg(r)),
        Instruction::Exit => "exit".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Size, Width};

    #[test]
    fn widths_and_sizes_print_their_suffixes() {
        let insn = Instruction::Alu {
            width: Width::W32,
            op: crate::AluOp::Add,
            dst: Reg::R1,
            src: Source::Imm(-1),
        };
        assert_eq!(format(&insn), "add32 %r1, -1");
        let insn = Instruction::Atomic {
            size: Size::W,
            op: AtomicOp::Add,
            fetch: true,
            dst: Reg::R10,
            src: Reg::R1,
            off: -8,
        };
        assert_eq!(format(&insn), "lock fetch add32 [%r10-8], %r1");
    }
}
