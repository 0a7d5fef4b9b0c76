//! Precision: exact expected results.
//!
//! Soundness alone is satisfied by answering "unknown" everywhere; these
//! tests pin down what the domain knows after each kind of operation, with
//! the facts a verifier needs (a mask bounds a value, a bounds check bounds
//! an index, a 32-bit operation clears the upper half).

use bpfbox_isa::AluOp::{self, *};
use bpfbox_isa::Width::{W32, W64};
use bpfbox_isa::{JmpCond, Size, SwapKind};
use bpfbox_verifier::{branch_outcome, concrete, refine, Bounds, BranchOutcome, Scalar, Tnum};
use proptest::prelude::*;

use crate::gen::{config, interesting, ALU_OPS, WIDTHS};

fn k(x: u64) -> Scalar {
    Scalar::constant(x)
}

fn ks(x: i64) -> Scalar {
    Scalar::constant(x as u64)
}

fn r(lo: u64, hi: u64) -> Scalar {
    Scalar::range(lo, hi)
}

fn sr(lo: i64, hi: i64) -> Scalar {
    Scalar::signed_range(lo, hi)
}

fn unsigned(s: &Scalar) -> (u64, u64) {
    (s.umin(), s.umax())
}

fn signed(s: &Scalar) -> (i64, i64) {
    (s.smin(), s.smax())
}

fn low(s: &Scalar) -> (u32, u32, i32, i32) {
    (s.u32_min(), s.u32_max(), s.s32_min(), s.s32_max())
}

fn u32_load() -> Scalar {
    Scalar::from_load(Size::W, false)
}

fn taken(a: &Scalar, b: &Scalar, cond: JmpCond, w: bpfbox_isa::Width) -> (Scalar, Scalar) {
    refine(a, b, cond, w).0.expect("taken edge possible")
}

fn not_taken(a: &Scalar, b: &Scalar, cond: JmpCond, w: bpfbox_isa::Width) -> (Scalar, Scalar) {
    refine(a, b, cond, w).1.expect("not-taken edge possible")
}

proptest! {
    #![proptest_config(config())]

    /// Constant op constant is that constant, for every operation and width.
    #[test]
    fn constants_fold(a in interesting(), b in interesting()) {
        for op in ALU_OPS {
            for w in WIDTHS {
                prop_assert_eq!(k(a).alu(op, w, &k(b)), k(concrete::alu(op, w, a, b)), "{:?} {:?}", op, w);
            }
        }
        for w in WIDTHS {
            prop_assert_eq!(k(a).neg(w), k(concrete::neg(w, a)));
        }
        for kind in [SwapKind::ToLe, SwapKind::ToBe, SwapKind::Swap] {
            for bits in [16, 32, 64] {
                prop_assert_eq!(k(a).swap(kind, bits), k(concrete::swap(kind, bits, a)));
            }
        }
    }

    /// An operation that only needs the low halves folds even when the
    /// upper halves are unknown.
    #[test]
    fn thirty_two_bit_operations_fold_on_known_low_halves(a in any::<u32>(), b in any::<u32>()) {
        let x = Scalar::from_tnum(Tnum::new(a.into(), 0xffff_ffff_0000_0000));
        let y = Scalar::from_tnum(Tnum::new(b.into(), 0xffff_ffff_0000_0000));
        for op in ALU_OPS {
            let expected = concrete::alu(op, W32, a.into(), b.into());
            prop_assert_eq!(x.alu(op, W32, &y), k(expected), "{:?}", op);
        }
    }

    /// Join and refinement by a constant are exact on constants.
    #[test]
    fn equality_with_a_constant_makes_a_constant(a in interesting(), w in 0usize..2) {
        let (eq, _) = taken(&Scalar::unknown(), &k(a), JmpCond::Eq, WIDTHS[w]);
        match WIDTHS[w] {
            W64 => prop_assert_eq!(eq, k(a)),
            W32 => prop_assert_eq!(eq.tnum().subreg(), Tnum::constant(a & 0xffff_ffff)),
        }
    }
}

