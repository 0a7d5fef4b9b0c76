//! Typed instructions: every instruction of RFC 9669 (CPU v1–v4) plus `callx`,
//! decoded from and encoded to the 64-bit instruction word.
//!
//! [`RawInsn`] is the word split into its fields; [`Instruction`] says what it
//! does. Decoding is strict: a field that must be zero and is not, a register
//! above r10, or an opcode that does not exist is a [`DecodeErrorKind`].

use crate::error::DecodeErrorKind;
use crate::opcode::{alu, jmp, size};
use std::fmt;

mod decode;
mod encode;

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

impl Instruction {
    /// Number of 8-byte slots: 2 for `lddw`, 1 otherwise.
    pub fn slots(&self) -> usize {
        match self {
            Instruction::LoadImm64 { .. } => 2,
            _ => 1,
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
