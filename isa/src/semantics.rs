//! The arithmetic of RFC 9669 as small pure functions.
//!
//! These are the single source of truth for operations whose edge cases a
//! naive implementation gets wrong (division by zero, `MIN / -1`, masked
//! shifts, truncating byte swaps). The interpreter calls them, and later the
//! verifier's constant folding and the JIT tests use them as the oracle.

/// Low 32 bits.
#[inline(always)]
pub const fn low_u32(x: u64) -> u32 {
    x as u32
}

/// Zero-extends a 32-bit result into a register.
#[inline(always)]
pub const fn zext32(x: u32) -> u64 {
    x as u64
}

/// Sign-extends a 32-bit immediate to 64 bits, as 64-bit ALU and jump
/// instructions do.
#[inline(always)]
pub const fn sext_imm(imm: i32) -> u64 {
    imm as i64 as u64
}

/// Sign-extends the low 8 bits to 64.
#[inline(always)]
pub const fn sext8_to_64(x: u64) -> u64 {
    x as i8 as i64 as u64
}

/// Sign-extends the low 16 bits to 64.
#[inline(always)]
pub const fn sext16_to_64(x: u64) -> u64 {
    x as i16 as i64 as u64
}

/// Sign-extends the low 32 bits to 64.
#[inline(always)]
pub const fn sext32_to_64(x: u64) -> u64 {
    x as i32 as i64 as u64
}

/// Sign-extends the low 8 bits to 32 (zero-extended into the register).
#[inline(always)]
pub const fn sext8_to_32(x: u64) -> u64 {
    x as i8 as i32 as u32 as u64
}

/// Sign-extends the low 16 bits to 32 (zero-extended into the register).
#[inline(always)]
pub const fn sext16_to_32(x: u64) -> u64 {
    x as i16 as i32 as u32 as u64
}

/// Unsigned 64-bit division; division by zero gives 0.
#[inline(always)]
pub const fn div64(a: u64, b: u64) -> u64 {
    match a.checked_div(b) {
        Some(quotient) => quotient,
        None => 0,
    }
}

/// Unsigned 32-bit division; division by zero gives 0.
#[inline(always)]
pub const fn div32(a: u32, b: u32) -> u32 {
    match a.checked_div(b) {
        Some(quotient) => quotient,
        None => 0,
    }
}

/// Unsigned 64-bit modulo; modulo by zero leaves the dividend.
#[inline(always)]
pub const fn mod64(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        a % b
    }
}

/// Unsigned 32-bit modulo; modulo by zero leaves the dividend (upper half zeroed
/// by the caller's zero extension).
#[inline(always)]
pub const fn mod32(a: u32, b: u32) -> u32 {
    if b == 0 {
        a
    } else {
        a % b
    }
}

/// Signed 64-bit division: by zero gives 0, `i64::MIN / -1` gives `i64::MIN`.
#[inline(always)]
pub const fn sdiv64(a: i64, b: i64) -> i64 {
    if b == 0 {
        0
    } else {
        a.wrapping_div(b)
    }
}

/// Signed 32-bit division: by zero gives 0, `i32::MIN / -1` gives `i32::MIN`.
#[inline(always)]
pub const fn sdiv32(a: i32, b: i32) -> i32 {
    if b == 0 {
        0
    } else {
        a.wrapping_div(b)
    }
}

/// Signed 64-bit modulo: by zero leaves the dividend, `i64::MIN % -1` is 0,
/// the result has the sign of the dividend.
#[inline(always)]
pub const fn smod64(a: i64, b: i64) -> i64 {
    if b == 0 {
        a
    } else {
        a.wrapping_rem(b)
    }
}

/// Signed 32-bit modulo: by zero leaves the dividend, `i32::MIN % -1` is 0.
#[inline(always)]
pub const fn smod32(a: i32, b: i32) -> i32 {
    if b == 0 {
        a
    } else {
        a.wrapping_rem(b)
    }
}

/// 64-bit left shift, count masked to 63.
#[inline(always)]
pub const fn lsh64(a: u64, n: u64) -> u64 {
    a << (n & 63)
}

