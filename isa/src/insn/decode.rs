//! Strict decoding of one instruction slot (two for `lddw`).

use super::*;
use crate::opcode::{atomic, call_src, class, mode, source, LDDW};

/// Result of decoding one slot.
enum Decoded {
    /// A complete one-slot instruction.
    One(Instruction),
    /// The first slot of a `lddw`; the second slot completes it.
    LddwHead { kind: LddwKind, dst: Reg, imm: i32 },
}

fn reg(n: u8) -> Result<Reg, DecodeErrorKind> {
    Reg::new(n).ok_or(DecodeErrorKind::BadRegister(n))
}

fn must_be_zero(value: i64, field: &'static str) -> Result<(), DecodeErrorKind> {
    if value == 0 {
        Ok(())
    } else {
        Err(DecodeErrorKind::ReservedField { field, value })
    }
}

fn writable(r: Reg) -> Result<Reg, DecodeErrorKind> {
    if r == Reg::R10 {
        Err(DecodeErrorKind::WriteToR10)
    } else {
        Ok(r)
    }
}

/// Decodes one slot. `lddw` needs its second slot, handled by the program decoder.
fn decode_slot(raw: RawInsn) -> Result<Decoded, DecodeErrorKind> {
    let unknown = Err(DecodeErrorKind::UnknownOpcode(raw.opcode));
    match raw.class() {
        class::ALU | class::ALU64 => decode_alu(raw).map(Decoded::One),
        class::JMP | class::JMP32 => decode_jmp(raw).map(Decoded::One),
        class::LDX => {
            let signed = match raw.opcode & 0xe0 {
                mode::MEM => false,
                mode::MEMSX if raw.opcode & 0x18 != size::DW => true,
                _ => return unknown,
            };
            must_be_zero(raw.imm.into(), "imm")?;
            Ok(Decoded::One(Instruction::Load {
                size: Size::from_field(raw.opcode),
                signed,
                dst: writable(reg(raw.dst)?)?,
                src: reg(raw.src)?,
                off: raw.off,
            }))
        }
        class::ST => {
            if raw.opcode & 0xe0 != mode::MEM {
                return unknown;
            }
            must_be_zero(raw.src.into(), "src")?;
            Ok(Decoded::One(Instruction::Store {
                size: Size::from_field(raw.opcode),
                dst: reg(raw.dst)?,
                off: raw.off,
                src: Source::Imm(raw.imm),
            }))
        }
        class::STX => match raw.opcode & 0xe0 {
            mode::MEM => {
                must_be_zero(raw.imm.into(), "imm")?;
                Ok(Decoded::One(Instruction::Store {
                    size: Size::from_field(raw.opcode),
                    dst: reg(raw.dst)?,
                    off: raw.off,
                    src: Source::Reg(reg(raw.src)?),
                }))
            }
            mode::ATOMIC => decode_atomic(raw).map(Decoded::One),
            _ => unknown,
        },
        _ => decode_ld(raw),
    }
}

fn decode_ld(raw: RawInsn) -> Result<Decoded, DecodeErrorKind> {
    if raw.opcode == LDDW {
        let kind = LddwKind::from_src(raw.src).ok_or(DecodeErrorKind::BadLddwSource(raw.src))?;
        must_be_zero(raw.off.into(), "off")?;
        return Ok(Decoded::LddwHead {
            kind,
            dst: writable(reg(raw.dst)?)?,
            imm: raw.imm,
        });
    }
    let legacy_mode = match raw.opcode & 0xe0 {
        mode::ABS => LegacyMode::Abs,
        mode::IND => LegacyMode::Ind,
        _ => return Err(DecodeErrorKind::UnknownOpcode(raw.opcode)),
    };
    let size = Size::from_field(raw.opcode);
    if size == Size::DW {
        return Err(DecodeErrorKind::UnknownOpcode(raw.opcode));
    }
    must_be_zero(raw.dst.into(), "dst")?;
    must_be_zero(raw.off.into(), "off")?;
    let src = match legacy_mode {
        LegacyMode::Abs => {
            must_be_zero(raw.src.into(), "src")?;
            Reg::R0
        }
        LegacyMode::Ind => reg(raw.src)?,
    };
    Ok(Decoded::One(Instruction::LegacyLoad {
        mode: legacy_mode,
        size,
        src,
        imm: raw.imm,
    }))
}

