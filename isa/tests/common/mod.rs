//! Proptest strategies shared by the integration tests: every valid
//! instruction form, and whole valid programs with jumps, local calls and
//! code addresses that land where the strict decoder wants them.

// Each test binary uses its own subset of these strategies.
#![allow(dead_code)]

use bpfbox_isa::{
    AluOp, AtomicOp, CallTarget, Instruction, JmpCond, LddwKind, LegacyMode, Reg, Size, Source,
    SwapKind, Width,
};
use proptest::prelude::*;

/// Any register, r0..=r10.
pub fn reg() -> impl Strategy<Value = Reg> {
    (0u8..=10).prop_map(|n| Reg::new(n).unwrap())
}

/// A register an instruction may write: r0..=r9.
pub fn writable_reg() -> impl Strategy<Value = Reg> {
    (0u8..=9).prop_map(|n| Reg::new(n).unwrap())
}

pub fn width() -> impl Strategy<Value = Width> {
    prop_oneof![Just(Width::W32), Just(Width::W64)]
}

/// Immediates biased towards the edges of the field.
pub fn imm() -> impl Strategy<Value = i32> {
    prop_oneof![
        3 => any::<i32>(),
        1 => -3i32..=3,
        1 => prop::sample::select(vec![i32::MIN, i32::MAX, -1, 0xffff, 0x8000]),
    ]
}

pub fn off() -> impl Strategy<Value = i16> {
    prop_oneof![3 => any::<i16>(), 1 => -3i16..=3, 1 => prop::sample::select(vec![i16::MIN, i16::MAX])]
}

pub fn source() -> impl Strategy<Value = Source> {
    prop_oneof![reg().prop_map(Source::Reg), imm().prop_map(Source::Imm)]
}

fn alu() -> impl Strategy<Value = Instruction> {
    let plain = prop::sample::select(vec![
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
        AluOp::Arsh,
    ]);
    let with_any_source =
        (width(), plain, writable_reg(), source()).prop_map(|(width, op, dst, src)| {
            Instruction::Alu {
                width,
                op,
                dst,
                src,
            }
        });
    // Sign-extending moves take a register; the 32-bit source only exists
    // in the 64-bit class.
    let sign_extending = (
        prop::sample::select(vec![
            (Width::W64, AluOp::MovSx8),
            (Width::W64, AluOp::MovSx16),
            (Width::W64, AluOp::MovSx32),
            (Width::W32, AluOp::MovSx8),
            (Width::W32, AluOp::MovSx16),
        ]),
        writable_reg(),
        reg(),
    )
        .prop_map(|((width, op), dst, src)| Instruction::Alu {
            width,
            op,
            dst,
            src: Source::Reg(src),
        });
    prop_oneof![4 => with_any_source, 1 => sign_extending]
}

fn size() -> impl Strategy<Value = Size> {
    prop::sample::select(Size::ALL.to_vec())
}

fn narrow_size() -> impl Strategy<Value = Size> {
    prop::sample::select(vec![Size::B, Size::H, Size::W])
}

fn lddw_kind() -> impl Strategy<Value = LddwKind> {
    prop::sample::select(vec![
        LddwKind::Imm,
        LddwKind::MapFd,
        LddwKind::MapValue,
        LddwKind::VarAddr,
        LddwKind::CodeAddr,
        LddwKind::MapIdx,
        LddwKind::MapIdxValue,
    ])
}

fn memory() -> impl Strategy<Value = Instruction> {
    let load = (narrow_size(), any::<bool>(), writable_reg(), reg(), off()).prop_map(
        |(size, signed, dst, src, off)| Instruction::Load {
            size,
            signed,
            dst,
            src,
            off,
        },
    );
    let load64 = (writable_reg(), reg(), off()).prop_map(|(dst, src, off)| Instruction::Load {
        size: Size::DW,
        signed: false,
        dst,
        src,
        off,
    });
    let store =
        (size(), reg(), off(), source()).prop_map(|(size, dst, off, src)| Instruction::Store {
            size,
            dst,
            off,
            src,
        });
    let atomic = (
        prop::sample::select(vec![Size::W, Size::DW]),
        prop::sample::select(AtomicOp::ALL.to_vec()),
        any::<bool>(),
        reg(),
        reg(),
        off(),
    )
        .prop_map(|(size, op, fetch, dst, src, off)| {
            // Exchanges always fetch; a fetching atomic writes its source,
            // so that cannot be r10.
            let fetch = fetch || matches!(op, AtomicOp::Xchg | AtomicOp::CmpXchg);
            let src = if fetch && src == Reg::R10 {
                Reg::R9
            } else {
                src
            };
            Instruction::Atomic {
                size,
                op,
                fetch,
                dst,
                src,
                off,
            }
        });
    let legacy = (any::<bool>(), narrow_size(), reg(), imm()).prop_map(|(abs, size, src, imm)| {
        if abs {
            // LD_ABS has no register; the decoder reports r0.
            Instruction::LegacyLoad {
                mode: LegacyMode::Abs,
                size,
                src: Reg::R0,
                imm,
            }
        } else {
            Instruction::LegacyLoad {
                mode: LegacyMode::Ind,
                size,
                src,
                imm,
            }
        }
    });
    prop_oneof![load, load64, store, atomic, legacy]
}

