//! Predecoding: turns a [`Program`] into the flat [`Op`] array the dispatch
//! loop runs, once per program.
//!
//! What happens here so it does not happen per executed instruction:
//! - each instruction becomes one [`Op`] whose [`Code`] names the operation,
//!   its width and its operand kind (no field decoding in the loop);
//! - `lddw` is folded into one op holding the 64-bit value;
//! - jump and local-call targets are resolved to op indices;
//! - the instruction budget is charged by a [`Code::Charge`] op at the entry
//!   of every basic block, carrying the block's length, so the loop pays for
//!   the budget once per block (the JIT charges at exactly the same places);
//! - a [`Code::FellOff`] op ends every function, so running past the end is a
//!   trap, not an out-of-bounds index;
//! - static helper calls are resolved to the helper's slot in a table.

use crate::error::LoadError;
use crate::helpers::{map_handle, HelperFn, HelperRegistry};
use crate::maps::Map;
use bpfbox_abi::{HelperId, ProgramType};
use bpfbox_isa::{
    semantics::sext_imm, AluOp, AtomicOp, CallTarget, Instruction, JmpCond, LddwKind, LegacyMode,
    Program, Size, Source, SwapKind, Width,
};
use std::collections::BTreeSet;
use std::sync::Arc;

/// One predecoded operation (16 bytes).
///
/// Field use depends on the code: `dst`/`src` are registers; `off` is
/// the memory offset of loads and stores, the target op index of jumps and
/// local calls, or the helper number of helper calls; `imm` is the
/// sign-extended immediate, the `lddw` value, the block length of `Charge`,
/// or the helper's table slot.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Op {
    pub code: Code,
    pub dst: R,
    pub src: R,
    pub off: i32,
    pub imm: u64,
}

/// A register number as a type with exactly 16 values, so the optimiser
/// knows every `R as usize` is below 16: indexing the loop's 16-entry
/// register array needs neither a bounds check nor a mask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum R {
    R0,
    R1,
    R2,
    R3,
    R4,
    R5,
    R6,
    R7,
    R8,
    R9,
    R10,
    R11,
    R12,
    R13,
    R14,
    R15,
}

impl R {
    const ALL: [R; 16] = [
        R::R0,
        R::R1,
        R::R2,
        R::R3,
        R::R4,
        R::R5,
        R::R6,
        R::R7,
        R::R8,
        R::R9,
        R::R10,
        R::R11,
        R::R12,
        R::R13,
        R::R14,
        R::R15,
    ];

    /// The register numbered `n`; only the low 4 bits count (the decoder
    /// already rejected numbers above 10).
    fn new(n: u8) -> R {
        R::ALL[usize::from(n & 15)]
    }
}

macro_rules! codes {
    ($($name:ident),* $(,)?) => {
        /// Operation codes of the predecoded program: one per operation,
        /// width and operand kind (`I` immediate, `R` register).
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(u8)]
        pub(crate) enum Code { $($name),* }
    };
}

