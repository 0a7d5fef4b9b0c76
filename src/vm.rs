//! The `Vm` API: a loaded program, shareable across threads, and the per-run
//! state a caller keeps to run it again without allocating.

use crate::error::{LoadError, RunError, Trap};
use crate::helpers::{HelperEnv, HelperRegistry, Host, Redirect, SystemHost};
use crate::interpreter::compile::{compile, Compiled};
use crate::interpreter::exec::{self, Chain, Frame, LoopState, Machine, NoTrace};
use crate::interpreter::Tracer;
use crate::maps::Map;
use crate::memory::MemoryMap;
use crate::memory::PacketRole;
use crate::memory::Region;
use crate::packet::Packet;
use crate::{DEFAULT_BUDGET, MAX_CALL_FRAMES, STACK_FRAME_SIZE};
use bpfbox_abi::ProgramType;
use bpfbox_isa::Program;
use std::any::Any;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

/// How a [`Vm`] runs its program.
#[derive(Clone)]
pub struct Config {
    /// Helpers by number. Static calls to numbers missing here fail to load.
    /// Default: [`HelperRegistry::linux`].
    pub helpers: HelperRegistry,
    /// Most instructions a run may execute; `None` switches the budget off.
    /// Charged per basic block at its entry. Default [`DEFAULT_BUDGET`].
    pub budget: Option<u64>,
    /// The maps the program refers to: `lddw` with a map fd or index `n`
    /// (sources 1, 2, 5 and 6) names `maps[n]`. Maps are shared: the host
    /// keeps its own clones to read and write them.
    pub maps: Vec<Map>,
    /// Clocks and task identity for helpers. Default [`SystemHost`].
    pub host: Arc<dyn Host>,
    /// The program type: its context, the helpers it may call, how it runs.
    /// Default [`ProgramType::Buffer`] (r1 = a memory buffer, r2 = its
    /// length).
    pub program_type: ProgramType,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            helpers: HelperRegistry::linux(),
            budget: Some(DEFAULT_BUDGET),
            maps: Vec::new(),
            host: Arc::new(SystemHost),
            program_type: ProgramType::Buffer,
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("helpers", &self.helpers)
            .field("budget", &self.budget)
            .field("maps", &self.maps.iter().map(Map::name).collect::<Vec<_>>())
            .field("program_type", &self.program_type)
            .finish_non_exhaustive()
    }
}

/// A program loaded for execution. `Send + Sync`: many threads may run it at
/// once, each with its own [`RunState`].
pub struct Vm {
    program: Program,
    compiled: Compiled,
    helpers: HelperRegistry,
    budget: u64,
    maps: Vec<Map>,
    /// The memory of `maps`, which runs may access.
    map_regions: Box<[Region]>,
    host: Arc<dyn Host>,
    program_type: ProgramType,
}

/// The result of a successful run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunOutcome {
    /// r0 at the final `exit` (or the value an exiting helper chose).
    pub r0: u64,
    /// Instructions charged to the budget: the lengths of all basic blocks
    /// entered.
    pub instructions: u64,
    /// Where `redirect` or `redirect_map` sent the packet, if either was
    /// called.
    pub redirect: Option<Redirect>,
}

#[repr(C, align(16))]
struct Stack([u8; STACK_FRAME_SIZE as usize * MAX_CALL_FRAMES]);

/// Scratch for runs: the stack of every frame, the call frames, the
/// interrupt flag, the run's CPU slot, random state and trace output. Reuse
/// one per thread to run without allocating.
pub struct RunState {
    stack: Box<Stack>,
    frames: Vec<Frame>,
    loops: Vec<LoopState>,
    inner_maps: Vec<Map>,
    interrupt: Arc<AtomicBool>,
    cpu: u32,
    rng: u64,
    trace: Vec<String>,
    /// Where `for_each_map_elem` puts the key it hands its callback
    /// (read-only to programs; 512 bytes, the longest key).
    key_scratch: Box<[AtomicU64]>,
}

/// The seed of every new [`RunState`]'s random sequence.
const DEFAULT_SEED: u64 = 0x9e37_79b9_7f4a_7c15;