/// Instructions with no target: everything but jumps, local calls and
/// code-address `lddw`.
pub fn straight_line() -> impl Strategy<Value = Instruction> {
    let neg = (width(), writable_reg()).prop_map(|(width, dst)| Instruction::Neg { width, dst });
    let swap = (
        prop::sample::select(vec![SwapKind::ToLe, SwapKind::ToBe, SwapKind::Swap]),
        prop::sample::select(vec![16u8, 32, 64]),
        writable_reg(),
    )
        .prop_map(|(kind, bits, dst)| Instruction::Swap { kind, bits, dst });
    let lddw =
        (lddw_kind(), writable_reg(), imm(), imm()).prop_map(|(kind, dst, imm, next_imm)| {
            let kind = if kind == LddwKind::CodeAddr {
                LddwKind::Imm
            } else {
                kind
            };
            Instruction::LoadImm64 {
                kind,
                dst,
                imm,
                next_imm,
            }
        });
    let call = prop_oneof![
        imm().prop_map(|n| Instruction::Call(CallTarget::Helper(n))),
        imm().prop_map(|n| Instruction::Call(CallTarget::Kfunc(n))),
        reg().prop_map(|r| Instruction::Call(CallTarget::Register(r))),
        Just(Instruction::Exit),
    ];
    prop_oneof![6 => alu(), 1 => neg, 1 => swap, 1 => lddw, 4 => memory(), 2 => call]
}

fn cond() -> impl Strategy<Value = JmpCond> {
    prop::sample::select(JmpCond::ALL.to_vec())
}

/// Any instruction that decodes, on its own, back to itself (targets
/// unchecked).
pub fn instruction() -> impl Strategy<Value = Instruction> {
    let ja = prop_oneof![
        off().prop_map(|off| Instruction::Ja {
            offset: off.into(),
            long: false
        }),
        imm().prop_map(|offset| Instruction::Ja { offset, long: true }),
    ];
    let jump =
        (width(), cond(), reg(), source(), off()).prop_map(|(width, cond, dst, src, off)| {
            Instruction::Jump {
                width,
                cond,
                dst,
                src,
                off,
            }
        });
    let targeted = prop_oneof![
        imm().prop_map(|n| Instruction::Call(CallTarget::Local(n))),
        (writable_reg(), imm(), imm()).prop_map(|(dst, imm, next_imm)| {
            Instruction::LoadImm64 {
                kind: LddwKind::CodeAddr,
                dst,
                imm,
                next_imm,
            }
        }),
    ];
    prop_oneof![8 => straight_line(), 1 => ja, 2 => jump, 1 => targeted]
}

/// One instruction of a generated program, before targets are known.
#[derive(Clone, Debug)]
enum Piece {
    Straight(Instruction),
    /// A jump to the instruction at this index (modulo) of its own
    /// sub-program; the instruction's offset is a placeholder.
    Jump(Instruction, usize),
    /// A local call to the sub-program with this index (modulo).
    Call(usize),
    /// A code address of the sub-program with this index (modulo).
    CodeAddr(Reg, i32, usize),
}

impl Piece {
    fn slots(&self) -> usize {
        match self {
            Piece::Straight(insn) => insn.slots(),
            Piece::CodeAddr(..) => 2,
            _ => 1,
        }
    }
}

fn piece() -> impl Strategy<Value = Piece> {
    let jump = prop_oneof![
        any::<bool>().prop_map(|long| Instruction::Ja { offset: 0, long }),
        (width(), cond(), reg(), source()).prop_map(|(width, cond, dst, src)| Instruction::Jump {
            width,
            cond,
            dst,
            src,
            off: 0,
        }),
    ];
    prop_oneof![
        10 => straight_line().prop_map(Piece::Straight),
        3 => (jump, any::<usize>()).prop_map(|(insn, to)| Piece::Jump(insn, to)),
        1 => any::<usize>().prop_map(Piece::Call),
        1 => (writable_reg(), imm(), any::<usize>()).prop_map(|(r, next, to)| Piece::CodeAddr(r, next, to)),
    ]
}

/// Lays sub-programs out one after the other and resolves every target.
fn lay_out(subprograms: Vec<Vec<Piece>>) -> Vec<Instruction> {
    let mut starts = Vec::new();
    let mut pcs = Vec::new();
    let mut pc = 0usize;
    for pieces in &subprograms {
        starts.push(pc);
        let mut sub_pcs = Vec::new();
        for piece in pieces {
            sub_pcs.push(pc);
            pc += piece.slots();
        }
        pcs.push(sub_pcs);
    }
    let relative = |from: usize, to: usize| to as i64 - from as i64 - 1;
    let mut program = Vec::new();
    for (sub, pieces) in subprograms.iter().enumerate() {
        for (index, piece) in pieces.iter().enumerate() {
            let here = pcs[sub][index];
            let insn = match piece.clone() {
                Piece::Straight(insn) => insn,
                Piece::Jump(insn, to) => {
                    let rel = relative(here, pcs[sub][to % pieces.len()]);
                    match insn {
                        Instruction::Ja { long, .. } => Instruction::Ja {
                            offset: rel as i32,
                            long,
                        },
                        Instruction::Jump {
                            width,
                            cond,
                            dst,
                            src,
                            ..
                        } => Instruction::Jump {
                            width,
                            cond,
                            dst,
                            src,
                            off: rel as i16,
                        },
                        other => other,
                    }
                }
                Piece::Call(to) => Instruction::Call(CallTarget::Local(relative(
                    here,
                    starts[to % starts.len()],
                ) as i32)),
                Piece::CodeAddr(dst, next_imm, to) => Instruction::LoadImm64 {
                    kind: LddwKind::CodeAddr,
                    dst,
                    imm: relative(here, starts[to % starts.len()]) as i32,
                    next_imm,
                },
            };
            program.push(insn);
        }
    }
    program
}

/// The instructions of a valid program: one to four sub-programs whose
/// jumps stay inside them, calls and code addresses naming their starts.
pub fn program_instructions() -> impl Strategy<Value = Vec<Instruction>> {
    prop::collection::vec(prop::collection::vec(piece(), 1..16), 1..5).prop_map(lay_out)
}