#[test]
fn addition_of_ranges() {
    // [0, 10] + 5 is exactly [5, 15].
    let sum = r(0, 10).alu(Add, W64, &k(5));
    assert_eq!(unsigned(&sum), (5, 15));
    assert_eq!(signed(&sum), (5, 15));
    assert_eq!(low(&sum), (5, 15, 5, 15));
    assert_eq!(sum.tnum(), Tnum::new(0, 0xf));
    // [0, 10] + [100, 200]
    let sum = r(0, 10).alu(Add, W64, &r(100, 200));
    assert_eq!(unsigned(&sum), (100, 210));
    // Overflowing at both ends by the same amount stays precise.
    let sum = r(u64::MAX - 1, u64::MAX).alu(Add, W64, &k(2));
    assert_eq!(unsigned(&sum), (0, 1));
    // Overflowing at one end only loses the unsigned bounds but not the signed ones.
    let sum = r(u64::MAX - 1, u64::MAX).alu(Add, W64, &r(1, 2));
    assert_eq!(signed(&sum), (-1, 1));
    assert_eq!(unsigned(&sum), (0, u64::MAX));
    // Subtraction.
    let diff = r(10, 20).alu(Sub, W64, &r(0, 5));
    assert_eq!(unsigned(&diff), (5, 20));
    let diff = k(0).alu(Sub, W64, &r(1, 3));
    assert_eq!(signed(&diff), (-3, -1));
}

#[test]
fn thirty_two_bit_arithmetic_wraps_and_zero_extends() {
    // A u32 plus one, in 32 bits, may wrap to 0: the result is any u32,
    // and the upper half is known zero.
    let x = u32_load().alu(Add, W32, &k(1));
    assert_eq!(unsigned(&x), (0, u64::from(u32::MAX)));
    assert_eq!(signed(&x), (0, i64::from(u32::MAX)));
    assert_eq!(x.tnum(), Tnum::new(0, 0xffff_ffff));
    // In 64 bits it cannot wrap.
    let x = u32_load().alu(Add, W64, &k(1));
    assert_eq!(unsigned(&x), (1, 1 << 32));
    // A 32-bit result that wraps by the same amount at both ends is exact.
    let x = r(0xffff_fff0, 0xffff_ffff).alu(Add, W32, &k(0x20));
    assert_eq!(unsigned(&x), (0x10, 0x1f));
    // The signed 32-bit view survives a wrap the unsigned view cannot follow:
    // the low halves of [0xffff_fff0, 0x1_0000_0000] are [-16, 0] as i32.
    let x = r(0xffff_fff0, 0x1_0000_0000).alu(Add, W32, &k(0x20));
    assert_eq!(unsigned(&x), (0x10, 0x20));
    // 64-bit operations keep separate 32-bit bounds.
    let x = r(0x1_0000_0000, 0x1_0000_0010).alu(Add, W64, &k(1));
    assert_eq!(low(&x), (1, 0x11, 1, 0x11));
    // mov32 zero-extends.
    let x = Scalar::unknown().alu(Mov, W32, &Scalar::unknown());
    assert_eq!(unsigned(&x), (0, 0xffff_ffff));
    let x = Scalar::unknown().alu(Mov, W32, &ks(-1));
    assert_eq!(x, k(0xffff_ffff));
}

#[test]
fn multiplication() {
    // The paper's example as a scalar: {1, 3} * 3 = {3, 9}. The tnum of the
    // O(n) algorithm is xxx1; the interval [3, 9] sharpens that.
    let x = Scalar::from_tnum(Tnum::new(1, 2));
    let product = x.alu(Mul, W64, &k(3));
    assert_eq!(unsigned(&product), (3, 9));
    assert_eq!(product.tnum(), Tnum::new(1, 0xe));
    assert_eq!(Tnum::constant(3).mul(Tnum::new(1, 2)), Tnum::new(1, 0xe));
    // Multiplying by a power of two clears the low bits.
    let product = u32_load().alu(Mul, W64, &k(8));
    assert_eq!(product.tnum(), Tnum::new(0, 0x7_ffff_fff8));
    assert_eq!(unsigned(&product), (0, 0x7_ffff_fff8));
    // Signed ranges multiply through their corners.
    let product = sr(-3, 2).alu(Mul, W64, &sr(-5, 4));
    assert_eq!(signed(&product), (-12, 15));
}

