//! The spelling of every mnemonic of the conformance dialect, listed once.
//!
//! The assembler looks names up in [`table`] and the conformance
//! disassembler prints the first name listed for a meaning, so the two
//! cannot drift apart: whatever is printed is accepted back.

use crate::{AluOp, AtomicOp, JmpCond, LegacyMode, Size, SwapKind, Width};
use std::sync::OnceLock;

/// What a mnemonic (the first word of a line) stands for. The operands
/// complete the instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mnemonic {
    /// `add %r0, 1`, `mov32 %r0, %r1`, `movsx864 %r0, %r1`.
    Alu(Width, AluOp),
    /// `neg %r0`.
    Neg(Width),
    /// `le16 %r0`, `be32 %r0`, `bswap64 %r0`.
    Swap(SwapKind, u8),
    /// `lddw %r0, 0x1122334455667788`.
    Lddw,
    /// `ldxw %r0, [%r1+4]`, `ldxsb %r0, [%r1]`.
    Load {
        /// Access size.
        size: Size,
        /// Sign-extending.
        signed: bool,
    },
    /// `stw [%r1+4], 5`.
    StoreImm(Size),
    /// `stxw [%r1+4], %r2`.
    StoreReg(Size),
    /// `ldabsw 12`, `ldindw %r1, 12`.
    Legacy(LegacyMode, Size),
    /// `ja +3`; `ja32 +3` is the long form (`gotol`).
    Ja {
        /// The JMP32-class form with the offset in `imm`.
        long: bool,
    },
    /// `jeq %r1, 5, +3`, `jsgt32 %r1, %r2, label`.
    Jump(Width, JmpCond),
    /// `call 5`, `call local label`, `call runtime 5`, `call %r2`.
    Call,
    /// `callx %r2`: another spelling of `call %r2`.
    Callx,
    /// `exit`.
    Exit,
    /// `lock [fetch] OP[32] [%r1+0], %r2`: the operation follows.
    Lock,
}

/// The operations of the ALU classes with a plain name; the width suffix
/// `32` selects the 32-bit class.
const ALU_OPS: [(AluOp, &str); 14] = [
    (AluOp::Add, "add"),
    (AluOp::Sub, "sub"),
    (AluOp::Mul, "mul"),
    (AluOp::Div, "div"),
    (AluOp::SDiv, "sdiv"),
    (AluOp::Or, "or"),
    (AluOp::And, "and"),
    (AluOp::Lsh, "lsh"),
    (AluOp::Rsh, "rsh"),
    (AluOp::Mod, "mod"),
    (AluOp::SMod, "smod"),
    (AluOp::Xor, "xor"),
    (AluOp::Mov, "mov"),
    (AluOp::Arsh, "arsh"),
];

/// Sign-extending moves name both widths: source bits, then class width.
const SIGN_EXTENDING_MOVES: [(Width, AluOp, &str); 5] = [
    (Width::W64, AluOp::MovSx8, "movsx864"),
    (Width::W64, AluOp::MovSx16, "movsx1664"),
    (Width::W64, AluOp::MovSx32, "movsx3264"),
    (Width::W32, AluOp::MovSx8, "movsx832"),
    (Width::W32, AluOp::MovSx16, "movsx1632"),
];

/// Byte swaps; the bit count is appended. `swap` is the suite's older
/// spelling of `bswap`, accepted but never printed.
const SWAPS: [(SwapKind, &str); 4] = [
    (SwapKind::ToLe, "le"),
    (SwapKind::ToBe, "be"),
    (SwapKind::Swap, "bswap"),
    (SwapKind::Swap, "swap"),
];

/// Conditional jumps; the width suffix `32` selects the JMP32 class.
pub(crate) const JUMP_CONDS: [(JmpCond, &str); 11] = [
    (JmpCond::Eq, "jeq"),
    (JmpCond::Gt, "jgt"),
    (JmpCond::Ge, "jge"),
    (JmpCond::Set, "jset"),
    (JmpCond::Ne, "jne"),
    (JmpCond::Sgt, "jsgt"),
    (JmpCond::Sge, "jsge"),
    (JmpCond::Lt, "jlt"),
    (JmpCond::Le, "jle"),
    (JmpCond::Slt, "jslt"),
    (JmpCond::Sle, "jsle"),
];

/// Size suffixes of loads and stores.
const SIZES: [(Size, &str); 4] = [
    (Size::B, "b"),
    (Size::H, "h"),
    (Size::W, "w"),
    (Size::DW, "dw"),
];

/// Atomic operations after `lock` (and the optional `fetch`); `32` is
/// appended for the 32-bit access.
pub(crate) const ATOMIC_OPS: [(AtomicOp, &str); 6] = [
    (AtomicOp::Add, "add"),
    (AtomicOp::Or, "or"),
    (AtomicOp::And, "and"),
    (AtomicOp::Xor, "xor"),
    (AtomicOp::Xchg, "xchg"),
    (AtomicOp::CmpXchg, "cmpxchg"),
];

