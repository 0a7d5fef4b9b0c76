//! Disassembler: a [`Program`] or one [`Instruction`] as text.
//!
//! Two syntaxes. [`Syntax::Conformance`] is the bpf_conformance dialect that
//! [`crate::asm`] reads, printed so that assembling it gives back the same
//! bytes (jump and call targets as signed offsets, since bytes carry no
//! labels). [`Syntax::Llvm`] is what `llvm-objdump -d --mcpu=v4` (LLVM 19)
//! prints for the same bytes, so bpfbox's output can be compared with the
//! toolchain's; `tests/fixtures` at the repository root pins it down.

mod conformance;
mod llvm;

use crate::{Instruction, Program};

/// Which text syntax to print.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Syntax {
    /// The bpf_conformance assembler dialect (`add32 %r0, 1`), readable by
    /// [`crate::asm::assemble`].
    Conformance,
    /// LLVM's BPF syntax as `llvm-objdump -d --mcpu=v4` prints it
    /// (`w0 += 0x1`): instruction text only, without addresses, raw bytes
    /// or symbolized targets.
    Llvm,
}

/// Prints a program, one instruction per line, each line ending in a
/// newline.
///
/// ```
/// use bpfbox_isa::{asm, disasm::{disassemble, Syntax}};
/// let program = asm::assemble("ldxh %r0, [%r1+2]\nexit").unwrap();
/// assert_eq!(disassemble(&program, Syntax::Llvm), "w0 = *(u16 *)(r1 + 0x2)\nexit\n");
/// assert_eq!(disassemble(&program, Syntax::Conformance), "ldxh %r0, [%r1+2]\nexit\n");
/// ```
pub fn disassemble(program: &Program, syntax: Syntax) -> String {
    let mut text = String::new();
    for located in program.instructions() {
        text.push_str(&format_instruction(&located.insn, located.pc, syntax));
        text.push('\n');
    }
    text
}

/// Prints one instruction, without a newline.
///
/// `pc` is the instruction's slot index. Both syntaxes print jump and call
/// targets relative to the next instruction, as they are encoded, so the
/// text does not depend on it; it is taken so that callers need not change
/// when a syntax with absolute targets is added.
pub fn format_instruction(insn: &Instruction, pc: usize, syntax: Syntax) -> String {
    let _relative_targets_need_no_pc = pc;
    match syntax {
        Syntax::Conformance => conformance::format(insn),
        Syntax::Llvm => llvm::format(insn),
    }
}
