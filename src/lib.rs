//! # bpfbox
//!
//! An eBPF virtual machine for running untrusted eBPF programs inside a Rust
//! program as a sandbox. Data flows one way: bytes → [`isa::Program`] →
//! [`Vm`] (predecoded for the interpreter) → result.
//!
//! ```
//! use bpfbox::{isa::asm, Config, Vm};
//! // Sum the first two bytes of the input memory (r1 = address, r2 = length).
//! let program = asm::assemble("ldxb %r0, [%r1]\nldxb %r2, [%r1+1]\nadd %r0, %r2\nexit").unwrap();
//! let vm = Vm::new(program, Config::default()).unwrap();
//! assert_eq!(vm.run(&mut [40, 2]).unwrap(), 42);
//! // An access outside the run's memory is an error with the pc, never UB.
//! let program = asm::assemble("ldxdw %r0, [%r1+8]\nexit").unwrap();
//! let vm = Vm::new(program, Config::default()).unwrap();
//! let error = vm.run(&mut [0; 8]).unwrap_err();
//! assert_eq!(error.pc, 0);
//! ```
//!
//! ## Memory model
//! Registers hold real host addresses; every load, store and atomic is
//! checked against the regions of the run (input memory, the live stack
//! frames). See [`memory`] for the full statement and why it was chosen.
//!
//! ## Execution
//! - Each frame has a [`STACK_FRAME_SIZE`]-byte stack, zeroed on entry; local
//!   calls get a fresh frame, r6–r9 are preserved, and at most
//!   [`MAX_CALL_FRAMES`] frames are live (the entry frame counts).
//! - A tail call (`bpf_tail_call`, at most 33 per run) continues the run
//!   with another program: from the entry function in place of the whole
//!   program; from a sub-program in place of the sub-program's frame, with
//!   a fresh stack, its r0 returned to the sub-program's caller and its
//!   local calls counted with the caller's frames.
//! - Helpers are called by number through a [`HelperRegistry`]; after a
//!   helper call r1–r5 read as 0.
//! - An instruction budget (default [`DEFAULT_BUDGET`]) is charged per basic
//!   block at the block's entry; a run can be cancelled from another thread
//!   with an [`InterruptHandle`].
#![deny(missing_docs)]

pub use bpfbox_abi as abi;
pub use bpfbox_isa as isa;

mod aligned;
pub mod conformance;
pub mod elf;
mod error;
pub mod helpers;
mod interpreter;
pub mod maps;
pub mod memory;
pub mod packet;
mod vm;

pub use aligned::{AlignedMemory, MEMORY_ALIGN};
pub use error::{Access, LoadError, RunError, Trap};
pub use helpers::{HelperContext, HelperError, HelperRegistry, Host, SystemHost};
pub use interpreter::Tracer;
pub use maps::{Map, MapError, MapOptions};
pub use packet::Packet;
pub use vm::{Config, InterruptHandle, RunOutcome, RunState, Vm};

/// Bytes of stack per call frame.
pub const STACK_FRAME_SIZE: u64 = 512;
/// Most call frames live at once, the entry frame included.
pub const MAX_CALL_FRAMES: usize = 8;
/// The default instruction budget of a run.
pub const DEFAULT_BUDGET: u64 = 100_000_000;

/// The README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