fn width_suffix(width: Width) -> &'static str {
    match width {
        Width::W32 => "32",
        Width::W64 => "",
    }
}

fn build_table() -> Vec<(String, Mnemonic)> {
    let mut table = Vec::new();
    let mut add = |name: String, mnemonic| table.push((name, mnemonic));
    for width in [Width::W64, Width::W32] {
        for (op, name) in ALU_OPS {
            add(
                format!("{name}{}", width_suffix(width)),
                Mnemonic::Alu(width, op),
            );
        }
        add(format!("neg{}", width_suffix(width)), Mnemonic::Neg(width));
        for (cond, name) in JUMP_CONDS {
            add(
                format!("{name}{}", width_suffix(width)),
                Mnemonic::Jump(width, cond),
            );
        }
    }
    for (width, op, name) in SIGN_EXTENDING_MOVES {
        add(name.to_string(), Mnemonic::Alu(width, op));
    }
    for (kind, name) in SWAPS {
        for bits in [16, 32, 64] {
            add(format!("{name}{bits}"), Mnemonic::Swap(kind, bits));
        }
    }
    for (size, suffix) in SIZES {
        add(
            format!("ldx{suffix}"),
            Mnemonic::Load {
                size,
                signed: false,
            },
        );
        if size != Size::DW {
            add(
                format!("ldxs{suffix}"),
                Mnemonic::Load { size, signed: true },
            );
            add(
                format!("ldabs{suffix}"),
                Mnemonic::Legacy(LegacyMode::Abs, size),
            );
            add(
                format!("ldind{suffix}"),
                Mnemonic::Legacy(LegacyMode::Ind, size),
            );
        }
        add(format!("st{suffix}"), Mnemonic::StoreImm(size));
        add(format!("stx{suffix}"), Mnemonic::StoreReg(size));
    }
    add("lddw".into(), Mnemonic::Lddw);
    add("ja".into(), Mnemonic::Ja { long: false });
    add("ja32".into(), Mnemonic::Ja { long: true });
    add("call".into(), Mnemonic::Call);
    add("callx".into(), Mnemonic::Callx);
    add("exit".into(), Mnemonic::Exit);
    add("lock".into(), Mnemonic::Lock);
    table
}

/// Every mnemonic with its meaning. Where two names share a meaning, the
/// first one is the one printed.
pub(crate) fn table() -> &'static [(String, Mnemonic)] {
    static TABLE: OnceLock<Vec<(String, Mnemonic)>> = OnceLock::new();
    TABLE.get_or_init(build_table)
}

/// The meaning of a mnemonic.
pub(crate) fn lookup(name: &str) -> Option<Mnemonic> {
    table()
        .iter()
        .find(|(candidate, _)| candidate == name)
        .map(|&(_, mnemonic)| mnemonic)
}

/// The printed name of a mnemonic.
pub(crate) fn name(mnemonic: Mnemonic) -> &'static str {
    table()
        .iter()
        .find(|(_, candidate)| *candidate == mnemonic)
        .map(|(name, _)| name.as_str())
        // Every valid instruction's meaning is in the table; the round-trip
        // property test (isa/tests/roundtrip.rs) prints and reassembles
        // every form, so only a hand-built invalid one (`le8`) lands here.
        .unwrap_or("<unnamed>")
}

/// The atomic operation named `word` (`add`, `xchg32`, ...), with its size.
pub(crate) fn lookup_atomic(word: &str) -> Option<(AtomicOp, Size)> {
    let (base, size) = match word.strip_suffix("32") {
        Some(base) => (base, Size::W),
        None => (word, Size::DW),
    };
    ATOMIC_OPS
        .iter()
        .find(|(_, name)| *name == base)
        .map(|&(op, _)| (op, size))
}

/// The printed name of an atomic operation of `size` (`add`, `xchg32`).
pub(crate) fn atomic_name(op: AtomicOp, size: Size) -> String {
    let base = ATOMIC_OPS
        .iter()
        .find(|(candidate, _)| *candidate == op)
        .map_or("<unnamed>", |(_, name)| name);
    let suffix = if size == Size::W { "32" } else { "" };
    format!("{base}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_round_trip() {
        for (index, (name, _)) in table().iter().enumerate() {
            assert!(
                !table()[..index].iter().any(|(other, _)| other == name),
                "{name} listed twice"
            );
        }
        for &(_, mnemonic) in table() {
            assert_eq!(lookup(name(mnemonic)), Some(mnemonic));
        }
    }

    #[test]
    fn atomic_names_round_trip() {
        for (op, _) in ATOMIC_OPS {
            for size in [Size::W, Size::DW] {
                assert_eq!(lookup_atomic(&atomic_name(op, size)), Some((op, size)));
            }
        }
    }
}