codes! {
    Add64I, Add64R, Sub64I, Sub64R, Mul64I, Mul64R, Div64I, Div64R, SDiv64I, SDiv64R,
    Or64I, Or64R, And64I, And64R, Lsh64I, Lsh64R, Rsh64I, Rsh64R, Mod64I, Mod64R,
    SMod64I, SMod64R, Xor64I, Xor64R, Mov64I, Mov64R, Arsh64I, Arsh64R,
    MovSx8To64, MovSx16To64, MovSx32To64, Neg64,
    Add32I, Add32R, Sub32I, Sub32R, Mul32I, Mul32R, Div32I, Div32R, SDiv32I, SDiv32R,
    Or32I, Or32R, And32I, And32R, Lsh32I, Lsh32R, Rsh32I, Rsh32R, Mod32I, Mod32R,
    SMod32I, SMod32R, Xor32I, Xor32R, Mov32I, Mov32R, Arsh32I, Arsh32R,
    MovSx8To32, MovSx16To32, Neg32,
    Le16, Le32, Le64, Be16, Be32, Be64, Bswap16, Bswap32, Bswap64,
    LoadImm64,
    LdxB, LdxH, LdxW, LdxDW, LdxSB, LdxSH, LdxSW,
    StB, StH, StW, StDW, StxB, StxH, StxW, StxDW,
    AtomicAdd32, AtomicOr32, AtomicAnd32, AtomicXor32,
    AtomicFetchAdd32, AtomicFetchOr32, AtomicFetchAnd32, AtomicFetchXor32,
    AtomicXchg32, AtomicCmpXchg32,
    AtomicAdd64, AtomicOr64, AtomicAnd64, AtomicXor64,
    AtomicFetchAdd64, AtomicFetchOr64, AtomicFetchAnd64, AtomicFetchXor64,
    AtomicXchg64, AtomicCmpXchg64,
    Ja,
    Jeq64I, Jeq64R, Jgt64I, Jgt64R, Jge64I, Jge64R, Jset64I, Jset64R, Jne64I, Jne64R,
    Jsgt64I, Jsgt64R, Jsge64I, Jsge64R, Jlt64I, Jlt64R, Jle64I, Jle64R,
    Jslt64I, Jslt64R, Jsle64I, Jsle64R,
    Jeq32I, Jeq32R, Jgt32I, Jgt32R, Jge32I, Jge32R, Jset32I, Jset32R, Jne32I, Jne32R,
    Jsgt32I, Jsgt32R, Jsge32I, Jsge32R, Jlt32I, Jlt32R, Jle32I, Jle32R,
    Jslt32I, Jslt32R, Jsle32I, Jsle32R,
    LdAbsB, LdAbsH, LdAbsW, LdIndB, LdIndH, LdIndW,
    CallHelper, CallLocal, CallRegister, BpfLoop, ForEachMapElem, Exit,
    Charge, FellOff,
}

/// A function's address in a register (`lddw` source 4): an opaque value,
/// never an accessible address, holding the function's first op index.
pub(crate) const CODE_ADDRESS_TAG: u64 = 0xffff_c0de_0000_0000;

/// A program ready for the dispatch loop.
pub(crate) struct Compiled {
    /// The ops; the length is a power of two (padded with `FellOff`).
    pub ops: Box<[Op]>,
    /// pc (slot index) of each op, for errors and tracing.
    pub pcs: Box<[u32]>,
    /// Helpers of static calls, indexed by `Op::imm` of `CallHelper`.
    pub helpers: Box<[Arc<HelperFn>]>,
}

fn alu_code(width: Width, op: AluOp, imm: bool) -> Code {
    use Code::*;
    let (i64_, r64, i32_, r32) = match op {
        AluOp::Add => (Add64I, Add64R, Add32I, Add32R),
        AluOp::Sub => (Sub64I, Sub64R, Sub32I, Sub32R),
        AluOp::Mul => (Mul64I, Mul64R, Mul32I, Mul32R),
        AluOp::Div => (Div64I, Div64R, Div32I, Div32R),
        AluOp::SDiv => (SDiv64I, SDiv64R, SDiv32I, SDiv32R),
        AluOp::Or => (Or64I, Or64R, Or32I, Or32R),
        AluOp::And => (And64I, And64R, And32I, And32R),
        AluOp::Lsh => (Lsh64I, Lsh64R, Lsh32I, Lsh32R),
        AluOp::Rsh => (Rsh64I, Rsh64R, Rsh32I, Rsh32R),
        AluOp::Mod => (Mod64I, Mod64R, Mod32I, Mod32R),
        AluOp::SMod => (SMod64I, SMod64R, SMod32I, SMod32R),
        AluOp::Xor => (Xor64I, Xor64R, Xor32I, Xor32R),
        AluOp::Mov => (Mov64I, Mov64R, Mov32I, Mov32R),
        AluOp::Arsh => (Arsh64I, Arsh64R, Arsh32I, Arsh32R),
        // The decoder only accepts sign-extending moves with a register source.
        AluOp::MovSx8 => (MovSx8To64, MovSx8To64, MovSx8To32, MovSx8To32),
        AluOp::MovSx16 => (MovSx16To64, MovSx16To64, MovSx16To32, MovSx16To32),
        AluOp::MovSx32 => (MovSx32To64, MovSx32To64, MovSx32To64, MovSx32To64),
    };
    match (width, imm) {
        (Width::W64, true) => i64_,
        (Width::W64, false) => r64,
        (Width::W32, true) => i32_,
        (Width::W32, false) => r32,
    }
}

