//! The `Vm` API: a loaded program, shareable across threads, and the per-run
//! state a caller keeps to run it again without allocating.

use crate::error::{LoadError, RunError};
use crate::helpers::HelperRegistry;
use crate::interpreter::compile::{compile, Compiled};
use crate::interpreter::exec::{self, Frame, Machine, NoTrace};
use crate::interpreter::Tracer;
use crate::memory::MemoryMap;
use crate::{DEFAULT_BUDGET, MAX_CALL_FRAMES, STACK_FRAME_SIZE};
use bpfbox_isa::Program;
use std::any::Any;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// How a [`Vm`] runs its program.
#[derive(Clone, Debug)]
pub struct Config {
    /// Helpers by number. Static calls to numbers missing here fail to load.
    pub helpers: HelperRegistry,
    /// Most instructions a run may execute; `None` switches the budget off.
    /// Charged per basic block at its entry. Default [`DEFAULT_BUDGET`].
    pub budget: Option<u64>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            helpers: HelperRegistry::new(),
            budget: Some(DEFAULT_BUDGET),
        }
    }
}

/// A program loaded for execution. `Send + Sync`: many threads may run it at
/// once, each with its own [`RunState`].
pub struct Vm {
    program: Program,
    compiled: Compiled,
    helpers: HelperRegistry,
    budget: u64,
}

/// The result of a successful run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunOutcome {
    /// r0 at the final `exit` (or the value an exiting helper chose).
    pub r0: u64,
    /// Instructions charged to the budget: the lengths of all basic blocks
    /// entered.
    pub instructions: u64,
}

#[repr(C, align(16))]
struct Stack([u8; STACK_FRAME_SIZE as usize * MAX_CALL_FRAMES]);

/// Scratch for runs: the stack of every frame, the call frames, and the
/// interrupt flag. Reuse one per thread to run without allocating.
pub struct RunState {
    stack: Box<Stack>,
    frames: Vec<Frame>,
    interrupt: Arc<AtomicBool>,
}

impl Default for RunState {
    fn default() -> Self {
        Self::new()
    }
}

impl RunState {
    /// Fresh scratch.
    pub fn new() -> Self {
        RunState {
            stack: Box::new(Stack([0; STACK_FRAME_SIZE as usize * MAX_CALL_FRAMES])),
            frames: Vec::with_capacity(MAX_CALL_FRAMES),
            interrupt: Arc::new(AtomicBool::new(false)),
        }
    }

    /// A handle that cancels the current or next run using this state, from
    /// any thread.
    pub fn interrupt_handle(&self) -> InterruptHandle {
        InterruptHandle(Arc::clone(&self.interrupt))
    }
}

/// Cancels a run from another thread: the run stops with
/// [`crate::Trap::Interrupted`] at its next basic-block entry. An interrupt
/// is consumed by the run that sees it.
#[derive(Clone, Debug)]
pub struct InterruptHandle(Arc<AtomicBool>);

impl InterruptHandle {
    /// Requests the interruption.
    pub fn interrupt(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl Vm {
    /// Prepares `program` for running.
    ///
    /// # Errors
    /// [`LoadError::UnknownHelper`] for a static call to a helper missing from
    /// the configuration; [`LoadError::Unsupported`] for instructions that need
    /// runtime parts this build lacks (maps, packet loads, kernel functions).
    pub fn new(program: Program, config: Config) -> Result<Vm, LoadError> {
        let compiled = compile(&program, &config.helpers)?;
        Ok(Vm {
            program,
            compiled,
            helpers: config.helpers,
            budget: config.budget.unwrap_or(u64::MAX),
        })
    }

    /// The program this VM runs.
    pub fn program(&self) -> &Program {
        &self.program
    }

    /// Runs once over `memory` (r1 = its address, r2 = its length; both 0
    /// when it is empty) and returns r0.
    ///
    /// # Errors
    /// A [`RunError`] with the pc of the fault.
    pub fn run(&self, memory: &mut [u8]) -> Result<u64, RunError> {
        self.execute(&mut RunState::new(), memory).map(|o| o.r0)
    }

    /// Runs once with reusable scratch.
    ///
    /// # Errors
    /// As [`Vm::run`].
    pub fn execute(&self, state: &mut RunState, memory: &mut [u8]) -> Result<RunOutcome, RunError> {
        self.execute_inner(state, memory, &mut (), &mut NoTrace)
    }

    /// Runs once, handing `data` to every helper call
    /// ([`crate::HelperContext::data`]).
    ///
    /// # Errors
    /// As [`Vm::run`].
    pub fn execute_with_data(
        &self,
        state: &mut RunState,
        memory: &mut [u8],
        data: &mut dyn Any,
    ) -> Result<RunOutcome, RunError> {
        self.execute_inner(state, memory, data, &mut NoTrace)
    }

    /// Runs once, reporting every executed instruction to `tracer`.
    ///
    /// # Errors
    /// As [`Vm::run`].
    pub fn execute_traced<T: Tracer>(
        &self,
        state: &mut RunState,
        memory: &mut [u8],
        tracer: &mut T,
    ) -> Result<RunOutcome, RunError> {
        self.execute_inner(state, memory, &mut (), tracer)
    }

    fn execute_inner<T: Tracer>(
        &self,
        state: &mut RunState,
        memory: &mut [u8],
        data: &mut dyn Any,
        tracer: &mut T,
    ) -> Result<RunOutcome, RunError> {
        let (r1, r2) = if memory.is_empty() {
            (0, 0)
        } else {
            (memory.as_mut_ptr() as u64, memory.len() as u64)
        };
        let mut map = MemoryMap::new(&mut state.stack.0, STACK_FRAME_SIZE);
        map.enter_frame(map.stack_top() - STACK_FRAME_SIZE, STACK_FRAME_SIZE);
        if !memory.is_empty() {
            map.add_writable(memory);
        }
        let machine = Machine {
            memory: &mut map,
            frames: &mut state.frames,
            interrupt: &state.interrupt,
            registry: &self.helpers,
            data,
            budget: self.budget,
        };
        let finished = exec::run(&self.compiled, machine, r1, r2, tracer)?;
        Ok(RunOutcome {
            r0: finished.r0,
            instructions: finished.executed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn vm_is_send_and_sync() {
        assert_send_sync::<Vm>();
        assert_send_sync::<InterruptHandle>();
    }
}
