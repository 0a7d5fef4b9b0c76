//! Generators of abstract values with known members.
//!
//! An [`Abs`] is a scalar together with concrete values it must contain:
//! built from random constants, joins of constants, unsigned and signed
//! ranges, tnums and loads, and then (recursively) from the results of ALU
//! operations and branch refinements applied to those, with the members
//! carried through the concrete semantics. So the shapes the tests see are
//! the ones a verifier meets, 32-bit wrap-arounds and refined ranges
//! included, and every member is there by construction.

use bpfbox_isa::{AluOp, JmpCond, Size, SwapKind, Width};
use bpfbox_verifier::{concrete, refine, Scalar, Tnum};
use proptest::prelude::*;

/// Cases per property: 2,500, or `PROPTEST_CASES` for a longer run.
pub fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2500);
    ProptestConfig {
        cases,
        failure_persistence: None,
        // ChaCha in a debug build costs more than the code under test.
        rng_algorithm: proptest::test_runner::RngAlgorithm::XorShift,
        ..ProptestConfig::default()
    }
}

/// A scalar and values it contains (at least one).
#[derive(Clone, Debug)]
pub struct Abs {
    pub scalar: Scalar,
    pub members: Vec<u64>,
}

impl Abs {
    fn new(scalar: Scalar, members: Vec<u64>) -> Abs {
        assert!(!members.is_empty());
        Abs { scalar, members }
    }

    /// A member chosen by `pick`: one of the generating values, an extreme
    /// of the scalar's bounds, or a value found near a random point, each
    /// used only if the scalar contains it (the generating values always
    /// are; the tests check that separately).
    pub fn member(&self, pick: u64) -> u64 {
        let s = &self.scalar;
        let members = &self.members;
        let index = usize::try_from(pick % 1000).unwrap();
        let candidate = match pick % 7 {
            0 => s.umin(),
            1 => s.umax(),
            2 => s.smin() as u64,
            3 => s.smax() as u64,
            4 => {
                // A random point inside the unsigned bounds, moved onto the tnum.
                let span = s.umax() - s.umin();
                let offset = if span == u64::MAX {
                    pick
                } else {
                    (pick >> 3) % (span + 1)
                };
                s.tnum().next_ge(s.umin() + offset).unwrap_or(s.umin())
            }
            _ => members[index % members.len()],
        };
        if s.contains(candidate) {
            candidate
        } else {
            members[index % members.len()]
        }
    }
}

pub const ALU_OPS: [AluOp; 17] = [
    AluOp::Add,
    AluOp::Sub,
    AluOp::Mul,
    AluOp::Div,
    AluOp::SDiv,
    AluOp::Or,
    AluOp::And,
    AluOp::Lsh,
    AluOp::Rsh,
    AluOp::Mod,
    AluOp::SMod,
    AluOp::Xor,
    AluOp::Mov,
    AluOp::MovSx8,
    AluOp::MovSx16,
    AluOp::MovSx32,
    AluOp::Arsh,
];

pub const WIDTHS: [Width; 2] = [Width::W64, Width::W32];

pub fn width() -> impl Strategy<Value = Width> {
    prop::sample::select(WIDTHS.to_vec())
}

pub fn alu_op() -> impl Strategy<Value = AluOp> {
    prop::sample::select(ALU_OPS.to_vec())
}

pub fn cond() -> impl Strategy<Value = JmpCond> {
    prop::sample::select(JmpCond::ALL.to_vec())
}

pub fn size() -> impl Strategy<Value = Size> {
    prop::sample::select(Size::ALL.to_vec())
}

pub fn swap_kind() -> impl Strategy<Value = (SwapKind, u8)> {
    (
        prop::sample::select(vec![SwapKind::ToLe, SwapKind::ToBe, SwapKind::Swap]),
        prop::sample::select(vec![16u8, 32, 64]),
    )
}

/// Values near the places where arithmetic changes behaviour.
pub fn interesting() -> impl Strategy<Value = u64> {
    let boundaries = vec![
        0u64,
        1 << 63,
        (1 << 63) - 1,
        0xffff_ffff,
        0x1_0000_0000,
        0x8000_0000,
        0x7fff_ffff,
        0xffff_ffff_8000_0000,
        0xffff_ffff_7fff_ffff,
        0xff,
        0x80,
        0xffff,
        0x8000,
        u64::MAX,
    ];
    prop_oneof![
        3 => 0u64..=70,
        2 => (-70i64..=0).prop_map(|d| d as u64),
        2 => (0u32..64, -3i64..=3).prop_map(|(k, d)| (1u64 << k).wrapping_add(d as u64)),
        3 => (prop::sample::select(boundaries), -5i64..=5).prop_map(|(b, d)| b.wrapping_add(d as u64)),
        2 => any::<u64>(),
    ]
}

