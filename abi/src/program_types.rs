//! Program types: what a program is handed (its context), which helpers it
//! may call, and what its return value means.
//!
//! bpfbox supports eight of Linux's program types, under the kernel's
//! numbers (`enum bpf_prog_type`), and two of its own:
//! [`ProgramType::Buffer`] and [`ProgramType::Conformance`].
//!
//! The access rules for each context are one table per struct
//! ([`SK_BUFF`], [`XDP_MD`], [`PT_REGS`]) or a description of host-supplied
//! bytes ([`TRACEPOINT`], [`RAW_TRACEPOINT`], [`BUFFER`]);
//! [`ProgramType::check_ctx_access`] answers for one load or store.

mod context;
mod skb;
mod tracing;
mod xdp;

pub use context::{
    ByteContext, Context, ContextField, ContextStruct, CtxAccess, CtxAccessError, CtxOp,
    FieldAccess, FieldKind, Widths,
};
pub use skb::{socket_filter_keep, CgroupSkbVerdict, TcAction, SK_BUFF};
pub use tracing::{
    MAX_RAW_TRACEPOINT_ARGS, MAX_TRACEPOINT_SIZE, PT_REGS, RAW_TRACEPOINT, TRACEPOINT,
};
pub use xdp::{XdpAction, XDP_MD};

use crate::helpers::HelperId;
use std::fmt;