#[test]
fn masks_bound_values() {
    let x = Scalar::unknown().alu(And, W64, &k(0xff));
    assert_eq!(unsigned(&x), (0, 255));
    assert_eq!(signed(&x), (0, 255));
    assert_eq!(x.tnum(), Tnum::new(0, 0xff));
    let x = r(0, 0xff).alu(And, W64, &k(0xf0));
    assert_eq!(x.tnum(), Tnum::new(0, 0xf0));
    assert_eq!(unsigned(&x), (0, 0xf0));
    let x = r(0x10, 0x1f).alu(Or, W64, &k(0x100));
    assert_eq!(unsigned(&x), (0x110, 0x11f));
    let x = r(0, 0xff).alu(Xor, W64, &k(0xff));
    assert_eq!(unsigned(&x), (0, 0xff));
    // A negative operand keeps an and/or result in the negative half.
    let x = sr(-8, -1).alu(Or, W64, &r(0, 3));
    assert_eq!(signed(&x), (-8, -1));
    // A low-bit mask is a truncation: the low bytes of [-100, -1] are
    // [0x9c, 0xff].
    let x = sr(-100, -1).alu(And, W64, &k(0xff));
    assert_eq!(unsigned(&x), (0x9c, 0xff));
    let x = r(0x105, 0x107).alu(And, W32, &k(0xff));
    assert_eq!(x, r(5, 7));
}

#[test]
fn division_and_modulo() {
    // Division by zero gives 0; modulo by zero leaves the dividend.
    assert_eq!(r(5, 10).alu(Div, W64, &k(0)), k(0));
    assert_eq!(r(5, 10).alu(Mod, W64, &k(0)), r(5, 10));
    assert_eq!(r(5, 10).alu(Mod, W32, &k(0)), r(5, 10));
    assert_eq!(
        unsigned(&Scalar::unknown().alu(Mod, W32, &k(0))),
        (0, 0xffff_ffff)
    );
    assert_eq!(r(5, 10).alu(SDiv, W64, &k(0)), k(0));
    assert_eq!(sr(-5, 10).alu(SMod, W64, &k(0)), sr(-5, 10));
    // Ranges.
    assert_eq!(unsigned(&r(100, 200).alu(Div, W64, &r(2, 4))), (25, 100));
    assert_eq!(unsigned(&r(100, 200).alu(Div, W64, &r(0, 4))), (0, 200));
    assert_eq!(unsigned(&r(100, 200).alu(Mod, W64, &r(1, 10))), (0, 9));
    assert_eq!(r(100, 200).alu(Mod, W64, &r(300, 400)), r(100, 200));
    // INT_MIN / -1 is INT_MIN, INT_MIN % -1 is 0.
    assert_eq!(ks(i64::MIN).alu(SDiv, W64, &ks(-1)), ks(i64::MIN));
    assert_eq!(ks(i64::MIN).alu(SMod, W64, &ks(-1)), k(0));
    assert_eq!(k(0x8000_0000).alu(SDiv, W32, &ks(-1)), k(0x8000_0000));
    assert_eq!(k(0x8000_0000).alu(SMod, W32, &ks(-1)), k(0));
    // Signed ranges.
    assert_eq!(signed(&sr(-100, -50).alu(SDiv, W64, &k(7))), (-14, -7));
    assert_eq!(signed(&sr(-100, -50).alu(SDiv, W64, &sr(-7, -1))), (7, 100));
    assert_eq!(
        signed(&sr(-100, 100).alu(SDiv, W64, &sr(-2, 2))),
        (-100, 100)
    );
    assert_eq!(signed(&sr(-100, 100).alu(SMod, W64, &k(7))), (-6, 6));
    assert_eq!(signed(&sr(0, 100).alu(SMod, W64, &sr(-7, -3))), (0, 6));
    assert_eq!(sr(0, 5).alu(SMod, W64, &k(7)), sr(0, 5));
}

