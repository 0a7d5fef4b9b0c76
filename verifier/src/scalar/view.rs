//! The width-generic machinery under [`Scalar`](super::Scalar).
//!
//! Every transfer function is written once, for a [`View`]: a tnum with an
//! unsigned and a signed interval, all of one width (8, 16, 32 or 64 bits).
//! A 64-bit operation works on the 64-bit view of its operands, a 32-bit one
//! on the 32-bit view; the result view goes back into a scalar, where bound
//! sync reconciles it with the other width.
//!
//! [`Pieces`] is the exact tool behind bound sync: a set of values of one
//! width as a few sorted, disjoint unsigned intervals. An unsigned bound is
//! one interval; a signed bound, read as unsigned, is one interval or two
//! (when it straddles zero, `[-2, 1]` is `[0, 1] ∪ [2^n - 2, 2^n - 1]`); the
//! low 32 bits of a 64-bit interval are one or two intervals, or all of them.
//! Intersecting these gives the exact set the bounds together allow, from
//! which each bound is read back as a hull.

use crate::tnum::{low_bits, Tnum};

/// The largest unsigned value of a width.
pub(crate) const fn umax_of(bits: u32) -> u64 {
    low_bits(bits)
}

/// The smallest signed value of a width.
pub(crate) const fn smin_of(bits: u32) -> i64 {
    sext(bits, 1 << (bits - 1))
}

/// The largest signed value of a width.
pub(crate) const fn smax_of(bits: u32) -> i64 {
    (umax_of(bits) >> 1) as i64
}

/// Keeps the low `bits` bits.
pub(crate) const fn trunc(bits: u32, x: u64) -> u64 {
    x & low_bits(bits)
}

/// Reads the low `bits` bits as a signed number.
pub(crate) const fn sext(bits: u32, x: u64) -> i64 {
    let up = 64 - bits;
    ((x << up) as i64) >> up
}

/// Writes a signed number of width `bits` as its unsigned bit pattern.
pub(crate) const fn to_unsigned(bits: u32, x: i64) -> u64 {
    trunc(bits, x as u64)
}

/// A value known to fit in 32 bits, as `u32`.
pub(crate) fn u32_of(x: u64) -> u32 {
    debug_assert!(x <= u64::from(u32::MAX), "{x:#x} is not a 32-bit value");
    bpfbox_isa::semantics::low_u32(x)
}

/// A value known to fit in 32 signed bits, as `i32`.
pub(crate) fn i32_of(x: i64) -> i32 {
    debug_assert!(i32::try_from(x).is_ok(), "{x} is not a 32-bit value");
    sext(32, to_unsigned(64, x)) as i32
}

/// The unsigned interval of `bits`-bit results when the exact results (no
/// wrapping) span `lo..=hi`: that interval reduced modulo `2^bits` if it lies
/// in one block of `2^bits`, else everything.
pub(crate) fn wrap_unsigned(bits: u32, lo: i128, hi: i128) -> (u64, u64) {
    if lo >> bits == hi >> bits {
        (trunc(bits, lo as u64), trunc(bits, hi as u64))
    } else {
        (0, umax_of(bits))
    }
}

/// [`wrap_unsigned`] for exact results that only fit in `u128` (products).
pub(crate) fn wrap_unsigned_wide(bits: u32, lo: u128, hi: u128) -> (u64, u64) {
    if lo >> bits == hi >> bits {
        (trunc(bits, lo as u64), trunc(bits, hi as u64))
    } else {
        (0, umax_of(bits))
    }
}

/// The signed interval of `bits`-bit results when the exact results span
/// `lo..=hi` (see [`wrap_unsigned`]); blocks are aligned at `-2^(bits-1)`.
pub(crate) fn wrap_signed(bits: u32, lo: i128, hi: i128) -> (i64, i64) {
    let offset = 1i128 << (bits - 1);
    if (lo + offset) >> bits == (hi + offset) >> bits {
        (sext(bits, lo as u64), sext(bits, hi as u64))
    } else {
        (smin_of(bits), smax_of(bits))
    }
}

/// What is known about a value of one width: a tnum (no bits above the
/// width) and unsigned and signed bounds. The components need not agree
/// with each other; the value lies in all of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct View {
    /// 8, 16, 32 or 64.
    pub bits: u32,
    /// Known bits.
    pub t: Tnum,
    /// Unsigned lower bound.
    pub umin: u64,
    /// Unsigned upper bound.
    pub umax: u64,
    /// Signed lower bound.
    pub smin: i64,
    /// Signed upper bound.
    pub smax: i64,
}

