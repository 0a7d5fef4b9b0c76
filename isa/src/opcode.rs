//! Field layout of the 64-bit eBPF instruction word (RFC 9669, section 3).
//!
//! Only constants live here; [`crate::Instruction`] turns them into typed instructions.

/// Instruction classes: the low three bits of the opcode.
pub mod class {
    /// Non-standard load operations (`lddw`, legacy packet loads).
    pub const LD: u8 = 0x00;
    /// Load into register.
    pub const LDX: u8 = 0x01;
    /// Store from immediate.
    pub const ST: u8 = 0x02;
    /// Store from register (and atomics).
    pub const STX: u8 = 0x03;
    /// 32-bit arithmetic.
    pub const ALU: u8 = 0x04;
    /// 64-bit jumps, calls, exit.
    pub const JMP: u8 = 0x05;
    /// 32-bit jumps.
    pub const JMP32: u8 = 0x06;
    /// 64-bit arithmetic.
    pub const ALU64: u8 = 0x07;
}

/// The source bit of arithmetic and jump opcodes.
pub mod source {
    /// Use the 32-bit immediate.
    pub const K: u8 = 0x00;
    /// Use the source register.
    pub const X: u8 = 0x08;
}

/// Operation codes of the ALU classes (high four bits).
pub mod alu {
    #![allow(missing_docs)]
    pub const ADD: u8 = 0x00;
    pub const SUB: u8 = 0x10;
    pub const MUL: u8 = 0x20;
    pub const DIV: u8 = 0x30;
    pub const OR: u8 = 0x40;
    pub const AND: u8 = 0x50;
    pub const LSH: u8 = 0x60;
    pub const RSH: u8 = 0x70;
    pub const NEG: u8 = 0x80;
    pub const MOD: u8 = 0x90;
    pub const XOR: u8 = 0xa0;
    pub const MOV: u8 = 0xb0;
    pub const ARSH: u8 = 0xc0;
    pub const END: u8 = 0xd0;
}

/// Operation codes of the jump classes (high four bits).
pub mod jmp {
    #![allow(missing_docs)]
    pub const JA: u8 = 0x00;
    pub const JEQ: u8 = 0x10;
    pub const JGT: u8 = 0x20;
    pub const JGE: u8 = 0x30;
    pub const JSET: u8 = 0x40;
    pub const JNE: u8 = 0x50;
    pub const JSGT: u8 = 0x60;
    pub const JSGE: u8 = 0x70;
    pub const CALL: u8 = 0x80;
    pub const EXIT: u8 = 0x90;
    pub const JLT: u8 = 0xa0;
    pub const JLE: u8 = 0xb0;
    pub const JSLT: u8 = 0xc0;
    pub const JSLE: u8 = 0xd0;
    /// `may_goto` (newer than RFC 9669).
    pub const JCOND: u8 = 0xe0;
}

/// Size field of load and store opcodes (bits 3-4).
pub mod size {
    #![allow(missing_docs)]
    pub const W: u8 = 0x00;
    pub const H: u8 = 0x08;
    pub const B: u8 = 0x10;
    pub const DW: u8 = 0x18;
}

/// Mode field of load and store opcodes (bits 5-7).
pub mod mode {
    #![allow(missing_docs)]
    pub const IMM: u8 = 0x00;
    pub const ABS: u8 = 0x20;
    pub const IND: u8 = 0x40;
    pub const MEM: u8 = 0x60;
    pub const MEMSX: u8 = 0x80;
    pub const ATOMIC: u8 = 0xc0;
}

/// The `imm` field of atomic instructions.
pub mod atomic {
    #![allow(missing_docs)]
    pub const ADD: i32 = 0x00;
    pub const OR: i32 = 0x40;
    pub const AND: i32 = 0x50;
    pub const XOR: i32 = 0xa0;
    pub const FETCH: i32 = 0x01;
    pub const XCHG: i32 = 0xe0 | FETCH;
    pub const CMPXCHG: i32 = 0xf0 | FETCH;
    /// Load-acquire (newer than RFC 9669).
    pub const LOAD_ACQ: i32 = 0x100;
    /// Store-release (newer than RFC 9669).
    pub const STORE_REL: i32 = 0x110;
}

/// `src` values of `call`.
pub mod call_src {
    /// Helper function by static number.
    pub const HELPER: u8 = 0;
    /// Local (bpf-to-bpf) call, `imm` is relative to the next instruction.
    pub const LOCAL: u8 = 1;
    /// Kernel function by BTF id.
    pub const KFUNC: u8 = 2;
}

/// Opcode of the 64-bit immediate load (`lddw`).
pub const LDDW: u8 = class::LD | mode::IMM | size::DW;
