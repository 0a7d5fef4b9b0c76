//! Typed instructions: every instruction of RFC 9669 (CPU v1–v4) plus `callx`,
//! decoded from and encoded to the 64-bit instruction word.
//!
//! [`RawInsn`] is the word split into its fields; [`Instruction`] says what it
//! does. Decoding is strict: a field that must be zero and is not, a register
//! above r10, or an opcode that does not exist is a [`DecodeErrorKind`].

use crate::error::DecodeErrorKind;
use crate::opcode::{alu, atomic, call_src, class, jmp, mode, size, source, LDDW};
use std::fmt;

/// One 64-bit instruction slot, split into its fields (RFC 9669, section 3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct RawInsn {
    /// Operation code.
    pub opcode: u8,
    /// Destination register field (low nibble of byte 1).
    pub dst: u8,
    /// Source register field (high nibble of byte 1).
    pub src: u8,
    /// Signed 16-bit offset.
    pub off: i16,
    /// Signed 32-bit immediate.
    pub imm: i32,
}

impl RawInsn {
    /// Splits eight little-endian bytes into fields.
    pub fn from_bytes(bytes: [u8; 8]) -> Self {
        Self {
            opcode: bytes[0],
            dst: bytes[1] & 0x0f,
            src: bytes[1] >> 4,
            off: i16::from_le_bytes([bytes[2], bytes[3]]),
            imm: i32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]),
        }
    }

    /// Joins the fields into eight little-endian bytes. Register fields are
    /// truncated to their four bits.
    pub fn to_bytes(self) -> [u8; 8] {
        let off = self.off.to_le_bytes();
        let imm = self.imm.to_le_bytes();
        [
            self.opcode,
            (self.dst & 0x0f) | (self.src << 4),
            off[0],
            off[1],
            imm[0],
            imm[1],
            imm[2],
            imm[3],
        ]
    }

    /// The instruction class (low three bits of the opcode).
    pub fn class(self) -> u8 {
        self.opcode & 0x07
    }
}

/// A register, r0 to r10.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reg(u8);

impl Reg {
    /// Return value and scratch.
    pub const R0: Reg = Reg(0);
    /// First argument.
    pub const R1: Reg = Reg(1);
    /// Second argument.
    pub const R2: Reg = Reg(2);
    /// Third argument.
    pub const R3: Reg = Reg(3);
    /// Fourth argument.
    pub const R4: Reg = Reg(4);
    /// Fifth argument.
    pub const R5: Reg = Reg(5);
    /// Callee-saved.
    pub const R6: Reg = Reg(6);
    /// Callee-saved.
    pub const R7: Reg = Reg(7);
    /// Callee-saved.
    pub const R8: Reg = Reg(8);
    /// Callee-saved.
    pub const R9: Reg = Reg(9);
    /// Read-only frame pointer.
    pub const R10: Reg = Reg(10);

    /// The register numbered `n`, if `n <= 10`.
    pub const fn new(n: u8) -> Option<Reg> {
        if n <= 10 {
            Some(Reg(n))
        } else {
            None
        }
    }

    /// The register number, 0..=10.
    pub const fn index(self) -> u8 {
        self.0
    }
}

impl fmt::Display for Reg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "r{}", self.0)
    }
}

/// Operand width of arithmetic and jumps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Width {
    /// 32-bit (ALU, JMP32 classes): operands are the low halves; ALU results are zero-extended.
    W32,
    /// 64-bit (ALU64, JMP classes).
    W64,
}

/// The second operand of arithmetic, jumps and stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// A register.
    Reg(Reg),
    /// The 32-bit immediate (sign-extended where a 64-bit value is needed).
    Imm(i32),
}

/// Binary arithmetic operations (and moves).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AluOp {
    /// `dst += src`
    Add,
    /// `dst -= src`
    Sub,
    /// `dst *= src`
    Mul,
    /// Unsigned division; by zero gives 0.
    Div,
    /// Signed division (offset 1, v4); by zero gives 0; `MIN / -1` is `MIN`.
    SDiv,
    /// `dst |= src`
    Or,
    /// `dst &= src`
    And,
    /// Left shift, count masked to the width.
    Lsh,
    /// Logical right shift, count masked.
    Rsh,
    /// Unsigned modulo; by zero leaves `dst`.
    Mod,
    /// Signed modulo (offset 1, v4); by zero leaves `dst`; sign of the dividend.
    SMod,
    /// `dst ^= src`
    Xor,
    /// `dst = src`
    Mov,
    /// Sign-extending move from the low 8 bits (offset 8, v4).
    MovSx8,
    /// Sign-extending move from the low 16 bits (offset 16, v4).
    MovSx16,
    /// Sign-extending move from the low 32 bits (offset 32, v4, 64-bit only).
    MovSx32,
    /// Arithmetic right shift, count masked.
    Arsh,
}

