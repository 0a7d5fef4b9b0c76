//! Helper functions: the table an embedder fills, and what a helper sees.
//!
//! A program calls helpers by number (`call N`, or `callx` with the number in
//! a register). Numbers follow Linux's by default; a program type or embedder
//! may define its own table, as the conformance program type does
//! ([`crate::conformance`]). A helper gets r1–r5 and a [`HelperContext`]
//! through which it can read and write the run's memory (every access checked
//! like the program's own) and reach the embedder's per-run data.

use crate::error::Trap;
use crate::memory::MemoryMap;
use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// How a helper ends other than by returning a value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HelperError {
    /// Stop the whole program at once with this r0 (no error).
    Exit(u64),
    /// Fail the run with a message.
    Failed(String),
    /// A memory access through [`HelperContext`] faulted.
    Trap(Trap),
}

impl From<Trap> for HelperError {
    fn from(trap: Trap) -> Self {
        HelperError::Trap(trap)
    }
}

/// What a helper sees of the run that called it.
pub struct HelperContext<'run, 'mem> {
    pub(crate) memory: &'run mut MemoryMap<'mem>,
    pub(crate) data: &'run mut dyn Any,
}

impl<'run, 'mem> HelperContext<'run, 'mem> {
    /// The run's memory, with the same checks as the program's accesses.
    pub fn memory(&mut self) -> &mut MemoryMap<'mem> {
        self.memory
    }

    /// The embedder's per-run data (see [`crate::Vm::execute_with_data`]), `()` by default.
    pub fn data(&mut self) -> &mut dyn Any {
        self.data
    }
}

/// The signature of a helper: the five argument registers in, r0 out.
pub type HelperFn =
    dyn Fn(&mut HelperContext<'_, '_>, [u64; 5]) -> Result<u64, HelperError> + Send + Sync;

/// A table of helpers by number.
#[derive(Clone, Default)]
pub struct HelperRegistry {
    helpers: BTreeMap<u32, Arc<HelperFn>>,
}

impl fmt::Debug for HelperRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.helpers.keys()).finish()
    }
}

impl HelperRegistry {
    /// An empty table (Linux numbering, nothing registered).
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `helper` as number `id`, replacing any earlier one.
    pub fn register<F>(&mut self, id: u32, helper: F) -> &mut Self
    where
        F: Fn(&mut HelperContext<'_, '_>, [u64; 5]) -> Result<u64, HelperError>
            + Send
            + Sync
            + 'static,
    {
        self.helpers.insert(id, Arc::new(helper));
        self
    }

    /// The helper numbered `id`.
    pub fn get(&self, id: u32) -> Option<&Arc<HelperFn>> {
        self.helpers.get(&id)
    }

    /// Numbers of the registered helpers, ascending.
    pub fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.helpers.keys().copied()
    }
}
