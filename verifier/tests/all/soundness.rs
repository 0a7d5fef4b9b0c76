//! Soundness: every abstract operation contains every concrete result.
//!
//! For random abstract values A, B (see `gen`) and members a ∈ A, b ∈ B, the
//! result of the instruction on (a, b), computed by `concrete` on top of
//! `bpfbox_isa::semantics`, must be contained in the abstract result; a
//! branch edge a concrete pair takes must be refined to a pair containing
//! it. One property per ALU operation, each over both widths.

use crate::gen::{self, abs, cond, config, interesting, size, swap_kind, width, Abs};
use bpfbox_isa::{AluOp, Width};
use bpfbox_verifier::{branch_outcome, concrete, refine, Bounds, BranchOutcome, Scalar, Tnum};
use proptest::prelude::*;

/// The invariants every scalar keeps: its members are in it, and (after
/// sync) each of its four 64-bit bounds is itself a possible value.
fn check_scalar(a: &Abs) -> Result<(), TestCaseError> {
    let s = &a.scalar;
    for &m in &a.members {
        prop_assert!(s.contains(m), "{s} lost member {m:#x}");
    }
    for (name, bound) in [
        ("umin", s.umin()),
        ("umax", s.umax()),
        ("smin", s.smin() as u64),
        ("smax", s.smax() as u64),
    ] {
        prop_assert!(s.contains(bound), "{s}: {name} {bound:#x} is not a member");
    }
    let b = s.bounds();
    prop_assert!(b.tnum.value() & b.tnum.mask() == 0);
    prop_assert!(b.umin <= b.umax && b.smin <= b.smax);
    prop_assert!(b.u32_min <= b.u32_max && b.s32_min <= b.s32_max);
    Ok(())
}

fn check_alu(op: AluOp, a: &Abs, b: &Abs, picks: (u64, u64)) -> Result<(), TestCaseError> {
    check_scalar(a)?;
    check_scalar(b)?;
    let (x, y) = (a.member(picks.0), b.member(picks.1));
    for width in gen::WIDTHS {
        let result = a.scalar.alu(op, width, &b.scalar);
        let z = concrete::alu(op, width, x, y);
        prop_assert!(
            result.contains(z),
            "{op:?} {width:?}: {} op {} = {result}, misses {x:#x} op {y:#x} = {z:#x}",
            a.scalar,
            b.scalar
        );
        // Against a constant operand (an immediate) too.
        let with_const = a.scalar.alu(op, width, &Scalar::constant(y));
        prop_assert!(
            with_const.contains(z),
            "{op:?} {width:?} by constant {y:#x}: {with_const}"
        );
        let on_const = Scalar::constant(x).alu(op, width, &b.scalar);
        prop_assert!(
            on_const.contains(z),
            "{op:?} {width:?} of constant {x:#x}: {on_const}"
        );
    }
    Ok(())
}

macro_rules! alu_soundness {
    ($($name:ident => $op:expr,)*) => {
        proptest! {
            #![proptest_config(config())]
            $(
                #[test]
                fn $name(a in abs(), b in abs(), picks in (any::<u64>(), any::<u64>())) {
                    check_alu($op, &a, &b, picks)?;
                }
            )*
        }
    };
}

