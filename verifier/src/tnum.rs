//! Tristate numbers: what is known about the individual bits of a value.
//!
//! A [`Tnum`] is a pair `(value, mask)` of 64-bit words. A bit set in `mask`
//! is *unknown* (it may be 0 or 1); every other bit is *known* and equal to
//! the corresponding bit of `value`. So `(0b100, 0b011)` stands for the four
//! values `0b100..=0b111`, written `1xx`, and `(0, u64::MAX)` for every value.
//! The invariant `value & mask == 0` keeps the representation unique;
//! [`Tnum::new`] enforces it.
//!
//! Tnums are the Linux verifier's bit-level abstract domain (its
//! `var_off`). They are good at what intervals are bad at: after `x & 0xf0`,
//! an interval can only say `0..=0xf0`, while the tnum knows that the low four
//! bits are zero, which is what an alignment check needs. Intervals are good
//! where tnums are bad (a tnum cannot say "less than 10" exactly), so the
//! [`Scalar`](crate::Scalar) domain keeps both and lets each sharpen the other.
//!
//! Every operation here is *sound*: if `x ∈ a` and `y ∈ b` then
//! `x op y ∈ a.op(b)`. Addition, subtraction and the bitwise operations are
//! also optimal (the smallest tnum containing every result), as proven by
//! Vishwanathan et al., "Sound, Precise, and Fast Abstract Interpretation
//! with Tristate Numbers" (CGO 2022). Multiplication uses that paper's O(n)
//! algorithm, which is sound but not always optimal.

use std::fmt;

/// A tristate number: each of the 64 bits is known 0, known 1, or unknown.
///
/// Bits set in [`mask`](Tnum::mask) are unknown; the others equal the bits of
/// [`value`](Tnum::value). The set of values it stands for ("contains") is
/// `{ x : x & !mask == value }`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tnum {
    value: u64,
    mask: u64,
}

impl Tnum {
    /// Every bit unknown: contains every value.
    pub const UNKNOWN: Tnum = Tnum {
        value: 0,
        mask: u64::MAX,
    };

    /// The constant 0.
    pub const ZERO: Tnum = Tnum::constant(0);

    /// The tnum with known bits `value & !mask` and unknown bits `mask`.
    ///
    /// Bits of `value` under `mask` are ignored, so the result always keeps
    /// the invariant `value & mask == 0`.
    pub const fn new(value: u64, mask: u64) -> Tnum {
        Tnum {
            value: value & !mask,
            mask,
        }
    }

    /// The tnum that contains exactly `value`.
    pub const fn constant(value: u64) -> Tnum {
        Tnum { value, mask: 0 }
    }

    /// The known bits (zero where the bit is unknown).
    pub const fn value(self) -> u64 {
        self.value
    }

    /// The unknown bits.
    pub const fn mask(self) -> u64 {
        self.mask
    }

    /// Whether `x` is one of the values this tnum stands for.
    pub const fn contains(self, x: u64) -> bool {
        x & !self.mask == self.value
    }

    /// Whether every bit is known (the tnum contains exactly one value).
    pub const fn is_const(self) -> bool {
        self.mask == 0
    }

    /// The single value, if every bit is known.
    pub const fn as_const(self) -> Option<u64> {
        if self.is_const() {
            Some(self.value)
        } else {
            None
        }
    }

    /// Whether every bit is unknown.
    pub const fn is_unknown(self) -> bool {
        self.mask == u64::MAX
    }

    /// The smallest value contained (unknown bits 0).
    pub const fn min(self) -> u64 {
        self.value
    }

    /// The largest value contained (unknown bits 1).
    pub const fn max(self) -> u64 {
        self.value | self.mask
    }

    /// Whether every value of `self` is also in `other`.
    pub const fn is_subset_of(self, other: Tnum) -> bool {
        self.mask & !other.mask == 0 && (self.value ^ other.value) & !other.mask == 0
    }

    /// The smallest tnum containing every value of `min..=max`.
    ///
    /// The bits above the highest bit where `min` and `max` differ are
    /// common to the whole range and known; that bit and all below it are
    /// unknown. `from_range(4, 7)` is `1xx`; `from_range(3, 4)` is `xxx`.
    ///
    /// # Panics
    ///
    /// Panics if `min > max`.
    pub fn from_range(min: u64, max: u64) -> Tnum {
        assert!(min <= max, "Tnum::from_range: {min} > {max}");
        let differing = min ^ max;
        if differing == 0 {
            return Tnum::constant(min);
        }
        let unknown = low_bits(bit_length(differing));
        Tnum::new(min, unknown)
    }