#[test]
fn shifts() {
    // By a constant: exact.
    assert_eq!(unsigned(&Scalar::unknown().alu(Rsh, W64, &k(60))), (0, 15));
    assert_eq!(unsigned(&Scalar::unknown().alu(Rsh, W32, &k(28))), (0, 15));
    assert_eq!(signed(&sr(-16, 15).alu(Arsh, W64, &k(2))), (-4, 3));
    assert_eq!(low(&sr(-16, 15).alu(Arsh, W32, &k(2))).2, -4);
    let x = r(1, 3).alu(Lsh, W64, &k(4));
    assert_eq!(unsigned(&x), (16, 48));
    assert_eq!(x.tnum(), Tnum::new(0, 0x30));
    // Counts are masked: << 65 is << 1.
    let x = u32_load().alu(Lsh, W64, &k(65));
    assert_eq!(unsigned(&x), (0, 0x1_ffff_fffe));
    assert_eq!(x.tnum(), Tnum::new(0, 0x1_ffff_fffe));
    let x = u32_load().alu(Rsh, W32, &k(33));
    assert_eq!(unsigned(&x), (0, 0x7fff_ffff));
    // By an unknown amount: the join over every possible count.
    let x = k(1).alu(Lsh, W64, &r(0, 3));
    assert_eq!(unsigned(&x), (1, 8));
    assert_eq!(x.tnum(), Tnum::new(0, 0xf));
    let x = k(0x80).alu(Rsh, W64, &r(64 + 4, 64 + 7));
    assert_eq!(unsigned(&x), (1, 8));
    let x = ks(-64).alu(Arsh, W64, &r(0, 6));
    assert_eq!(signed(&x), (-64, -1));
}

#[test]
fn negation_and_sign_extension() {
    assert_eq!(signed(&r(1, 10).neg(W64)), (-10, -1));
    assert_eq!(unsigned(&r(1, 10).neg(W32)), (0xffff_fff6, 0xffff_ffff));
    // movsx8 of a byte: [-128, 127]; of [0, 100]: unchanged.
    let x = Scalar::unknown().alu(MovSx8, W64, &r(0, 255));
    assert_eq!(signed(&x), (-128, 127));
    assert_eq!(low(&x), (0, u32::MAX, -128, 127));
    assert_eq!(Scalar::unknown().alu(MovSx8, W64, &r(0, 100)), r(0, 100));
    // The low byte of [0x180, 0x181] is [0x80, 0x81]: as i8, [-128, -127].
    let x = Scalar::unknown().alu(MovSx8, W64, &r(0x180, 0x181));
    assert_eq!(signed(&x), (-128, -127));
    let x = Scalar::unknown().alu(MovSx16, W32, &r(0x8000, 0x8001));
    assert_eq!(unsigned(&x), (0xffff_8000, 0xffff_8001));
    let x = Scalar::unknown().alu(MovSx32, W64, &u32_load());
    assert_eq!(signed(&x), (i64::from(i32::MIN), i64::from(i32::MAX)));
    // Sign-extending loads.
    let x = Scalar::from_load(Size::B, true);
    assert_eq!(signed(&x), (-128, 127));
    assert_eq!(low(&x), (0, u32::MAX, -128, 127));
    let x = Scalar::from_load(Size::H, false);
    assert_eq!(unsigned(&x), (0, 0xffff));
    assert_eq!(x.tnum(), Tnum::new(0, 0xffff));
    assert_eq!(Scalar::from_load(Size::DW, true), Scalar::unknown());
}