impl AluOp {
    fn code_and_offset(self) -> (u8, i16) {
        match self {
            AluOp::Add => (alu::ADD, 0),
            AluOp::Sub => (alu::SUB, 0),
            AluOp::Mul => (alu::MUL, 0),
            AluOp::Div => (alu::DIV, 0),
            AluOp::SDiv => (alu::DIV, 1),
            AluOp::Or => (alu::OR, 0),
            AluOp::And => (alu::AND, 0),
            AluOp::Lsh => (alu::LSH, 0),
            AluOp::Rsh => (alu::RSH, 0),
            AluOp::Mod => (alu::MOD, 0),
            AluOp::SMod => (alu::MOD, 1),
            AluOp::Xor => (alu::XOR, 0),
            AluOp::Mov => (alu::MOV, 0),
            AluOp::MovSx8 => (alu::MOV, 8),
            AluOp::MovSx16 => (alu::MOV, 16),
            AluOp::MovSx32 => (alu::MOV, 32),
            AluOp::Arsh => (alu::ARSH, 0),
        }
    }

    /// Whether this is one of the multiply/divide/modulo operations (the
    /// `divmul32`/`divmul64` conformance groups).
    pub fn is_divmul(self) -> bool {
        matches!(
            self,
            AluOp::Mul | AluOp::Div | AluOp::SDiv | AluOp::Mod | AluOp::SMod
        )
    }
}

/// What a byte-swap instruction converts to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SwapKind {
    /// Host to little-endian (`le16/32/64`): truncates to the width.
    ToLe,
    /// Host to big-endian (`be16/32/64`): swaps and truncates.
    ToBe,
    /// Unconditional swap (`bswap16/32/64`, ALU64 class, v4).
    Swap,
}

/// Comparison of a conditional jump.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JmpCond {
    /// `==`
    Eq,
    /// unsigned `>`
    Gt,
    /// unsigned `>=`
    Ge,
    /// `dst & src != 0`
    Set,
    /// `!=`
    Ne,
    /// signed `>`
    Sgt,
    /// signed `>=`
    Sge,
    /// unsigned `<` (v2)
    Lt,
    /// unsigned `<=` (v2)
    Le,
    /// signed `<` (v2)
    Slt,
    /// signed `<=` (v2)
    Sle,
}

impl JmpCond {
    /// Every condition, in opcode order.
    pub const ALL: [JmpCond; 11] = [
        JmpCond::Eq,
        JmpCond::Gt,
        JmpCond::Ge,
        JmpCond::Set,
        JmpCond::Ne,
        JmpCond::Sgt,
        JmpCond::Sge,
        JmpCond::Lt,
        JmpCond::Le,
        JmpCond::Slt,
        JmpCond::Sle,
    ];

    fn code(self) -> u8 {
        match self {
            JmpCond::Eq => jmp::JEQ,
            JmpCond::Gt => jmp::JGT,
            JmpCond::Ge => jmp::JGE,
            JmpCond::Set => jmp::JSET,
            JmpCond::Ne => jmp::JNE,
            JmpCond::Sgt => jmp::JSGT,
            JmpCond::Sge => jmp::JSGE,
            JmpCond::Lt => jmp::JLT,
            JmpCond::Le => jmp::JLE,
            JmpCond::Slt => jmp::JSLT,
            JmpCond::Sle => jmp::JSLE,
        }
    }

    fn from_code(code: u8) -> Option<JmpCond> {
        JmpCond::ALL.into_iter().find(|c| c.code() == code)
    }
}

/// Access size of loads, stores and atomics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Size {
    /// 1 byte.
    B,
    /// 2 bytes.
    H,
    /// 4 bytes.
    W,
    /// 8 bytes.
    DW,
}

impl Size {
    /// Every size, smallest first.
    pub const ALL: [Size; 4] = [Size::B, Size::H, Size::W, Size::DW];

    /// The size in bytes.
    pub const fn bytes(self) -> u32 {
        match self {
            Size::B => 1,
            Size::H => 2,
            Size::W => 4,
            Size::DW => 8,
        }
    }