/// 32-bit left shift, count masked to 31.
#[inline(always)]
pub const fn lsh32(a: u32, n: u64) -> u32 {
    a << (n & 31)
}

/// 64-bit logical right shift, count masked to 63.
#[inline(always)]
pub const fn rsh64(a: u64, n: u64) -> u64 {
    a >> (n & 63)
}

/// 32-bit logical right shift, count masked to 31.
#[inline(always)]
pub const fn rsh32(a: u32, n: u64) -> u32 {
    a >> (n & 31)
}

/// 64-bit arithmetic right shift, count masked to 63.
#[inline(always)]
pub const fn arsh64(a: u64, n: u64) -> u64 {
    ((a as i64) >> (n & 63)) as u64
}

/// 32-bit arithmetic right shift, count masked to 31.
#[inline(always)]
pub const fn arsh32(a: u32, n: u64) -> u32 {
    ((a as i32) >> (n & 31)) as u32
}

/// `le16`/`le32`/`le64`: the low `bits` bits in little-endian order, truncated
/// to the width (a truncation even on a little-endian host).
#[inline(always)]
pub const fn to_le(x: u64, bits: u8) -> u64 {
    match bits {
        16 => u16::from_le(x as u16) as u64,
        32 => u32::from_le(x as u32) as u64,
        _ => u64::from_le(x),
    }
}

/// `be16`/`be32`/`be64`: the low `bits` bits in big-endian order, truncated.
#[inline(always)]
pub const fn to_be(x: u64, bits: u8) -> u64 {
    match bits {
        16 => u16::to_be(x as u16) as u64,
        32 => u32::to_be(x as u32) as u64,
        _ => u64::to_be(x),
    }
}

/// `bswap16`/`bswap32`/`bswap64`: unconditional swap of the low `bits` bits, truncated.
#[inline(always)]
pub const fn bswap(x: u64, bits: u8) -> u64 {
    match bits {
        16 => (x as u16).swap_bytes() as u64,
        32 => (x as u32).swap_bytes() as u64,
        _ => x.swap_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn division_edge_cases() {
        assert_eq!(div64(7, 0), 0);
        assert_eq!(mod64(7, 0), 7);
        assert_eq!(div32(7, 0), 0);
        assert_eq!(mod32(7, 0), 7);
        assert_eq!(sdiv64(i64::MIN, -1), i64::MIN);
        assert_eq!(smod64(i64::MIN, -1), 0);
        assert_eq!(sdiv32(i32::MIN, -1), i32::MIN);
        assert_eq!(smod32(i32::MIN, -1), 0);
        assert_eq!(smod64(-7, 2), -1);
        assert_eq!(smod32(7, -2), 1);
        assert_eq!(sdiv64(-7, 2), -3);
    }

    #[test]
    fn shifts_are_masked() {
        assert_eq!(lsh64(1, 65), 2);
        assert_eq!(lsh32(1, 33), 2);
        assert_eq!(rsh64(4, 66), 1);
        assert_eq!(arsh32(0x8000_0000, 63), 0xffff_ffff);
        assert_eq!(arsh64(1 << 63, 127), u64::MAX);
    }

    #[test]
    fn byte_swaps_truncate() {
        assert_eq!(to_le(0x1122_3344_5566_7788, 16), 0x7788);
        assert_eq!(to_le(0x1122_3344_5566_7788, 32), 0x5566_7788);
        assert_eq!(to_be(0x1122_3344_5566_7788, 16), 0x8877);
        assert_eq!(to_be(0x1122_3344_5566_7788, 32), 0x8877_6655);
        assert_eq!(to_be(0x1122_3344_5566_7788, 64), 0x8877_6655_4433_2211);
        assert_eq!(bswap(0x1122_3344_5566_7788, 16), 0x8877);
        assert_eq!(sext8_to_32(0x80), 0xffff_ff80);
        assert_eq!(sext16_to_64(0x8000), 0xffff_ffff_ffff_8000);
    }
}