#[test]
fn byte_swaps() {
    // Known bits move with their bytes.
    let x = Scalar::from_tnum(Tnum::new(0x12, 0x0f00));
    assert_eq!(x.swap(SwapKind::Swap, 16).tnum(), Tnum::new(0x1200, 0x000f));
    assert_eq!(k(0xff).swap(SwapKind::Swap, 32), k(0xff00_0000));
    let x = Scalar::from_load(Size::H, false).swap(SwapKind::Swap, 16);
    assert_eq!(unsigned(&x), (0, 0xffff));
    let x = Scalar::unknown().swap(SwapKind::Swap, 32);
    assert_eq!(unsigned(&x), (0, 0xffff_ffff));
    // On a little-endian host, le16 is a truncation and keeps ranges.
    if cfg!(target_endian = "little") {
        let x = r(0x1_0005, 0x1_0009).swap(SwapKind::ToLe, 16);
        assert_eq!(x, r(5, 9));
        assert_eq!(r(3, 7).swap(SwapKind::ToLe, 64), r(3, 7));
    }
}

#[test]
fn bounds_checks_refine() {
    // if x < 10
    let x = Scalar::unknown();
    let (t, _) = taken(&x, &k(10), JmpCond::Lt, W64);
    assert_eq!(unsigned(&t), (0, 9));
    assert_eq!(t.tnum(), Tnum::new(0, 0xf));
    let (f, _) = not_taken(&x, &k(10), JmpCond::Lt, W64);
    assert_eq!(f.umin(), 10);
    // if x s> -1
    let (t, _) = taken(&x, &ks(-1), JmpCond::Sgt, W64);
    assert_eq!(signed(&t), (0, i64::MAX));
    assert_eq!(unsigned(&t), (0, i64::MAX as u64));
    let (f, _) = not_taken(&x, &ks(-1), JmpCond::Sgt, W64);
    assert_eq!(signed(&f), (i64::MIN, -1));
    // Two unknown operands: a in [0, 100] < b in [50, 60].
    let (a, b) = (r(0, 100), r(50, 60));
    let (ta, tb) = taken(&a, &b, JmpCond::Lt, W64);
    assert_eq!((unsigned(&ta), unsigned(&tb)), ((0, 59), (50, 60)));
    let (fa, fb) = not_taken(&a, &b, JmpCond::Lt, W64);
    assert_eq!((unsigned(&fa), unsigned(&fb)), ((50, 100), (50, 60)));
    let (ea, eb) = taken(&r(0, 100), &r(50, 200), JmpCond::Eq, W64);
    assert_eq!((ea, eb), (r(50, 100), r(50, 100)));
    let (ta, tb) = taken(&sr(-10, 10), &sr(-5, 5), JmpCond::Sle, W64);
    assert_eq!((signed(&ta), signed(&tb)), ((-10, 5), (-5, 5)));
    // != removes an end.
    assert_eq!(taken(&r(0, 10), &k(0), JmpCond::Ne, W64).0, r(1, 10));
    assert_eq!(not_taken(&r(0, 10), &k(0), JmpCond::Ne, W64).0, k(0));
    assert_eq!(taken(&k(7), &r(7, 8), JmpCond::Ne, W64).1, k(8));
    // A one-bit tnum minus one of its values is the other.
    let x = Scalar::from_tnum(Tnum::new(0x10, 0x100));
    assert_eq!(taken(&x, &k(0x110), JmpCond::Ne, W64).0, k(0x10));
}