impl View {
    /// Every value of the width.
    pub fn full(bits: u32) -> View {
        View {
            bits,
            t: Tnum::UNKNOWN.truncate(bits),
            umin: 0,
            umax: umax_of(bits),
            smin: smin_of(bits),
            smax: smax_of(bits),
        }
    }

    /// Exactly `c` (truncated to the width).
    pub fn constant(bits: u32, c: u64) -> View {
        let c = trunc(bits, c);
        View {
            bits,
            t: Tnum::constant(c),
            umin: c,
            umax: c,
            smin: sext(bits, c),
            smax: sext(bits, c),
        }
    }

    /// The single value, if the view holds exactly one.
    pub fn as_const(&self) -> Option<u64> {
        if let Some(c) = self.t.as_const() {
            return Some(c);
        }
        (self.umin == self.umax).then_some(self.umin)
    }

    /// The values of a tnum, with bounds read from it.
    pub fn from_tnum(bits: u32, t: Tnum) -> View {
        View {
            t: t.truncate(bits),
            ..View::full(bits)
        }
        .tighten()
    }

    /// An unsigned interval (and the tnum covering it).
    pub fn from_unsigned(bits: u32, lo: u64, hi: u64) -> View {
        View {
            t: Tnum::from_range(lo, hi),
            umin: lo,
            umax: hi,
            ..View::full(bits)
        }
        .tighten()
    }

    /// A signed interval.
    pub fn from_signed(bits: u32, lo: i64, hi: i64) -> View {
        View {
            smin: lo,
            smax: hi,
            ..View::full(bits)
        }
        .tighten()
    }

    /// Sharpens the bounds with what the tnum says, and the signed bounds
    /// with the unsigned ones when those do not straddle the sign boundary
    /// (and back). A cheap partial sync for views that are joined or
    /// compared before the full [`sync`](super::sync) runs.
    pub fn tighten(mut self) -> View {
        let bits = self.bits;
        self.umin = self.umin.max(self.t.min());
        self.umax = self.umax.min(self.t.max());
        let sign = 1u64 << (bits - 1);
        let t_smin = sext(bits, self.t.value() | (self.t.mask() & sign));
        let t_smax = sext(
            bits,
            self.t.value() | (self.t.mask() & !sign & umax_of(bits)),
        );
        self.smin = self.smin.max(t_smin);
        self.smax = self.smax.min(t_smax);
        if self.umin <= self.umax && (self.umin ^ self.umax) & sign == 0 {
            self.smin = self.smin.max(sext(bits, self.umin));
            self.smax = self.smax.min(sext(bits, self.umax));
        }
        if self.smin <= self.smax && (self.smin < 0) == (self.smax < 0) {
            self.umin = self.umin.max(to_unsigned(bits, self.smin));
            self.umax = self.umax.min(to_unsigned(bits, self.smax));
        }
        self
    }

    /// The smallest view containing both (hulls and tnum union).
    pub fn join(self, other: View) -> View {
        View {
            bits: self.bits,
            t: self.t.union(other.t),
            umin: self.umin.min(other.umin),
            umax: self.umax.max(other.umax),
            smin: self.smin.min(other.smin),
            smax: self.smax.max(other.smax),
        }
    }

    /// The low `bits` bits of this view's values, as exactly as the bounds
    /// allow (`bits` at most the view's width).
    pub fn project(&self, bits: u32) -> View {
        if bits >= self.bits {
            return *self;
        }
        let t = self.t.truncate(bits);
        let pieces = Pieces::project(self.bits, bits, self.umin, self.umax)
            .intersect(&Pieces::project(
                self.bits,
                bits,
                to_unsigned(self.bits, self.smin),
                to_unsigned(self.bits, self.smax),
            ))
            .split_sign()
            .refine_with_tnum(t);
        match (pieces.hull_unsigned(), pieces.hull_signed()) {
            (Some((umin, umax)), Some((smin, smax))) => View {
                bits,
                t: t.intersect(pieces.tnum_cover()).unwrap_or(t),
                umin,
                umax,
                smin,
                smax,
            },
            // Only for a view that holds no value: anything is sound.
            _ => View::from_tnum(bits, t),
        }
    }
}

/// Capacity of [`Pieces`]: intersecting an unsigned interval with three
/// one-or-two-piece sets and splitting at the sign boundary gives at most 5.
const PIECES: usize = 8;

