//! # bpfbox-verifier
//!
//! The static verifier of bpfbox: it will prove, before a program runs,
//! that every memory access is in bounds, every helper gets the arguments
//! it expects and the program terminates, the way the Linux kernel's
//! verifier does, so that the JITs can drop the interpreter's run-time
//! checks. It sits between the loader and the engines: bytes → `Program`
//! (`bpfbox-isa`) → loader → **verifier** → interpreter or JIT.
//!
//! This first layer is the **scalar abstract domain**, the verifier's
//! knowledge about numbers:
//!
//! - [`tnum`]: tristate numbers, what is known about each bit ([`Tnum`]).
//! - [`scalar`]: [`Scalar`], a tnum combined with signed and unsigned
//!   bounds on the value and on its low 32 bits, kept in sync; the transfer
//!   function of every ALU, byte-swap and load instruction; refinement on
//!   every conditional jump ([`refine`], [`branch_outcome`]); join and
//!   subset for merging and pruning states.
//! - [`concrete`]: what each instruction does to actual values, on top of
//!   [`bpfbox_isa::semantics`]; the domain folds constants with it and the
//!   tests use it as the oracle.
//!
//! ```
//! use bpfbox_isa::{AluOp, JmpCond, Size, Width};
//! use bpfbox_verifier::{refine, Scalar};
//!
//! // r1 = *(u32 *)(r2 + 0); r1 &= 0xff; if r1 < 10 goto ...
//! let r1 = Scalar::from_load(Size::W, false);
//! let r1 = r1.alu(AluOp::And, Width::W64, &Scalar::constant(0xff));
//! assert_eq!(r1.umax(), 255);
//! let (taken, not_taken) = refine(&r1, &Scalar::constant(10), JmpCond::Lt, Width::W64);
//! assert_eq!(taken.unwrap().0.umax(), 9);
//! assert_eq!(not_taken.unwrap().0.umin(), 10);
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod concrete;
pub mod scalar;
pub mod tnum;

pub use scalar::{branch_outcome, refine, Bounds, BranchOutcome, EmptyScalar, Scalar};
pub use tnum::Tnum;