#[test]
fn bit_tests_refine() {
    let x = Scalar::unknown();
    let (t, _) = taken(&x, &k(8), JmpCond::Set, W64);
    assert_eq!(t.tnum(), Tnum::new(8, !8));
    assert_eq!(t.umin(), 8);
    let (f, _) = not_taken(&x, &k(8), JmpCond::Set, W64);
    assert_eq!(f.tnum(), Tnum::new(0, !8));
    // Any set bit means non-zero.
    assert_eq!(taken(&r(0, 3), &k(3), JmpCond::Set, W64).0, r(1, 3));
    assert_eq!(
        branch_outcome(&r(0, 7), &k(8), JmpCond::Set, W64),
        BranchOutcome::NeverTaken
    );
    assert_eq!(
        branch_outcome(&r(8, 15), &k(8), JmpCond::Set, W64),
        BranchOutcome::AlwaysTaken
    );
    // jset32 looks at the low halves only.
    assert_eq!(
        branch_outcome(&k(1 << 32), &k(u64::MAX), JmpCond::Set, W32),
        BranchOutcome::NeverTaken
    );
}

#[test]
fn decided_branches() {
    use BranchOutcome::*;
    assert_eq!(
        branch_outcome(&r(0, 5), &k(10), JmpCond::Lt, W64),
        AlwaysTaken
    );
    assert_eq!(
        branch_outcome(&r(10, 20), &k(10), JmpCond::Lt, W64),
        NeverTaken
    );
    assert_eq!(branch_outcome(&r(5, 20), &k(10), JmpCond::Lt, W64), Unknown);
    assert_eq!(branch_outcome(&k(3), &k(3), JmpCond::Eq, W64), AlwaysTaken);
    assert_eq!(branch_outcome(&k(3), &k(3), JmpCond::Ne, W64), NeverTaken);
    // An even number never equals 3 (the tnums disagree on bit 0).
    let even = Scalar::from_tnum(Tnum::new(0, !1));
    assert_eq!(branch_outcome(&even, &k(3), JmpCond::Eq, W64), NeverTaken);
    // Signed and unsigned views of the same value.
    assert_eq!(
        branch_outcome(&ks(-1), &k(0), JmpCond::Slt, W64),
        AlwaysTaken
    );
    assert_eq!(
        branch_outcome(&ks(-1), &k(0), JmpCond::Gt, W64),
        AlwaysTaken
    );
    assert_eq!(
        branch_outcome(&k(0xffff_ffff), &k(0), JmpCond::Slt, W32),
        AlwaysTaken
    );
    assert_eq!(
        branch_outcome(&k(0xffff_ffff), &k(0), JmpCond::Slt, W64),
        NeverTaken
    );
    // The upper halves do not matter to a 32-bit comparison.
    assert_eq!(
        branch_outcome(&r(0x1_0000_0000, 0x1_0000_0005), &k(10), JmpCond::Lt, W32),
        AlwaysTaken
    );
}

#[test]
fn thirty_two_bit_branches_reach_the_whole_register() {
    // On an unknown 64-bit value, `if w1 < 10` bounds the low half only.
    let (t, _) = taken(&Scalar::unknown(), &k(10), JmpCond::Lt, W32);
    assert_eq!(low(&t), (0, 9, 0, 9));
    assert_eq!(t.tnum(), Tnum::new(0, 0xffff_ffff_0000_000f));
    assert_eq!(unsigned(&t), (0, 0xffff_ffff_0000_0009));
    // On a zero-extended value it bounds the register.
    let (t, _) = taken(&u32_load(), &k(10), JmpCond::Lt, W32);
    assert_eq!(t, r(0, 9));
    // A negative low half, as i32, is a large u32.
    let (t, _) = taken(&u32_load(), &k(0), JmpCond::Slt, W32);
    assert_eq!(unsigned(&t), (0x8000_0000, 0xffff_ffff));
}