/// The CPU slot of the next [`RunState`]: states are spread over the
/// machine's parallelism, round robin.
fn next_cpu() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cpus = u32::try_from(cpus).unwrap_or(u32::MAX);
    NEXT.fetch_add(1, Ordering::Relaxed) % cpus
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
            loops: Vec::new(),
            inner_maps: Vec::new(),
            interrupt: Arc::new(AtomicBool::new(false)),
            cpu: next_cpu(),
            rng: DEFAULT_SEED,
            trace: Vec::new(),
            key_scratch: (0..bpfbox_abi::maps::MAX_KEY_SIZE / 8)
                .map(|_| AtomicU64::new(0))
                .collect(),
        }
    }

    /// Binds runs with this state to CPU slot `cpu` (per-CPU map slot, the
    /// value of `get_smp_processor_id`); taken modulo each map's slot count.
    pub fn set_cpu(&mut self, cpu: u32) -> &mut Self {
        self.cpu = cpu;
        self
    }

    /// The CPU slot runs with this state use.
    pub fn cpu(&self) -> u32 {
        self.cpu
    }

    /// Restarts the pseudo-random sequence of `get_prandom_u32` from `seed`
    /// (0 is replaced by a fixed non-zero seed).
    pub fn set_seed(&mut self, seed: u64) -> &mut Self {
        self.rng = if seed == 0 { DEFAULT_SEED } else { seed };
        self
    }

    /// The lines `trace_printk` wrote during the last run.
    pub fn trace_lines(&self) -> &[String] {
        &self.trace
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
        let compiled = compile(&program, config.program_type, &config.helpers, &config.maps)?;
        let map_regions = config.maps.iter().flat_map(Map::regions).collect();
        Ok(Vm {
            program,
            compiled,
            helpers: config.helpers,
            budget: config.budget.unwrap_or(u64::MAX),
            maps: config.maps,
            map_regions,
            host: config.host,
            program_type: config.program_type,
        })
    }

    /// The program this VM runs.
    pub fn program(&self) -> &Program {
        &self.program
    }

    /// The program type.
    pub fn program_type(&self) -> ProgramType {
        self.program_type
    }

    /// The maps the program refers to, as given in [`Config::maps`].
    pub fn maps(&self) -> &[Map] {
        &self.maps
    }

    /// Runs once over `memory` and returns r0. For buffer and conformance
    /// programs, r1 = the memory's address and r2 its length (both 0 when it
    /// is empty); for kprobe, tracepoint and raw tracepoint programs, the
    /// memory is the context r1 points to.
    ///
    /// # Errors
    /// A [`RunError`] with the pc of the fault.
    pub fn run(&self, memory: &mut [u8]) -> Result<u64, RunError> {
        self.execute(&mut RunState::new(), memory).map(|o| o.r0)
    }

    /// Runs once over `memory` (see [`Vm::run`]) with reusable scratch.
    ///
    /// # Errors
    /// As [`Vm::run`]; [`Trap::WrongInput`] for packet program types, which
    /// run with [`Vm::execute_packet`].
    pub fn execute(&self, state: &mut RunState, memory: &mut [u8]) -> Result<RunOutcome, RunError> {
        self.execute_inner(state, Input::Bytes(memory), &mut (), &mut NoTrace)
    }

    /// Runs a packet program (XDP, socket filter, tc, cgroup skb) on
    /// `packet`: r1 points to the program type's context struct, filled from
    /// the packet's fields. Afterwards `packet` holds the packet and context
    /// fields as the program left them, and the outcome the redirect verdict.
    ///
    /// # Errors
    /// As [`Vm::run`]; [`Trap::WrongInput`] for program types without a
    /// packet.
    pub fn execute_packet(
        &self,
        state: &mut RunState,
        packet: &mut Packet,
    ) -> Result<RunOutcome, RunError> {
        self.execute_inner(state, Input::Packet(packet), &mut (), &mut NoTrace)
    }

    /// Runs once, handing `data` to every helper call
    /// ([`crate::HelperContext::data`]).
    ///
    /// # Errors
    /// As [`Vm::execute`].
    pub fn execute_with_data(
        &self,
        state: &mut RunState,
        memory: &mut [u8],
        data: &mut dyn Any,
    ) -> Result<RunOutcome, RunError> {
        self.execute_inner(state, Input::Bytes(memory), data, &mut NoTrace)
    }

    /// Runs once, reporting every executed instruction to `tracer`.
    ///
    /// # Errors
    /// As [`Vm::execute`].
    pub fn execute_traced<T: Tracer>(
        &self,
        state: &mut RunState,
        memory: &mut [u8],
        tracer: &mut T,
    ) -> Result<RunOutcome, RunError> {
        self.execute_inner(state, Input::Bytes(memory), &mut (), tracer)
    }

    /// Runs a packet program once (see [`Vm::execute_packet`]), reporting
    /// every executed instruction to `tracer`.
    ///
    /// # Errors
    /// As [`Vm::execute_packet`].
    pub fn execute_packet_traced<T: Tracer>(
        &self,
        state: &mut RunState,
        packet: &mut Packet,
        tracer: &mut T,
    ) -> Result<RunOutcome, RunError> {
        self.execute_inner(state, Input::Packet(packet), &mut (), tracer)
    }

    fn wrong_input(&self, expected: &'static str) -> RunError {
        RunError {
            pc: 0,
            trap: Trap::WrongInput {
                program_type: self.program_type.name(),
                expected,
            },
        }
    }

    fn execute_inner<T: Tracer>(
        &self,
        state: &mut RunState,
        mut input: Input<'_>,
        data: &mut dyn Any,
        tracer: &mut T,
    ) -> Result<RunOutcome, RunError> {
        state.trace.clear();
        // Inner maps of the previous run: no memory map refers to them now.
        state.inner_maps.clear();
        state.frames.clear();
        state.loops.clear();
        let program_type = self.program_type;
        let packet_role = match program_type {
            ProgramType::Xdp => Some(PacketRole::Xdp),
            ProgramType::SocketFilter
            | ProgramType::SchedCls
            | ProgramType::SchedAct
            | ProgramType::CgroupSkb => Some(PacketRole::Skb(program_type.packet_access())),
            _ => None,
        };
        let mut memory = MemoryMap::new(&mut state.stack.0, STACK_FRAME_SIZE);
        memory.enter_frame(memory.stack_top() - STACK_FRAME_SIZE, STACK_FRAME_SIZE);
        memory.set_key_scratch(&state.key_scratch);
        let (r1, r2) = match (&mut input, packet_role) {
            (Input::Bytes(bytes), None) => match program_type {
                ProgramType::Buffer | ProgramType::Conformance => {
                    if bytes.is_empty() {
                        (0, 0)
                    } else {
                        let address = bytes.as_mut_ptr() as u64;
                        let len = bytes.len() as u64;
                        memory.add_writable(bytes);
                        (address, len)
                    }
                }
                _ => {
                    let address = bytes.as_mut_ptr() as u64;
                    memory.add_context(bytes, program_type);
                    (address, 0)
                }
            },
            (Input::Packet(packet), Some(role)) => {
                let (buffer, ctx, bounds) = packet.parts(role == PacketRole::Xdp);
                let address = ctx.as_mut_ptr() as u64;
                memory.add_packet(buffer, bounds, role);
                memory.add_context(ctx, program_type);
                (address, 0)
            }
            (Input::Bytes(_), Some(_)) => {
                return Err(self.wrong_input("a packet (Vm::execute_packet)"))
            }
            (Input::Packet(_), None) => return Err(self.wrong_input("bytes (Vm::execute)")),
        };
        // SAFETY: `map_regions` are the value arenas of `self.maps`, which this
        // VM owns and which outlive the run (it borrows `self`); arenas are
        // never freed while their map lives and are accessed only atomically.
        unsafe { memory.add_shared(&self.map_regions) };
        // Deleted map elements are reclaimed only after every run that could
        // hold their address has ended: runs of programs with maps pin.
        let _epoch = (!self.maps.is_empty()).then(crossbeam_epoch::pin);
        let mut env = HelperEnv {
            data,
            maps: &self.maps,
            host: &*self.host,
            cpu: state.cpu,
            rng: &mut state.rng,
            trace: &mut state.trace,
            program_type,
            args: [r1, r2],
            redirect: None,
            tail_calls: 0,
            tail_call: None,
            inner_maps: &mut state.inner_maps,
            held_lock: None,
        };
        let stack_top = memory.stack_top();
        let mut chain = Chain {
            memory: &mut memory,
            env: &mut env,
            frames: &mut state.frames,
            loops: &mut state.loops,
            interrupt: &state.interrupt,
        };
        let mut result = self.run_here(&mut chain, self.budget, tracer);
        if let Ok(first) = &result {
            if let Some(target) = chain.env.tail_call.take() {
                // A tail call from the entry function: the target continues
                // the run in place of the whole program.
                let spent = first.executed;
                result = run_chain(target, &mut chain, self.budget, spent, stack_top, tracer).map(
                    |rest| exec::Finished {
                        executed: spent + rest.executed,
                        ..rest
                    },
                );
            }
        }
        let (bounds, redirect) = (memory.packet_bounds(), env.redirect);
        if let (Some(bounds), Input::Packet(packet)) = (bounds, input) {
            // The packet as the programs left it, after any adjust_head/tail.
            packet.set_bounds(bounds);
        }
        let finished = result?;
        Ok(RunOutcome {
            r0: finished.r0,
            instructions: finished.executed,
            redirect,
        })
    }

    /// Runs this program with `chain`'s memory and environment as they are
    /// (this program's maps in them), from its first instruction with the
    /// run's r1 and r2 until it exits, stops or faults.
    fn run_here<T: Tracer>(
        &self,
        chain: &mut Chain<'_, '_>,
        budget: u64,
        tracer: &mut T,
    ) -> Result<exec::Finished, RunError> {
        let held_before = chain.env.held_lock;
        let [r1, r2] = chain.env.args;
        let machine = Machine {
            memory: &mut *chain.memory,
            frames: &mut *chain.frames,
            loops: &mut *chain.loops,
            interrupt: chain.interrupt,
            registry: &self.helpers,
            env: &mut *chain.env,
            budget,
        };
        let result = exec::run(&self.compiled, machine, r1, r2, tracer);
        if chain.env.held_lock != held_before {
            if let Some(lock) = chain.env.held_lock.take() {
                // A program that ends (or faults) holding a lock it took
                // must not leave it taken for every other run: release it,
                // while its map is in reach. (Verified programs always
                // unlock; this covers the others.)
                let _ = chain.memory.spin_unlock(lock);
            }
        }
        result
    }

    /// Runs this program as the target of a tail call: on the run's memory
    /// with this program's maps instead of the caller's, its entry frame a
    /// fresh one just below `stack_top` and nothing above that in reach,
    /// with this program's maps, helpers and host for its helper calls.
    fn run_tail_called<T: Tracer>(
        &self,
        chain: &mut Chain<'_, '_>,
        budget: u64,
        stack_top: u64,
        tracer: &mut T,
    ) -> Result<exec::Finished, RunError> {
        let _epoch = (!self.maps.is_empty()).then(crossbeam_epoch::pin);
        let Chain {
            memory,
            env,
            frames,
            loops,
            interrupt,
        } = chain;
        // SAFETY: as for the run's first program (`execute_inner`): this VM
        // owns the maps of `map_regions` and outlives the call. `stack_top`
        // is the run's stack top or the r10 of a live frame, and the frame
        // records (shared by every program of the run) keep the frames
        // within `MAX_CALL_FRAMES`, hence within the run's stack.
        unsafe {
            memory.with_program(stack_top, STACK_FRAME_SIZE, &self.map_regions, |memory| {
                let mut program_env = HelperEnv {
                    data: &mut *env.data,
                    maps: &self.maps,
                    host: &*self.host,
                    cpu: env.cpu,
                    rng: &mut *env.rng,
                    trace: &mut *env.trace,
                    program_type: self.program_type,
                    args: env.args,
                    redirect: env.redirect,
                    tail_calls: env.tail_calls,
                    tail_call: None,
                    inner_maps: &mut *env.inner_maps,
                    held_lock: env.held_lock,
                };
                let mut program_chain = Chain {
                    memory,
                    env: &mut program_env,
                    frames,
                    loops,
                    interrupt,
                };
                let result = self.run_here(&mut program_chain, budget, tracer);
                let (redirect, tail_calls, tail_call, held_lock) = (
                    program_env.redirect,
                    program_env.tail_calls,
                    program_env.tail_call,
                    program_env.held_lock,
                );
                env.redirect = redirect;
                env.tail_calls = tail_calls;
                env.tail_call = tail_call;
                env.held_lock = held_lock;
                result
            })
        }
    }
}

