//! LLVM's BPF syntax, exactly as `llvm-objdump -d --mcpu=v4` (LLVM 19)
//! prints each instruction.
//!
//! Facts about that output, each checked against llvm-objdump 19.1.7 (see
//! `tests/fixtures` at the repository root and `isa/tests/llvm_objdump.rs`):
//! - Every immediate, offset and jump distance is hexadecimal with its sign
//!   (`0x10`, `-0x3`, `goto +0x0`); memory offsets read `(r1 + 0x4)` or
//!   `(r10 - 0x8)`.
//! - With `--mcpu=v4` (which has ALU32), zero-extending loads, stores from a
//!   register and atomics of 1 to 4 bytes name 32-bit registers
//!   (`w0 = *(u32 *)(r1 + 0x0)`, `lock *(u32 *)(r1 + 0x0) += w2`);
//!   sign-extending loads and byte swaps always name 64-bit registers.
//! - `lddw` prints its 64-bit value as a signed number with ` ll`; a pseudo
//!   `lddw` prints as `ld_pseudo`, a tab, the register, the source and the
//!   first `imm` as unsigned hex (the second slot is not shown).
//! - `LD_IND` shows only its index register (`skb[r1]`), not its `imm`.
//! - Helper, local and kfunc calls all print `call` and the raw `imm`.

use crate::{
    AluOp, AtomicOp, CallTarget, Instruction, JmpCond, LddwKind, LegacyMode, Reg, Size, Source,
    SwapKind, Width,
};

/// Signed hexadecimal: `0x1f`, `-0x1f`.
fn hex(value: i64) -> String {
    if value < 0 {
        format!("-{:#x}", value.unsigned_abs())
    } else {
        format!("{value:#x}")
    }
}

/// Signed hexadecimal with an explicit `+` for jump distances.
fn relative(value: i64) -> String {
    if value < 0 {
        hex(value)
    } else {
        format!("+{value:#x}")
    }
}

/// `r1` for 64-bit operands, `w1` for 32-bit ones.
fn reg(width: Width, r: Reg) -> String {
    match width {
        Width::W64 => format!("r{}", r.index()),
        Width::W32 => format!("w{}", r.index()),
    }
}

fn r64(r: Reg) -> String {
    reg(Width::W64, r)
}

/// The register width LLVM names for a value moved through memory: 32-bit
/// below 8 bytes (ALU32 is on with v4), 64-bit for 8 bytes.
fn value_width(size: Size) -> Width {
    if size == Size::DW {
        Width::W64
    } else {
        Width::W32
    }
}

fn source(width: Width, src: Source) -> String {
    match src {
        Source::Reg(r) => reg(width, r),
        Source::Imm(imm) => hex(imm.into()),
    }
}

/// `u8`..`u64` or `s8`..`s32`.
fn type_name(size: Size, signed: bool) -> String {
    let bits = size.bytes() * 8;
    let sign = if signed { 's' } else { 'u' };
    format!("{sign}{bits}")
}

/// `r1 + 0x4`, `r10 - 0x8` (callers add parentheses where LLVM has them).
fn address(base: Reg, off: i16) -> String {
    let sign = if off < 0 { '-' } else { '+' };
    format!("{} {sign} {:#x}", r64(base), off.unsigned_abs())
}

fn alu_operator(op: AluOp) -> &'static str {
    match op {
        AluOp::Add => "+=",
        AluOp::Sub => "-=",
        AluOp::Mul => "*=",
        AluOp::Div => "/=",
        AluOp::SDiv => "s/=",
        AluOp::Or => "|=",
        AluOp::And => "&=",
        AluOp::Lsh => "<<=",
        AluOp::Rsh => ">>=",
        AluOp::Mod => "%=",
        AluOp::SMod => "s%=",
        AluOp::Xor => "^=",
        AluOp::Arsh => "s>>=",
        AluOp::Mov | AluOp::MovSx8 | AluOp::MovSx16 | AluOp::MovSx32 => "=",
    }
}

fn jump_operator(cond: JmpCond) -> &'static str {
    match cond {
        JmpCond::Eq => "==",
        JmpCond::Gt => ">",
        JmpCond::Ge => ">=",
        JmpCond::Set => "&",
        JmpCond::Ne => "!=",
        JmpCond::Sgt => "s>",
        JmpCond::Sge => "s>=",
        JmpCond::Lt => "<",
        JmpCond::Le => "<=",
        JmpCond::Slt => "s<",
        JmpCond::Sle => "s<=",
    }
}

