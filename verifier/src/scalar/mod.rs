//! The scalar abstract domain: what the verifier knows about a number.
//!
//! The verifier cannot run a program on every input, so it runs it once on
//! *abstract values*: for every register, a description of every value the
//! register might hold at that point. For a number (as opposed to a
//! pointer) that description is a [`Scalar`], made of the same five
//! components the Linux verifier keeps in `struct bpf_reg_state`:
//!
//! | component | kernel field | meaning |
//! |---|---|---|
//! | [`tnum`](Scalar::tnum) | `var_off` | which bits are known (see [`Tnum`]) |
//! | [`umin`](Scalar::umin)..=[`umax`](Scalar::umax) | `umin_value`, `umax_value` | the value as `u64` |
//! | [`smin`](Scalar::smin)..=[`smax`](Scalar::smax) | `smin_value`, `smax_value` | the value as `i64` |
//! | [`u32_min`](Scalar::u32_min)..=[`u32_max`](Scalar::u32_max) | `u32_min_value`, `u32_max_value` | the low 32 bits as `u32` |
//! | [`s32_min`](Scalar::s32_min)..=[`s32_max`](Scalar::s32_max) | `s32_min_value`, `s32_max_value` | the low 32 bits as `i32` |
//!
//! A value is *contained* in the scalar when it satisfies all five
//! ([`Scalar::contains`]). Each component alone is a weak description; the
//! intersection is much stronger. A bounds check `if x < 16` speaks in
//! unsigned terms, a `(s32)` cast in signed 32-bit terms, a mask `x & 0xf8`
//! in bits; keeping all five lets each kind of fact be stated exactly and
//! then feed the others.
//!
//! ## Bound sync
//!
//! Facts flow between components by *bound sync*: after every operation,
//! each component is narrowed by what the others imply until nothing
//! changes. If the tnum says the top bit is 0, the value is non-negative,
//! so `smin >= 0`; if `umax < 2^63` the signed and unsigned orders agree, so
//! the signed bounds are the unsigned ones; if `umin..=umax` lies inside one
//! 4 GiB block, the low 32 bits lie in `umin as u32..=umax as u32`; if
//! `umax = 9`, the bits above bit 3 are known zero. The kernel calls these
//! steps `__update_reg_bounds`, `__reg_deduce_bounds` and
//! `__reg_bound_offset`; bpfbox computes the same facts (and some the
//! kernel's fixed sequence of deductions misses) as described in `sync.rs`.
//! Every [`Scalar`] is synced: constructors and operations all end with it,
//! which is what makes the bounds trustworthy one by one (after sync,
//! `umin`, `umax`, `smin` and `smax` are each a value the register can
//! actually hold, not just a limit).
//!
//! ## Soundness
//!
//! The one property that matters is **soundness**: an abstract operation
//! must contain every concrete result. If `a ∈ A` and `b ∈ B`, then
//! `a op b ∈ A.alu(op, B)`; if the branch `a < b` is taken, `(a, b)` is in
//! the refined pair for the taken edge, and a branch reported impossible
//! never happens. A sound verifier may reject a safe program (imprecision),
//! but never accepts an unsafe one. *Precision*, the second goal, is how
//! few impossible values the results contain; it decides how many correct
//! programs are accepted. The tests check soundness by property testing
//! against [`bpfbox_isa::semantics`] (the interpreter's own arithmetic) and
//! precision with exact expected values.
//!
//! ## The operations
//!
//! - [`Scalar::alu`], [`Scalar::neg`], [`Scalar::swap`] and
//!   [`Scalar::from_load`]: the transfer functions of every ALU, byte-swap
//!   and load instruction, 64- and 32-bit (a 32-bit result is zero-extended,
//!   so its upper half is known zero). Constant operands fold through
//!   [`concrete`](crate::concrete).
//! - [`refine`] and [`branch_outcome`]: what a conditional jump teaches on
//!   each edge, and whether an edge can be taken at all.
//! - [`Scalar::union`] (join, for merging states where control flow meets)
//!   and [`Scalar::is_subset_of`] (for pruning: a state contained in one
//!   already verified needs no second look).

mod alu;
mod branch;
mod sync;
mod view;

pub use branch::{branch_outcome, refine, BranchOutcome, Refined};

use crate::tnum::Tnum;
use bpfbox_isa::Size;
use std::fmt;
use view::{i32_of, sext, u32_of, View};

