//! Transfer functions: the abstract counterpart of every ALU, byte-swap and
//! load instruction.
//!
//! Each operation is written once over [`View`]s of a width, so the same
//! code serves 64- and 32-bit instructions. A 64-bit operation whose low
//! half depends only on the operands' low halves (add, sub, mul, the
//! bitwise operations, neg) also runs on the 32-bit views, the way the
//! kernel's `scalar32_min_max_*` functions do, so the result's 32-bit bounds
//! are as sharp as a 32-bit instruction's would be. A 32-bit operation's
//! result is zero-extended, so its 64-bit bounds are its 32-bit unsigned
//! bounds.
//!
//! Interval rules (all exact for the intervals given, before sync):
//!
//! - add, sub, mul, lsh: compute the exact interval of results in wide
//!   integers; reduced modulo `2^n` it stays an interval if it does not
//!   cross a multiple of `2^n` (unsigned) or of `2^n` offset by `2^(n-1)`
//!   (signed), else nothing is known. Besides the case where nothing
//!   overflows (the kernel's classic rule), this keeps the case where both
//!   ends overflow by the same amount (`[MAX-1, MAX] + 2` is `[0, 1]`).
//! - div, sdiv, mod, smod: from the operands' extremes, with division by
//!   zero (result 0, or the dividend for modulo) and `MIN / -1` (result
//!   `MIN`) as the ISA defines them.
//! - and, or, xor: tnum operations, plus the interval facts `a & b <=
//!   min(a, b)` and `a | b >= max(a, b)` (per sign half).
//! - shifts by a constant: exact tnum shifts and monotone interval shifts;
//!   by an unknown amount: the join over every possible (masked) amount.

use super::view::{
    smax_of, smin_of, to_unsigned, trunc, umax_of, wrap_signed, wrap_unsigned, wrap_unsigned_wide,
    View,
};
use super::Scalar;
use crate::concrete;
use crate::tnum::Tnum;
use bpfbox_isa::{semantics as sem, AluOp, SwapKind, Width};

impl Scalar {
    /// The abstract result of `dst op= src` (`self` is `dst`): a scalar
    /// containing `concrete::alu(op, width, a, b)` for every `a` in `self`
    /// and `b` in `src`. An immediate operand is
    /// `Scalar::constant(semantics::sext_imm(imm))`.
    ///
    /// A 32-bit result is zero-extended into the 64-bit register. Shift
    /// amounts are masked to 63 (31) as RFC 9669 defines; the `Mov*`
    /// operations ignore `self`; `MovSx32` sign-extends to 64 bits at either
    /// width, as [`concrete::alu`] does.
    pub fn alu(&self, op: AluOp, width: Width, src: &Scalar) -> Scalar {
        if let Some(folded) = self.fold(op, width, src) {
            return Scalar::constant(folded);
        }
        match (op, width) {
            (AluOp::Mov, Width::W64) => *src,
            (AluOp::Mov, Width::W32) => Scalar::zero_extend(src.view32()),
            (AluOp::MovSx8, _) => sign_extend(src, 8, width),
            (AluOp::MovSx16, _) => sign_extend(src, 16, width),
            (AluOp::MovSx32, _) => sign_extend(src, 32, Width::W64),
            (_, Width::W32) => Scalar::zero_extend(binary(op, self.view32(), src.view32())),
            (_, Width::W64) => {
                let whole = binary(op, self.view64(), src.view64());
                let low_half_only = matches!(
                    op,
                    AluOp::Add | AluOp::Sub | AluOp::Mul | AluOp::And | AluOp::Or | AluOp::Xor
                );
                let low = low_half_only.then(|| binary(op, self.view32(), src.view32()));
                Scalar::from_views(whole, low)
            }
        }
    }

    /// The abstract result of `neg dst` (`-dst`, wrapping; a 32-bit negation
    /// is zero-extended): `0 - dst`.
    pub fn neg(&self, width: Width) -> Scalar {
        Scalar::constant(0).alu(AluOp::Sub, width, self)
    }

