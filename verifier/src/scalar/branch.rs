//! Branch refinement: what a conditional jump teaches about its operands.
//!
//! On the edge where `if a < b` is taken, `a` is below `b`'s largest value
//! and `b` is above `a`'s smallest; on the other edge, `a >= b`. This is how
//! a bounds check in the program becomes a fact the verifier can use to
//! prove the following memory access safe (the kernel's `reg_set_min_max`).
//! When the facts contradict what is already known, that edge cannot be
//! taken (the kernel's `is_branch_taken`), and the verifier need not
//! explore it: the refinement is `None`.
//!
//! Every condition is refined as a constraint on the views of the compared
//! width: a 32-bit jump (`JMP32`) constrains the low halves only, and bound
//! sync carries what it learned to the 64-bit bounds where it can. The
//! not-taken edge is the negated condition (`<` becomes `>=`, `&` becomes
//! "no common bit").
//!
//! The two operands are refined as independent values. When both are the
//! same register (`if r1 < r1`), the caller must use one of the two results
//! (or their intersection) and knows better than this module that the
//! comparison is decided.

use super::view::{sext, View};
use super::Scalar;
use crate::tnum::Tnum;
use bpfbox_isa::{JmpCond, Width};

/// Whether a conditional jump can go each way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BranchOutcome {
    /// The jump is taken for every possible pair of values.
    AlwaysTaken,
    /// The jump is taken for no possible pair of values.
    NeverTaken,
    /// Either may happen (as far as the scalars tell).
    Unknown,
}

/// A refined pair of operands (`dst`, `src`), or `None` for an edge no
/// pair of possible values takes.
pub type Refined = Option<(Scalar, Scalar)>;

/// The operands of `if dst cond src` refined for each edge: `(taken,
/// not_taken)`. `None` means that edge is impossible: no values in `dst`
/// and `src` go that way.
///
/// Sound: if `concrete::jump(cond, width, a, b)` for some `a` in `dst` and
/// `b` in `src`, then `taken` is `Some` and contains `(a, b)`; otherwise
/// `not_taken` is `Some` and contains `(a, b)`.
pub fn refine(dst: &Scalar, src: &Scalar, cond: JmpCond, width: Width) -> (Refined, Refined) {
    let taken = constrain(dst, src, Relation::from(cond), width);
    let not_taken = constrain(dst, src, Relation::from(cond).negate(), width);
    (taken, not_taken)
}

/// Whether `if dst cond src` is always, never or sometimes taken.
///
/// Consistent with [`refine`]: `NeverTaken` exactly when the taken edge
/// refines to `None`, `AlwaysTaken` exactly when the other edge does.
pub fn branch_outcome(dst: &Scalar, src: &Scalar, cond: JmpCond, width: Width) -> BranchOutcome {
    match refine(dst, src, cond, width) {
        (None, Some(_)) => BranchOutcome::NeverTaken,
        (Some(_), None) => BranchOutcome::AlwaysTaken,
        // (None, None) only for operands that hold no value, which a
        // `Scalar` never does; either answer would be sound.
        _ => BranchOutcome::Unknown,
    }
}

/// A condition and its negations: the eleven jump conditions plus "no bit
/// in common", the negation of `Set`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Relation {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Slt,
    Sle,
    Sgt,
    Sge,
    Set,
    Disjoint,
}

impl From<JmpCond> for Relation {
    fn from(cond: JmpCond) -> Relation {
        match cond {
            JmpCond::Eq => Relation::Eq,
            JmpCond::Ne => Relation::Ne,
            JmpCond::Gt => Relation::Gt,
            JmpCond::Ge => Relation::Ge,
            JmpCond::Lt => Relation::Lt,
            JmpCond::Le => Relation::Le,
            JmpCond::Sgt => Relation::Sgt,
            JmpCond::Sge => Relation::Sge,
            JmpCond::Slt => Relation::Slt,
            JmpCond::Sle => Relation::Sle,
            JmpCond::Set => Relation::Set,
        }
    }
}

impl Relation {
    fn negate(self) -> Relation {
        match self {
            Relation::Eq => Relation::Ne,
            Relation::Ne => Relation::Eq,
            Relation::Lt => Relation::Ge,
            Relation::Ge => Relation::Lt,
            Relation::Gt => Relation::Le,
            Relation::Le => Relation::Gt,
            Relation::Slt => Relation::Sge,
            Relation::Sge => Relation::Slt,
            Relation::Sgt => Relation::Sle,
            Relation::Sle => Relation::Sgt,
            Relation::Set => Relation::Disjoint,
            Relation::Disjoint => Relation::Set,
        }
    }
}