fn decode_atomic(raw: RawInsn) -> Result<Instruction, DecodeErrorKind> {
    let size = Size::from_field(raw.opcode);
    if raw.imm == atomic::LOAD_ACQ || raw.imm == atomic::STORE_REL {
        return Err(DecodeErrorKind::NewerThanRfc(
            if raw.imm == atomic::LOAD_ACQ {
                "load-acquire"
            } else {
                "store-release"
            },
        ));
    }
    if size != Size::W && size != Size::DW {
        return Err(DecodeErrorKind::UnknownOpcode(raw.opcode));
    }
    let (op, fetch) = match raw.imm {
        atomic::XCHG => (AtomicOp::Xchg, true),
        atomic::CMPXCHG => (AtomicOp::CmpXchg, true),
        imm => {
            let op = match imm & !atomic::FETCH {
                atomic::ADD => AtomicOp::Add,
                atomic::OR => AtomicOp::Or,
                atomic::AND => AtomicOp::And,
                atomic::XOR => AtomicOp::Xor,
                _ => return Err(DecodeErrorKind::BadAtomicOp(imm)),
            };
            (op, imm & atomic::FETCH != 0)
        }
    };
    let src = reg(raw.src)?;
    // Fetching operations write the old value into `src` (cmpxchg into r0).
    if fetch && op != AtomicOp::CmpXchg && src == Reg::R10 {
        return Err(DecodeErrorKind::WriteToR10);
    }
    Ok(Instruction::Atomic {
        size,
        op,
        fetch,
        dst: reg(raw.dst)?,
        src,
        off: raw.off,
    })
}

fn decode_alu(raw: RawInsn) -> Result<Instruction, DecodeErrorKind> {
    let width = if raw.class() == class::ALU64 {
        Width::W64
    } else {
        Width::W32
    };
    let code = raw.opcode & 0xf0;
    let is_x = raw.opcode & source::X != 0;
    if code > alu::END {
        return Err(DecodeErrorKind::UnknownOpcode(raw.opcode));
    }
    let dst = writable(reg(raw.dst)?)?;
    let operand = |raw: RawInsn| -> Result<Source, DecodeErrorKind> {
        if is_x {
            must_be_zero(raw.imm.into(), "imm")?;
            Ok(Source::Reg(reg(raw.src)?))
        } else {
            must_be_zero(raw.src.into(), "src")?;
            Ok(Source::Imm(raw.imm))
        }
    };
    let op = match code {
        alu::NEG => {
            if is_x {
                return Err(DecodeErrorKind::UnknownOpcode(raw.opcode));
            }
            must_be_zero(raw.src.into(), "src")?;
            must_be_zero(raw.off.into(), "off")?;
            must_be_zero(raw.imm.into(), "imm")?;
            return Ok(Instruction::Neg { width, dst });
        }
        alu::END => {
            let kind = match (width, is_x) {
                (Width::W32, false) => SwapKind::ToLe,
                (Width::W32, true) => SwapKind::ToBe,
                (Width::W64, false) => SwapKind::Swap,
                (Width::W64, true) => return Err(DecodeErrorKind::UnknownOpcode(raw.opcode)),
            };
            must_be_zero(raw.src.into(), "src")?;
            must_be_zero(raw.off.into(), "off")?;
            let bits = match raw.imm {
                16 => 16,
                32 => 32,
                64 => 64,
                other => return Err(DecodeErrorKind::BadSwapWidth(other)),
            };
            return Ok(Instruction::Swap { kind, bits, dst });
        }
        alu::ADD => AluOp::Add,
        alu::SUB => AluOp::Sub,
        alu::MUL => AluOp::Mul,
        alu::OR => AluOp::Or,
        alu::AND => AluOp::And,
        alu::LSH => AluOp::Lsh,
        alu::RSH => AluOp::Rsh,
        alu::XOR => AluOp::Xor,
        alu::ARSH => AluOp::Arsh,
        alu::DIV | alu::MOD => {
            let signed = match raw.off {
                0 => false,
                1 => true,
                value => {
                    return Err(DecodeErrorKind::ReservedField {
                        field: "off",
                        value: value.into(),
                    })
                }
            };
            let src = operand(raw)?;
            let op = match (code == alu::DIV, signed) {
                (true, false) => AluOp::Div,
                (true, true) => AluOp::SDiv,
                (false, false) => AluOp::Mod,
                (false, true) => AluOp::SMod,
            };
            return Ok(Instruction::Alu {
                width,
                op,
                dst,
                src,
            });
        }
        alu::MOV => {
            let op = match (raw.off, width) {
                (0, _) => AluOp::Mov,
                (1, Width::W64) if is_x => {
                    return Err(DecodeErrorKind::NewerThanRfc("addr_space_cast"))
                }
                (8, _) if is_x => AluOp::MovSx8,
                (16, _) if is_x => AluOp::MovSx16,
                (32, Width::W64) if is_x => AluOp::MovSx32,
                (value, _) => {
                    return Err(DecodeErrorKind::ReservedField {
                        field: "off",
                        value: value.into(),
                    })
                }
            };
            let src = operand(raw)?;
            return Ok(Instruction::Alu {
                width,
                op,
                dst,
                src,
            });
        }
        _ => return Err(DecodeErrorKind::UnknownOpcode(raw.opcode)),
    };
    must_be_zero(raw.off.into(), "off")?;
    let src = operand(raw)?;
    Ok(Instruction::Alu {
        width,
        op,
        dst,
        src,
    })
}