fn atomic_operator(op: AtomicOp) -> &'static str {
    match op {
        AtomicOp::Add => "add",
        AtomicOp::Or => "or",
        AtomicOp::And => "and",
        AtomicOp::Xor => "xor",
        AtomicOp::Xchg => "xchg",
        AtomicOp::CmpXchg => "cmpxchg",
    }
}

fn atomic(size: Size, op: AtomicOp, fetch: bool, dst: Reg, src: Reg, off: i16) -> String {
    let width = value_width(size);
    let value = reg(width, src);
    let pointer_type = format!("{} *", type_name(size, false));
    let address = address(dst, off);
    // LLVM's exchange names carry the width: `xchg_64`, `xchg32_32`.
    let exchange_suffix = if size == Size::DW { "_64" } else { "32_32" };
    let name = atomic_operator(op);
    match op {
        AtomicOp::Xchg => format!("{value} = {name}{exchange_suffix}({address}, {value})"),
        AtomicOp::CmpXchg => {
            let r0 = reg(width, Reg::R0);
            format!("{r0} = {name}{exchange_suffix}({address}, {r0}, {value})")
        }
        _ if fetch => {
            format!("{value} = atomic_fetch_{name}(({pointer_type})({address}), {value})")
        }
        _ => {
            let operator = match op {
                AtomicOp::Or => "|=",
                AtomicOp::And => "&=",
                AtomicOp::Xor => "^=",
                _ => "+=",
            };
            format!("lock *({pointer_type})({address}) {operator} {value}")
        }
    }
}

/// Prints one instruction as llvm-objdump 19 does.
pub(super) fn format(insn: &Instruction) -> String {
    match *insn {
        Instruction::Alu {
            width,
            op,
            dst,
            src,
        } => {
            let d = reg(width, dst);
            let cast = match op {
                AluOp::MovSx8 => "(s8)",
                AluOp::MovSx16 => "(s16)",
                AluOp::MovSx32 => "(s32)",
                _ => "",
            };
            format!("{d} {} {cast}{}", alu_operator(op), source(width, src))
        }
        Instruction::Neg { width, dst } => {
            let d = reg(width, dst);
            format!("{d} = -{d}")
        }
        Instruction::Swap { kind, bits, dst } => {
            let name = match kind {
                SwapKind::ToLe => "le",
                SwapKind::ToBe => "be",
                SwapKind::Swap => "bswap",
            };
            let d = r64(dst);
            format!("{d} = {name}{bits} {d}")
        }
        Instruction::LoadImm64 {
            kind: LddwKind::Imm,
            dst,
            imm,
            next_imm,
        } => {
            let value = (u64::from(next_imm as u32) << 32) | u64::from(imm as u32);
            format!("{} = {} ll", r64(dst), hex(value as i64))
        }
        Instruction::LoadImm64 { kind, dst, imm, .. } => format!(
            "ld_pseudo\t{}, {:#x}, {:#x}",
            r64(dst),
            kind.src(),
            imm as u32
        ),
        Instruction::Load {
            size,
            signed,
            dst,
            src,
            off,
        } => {
            let width = if signed {
                Width::W64
            } else {
                value_width(size)
            };
            format!(
                "{} = *({} *)({})",
                reg(width, dst),
                type_name(size, signed),
                address(src, off)
            )
        }
        Instruction::Store {
            size,
            dst,
            off,
            src,
        } => format!(
            "*({} *)({}) = {}",
            type_name(size, false),
            address(dst, off),
            source(value_width(size), src)
        ),
        Instruction::Atomic {
            size,
            op,
            fetch,
            dst,
            src,
            off,
        } => atomic(size, op, fetch, dst, src, off),
        Instruction::LegacyLoad {
            mode,
            size,
            src,
            imm,
        } => {
            let index = match mode {
                LegacyMode::Abs => hex(imm.into()),
                LegacyMode::Ind => r64(src),
            };
            format!("r0 = *({} *)skb[{index}]", type_name(size, false))
        }
        Instruction::Ja { offset, long } => {
            let mnemonic = if long { "gotol" } else { "goto" };
            format!("{mnemonic} {}", relative(offset.into()))
        }
        Instruction::Jump {
            width,
            cond,
            dst,
            src,
            off,
        } => format!(
            "if {} {} {} goto {}",
            reg(width, dst),
            jump_operator(cond),
            source(width, src),
            relative(off.into())
        ),
        Instruction::Call(CallTarget::Helper(imm))
        | Instruction::Call(CallTarget::Local(imm))
        | Instruction::Call(CallTarget::Kfunc(imm)) => format!("call {}", hex(imm.into())),
        Instruction::Call(CallTarget::Register(r)) => format!("callx {}", r64(r)),
        Instruction::Exit => "exit".to_string(),
    }
}