/// A sparse or structured mask of unknown bits.
fn mask() -> impl Strategy<Value = u64> {
    prop_oneof![
        (0u32..=64).prop_map(|n| if n == 64 { u64::MAX } else { (1u64 << n) - 1 }),
        (any::<u64>(), any::<u64>()).prop_map(|(a, b)| a & b),
        (any::<u64>(), any::<u64>(), any::<u64>()).prop_map(|(a, b, c)| a & b & c),
        any::<u64>(),
        (0u32..32, 0u32..32).prop_map(|(lo, len)| ((1u64 << len) - 1) << lo),
    ]
}

fn leaf() -> impl Strategy<Value = Abs> {
    prop_oneof![
        // A constant.
        interesting().prop_map(|c| Abs::new(Scalar::constant(c), vec![c])),
        // A join of a few values.
        prop::collection::vec(interesting(), 2..5).prop_map(|values| {
            let scalar = values
                .iter()
                .map(|&v| Scalar::constant(v))
                .reduce(|a, b| a.union(&b))
                .unwrap();
            Abs::new(scalar, values)
        }),
        // An unsigned range.
        (interesting(), interesting(), any::<u64>()).prop_map(|(a, b, r)| {
            let (lo, hi) = (a.min(b), a.max(b));
            let inside = lo
                + if hi - lo == u64::MAX {
                    r
                } else {
                    r % (hi - lo + 1)
                };
            Abs::new(Scalar::range(lo, hi), vec![lo, hi, inside])
        }),
        // A signed range.
        (interesting(), interesting(), any::<u64>()).prop_map(|(a, b, r)| {
            let (lo, hi) = ((a as i64).min(b as i64), (a as i64).max(b as i64));
            let span = hi.wrapping_sub(lo) as u64;
            let inside =
                (lo as u64).wrapping_add(if span == u64::MAX { r } else { r % (span + 1) });
            Abs::new(
                Scalar::signed_range(lo, hi),
                vec![lo as u64, hi as u64, inside],
            )
        }),
        // A tnum.
        (
            interesting(),
            mask(),
            prop::collection::vec(any::<u64>(), 1..4)
        )
            .prop_map(|(value, mask, picks)| {
                let t = Tnum::new(value, mask);
                let members = picks.iter().map(|p| t.value() | (p & t.mask())).collect();
                Abs::new(Scalar::from_tnum(t), members)
            }),
        // A loaded value.
        (
            size(),
            any::<bool>(),
            prop::collection::vec(interesting(), 1..4)
        )
            .prop_map(|(size, signed, raws)| {
                let members = raws
                    .iter()
                    .map(|&r| concrete::load(size, signed, r))
                    .collect();
                Abs::new(Scalar::from_load(size, signed), members)
            }),
    ]
}

/// Applies an ALU operation to abstract values and their members.
pub fn apply(op: AluOp, width: Width, a: &Abs, b: &Abs) -> Abs {
    let scalar = a.scalar.alu(op, width, &b.scalar);
    let members = a
        .members
        .iter()
        .zip(b.members.iter().cycle())
        .map(|(&x, &y)| concrete::alu(op, width, x, y))
        .collect();
    Abs::new(scalar, members)
}

/// Keeps the side of a branch that some member takes.
fn branch(a: &Abs, other: u64, cond: JmpCond, width: Width) -> Abs {
    let (taken, not_taken) = refine(&a.scalar, &Scalar::constant(other), cond, width);
    let (yes, no): (Vec<u64>, Vec<u64>) = a
        .members
        .iter()
        .partition(|&&x| concrete::jump(cond, width, x, other));
    match (taken, not_taken) {
        (Some((s, _)), _) if !yes.is_empty() => Abs::new(s, yes),
        (_, Some((s, _))) if !no.is_empty() => Abs::new(s, no),
        // The refinement is unsound; keep the input so the soundness tests
        // (which check refine directly) report it.
        _ => a.clone(),
    }
}

/// Abstract values of every shape, with members.
pub fn abs() -> impl Strategy<Value = Abs> {
    leaf().prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            (inner.clone(), alu_op(), width(), interesting()).prop_map(|(a, op, w, c)| {
                apply(op, w, &a, &Abs::new(Scalar::constant(c), vec![c]))
            }),
            (inner.clone(), inner.clone(), alu_op(), width())
                .prop_map(|(a, b, op, w)| apply(op, w, &a, &b)),
            (inner.clone(), interesting(), cond(), width())
                .prop_map(|(a, c, cond, w)| branch(&a, c, cond, w)),
            (inner.clone(), inner).prop_map(|(a, b)| {
                let mut members = a.members.clone();
                members.extend(&b.members);
                Abs::new(a.scalar.union(&b.scalar), members)
            }),
        ]
    })
}
