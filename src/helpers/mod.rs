//! Helper functions: the table an embedder fills, and what a helper sees.
//!
//! A program calls helpers by number (`call N`, or `callx` with the number in
//! a register). Numbers follow Linux's by default; a program type or embedder
//! may define its own table, as the conformance program type does
//! ([`crate::conformance`]). A helper gets r1–r5 and a [`HelperContext`]
//! through which it can read and write the run's memory (every access checked
//! like the program's own) and reach the run's environment: its maps, the
//! host's clock, its random numbers, its trace output, its CPU slot, and the
//! embedder's per-run data.
//!
//! [`HelperRegistry::linux`] holds the Linux helpers bpfbox implements
//! ([`linux`]), with the kernel's argument and return conventions.

mod csum;
mod host;
pub mod linux;
mod printk;

pub use host::{Host, SystemHost};

use crate::error::Trap;
use crate::maps::Map;
use crate::memory::MemoryMap;
use bpfbox_abi::ProgramType;
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

/// A map as a program holds it: an opaque value in a register, which no
/// memory access accepts (it lies in the upper half of the address space,
/// never user memory) and which helpers resolve through the run's map table.
pub const MAP_HANDLE_TAG: u64 = 0xffff_b0b0_0000_0000;

/// The register value that stands for `map` in a program.
pub fn map_handle(map: &Map) -> u64 {
    MAP_HANDLE_TAG | u64::from(map.id())
}

/// Everything of a run that helpers may use besides its memory.
pub(crate) struct HelperEnv<'r> {
    pub data: &'r mut dyn Any,
    pub maps: &'r [Map],
    pub host: &'r dyn Host,
    pub cpu: u32,
    pub rng: &'r mut u64,
    pub trace: &'r mut Vec<String>,
    pub program_type: ProgramType,
    /// r1 and r2 of the run's first program, which every program a tail
    /// call starts gets too.
    pub args: [u64; 2],
    pub redirect: Option<Redirect>,
    /// Tail calls the run has made so far (all its programs together).
    pub tail_calls: u32,
    /// The program a successful `tail_call` continues with, in place of
    /// the calling function (see `interpreter::exec::after_helper_exit`).
    pub tail_call: Option<Arc<crate::Vm>>,
    /// The spin lock the run holds (at most one, as in the kernel).
    pub held_lock: Option<u64>,
    /// Inner maps the run looked up in maps of maps: kept alive, and their
    /// memory reachable, until the run ends.
    /// Inner maps handed out by map-of-maps lookups (kept in the
    /// `RunState`, emptied when the next run starts).
    pub inner_maps: &'r mut Vec<Map>,
}

/// Where `redirect` or `redirect_map` sent the packet: the run's verdict
/// beside r0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Redirect {
    /// To a network interface (`redirect`).
    Interface {
        /// Interface index.
        ifindex: u32,
        /// The helper's flags (e.g. `BPF_F_INGRESS`).
        flags: u64,
    },
    /// Through a redirect map (`redirect_map`).
    Map {
        /// [`Map::id`] of the devmap, cpumap or xskmap.
        map_id: u32,
        /// The key used.
        key: u32,
    },
}

impl HelperEnv<'_> {
    /// The map `handle` stands for: one of the program's maps, or an inner
    /// map a lookup in a map of maps handed out during this run.
    pub(crate) fn map(&self, handle: u64) -> Option<&Map> {
        if handle & !u64::from(u32::MAX) != MAP_HANDLE_TAG {
            return None;
        }
        let id = handle as u32;
        self.maps
            .iter()
            .chain(self.inner_maps.iter())
            .find(|m| m.id() == id)
    }
}

/// What a helper sees of the run that called it.
pub struct HelperContext<'run, 'mem> {
    pub(crate) memory: &'run mut MemoryMap<'mem>,
    pub(crate) env: &'run mut HelperEnv<'mem>,
}

impl<'run, 'mem> HelperContext<'run, 'mem> {
    /// The run's memory, with the same checks as the program's accesses.
    pub fn memory(&mut self) -> &mut MemoryMap<'mem> {
        self.memory
    }

    /// The embedder's per-run data (see [`crate::Vm::execute_with_data`]), `()` by default.
    pub fn data(&mut self) -> &mut dyn Any {
        self.env.data
    }

    /// The map a program's register value stands for, if it is one of the
    /// run's maps.
    pub fn map(&self, handle: u64) -> Option<&Map> {
        self.env.map(handle)
    }

    /// Makes an inner map (from a map of maps lookup) one of the run's maps
    /// until the run ends; returns its handle.
    pub(crate) fn adopt_inner(&mut self, inner: Map) -> u64 {
        let handle = map_handle(&inner);
        if !self.env.inner_maps.iter().any(|m| m.id() == inner.id()) {
            // SAFETY: the regions are `inner`'s value memory; `inner` stays
            // in `env.inner_maps`, which outlives the run's memory map.
            unsafe { self.memory.add_inner_shared(inner.regions()) };
            self.env.inner_maps.push(inner);
        }
        handle
    }

    /// The run's CPU slot (per-CPU map slot, `get_smp_processor_id`).
    pub fn cpu(&self) -> u32 {
        self.env.cpu
    }

    /// The host's clock and identity.
    pub fn host(&self) -> &dyn Host {
        self.env.host
    }

    /// The next number of the run's pseudo-random sequence (xorshift64*,
    /// seeded per [`crate::RunState`], so runs are reproducible).
    pub fn random_u32(&mut self) -> u32 {
        let mut x = *self.env.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        *self.env.rng = x;
        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32
    }

    /// The type of the running program.
    pub fn program_type(&self) -> ProgramType {
        self.env.program_type
    }

    /// Records the run's redirect verdict (the last one wins, as in the
    /// kernel).
    pub fn set_redirect(&mut self, redirect: Redirect) {
        self.env.redirect = Some(redirect);
    }

    /// Appends a line to the run's trace output (`trace_printk`).
    pub fn trace(&mut self, line: String) {
        self.env.trace.push(line);
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

    /// The Linux helpers bpfbox implements, under their Linux numbers (see
    /// [`linux`] for the list and their semantics).
    pub fn linux() -> Self {
        let mut registry = Self::new();
        linux::register_all(&mut registry);
        registry
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