/// Runs `first`, the target of a tail call, and the programs it tail-calls
/// from its entry function in turn, each from its first instruction with
/// the run's r1 and r2 and a fresh entry frame just below `stack_top`: the
/// run's stack top after a tail call from the run's first program, the
/// sub-program's r10 after one from a sub-program (see
/// `exec::after_helper_exit`; the frame records then end with the base
/// record the target's `exit` pops).
///
/// The chain starts after `spent` instructions of the `budget` of the
/// program that made the tail call; the result counts the instructions of
/// the chain, a trap counts from the start of that program. Tail calls are
/// counted across the run, at most [`MAX_TAIL_CALLS`].
///
/// [`MAX_TAIL_CALLS`]: crate::helpers::linux::MAX_TAIL_CALLS
pub(crate) fn run_chain<T: Tracer>(
    first: Arc<Vm>,
    chain: &mut Chain<'_, '_>,
    budget: u64,
    spent: u64,
    stack_top: u64,
    tracer: &mut T,
) -> Result<exec::Finished, RunError> {
    let mut executed = 0;
    let mut vm = first;
    loop {
        let before = spent + executed;
        let finished = vm
            .run_tail_called(chain, budget - before, stack_top, tracer)
            .map_err(|error| error.counted_from(before, budget))?;
        executed += finished.executed;
        match chain.env.tail_call.take() {
            // A tail call from the target's entry function: the next target
            // replaces the whole of it.
            Some(target) => vm = target,
            None => {
                return Ok(exec::Finished {
                    executed,
                    ..finished
                })
            }
        }
    }
}

/// What a run is given.
enum Input<'a> {
    /// Memory (buffer types) or context bytes (tracing types).
    Bytes(&'a mut [u8]),
    /// A packet (packet types).
    Packet(&'a mut Packet),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn vm_is_send_and_sync() {
        assert_send_sync::<Vm>();
        assert_send_sync::<InterruptHandle>();
        // A RunState moves to the thread that runs with it.
        fn assert_send<T: Send>() {}
        assert_send::<RunState>();
        assert_send_sync::<crate::Map>();
    }
}
