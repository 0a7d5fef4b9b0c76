//! The dispatch loop: one `match` over predecoded ops, nothing else.
//!
//! Registers live in a 16-entry array indexed by a register type with 16
//! values ([`super::compile::R`]), so no index needs a bounds check or a mask
//! (the decoder already rejected numbers above 10). Ops are fetched with
//! `ip & mask` from an op array whose length is a power of two, which needs
//! no bounds check either. A fault is a plain [`Trap`] value inside the loop; it becomes a
//! [`RunError`] with the pc only on the way out.

use super::compile::{Code, Compiled, CODE_ADDRESS_TAG};
use crate::error::{RunError, Trap};
use crate::helpers::map_handle;
use crate::helpers::{HelperContext, HelperEnv, HelperError, HelperFn, HelperRegistry};
use crate::maps::Map;
use crate::memory::{AtomicRmw, MemoryMap};
use crate::{MAX_CALL_FRAMES, STACK_FRAME_SIZE};
use bpfbox_abi::errno;
use bpfbox_abi::MapType;
use bpfbox_isa::semantics as sem;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};

/// A caller's state saved across a local call.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Frame {
    return_ip: usize,
    saved: [u64; 4],
    kind: FrameKind,
}

/// What runs in the frame a [`Frame`] record was pushed for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum FrameKind {
    /// A function called with a local call.
    #[default]
    Call,
    /// The callback of `bpf_loop` or `for_each_map_elem`, whose state is the
    /// last of the run's loop states (they nest like the frames).
    Callback,
    /// The entry function of a program that a tail call from a sub-program
    /// started in the sub-program's frame (see `after_helper_exit`): nothing
    /// to return to in this program, its `exit` ends the program's part of
    /// the run. The record holds nothing else: the sub-program's own return
    /// record is kept by the tail call until the program ends.
    TailCallBase,
}

/// A helper that calls back into the program: what it iterates over and
/// how far it got.
#[derive(Clone, Debug)]
pub(crate) struct LoopState {
    /// Callbacks made so far (the helper's result).
    calls: u64,
    callback: usize,
    ctx: u64,
    source: Iterations,
}

#[derive(Clone, Debug)]
enum Iterations {
    /// `bpf_loop`: this many calls.
    Count(u64),
    /// `for_each_map_elem`: the map's keys when the helper was called.
    Elements {
        map: Map,
        keys: Vec<Vec<u8>>,
        next: usize,
    },
}

impl LoopState {
    /// Sets r1–r5 for the next callback; `false` when the iteration is
    /// over.
    fn next_call(&mut self, regs: &mut [u64; 16], memory: &MemoryMap<'_>, cpu: u32) -> bool {
        let ctx = self.ctx;
        let args = match &mut self.source {
            Iterations::Count(count) if self.calls < *count => [self.calls, ctx, 0, 0, 0],
            Iterations::Count(_) => return false,
            Iterations::Elements { map, keys, next } => loop {
                let Some(key) = keys.get(*next) else {
                    return false;
                };
                *next += 1;
                // Elements deleted since the helper was called are skipped.
                let Some(value) = map.prog_lookup(key, cpu as usize % map.cpus().max(1)) else {
                    continue;
                };
                let Some(key_addr) = memory.write_key_scratch(key) else {
                    return false;
                };
                break [map_handle(map), key_addr, value, ctx, 0];
            },
        };
        regs[1..6].copy_from_slice(&args);
        self.calls += 1;
        true
    }
}

/// Most iterations of one `bpf_loop` (the kernel's `BPF_MAX_LOOPS`).
const MAX_LOOPS: u64 = 1 << 23;

/// Receives every executed instruction with the registers before and after.
pub trait Tracer {
    /// Whether tracing code is compiled into the loop at all.
    const ENABLED: bool;
    /// Called after the instruction at `pc` ran. Not called for the
    /// instruction that ends the run with an error.
    fn step(&mut self, pc: usize, before: &[u64; 11], after: &[u64; 11]);
}

/// The tracer that traces nothing; the loop compiles without tracing code.
pub(crate) struct NoTrace;

impl Tracer for NoTrace {
    const ENABLED: bool = false;
    fn step(&mut self, _: usize, _: &[u64; 11], _: &[u64; 11]) {}
}

/// Everything one run needs besides the program.
pub(crate) struct Machine<'r, 'm> {
    pub memory: &'r mut MemoryMap<'m>,
    pub frames: &'r mut Vec<Frame>,
    /// States of the running bpf_loop/for_each_map_elem calls, innermost
    /// last.
    pub loops: &'r mut Vec<LoopState>,
    pub interrupt: &'r AtomicBool,
    pub registry: &'r HelperRegistry,
    pub env: &'r mut HelperEnv<'m>,
    pub budget: u64,
}

/// How a program's part of a run ended, short of its pc.
pub(crate) struct Finished {
    pub r0: u64,
    pub executed: u64,
    /// Whether something other than the entry function's `exit` ended it:
    /// a helper (a tail call from the entry function, or a helper that ends
    /// the program) or a packet load out of the packet. A program a
    /// sub-program tail-called that stops stops the whole run.
    pub stopped: bool,
}