macro_rules! program_types {
    ($($(#[$doc:meta])* $variant:ident = $raw:expr, $name:literal, $kernel:literal;)*) => {
        /// A program type: the kind of hook a program is written for.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum ProgramType {
            $($(#[$doc])* $variant,)*
        }

        impl ProgramType {
            /// Every program type bpfbox supports.
            pub const ALL: &'static [ProgramType] = &[$(ProgramType::$variant,)*];

            /// The kernel's number (`BPF_PROG_TYPE_*`), or `None` for
            /// bpfbox's own types.
            pub const fn raw(self) -> Option<u32> {
                match self { $(ProgramType::$variant => $raw,)* }
            }

            /// The name `bpfbox run --type` takes (`socket`, `tc`, `xdp`).
            pub const fn name(self) -> &'static str {
                match self { $(ProgramType::$variant => $name,)* }
            }

            /// The kernel's lower-case name, as bpftool prints it
            /// (`socket_filter`, `sched_cls`); bpfbox's own name for its own
            /// types.
            pub const fn kernel_name(self) -> &'static str {
                match self { $(ProgramType::$variant => $kernel,)* }
            }
        }
    };
}

program_types! {
    /// A socket filter (`BPF_PROG_TYPE_SOCKET_FILTER`): sees a packet
    /// through `__sk_buff` without direct packet access, and returns how
    /// many bytes of it to keep ([`socket_filter_keep`]; 0 drops it).
    SocketFilter = Some(1), "socket", "socket_filter";
    /// A kprobe (`BPF_PROG_TYPE_KPROBE`): sees the probed function's
    /// registers ([`PT_REGS`]). Returns 1 to have the event recorded, 0 to
    /// filter it out.
    Kprobe = Some(2), "kprobe", "kprobe";
    /// A tc classifier (`BPF_PROG_TYPE_SCHED_CLS`): sees a packet through
    /// `__sk_buff` and may read and write it; returns a [`TcAction`].
    SchedCls = Some(3), "tc", "sched_cls";
    /// A tc action (`BPF_PROG_TYPE_SCHED_ACT`): as [`ProgramType::SchedCls`].
    SchedAct = Some(4), "tc_action", "sched_act";
    /// A tracepoint (`BPF_PROG_TYPE_TRACEPOINT`): sees the event's record
    /// ([`TRACEPOINT`]). Returns 1 to have the event recorded, 0 to filter
    /// it out.
    Tracepoint = Some(5), "tracepoint", "tracepoint";
    /// An XDP program (`BPF_PROG_TYPE_XDP`): sees a packet through
    /// [`XDP_MD`] and may read and write it; returns an [`XdpAction`].
    Xdp = Some(6), "xdp", "xdp";
    /// A cgroup skb program (`BPF_PROG_TYPE_CGROUP_SKB`): sees a packet
    /// through `__sk_buff` and may read it; returns a [`CgroupSkbVerdict`].
    CgroupSkb = Some(8), "cgroup_skb", "cgroup_skb";
    /// A raw tracepoint (`BPF_PROG_TYPE_RAW_TRACEPOINT`): sees the
    /// tracepoint's arguments as u64s ([`RAW_TRACEPOINT`]). The return
    /// value is ignored.
    RawTracepoint = Some(17), "raw_tracepoint", "raw_tracepoint";
    /// bpfbox's generic type, as rbpf and uBPF run programs: r1 points to
    /// one host-supplied buffer, readable and writable ([`BUFFER`]), and r2
    /// holds its length. The return value is the host's to interpret.
    Buffer = None, "buffer", "buffer";
    /// The bpf_conformance suite's type: as [`ProgramType::Buffer`] (r1 is
    /// 0 when the test has no memory), run without verification. The suite
    /// uses its own helper numbering (helper 5 is its "unwind" helper).
    Conformance = None, "conformance", "conformance";
}

impl ProgramType {
    /// The type with the kernel's number `raw`, if bpfbox supports it.
    pub fn from_raw(raw: u32) -> Option<ProgramType> {
        Self::ALL.iter().copied().find(|t| t.raw() == Some(raw))
    }

    /// The type called `name`: bpfbox's name ([`ProgramType::name`]) or the
    /// kernel's ([`ProgramType::kernel_name`]).
    pub fn from_name(name: &str) -> Option<ProgramType> {
        Self::ALL
            .iter()
            .copied()
            .find(|t| t.name() == name || t.kernel_name() == name)
    }

    /// The context the program is started with (r1 points to it).
    pub const fn context(self) -> Context {
        match self {
            ProgramType::SocketFilter
            | ProgramType::SchedCls
            | ProgramType::SchedAct
            | ProgramType::CgroupSkb => Context::Struct(&SK_BUFF),
            ProgramType::Xdp => Context::Struct(&XDP_MD),
            ProgramType::Kprobe => Context::Struct(&PT_REGS),
            ProgramType::Tracepoint => Context::Bytes(TRACEPOINT),
            ProgramType::RawTracepoint => Context::Bytes(RAW_TRACEPOINT),
            ProgramType::Buffer | ProgramType::Conformance => Context::Bytes(BUFFER),
        }
    }

    /// The context's size, where it is fixed (`None` where the host
    /// chooses it).
    pub const fn context_size(self) -> Option<u32> {
        self.context().size()
    }

    /// Whether this program type may make context access `op` of `size`
    /// bytes at `offset` from the context pointer, and what it touches and
    /// (for a load) yields.
    ///
    /// # Errors
    /// The first rule the access breaks.
    pub fn check_ctx_access(
        self,
        offset: i64,
        size: u32,
        op: CtxOp,
    ) -> Result<CtxAccess, CtxAccessError> {
        self.context().check_access(self, offset, size, op)
    }

    /// What the program may do with packet bytes through the packet
    /// pointers its context holds (after proving them below `data_end`).
    pub const fn packet_access(self) -> PacketAccess {
        match self {
            ProgramType::SchedCls | ProgramType::SchedAct | ProgramType::Xdp => {
                PacketAccess::ReadWrite
            }
            ProgramType::CgroupSkb => PacketAccess::Read,
            _ => PacketAccess::None,
        }
    }

    /// Whether the program may call helper `id`; see [`allowed_helpers`].
    pub fn allows_helper(self, id: HelperId) -> bool {
        HELPERS
            .binary_search_by_key(&id, |&(helper, _)| helper)
            .is_ok_and(|index| HELPERS[index].1.contains(self))
    }

    /// The range `[min, max]` the verifier requires r0 to be in at exit,
    /// where the kernel enforces one.
    ///
    /// Of these types, the kernel checks only cgroup skb programs: `[0, 1]`
    /// on ingress and `[0, 3]` on egress (the congestion bit); bpfbox has no
    /// attach direction and gives the egress range. For XDP, tc, socket
    /// filters, kprobes and tracepoints any value passes the verifier (XDP
    /// and tc read unknown values as an abort or `TC_ACT_UNSPEC`), and raw
    /// tracepoints are checked only when attached through BTF, which bpfbox
    /// does not model. Buffer and conformance programs return anything.
    pub const fn return_range(self) -> Option<(i64, i64)> {
        match self {
            ProgramType::CgroupSkb => Some((0, 3)),
            _ => None,
        }
    }
}

impl fmt::Display for ProgramType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Direct packet access: loads and stores through packet pointers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PacketAccess {
    /// No packet pointers.
    None,
    /// Loads only.
    Read,
    /// Loads and stores.
    ReadWrite,
}

/// The context of [`ProgramType::Buffer`] and [`ProgramType::Conformance`]:
/// one buffer of the host's choosing, readable and writable with any width
/// at any offset.
pub const BUFFER: ByteContext = ByteContext {
    description: "memory buffer",
    first: 0,
    max_size: None,
    writable: true,
    aligned: false,
    widths: Widths::ANY,
};

/// A set of program types.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ProgramTypes(u16);

impl ProgramTypes {
    /// No type.
    pub const NONE: ProgramTypes = ProgramTypes(0);
    /// Every type.
    pub const ALL: ProgramTypes = ProgramTypes::of(ProgramType::ALL);

    const fn bit(t: ProgramType) -> u16 {
        1 << t as u16
    }

    /// The set of `types`.
    pub const fn of(types: &[ProgramType]) -> ProgramTypes {
        let mut bits = 0;
        let mut i = 0;
        while i < types.len() {
            bits |= Self::bit(types[i]);
            i += 1;
        }
        ProgramTypes(bits)
    }

    /// The types in either set.
    pub const fn union(self, other: ProgramTypes) -> ProgramTypes {
        ProgramTypes(self.0 | other.0)
    }

    /// Whether `t` is in the set.
    pub const fn contains(self, t: ProgramType) -> bool {
        self.0 & Self::bit(t) != 0
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The types in the set, in [`ProgramType::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = ProgramType> {
        ProgramType::ALL
            .iter()
            .copied()
            .filter(move |&t| self.contains(t))
    }
}

impl fmt::Debug for ProgramTypes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

const EVERY: ProgramTypes = ProgramTypes::ALL;
const SOCK: ProgramTypes = ProgramTypes::of(&[ProgramType::SocketFilter]);
const TC: ProgramTypes = ProgramTypes::of(&[ProgramType::SchedCls, ProgramType::SchedAct]);
const CG: ProgramTypes = ProgramTypes::of(&[ProgramType::CgroupSkb]);
const XDP: ProgramTypes = ProgramTypes::of(&[ProgramType::Xdp]);
const TRACING: ProgramTypes = ProgramTypes::of(&[
    ProgramType::Kprobe,
    ProgramType::Tracepoint,
    ProgramType::RawTracepoint,
]);
const SANDBOX: ProgramTypes = ProgramTypes::of(&[ProgramType::Buffer, ProgramType::Conformance]);

const fn any(sets: &[ProgramTypes]) -> ProgramTypes {
    let mut all = ProgramTypes::NONE;
    let mut i = 0;
    while i < sets.len() {
        all = all.union(sets[i]);
        i += 1;
    }
    all
}

/// Which program types may call each helper bpfbox implements, by number.
///
/// Modelled on the kernel's per-type helper tables, for a loader with
/// `CAP_BPF` and `CAP_PERFMON`: the base set (map operations, clocks,
/// random numbers, the CPU number, tail calls, `trace_printk`, ring
/// buffers, `loop`, `for_each_map_elem`, spin locks) for every type; task
/// identity and `probe_read_*` for tracing types; packet helpers for the
/// packet types that have them in the kernel; `perf_event_output` for every
/// kernel type. Buffer and conformance programs may call every helper
/// bpfbox implements except those that need a packet context (the
/// conformance suite's own helper table is separate, see
/// [`ProgramType::Conformance`]).
///
/// The kernel also refuses maps holding a spin lock to socket filters and
/// tracing programs (a map check, not a helper one); bpfbox does not.
#[rustfmt::skip]
static HELPERS: &[(HelperId, ProgramTypes)] = &[
    (HelperId::MAP_LOOKUP_ELEM,       EVERY),
    (HelperId::MAP_UPDATE_ELEM,       EVERY),
    (HelperId::MAP_DELETE_ELEM,       EVERY),
    (HelperId::KTIME_GET_NS,          EVERY),
    (HelperId::TRACE_PRINTK,          EVERY),
    (HelperId::GET_PRANDOM_U32,       EVERY),
    (HelperId::GET_SMP_PROCESSOR_ID,  EVERY),
    (HelperId::SKB_STORE_BYTES,       TC),
    (HelperId::L3_CSUM_REPLACE,       TC),
    (HelperId::L4_CSUM_REPLACE,       TC),
    (HelperId::TAIL_CALL,             EVERY),
    (HelperId::GET_CURRENT_PID_TGID,  any(&[TRACING, SANDBOX])),
    (HelperId::GET_CURRENT_COMM,      any(&[TRACING, SANDBOX])),
    (HelperId::REDIRECT,              any(&[TC, XDP])),
    (HelperId::PERF_EVENT_OUTPUT,     any(&[TRACING, SOCK, TC, XDP, CG, SANDBOX])),
    (HelperId::SKB_LOAD_BYTES,        any(&[SOCK, TC, CG])),
    (HelperId::CSUM_DIFF,             any(&[TC, XDP, SANDBOX])),
    (HelperId::XDP_ADJUST_HEAD,       XDP),
    (HelperId::REDIRECT_MAP,          XDP),
    (HelperId::XDP_ADJUST_META,       XDP),
    (HelperId::XDP_ADJUST_TAIL,       XDP),
    (HelperId::MAP_PUSH_ELEM,         EVERY),
    (HelperId::MAP_POP_ELEM,          EVERY),
    (HelperId::MAP_PEEK_ELEM,         EVERY),
    (HelperId::SPIN_LOCK,             EVERY),
    (HelperId::SPIN_UNLOCK,           EVERY),
    (HelperId::PROBE_READ_USER,       any(&[TRACING, SANDBOX])),
    (HelperId::PROBE_READ_KERNEL,     any(&[TRACING, SANDBOX])),
    (HelperId::PROBE_READ_USER_STR,   any(&[TRACING, SANDBOX])),
    (HelperId::PROBE_READ_KERNEL_STR, any(&[TRACING, SANDBOX])),
    (HelperId::KTIME_GET_BOOT_NS,     EVERY),
    (HelperId::RINGBUF_OUTPUT,        EVERY),
    (HelperId::RINGBUF_RESERVE,       EVERY),
    (HelperId::RINGBUF_SUBMIT,        EVERY),
    (HelperId::RINGBUF_DISCARD,       EVERY),
    (HelperId::RINGBUF_QUERY,         EVERY),
    (HelperId::FOR_EACH_MAP_ELEM,     EVERY),
    (HelperId::TRACE_VPRINTK,         EVERY),
    (HelperId::LOOP,                  EVERY),
];

/// The helpers program type `ty` may call, by ascending number.
pub fn allowed_helpers(ty: ProgramType) -> impl Iterator<Item = HelperId> {
    HELPERS
        .iter()
        .filter(move |(_, types)| types.contains(ty))
        .map(|&(id, _)| id)
}

#[cfg(test)]
mod tests;