/// A set of `bits`-bit values as sorted, disjoint unsigned intervals.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pieces {
    bits: u32,
    len: usize,
    items: [(u64, u64); PIECES],
}

impl Pieces {
    fn empty(bits: u32) -> Pieces {
        Pieces {
            bits,
            len: 0,
            items: [(0, 0); PIECES],
        }
    }

    /// Adds an interval above every interval held. If the capacity were
    /// ever exceeded, the last interval grows to cover it (still sound).
    fn push(&mut self, lo: u64, hi: u64) {
        if self.len == PIECES {
            self.items[PIECES - 1].1 = hi;
        } else {
            self.items[self.len] = (lo, hi);
            self.len += 1;
        }
    }

    /// The intervals, lowest first.
    pub fn as_slice(&self) -> &[(u64, u64)] {
        &self.items[..self.len]
    }

    /// `lo..=hi` (empty if `lo > hi`).
    pub fn interval(bits: u32, lo: u64, hi: u64) -> Pieces {
        let mut out = Pieces::empty(bits);
        if lo <= hi {
            out.push(lo, hi);
        }
        out
    }

    /// The values from `lo` counting up to `hi`, wrapping from the largest
    /// value to 0 if `lo > hi`. A signed interval `smin..=smax` is the
    /// circular interval from `smin` to `smax` read as unsigned.
    pub fn circular(bits: u32, lo: u64, hi: u64) -> Pieces {
        if lo <= hi {
            return Pieces::interval(bits, lo, hi);
        }
        let mut out = Pieces::interval(bits, 0, hi);
        out.push(lo, umax_of(bits));
        out
    }

    /// The low `bits` bits of the values in the circular interval from `lo`
    /// to `hi` of width `from_bits`.
    pub fn project(from_bits: u32, bits: u32, lo: u64, hi: u64) -> Pieces {
        let span = trunc(from_bits, hi.wrapping_sub(lo));
        if span >= umax_of(bits) {
            Pieces::interval(bits, 0, umax_of(bits))
        } else {
            Pieces::circular(bits, trunc(bits, lo), trunc(bits, hi))
        }
    }

    /// The values in both sets.
    pub fn intersect(&self, other: &Pieces) -> Pieces {
        let mut out = Pieces::empty(self.bits);
        let (a, b) = (self.as_slice(), other.as_slice());
        let (mut i, mut j) = (0, 0);
        while i < a.len() && j < b.len() {
            let lo = a[i].0.max(b[j].0);
            let hi = a[i].1.min(b[j].1);
            if lo <= hi {
                out.push(lo, hi);
            }
            if a[i].1 < b[j].1 {
                i += 1;
            } else {
                j += 1;
            }
        }
        out
    }

    /// Splits intervals that cross from the non-negative to the negative
    /// half, so that each interval is ordered the same way signed and
    /// unsigned.
    pub fn split_sign(&self) -> Pieces {
        let sign = 1u64 << (self.bits - 1);
        let mut out = Pieces::empty(self.bits);
        for &(lo, hi) in self.as_slice() {
            if lo < sign && hi >= sign {
                out.push(lo, sign - 1);
                out.push(sign, hi);
            } else {
                out.push(lo, hi);
            }
        }
        out
    }

    /// Shrinks each interval to its smallest and largest members of `t`,
    /// dropping intervals with none. The result's endpoints are all in `t`.
    pub fn refine_with_tnum(&self, t: Tnum) -> Pieces {
        self.refine(|lo, hi| {
            let lo = t.next_ge(lo).filter(|&x| x <= hi)?;
            let hi = t.prev_le(hi)?;
            Some((lo, hi))
        })
    }

    /// Replaces each interval by what `shrink` returns for it (`None`: no
    /// member). `shrink` must return a sub-interval.
    pub fn refine(&self, shrink: impl Fn(u64, u64) -> Option<(u64, u64)>) -> Pieces {
        let mut out = Pieces::empty(self.bits);
        for &(lo, hi) in self.as_slice() {
            if let Some((lo, hi)) = shrink(lo, hi) {
                debug_assert!(lo <= hi);
                out.push(lo, hi);
            }
        }
        out
    }

    /// Smallest and largest value as unsigned, `None` if empty.
    pub fn hull_unsigned(&self) -> Option<(u64, u64)> {
        let items = self.as_slice();
        Some((items.first()?.0, items.last()?.1))
    }