    /// The abstract result of a byte-order instruction (`bits` is 16, 32 or
    /// 64). Known bits move with their bytes, so the tnum result is exact;
    /// `le16`/`le32` on a little-endian host are truncations and keep the
    /// bounds of the low half as well.
    pub fn swap(&self, kind: SwapKind, bits: u8) -> Scalar {
        if let Some(c) = self.as_const() {
            return Scalar::constant(concrete::swap(kind, bits, c));
        }
        let tnum = self
            .tnum()
            .permute_bits(|word| concrete::swap(kind, bits, word));
        // `le16`/`le32` on a little-endian host (`be` on a big-endian one)
        // only truncate: the bounds of the low half carry over.
        let probe = 0x0102_0304_0506_0708;
        let truncating = concrete::swap(kind, bits, probe) == trunc(bits.into(), probe);
        match (truncating, bits) {
            (true, 64) => *self,
            (true, 32) => Scalar::zero_extend(self.view32()),
            (true, _) => {
                let low = self.view32().project(bits.into());
                Scalar::zero_extend(
                    View {
                        t: low.t,
                        umin: low.umin,
                        umax: low.umax,
                        ..View::full(32)
                    }
                    .tighten(),
                )
            }
            (false, _) => Scalar::from_tnum(tnum),
        }
    }

    /// Both operands constant (the relevant halves, for a 32-bit operation):
    /// the folded result.
    fn fold(&self, op: AluOp, width: Width, src: &Scalar) -> Option<u64> {
        let bits = match width {
            Width::W64 => 64,
            Width::W32 => 32,
        };
        let sign_extending = matches!(op, AluOp::MovSx8 | AluOp::MovSx16 | AluOp::MovSx32);
        let b = src
            .view(if sign_extending { 32 } else { bits })
            .as_const()?;
        let a = if sign_extending || op == AluOp::Mov {
            0
        } else {
            self.view(bits).as_const()?
        };
        Some(concrete::alu(op, width, a, b))
    }
}

/// Sign-extends the low `from` bits of `src` into a `width` result.
fn sign_extend(src: &Scalar, from: u32, width: Width) -> Scalar {
    let part = src.view32().project(from);
    match width {
        Width::W64 => {
            let whole = View {
                t: part.t.sign_extend(from),
                smin: part.smin,
                smax: part.smax,
                ..View::full(64)
            };
            let low = View {
                t: part.t.sign_extend(from).subreg(),
                smin: part.smin,
                smax: part.smax,
                ..View::full(32)
            };
            Scalar::from_views(whole, Some(low))
        }
        Width::W32 => Scalar::zero_extend(View {
            t: part.t.sign_extend(from).subreg(),
            smin: part.smin,
            smax: part.smax,
            ..View::full(32)
        }),
    }
}

/// A binary operation (not a move) on views of one width.
fn binary(op: AluOp, a: View, b: View) -> View {
    debug_assert_eq!(a.bits, b.bits);
    match op {
        AluOp::Add => add(a, b),
        AluOp::Sub => sub(a, b),
        AluOp::Mul => mul(a, b),
        AluOp::Div => div(a, b),
        AluOp::SDiv => sdiv(a, b),
        AluOp::Mod => umod(a, b),
        AluOp::SMod => smod(a, b),
        AluOp::And => and(a, b),
        AluOp::Or => or(a, b),
        AluOp::Xor => xor(a, b),
        AluOp::Lsh => shift_by(a, b, lsh),
        AluOp::Rsh => shift_by(a, b, rsh),
        AluOp::Arsh => shift_by(a, b, arsh),
        AluOp::Mov | AluOp::MovSx8 | AluOp::MovSx16 | AluOp::MovSx32 => b,
    }
}

fn add(a: View, b: View) -> View {
    let bits = a.bits;
    let (umin, umax) = wrap_unsigned(
        bits,
        i128::from(a.umin) + i128::from(b.umin),
        i128::from(a.umax) + i128::from(b.umax),
    );
    let (smin, smax) = wrap_signed(
        bits,
        i128::from(a.smin) + i128::from(b.smin),
        i128::from(a.smax) + i128::from(b.smax),
    );
    View {
        bits,
        t: a.t.add(b.t).truncate(bits),
        umin,
        umax,
        smin,
        smax,
    }
}

fn sub(a: View, b: View) -> View {
    let bits = a.bits;
    let (umin, umax) = wrap_unsigned(
        bits,
        i128::from(a.umin) - i128::from(b.umax),
        i128::from(a.umax) - i128::from(b.umin),
    );
    let (smin, smax) = wrap_signed(
        bits,
        i128::from(a.smin) - i128::from(b.smax),
        i128::from(a.smax) - i128::from(b.smin),
    );
    View {
        bits,
        t: a.t.sub(b.t).truncate(bits),
        umin,
        umax,
        smin,
        smax,
    }
}