alu_soundness! {
    add => AluOp::Add,
    sub => AluOp::Sub,
    mul => AluOp::Mul,
    div => AluOp::Div,
    sdiv => AluOp::SDiv,
    modulo => AluOp::Mod,
    smod => AluOp::SMod,
    or => AluOp::Or,
    and => AluOp::And,
    xor => AluOp::Xor,
    lsh => AluOp::Lsh,
    rsh => AluOp::Rsh,
    arsh => AluOp::Arsh,
    mov => AluOp::Mov,
    movsx8 => AluOp::MovSx8,
    movsx16 => AluOp::MovSx16,
    movsx32 => AluOp::MovSx32,
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn shifts_by_small_unknown_amounts(a in abs(), lo in 0u64..70, len in 0u64..8, pick in any::<u64>(), which in 0usize..3) {
        // Shift counts that are ranges near and past the width.
        let op = [AluOp::Lsh, AluOp::Rsh, AluOp::Arsh][which];
        let counts = Abs { scalar: Scalar::range(lo, lo + len), members: vec![lo, lo + len, lo + pick % (len + 1)] };
        check_alu(op, &a, &counts, (pick, pick >> 7))?;
    }

    #[test]
    fn neg(a in abs(), pick in any::<u64>()) {
        check_scalar(&a)?;
        let x = a.member(pick);
        for width in gen::WIDTHS {
            let result = a.scalar.neg(width);
            prop_assert!(result.contains(concrete::neg(width, x)), "neg {width:?} {}: {result}", a.scalar);
        }
    }

    #[test]
    fn byte_swaps(a in abs(), (kind, bits) in swap_kind(), pick in any::<u64>()) {
        check_scalar(&a)?;
        let x = a.member(pick);
        let result = a.scalar.swap(kind, bits);
        let z = concrete::swap(kind, bits, x);
        prop_assert!(result.contains(z), "{kind:?}{bits} {}: {result} misses {z:#x}", a.scalar);
    }

    #[test]
    fn loads(size in size(), signed in any::<bool>(), raw in interesting()) {
        let s = Scalar::from_load(size, signed);
        prop_assert!(s.contains(concrete::load(size, signed, raw)));
    }

    #[test]
    fn refinement(a in abs(), b in abs(), cond in cond(), width in width(), picks in (any::<u64>(), any::<u64>())) {
        check_scalar(&a)?;
        check_scalar(&b)?;
        let (x, y) = (a.member(picks.0), b.member(picks.1));
        check_refine(&a.scalar, &b.scalar, x, y, cond, width)?;
    }

    #[test]
    fn refinement_against_constants(a in abs(), c in interesting(), cond in cond(), width in width(), pick in any::<u64>()) {
        check_scalar(&a)?;
        let x = a.member(pick);
        let constant = Scalar::constant(c);
        check_refine(&a.scalar, &constant, x, c, cond, width)?;
        check_refine(&constant, &a.scalar, c, x, cond, width)?;
    }

    #[test]
    fn join_contains_both(a in abs(), b in abs(), picks in (any::<u64>(), any::<u64>())) {
        let joined = a.scalar.union(&b.scalar);
        let (x, y) = (a.member(picks.0), b.member(picks.1));
        prop_assert!(joined.contains(x) && joined.contains(y), "{} ∪ {} = {joined}", a.scalar, b.scalar);
        prop_assert!(a.scalar.is_subset_of(&joined), "{} ⊄ {} ∪ {} = {joined}", a.scalar, a.scalar, b.scalar);
        prop_assert!(b.scalar.is_subset_of(&joined), "{} ⊄ {} ∪ {} = {joined}", b.scalar, a.scalar, b.scalar);
        prop_assert_eq!(joined, b.scalar.union(&a.scalar));
        prop_assert!(a.scalar.is_subset_of(&a.scalar));
    }

    #[test]
    fn subset_agrees_with_contains(a in abs(), b in abs(), picks in prop::collection::vec(any::<u64>(), 4)) {
        if a.scalar.is_subset_of(&b.scalar) {
            for pick in picks {
                let x = a.member(pick);
                prop_assert!(b.scalar.contains(x), "{} ⊆ {} but {x:#x}", a.scalar, b.scalar);
            }
        }
    }

    #[test]
    fn sync_keeps_every_value(x in interesting(), deltas in prop::collection::vec(any::<u64>(), 8), mask in any::<u64>(), probe in interesting()) {
        // Bounds built around x, each containing it: sync must keep x.
        let span = |d: u64| d >> (d % 64);
        let span64 = |d: u64| i64::try_from(span(d)).unwrap_or(i64::MAX);
        let span32 = |d: u64| u32::try_from(span(d)).unwrap_or(u32::MAX);
        let span_s32 = |d: u64| i32::try_from(span(d)).unwrap_or(i32::MAX);
        let low = x as u32;
        let raw = Bounds {
            tnum: Tnum::new(x, mask),
            umin: x.saturating_sub(span(deltas[0])),
            umax: x.saturating_add(span(deltas[1])),
            smin: (x as i64).saturating_sub(span64(deltas[2])),
            smax: (x as i64).saturating_add(span64(deltas[3])),
            u32_min: low.saturating_sub(span32(deltas[4])),
            u32_max: low.saturating_add(span32(deltas[5])),
            s32_min: (low as i32).saturating_sub(span_s32(deltas[6])),
            s32_max: (low as i32).saturating_add(span_s32(deltas[7])),
        };
        prop_assert!(raw.contains(x));
        let synced = Scalar::from_bounds(raw).unwrap();
        prop_assert!(synced.contains(x), "{raw:?} synced to {synced} loses {x:#x}");
        // Sync only narrows.
        if synced.contains(probe) {
            prop_assert!(raw.contains(probe));
        }
        // And reaches a fixed point.
        prop_assert_eq!(Scalar::from_bounds(synced.bounds()).unwrap(), synced);
        check_scalar(&Abs { scalar: synced, members: vec![x] })?;
    }
}

fn check_refine(
    a: &Scalar,
    b: &Scalar,
    x: u64,
    y: u64,
    cond: bpfbox_isa::JmpCond,
    width: Width,
) -> Result<(), TestCaseError> {
    let (taken, not_taken) = refine(a, b, cond, width);
    let jumps = concrete::jump(cond, width, x, y);
    let edge = if jumps { taken } else { not_taken };
    let label = if jumps { "taken" } else { "not taken" };
    match edge {
        None => {
            prop_assert!(false, "{a} {cond:?} {b} ({width:?}): {label} edge refined away, but {x:#x}, {y:#x} take it")
        }
        Some((ra, rb)) => {
            prop_assert!(
                ra.contains(x) && rb.contains(y),
                "{a} {cond:?} {b} ({width:?}) {label}: refined to {ra}, {rb}, which misses {x:#x}, {y:#x}"
            );
            prop_assert!(
                ra.is_subset_of(a) && rb.is_subset_of(b),
                "refinement widened"
            );
        }
    }
    match branch_outcome(a, b, cond, width) {
        BranchOutcome::AlwaysTaken => prop_assert!(jumps),
        BranchOutcome::NeverTaken => prop_assert!(!jumps),
        BranchOutcome::Unknown => {}
    }
    Ok(())
}
