//! Bound sync: making the five components of a scalar agree.
//!
//! A [`Bounds`] says five things about one 64-bit value: its known bits, an
//! unsigned and a signed 64-bit interval, and an unsigned and a signed
//! interval for its low 32 bits. The value lies in all five, so each can be
//! narrowed by the others without losing a value. The Linux verifier does
//! this in `reg_bounds_sync` (tnum → bounds, then a fixed sequence of
//! 32 ⇄ 64 and signed ⇄ unsigned deductions, then bounds → tnum). bpfbox
//! reaches the same facts, and a few more, with one exact construction per
//! round:
//!
//! 1. The low 32 bits: intersect the 32-bit unsigned interval, the 32-bit
//!    signed interval (one or two unsigned intervals) and the low halves of
//!    both 64-bit intervals (each one or two intervals, or everything), as
//!    [`Pieces`]. Shrink each piece to its smallest and largest member of
//!    the low half of the tnum. The 32-bit bounds are the hulls.
//! 2. The whole value: intersect the 64-bit unsigned and signed intervals,
//!    then move each end of each piece inward to the nearest value that the
//!    tnum contains *and* whose low half is in the set from step 1. The
//!    64-bit bounds are the hulls, so after sync `umin`, `umax`, `smin` and
//!    `smax` are themselves possible values.
//! 3. The tnum: intersect it with the tnum covering each piece of steps 1
//!    and 2.
//!
//! Rounds repeat until nothing changes (in practice one or two; capped at
//! [`MAX_ROUNDS`], where stopping early is still sound because every round
//! only removes impossible values). An empty intersection anywhere proves
//! that no value fits: sync returns `None`, which is how branch refinement
//! discovers a dead branch.

use super::view::{i32_of, to_unsigned, u32_of, Pieces};
use super::Bounds;

/// Upper bound on sync rounds. Each round keeps every possible value, so
/// stopping early only costs precision.
const MAX_ROUNDS: usize = 8;

/// Upper bound on the alternation between the tnum and the low-half
/// constraint when moving one end of a piece; stopping early keeps a
/// sound (if looser) end.
const MAX_STEPS: usize = 16;

/// Narrows every component by the others until stable. `None` if they
/// admit no value.
pub(crate) fn sync(bounds: Bounds) -> Option<Bounds> {
    if bounds.umin > bounds.umax
        || bounds.smin > bounds.smax
        || bounds.u32_min > bounds.u32_max
        || bounds.s32_min > bounds.s32_max
    {
        return None;
    }
    let mut current = bounds;
    for _ in 0..MAX_ROUNDS {
        let next = round(&current)?;
        if next == current {
            break;
        }
        current = next;
    }
    Some(current)
}

fn round(b: &Bounds) -> Option<Bounds> {
    let low_tnum = b.tnum.subreg();
    let low = Pieces::interval(32, b.u32_min.into(), b.u32_max.into())
        .intersect(&Pieces::circular(
            32,
            to_unsigned(32, b.s32_min.into()),
            to_unsigned(32, b.s32_max.into()),
        ))
        .intersect(&Pieces::project(64, 32, b.umin, b.umax))
        .intersect(&Pieces::project(
            64,
            32,
            to_unsigned(64, b.smin),
            to_unsigned(64, b.smax),
        ))
        .split_sign()
        .refine_with_tnum(low_tnum);
    let (u32_min, u32_max) = low.hull_unsigned()?;
    let (s32_min, s32_max) = low.hull_signed()?;

    let tnum = b.tnum;
    let whole = Pieces::interval(64, b.umin, b.umax)
        .intersect(&Pieces::circular(
            64,
            to_unsigned(64, b.smin),
            to_unsigned(64, b.smax),
        ))
        .split_sign()
        .refine(|lo, hi| {
            let lo = lowest_member(lo, hi, |x| low.next_ge_with_low(tnum.next_ge(x)?))?;
            let hi = highest_member(lo, hi, |x| low.prev_le_with_low(tnum.prev_le(x)?))?;
            Some((lo, hi))
        });
    let (umin, umax) = whole.hull_unsigned()?;
    let (smin, smax) = whole.hull_signed()?;

    let tnum = tnum.intersect(whole.tnum_cover())?;
    let tnum = tnum.with_subreg(tnum.subreg().intersect(low.tnum_cover())?);
    Some(Bounds {
        tnum,
        umin,
        umax,
        smin,
        smax,
        u32_min: u32_of(u32_min),
        u32_max: u32_of(u32_max),
        s32_min: i32_of(s32_min),
        s32_max: i32_of(s32_max),
    })
}

/// The smallest `x` in `lo..=hi` that is a fixed point of `step`, where
/// `step(x)` is the least value `>= x` passing some checks (`None`: none).
/// Iterating from `lo` never passes the true answer, so stopping after
/// [`MAX_STEPS`] returns a sound lower bound.
fn lowest_member(lo: u64, hi: u64, step: impl Fn(u64) -> Option<u64>) -> Option<u64> {
    let mut x = lo;
    for _ in 0..MAX_STEPS {
        let next = step(x).filter(|&next| next <= hi)?;
        if next == x {
            break;
        }
        x = next;
    }
    Some(x)
}

/// The mirror of [`lowest_member`]: the largest fixed point of a step that
/// moves down.
fn highest_member(lo: u64, hi: u64, step: impl Fn(u64) -> Option<u64>) -> Option<u64> {
    let mut x = hi;
    for _ in 0..MAX_STEPS {
        let next = step(x).filter(|&next| next >= lo)?;
        if next == x {
            break;
        }
        x = next;
    }
    Some(x)
}
