//! Encoding of typed instructions into slots.

use super::*;
use crate::opcode::{atomic, call_src, class, mode, source, LDDW};

fn alu_class(width: Width) -> u8 {
    match width {
        Width::W32 => class::ALU,
        Width::W64 => class::ALU64,
    }
}

fn jmp_class(width: Width) -> u8 {
    match width {
        Width::W32 => class::JMP32,
        Width::W64 => class::JMP,
    }
}

fn source_fields(src: Source) -> (u8, u8, i32) {
    match src {
        Source::Reg(r) => (source::X, r.index(), 0),
        Source::Imm(imm) => (source::K, 0, imm),
    }
}

impl Instruction {
    /// Encodes into one slot, or two for `lddw`.
    pub fn encode(&self) -> (RawInsn, Option<RawInsn>) {
        let one = |opcode, dst: u8, src: u8, off: i16, imm: i32| {
            (
                RawInsn {
                    opcode,
                    dst,
                    src,
                    off,
                    imm,
                },
                None,
            )
        };
        match *self {
            Instruction::Alu {
                width,
                op,
                dst,
                src,
            } => {
                let (code, off) = op.code_and_offset();
                let (x, s, imm) = source_fields(src);
                one(code | x | alu_class(width), dst.index(), s, off, imm)
            }
            Instruction::Neg { width, dst } => {
                one(alu::NEG | alu_class(width), dst.index(), 0, 0, 0)
            }
            Instruction::Swap { kind, bits, dst } => {
                let opcode = match kind {
                    SwapKind::ToLe => alu::END | source::K | class::ALU,
                    SwapKind::ToBe => alu::END | source::X | class::ALU,
                    SwapKind::Swap => alu::END | source::K | class::ALU64,
                };
                one(opcode, dst.index(), 0, 0, bits.into())
            }
            Instruction::LoadImm64 {
                kind,
                dst,
                imm,
                next_imm,
            } => (
                RawInsn {
                    opcode: LDDW,
                    dst: dst.index(),
                    src: kind.src(),
                    off: 0,
                    imm,
                },
                Some(RawInsn {
                    imm: next_imm,
                    ..RawInsn::default()
                }),
            ),
            Instruction::Load {
                size,
                signed,
                dst,
                src,
                off,
            } => {
                let m = if signed { mode::MEMSX } else { mode::MEM };
                one(
                    m | size.field() | class::LDX,
                    dst.index(),
                    src.index(),
                    off,
                    0,
                )
            }
            Instruction::Store {
                size,
                dst,
                off,
                src,
            } => match src {
                Source::Imm(imm) => one(
                    mode::MEM | size.field() | class::ST,
                    dst.index(),
                    0,
                    off,
                    imm,
                ),
                Source::Reg(r) => one(
                    mode::MEM | size.field() | class::STX,
                    dst.index(),
                    r.index(),
                    off,
                    0,
                ),
            },
            Instruction::Atomic {
                size,
                op,
                fetch,
                dst,
                src,
                off,
            } => {
                let imm = match op {
                    AtomicOp::Add => atomic::ADD,
                    AtomicOp::Or => atomic::OR,
                    AtomicOp::And => atomic::AND,
                    AtomicOp::Xor => atomic::XOR,
                    AtomicOp::Xchg => atomic::XCHG,
                    AtomicOp::CmpXchg => atomic::CMPXCHG,
                } | if fetch { atomic::FETCH } else { 0 };
                one(
                    mode::ATOMIC | size.field() | class::STX,
                    dst.index(),
                    src.index(),
                    off,
                    imm,
                )
            }
            Instruction::LegacyLoad {
                mode: m,
                size,
                src,
                imm,
            } => {
                let (mbits, s) = match m {
                    LegacyMode::Abs => (mode::ABS, 0),
                    LegacyMode::Ind => (mode::IND, src.index()),
                };
                one(mbits | size.field() | class::LD, 0, s, 0, imm)
            }
            Instruction::Ja { offset, long } => {
                if long {
                    one(jmp::JA | class::JMP32, 0, 0, 0, offset)
                } else {
                    // A short `ja` holds a 16-bit offset; callers building one
                    // by hand keep it in range (the assembler checks).
                    one(jmp::JA | class::JMP, 0, 0, offset as i16, 0)
                }
            }
            Instruction::Jump {
                width,
                cond,
                dst,
                src,
                off,
            } => {
                let (x, s, imm) = source_fields(src);
                one(cond.code() | x | jmp_class(width), dst.index(), s, off, imm)
            }
            Instruction::Call(target) => match target {
                CallTarget::Helper(imm) => one(jmp::CALL | class::JMP, 0, call_src::HELPER, 0, imm),
                CallTarget::Local(imm) => one(jmp::CALL | class::JMP, 0, call_src::LOCAL, 0, imm),
                CallTarget::Kfunc(imm) => one(jmp::CALL | class::JMP, 0, call_src::KFUNC, 0, imm),
                CallTarget::Register(r) => {
                    one(jmp::CALL | source::X | class::JMP, r.index(), 0, 0, 0)
                }
            },
            Instruction::Exit => one(jmp::EXIT | class::JMP, 0, 0, 0, 0),
        }
    }
}