    fn field(self) -> u8 {
        match self {
            Size::B => size::B,
            Size::H => size::H,
            Size::W => size::W,
            Size::DW => size::DW,
        }
    }

    fn from_field(opcode: u8) -> Size {
        match opcode & 0x18 {
            size::B => Size::B,
            size::H => Size::H,
            size::W => Size::W,
            _ => Size::DW,
        }
    }
}

/// Read-modify-write operation of an atomic instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AtomicOp {
    /// `*p += src`
    Add,
    /// `*p |= src`
    Or,
    /// `*p &= src`
    And,
    /// `*p ^= src`
    Xor,
    /// Exchange: `src = xchg(*p, src)` (always fetches).
    Xchg,
    /// Compare-exchange with r0 as the expected value; r0 gets the old value.
    CmpXchg,
}

impl AtomicOp {
    /// Every operation.
    pub const ALL: [AtomicOp; 6] = [
        AtomicOp::Add,
        AtomicOp::Or,
        AtomicOp::And,
        AtomicOp::Xor,
        AtomicOp::Xchg,
        AtomicOp::CmpXchg,
    ];
}

/// Meaning of a `lddw` (the `src` field of the 64-bit immediate load).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LddwKind {
    /// src 0: `dst = imm64`.
    Imm,
    /// src 1: `dst = map_by_fd(imm)`.
    MapFd,
    /// src 2: `dst = map_val(map_by_fd(imm)) + next_imm`.
    MapValue,
    /// src 3: `dst = var_addr(imm)` (BTF variable).
    VarAddr,
    /// src 4: `dst = code_addr(imm)` (pc-relative subprogram address).
    CodeAddr,
    /// src 5: `dst = map_by_idx(imm)`.
    MapIdx,
    /// src 6: `dst = map_val(map_by_idx(imm)) + next_imm`.
    MapIdxValue,
}

impl LddwKind {
    /// The `src` field value.
    pub fn src(self) -> u8 {
        match self {
            LddwKind::Imm => 0,
            LddwKind::MapFd => 1,
            LddwKind::MapValue => 2,
            LddwKind::VarAddr => 3,
            LddwKind::CodeAddr => 4,
            LddwKind::MapIdx => 5,
            LddwKind::MapIdxValue => 6,
        }
    }

    fn from_src(src: u8) -> Option<LddwKind> {
        Some(match src {
            0 => LddwKind::Imm,
            1 => LddwKind::MapFd,
            2 => LddwKind::MapValue,
            3 => LddwKind::VarAddr,
            4 => LddwKind::CodeAddr,
            5 => LddwKind::MapIdx,
            6 => LddwKind::MapIdxValue,
            _ => return None,
        })
    }
}

/// Addressing of a legacy packet load.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LegacyMode {
    /// `LD_ABS`: offset `imm` into the packet.
    Abs,
    /// `LD_IND`: offset `src + imm` into the packet.
    Ind,
}

/// What a `call` calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallTarget {
    /// Helper by static number (src 0).
    Helper(i32),
    /// Local function at `pc + 1 + offset` (src 1).
    Local(i32),
    /// Kernel function by BTF id (src 2): decoded, never executable in userspace.
    Kfunc(i32),
    /// `callx`: the target is in a register (opcode 0x8d, register in the dst field).
    Register(Reg),
}