    /// Sum (wrapping). Optimal: unknown bits are the ones that could differ
    /// between the sum with every unknown bit 0 and with every unknown bit 1,
    /// plus the unknown inputs.
    pub const fn add(self, other: Tnum) -> Tnum {
        let mask_sum = self.mask.wrapping_add(other.mask);
        let value_sum = self.value.wrapping_add(other.value);
        let carries_differ = mask_sum.wrapping_add(value_sum) ^ value_sum;
        let unknown = carries_differ | self.mask | other.mask;
        Tnum::new(value_sum, unknown)
    }

    /// Difference (wrapping). Optimal, by the same argument as [`add`](Tnum::add)
    /// with borrows in place of carries.
    pub const fn sub(self, other: Tnum) -> Tnum {
        let value_diff = self.value.wrapping_sub(other.value);
        let largest = value_diff.wrapping_add(self.mask);
        let smallest = value_diff.wrapping_sub(other.mask);
        let unknown = (largest ^ smallest) | self.mask | other.mask;
        Tnum::new(value_diff, unknown)
    }

    /// Two's-complement negation, `0 - self`.
    pub const fn neg(self) -> Tnum {
        Tnum::ZERO.sub(self)
    }

    /// Product (wrapping), with the O(n) long-multiplication algorithm of
    /// Vishwanathan et al. (CGO 2022), the one Linux adopted in 5.13.
    ///
    /// The product of the known parts is exact; what remains is a sum of
    /// partial products that carry uncertainty. Walking the bits of `self`
    /// from the lowest: a known 1 contributes `other`'s unknown bits, an
    /// unknown bit contributes every possibly-set bit of `other`, each shifted
    /// into place, and these contributions are accumulated as a mask-only
    /// tnum with tnum addition. The result is sound but not always optimal:
    /// `11 * x1` gives `xxx1` where `{3, 9}` would allow `x0x1`.
    pub const fn mul(self, other: Tnum) -> Tnum {
        let known_product = self.value.wrapping_mul(other.value);
        let mut uncertainty = Tnum::ZERO;
        let mut multiplier = self;
        let mut multiplicand = other;
        while multiplier.value != 0 || multiplier.mask != 0 {
            if multiplier.value & 1 != 0 {
                uncertainty = uncertainty.add(Tnum::new(0, multiplicand.mask));
            } else if multiplier.mask & 1 != 0 {
                uncertainty = uncertainty.add(Tnum::new(0, multiplicand.value | multiplicand.mask));
            }
            multiplier = multiplier.rsh(1);
            multiplicand = multiplicand.lsh(1);
        }
        Tnum::constant(known_product).add(uncertainty)
    }

    /// Bitwise and. Optimal.
    pub const fn and(self, other: Tnum) -> Tnum {
        let value = self.value & other.value;
        let maybe_one = self.max() & other.max();
        Tnum::new(value, maybe_one & !value)
    }

    /// Bitwise or. Optimal.
    pub const fn or(self, other: Tnum) -> Tnum {
        let value = self.value | other.value;
        Tnum::new(value, (self.mask | other.mask) & !value)
    }

    /// Bitwise exclusive or. Optimal.
    pub const fn xor(self, other: Tnum) -> Tnum {
        let unknown = self.mask | other.mask;
        Tnum::new(self.value ^ other.value, unknown)
    }

    /// Left shift by `shift & 63` (exact).
    pub const fn lsh(self, shift: u32) -> Tnum {
        let shift = shift & 63;
        Tnum::new(self.value << shift, self.mask << shift)
    }

    /// Logical right shift by `shift & 63` (exact).
    pub const fn rsh(self, shift: u32) -> Tnum {
        let shift = shift & 63;
        Tnum::new(self.value >> shift, self.mask >> shift)
    }

    /// Arithmetic right shift of the 64-bit value by `shift & 63`: the sign
    /// bit (known or unknown) is copied into the vacated bits (exact).
    pub const fn arsh(self, shift: u32) -> Tnum {
        let shift = shift & 63;
        Tnum::new(
            as_unsigned(as_signed(self.value) >> shift),
            as_unsigned(as_signed(self.mask) >> shift),
        )
    }

