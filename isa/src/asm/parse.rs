//! Parsing one line of the conformance dialect into labels and a statement.
//!
//! Jump and call targets stay unresolved here ([`Target`]); the assembler's
//! second pass turns labels into offsets once every label's pc is known.

use super::spelling::{self, Mnemonic};
use super::AsmErrorKind;
use crate::{AtomicOp, CallTarget, Instruction, JmpCond, LddwKind, LegacyMode, Reg, Source, Width};

/// A jump or call target as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// `+3`, `-4`: relative to the next instruction.
    Relative(i128),
    /// A label name.
    Label(String),
}

/// The instruction a branch becomes once its offset is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Branch {
    /// `ja` / `ja32`.
    Ja {
        /// `ja32` (offset in `imm`).
        long: bool,
    },
    /// A conditional jump.
    Jump {
        /// Comparison width.
        width: Width,
        /// Comparison.
        cond: JmpCond,
        /// First operand.
        dst: Reg,
        /// Second operand.
        src: Source,
    },
    /// `call local`.
    CallLocal,
    /// `lddw %rN, code_addr(TARGET)`.
    CodeAddr {
        /// Destination.
        dst: Reg,
        /// Second slot's immediate.
        next_imm: i32,
    },
}

/// What one line assembles to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Statement {
    /// A complete instruction.
    Complete(Instruction),
    /// An instruction waiting for its target.
    Branch(Branch, Target),
}

/// A parsed line: the labels defined on it, then at most one statement.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Line {
    /// Labels, in order.
    pub labels: Vec<String>,
    /// The instruction, if the line has one.
    pub statement: Option<Statement>,
}

type Result<T> = std::result::Result<T, AsmErrorKind>;

/// The line without its comment (`#`, `;` or `//` to the end of the line).
fn strip_comment(line: &str) -> &str {
    let end = [line.find('#'), line.find(';'), line.find("//")]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(line.len());
    &line[..end]
}

fn is_label_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '.')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

/// Parses one line of assembler text.
pub(crate) fn parse_line(line: &str) -> Result<Line> {
    let mut rest = strip_comment(line).trim();
    let mut parsed = Line::default();
    // Labels come first, each ended by a colon; nothing else uses colons.
    while let Some((label, after)) = rest.split_once(':') {
        let label = label.trim();
        if !is_label_name(label) {
            return Err(AsmErrorKind::InvalidLabel(label.to_string()));
        }
        parsed.labels.push(label.to_string());
        rest = after.trim();
    }
    if !rest.is_empty() {
        parsed.statement = Some(parse_statement(rest)?);
    }
    Ok(parsed)
}

/// Splits at the first run of white space.
fn split_word(text: &str) -> (&str, &str) {
    match text.find(char::is_whitespace) {
        Some(end) => (&text[..end], text[end..].trim_start()),
        None => (text, ""),
    }
}

/// Splits operands at commas that are not inside brackets or parentheses.
fn split_operands(text: &str) -> Vec<&str> {
    if text.trim().is_empty() {
        return Vec::new();
    }
    let mut operands = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (index, c) in text.char_indices() {
        match c {
            '[' | '(' => depth += 1,
            ']' | ')' => depth -= 1,
            ',' if depth <= 0 => {
                operands.push(text[start..index].trim());
                start = index + 1;
            }
            _ => {}
        }
    }
    operands.push(text[start..].trim());
    operands
}

fn expect_count(mnemonic: &str, operands: &[&str], expected: usize) -> Result<()> {
    if operands.len() == expected {
        Ok(())
    } else {
        Err(AsmErrorKind::OperandCount {
            mnemonic: mnemonic.to_string(),
            expected,
            found: operands.len(),
        })
    }
}