/// The raw components of a [`Scalar`], with public fields: for building a
/// scalar from facts known elsewhere ([`Scalar::from_bounds`]) and reading
/// all of it at once ([`Scalar::bounds`]).
///
/// The default is unbounded (every value).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Bounds {
    /// Known bits of the 64-bit value.
    pub tnum: Tnum,
    /// Least value as `u64`.
    pub umin: u64,
    /// Greatest value as `u64`.
    pub umax: u64,
    /// Least value as `i64`.
    pub smin: i64,
    /// Greatest value as `i64`.
    pub smax: i64,
    /// Least value of the low 32 bits as `u32`.
    pub u32_min: u32,
    /// Greatest value of the low 32 bits as `u32`.
    pub u32_max: u32,
    /// Least value of the low 32 bits as `i32`.
    pub s32_min: i32,
    /// Greatest value of the low 32 bits as `i32`.
    pub s32_max: i32,
}

impl Bounds {
    /// No constraint at all.
    pub const UNBOUNDED: Bounds = Bounds {
        tnum: Tnum::UNKNOWN,
        umin: 0,
        umax: u64::MAX,
        smin: i64::MIN,
        smax: i64::MAX,
        u32_min: 0,
        u32_max: u32::MAX,
        s32_min: i32::MIN,
        s32_max: i32::MAX,
    };

    /// Whether `x` satisfies every component.
    pub fn contains(&self, x: u64) -> bool {
        let low = bpfbox_isa::semantics::low_u32(x);
        let signed = sext(64, x);
        let low_signed = sext(32, x);
        self.tnum.contains(x)
            && (self.umin..=self.umax).contains(&x)
            && (self.smin..=self.smax).contains(&signed)
            && (self.u32_min..=self.u32_max).contains(&low)
            && (i64::from(self.s32_min)..=i64::from(self.s32_max)).contains(&low_signed)
    }
}

impl Default for Bounds {
    /// [`Bounds::UNBOUNDED`].
    fn default() -> Bounds {
        Bounds::UNBOUNDED
    }
}

/// The components given to [`Scalar::from_bounds`] admit no value (an
/// interval with its minimum above its maximum, or components that exclude
/// each other, such as a tnum of even numbers with the range `3..=3`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the scalar bounds admit no value: {0:?}")]
pub struct EmptyScalar(pub Bounds);

/// What the verifier knows about a 64-bit number: a synced combination of a
/// tnum and unsigned and signed bounds on the value and on its low 32 bits
/// (see the [module documentation](self)).
///
/// A `Scalar` is never empty: it always contains at least one value. Where
/// an operation could produce an empty scalar (refining on a branch that
/// cannot be taken), it returns `None` instead.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Scalar(Bounds);

impl Scalar {
    /// Exactly `value`.
    pub fn constant(value: u64) -> Scalar {
        let low = bpfbox_isa::semantics::low_u32(value);
        Scalar(Bounds {
            tnum: Tnum::constant(value),
            umin: value,
            umax: value,
            smin: sext(64, value),
            smax: sext(64, value),
            u32_min: low,
            u32_max: low,
            s32_min: i32_of(sext(32, value)),
            s32_max: i32_of(sext(32, value)),
        })
    }

    /// Any 64-bit value.
    pub fn unknown() -> Scalar {
        Scalar(Bounds::UNBOUNDED)
    }

    /// Any value in `min..=max` (unsigned).
    ///
    /// # Panics
    ///
    /// Panics if `min > max`.
    pub fn range(min: u64, max: u64) -> Scalar {
        assert!(min <= max, "Scalar::range: {min} > {max}");
        Scalar::build(Bounds {
            umin: min,
            umax: max,
            ..Bounds::UNBOUNDED
        })
    }

    /// Any value in `min..=max` (signed).
    ///
    /// # Panics
    ///
    /// Panics if `min > max`.
    pub fn signed_range(min: i64, max: i64) -> Scalar {
        assert!(min <= max, "Scalar::signed_range: {min} > {max}");
        Scalar::build(Bounds {
            smin: min,
            smax: max,
            ..Bounds::UNBOUNDED
        })
    }

    /// Any value the tnum contains.
    pub fn from_tnum(tnum: Tnum) -> Scalar {
        Scalar::build(Bounds {
            tnum,
            ..Bounds::UNBOUNDED
        })
    }

    /// The values satisfying every component of `bounds`, synced.
    ///
    /// # Errors
    ///
    /// [`EmptyScalar`] if no value satisfies them all.
    pub fn from_bounds(bounds: Bounds) -> Result<Scalar, EmptyScalar> {
        sync::sync(bounds).map(Scalar).ok_or(EmptyScalar(bounds))
    }