fn decode_jmp(raw: RawInsn) -> Result<Instruction, DecodeErrorKind> {
    let width = if raw.class() == class::JMP {
        Width::W64
    } else {
        Width::W32
    };
    let code = raw.opcode & 0xf0;
    let is_x = raw.opcode & source::X != 0;
    let unknown = Err(DecodeErrorKind::UnknownOpcode(raw.opcode));
    match code {
        jmp::JA => {
            if is_x {
                return unknown;
            }
            must_be_zero(raw.dst.into(), "dst")?;
            must_be_zero(raw.src.into(), "src")?;
            match width {
                Width::W64 => {
                    must_be_zero(raw.imm.into(), "imm")?;
                    Ok(Instruction::Ja {
                        offset: raw.off.into(),
                        long: false,
                    })
                }
                Width::W32 => {
                    must_be_zero(raw.off.into(), "off")?;
                    Ok(Instruction::Ja {
                        offset: raw.imm,
                        long: true,
                    })
                }
            }
        }
        jmp::CALL => {
            if width == Width::W32 {
                return unknown;
            }
            must_be_zero(raw.off.into(), "off")?;
            if is_x {
                must_be_zero(raw.src.into(), "src")?;
                must_be_zero(raw.imm.into(), "imm")?;
                return Ok(Instruction::Call(CallTarget::Register(reg(raw.dst)?)));
            }
            must_be_zero(raw.dst.into(), "dst")?;
            match raw.src {
                call_src::HELPER => Ok(Instruction::Call(CallTarget::Helper(raw.imm))),
                call_src::LOCAL => Ok(Instruction::Call(CallTarget::Local(raw.imm))),
                call_src::KFUNC => Ok(Instruction::Call(CallTarget::Kfunc(raw.imm))),
                other => Err(DecodeErrorKind::ReservedField {
                    field: "src",
                    value: other.into(),
                }),
            }
        }
        jmp::EXIT => {
            if width == Width::W32 || is_x {
                return unknown;
            }
            must_be_zero(raw.dst.into(), "dst")?;
            must_be_zero(raw.src.into(), "src")?;
            must_be_zero(raw.off.into(), "off")?;
            must_be_zero(raw.imm.into(), "imm")?;
            Ok(Instruction::Exit)
        }
        jmp::JCOND if width == Width::W64 => Err(DecodeErrorKind::NewerThanRfc("may_goto")),
        _ => {
            let cond =
                JmpCond::from_code(code).ok_or(DecodeErrorKind::UnknownOpcode(raw.opcode))?;
            let src = if is_x {
                must_be_zero(raw.imm.into(), "imm")?;
                Source::Reg(reg(raw.src)?)
            } else {
                must_be_zero(raw.src.into(), "src")?;
                Source::Imm(raw.imm)
            };
            Ok(Instruction::Jump {
                width,
                cond,
                dst: reg(raw.dst)?,
                src,
                off: raw.off,
            })
        }
    }
}

impl Instruction {
    /// Decodes one instruction on its own: `second` is the slot after
    /// `first`, read only by `lddw`. Jump and call targets are not checked,
    /// since that needs the whole program ([`crate::Program::from_raw`]).
    ///
    /// # Errors
    /// The [`DecodeErrorKind`] a program decode would report for this slot;
    /// [`DecodeErrorKind::LddwTruncated`] for `lddw` without `second`,
    /// [`DecodeErrorKind::BadLddwSecondSlot`] for a malformed one.
    pub fn decode(first: RawInsn, second: Option<RawInsn>) -> Result<Instruction, DecodeErrorKind> {
        match decode_slot(first)? {
            Decoded::One(insn) => Ok(insn),
            Decoded::LddwHead { kind, dst, imm } => {
                let next = second.ok_or(DecodeErrorKind::LddwTruncated)?;
                if next.opcode != 0 || next.dst != 0 || next.src != 0 || next.off != 0 {
                    return Err(DecodeErrorKind::BadLddwSecondSlot);
                }
                Ok(Instruction::LoadImm64 {
                    kind,
                    dst,
                    imm,
                    next_imm: next.imm,
                })
            }
        }
    }
}