fn jump_code(width: Width, cond: JmpCond, imm: bool) -> Code {
    use Code::*;
    let (i64_, r64, i32_, r32) = match cond {
        JmpCond::Eq => (Jeq64I, Jeq64R, Jeq32I, Jeq32R),
        JmpCond::Gt => (Jgt64I, Jgt64R, Jgt32I, Jgt32R),
        JmpCond::Ge => (Jge64I, Jge64R, Jge32I, Jge32R),
        JmpCond::Set => (Jset64I, Jset64R, Jset32I, Jset32R),
        JmpCond::Ne => (Jne64I, Jne64R, Jne32I, Jne32R),
        JmpCond::Sgt => (Jsgt64I, Jsgt64R, Jsgt32I, Jsgt32R),
        JmpCond::Sge => (Jsge64I, Jsge64R, Jsge32I, Jsge32R),
        JmpCond::Lt => (Jlt64I, Jlt64R, Jlt32I, Jlt32R),
        JmpCond::Le => (Jle64I, Jle64R, Jle32I, Jle32R),
        JmpCond::Slt => (Jslt64I, Jslt64R, Jslt32I, Jslt32R),
        JmpCond::Sle => (Jsle64I, Jsle64R, Jsle32I, Jsle32R),
    };
    match (width, imm) {
        (Width::W64, true) => i64_,
        (Width::W64, false) => r64,
        (Width::W32, true) => i32_,
        (Width::W32, false) => r32,
    }
}

fn atomic_code(size: Size, op: AtomicOp, fetch: bool) -> Code {
    use Code::*;
    let (c32, c64) = match (op, fetch) {
        (AtomicOp::Add, false) => (AtomicAdd32, AtomicAdd64),
        (AtomicOp::Or, false) => (AtomicOr32, AtomicOr64),
        (AtomicOp::And, false) => (AtomicAnd32, AtomicAnd64),
        (AtomicOp::Xor, false) => (AtomicXor32, AtomicXor64),
        (AtomicOp::Add, true) => (AtomicFetchAdd32, AtomicFetchAdd64),
        (AtomicOp::Or, true) => (AtomicFetchOr32, AtomicFetchOr64),
        (AtomicOp::And, true) => (AtomicFetchAnd32, AtomicFetchAnd64),
        (AtomicOp::Xor, true) => (AtomicFetchXor32, AtomicFetchXor64),
        (AtomicOp::Xchg, _) => (AtomicXchg32, AtomicXchg64),
        (AtomicOp::CmpXchg, _) => (AtomicCmpXchg32, AtomicCmpXchg64),
    };
    if size == Size::DW {
        c64
    } else {
        c32
    }
}

fn op(code: Code, dst: u8, src: u8, off: i32, imm: u64) -> Op {
    Op {
        code,
        dst: R::new(dst),
        src: R::new(src),
        off,
        imm,
    }
}

/// Basic-block leaders: the entry, every function entry, every jump target,
/// and every instruction after a jump, exit or local call.
fn block_leaders(program: &Program) -> BTreeSet<usize> {
    let mut leaders: BTreeSet<usize> = program.subprograms().iter().copied().collect();
    for l in program.instructions() {
        let next = l.pc + l.insn.slots();
        match l.insn {
            Instruction::Ja { offset, .. } => {
                leaders.insert((l.pc as i64 + 1 + i64::from(offset)) as usize);
                leaders.insert(next);
            }
            Instruction::Jump { off, .. } => {
                leaders.insert((l.pc as i64 + 1 + i64::from(off)) as usize);
                leaders.insert(next);
            }
            Instruction::Exit | Instruction::Call(CallTarget::Local(_)) => {
                leaders.insert(next);
            }
            _ => {}
        }
    }
    leaders.retain(|&pc| pc < program.len_slots());
    leaders
}