    /// A value loaded from memory the verifier knows nothing about: `size`
    /// bytes, zero-extended (`ldx`) or sign-extended (`ldxs`, v4; a signed
    /// 8-byte load is the same as an unsigned one).
    pub fn from_load(size: Size, signed: bool) -> Scalar {
        let bits = 8 * size.bytes();
        match (size, signed) {
            (Size::DW, _) => Scalar::unknown(),
            (_, false) => Scalar::range(0, view::umax_of(bits)),
            (_, true) => Scalar::signed_range(view::smin_of(bits), view::smax_of(bits)),
        }
    }

    /// All components.
    pub fn bounds(&self) -> Bounds {
        self.0
    }

    /// Known bits.
    pub fn tnum(&self) -> Tnum {
        self.0.tnum
    }

    /// Least value as `u64` (a possible value).
    pub fn umin(&self) -> u64 {
        self.0.umin
    }

    /// Greatest value as `u64` (a possible value).
    pub fn umax(&self) -> u64 {
        self.0.umax
    }

    /// Least value as `i64` (a possible value).
    pub fn smin(&self) -> i64 {
        self.0.smin
    }

    /// Greatest value as `i64` (a possible value).
    pub fn smax(&self) -> i64 {
        self.0.smax
    }

    /// Least low half as `u32`.
    pub fn u32_min(&self) -> u32 {
        self.0.u32_min
    }

    /// Greatest low half as `u32`.
    pub fn u32_max(&self) -> u32 {
        self.0.u32_max
    }

    /// Least low half as `i32`.
    pub fn s32_min(&self) -> i32 {
        self.0.s32_min
    }

    /// Greatest low half as `i32`.
    pub fn s32_max(&self) -> i32 {
        self.0.s32_max
    }

    /// Whether `x` is one of the values (it satisfies every component).
    pub fn contains(&self, x: u64) -> bool {
        self.0.contains(x)
    }

    /// The single value, if there is exactly one.
    pub fn as_const(&self) -> Option<u64> {
        (self.0.umin == self.0.umax).then_some(self.0.umin)
    }

    /// Whether there is exactly one value.
    pub fn is_const(&self) -> bool {
        self.as_const().is_some()
    }

    /// Whether every 64-bit value is possible.
    pub fn is_unknown(&self) -> bool {
        self.0 == Bounds::UNBOUNDED
    }

    /// The join: a scalar containing every value of `self` and of `other`
    /// (where two paths meet, the register holds a value of either). Each
    /// component is the smallest one covering both, then synced.
    pub fn union(&self, other: &Scalar) -> Scalar {
        let (a, b) = (self.0, other.0);
        Scalar::build(Bounds {
            tnum: a.tnum.union(b.tnum),
            umin: a.umin.min(b.umin),
            umax: a.umax.max(b.umax),
            smin: a.smin.min(b.smin),
            smax: a.smax.max(b.smax),
            u32_min: a.u32_min.min(b.u32_min),
            u32_max: a.u32_max.max(b.u32_max),
            s32_min: a.s32_min.min(b.s32_min),
            s32_max: a.s32_max.max(b.s32_max),
        })
    }

    /// Whether every value of `self` is a value of `other`, judged component
    /// by component (the kernel's `range_within` plus `tnum_in` in
    /// `regsafe`). A `true` answer is always right, which is what state
    /// pruning needs: a new state whose registers are all subsets of an old,
    /// verified state's is safe without exploring it again. `false` can be
    /// wrong when `other`'s components are loose in a way sync cannot see.
    pub fn is_subset_of(&self, other: &Scalar) -> bool {
        let (a, b) = (self.0, other.0);
        a.tnum.is_subset_of(b.tnum)
            && b.umin <= a.umin
            && a.umax <= b.umax
            && b.smin <= a.smin
            && a.smax <= b.smax
            && b.u32_min <= a.u32_min
            && a.u32_max <= b.u32_max
            && b.s32_min <= a.s32_min
            && a.s32_max <= b.s32_max
    }

    /// Syncs bounds that come from a sound computation on a non-empty
    /// scalar. They can only come out empty if an input was empty in a way
    /// sync could not see; then any result is sound, and `unknown` is used.
    fn build(bounds: Bounds) -> Scalar {
        sync::sync(bounds).map_or_else(Scalar::unknown, Scalar)
    }

    /// The 64-bit view.
    fn view64(&self) -> View {
        let b = &self.0;
        View {
            bits: 64,
            t: b.tnum,
            umin: b.umin,
            umax: b.umax,
            smin: b.smin,
            smax: b.smax,
        }
    }

