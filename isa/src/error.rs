//! Decoding errors: what is wrong, and at which instruction.

use thiserror::Error;

/// Why bytes are not a valid program. Carried by [`DecodeError`] with the pc.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The byte length is not a multiple of 8.
    #[error("program length {0} is not a multiple of 8 bytes")]
    OddLength(usize),
    /// No instructions at all.
    #[error("program is empty")]
    Empty,
    /// More instructions than the limit.
    #[error("program has {len} instructions, more than the limit of {limit}")]
    TooLong {
        /// Instruction slots in the input.
        len: usize,
        /// [`crate::MAX_PROGRAM_SLOTS`].
        limit: usize,
    },
    /// No instruction has this opcode.
    #[error("unknown opcode {0:#04x}")]
    UnknownOpcode(u8),
    /// An instruction that LLVM can emit but RFC 9669 does not define.
    #[error("{0} is newer than RFC 9669 and not supported")]
    NewerThanRfc(&'static str),
    /// A field that must be zero for this opcode is not.
    #[error("field {field} must be 0 for this opcode, found {value}")]
    ReservedField {
        /// The field's name.
        field: &'static str,
        /// Its value.
        value: i64,
    },
    /// A register field above 10.
    #[error("invalid register r{0}")]
    BadRegister(u8),
    /// An ALU, load or `lddw` writing the read-only frame pointer.
    #[error("r10 is read-only")]
    WriteToR10,
    /// The `imm` of an atomic instruction names no operation.
    #[error("unknown atomic operation {0:#x}")]
    BadAtomicOp(i32),
    /// The `imm` of a byte swap is not 16, 32 or 64.
    #[error("invalid byte-swap width {0}")]
    BadSwapWidth(i32),
    /// `lddw` with a `src` above 6.
    #[error("invalid lddw source {0}")]
    BadLddwSource(u8),
    /// `lddw` is the last slot.
    #[error("lddw is missing its second slot")]
    LddwTruncated,
    /// The second slot of `lddw` has something other than `imm` set.
    #[error("malformed second slot of lddw")]
    BadLddwSecondSlot,
    /// A jump leaves the program.
    #[error("jump to {target} is outside the program")]
    JumpOutOfProgram {
        /// The target pc.
        target: i64,
    },
    /// A jump lands on the second slot of a `lddw`.
    #[error("jump to {target} lands inside a lddw")]
    JumpIntoLddw {
        /// The target pc.
        target: usize,
    },
    /// A jump leaves the sub-program it is in.
    #[error("jump to {target} crosses into another sub-program")]
    JumpAcrossSubprogram {
        /// The target pc.
        target: usize,
    },
    /// A local call (or code-address `lddw`) does not point at an instruction.
    #[error("call target {target} is not an instruction")]
    BadCallTarget {
        /// The target pc.
        target: i64,
    },
}

/// A decoding error at instruction `pc` (slot index, counting both slots of `lddw`).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("instruction {pc}: {kind}")]
pub struct DecodeError {
    /// Slot index of the offending instruction.
    pub pc: usize,
    /// What is wrong.
    pub kind: DecodeErrorKind,
}