    /// The values that are in both `self` and `other`, or `None` if a bit is
    /// known in both and differs (no value is in both).
    pub const fn intersect(self, other: Tnum) -> Option<Tnum> {
        if (self.value ^ other.value) & !self.mask & !other.mask != 0 {
            return None;
        }
        Some(Tnum::new(self.value | other.value, self.mask & other.mask))
    }

    /// The smallest tnum containing every value of `self` and of `other`
    /// (the join): a bit stays known only where both know it and agree.
    pub const fn union(self, other: Tnum) -> Tnum {
        let unknown = (self.value ^ other.value) | self.mask | other.mask;
        Tnum::new(self.value & other.value, unknown)
    }

    /// Keeps the low `bits` bits and makes the others known zero (the
    /// truncation a narrower operation performs). `bits >= 64` keeps all.
    pub const fn truncate(self, bits: u32) -> Tnum {
        let keep = low_bits(bits);
        Tnum::new(self.value & keep, self.mask & keep)
    }

    /// Keeps the low `bytes` bytes (Linux's `tnum_cast`); `bytes >= 8` keeps all.
    pub const fn cast(self, bytes: u32) -> Tnum {
        self.truncate(bytes.saturating_mul(8))
    }

    /// The low 32 bits, with the upper 32 known zero (the value a 32-bit
    /// subregister holds after zero extension).
    pub const fn subreg(self) -> Tnum {
        self.truncate(32)
    }

    /// `self` with the low 32 bits replaced by the low 32 bits of `low`.
    pub const fn with_subreg(self, low: Tnum) -> Tnum {
        let high = !low_bits(32);
        let low = low.subreg();
        Tnum::new(
            (self.value & high) | low.value,
            (self.mask & high) | low.mask,
        )
    }

    /// Sign-extends the low `bits` bits (1 to 64) to 64: the bits above
    /// become copies of bit `bits - 1`, known if it is known.
    pub const fn sign_extend(self, bits: u32) -> Tnum {
        if bits == 0 || bits >= 64 {
            return self;
        }
        let up = 64 - bits;
        Tnum::new(
            as_unsigned(as_signed(self.value << up) >> up),
            as_unsigned(as_signed(self.mask << up) >> up),
        )
    }

    /// Sign-extends the low 8 bits to 64.
    pub const fn sext8(self) -> Tnum {
        self.sign_extend(8)
    }

    /// Sign-extends the low 16 bits to 64.
    pub const fn sext16(self) -> Tnum {
        self.sign_extend(16)
    }

    /// Sign-extends the low 32 bits to 64.
    pub const fn sext32(self) -> Tnum {
        self.sign_extend(32)
    }

    /// The smallest contained value that is `>= x`, or `None` if every
    /// contained value is below `x`.
    ///
    /// The result keeps the bits of `x` above some position `p`, has a 1 at
    /// `p` where `x` has a 0 (unless `x` itself is contained), and the least
    /// contained bits below. `p` is the highest known bit that `x` gets wrong
    /// if `x` has a 0 there, else the lowest unknown 0-bit of `x` above it.
    pub const fn next_ge(self, x: u64) -> Option<u64> {
        let wrong = (x ^ self.value) & !self.mask;
        if wrong == 0 {
            return Some(x);
        }
        let top_wrong = 63 - wrong.leading_zeros();
        let bump = if x & (1 << top_wrong) == 0 {
            top_wrong
        } else {
            let free = self.mask & !x & !low_bits(top_wrong + 1);
            if free == 0 {
                return None;
            }
            free.trailing_zeros()
        };
        let kept = x & !low_bits(bump + 1);
        Some(kept | (1 << bump) | (self.value & low_bits(bump)))
    }

    /// The largest contained value that is `<= x`, or `None` if every
    /// contained value is above `x`. (The mirror of [`next_ge`](Tnum::next_ge)
    /// under bitwise complement.)
    pub const fn prev_le(self, x: u64) -> Option<u64> {
        let complement = Tnum::new(!self.value, self.mask);
        match complement.next_ge(!x) {
            Some(y) => Some(!y),
            None => None,
        }
    }

    /// Applies `permute`, a function that only moves, drops or zero-fills
    /// bits (a byte swap, a truncation), to both words. For such a function
    /// the result is exact.
    pub(crate) fn permute_bits(self, permute: impl Fn(u64) -> u64) -> Tnum {
        Tnum::new(permute(self.value), permute(self.mask))
    }
}

impl Default for Tnum {
    /// [`Tnum::UNKNOWN`].
    fn default() -> Tnum {
        Tnum::UNKNOWN
    }
}