fn snapshot(regs: &[u64; 16]) -> [u64; 11] {
    let mut out = [0; 11];
    out.copy_from_slice(&regs[..11]);
    out
}

/// Starts `bpf_loop` or `for_each_map_elem`: checks the arguments, makes
/// the first callback's frame and returns where the callback starts
/// (`None` when there is nothing to call: r0 then holds the result). Out of
/// line, so the dispatch loop stays small.
#[cold]
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn start_callbacks(
    code: Code,
    id: u32,
    ops: &[super::compile::Op],
    regs: &mut [u64; 16],
    memory: &mut MemoryMap<'_>,
    env: &HelperEnv<'_>,
    frames: &mut Vec<Frame>,
    loops: &mut Vec<LoopState>,
    return_ip: usize,
) -> Result<Option<usize>, Trap> {
    let (callback, ctx, flags) = (regs[2], regs[3], regs[4]);
    let source = if code == Code::BpfLoop {
        match regs[1] {
            _ if flags != 0 => Err(errno::EINVAL),
            count if count > MAX_LOOPS => Err(errno::E2BIG),
            count => Ok(Iterations::Count(count)),
        }
    } else {
        let map = env
            .map(regs[1])
            .cloned()
            .ok_or_else(|| Trap::HelperFailed {
                id,
                message: format!("argument 1 ({:#x}) is not a map of this program", regs[1]),
            })?;
        let iterable = matches!(
            map.def().map_type,
            MapType::Hash
                | MapType::PercpuHash
                | MapType::LruHash
                | MapType::LruPercpuHash
                | MapType::Array
                | MapType::PercpuArray
        );
        // One key scratch area per run: no iteration inside another.
        let nested = loops
            .iter()
            .any(|l| matches!(l.source, Iterations::Elements { .. }));
        if nested {
            return Err(Trap::HelperFailed {
                id,
                message: "for_each_map_elem inside a for_each_map_elem callback".to_string(),
            });
        }
        match map.keys() {
            Ok(keys) if iterable && flags == 0 => Ok(Iterations::Elements { map, keys, next: 0 }),
            _ => Err(errno::EINVAL),
        }
    };
    let source = match source {
        Ok(source) => source,
        Err(e) => {
            regs[0] = errno::neg(e);
            regs[1..6].fill(0);
            return Ok(None);
        }
    };
    let target = code_target(ops, callback).ok_or(Trap::BadCallback(callback))?;
    let mut state = LoopState {
        calls: 0,
        callback: target,
        ctx,
        source,
    };
    if !state.next_call(regs, memory, env.cpu) {
        // Nothing to iterate: no callback at all.
        regs[0] = 0;
        regs[1..6].fill(0);
        return Ok(None);
    }
    if frames.len() + 1 >= MAX_CALL_FRAMES {
        return Err(Trap::CallDepthExceeded);
    }
    frames.push(Frame {
        return_ip,
        saved: [regs[6], regs[7], regs[8], regs[9]],
        kind: FrameKind::Callback,
    });
    loops.push(state);
    regs[10] -= STACK_FRAME_SIZE;
    memory.enter_frame(regs[10] - STACK_FRAME_SIZE, STACK_FRAME_SIZE);
    Ok(Some(target))
}

/// After the callback of the innermost loop returned: `Some(callback)` when
/// it is called again (`frame` pushed back, its stack zeroed), `None` when
/// the iteration is over (r0 then holds the number of calls) and the helper
/// call returns through `frame`.
#[cold]
#[inline(never)]
fn next_callback(
    frame: Frame,
    regs: &mut [u64; 16],
    memory: &mut MemoryMap<'_>,
    cpu: u32,
    frames: &mut Vec<Frame>,
    loops: &mut Vec<LoopState>,
) -> Option<usize> {
    let state = loops.last_mut()?;
    // 0 continues, 1 stops.
    if regs[0] == 0 && state.next_call(regs, memory, cpu) {
        let callback = state.callback;
        frames.push(frame);
        memory.enter_frame(regs[10] - STACK_FRAME_SIZE, STACK_FRAME_SIZE);
        return Some(callback);
    }
    regs[0] = state.calls;
    regs[1..6].fill(0);
    loops.pop();
    None
}

/// The op a code address (`lddw` source 4) points to: a function's first
/// op, where its block is charged.
fn code_target(ops: &[super::compile::Op], address: u64) -> Option<usize> {
    if address & !u64::from(u32::MAX) != CODE_ADDRESS_TAG {
        return None;
    }
    let index = address as u32 as usize;
    (ops.get(index)?.code == Code::Charge).then_some(index)
}

/// What a run shares with the programs it tail-calls: everything besides
/// the registers and the program.
pub(crate) struct Chain<'r, 'm> {
    pub memory: &'r mut MemoryMap<'m>,
    pub env: &'r mut HelperEnv<'m>,
    pub frames: &'r mut Vec<Frame>,
    pub loops: &'r mut Vec<LoopState>,
    pub interrupt: &'r AtomicBool,
}