#[test]
fn bound_sync() {
    let sync = |b: Bounds| Scalar::from_bounds(b).unwrap();
    // umax 9: bits above 3 are zero, and the value is non-negative.
    let x = sync(Bounds {
        umax: 9,
        ..Bounds::UNBOUNDED
    });
    assert_eq!(x.tnum(), Tnum::new(0, 0xf));
    assert_eq!(signed(&x), (0, 9));
    assert_eq!(low(&x), (0, 9, 0, 9));
    // 64 → 32: inside one 4 GiB block the low halves are an interval.
    let x = sync(Bounds {
        umin: (1 << 32) + 5,
        umax: (1 << 32) + 10,
        ..Bounds::UNBOUNDED
    });
    assert_eq!(low(&x), (5, 10, 5, 10));
    assert_eq!(x.tnum(), Tnum::new(1 << 32, 0xf));
    // 32 → 64: low half in [5, 10] and the value below 2^32 + 3.
    let x = sync(Bounds {
        umax: (1 << 32) + 3,
        u32_min: 5,
        u32_max: 10,
        ..Bounds::UNBOUNDED
    });
    assert_eq!(unsigned(&x), (5, 10));
    // Signed → unsigned.
    let x = sync(Bounds {
        smin: 0,
        smax: 100,
        ..Bounds::UNBOUNDED
    });
    assert_eq!(unsigned(&x), (0, 100));
    // Tnum → bounds: the top bit known set makes the value negative.
    let x = Scalar::from_tnum(Tnum::new(1 << 63, 0xff));
    assert_eq!(signed(&x), (i64::MIN, i64::MIN + 255));
    assert_eq!(unsigned(&x), (1 << 63, (1 << 63) + 255));
    // Tnum ∩ range: multiples of 16 in [1, 100] are [16, 96].
    let x = sync(Bounds {
        tnum: Tnum::new(0, 0xf0),
        umin: 1,
        umax: 100,
        ..Bounds::UNBOUNDED
    });
    assert_eq!(unsigned(&x), (16, 96));
    // Contradictions are reported.
    assert!(Scalar::from_bounds(Bounds {
        tnum: Tnum::new(0, !1),
        umin: 3,
        umax: 3,
        ..Bounds::UNBOUNDED
    })
    .is_err());
    assert!(Scalar::from_bounds(Bounds {
        umin: 3,
        umax: 2,
        ..Bounds::UNBOUNDED
    })
    .is_err());
    assert!(Scalar::from_bounds(Bounds {
        smin: 0,
        umin: 1 << 63,
        ..Bounds::UNBOUNDED
    })
    .is_err());
}

#[test]
fn join_and_subset() {
    let x = k(1).union(&k(3));
    assert_eq!(x.tnum(), Tnum::new(1, 2));
    assert_eq!(unsigned(&x), (1, 3));
    assert!(!x.contains(2));
    assert_eq!(r(0, 10).union(&r(20, 30)), r(0, 30));
    assert_eq!(signed(&ks(-1).union(&k(1))), (-1, 1));
    assert!(r(0, 10).is_subset_of(&r(0, 20)));
    assert!(!r(0, 20).is_subset_of(&r(0, 10)));
    assert!(k(5).is_subset_of(&Scalar::unknown()));
    assert!(!Scalar::unknown().is_subset_of(&k(5)));
    assert!(k(5).is_subset_of(&k(5)));
    assert!(!k(5).is_subset_of(&k(6)));
    assert!(k(4).is_subset_of(&Scalar::from_tnum(Tnum::new(0, 0xc))));
}

#[test]
fn display_in_the_kernel_style() {
    assert_eq!(k(5).to_string(), "5");
    assert_eq!(ks(-1).to_string(), "-1");
    assert_eq!(
        r(0, 255).to_string(),
        "scalar(smin=0,smax=255,umax=255,smin32=0,smax32=255,umax32=255,var_off=(0x0; 0xff))"
    );
    assert_eq!(Scalar::unknown().to_string(), "scalar()");
}

#[test]
fn every_operation_has_a_transfer_function() {
    // A guard for the op lists above: the tests cover every ALU operation.
    assert_eq!(ALU_OPS.len(), 17);
    let unique: std::collections::HashSet<AluOp> = ALU_OPS.into_iter().collect();
    assert_eq!(unique.len(), 17);
}