/// The map a `lddw` names: both "by fd" and "by index" index the VM's map
/// table ([`crate::Config::maps`]).
fn map_at(maps: &[Map], pc: usize, index: i32) -> Result<&Map, LoadError> {
    usize::try_from(index)
        .ok()
        .and_then(|i| maps.get(i))
        .ok_or(LoadError::UnknownMap { pc, index })
}

/// Lowers `program` to ops, resolving static helper calls in `registry`.
pub(crate) fn compile(
    program: &Program,
    program_type: ProgramType,
    registry: &HelperRegistry,
    maps: &[Map],
) -> Result<Compiled, LoadError> {
    let insns = program.instructions();
    let leaders = block_leaders(program);
    let subprogram_starts: BTreeSet<usize> =
        program.subprograms().iter().skip(1).copied().collect();

    // Length of the block starting at each leader, in instructions.
    let mut block_len = vec![0u32; insns.len()];
    let mut current = 0;
    for (i, l) in insns.iter().enumerate() {
        if leaders.contains(&l.pc) {
            current = i;
        }
        block_len[current] += 1;
    }

    // First pass: op index of every instruction start (the Charge op for leaders).
    let mut op_index = vec![u32::MAX; program.len_slots()];
    let mut count = 0usize;
    for l in insns {
        if subprogram_starts.contains(&l.pc) {
            count += 1; // FellOff of the previous function
        }
        op_index[l.pc] = count as u32;
        if leaders.contains(&l.pc) {
            count += 1;
        }
        count += 1;
    }
    let target = |pc: i64| -> i32 {
        // The decoder proved every jump and call target is an instruction start.
        op_index[pc as usize] as i32
    };

    let mut ops = Vec::with_capacity(count + 1);
    let mut pcs = Vec::with_capacity(count + 1);
    let mut helpers: Vec<Arc<HelperFn>> = Vec::new();
    for (i, l) in insns.iter().enumerate() {
        let pc = l.pc;
        if subprogram_starts.contains(&pc) {
            ops.push(op(Code::FellOff, 0, 0, 0, 0));
            pcs.push(pc as u32);
        }
        if leaders.contains(&pc) {
            ops.push(op(Code::Charge, 0, 0, 0, u64::from(block_len[i])));
            pcs.push(pc as u32);
        }
        let unsupported = |what| LoadError::Unsupported { pc, what };
        let lowered = match l.insn {
            Instruction::Alu {
                width,
                op: alu,
                dst,
                src,
            } => match src {
                Source::Imm(imm) => {
                    op(alu_code(width, alu, true), dst.index(), 0, 0, sext_imm(imm))
                }
                Source::Reg(r) => op(alu_code(width, alu, false), dst.index(), r.index(), 0, 0),
            },
            Instruction::Neg { width, dst } => {
                let code = if width == Width::W64 {
                    Code::Neg64
                } else {
                    Code::Neg32
                };
                op(code, dst.index(), 0, 0, 0)
            }
            Instruction::Swap { kind, bits, dst } => {
                let code = match (kind, bits) {
                    (SwapKind::ToLe, 16) => Code::Le16,
                    (SwapKind::ToLe, 32) => Code::Le32,
                    (SwapKind::ToLe, _) => Code::Le64,
                    (SwapKind::ToBe, 16) => Code::Be16,
                    (SwapKind::ToBe, 32) => Code::Be32,
                    (SwapKind::ToBe, _) => Code::Be64,
                    (SwapKind::Swap, 16) => Code::Bswap16,
                    (SwapKind::Swap, 32) => Code::Bswap32,
                    (SwapKind::Swap, _) => Code::Bswap64,
                };
                op(code, dst.index(), 0, 0, 0)
            }
            Instruction::LoadImm64 {
                kind,
                dst,
                imm,
                next_imm,
            } => match kind {
                LddwKind::Imm => {
                    let value = u64::from(imm as u32) | (u64::from(next_imm as u32) << 32);
                    op(Code::LoadImm64, dst.index(), 0, 0, value)
                }
                LddwKind::MapFd | LddwKind::MapIdx => {
                    let map = map_at(maps, pc, imm)?;
                    op(Code::LoadImm64, dst.index(), 0, 0, map_handle(map))
                }
                LddwKind::MapValue | LddwKind::MapIdxValue => {
                    let map = map_at(maps, pc, imm)?;
                    let offset = next_imm as u32;
                    let address = map.direct_value_address(offset).map_err(|error| {
                        LoadError::BadMapValue {
                            pc,
                            index: imm,
                            offset,
                            reason: error.to_string(),
                        }
                    })?;
                    op(Code::LoadImm64, dst.index(), 0, 0, address)
                }
                LddwKind::VarAddr => {
                    return Err(unsupported("a BTF variable address (lddw src 3)"))
                }
                LddwKind::CodeAddr => {
                    // The decoder proved the target is a function's start.
                    let function = target(pc as i64 + 1 + i64::from(imm)) as u32;
                    op(
                        Code::LoadImm64,
                        dst.index(),
                        0,
                        0,
                        CODE_ADDRESS_TAG | u64::from(function),
                    )
                }
            },
            Instruction::Load {
                size,
                signed,
                dst,
                src,
                off,
            } => {
                let code = match (size, signed) {
                    (Size::B, false) => Code::LdxB,
                    (Size::H, false) => Code::LdxH,
                    (Size::W, false) => Code::LdxW,
                    (Size::DW, _) => Code::LdxDW,
                    (Size::B, true) => Code::LdxSB,
                    (Size::H, true) => Code::LdxSH,
                    (Size::W, true) => Code::LdxSW,
                };
                op(code, dst.index(), src.index(), off.into(), 0)
            }
            Instruction::Store {
                size,
                dst,
                off,
                src,
            } => match src {
                Source::Imm(imm) => {
                    let code = match size {
                        Size::B => Code::StB,
                        Size::H => Code::StH,
                        Size::W => Code::StW,
                        Size::DW => Code::StDW,
                    };
                    op(code, dst.index(), 0, off.into(), sext_imm(imm))
                }
                Source::Reg(r) => {
                    let code = match size {
                        Size::B => Code::StxB,
                        Size::H => Code::StxH,
                        Size::W => Code::StxW,
                        Size::DW => Code::StxDW,
                    };
                    op(code, dst.index(), r.index(), off.into(), 0)
                }
            },
            Instruction::Atomic {
                size,
                op: aop,
                fetch,
                dst,
                src,
                off,
            } => op(
                atomic_code(size, aop, fetch),
                dst.index(),
                src.index(),
                off.into(),
                0,
            ),
            Instruction::LegacyLoad {
                mode,
                size,
                src,
                imm,
            } => {
                // The kernel allows these where the context is a socket buffer
                // it can read packet bytes from.
                if !matches!(
                    program_type,
                    ProgramType::SocketFilter | ProgramType::SchedCls | ProgramType::SchedAct
                ) {
                    return Err(unsupported(
                        "a legacy packet load (LD_ABS/LD_IND) outside socket filter and tc programs",
                    ));
                }
                let code = match (mode, size) {
                    (LegacyMode::Abs, Size::B) => Code::LdAbsB,
                    (LegacyMode::Abs, Size::H) => Code::LdAbsH,
                    (LegacyMode::Abs, _) => Code::LdAbsW,
                    (LegacyMode::Ind, Size::B) => Code::LdIndB,
                    (LegacyMode::Ind, Size::H) => Code::LdIndH,
                    (LegacyMode::Ind, _) => Code::LdIndW,
                };
                op(code, 0, src.index(), 0, sext_imm(imm))
            }
            Instruction::Ja { offset, .. } => {
                op(Code::Ja, 0, 0, target(pc as i64 + 1 + i64::from(offset)), 0)
            }
            Instruction::Jump {
                width,
                cond,
                dst,
                src,
                off,
            } => {
                let to = target(pc as i64 + 1 + i64::from(off));
                match src {
                    Source::Imm(imm) => op(
                        jump_code(width, cond, true),
                        dst.index(),
                        0,
                        to,
                        sext_imm(imm),
                    ),
                    Source::Reg(r) => {
                        op(jump_code(width, cond, false), dst.index(), r.index(), to, 0)
                    }
                }
            }
            Instruction::Call(call) => match call {
                // bpf_loop calls back into the program: the interpreter runs
                // it, as a sequence of local calls.
                CallTarget::Helper(id)
                    if id as u32 == HelperId::LOOP.0
                        && program_type.allows_helper(HelperId::LOOP) =>
                {
                    op(Code::BpfLoop, 0, 0, id, 0)
                }
                CallTarget::Helper(id)
                    if id as u32 == HelperId::FOR_EACH_MAP_ELEM.0
                        && program_type != ProgramType::Conformance
                        && program_type.allows_helper(HelperId::FOR_EACH_MAP_ELEM) =>
                {
                    op(Code::ForEachMapElem, 0, 0, id, 0)
                }
                CallTarget::Helper(id)
                    if id as u32 == HelperId::CORE_POISON.0
                        && registry.get(id as u32).is_none() =>
                {
                    helpers.push(core_poison());
                    op(Code::CallHelper, 0, 0, id, (helpers.len() - 1) as u64)
                }
                CallTarget::Helper(id) => {
                    let helper = u32::try_from(id)
                        .ok()
                        .and_then(|n| registry.get(n))
                        .ok_or(LoadError::UnknownHelper { pc, id })?;
                    // A Linux helper the kernel refuses to this program type is
                    // refused here too; numbers Linux does not define are the
                    // embedder's own and always allowed.
                    let linux = HelperId(id as u32);
                    if !matches!(program_type, ProgramType::Buffer | ProgramType::Conformance)
                        && linux.prototype().is_some()
                        && !program_type.allows_helper(linux)
                    {
                        return Err(LoadError::HelperNotAllowed {
                            pc,
                            helper: linux.to_string(),
                            program_type: program_type.name(),
                        });
                    }
                    helpers.push(Arc::clone(helper));
                    op(Code::CallHelper, 0, 0, id, (helpers.len() - 1) as u64)
                }
                CallTarget::Local(rel) => op(
                    Code::CallLocal,
                    0,
                    0,
                    target(pc as i64 + 1 + i64::from(rel)),
                    0,
                ),
                CallTarget::Register(r) => op(Code::CallRegister, r.index(), 0, 0, 0),
                CallTarget::Kfunc(_) => {
                    return Err(unsupported("a kernel function call (call src 2)"))
                }
            },
            Instruction::Exit => op(Code::Exit, 0, 0, 0, 0),
        };
        ops.push(lowered);
        pcs.push(pc as u32);
    }
    // The final FellOff, repeated up to a power-of-two length so the loop can
    // index with `ip & (len - 1)` instead of a bounds check. Control never
    // passes the first one: every function ends with a FellOff and every
    // jump and call target is an instruction of the program.
    loop {
        ops.push(op(Code::FellOff, 0, 0, 0, 0));
        pcs.push(program.len_slots() as u32);
        if ops.len().is_power_of_two() {
            break;
        }
    }
    Ok(Compiled {
        ops: ops.into_boxed_slice(),
        pcs: pcs.into_boxed_slice(),
        helpers: helpers.into_boxed_slice(),
    })
}

/// The helper behind [`HelperId::CORE_POISON`]: reaching an instruction the
/// ELF loader poisoned fails the run.
fn core_poison() -> Arc<HelperFn> {
    static POISON: std::sync::OnceLock<Arc<HelperFn>> = std::sync::OnceLock::new();
    Arc::clone(POISON.get_or_init(|| {
        Arc::new(|_: &mut crate::helpers::HelperContext<'_, '_>, _: [u64; 5]| {
            Err(crate::helpers::HelperError::Failed(
                "reached an instruction whose CO-RE relocation could not be resolved when the object was loaded (`bpfbox info` lists them)".into(),
            ))
        })
    }))
}
