//! What each program type runs on, and reading it from the command line.

use crate::hex::HexBytes;
use crate::run::RunArgs;
use crate::Failure;
use bpfbox::abi::program_types::Context;
use bpfbox::abi::ProgramType;
use std::path::Path;

/// What a program type runs on.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Memory,
    Packet,
    Context,
}

impl InputKind {
    pub fn of(program_type: ProgramType) -> InputKind {
        match program_type {
            ProgramType::Buffer | ProgramType::Conformance => InputKind::Memory,
            ProgramType::Xdp
            | ProgramType::SocketFilter
            | ProgramType::SchedCls
            | ProgramType::SchedAct
            | ProgramType::CgroupSkb => InputKind::Packet,
            // Every other type runs on host-supplied context bytes
            // (`Vm::execute`), as kprobes and tracepoints do.
            _ => InputKind::Context,
        }
    }

    /// The options that give this input.
    fn options(self) -> &'static str {
        match self {
            InputKind::Memory => "--mem or --mem-file",
            InputKind::Packet => "--packet or --packet-file",
            InputKind::Context => "--ctx or --ctx-file",
        }
    }
}

/// Refuses inputs for another kind of program type, and a missing packet
/// or context.
pub fn check_inputs(
    args: &RunArgs,
    program_type: ProgramType,
    kind: InputKind,
) -> Result<(), Failure> {
    let given = [
        ("--mem", args.mem.is_some(), InputKind::Memory),
        ("--mem-file", args.mem_file.is_some(), InputKind::Memory),
        ("--packet", args.packet.is_some(), InputKind::Packet),
        (
            "--packet-file",
            args.packet_file.is_some(),
            InputKind::Packet,
        ),
        ("--field", !args.fields.is_empty(), InputKind::Packet),
        ("--ctx", args.ctx.is_some(), InputKind::Context),
        ("--ctx-file", args.ctx_file.is_some(), InputKind::Context),
    ];

    for (option, present, wanted) in given {
        if present && wanted != kind {
            return Err(Failure::Usage(format!(
                "{option} is not an input of {program_type} programs; they take {}",
                kind.options()
            )));
        }
    }
    let missing = match kind {
        InputKind::Memory => false,
        InputKind::Packet => args.packet.is_none() && args.packet_file.is_none(),
        InputKind::Context => args.ctx.is_none() && args.ctx_file.is_none(),
    };
    if missing {
        let what = if kind == InputKind::Packet {
            "a packet"
        } else {
            "their context"
        };
        return Err(Failure::Usage(format!(
            "{program_type} programs need {what}: give {}",
            kind.options()
        )));
    }
    Ok(())
}

/// Hex bytes from the command line, a file's bytes, or nothing.
pub fn bytes(hex: Option<HexBytes>, file: Option<&Path>) -> Result<Vec<u8>, Failure> {
    match (hex, file) {
        (Some(HexBytes(bytes)), _) => Ok(bytes),
        (None, Some(path)) => std::fs::read(path).map_err(|e| Failure::load(path, e)),
        (None, None) => Ok(Vec::new()),
    }
}

/// The context bytes of a tracing program: at most what its type takes; a
/// fixed struct (`pt_regs`) is zero-padded to its size.
pub fn context_bytes(program_type: ProgramType, mut ctx: Vec<u8>) -> Result<Vec<u8>, Failure> {
    let (limit, what, pad) = match program_type.context() {
        Context::Struct(s) => (Some(s.size), format!("struct {}", s.name), true),
        Context::Bytes(b) => (b.max_size, b.description.to_owned(), false),
    };
    if let Some(limit) = limit {
        if ctx.len() > limit as usize {
            return Err(Failure::Usage(format!(
                "the context of {program_type} programs ({what}) is at most {limit} bytes, not {}",
                ctx.len()
            )));
        }
        if pad {
            ctx.resize(limit as usize, 0);
        }
    }
    Ok(ctx)
}