/// How the calling program goes on after a helper ended a function.
enum AfterExit {
    /// At op `at`, with `remaining` of its budget left.
    Continue { at: usize, remaining: u64 },
    /// Its part of the run ended.
    Stop(Finished),
}

/// After a helper ended the running function with `r0` (a tail call, or a
/// helper that ends the program): a tail call from a sub-program, or from a
/// `bpf_loop`/`for_each_map_elem` callback, runs its target (and whatever
/// that tail-calls from its entry function) in place of the sub-program's
/// frame, then returns the target's r0 from the sub-program to its caller,
/// as the sub-program's own `exit` would (with r1–r5 cleared, as after a
/// helper). A tail call from the entry function, or any other helper exit,
/// ends this program's part of the run ([`crate::vm`] goes on with the
/// tail call's target).
///
/// The target's stack is one fresh, zeroed frame where the sub-program's
/// was, and only that and the frames it calls are accessible to it: the
/// callers' frames are not, and the sub-program's frame was overwritten. Its
/// local calls take the frames that remain above the replaced one (frame
/// records are shared), so the call depth limit holds across programs.
#[cold]
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn after_helper_exit<'m, T: Tracer>(
    r0: u64,
    regs: &mut [u64; 16],
    memory: &mut MemoryMap<'m>,
    env: &mut HelperEnv<'m>,
    frames: &mut Vec<Frame>,
    loops: &mut Vec<LoopState>,
    interrupt: &AtomicBool,
    budget: u64,
    remaining: u64,
    tracer: &mut T,
) -> Result<AfterExit, RunError> {
    let stop = |r0, remaining| {
        Ok(AfterExit::Stop(Finished {
            r0,
            executed: budget - remaining,
            stopped: true,
        }))
    };
    let mut chain = Chain {
        memory,
        env,
        frames,
        loops,
        interrupt,
    };
    let Some(&frame) = chain.frames.last() else {
        return stop(r0, remaining);
    };
    if frame.kind == FrameKind::TailCallBase {
        return stop(r0, remaining);
    }
    let Some(target) = chain.env.tail_call.take() else {
        return stop(r0, remaining);
    };
    // The target's entry frame replaces the sub-program's: the base record
    // in place of the sub-program's return record, the stack from the
    // sub-program's r10 down.
    chain.frames.pop();
    chain.frames.push(Frame {
        kind: FrameKind::TailCallBase,
        ..Frame::default()
    });
    let spent = budget - remaining;
    let finished = crate::vm::run_chain(target, &mut chain, budget, spent, regs[10], tracer)?;
    let remaining = remaining - finished.executed;
    if finished.stopped {
        return stop(finished.r0, remaining);
    }
    // The target's exit took its base record; the sub-program returns.
    regs[0] = finished.r0;
    regs[1..6].fill(0);
    if frame.kind == FrameKind::Callback {
        if let Some(callback) = next_callback(
            frame,
            regs,
            chain.memory,
            chain.env.cpu,
            chain.frames,
            chain.loops,
        ) {
            return Ok(AfterExit::Continue {
                at: callback,
                remaining,
            });
        }
    }
    regs[6..10].copy_from_slice(&frame.saved);
    regs[10] += STACK_FRAME_SIZE;
    chain.memory.set_stack_floor(regs[10] - STACK_FRAME_SIZE);
    Ok(AfterExit::Continue {
        at: frame.return_ip,
        remaining,
    })
}

/// The text of a panic payload, when it has one.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".to_string()
    }
}

/// Calls a helper and applies its result: `Ok(None)` to continue, `Ok(Some(r0))`
/// when the helper ends the program.
#[inline(never)]
fn call_helper<'m>(
    helper: &HelperFn,
    id: u32,
    regs: &mut [u64; 16],
    memory: &mut MemoryMap<'m>,
    env: &mut HelperEnv<'m>,
) -> Result<Option<u64>, Trap> {
    let mut ctx = HelperContext { memory, env };
    let args = [regs[1], regs[2], regs[3], regs[4], regs[5]];
    // A helper is embedder code: a panic in it fails the run instead of
    // unwinding through the engine (and, later, through generated code).
    // Nothing the run owns is left half-updated by a helper that panics:
    // memory writes through the context are complete accesses.
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| helper(&mut ctx, args))).map_err(
        |payload| Trap::HelperPanicked {
            id,
            message: panic_message(payload.as_ref()),
        },
    )?;
    match result {
        Ok(value) => {
            regs[0] = value;
            // r1-r5 are scratch across a call; clear them so nothing a helper
            // leaves behind is observable, and every engine agrees.
            regs[1..6].fill(0);
            Ok(None)
        }
        Err(HelperError::Exit(r0)) => Ok(Some(r0)),
        Err(HelperError::Failed(message)) => Err(Trap::HelperFailed { id, message }),
        Err(HelperError::Trap(trap)) => Err(trap),
    }
}