fn mul(a: View, b: View) -> View {
    let bits = a.bits;
    let (umin, umax) = wrap_unsigned_wide(
        bits,
        u128::from(a.umin) * u128::from(b.umin),
        u128::from(a.umax) * u128::from(b.umax),
    );
    let corners = [
        i128::from(a.smin) * i128::from(b.smin),
        i128::from(a.smin) * i128::from(b.smax),
        i128::from(a.smax) * i128::from(b.smin),
        i128::from(a.smax) * i128::from(b.smax),
    ];
    let lo = corners.iter().copied().min().unwrap_or(0);
    let hi = corners.iter().copied().max().unwrap_or(0);
    let (smin, smax) = wrap_signed(bits, lo, hi);
    View {
        bits,
        t: a.t.mul(b.t).truncate(bits),
        umin,
        umax,
        smin,
        smax,
    }
}

/// Unsigned division; by zero gives 0.
fn div(a: View, b: View) -> View {
    let bits = a.bits;
    if b.umax == 0 {
        return View::constant(bits, 0);
    }
    let lo = if b.umin == 0 { 0 } else { a.umin / b.umax };
    let hi = a.umax / b.umin.max(1);
    View::from_unsigned(bits, lo, hi)
}

/// Signed division, truncating; by zero gives 0; `MIN / -1` gives `MIN`.
///
/// For divisors of one sign, the quotient is monotone in each operand, so
/// its extremes are at the corners of the operand intervals.
fn sdiv(a: View, b: View) -> View {
    let bits = a.bits;
    let (min, max) = (smin_of(bits), smax_of(bits));
    let mut hull = Hull::default();
    if b.smin <= 0 && 0 <= b.smax {
        hull.add(0);
    }
    for (dlo, dhi) in [(b.smin, b.smax.min(-1)), (b.smin.max(1), b.smax)] {
        if dlo > dhi {
            continue;
        }
        for x in [a.smin, a.smax] {
            for d in [dlo, dhi] {
                hull.add(i128::from(x) / i128::from(d));
            }
        }
        if a.smin == min && dlo <= -1 && -1 <= dhi {
            // MIN / -1 wraps to MIN (the corner computed above, 2^(n-1), does
            // not happen; the values just below it do).
            hull.add(i128::from(min));
        }
    }
    let (lo, hi) = hull.get();
    let lo = lo.max(i128::from(min));
    let hi = hi.min(i128::from(max));
    View::from_signed(bits, narrow(lo), narrow(hi))
}

/// Unsigned modulo; by zero leaves the dividend.
fn umod(a: View, b: View) -> View {
    let bits = a.bits;
    if b.umax == 0 || b.umin > a.umax {
        // Every divisor is 0, or larger than every dividend: `a` is unchanged.
        return a;
    }
    let hi = if b.umin == 0 {
        a.umax
    } else {
        a.umax.min(b.umax - 1)
    };
    View::from_unsigned(bits, 0, hi)
}

/// Signed modulo; by zero leaves the dividend; the result has the sign of
/// the dividend and is smaller in magnitude than the divisor.
fn smod(a: View, b: View) -> View {
    let bits = a.bits;
    let zero_divisor = b.smin <= 0 && 0 <= b.smax;
    if b.smin == 0 && b.smax == 0 {
        return a;
    }
    let (a_lo, a_hi) = (i128::from(a.smin), i128::from(a.smax));
    let (d_lo, d_hi) = (i128::from(b.smin), i128::from(b.smax));
    let largest_divisor = d_lo.abs().max(d_hi.abs());
    if !zero_divisor {
        let smallest_divisor = d_lo.abs().min(d_hi.abs());
        if a_lo.abs().max(a_hi.abs()) < smallest_divisor {
            return a;
        }
    }
    let limit = largest_divisor - 1;
    let mut lo = if a_lo >= 0 { 0 } else { a_lo.max(-limit) };
    let mut hi = if a_hi <= 0 { 0 } else { a_hi.min(limit) };
    if zero_divisor {
        lo = lo.min(a_lo);
        hi = hi.max(a_hi);
    }
    View::from_signed(bits, narrow(lo), narrow(hi))
}