    /// Smallest and largest value as signed, `None` if empty. The set must
    /// be [split](Pieces::split_sign).
    pub fn hull_signed(&self) -> Option<(i64, i64)> {
        let bits = self.bits;
        let lo = self.as_slice().iter().map(|p| sext(bits, p.0)).min()?;
        let hi = self.as_slice().iter().map(|p| sext(bits, p.1)).max()?;
        Some((lo, hi))
    }

    /// The smallest tnum covering every interval.
    pub fn tnum_cover(&self) -> Tnum {
        self.as_slice()
            .iter()
            .map(|&(lo, hi)| Tnum::from_range(lo, hi))
            .reduce(Tnum::union)
            .unwrap_or(Tnum::UNKNOWN)
    }

    /// The smallest 64-bit value `>= x` whose low 32 bits are in this
    /// (32-bit) set.
    pub fn next_ge_with_low(&self, x: u64) -> Option<u64> {
        let (high, low) = (x >> 32, x & 0xffff_ffff);
        for &(lo, hi) in self.as_slice() {
            if hi >= low {
                return Some(if lo > low { (high << 32) | lo } else { x });
            }
        }
        let first = self.as_slice().first()?.0;
        (high < 0xffff_ffff).then(|| ((high + 1) << 32) | first)
    }

    /// The largest 64-bit value `<= x` whose low 32 bits are in this
    /// (32-bit) set.
    pub fn prev_le_with_low(&self, x: u64) -> Option<u64> {
        let (high, low) = (x >> 32, x & 0xffff_ffff);
        for &(lo, hi) in self.as_slice().iter().rev() {
            if lo <= low {
                return Some(if hi < low { (high << 32) | hi } else { x });
            }
        }
        let last = self.as_slice().last()?.1;
        (high > 0).then(|| ((high - 1) << 32) | last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn width_helpers() {
        assert_eq!(smin_of(8), -128);
        assert_eq!(smax_of(8), 127);
        assert_eq!(smin_of(64), i64::MIN);
        assert_eq!(smax_of(64), i64::MAX);
        assert_eq!(sext(32, 0xffff_ffff), -1);
        assert_eq!(to_unsigned(32, -1), 0xffff_ffff);
        assert_eq!(
            wrap_unsigned(32, 0xffff_fffe, 0x1_0000_0001),
            (0, 0xffff_ffff)
        );
        assert_eq!(wrap_unsigned(32, 0x1_0000_0000, 0x1_0000_0001), (0, 1));
        assert_eq!(wrap_unsigned(64, -2, -1), (u64::MAX - 1, u64::MAX));
        assert_eq!(wrap_signed(8, 127, 128), (-128, 127));
        assert_eq!(wrap_signed(8, 128, 130), (-128, -126));
    }

    #[test]
    fn pieces_of_signed_and_projected_bounds() {
        // [-2, 1] as unsigned bytes.
        let signed = Pieces::circular(8, 0xfe, 1);
        assert_eq!(signed.as_slice(), &[(0, 1), (0xfe, 0xff)]);
        assert_eq!(signed.split_sign().hull_signed(), Some((-2, 1)));
        assert_eq!(signed.hull_unsigned(), Some((0, 0xff)));
        // The low byte of 0xff..=0x101 is {0xff, 0, 1}.
        let low = Pieces::project(64, 8, 0xff, 0x101);
        assert_eq!(low.as_slice(), &[(0, 1), (0xff, 0xff)]);
        let both = low.intersect(&Pieces::interval(8, 1, 0xff));
        assert_eq!(both.as_slice(), &[(1, 1), (0xff, 0xff)]);
        assert_eq!(Pieces::project(64, 8, 0, 0x100).as_slice(), &[(0, 0xff)]);
    }

    #[test]
    fn next_with_low_bits() {
        let low = Pieces::interval(32, 10, 20);
        assert_eq!(low.next_ge_with_low(5), Some(10));
        assert_eq!(low.next_ge_with_low(15), Some(15));
        assert_eq!(low.next_ge_with_low(21), Some((1 << 32) | 10));
        assert_eq!(low.next_ge_with_low(u64::MAX), None);
        assert_eq!(low.prev_le_with_low((1 << 32) | 5), Some(20));
        assert_eq!(low.prev_le_with_low(5), None);
        assert_eq!(low.prev_le_with_low(u64::MAX), Some(0xffff_ffff_0000_0014));
    }

    #[test]
    fn projection_to_a_byte() {
        let v = View::from_unsigned(32, 0xff, 0x101);
        let p = v.project(8);
        assert_eq!((p.umin, p.umax), (0, 0xff));
        assert_eq!((p.smin, p.smax), (-1, 1));
    }
}