/// Runs `compiled` from its entry with r1 and r2 set and r10 at the top of
/// `memory`'s stack, until the entry function exits, something stops the
/// program, or a trap. The frame records are the run's, as they are: empty
/// for the run's first program, ending with a [`FrameKind::TailCallBase`]
/// record for a program a sub-program tail-called.
#[inline(never)]
pub(crate) fn run<T: Tracer>(
    compiled: &Compiled,
    m: Machine<'_, '_>,
    r1: u64,
    r2: u64,
    tracer: &mut T,
) -> Result<Finished, RunError> {
    let Machine {
        memory,
        frames,
        loops,
        interrupt,
        registry,
        env,
        budget,
    } = m;
    let ops = &compiled.ops[..];
    // `ops.len()` is a power of two (compile pads it), so `ip & mask` is
    // always in bounds and equals `ip` for every ip the program can reach.
    debug_assert!(ops.len().is_power_of_two());
    let mask = ops.len() - 1;
    let mut regs = [0u64; 16];
    regs[1] = r1;
    regs[2] = r2;
    regs[10] = memory.stack_top();
    // Budget left; the instructions charged so far are `budget - remaining`
    // (nothing is charged beyond the budget, so this never wraps).
    let mut remaining: u64 = budget;
    let mut ip: usize = 0;
    let mut before = [0u64; 11];
    let mut traced_pc: Option<usize> = None;

    macro_rules! r {
        ($i:expr) => {
            regs[$i as usize]
        };
    }
    // Faults at the op just dispatched (ip was already advanced past it).
    macro_rules! fault {
        ($trap:expr) => {
            return Err(RunError {
                pc: compiled.pcs[ip - 1] as usize,
                trap: $trap,
            })
        };
    }
    // Reports the instruction just run, when tracing, if not yet reported.
    macro_rules! report_step {
        () => {
            if T::ENABLED {
                if let Some(pc) = traced_pc.take() {
                    tracer.step(pc, &before, &snapshot(&regs));
                }
            }
        };
    }
    // Ends the program's part of the run with r0, after reporting the
    // instruction that ended it: `finish!` at the entry function's `exit`,
    // `stop!` anywhere else.
    macro_rules! end {
        ($r0:expr, $stopped:expr) => {{
            report_step!();
            return Ok(Finished {
                r0: $r0,
                executed: budget - remaining,
                stopped: $stopped,
            });
        }};
    }
    macro_rules! finish {
        ($r0:expr) => {
            end!($r0, false)
        };
    }
    macro_rules! stop {
        ($r0:expr) => {
            end!($r0, true)
        };
    }
    macro_rules! check {
        ($result:expr) => {
            match $result {
                Ok(v) => v,
                Err(trap) => fault!(trap),
            }
        };
    }
    macro_rules! addr {
        ($reg:expr, $op:expr) => {
            r!($reg).wrapping_add($op.off as i64 as u64)
        };
    }
    macro_rules! alu64 {
        ($op:expr, |$a:ident, $b:ident| $e:expr, imm) => {{
            let $a = r!($op.dst);
            let $b = $op.imm;
            r!($op.dst) = $e;
        }};
        ($op:expr, |$a:ident, $b:ident| $e:expr, reg) => {{
            let $a = r!($op.dst);
            let $b = r!($op.src);
            r!($op.dst) = $e;
        }};
    }
    macro_rules! alu32 {
        ($op:expr, |$a:ident, $b:ident| $e:expr, imm) => {{
            let $a = r!($op.dst) as u32;
            let $b = $op.imm as u32;
            r!($op.dst) = u64::from($e);
        }};
        ($op:expr, |$a:ident, $b:ident| $e:expr, reg) => {{
            let $a = r!($op.dst) as u32;
            let $b = r!($op.src) as u32;
            r!($op.dst) = u64::from($e);
        }};
    }
    // Charges a block of `$len` instructions at its entry; a fault reports
    // the pc of the op just dispatched (the block's `Charge` op, or the
    // leader a jump charged for, see `goto_block!`).
    macro_rules! charge {
        ($len:expr) => {{
            // `executed + len > budget`, without keeping `executed` live.
            let len: u64 = $len;
            if len > remaining {
                fault!(Trap::BudgetExhausted {
                    executed: budget - remaining,
                    budget
                });
            }
            if interrupt.load(Ordering::Relaxed) {
                interrupt.store(false, Ordering::Relaxed);
                fault!(Trap::Interrupted {
                    executed: budget - remaining
                });
            }
            remaining -= len;
        }};
    }
    // Continues at op `$next`. That is a block's `Charge` op whenever control
    // moves by a jump, call or return (their targets and fall-throughs are
    // block leaders); the charge then runs here instead of in a dispatch of
    // its own, with the same checks, the same order and the same fault pc
    // (`ip` is moved past the `Charge` op first). When tracing, the `Charge`
    // op is dispatched as usual, so the tracer sees the jump before a fault.
    macro_rules! goto_block {
        ($next:expr) => {{
            let next: usize = $next;
            ip = next;
            if !T::ENABLED {
                let leader = ops[next & mask];
                if leader.code == Code::Charge {
                    ip = next + 1;
                    charge!(leader.imm);
                }
            }
        }};
    }
    macro_rules! jump {
        ($op:expr, |$a:ident, $b:ident| $cond:expr, $ty:ty, imm) => {{
            let $a = r!($op.dst) as $ty;
            let $b = $op.imm as $ty;
            goto_block!(if $cond { $op.off as usize } else { ip });
        }};
        ($op:expr, |$a:ident, $b:ident| $cond:expr, $ty:ty, reg) => {{
            let $a = r!($op.dst) as $ty;
            let $b = r!($op.src) as $ty;
            goto_block!(if $cond { $op.off as usize } else { ip });
        }};
    }
    macro_rules! atomic {
        ($op:expr, $len:expr, $rmw:expr, $fetch:expr) => {{
            let addr = addr!($op.dst, $op);
            let old = check!(memory.atomic_rmw(addr, $len, $rmw, r!($op.src)));
            if $fetch {
                r!($op.src) = old;
            }
        }};
    }
    // A helper ended the calling function with `$r0`: a tail call from a
    // sub-program runs its target in the sub-program's frame and continues
    // in the sub-program's caller; anything else ends this program's part of
    // the run. All of it out of line (`after_helper_exit`).
    macro_rules! helper_ended {
        ($r0:expr) => {{
            report_step!();
            match after_helper_exit(
                $r0, &mut regs, memory, env, frames, loops, interrupt, budget, remaining, tracer,
            ) {
                Ok(AfterExit::Continue {
                    at,
                    remaining: left,
                }) => {
                    remaining = left;
                    // A block leader: its `Charge` op runs next.
                    ip = at;
                }
                Ok(AfterExit::Stop(finished)) => return Ok(finished),
                Err(error) => return Err(error),
            }
        }};
    }

    loop {
        debug_assert!(ip < ops.len());
        let op = ops[ip & mask];
        ip += 1;
        if T::ENABLED {
            report_step!();
            if op.code != Code::Charge && op.code != Code::FellOff {
                traced_pc = Some(compiled.pcs[ip - 1] as usize);
                before = snapshot(&regs);
            }
        }
        match op.code {
            Code::Add64I => alu64!(op, |a, b| a.wrapping_add(b), imm),
            Code::Add64R => alu64!(op, |a, b| a.wrapping_add(b), reg),
            Code::Sub64I => alu64!(op, |a, b| a.wrapping_sub(b), imm),
            Code::Sub64R => alu64!(op, |a, b| a.wrapping_sub(b), reg),
            Code::Mul64I => alu64!(op, |a, b| a.wrapping_mul(b), imm),
            Code::Mul64R => alu64!(op, |a, b| a.wrapping_mul(b), reg),
            Code::Div64I => alu64!(op, |a, b| sem::div64(a, b), imm),
            Code::Div64R => alu64!(op, |a, b| sem::div64(a, b), reg),
            Code::SDiv64I => alu64!(op, |a, b| sem::sdiv64(a as i64, b as i64) as u64, imm),
            Code::SDiv64R => alu64!(op, |a, b| sem::sdiv64(a as i64, b as i64) as u64, reg),
            Code::Or64I => alu64!(op, |a, b| a | b, imm),
            Code::Or64R => alu64!(op, |a, b| a | b, reg),
            Code::And64I => alu64!(op, |a, b| a & b, imm),
            Code::And64R => alu64!(op, |a, b| a & b, reg),
            Code::Lsh64I => alu64!(op, |a, b| sem::lsh64(a, b), imm),
            Code::Lsh64R => alu64!(op, |a, b| sem::lsh64(a, b), reg),
            Code::Rsh64I => alu64!(op, |a, b| sem::rsh64(a, b), imm),
            Code::Rsh64R => alu64!(op, |a, b| sem::rsh64(a, b), reg),
            Code::Mod64I => alu64!(op, |a, b| sem::mod64(a, b), imm),
            Code::Mod64R => alu64!(op, |a, b| sem::mod64(a, b), reg),
            Code::SMod64I => alu64!(op, |a, b| sem::smod64(a as i64, b as i64) as u64, imm),
            Code::SMod64R => alu64!(op, |a, b| sem::smod64(a as i64, b as i64) as u64, reg),
            Code::Xor64I => alu64!(op, |a, b| a ^ b, imm),
            Code::Xor64R => alu64!(op, |a, b| a ^ b, reg),
            Code::Mov64I => alu64!(op, |_a, b| b, imm),
            Code::Mov64R => alu64!(op, |_a, b| b, reg),
            Code::Arsh64I => alu64!(op, |a, b| sem::arsh64(a, b), imm),
            Code::Arsh64R => alu64!(op, |a, b| sem::arsh64(a, b), reg),
            Code::MovSx8To64 => alu64!(op, |_a, b| sem::sext8_to_64(b), reg),
            Code::MovSx16To64 => alu64!(op, |_a, b| sem::sext16_to_64(b), reg),
            Code::MovSx32To64 => alu64!(op, |_a, b| sem::sext32_to_64(b), reg),
            Code::Neg64 => r!(op.dst) = r!(op.dst).wrapping_neg(),

            Code::Add32I => alu32!(op, |a, b| a.wrapping_add(b), imm),
            Code::Add32R => alu32!(op, |a, b| a.wrapping_add(b), reg),
            Code::Sub32I => alu32!(op, |a, b| a.wrapping_sub(b), imm),
            Code::Sub32R => alu32!(op, |a, b| a.wrapping_sub(b), reg),
            Code::Mul32I => alu32!(op, |a, b| a.wrapping_mul(b), imm),
            Code::Mul32R => alu32!(op, |a, b| a.wrapping_mul(b), reg),
            Code::Div32I => alu32!(op, |a, b| sem::div32(a, b), imm),
            Code::Div32R => alu32!(op, |a, b| sem::div32(a, b), reg),
            Code::SDiv32I => alu32!(op, |a, b| sem::sdiv32(a as i32, b as i32) as u32, imm),
            Code::SDiv32R => alu32!(op, |a, b| sem::sdiv32(a as i32, b as i32) as u32, reg),
            Code::Or32I => alu32!(op, |a, b| a | b, imm),
            Code::Or32R => alu32!(op, |a, b| a | b, reg),
            Code::And32I => alu32!(op, |a, b| a & b, imm),
            Code::And32R => alu32!(op, |a, b| a & b, reg),
            Code::Lsh32I => alu32!(op, |a, b| sem::lsh32(a, b.into()), imm),
            Code::Lsh32R => alu32!(op, |a, b| sem::lsh32(a, b.into()), reg),
            Code::Rsh32I => alu32!(op, |a, b| sem::rsh32(a, b.into()), imm),
            Code::Rsh32R => alu32!(op, |a, b| sem::rsh32(a, b.into()), reg),
            Code::Mod32I => alu32!(op, |a, b| sem::mod32(a, b), imm),
            Code::Mod32R => alu32!(op, |a, b| sem::mod32(a, b), reg),
            Code::SMod32I => alu32!(op, |a, b| sem::smod32(a as i32, b as i32) as u32, imm),
            Code::SMod32R => alu32!(op, |a, b| sem::smod32(a as i32, b as i32) as u32, reg),
            Code::Xor32I => alu32!(op, |a, b| a ^ b, imm),
            Code::Xor32R => alu32!(op, |a, b| a ^ b, reg),
            Code::Mov32I => alu32!(op, |_a, b| b, imm),
            Code::Mov32R => alu32!(op, |_a, b| b, reg),
            Code::Arsh32I => alu32!(op, |a, b| sem::arsh32(a, b.into()), imm),
            Code::Arsh32R => alu32!(op, |a, b| sem::arsh32(a, b.into()), reg),
            Code::MovSx8To32 => r!(op.dst) = sem::sext8_to_32(r!(op.src)),
            Code::MovSx16To32 => r!(op.dst) = sem::sext16_to_32(r!(op.src)),
            Code::Neg32 => r!(op.dst) = u64::from((r!(op.dst) as u32).wrapping_neg()),

            Code::Le16 => r!(op.dst) = sem::to_le(r!(op.dst), 16),
            Code::Le32 => r!(op.dst) = sem::to_le(r!(op.dst), 32),
            Code::Le64 => r!(op.dst) = sem::to_le(r!(op.dst), 64),
            Code::Be16 => r!(op.dst) = sem::to_be(r!(op.dst), 16),
            Code::Be32 => r!(op.dst) = sem::to_be(r!(op.dst), 32),
            Code::Be64 => r!(op.dst) = sem::to_be(r!(op.dst), 64),
            Code::Bswap16 => r!(op.dst) = sem::bswap(r!(op.dst), 16),
            Code::Bswap32 => r!(op.dst) = sem::bswap(r!(op.dst), 32),
            Code::Bswap64 => r!(op.dst) = sem::bswap(r!(op.dst), 64),
            Code::LoadImm64 => r!(op.dst) = op.imm,

            Code::LdxB => r!(op.dst) = check!(memory.load(addr!(op.src, op), 1)),
            Code::LdxH => r!(op.dst) = check!(memory.load(addr!(op.src, op), 2)),
            Code::LdxW => r!(op.dst) = check!(memory.load(addr!(op.src, op), 4)),
            Code::LdxDW => r!(op.dst) = check!(memory.load(addr!(op.src, op), 8)),
            Code::LdxSB => r!(op.dst) = sem::sext8_to_64(check!(memory.load(addr!(op.src, op), 1))),
            Code::LdxSH => {
                r!(op.dst) = sem::sext16_to_64(check!(memory.load(addr!(op.src, op), 2)))
            }
            Code::LdxSW => {
                r!(op.dst) = sem::sext32_to_64(check!(memory.load(addr!(op.src, op), 4)))
            }
            Code::StB => check!(memory.store(addr!(op.dst, op), 1, op.imm)),
            Code::StH => check!(memory.store(addr!(op.dst, op), 2, op.imm)),
            Code::StW => check!(memory.store(addr!(op.dst, op), 4, op.imm)),
            Code::StDW => check!(memory.store(addr!(op.dst, op), 8, op.imm)),
            Code::StxB => check!(memory.store(addr!(op.dst, op), 1, r!(op.src))),
            Code::StxH => check!(memory.store(addr!(op.dst, op), 2, r!(op.src))),
            Code::StxW => check!(memory.store(addr!(op.dst, op), 4, r!(op.src))),
            Code::StxDW => check!(memory.store(addr!(op.dst, op), 8, r!(op.src))),

            Code::AtomicAdd32 => atomic!(op, 4, AtomicRmw::Add, false),
            Code::AtomicOr32 => atomic!(op, 4, AtomicRmw::Or, false),
            Code::AtomicAnd32 => atomic!(op, 4, AtomicRmw::And, false),
            Code::AtomicXor32 => atomic!(op, 4, AtomicRmw::Xor, false),
            Code::AtomicFetchAdd32 => atomic!(op, 4, AtomicRmw::Add, true),
            Code::AtomicFetchOr32 => atomic!(op, 4, AtomicRmw::Or, true),
            Code::AtomicFetchAnd32 => atomic!(op, 4, AtomicRmw::And, true),
            Code::AtomicFetchXor32 => atomic!(op, 4, AtomicRmw::Xor, true),
            Code::AtomicXchg32 => atomic!(op, 4, AtomicRmw::Xchg, true),
            Code::AtomicAdd64 => atomic!(op, 8, AtomicRmw::Add, false),
            Code::AtomicOr64 => atomic!(op, 8, AtomicRmw::Or, false),
            Code::AtomicAnd64 => atomic!(op, 8, AtomicRmw::And, false),
            Code::AtomicXor64 => atomic!(op, 8, AtomicRmw::Xor, false),
            Code::AtomicFetchAdd64 => atomic!(op, 8, AtomicRmw::Add, true),
            Code::AtomicFetchOr64 => atomic!(op, 8, AtomicRmw::Or, true),
            Code::AtomicFetchAnd64 => atomic!(op, 8, AtomicRmw::And, true),
            Code::AtomicFetchXor64 => atomic!(op, 8, AtomicRmw::Xor, true),
            Code::AtomicXchg64 => atomic!(op, 8, AtomicRmw::Xchg, true),
            Code::AtomicCmpXchg32 => {
                let addr = addr!(op.dst, op);
                regs[0] = check!(memory.atomic_cmpxchg(addr, 4, regs[0], r!(op.src)));
            }
            Code::AtomicCmpXchg64 => {
                let addr = addr!(op.dst, op);
                regs[0] = check!(memory.atomic_cmpxchg(addr, 8, regs[0], r!(op.src)));
            }

            Code::Ja => goto_block!(op.off as usize),
            Code::Jeq64I => jump!(op, |a, b| a == b, u64, imm),
            Code::Jeq64R => jump!(op, |a, b| a == b, u64, reg),
            Code::Jgt64I => jump!(op, |a, b| a > b, u64, imm),
            Code::Jgt64R => jump!(op, |a, b| a > b, u64, reg),
            Code::Jge64I => jump!(op, |a, b| a >= b, u64, imm),
            Code::Jge64R => jump!(op, |a, b| a >= b, u64, reg),
            Code::Jset64I => jump!(op, |a, b| a & b != 0, u64, imm),
            Code::Jset64R => jump!(op, |a, b| a & b != 0, u64, reg),
            Code::Jne64I => jump!(op, |a, b| a != b, u64, imm),
            Code::Jne64R => jump!(op, |a, b| a != b, u64, reg),
            Code::Jsgt64I => jump!(op, |a, b| a > b, i64, imm),
            Code::Jsgt64R => jump!(op, |a, b| a > b, i64, reg),
            Code::Jsge64I => jump!(op, |a, b| a >= b, i64, imm),
            Code::Jsge64R => jump!(op, |a, b| a >= b, i64, reg),
            Code::Jlt64I => jump!(op, |a, b| a < b, u64, imm),
            Code::Jlt64R => jump!(op, |a, b| a < b, u64, reg),
            Code::Jle64I => jump!(op, |a, b| a <= b, u64, imm),
            Code::Jle64R => jump!(op, |a, b| a <= b, u64, reg),
            Code::Jslt64I => jump!(op, |a, b| a < b, i64, imm),
            Code::Jslt64R => jump!(op, |a, b| a < b, i64, reg),
            Code::Jsle64I => jump!(op, |a, b| a <= b, i64, imm),
            Code::Jsle64R => jump!(op, |a, b| a <= b, i64, reg),
            Code::Jeq32I => jump!(op, |a, b| a == b, u32, imm),
            Code::Jeq32R => jump!(op, |a, b| a == b, u32, reg),
            Code::Jgt32I => jump!(op, |a, b| a > b, u32, imm),
            Code::Jgt32R => jump!(op, |a, b| a > b, u32, reg),
            Code::Jge32I => jump!(op, |a, b| a >= b, u32, imm),
            Code::Jge32R => jump!(op, |a, b| a >= b, u32, reg),
            Code::Jset32I => jump!(op, |a, b| a & b != 0, u32, imm),
            Code::Jset32R => jump!(op, |a, b| a & b != 0, u32, reg),
            Code::Jne32I => jump!(op, |a, b| a != b, u32, imm),
            Code::Jne32R => jump!(op, |a, b| a != b, u32, reg),
            Code::Jsgt32I => jump!(op, |a, b| a > b, i32, imm),
            Code::Jsgt32R => jump!(op, |a, b| a > b, i32, reg),
            Code::Jsge32I => jump!(op, |a, b| a >= b, i32, imm),
            Code::Jsge32R => jump!(op, |a, b| a >= b, i32, reg),
            Code::Jlt32I => jump!(op, |a, b| a < b, u32, imm),
            Code::Jlt32R => jump!(op, |a, b| a < b, u32, reg),
            Code::Jle32I => jump!(op, |a, b| a <= b, u32, imm),
            Code::Jle32R => jump!(op, |a, b| a <= b, u32, reg),
            Code::Jslt32I => jump!(op, |a, b| a < b, i32, imm),
            Code::Jslt32R => jump!(op, |a, b| a < b, i32, reg),
            Code::Jsle32I => jump!(op, |a, b| a <= b, i32, imm),
            Code::Jsle32R => jump!(op, |a, b| a <= b, i32, reg),

            Code::LdAbsB
            | Code::LdAbsH
            | Code::LdAbsW
            | Code::LdIndB
            | Code::LdIndH
            | Code::LdIndW => {
                let (indexed, size) = match op.code {
                    Code::LdAbsB => (false, 1),
                    Code::LdAbsH => (false, 2),
                    Code::LdAbsW => (false, 4),
                    Code::LdIndB => (true, 1),
                    Code::LdIndH => (true, 2),
                    _ => (true, 4),
                };
                // The offset is a signed 32-bit sum, as the kernel computes it;
                // negative offsets (the kernel's SKF_* ancillary areas) are
                // outside the packet here.
                let base = if indexed {
                    i64::from(r!(op.src) as i32)
                } else {
                    0
                };
                let offset = base + op.imm as i64;
                let value = u64::try_from(offset)
                    .ok()
                    .and_then(|offset| memory.packet_load_be(offset, size));
                match value {
                    Some(value) => {
                        regs[0] = value;
                        // Like a helper call, the load clobbers r1-r5.
                        regs[1..6].fill(0);
                    }
                    // Out of the packet: the program ends with r0 = 0.
                    None => stop!(0),
                }
            }
            Code::CallHelper => {
                let helper = &compiled.helpers[op.imm as usize];
                if let Some(r0) = check!(call_helper(
                    &**helper,
                    op.off as u32,
                    &mut regs,
                    memory,
                    env
                )) {
                    helper_ended!(r0);
                }
            }
            Code::CallRegister => {
                let id = r!(op.dst);
                let Some(helper) = u32::try_from(id).ok().and_then(|n| registry.get(n)) else {
                    fault!(Trap::UnknownHelper(id));
                };
                if let Some(r0) = check!(call_helper(&**helper, id as u32, &mut regs, memory, env))
                {
                    helper_ended!(r0);
                }
            }
            Code::CallLocal => {
                if frames.len() + 1 >= MAX_CALL_FRAMES {
                    fault!(Trap::CallDepthExceeded);
                }
                frames.push(Frame {
                    return_ip: ip,
                    saved: [regs[6], regs[7], regs[8], regs[9]],
                    kind: FrameKind::Call,
                });
                regs[10] -= STACK_FRAME_SIZE;
                memory.enter_frame(regs[10] - STACK_FRAME_SIZE, STACK_FRAME_SIZE);
                goto_block!(op.off as usize);
            }
            Code::Exit => match frames.pop() {
                None => finish!(regs[0]),
                Some(frame) => {
                    if frame.kind != FrameKind::Call {
                        // The entry function of a program a sub-program
                        // tail-called: that program is done.
                        if frame.kind == FrameKind::TailCallBase {
                            finish!(regs[0]);
                        }
                        // A callback of bpf_loop/for_each_map_elem returned:
                        // call it again, or return from the helper call.
                        if let Some(callback) =
                            next_callback(frame, &mut regs, memory, env.cpu, frames, loops)
                        {
                            goto_block!(callback);
                            continue;
                        }
                    }
                    regs[6..10].copy_from_slice(&frame.saved);
                    regs[10] += STACK_FRAME_SIZE;
                    memory.set_stack_floor(regs[10] - STACK_FRAME_SIZE);
                    goto_block!(frame.return_ip);
                }
            },
            Code::Charge => charge!(op.imm),
            Code::FellOff => fault!(Trap::FellOffEnd),
            Code::BpfLoop | Code::ForEachMapElem => {
                match start_callbacks(
                    op.code,
                    op.off as u32,
                    ops,
                    &mut regs,
                    memory,
                    env,
                    frames,
                    loops,
                    ip,
                ) {
                    Ok(Some(target)) => goto_block!(target),
                    Ok(None) => {}
                    Err(trap) => fault!(trap),
                }
            }
        }
    }
}