fn and(a: View, b: View) -> View {
    let bits = a.bits;
    let t = a.t.and(b.t);
    let (smin, smax) = if a.smin >= 0 || b.smin >= 0 {
        // The result is non-negative and below every non-negative operand.
        let cap = [a, b]
            .iter()
            .filter(|v| v.smin >= 0)
            .map(|v| v.smax)
            .min()
            .unwrap_or(smax_of(bits));
        (0, cap)
    } else if a.smax < 0 && b.smax < 0 {
        (smin_of(bits), a.smax.min(b.smax))
    } else {
        (smin_of(bits), smax_of(bits))
    };
    let (mut umin, mut umax) = (t.min(), a.umax.min(b.umax).min(t.max()));
    // `x & (2^n - 1)` is the low n bits of x, which may be an interval
    // narrower than the tnum says (`[0x105, 0x107] & 0xff` is `[5, 7]`).
    for (value, mask) in [(a, b), (b, a)] {
        let Some(m) = mask.as_const() else { continue };
        let n = m.count_ones();
        if m & m.wrapping_add(1) == 0 && n > 0 && n < bits {
            let low = value.project(n);
            umin = umin.max(low.umin);
            umax = umax.min(low.umax);
        }
    }
    View {
        bits,
        t,
        umin,
        umax,
        smin,
        smax,
    }
}

fn or(a: View, b: View) -> View {
    let bits = a.bits;
    let t = a.t.or(b.t);
    let (smin, smax) = if a.smin >= 0 && b.smin >= 0 {
        (a.smin.max(b.smin), smax_of(bits))
    } else if a.smax < 0 || b.smax < 0 {
        // The result is negative and above every negative operand.
        let floor = [a, b]
            .iter()
            .filter(|v| v.smax < 0)
            .map(|v| v.smin)
            .max()
            .unwrap_or(smin_of(bits));
        (floor, -1)
    } else {
        (smin_of(bits), smax_of(bits))
    };
    View {
        bits,
        t,
        umin: a.umin.max(b.umin).max(t.min()),
        umax: t.max(),
        smin,
        smax,
    }
}

fn xor(a: View, b: View) -> View {
    View::from_tnum(a.bits, a.t.xor(b.t))
}

/// Left shift by a constant below the width.
fn lsh(a: View, k: u32) -> View {
    let bits = a.bits;
    let (umin, umax) = wrap_unsigned_wide(bits, u128::from(a.umin) << k, u128::from(a.umax) << k);
    let (smin, smax) = wrap_signed(bits, i128::from(a.smin) << k, i128::from(a.smax) << k);
    View {
        bits,
        t: a.t.lsh(k).truncate(bits),
        umin,
        umax,
        smin,
        smax,
    }
}

/// Logical right shift by a constant below the width.
fn rsh(a: View, k: u32) -> View {
    if k == 0 {
        return a;
    }
    let bits = a.bits;
    let (smin, smax) = if a.smin >= 0 {
        (a.smin >> k, a.smax >> k)
    } else {
        (0, smax_of(bits) >> (k - 1))
    };
    View {
        bits,
        t: a.t.rsh(k),
        umin: a.umin >> k,
        umax: a.umax >> k,
        smin,
        smax,
    }
}

/// Arithmetic right shift by a constant below the width.
fn arsh(a: View, k: u32) -> View {
    let bits = a.bits;
    let (umin, umax) = if a.smin >= 0 || a.smax < 0 {
        // One sign: the unsigned order is the signed order.
        (
            to_unsigned(bits, a.smin >> k),
            to_unsigned(bits, a.smax >> k),
        )
    } else {
        (0, umax_of(bits))
    };
    View {
        bits,
        t: a.t.sign_extend(bits).arsh(k).truncate(bits),
        umin,
        umax,
        smin: a.smin >> k,
        smax: a.smax >> k,
    }
}

/// A shift by a scalar amount: the join of the shifts by every amount the
/// masked count (`b & (bits - 1)`) can take.
fn shift_by(a: View, b: View, shift: fn(View, u32) -> View) -> View {
    let bits = a.bits;
    let count_mask = u64::from(bits - 1);
    let counts = b.t.and(Tnum::constant(count_mask));
    let (lo, hi) = if b.umax <= count_mask {
        (b.umin, b.umax)
    } else {
        (0, count_mask)
    };
    (lo..=hi)
        .filter(|&k| counts.contains(k))
        .map(|k| shift(a, sem::low_u32(k)).tighten())
        .reduce(View::join)
        .unwrap_or_else(|| View::full(bits))
}

/// The least and greatest of some wide integers.
#[derive(Default)]
struct Hull(Option<(i128, i128)>);

impl Hull {
    fn add(&mut self, x: i128) {
        self.0 = Some(match self.0 {
            None => (x, x),
            Some((lo, hi)) => (lo.min(x), hi.max(x)),
        });
    }

    fn get(&self) -> (i128, i128) {
        self.0.unwrap_or((0, 0))
    }
}

/// A wide integer already clamped into `i64`.
fn narrow(x: i128) -> i64 {
    i64::try_from(x).unwrap_or(if x < 0 { i64::MIN } else { i64::MAX })
}