    /// The view of the low 32 bits.
    fn view32(&self) -> View {
        let b = &self.0;
        View {
            bits: 32,
            t: b.tnum.subreg(),
            umin: b.u32_min.into(),
            umax: b.u32_max.into(),
            smin: b.s32_min.into(),
            smax: b.s32_max.into(),
        }
    }

    /// The view of the given width.
    fn view(&self, bits: u32) -> View {
        if bits == 32 {
            self.view32()
        } else {
            self.view64()
        }
    }

    /// A 64-bit result, with what is separately known of its low half.
    fn from_views(whole: View, low: Option<View>) -> Scalar {
        debug_assert_eq!(whole.bits, 64);
        let mut bounds = Bounds {
            tnum: whole.t,
            umin: whole.umin,
            umax: whole.umax,
            smin: whole.smin,
            smax: whole.smax,
            ..Bounds::UNBOUNDED
        };
        if let Some(low) = low {
            debug_assert_eq!(low.bits, 32);
            match whole.t.subreg().intersect(low.t) {
                Some(t) => bounds.tnum = whole.t.with_subreg(t),
                None => return Scalar::unknown(),
            }
            bounds.u32_min = u32_of(low.umin);
            bounds.u32_max = u32_of(low.umax);
            bounds.s32_min = i32_of(low.smin);
            bounds.s32_max = i32_of(low.smax);
        }
        Scalar::build(bounds)
    }

    /// A 32-bit result, zero-extended into the register.
    fn zero_extend(low: View) -> Scalar {
        debug_assert_eq!(low.bits, 32);
        Scalar::build(Bounds {
            tnum: low.t.subreg(),
            umin: low.umin,
            umax: low.umax,
            smin: sext(64, low.umin),
            smax: sext(64, low.umax),
            u32_min: u32_of(low.umin),
            u32_max: u32_of(low.umax),
            s32_min: i32_of(low.smin),
            s32_max: i32_of(low.smax),
        })
    }

    /// `self` narrowed by a view of one width (a branch condition); `None`
    /// if nothing remains.
    fn meet(&self, v: View) -> Option<Scalar> {
        let mut b = self.0;
        if v.bits == 64 {
            b.tnum = b.tnum.intersect(v.t)?;
            b.umin = b.umin.max(v.umin);
            b.umax = b.umax.min(v.umax);
            b.smin = b.smin.max(v.smin);
            b.smax = b.smax.min(v.smax);
        } else {
            b.tnum = b.tnum.with_subreg(b.tnum.subreg().intersect(v.t)?);
            if v.umin > v.umax || v.smin > v.smax {
                return None;
            }
            b.u32_min = b.u32_min.max(u32_of(v.umin));
            b.u32_max = b.u32_max.min(u32_of(v.umax));
            b.s32_min = b.s32_min.max(i32_of(v.smin));
            b.s32_max = b.s32_max.min(i32_of(v.smax));
        }
        sync::sync(b).map(Scalar)
    }
}

impl Default for Scalar {
    /// [`Scalar::unknown`].
    fn default() -> Scalar {
        Scalar::unknown()
    }
}

impl fmt::Debug for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Scalar {
    /// A constant as its signed value; otherwise the components that say
    /// something, in the style of the kernel's verifier log:
    /// `scalar(umax=255,var_off=(0x0; 0xff))`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(c) = self.as_const() {
            return write!(f, "{}", sext(64, c));
        }
        let b = &self.0;
        let u = Bounds::UNBOUNDED;
        let mut parts: Vec<String> = Vec::new();
        if b.smin != u.smin {
            parts.push(format!("smin={}", b.smin));
        }
        if b.smax != u.smax {
            parts.push(format!("smax={}", b.smax));
        }
        if b.umin != u.umin {
            parts.push(format!("umin={}", b.umin));
        }
        if b.umax != u.umax {
            parts.push(format!("umax={}", b.umax));
        }
        if b.s32_min != u.s32_min {
            parts.push(format!("smin32={}", b.s32_min));
        }
        if b.s32_max != u.s32_max {
            parts.push(format!("smax32={}", b.s32_max));
        }
        if b.u32_min != u.u32_min {
            parts.push(format!("umin32={}", b.u32_min));
        }
        if b.u32_max != u.u32_max {
            parts.push(format!("umax32={}", b.u32_max));
        }
        if !b.tnum.is_unknown() {
            parts.push(format!("var_off={}", b.tnum));
        }
        write!(f, "scalar({})", parts.join(","))
    }
}
