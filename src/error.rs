//! Errors of loading a program into a [`crate::Vm`] and of running it.
//!
//! A run-time trap is one small value ([`Trap`]) inside the interpreter's loop;
//! it becomes a [`RunError`], carrying the pc, at the boundary.

use thiserror::Error;

/// Why a decoded program cannot be loaded into a [`crate::Vm`].
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The instruction needs a part of the runtime this build does not have yet
    /// (maps, BTF variables, kernel functions, packet access).
    #[error("instruction {pc}: {what} is not supported by this runtime")]
    Unsupported {
        /// Slot index of the instruction.
        pc: usize,
        /// What it needs.
        what: &'static str,
    },
    /// A `lddw` names a map the VM was not given ([`crate::Config::maps`]).
    #[error("instruction {pc}: no map at index {index}")]
    UnknownMap {
        /// Slot index of the `lddw`.
        pc: usize,
        /// The map index or fd in the instruction.
        index: i32,
    },
    /// A `lddw` asks for the address of a map value the map cannot give
    /// directly (only single-element arrays, as global data uses, can).
    #[error("instruction {pc}: no direct value at offset {offset} of map {index}: {reason}")]
    BadMapValue {
        /// Slot index of the `lddw`.
        pc: usize,
        /// The map index.
        index: i32,
        /// The offset into the value.
        offset: u32,
        /// Why not.
        reason: String,
    },
    /// A `call` names a Linux helper the program type may not call (as the
    /// kernel's verifier refuses it).
    #[error("instruction {pc}: helper {helper} is not allowed in {program_type} programs")]
    HelperNotAllowed {
        /// Slot index of the call.
        pc: usize,
        /// The helper's name.
        helper: String,
        /// The program type's name.
        program_type: &'static str,
    },
    /// A `call` names a helper that the helper table does not have.
    #[error("instruction {pc}: unknown helper {id}")]
    UnknownHelper {
        /// Slot index of the call.
        pc: usize,
        /// Helper number.
        id: i32,
    },
    /// The instructions do not decode into a program.
    #[error(transparent)]
    Decode(#[from] bpfbox_isa::DecodeError),
}

impl LoadError {
    /// The slot index of the instruction at fault.
    pub fn pc(&self) -> Option<usize> {
        match self {
            LoadError::Unsupported { pc, .. }
            | LoadError::UnknownMap { pc, .. }
            | LoadError::BadMapValue { pc, .. }
            | LoadError::HelperNotAllowed { pc, .. }
            | LoadError::UnknownHelper { pc, .. } => Some(*pc),
            LoadError::Decode(error) => Some(error.pc),
        }
    }
}

/// A run-time fault, without its location. See [`RunError`].
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Trap {
    /// A load, store or atomic touched memory outside every region of the run.
    #[error("out-of-bounds {len}-byte {access} at {addr:#x}")]
    OutOfBounds {
        /// The address.
        addr: u64,
        /// Access size in bytes.
        len: u64,
        /// `read` or `write`.
        access: Access,
    },
    /// An atomic instruction on an address not aligned to its size.
    #[error("misaligned {len}-byte atomic access at {addr:#x}")]
    MisalignedAtomic {
        /// The address.
        addr: u64,
        /// Access size in bytes.
        len: u64,
    },
    /// A local call (or a `bpf_loop`/`for_each_map_elem` callback) would
    /// make more than [`crate::MAX_CALL_FRAMES`] frames. The frames of a
    /// program that a tail call from a sub-program started count with its
    /// callers'.
    #[error("call depth exceeds {} frames", crate::MAX_CALL_FRAMES)]
    CallDepthExceeded,
    /// Execution ran past the last instruction of a function.
    #[error("fell off the end of the program")]
    FellOffEnd,
    /// The instruction budget ran out at the start of a basic block.
    #[error("instruction budget of {budget} exhausted after {executed} instructions")]
    BudgetExhausted {
        /// Instructions charged before this block.
        executed: u64,
        /// The budget.
        budget: u64,
    },
    /// The run was cancelled through an [`crate::InterruptHandle`].
    #[error("interrupted after {executed} instructions")]
    Interrupted {
        /// Instructions charged before the interruption was seen.
        executed: u64,
    },
    /// A helper that calls back into the program (`bpf_loop`) was given
    /// something that is not a function's address.
    #[error("{0:#x} is not the address of a function")]
    BadCallback(u64),
    /// `callx` named a helper the table does not have.
    #[error("unknown helper {0}")]
    UnknownHelper(u64),
    /// A load or store of the context struct that the program type does not
    /// allow (wrong field, size or direction).
    #[error("{size}-byte context access at offset {offset}: {reason}")]
    ContextAccess {
        /// Offset in the context struct.
        offset: u64,
        /// Access size in bytes.
        size: u64,
        /// The rule it breaks.
        reason: String,
    },
    /// The run was given the wrong kind of input for its program type (a
    /// packet type run without a packet, say).
    #[error("{program_type} programs run on {expected}")]
    WrongInput {
        /// The program type's name.
        program_type: &'static str,
        /// What they run on.
        expected: &'static str,
    },
    /// A helper panicked; the panic was caught at the call.
    #[error("helper {id} panicked: {message}")]
    HelperPanicked {
        /// Helper number.
        id: u32,
        /// The panic's message.
        message: String,
    },
    /// A helper reported an error.
    #[error("helper {id} failed: {message}")]
    HelperFailed {
        /// Helper number.
        id: u32,
        /// The helper's message.
        message: String,
    },
}

/// Direction of a memory access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// A load.
    Read,
    /// A store or an atomic.
    Write,
}

impl std::fmt::Display for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Access::Read => "read",
            Access::Write => "write",
        })
    }
}

/// A program stopped with an error at instruction `pc` (slot index).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("pc {pc}: {trap}")]
pub struct RunError {
    /// Slot index of the faulting instruction (for budget and interrupts, the
    /// first instruction of the block about to run), in the program that was
    /// running: after a tail call, the target.
    pub pc: usize,
    /// What went wrong.
    pub trap: Trap,
}

impl RunError {
    /// The error of a program that started after `before` instructions of a
    /// run with budget `budget` had been charged: its instruction counts
    /// made the run's.
    pub(crate) fn counted_from(mut self, before: u64, budget: u64) -> RunError {
        match &mut self.trap {
            Trap::BudgetExhausted {
                executed,
                budget: whole,
            } => {
                *executed += before;
                *whole = budget;
            }
            Trap::Interrupted { executed } => *executed += before,
            _ => {}
        }
        self
    }
}