fn parse_statement(text: &str) -> Result<Statement> {
    let (word, rest) = split_word(text);
    let mnemonic =
        spelling::lookup(word).ok_or_else(|| AsmErrorKind::UnknownMnemonic(word.to_string()))?;
    match mnemonic {
        Mnemonic::Call => parse_call(rest),
        Mnemonic::Lock => parse_lock(rest),
        Mnemonic::Callx => {
            let operands = split_operands(rest);
            expect_count(word, &operands, 1)?;
            let target = CallTarget::Register(register(operands[0])?);
            Ok(Statement::Complete(Instruction::Call(target)))
        }
        Mnemonic::Lddw => {
            let operands = split_operands(rest);
            expect_count(word, &operands, 2)?;
            parse_lddw(register(operands[0])?, operands[1])
        }
        mnemonic => {
            let operands = split_operands(rest);
            parse_operands(word, mnemonic, &operands)
        }
    }
}

/// Mnemonics whose operands are plain comma-separated values.
fn parse_operands(word: &str, mnemonic: Mnemonic, operands: &[&str]) -> Result<Statement> {
    let count = |expected| expect_count(word, operands, expected);
    let insn = match mnemonic {
        Mnemonic::Alu(width, op) => {
            count(2)?;
            let dst = register(operands[0])?;
            let src = match op {
                // Sign extension only exists with a register source.
                crate::AluOp::MovSx8 | crate::AluOp::MovSx16 | crate::AluOp::MovSx32 => {
                    Source::Reg(register(operands[1])?)
                }
                _ => source(operands[1], width)?,
            };
            Instruction::Alu {
                width,
                op,
                dst,
                src,
            }
        }
        Mnemonic::Neg(width) => {
            count(1)?;
            Instruction::Neg {
                width,
                dst: register(operands[0])?,
            }
        }
        Mnemonic::Swap(kind, bits) => {
            count(1)?;
            Instruction::Swap {
                kind,
                bits,
                dst: register(operands[0])?,
            }
        }
        Mnemonic::Load { size, signed } => {
            count(2)?;
            let dst = register(operands[0])?;
            let (src, off) = memory(operands[1])?;
            Instruction::Load {
                size,
                signed,
                dst,
                src,
                off,
            }
        }
        Mnemonic::StoreImm(size) | Mnemonic::StoreReg(size) => {
            count(2)?;
            let (dst, off) = memory(operands[0])?;
            let src = if matches!(mnemonic, Mnemonic::StoreImm(_)) {
                Source::Imm(imm32(operands[1])?)
            } else {
                Source::Reg(register(operands[1])?)
            };
            Instruction::Store {
                size,
                dst,
                off,
                src,
            }
        }
        Mnemonic::Legacy(mode, size) => {
            let (src, imm) = match mode {
                LegacyMode::Abs => {
                    count(1)?;
                    (Reg::R0, imm32(operands[0])?)
                }
                LegacyMode::Ind => {
                    count(2)?;
                    (register(operands[0])?, imm32(operands[1])?)
                }
            };
            Instruction::LegacyLoad {
                mode,
                size,
                src,
                imm,
            }
        }
        Mnemonic::Ja { long } => {
            count(1)?;
            return Ok(Statement::Branch(Branch::Ja { long }, target(operands[0])?));
        }
        Mnemonic::Jump(width, cond) => {
            count(3)?;
            let branch = Branch::Jump {
                width,
                cond,
                dst: register(operands[0])?,
                src: source(operands[1], width)?,
            };
            return Ok(Statement::Branch(branch, target(operands[2])?));
        }
        Mnemonic::Exit => {
            count(0)?;
            Instruction::Exit
        }
        // Handled by `parse_statement` before operands are split.
        Mnemonic::Call | Mnemonic::Callx | Mnemonic::Lock | Mnemonic::Lddw => {
            return Err(AsmErrorKind::UnknownMnemonic(word.to_string()))
        }
    };
    Ok(Statement::Complete(insn))
}