impl fmt::Debug for Tnum {
    /// `(value; mask)` in hex, as Linux's verifier log prints `var_off`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({:#x}; {:#x})", self.value, self.mask)
    }
}

impl fmt::Display for Tnum {
    /// `(value; mask)` in hex, as Linux's verifier log prints `var_off`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A word with the low `bits` bits set (`bits >= 64`: all).
pub(crate) const fn low_bits(bits: u32) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1 << bits) - 1
    }
}

/// Number of bits needed to write `x` (0 for 0).
const fn bit_length(x: u64) -> u32 {
    64 - x.leading_zeros()
}

/// Reinterprets the bits as two's complement.
const fn as_signed(x: u64) -> i64 {
    x as i64
}

/// Reinterprets two's complement as bits.
const fn as_unsigned(x: i64) -> u64 {
    x as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every value of a tnum whose unknown bits are among the low `bits`.
    fn members(t: Tnum) -> Vec<u64> {
        let mut out = Vec::new();
        let mut sub = t.mask;
        // Enumerate the subsets of the mask.
        loop {
            out.push(t.value | sub);
            if sub == 0 {
                break;
            }
            sub = (sub - 1) & t.mask;
        }
        out
    }

    /// Every well-formed tnum over the low `bits` bits.
    fn all_tnums(bits: u32) -> Vec<Tnum> {
        let mut out = Vec::new();
        for mask in 0..1u64 << bits {
            for value in 0..1u64 << bits {
                if value & mask == 0 {
                    out.push(Tnum::new(value, mask));
                }
            }
        }
        out
    }

    #[test]
    fn from_range_examples() {
        assert_eq!(Tnum::from_range(4, 7), Tnum::new(4, 3));
        assert_eq!(Tnum::from_range(3, 4), Tnum::new(0, 7));
        assert_eq!(Tnum::from_range(5, 5), Tnum::constant(5));
        assert_eq!(Tnum::from_range(0, u64::MAX), Tnum::UNKNOWN);
        assert_eq!(
            Tnum::from_range(1 << 63, u64::MAX),
            Tnum::new(1 << 63, !(1 << 63))
        );
    }

    #[test]
    fn paper_multiplication_examples() {
        // CGO 2022, section 6: P = 11, Q = x1. The partial products are 11
        // and xx0; the O(n) algorithm cannot see that the two x are the same
        // bit, so it answers xxx1 although the products are only 3 and 9.
        let p = Tnum::constant(0b11);
        let q = Tnum::new(0b01, 0b10);
        assert_eq!(p.mul(q), Tnum::new(0b0001, 0b1110));
        assert_eq!(q.mul(p), Tnum::new(0b0001, 0b1110));
        // Known times known is exact; anything times 0 is 0.
        assert_eq!(Tnum::constant(6).mul(Tnum::constant(7)), Tnum::constant(42));
        assert_eq!(Tnum::UNKNOWN.mul(Tnum::ZERO), Tnum::ZERO);
        // An even factor makes the product even: x0 * xx = xxx0.
        let even = Tnum::new(0, 0b10);
        let product = even.mul(Tnum::new(0, 0b11));
        assert_eq!(product.value() & 1, 0);
        assert_eq!(product.mask() & 1, 0);
        // Multiplying by 4 is shifting by 2: 1x * 100 = 1x00.
        assert_eq!(
            Tnum::new(0b10, 0b01).mul(Tnum::constant(4)),
            Tnum::new(0b1000, 0b100)
        );
    }

    /// Exhaustive over every pair of 4-bit tnums: every binary operation is
    /// sound, and add, sub, and, or, xor, union are optimal (the result has
    /// no unknown bit that is constant over the concrete results).
    #[test]
    fn exhaustive_four_bit_soundness_and_optimality() {
        type Op = (
            &'static str,
            fn(Tnum, Tnum) -> Tnum,
            fn(u64, u64) -> u64,
            bool,
        );
        let ops: [Op; 6] = [
            ("add", Tnum::add, u64::wrapping_add, true),
            ("sub", Tnum::sub, u64::wrapping_sub, true),
            ("mul", Tnum::mul, u64::wrapping_mul, false),
            ("and", Tnum::and, |a, b| a & b, true),
            ("or", Tnum::or, |a, b| a | b, true),
            ("xor", Tnum::xor, |a, b| a ^ b, true),
        ];
        let tnums = all_tnums(4);
        for &a in &tnums {
            for &b in &tnums {
                for (name, abstract_op, concrete_op, optimal) in ops {
                    let result = abstract_op(a, b).truncate(4);
                    let mut exact: Option<Tnum> = None;
                    for x in members(a) {
                        for y in members(b) {
                            let z = concrete_op(x, y) & 0xf;
                            assert!(result.contains(z), "{name} {a} {b}: {z:#x} not in {result}");
                            let single = Tnum::constant(z);
                            exact = Some(exact.map_or(single, |e| e.union(single)));
                        }
                    }
                    if optimal {
                        assert_eq!(Some(result), exact, "{name} {a} {b} not optimal");
                    }
                }
            }
        }
    }

    #[test]
    fn exhaustive_five_bit_unary_operations() {
        for a in all_tnums(5) {
            let ms = members(a);
            let neg = a.neg().truncate(5);
            for &x in &ms {
                assert!(neg.contains(x.wrapping_neg() & 0x1f));
                for shift in 0..6 {
                    assert!(a.lsh(shift).contains(x << shift));
                    assert!(a.rsh(shift).contains(x >> shift));
                    let sx = a.sign_extend(5);
                    let sext = ((x << 59) as i64 >> 59) as u64;
                    assert!(sx.contains(sext));
                    assert!(sx.arsh(shift).contains((sext as i64 >> shift) as u64));
                }
            }
            // next_ge / prev_le are exact.
            for x in 0..40u64 {
                let expect_ge = ms.iter().copied().filter(|&m| m >= x).min();
                let expect_le = ms.iter().copied().filter(|&m| m <= x).max();
                assert_eq!(a.next_ge(x), expect_ge, "{a} next_ge {x}");
                assert_eq!(a.prev_le(x), expect_le, "{a} prev_le {x}");
            }
            // from_range is the smallest covering tnum.
            for lo in 0..32u64 {
                for hi in lo..32 {
                    let exact = (lo..=hi).map(Tnum::constant).reduce(Tnum::union).unwrap();
                    assert_eq!(Tnum::from_range(lo, hi), exact, "{lo}..={hi}");
                }
            }
        }
    }

    #[test]
    fn next_ge_at_the_top() {
        let t = Tnum::new(1 << 63, 0xff);
        assert_eq!(t.next_ge(0), Some(1 << 63));
        assert_eq!(t.next_ge(u64::MAX), None);
        assert_eq!(t.prev_le(u64::MAX), Some((1 << 63) | 0xff));
        assert_eq!(t.prev_le((1 << 63) - 1), None);
        assert_eq!(Tnum::UNKNOWN.next_ge(12345), Some(12345));
    }

    #[test]
    fn intersect_union_subset() {
        let a = Tnum::new(0b0100, 0b0011); // 01xx
        let b = Tnum::new(0b0001, 0b0110); // 0xx1
        assert_eq!(a.intersect(b), Some(Tnum::new(0b0101, 0b0010)));
        assert_eq!(a.intersect(Tnum::constant(0)), None);
        assert_eq!(a.union(b), Tnum::new(0, 0b0111));
        assert!(a.is_subset_of(a.union(b)));
        assert!(!a.union(b).is_subset_of(a));
        assert!(Tnum::constant(5).is_subset_of(a));
    }

    #[test]
    fn casts_and_sign_extension() {
        let t = Tnum::new(0x1_0000_0080, 0xf000_0000_0000_0001);
        assert_eq!(t.subreg(), Tnum::new(0x80, 1));
        assert_eq!(t.cast(1), Tnum::new(0x80, 1));
        assert_eq!(t.sext8(), Tnum::new(0xffff_ffff_ffff_ff80, 1));
        assert_eq!(
            Tnum::new(0, 0x80).sext8(),
            Tnum::new(0, 0xffff_ffff_ffff_ff80)
        );
        assert_eq!(Tnum::new(0x7fff, 0).sext16(), Tnum::constant(0x7fff));
        assert_eq!(
            Tnum::constant(0x8000_0000).sext32(),
            Tnum::constant(0xffff_ffff_8000_0000)
        );
        assert_eq!(
            Tnum::UNKNOWN.with_subreg(Tnum::constant(7)),
            Tnum::new(7, 0xffff_ffff_0000_0000)
        );
        assert_eq!(format!("{}", Tnum::new(4, 3)), "(0x4; 0x3)");
    }
}
