//! The contexts of tracing programs: `struct pt_regs` (kprobes) and the
//! host-supplied records of tracepoints and raw tracepoints.

use super::context::{field, ByteContext, ContextStruct, FieldKind, Widths};
use super::{ProgramType, ProgramTypes};

const KPROBE: ProgramTypes = ProgramTypes::of(&[ProgramType::Kprobe]);
const NONE: ProgramTypes = ProgramTypes::NONE;
const ANY: Widths = Widths::ANY;
const NO: Widths = Widths::NONE;

use FieldKind::Scalar;

/// x86_64's `struct pt_regs` (168 bytes: 21 registers of 8 bytes, in the
/// uapi order), the context of kprobes whatever the host's architecture.
/// Read-only, with any width at a naturally aligned offset.
#[rustfmt::skip]
pub static PT_REGS: ContextStruct = ContextStruct {
    name: "pt_regs",
    size: 168,
    fields: &[
        //    name         off size kind    readers widths writers widths
        field("r15",         0,  8, Scalar, KPROBE, ANY,   NONE,   NO),
        field("r14",         8,  8, Scalar, KPROBE, ANY,   NONE,   NO),
        field("r13",        16,  8, Scalar, KPROBE, ANY,   NONE,   NO),
        field("r12",        24,  8, Scalar, KPROBE, ANY,   NONE,   NO),
        field("rbp",        32,  8, Scalar, KPROBE, ANY,   NONE,   NO),
        field("rbx",        40,  8, Scalar, KPROBE, ANY,   NONE,   NO),
        field("r11",        48,  8, Scalar, KPROBE, ANY,   NONE,   NO),
        field("r10",        56,  8, Scalar, KPROBE, ANY,   NONE,   NO),
        field("r9",         64,  8, Scalar, KPROBE, ANY,   NONE,   NO),
        field("r8",         72,  8, Scalar, KPROBE, ANY,   NONE,   NO),
        field("rax",        80,  8, Scalar, KPROBE, ANY,   NONE,   NO),
        field("rcx",        88,  8, Scalar, KPROBE, ANY,   NONE,   NO),
        field("rdx",        96,  8, Scalar, KPROBE, ANY,   NONE,   NO),
        field("rsi",       104,  8, Scalar, KPROBE, ANY,   NONE,   NO),
        field("rdi",       112,  8, Scalar, KPROBE, ANY,   NONE,   NO),
        field("orig_rax",  120,  8, Scalar, KPROBE, ANY,   NONE,   NO),
        field("rip",       128,  8, Scalar, KPROBE, ANY,   NONE,   NO),
        field("cs",        136,  8, Scalar, KPROBE, ANY,   NONE,   NO),
        field("eflags",    144,  8, Scalar, KPROBE, ANY,   NONE,   NO),
        field("rsp",       152,  8, Scalar, KPROBE, ANY,   NONE,   NO),
        field("ss",        160,  8, Scalar, KPROBE, ANY,   NONE,   NO),
    ],
};

/// The largest tracepoint record (`PERF_MAX_TRACE_SIZE` in current kernels;
/// older kernels had 2048).
pub const MAX_TRACEPOINT_SIZE: u32 = 8192;

/// The most arguments a raw tracepoint passes (`MAX_BPF_FUNC_ARGS`).
pub const MAX_RAW_TRACEPOINT_ARGS: u32 = 12;

/// A tracepoint's record: the event's fields as its format file describes
/// them, after 8 bytes of common header that programs may not read.
/// Read-only, naturally aligned loads of any width.
pub const TRACEPOINT: ByteContext = ByteContext {
    description: "tracepoint record",
    first: 8,
    max_size: Some(MAX_TRACEPOINT_SIZE),
    writable: false,
    aligned: true,
    widths: Widths::ANY,
};

/// A raw tracepoint's arguments: an array of u64, as many as the
/// tracepoint has. Read-only, naturally aligned loads of any width.
pub const RAW_TRACEPOINT: ByteContext = ByteContext {
    description: "raw tracepoint arguments (u64 each)",
    first: 0,
    max_size: Some(MAX_RAW_TRACEPOINT_ARGS * 8),
    writable: false,
    aligned: true,
    widths: Widths::ANY,
};