/// `call N`, `call %rN`, `call helper N`, `call local TARGET`, `call runtime N`.
/// The mode is a word, not a comma-separated operand.
fn parse_call(rest: &str) -> Result<Statement> {
    let words: Vec<&str> = rest.split_whitespace().collect();
    let helper_or_register = |operand: &str| -> Result<Statement> {
        let target = if looks_like_register(operand) {
            CallTarget::Register(register(operand)?)
        } else {
            CallTarget::Helper(imm32(operand)?)
        };
        Ok(Statement::Complete(Instruction::Call(target)))
    };
    match words.as_slice() {
        [operand] => helper_or_register(operand),
        ["helper", operand] => helper_or_register(operand),
        ["local", operand] => Ok(Statement::Branch(Branch::CallLocal, target(operand)?)),
        ["runtime", operand] => Ok(Statement::Complete(Instruction::Call(CallTarget::Kfunc(
            imm32(operand)?,
        )))),
        [mode, _] => Err(AsmErrorKind::ExpectedOperand {
            expected: "`helper`, `local` or `runtime`",
            found: (*mode).to_string(),
        }),
        _ => Err(AsmErrorKind::OperandCount {
            mnemonic: "call".to_string(),
            expected: 1,
            found: words.len(),
        }),
    }
}

/// `lock [fetch] OP[32] [%rD+off], %rS`.
fn parse_lock(rest: &str) -> Result<Statement> {
    let (mut word, mut rest) = split_word(rest);
    let fetch_written = word == "fetch";
    if fetch_written {
        (word, rest) = split_word(rest);
    }
    let (op, size) = spelling::lookup_atomic(word).ok_or_else(|| {
        let fetch = if fetch_written { " fetch" } else { "" };
        AsmErrorKind::UnknownMnemonic(format!("lock{fetch} {word}").trim_end().to_string())
    })?;
    let operands = split_operands(rest);
    expect_count(&format!("lock {word}"), &operands, 2)?;
    let (dst, off) = memory(operands[0])?;
    let src = register(operands[1])?;
    Ok(Statement::Complete(Instruction::Atomic {
        size,
        op,
        // Exchanges always return the old value; `fetch` is implied.
        fetch: fetch_written || matches!(op, AtomicOp::Xchg | AtomicOp::CmpXchg),
        dst,
        src,
        off,
    }))
}

/// What `lddw` accepts besides a plain 64-bit immediate.
const PSEUDO_LDDW: &str = "a 64-bit immediate, map_by_fd(N), map_by_idx(N), \
     map_val(map_by_fd(N)) + M, map_val(map_by_idx(N)) + M, var_addr(N) or code_addr(TARGET)";

/// The operand of `lddw`: a 64-bit value, or a pseudo source written as the
/// kernel's instruction-set document does (`map_by_fd(3)`,
/// `map_val(map_by_fd(3)) + 8`, `code_addr(+4)`), with an optional `+ M`
/// or `- M` for the second slot's immediate.
fn parse_lddw(dst: Reg, operand: &str) -> Result<Statement> {
    if operand.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+') {
        let value = imm64(operand)?;
        return Ok(Statement::Complete(Instruction::LoadImm64 {
            kind: LddwKind::Imm,
            dst,
            imm: value as u32 as i32,
            next_imm: (value >> 32) as u32 as i32,
        }));
    }
    let malformed = || AsmErrorKind::ExpectedOperand {
        expected: PSEUDO_LDDW,
        found: operand.to_string(),
    };
    // Split `CALL + M` at the last closing parenthesis.
    let close = operand.rfind(')').ok_or_else(malformed)?;
    let (call, addend) = operand.split_at(close + 1);
    let next_imm = match addend.trim() {
        "" => 0,
        text => {
            let (negative, magnitude) = if let Some(m) = text.strip_prefix('+') {
                (false, m.trim())
            } else if let Some(m) = text.strip_prefix('-') {
                (true, m.trim())
            } else {
                return Err(malformed());
            };
            if magnitude.starts_with(['+', '-']) {
                return Err(malformed());
            }
            let value = integer(magnitude)?;
            fit_imm32(if negative { -value } else { value }, text)?
        }
    };
    let (function, argument) = function_call(call).ok_or_else(malformed)?;
    let (value_of_map, function, argument) = if function == "map_val" {
        let (inner, argument) = function_call(argument).ok_or_else(malformed)?;
        (true, inner, argument)
    } else {
        (false, function, argument)
    };
    let kind = match (function, value_of_map) {
        ("map_by_fd", false) => LddwKind::MapFd,
        ("map_by_fd", true) => LddwKind::MapValue,
        ("map_by_idx", false) => LddwKind::MapIdx,
        ("map_by_idx", true) => LddwKind::MapIdxValue,
        ("var_addr", false) => LddwKind::VarAddr,
        ("code_addr", false) => {
            return Ok(Statement::Branch(
                Branch::CodeAddr { dst, next_imm },
                target(argument)?,
            ))
        }
        _ => return Err(malformed()),
    };
    Ok(Statement::Complete(Instruction::LoadImm64 {
        kind,
        dst,
        imm: imm32(argument)?,
        next_imm,
    }))
}

