//! Assembler for the text dialect of the bpf_conformance suite.
//!
//! Test programs are written in this dialect, so the assembler is where they
//! enter bpfbox's pipeline: text → [`Instruction`]s → [`Program`] (strictly
//! decoded, like bytes from a file). [`crate::disasm`] prints the same
//! dialect back, and `assemble(disassemble(p)) == p` for every program.
//!
//! # The dialect
//! One instruction per line. `#`, `;` and `//` start a comment. A line may
//! begin with labels (`loop:`), each naming the pc of the next instruction.
//!
//! | Form | Example |
//! |------|---------|
//! | registers | `%r0`..`%r10`, or `r0`..`r10` |
//! | 64-bit ALU, `32` suffix for 32-bit | `add %r0, 1`, `mov32 %r0, %r1`, `neg %r0` |
//! | signed divide and modulo (v4) | `sdiv %r0, %r1`, `smod32 %r0, 3` |
//! | sign-extending moves (v4) | `movsx864`, `movsx1664`, `movsx3264`, `movsx832`, `movsx1632` |
//! | byte swaps | `le16 %r0`, `be32 %r0`, `bswap64 %r0` (`swap64` also accepted) |
//! | 64-bit immediate | `lddw %r0, 0x1122334455667788`, `lddw %r0, -1` |
//! | pseudo `lddw` sources | `map_by_fd(N)`, `map_val(map_by_fd(N)) + M`, `map_by_idx(N)`, `map_val(map_by_idx(N)) + M`, `var_addr(N)`, `code_addr(+N)` or `code_addr(label)` |
//! | loads | `ldxw %r0, [%r1+4]`, `ldxsb %r0, [%r1]` (sign-extending, v4) |
//! | stores | `stw [%r10-8], 5`, `stxdw [%r10-8], %r1` |
//! | legacy packet loads | `ldabsw 12`, `ldindh %r1, 12` |
//! | jumps | `ja +2`, `ja32 -1` (`gotol`), `jeq %r1, 5, +3`, `jsgt32 %r1, %r2, label` |
//! | calls | `call 5` (helper), `call local label`, `call local -3`, `call runtime 5` (kfunc), `call %r2` (callx), `exit` |
//! | atomics | `lock add [%r1+0], %r2`, `lock fetch or32 [%r1], %r2`, `lock xchg [%r1], %r2`, `lock cmpxchg32 [%r1], %r2` |
//!
//! Immediates are decimal or `0x` hex, optionally negative, and must fit 32
//! bits read as signed or as unsigned (`0xffffffff` is -1); `lddw` takes 64.
//! The operand of a 32-bit ALU or jump instruction may be any 64-bit value:
//! the operation sees only its low 32 bits, so that is what is encoded (as
//! the conformance suite's assembler does).
//! A numeric jump offset carries an explicit sign (`+0`); any other target
//! is a label. As in the suite's own assembler, the label `exit` names the
//! first `exit` instruction unless the text defines it.

mod parse;
pub(crate) mod spelling;

use crate::{CallTarget, DecodeErrorKind, Instruction, LddwKind, Program};
use parse::{Branch, Statement, Target};
use std::collections::HashMap;
use thiserror::Error;

/// What is wrong with a line of assembler text. Carried by [`AsmError`]
/// with the line number.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AsmErrorKind {
    /// The first word of the line names no instruction.
    #[error("unknown mnemonic `{0}`")]
    UnknownMnemonic(String),
    /// The instruction has too many or too few operands.
    #[error("`{mnemonic}` takes {expected} operand(s), found {found}")]
    OperandCount {
        /// The mnemonic as written.
        mnemonic: String,
        /// How many it takes.
        expected: usize,
        /// How many the line has.
        found: usize,
    },
    /// An operand of the wrong kind (an immediate where a register belongs,
    /// a bare number as a jump target, ...).
    #[error("expected {expected}, found `{found}`")]
    ExpectedOperand {
        /// What the position takes.
        expected: &'static str,
        /// The operand as written.
        found: String,
    },
    /// A register other than r0..r10 (`%r11`, `%rx`).
    #[error("invalid register `{0}`")]
    InvalidRegister(String),
    /// A malformed number.
    #[error("invalid number `{0}`")]
    InvalidNumber(String),
    /// An immediate too large for its field.
    #[error("immediate `{value}` does not fit {bits} bits")]
    ImmediateOutOfRange {
        /// The immediate as written.
        value: String,
        /// The field's width: 32, or 64 for `lddw`.
        bits: u8,
    },
    /// A memory offset outside -32768..=32767.
    #[error("memory offset `{offset}` does not fit 16 bits")]
    OffsetOutOfRange {
        /// The offset as written, with its sign.
        offset: String,
    },
    /// A jump or call whose relative offset does not fit its field: 16 bits
    /// for `ja` and conditional jumps, 32 for `ja32`, `call local` and
    /// `code_addr`.
    #[error("relative offset {offset} does not fit {bits} bits")]
    JumpOutOfRange {
        /// The offset, relative to the next instruction.
        offset: i128,
        /// The field's width.
        bits: u8,
    },
    /// A jump or call to a label that is not defined.
    #[error("unknown label `{0}`")]
    UnknownLabel(String),
    /// A label defined a second time.
    #[error("label `{label}` is already defined on line {first_line}")]
    DuplicateLabel {
        /// The label.
        label: String,
        /// Where it was first defined.
        first_line: usize,
    },
    /// A label that is not a name (`[A-Za-z_.][A-Za-z0-9_.]*`).
    #[error("invalid label `{0}`")]
    InvalidLabel(String),
    /// The line assembles, but the instruction is not valid eBPF (r10 as a
    /// destination, a jump out of the program, ...): the decoder's verdict.
    #[error("{0}")]
    Invalid(DecodeErrorKind),
}

