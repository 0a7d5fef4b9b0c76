//! The concrete semantics the scalar domain abstracts: what one instruction
//! does to actual register values.
//!
//! Every function here is a thin dispatch onto [`bpfbox_isa::semantics`]
//! (the interpreter's arithmetic) plus the wrapping operations that need no
//! helper. The scalar domain folds constants through these functions, and
//! the soundness tests use them as the oracle, so the abstract and concrete
//! definitions of an instruction come from one place.

use bpfbox_isa::semantics as sem;
use bpfbox_isa::{AluOp, JmpCond, Size, SwapKind, Width};

/// The result of the ALU instruction `dst op= src` on register values.
///
/// `src` is the register value, or the immediate already sign-extended to 64
/// bits ([`sem::sext_imm`]). A 32-bit operation uses the low halves and
/// zero-extends its result. `MovSx32` sign-extends to 64 bits whatever the
/// width (the decoder only accepts it as a 64-bit instruction, and the
/// interpreter treats it the same way).
pub fn alu(op: AluOp, width: Width, dst: u64, src: u64) -> u64 {
    match width {
        Width::W64 => alu64(op, dst, src),
        Width::W32 => alu32(op, dst, src),
    }
}

fn alu64(op: AluOp, a: u64, b: u64) -> u64 {
    match op {
        AluOp::Add => a.wrapping_add(b),
        AluOp::Sub => a.wrapping_sub(b),
        AluOp::Mul => a.wrapping_mul(b),
        AluOp::Div => sem::div64(a, b),
        AluOp::SDiv => signed_bits(sem::sdiv64(signed(a), signed(b))),
        AluOp::Mod => sem::mod64(a, b),
        AluOp::SMod => signed_bits(sem::smod64(signed(a), signed(b))),
        AluOp::Or => a | b,
        AluOp::And => a & b,
        AluOp::Xor => a ^ b,
        AluOp::Lsh => sem::lsh64(a, b),
        AluOp::Rsh => sem::rsh64(a, b),
        AluOp::Arsh => sem::arsh64(a, b),
        AluOp::Mov => b,
        AluOp::MovSx8 => sem::sext8_to_64(b),
        AluOp::MovSx16 => sem::sext16_to_64(b),
        AluOp::MovSx32 => sem::sext32_to_64(b),
    }
}

fn alu32(op: AluOp, a: u64, b: u64) -> u64 {
    let (x, y) = (sem::low_u32(a), sem::low_u32(b));
    let result = match op {
        AluOp::Add => x.wrapping_add(y),
        AluOp::Sub => x.wrapping_sub(y),
        AluOp::Mul => x.wrapping_mul(y),
        AluOp::Div => sem::div32(x, y),
        AluOp::SDiv => signed32_bits(sem::sdiv32(signed32(x), signed32(y))),
        AluOp::Mod => sem::mod32(x, y),
        AluOp::SMod => signed32_bits(sem::smod32(signed32(x), signed32(y))),
        AluOp::Or => x | y,
        AluOp::And => x & y,
        AluOp::Xor => x ^ y,
        AluOp::Lsh => sem::lsh32(x, b),
        AluOp::Rsh => sem::rsh32(x, b),
        AluOp::Arsh => sem::arsh32(x, b),
        AluOp::Mov => y,
        AluOp::MovSx8 => return sem::sext8_to_32(b),
        AluOp::MovSx16 => return sem::sext16_to_32(b),
        AluOp::MovSx32 => return sem::sext32_to_64(b),
    };
    sem::zext32(result)
}

/// `neg` of a register value: `-x`, wrapping; a 32-bit negation negates the
/// low half and zero-extends.
pub fn neg(width: Width, x: u64) -> u64 {
    match width {
        Width::W64 => x.wrapping_neg(),
        Width::W32 => sem::zext32(sem::low_u32(x).wrapping_neg()),
    }
}

/// A byte-order instruction on a register value (`bits` is 16, 32 or 64).
pub fn swap(kind: SwapKind, bits: u8, x: u64) -> u64 {
    match kind {
        SwapKind::ToLe => sem::to_le(x, bits),
        SwapKind::ToBe => sem::to_be(x, bits),
        SwapKind::Swap => sem::bswap(x, bits),
    }
}