/// `name(argument)` → (`name`, `argument`), both trimmed.
fn function_call(text: &str) -> Option<(&str, &str)> {
    let (name, rest) = text.trim().split_once('(')?;
    let argument = rest.strip_suffix(')')?;
    Some((name.trim(), argument.trim()))
}

/// Whether an operand is meant as a register: `%` anything, or `r` and digits.
fn looks_like_register(text: &str) -> bool {
    text.starts_with('%')
        || text
            .strip_prefix('r')
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// `%r0`..`%r10` or `r0`..`r10`.
pub(crate) fn register(text: &str) -> Result<Reg> {
    if !looks_like_register(text) {
        return Err(AsmErrorKind::ExpectedOperand {
            expected: "a register",
            found: text.to_string(),
        });
    }
    let invalid = || AsmErrorKind::InvalidRegister(text.to_string());
    let digits = text
        .strip_prefix('%')
        .unwrap_or(text)
        .strip_prefix('r')
        .ok_or_else(invalid)?;
    // Plain decimal without leading zeros, so `%r01` is not r1, and at most
    // two digits so parsing cannot overflow.
    let plain = match digits.as_bytes() {
        [digit] => digit.is_ascii_digit(),
        [first @ b'1'..=b'9', second] => first.is_ascii_digit() && second.is_ascii_digit(),
        _ => false,
    };
    if !plain {
        return Err(invalid());
    }
    let number: u8 = digits.parse().map_err(|_| invalid())?;
    Reg::new(number).ok_or_else(invalid)
}

/// A register or an immediate operand of an instruction of `width`.
///
/// A 32-bit instruction only ever sees the low 32 bits of its operand, so
/// any 64-bit value is accepted there and reduced modulo 2^32: exactly the
/// operand the operation would see, and what the conformance suite's own
/// assembler does (its `lock_cmpxchg32` test relies on it). A 64-bit
/// instruction sign-extends its 32-bit field, so its immediate must fit.
fn source(text: &str, width: Width) -> Result<Source> {
    if looks_like_register(text) {
        return Ok(Source::Reg(register(text)?));
    }
    match width {
        Width::W64 => Ok(Source::Imm(imm32(text)?)),
        Width::W32 => Ok(Source::Imm(imm64(text)? as u32 as i32)),
    }
}

/// `[%rN]`, `[%rN+off]`, `[%rN-off]` (spaces allowed inside).
fn memory(text: &str) -> Result<(Reg, i16)> {
    let inner = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .ok_or_else(|| AsmErrorKind::ExpectedOperand {
            expected: "a memory operand like [%r1+4]",
            found: text.to_string(),
        })?;
    let (base, offset) = match inner.find(['+', '-']) {
        Some(sign) => (&inner[..sign], Some(&inner[sign..])),
        None => (inner, None),
    };
    let base = register(base.trim())?;
    let Some(offset) = offset else {
        return Ok((base, 0));
    };
    // Keep the sign, drop spaces between it and the digits.
    let (sign, magnitude) = offset.split_at(1);
    let magnitude = magnitude.trim();
    if magnitude.starts_with(['+', '-']) {
        return Err(AsmErrorKind::InvalidNumber(offset.to_string()));
    }
    let value = integer(&format!("{sign}{magnitude}"))?;
    let off = i16::try_from(value).map_err(|_| AsmErrorKind::OffsetOutOfRange {
        offset: offset.to_string(),
    })?;
    Ok((base, off))
}

/// A jump or call target: a signed number or a label.
fn target(text: &str) -> Result<Target> {
    if text.starts_with(['+', '-']) {
        Ok(Target::Relative(integer(text)?))
    } else if is_label_name(text) {
        Ok(Target::Label(text.to_string()))
    } else {
        Err(AsmErrorKind::ExpectedOperand {
            expected: "a signed offset (+N or -N) or a label",
            found: text.to_string(),
        })
    }
}

/// An integer: optional sign, then decimal digits or `0x` and hex digits.
/// Values too large for any field saturate, so the caller's range check
/// reports them.
pub(crate) fn integer(text: &str) -> Result<i128> {
    let invalid = || AsmErrorKind::InvalidNumber(text.to_string());
    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (radix, digits) = match unsigned
        .strip_prefix("0x")
        .or_else(|| unsigned.strip_prefix("0X"))
    {
        Some(hex) => (16, hex),
        None => (10, unsigned),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(invalid());
    }
    // Only overflow can fail now; saturate.
    let magnitude = u64::from_str_radix(digits, radix).map_or(i128::from(u64::MAX) + 1, i128::from);
    Ok(if negative { -magnitude } else { magnitude })
}

/// Checks that a value fits 32 bits, signed or unsigned, and wraps it into
/// the `imm` field (`0xffffffff` is -1).
fn fit_imm32(value: i128, text: &str) -> Result<i32> {
    if (i128::from(i32::MIN)..=i128::from(u32::MAX)).contains(&value) {
        Ok(value as u32 as i32)
    } else {
        Err(AsmErrorKind::ImmediateOutOfRange {
            value: text.to_string(),
            bits: 32,
        })
    }
}

/// A 32-bit immediate (signed or unsigned spelling).
pub(crate) fn imm32(text: &str) -> Result<i32> {
    fit_imm32(integer(text)?, text)
}

/// A 64-bit immediate (signed or unsigned spelling), as its bit pattern.
fn imm64(text: &str) -> Result<u64> {
    let value = integer(text)?;
    if (i128::from(i64::MIN)..=i128::from(u64::MAX)).contains(&value) {
        Ok(value as u64)
    } else {
        Err(AsmErrorKind::ImmediateOutOfRange {
            value: text.to_string(),
            bits: 64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers() {
        assert_eq!(integer("0x10"), Ok(16));
        assert_eq!(integer("-0X10"), Ok(-16));
        assert_eq!(integer("+7"), Ok(7));
        assert_eq!(integer("0xCCBBAA99"), Ok(0xccbb_aa99));
        assert!(integer("0x").is_err());
        assert!(integer("1f").is_err());
        assert!(integer("--1").is_err());
        assert_eq!(
            integer("99999999999999999999999"),
            Ok(i128::from(u64::MAX) + 1)
        );
    }

    #[test]
    fn operands_split_outside_brackets() {
        assert_eq!(split_operands(" [%r1+4] , %r2 "), vec!["[%r1+4]", "%r2"]);
        assert_eq!(
            split_operands("%r1, map_val(map_by_fd(1)) + 2"),
            vec!["%r1", "map_val(map_by_fd(1)) + 2"]
        );
        assert!(split_operands("  ").is_empty());
    }

    #[test]
    fn memory_operands() {
        assert_eq!(memory("[%r1]"), Ok((Reg::R1, 0)));
        assert_eq!(memory("[r10 - 0x8]"), Ok((Reg::R10, -8)));
        assert_eq!(memory("[%r2+32767]"), Ok((Reg::R2, 32767)));
        assert!(memory("[%r2+32768]").is_err());
        assert!(memory("[%r2+-1]").is_err());
    }
}
