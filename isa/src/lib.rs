//! # bpfbox-isa
//!
//! The eBPF instruction set of RFC 9669 (CPU versions v1–v4, plus `callx`):
//! the first stage of bpfbox's pipeline, bytes → [`Program`] → loader →
//! verifier → engine.
//!
//! - [`RawInsn`] splits a 64-bit instruction word into its fields;
//!   [`Instruction`] says what it does. Encoding and decoding are exact
//!   inverses on valid input, and decoding is strict (see [`DecodeErrorKind`]).
//! - [`Program`] is a decoded, structurally checked program: every jump and
//!   local call lands on an instruction of its own sub-program.
//! - [`semantics`] holds the arithmetic of each operation as pure functions,
//!   the one definition every engine uses.
//! - [`asm`] assembles the text dialect of the bpf_conformance suite;
//!   [`disasm`] prints that dialect or LLVM's syntax.
//!
//! ```
//! use bpfbox_isa::{asm, disasm, Program};
//! let program: Program = asm::assemble("mov %r0, 1\nadd %r0, 2\nexit").unwrap();
//! assert_eq!(program.len_slots(), 3);
//! let text = disasm::disassemble(&program, disasm::Syntax::Llvm);
//! assert_eq!(text.lines().next(), Some("r0 = 0x1"));
//! ```
#![deny(missing_docs)]

pub mod asm;
pub mod disasm;
mod error;
mod insn;
pub mod opcode;
mod program;
pub mod semantics;

pub use error::{DecodeError, DecodeErrorKind};
pub use insn::{
    AluOp, AtomicOp, CallTarget, Instruction, JmpCond, LddwKind, LegacyMode, RawInsn, Reg, Size,
    Source, SwapKind, Width,
};
pub use program::{Group, Located, Program, Requirements, MAX_PROGRAM_SLOTS};