/// The register value after loading `size` bytes whose value, read as an
/// unsigned number, is the low `size` bytes of `raw`: zero-extended, or
/// sign-extended for `ldxs`.
pub fn load(size: Size, signed: bool, raw: u64) -> u64 {
    match (size, signed) {
        (Size::B, false) => raw & 0xff,
        (Size::H, false) => raw & 0xffff,
        (Size::W, false) => sem::zext32(sem::low_u32(raw)),
        (Size::B, true) => sem::sext8_to_64(raw),
        (Size::H, true) => sem::sext16_to_64(raw),
        (Size::W, true) => sem::sext32_to_64(raw),
        (Size::DW, _) => raw,
    }
}

/// Whether a conditional jump is taken for these register values (`src`
/// as for [`alu`]); a 32-bit jump compares the low halves.
pub fn jump(cond: JmpCond, width: Width, dst: u64, src: u64) -> bool {
    let (a, b) = match width {
        Width::W64 => (dst, src),
        Width::W32 => (sem::low_u32(dst).into(), sem::low_u32(src).into()),
    };
    // Signed comparisons: for 32-bit operands, the low halves sign-extended.
    let (sa, sb) = match width {
        Width::W64 => (signed(a), signed(b)),
        Width::W32 => (signed(sem::sext32_to_64(a)), signed(sem::sext32_to_64(b))),
    };
    match cond {
        JmpCond::Eq => a == b,
        JmpCond::Ne => a != b,
        JmpCond::Gt => a > b,
        JmpCond::Ge => a >= b,
        JmpCond::Lt => a < b,
        JmpCond::Le => a <= b,
        JmpCond::Sgt => sa > sb,
        JmpCond::Sge => sa >= sb,
        JmpCond::Slt => sa < sb,
        JmpCond::Sle => sa <= sb,
        JmpCond::Set => a & b != 0,
    }
}

/// Reinterprets 64 bits as two's complement.
const fn signed(x: u64) -> i64 {
    x as i64
}

/// Reinterprets two's complement as 64 bits.
const fn signed_bits(x: i64) -> u64 {
    x as u64
}

/// Reinterprets 32 bits as two's complement.
const fn signed32(x: u32) -> i32 {
    x as i32
}

/// Reinterprets 32-bit two's complement as bits.
const fn signed32_bits(x: i32) -> u32 {
    x as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirty_two_bit_operations_zero_extend() {
        assert_eq!(alu(AluOp::Add, Width::W32, u64::MAX, 1), 0);
        assert_eq!(alu(AluOp::Sub, Width::W32, 0, 1), 0xffff_ffff);
        assert_eq!(alu(AluOp::Mov, Width::W32, 0, u64::MAX), 0xffff_ffff);
        assert_eq!(alu(AluOp::MovSx8, Width::W32, 0, 0x80), 0xffff_ff80);
        assert_eq!(
            alu(AluOp::MovSx32, Width::W32, 0, 0x8000_0000),
            0xffff_ffff_8000_0000
        );
        assert_eq!(
            alu(AluOp::SDiv, Width::W32, 0x8000_0000, u64::MAX),
            0x8000_0000
        );
        assert_eq!(alu(AluOp::Arsh, Width::W32, 0x8000_0000, 35), 0xf000_0000);
        assert_eq!(neg(Width::W32, 1), 0xffff_ffff);
    }

    #[test]
    fn jumps_compare_the_right_halves() {
        assert!(jump(JmpCond::Slt, Width::W32, 0xffff_ffff, 0));
        assert!(!jump(JmpCond::Slt, Width::W64, 0xffff_ffff, 0));
        assert!(jump(JmpCond::Eq, Width::W32, 0x1_0000_0005, 5));
        assert!(jump(JmpCond::Set, Width::W64, 0x1_0000_0000, u64::MAX));
        assert!(!jump(JmpCond::Set, Width::W32, 0x1_0000_0000, u64::MAX));
    }

    #[test]
    fn loads_extend() {
        assert_eq!(load(Size::B, true, 0x1ff), u64::MAX);
        assert_eq!(load(Size::H, false, 0x1_ffff), 0xffff);
        assert_eq!(load(Size::W, true, 0x8000_0000), 0xffff_ffff_8000_0000);
    }
}