/// The operands restricted to the pairs satisfying `relation`.
fn constrain(dst: &Scalar, src: &Scalar, relation: Relation, width: Width) -> Refined {
    let bits = match width {
        Width::W64 => 64,
        Width::W32 => 32,
    };
    let (a, b) = (dst.view(bits), src.view(bits));
    let (a, b) = match relation {
        Relation::Eq => {
            let both = equal(a, b)?;
            (both, both)
        }
        Relation::Ne => not_equal(a, b)?,
        Relation::Lt => unsigned_less(a, b, true)?,
        Relation::Le => unsigned_less(a, b, false)?,
        Relation::Gt => swap(unsigned_less(b, a, true)?),
        Relation::Ge => swap(unsigned_less(b, a, false)?),
        Relation::Slt => signed_less(a, b, true)?,
        Relation::Sle => signed_less(a, b, false)?,
        Relation::Sgt => swap(signed_less(b, a, true)?),
        Relation::Sge => swap(signed_less(b, a, false)?),
        Relation::Set => common_bit(a, b)?,
        Relation::Disjoint => disjoint(a, b)?,
    };
    Some((dst.meet(a)?, src.meet(b)?))
}

fn swap<T>((x, y): (T, T)) -> (T, T) {
    (y, x)
}

/// `a == b`: both are in the intersection.
fn equal(a: View, b: View) -> Option<View> {
    Some(View {
        bits: a.bits,
        t: a.t.intersect(b.t)?,
        umin: a.umin.max(b.umin),
        umax: a.umax.min(b.umax),
        smin: a.smin.max(b.smin),
        smax: a.smax.min(b.smax),
    })
}

/// `a != b`: only a constant teaches something, by removing its value
/// from the other side.
fn not_equal(a: View, b: View) -> Option<(View, View)> {
    match (a.as_const(), b.as_const()) {
        (Some(x), Some(y)) if x == y => None,
        (_, Some(y)) => Some((exclude(a, y)?, b)),
        (Some(x), _) => Some((a, exclude(b, x)?)),
        _ => Some((a, b)),
    }
}

/// `v` without the value `c`: an end of an interval that equals `c` moves
/// inward, and a tnum with one unknown bit becomes its other value.
fn exclude(mut v: View, c: u64) -> Option<View> {
    let bits = v.bits;
    let signed = sext(bits, c);
    if v.umin == c && v.umax == c {
        return None;
    }
    if v.umin == c {
        v.umin += 1;
    } else if v.umax == c {
        v.umax -= 1;
    }
    if v.smin == signed && v.smax != signed {
        v.smin += 1;
    } else if v.smax == signed && v.smin != signed {
        v.smax -= 1;
    }
    if v.t.mask().count_ones() == 1 && v.t.contains(c) {
        v.t = Tnum::constant(c ^ v.t.mask());
    }
    Some(v)
}

/// `a < b` (`strict`) or `a <= b`, unsigned.
fn unsigned_less(mut a: View, mut b: View, strict: bool) -> Option<(View, View)> {
    let gap = u64::from(strict);
    a.umax = a.umax.min(b.umax.checked_sub(gap)?);
    b.umin = b.umin.max(a.umin.checked_add(gap)?);
    nonempty(a, b)
}

/// `a < b` (`strict`) or `a <= b`, signed.
fn signed_less(mut a: View, mut b: View, strict: bool) -> Option<(View, View)> {
    let gap = i64::from(strict);
    a.smax = a.smax.min(b.smax.checked_sub(gap)?);
    b.smin = b.smin.max(a.smin.checked_add(gap)?);
    nonempty(a, b)
}

/// `a & b != 0`: neither is 0, and if one is a single known bit, the other
/// has it set.
fn common_bit(a: View, b: View) -> Option<(View, View)> {
    if a.t.max() & b.t.max() == 0 {
        return None;
    }
    let (mut a, mut b) = (exclude_zero(a)?, exclude_zero(b)?);
    if let Some(bit) = b.as_const().filter(|c| c.is_power_of_two()) {
        a.t = a.t.intersect(Tnum::new(bit, !bit))?;
    }
    if let Some(bit) = a.as_const().filter(|c| c.is_power_of_two()) {
        b.t = b.t.intersect(Tnum::new(bit, !bit))?;
    }
    nonempty(a, b)
}

fn exclude_zero(v: View) -> Option<View> {
    if v.umin == 0 {
        exclude(v, 0)
    } else {
        Some(v)
    }
}

/// `a & b == 0`: a bit known set in one is clear in the other.
fn disjoint(mut a: View, mut b: View) -> Option<(View, View)> {
    a.t = a.t.intersect(Tnum::new(0, !b.t.value()))?;
    b.t = b.t.intersect(Tnum::new(0, !a.t.value()))?;
    nonempty(a, b)
}

fn nonempty(a: View, b: View) -> Option<(View, View)> {
    let ok = |v: &View| v.umin <= v.umax && v.smin <= v.smax;
    (ok(&a) && ok(&b)).then_some((a, b))
}