/// An assembler error: what is wrong, and on which line.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("line {line}: {kind}")]
pub struct AsmError {
    /// 1-based line number. An error about the program as a whole (it is
    /// empty or too long) is reported on the last line.
    pub line: usize,
    /// What is wrong.
    pub kind: AsmErrorKind,
}

/// An instruction and the line it came from.
struct Assembled {
    insn: Instruction,
    line: usize,
}

/// Assembles text into a strictly decoded program.
///
/// ```
/// use bpfbox_isa::asm::assemble;
/// let program = assemble("mov %r0, 1\njne %r1, 0, done\nmov %r0, 2\ndone:\nexit").unwrap();
/// assert_eq!(program.instructions().len(), 4);
/// ```
///
/// # Errors
/// An [`AsmError`] for the first bad line: an unknown mnemonic, a wrong
/// operand, an out-of-range immediate or offset, an unknown or duplicate
/// label, or an instruction the decoder rejects ([`AsmErrorKind::Invalid`]:
/// r10 as a destination, a jump leaving the program, an empty program, ...).
pub fn assemble(text: &str) -> Result<Program, AsmError> {
    let assembled = assemble_lines(text)?;
    let instructions: Vec<Instruction> = assembled.iter().map(|a| a.insn).collect();
    Program::from_instructions(&instructions).map_err(|error| {
        // Find the instruction occupying the failing slot.
        let mut pc = 0;
        let mut line = text.lines().count().max(1);
        for a in &assembled {
            if error.pc < pc + a.insn.slots() {
                line = a.line;
                break;
            }
            pc += a.insn.slots();
        }
        AsmError {
            line,
            kind: AsmErrorKind::Invalid(error.kind),
        }
    })
}

/// Assembles text into instructions, resolving labels, without the
/// decoder's checks (so `mov %r10, 1` or a jump past the end is accepted
/// here and rejected by [`assemble`]).
///
/// # Errors
/// As [`assemble`], except [`AsmErrorKind::Invalid`].
pub fn assemble_instructions(text: &str) -> Result<Vec<Instruction>, AsmError> {
    Ok(assemble_lines(text)?.into_iter().map(|a| a.insn).collect())
}

/// A parsed statement waiting for label resolution.
struct Pending {
    line: usize,
    pc: usize,
    statement: Statement,
}

fn statement_slots(statement: &Statement) -> usize {
    match statement {
        Statement::Complete(insn) => insn.slots(),
        Statement::Branch(Branch::CodeAddr { .. }, _) => 2,
        Statement::Branch(..) => 1,
    }
}

/// Both passes: parse every line and record label pcs, then resolve targets.
fn assemble_lines(text: &str) -> Result<Vec<Assembled>, AsmError> {
    let mut labels: HashMap<String, (usize, usize)> = HashMap::new();
    let mut first_exit = None;
    let mut pending = Vec::new();
    let mut pc = 0;
    for (index, text) in text.lines().enumerate() {
        let line = index + 1;
        let at_line = |kind| AsmError { line, kind };
        let parsed = parse::parse_line(text).map_err(at_line)?;
        for label in parsed.labels {
            if let Some(&(_, first_line)) = labels.get(&label) {
                return Err(at_line(AsmErrorKind::DuplicateLabel { label, first_line }));
            }
            labels.insert(label, (pc, line));
        }
        if let Some(statement) = parsed.statement {
            if statement == Statement::Complete(Instruction::Exit) && first_exit.is_none() {
                first_exit = Some(pc);
            }
            let slots = statement_slots(&statement);
            pending.push(Pending {
                line,
                pc,
                statement,
            });
            pc += slots;
        }
    }
    pending
        .into_iter()
        .map(|p| {
            let insn = match p.statement {
                Statement::Complete(insn) => insn,
                Statement::Branch(branch, target) => {
                    let offset = match target {
                        Target::Relative(offset) => offset,
                        Target::Label(name) => {
                            let found = labels.get(&name).map(|&(pc, _)| pc);
                            let found = found.or(if name == "exit" { first_exit } else { None });
                            let target_pc = found.ok_or(AsmError {
                                line: p.line,
                                kind: AsmErrorKind::UnknownLabel(name),
                            })?;
                            target_pc as i128 - (p.pc as i128 + 1)
                        }
                    };
                    resolve(branch, offset).map_err(|kind| AsmError { line: p.line, kind })?
                }
            };
            Ok(Assembled { insn, line: p.line })
        })
        .collect()
}

/// Builds a branch once its offset (relative to the next slot) is known.
fn resolve(branch: Branch, offset: i128) -> Result<Instruction, AsmErrorKind> {
    let short =
        || i16::try_from(offset).map_err(|_| AsmErrorKind::JumpOutOfRange { offset, bits: 16 });
    let long =
        || i32::try_from(offset).map_err(|_| AsmErrorKind::JumpOutOfRange { offset, bits: 32 });
    Ok(match branch {
        Branch::Ja { long: false } => Instruction::Ja {
            offset: short()?.into(),
            long: false,
        },
        Branch::Ja { long: true } => Instruction::Ja {
            offset: long()?,
            long: true,
        },
        Branch::Jump {
            width,
            cond,
            dst,
            src,
        } => Instruction::Jump {
            width,
            cond,
            dst,
            src,
            off: short()?,
        },
        Branch::CallLocal => Instruction::Call(CallTarget::Local(long()?)),
        Branch::CodeAddr { dst, next_imm } => Instruction::LoadImm64 {
            kind: LddwKind::CodeAddr,
            dst,
            imm: long()?,
            next_imm,
        },
    })
}