/// A decoded instruction. `lddw` stands for both of its slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Instruction {
    /// Binary arithmetic or move.
    Alu {
        /// Operand width.
        width: Width,
        /// Operation.
        op: AluOp,
        /// Destination (and first operand).
        dst: Reg,
        /// Second operand.
        src: Source,
    },
    /// `dst = -dst`.
    Neg {
        /// Operand width.
        width: Width,
        /// Destination and operand.
        dst: Reg,
    },
    /// Byte-order conversion of the low `bits` bits.
    Swap {
        /// Direction.
        kind: SwapKind,
        /// 16, 32 or 64.
        bits: u8,
        /// Destination and operand.
        dst: Reg,
    },
    /// 64-bit immediate load, two slots.
    LoadImm64 {
        /// What the immediate means.
        kind: LddwKind,
        /// Destination.
        dst: Reg,
        /// First slot's immediate (low half for [`LddwKind::Imm`]).
        imm: i32,
        /// Second slot's immediate (high half for [`LddwKind::Imm`]).
        next_imm: i32,
    },
    /// `dst = *(size *)(src + off)`, zero- or sign-extended.
    Load {
        /// Access size.
        size: Size,
        /// Sign-extend (MEMSX mode, v4).
        signed: bool,
        /// Destination.
        dst: Reg,
        /// Base address register.
        src: Reg,
        /// Offset added to the base.
        off: i16,
    },
    /// `*(size *)(dst + off) = src` (`ST` with an immediate, `STX` with a register).
    Store {
        /// Access size.
        size: Size,
        /// Base address register.
        dst: Reg,
        /// Offset added to the base.
        off: i16,
        /// Stored value.
        src: Source,
    },
    /// Atomic read-modify-write on `*(size *)(dst + off)`; size is W or DW.
    Atomic {
        /// Access size: [`Size::W`] or [`Size::DW`].
        size: Size,
        /// Operation.
        op: AtomicOp,
        /// Write the old value back into `src` (always for xchg/cmpxchg).
        fetch: bool,
        /// Base address register.
        dst: Reg,
        /// Operand register.
        src: Reg,
        /// Offset added to the base.
        off: i16,
    },
    /// Legacy packet load into r0 (`LD_ABS`/`LD_IND`).
    LegacyLoad {
        /// Addressing.
        mode: LegacyMode,
        /// Access size (B, H or W).
        size: Size,
        /// Index register for [`LegacyMode::Ind`].
        src: Reg,
        /// Constant offset.
        imm: i32,
    },
    /// Unconditional jump to `pc + 1 + offset`.
    Ja {
        /// Relative target.
        offset: i32,
        /// `gotol`: JMP32 class, offset in `imm` (v4).
        long: bool,
    },
    /// Conditional jump to `pc + 1 + off`.
    Jump {
        /// Comparison width.
        width: Width,
        /// Comparison.
        cond: JmpCond,
        /// First operand.
        dst: Reg,
        /// Second operand.
        src: Source,
        /// Relative target.
        off: i16,
    },
    /// A call.
    Call(CallTarget),
    /// Return r0 to the caller.
    Exit,
}

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

    /// Number of 8-byte slots: 2 for `lddw`, 1 otherwise.
    pub fn slots(&self) -> usize {
        match self {
            Instruction::LoadImm64 { .. } => 2,
            _ => 1,
        }
    }

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

    /// Relative target of a jump (`pc + 1 + offset`), if this is a jump.
    pub fn jump_offset(&self) -> Option<i64> {
        match *self {
            Instruction::Ja { offset, .. } => Some(offset.into()),
            Instruction::Jump { off, .. } => Some(off.into()),
            _ => None,
        }
    }

    /// The lowest CPU version (1–4) that has this instruction.
    pub fn cpu_version(&self) -> u8 {
        match *self {
            Instruction::Alu {
                op: AluOp::SDiv | AluOp::SMod | AluOp::MovSx8 | AluOp::MovSx16 | AluOp::MovSx32,
                ..
            } => 4,
            Instruction::Swap {
                kind: SwapKind::Swap,
                ..
            } => 4,
            Instruction::Load { signed: true, .. } => 4,
            Instruction::Ja { long: true, .. } => 4,
            Instruction::Atomic { .. } => 3,
            Instruction::Jump {
                width: Width::W32, ..
            } => 3,
            Instruction::Jump {
                cond: JmpCond::Lt | JmpCond::Le | JmpCond::Slt | JmpCond::Sle,
                ..
            } => 2,
            _ => 1,
        }
    }

    /// The conformance group this instruction belongs to (RFC 9669, section 2.4,
    /// plus the suite's own `callx` group).
    pub fn group(&self) -> crate::Group {
        use crate::Group;
        match *self {
            Instruction::Alu { width, op, .. } if op.is_divmul() => match width {
                Width::W32 => Group::DivMul32,
                Width::W64 => Group::DivMul64,
            },
            Instruction::Alu {
                width: Width::W64, ..
            }
            | Instruction::Neg {
                width: Width::W64, ..
            }
            | Instruction::Swap {
                kind: SwapKind::Swap,
                ..
            }
            | Instruction::LoadImm64 { .. }
            | Instruction::Load { size: Size::DW, .. }
            | Instruction::Store { size: Size::DW, .. }
            | Instruction::Jump {
                width: Width::W64, ..
            } => Group::Base64,
            Instruction::Atomic { size, .. } => {
                if size == Size::DW {
                    Group::Atomic64
                } else {
                    Group::Atomic32
                }
            }
            Instruction::LegacyLoad { .. } => Group::Packet,
            Instruction::Call(CallTarget::Register(_)) => Group::Callx,
            _ => Group::Base32,
        }
    }
}
