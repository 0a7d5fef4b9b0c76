//! `struct __sk_buff`, the context of socket filters, tc programs and
//! cgroup skb programs, and the return codes of those types.

use super::context::{field, ContextStruct, FieldKind, Widths};
use super::{ProgramType, ProgramTypes};

const SOCK: ProgramTypes = ProgramTypes::of(&[ProgramType::SocketFilter]);
const TC: ProgramTypes = ProgramTypes::of(&[ProgramType::SchedCls, ProgramType::SchedAct]);
const CG: ProgramTypes = ProgramTypes::of(&[ProgramType::CgroupSkb]);
const TC_CG: ProgramTypes = TC.union(CG);
const ALL: ProgramTypes = SOCK.union(TC).union(CG);
const NONE: ProgramTypes = ProgramTypes::NONE;

const N: Widths = Widths::UP_TO_4;
const W1: Widths = Widths::W1;
const W4: Widths = Widths::W4;
const W8: Widths = Widths::W8;
const ANY: Widths = Widths::ANY;
const NO: Widths = Widths::NONE;

use FieldKind::{PacketEnd, PacketMeta, PacketStart, Scalar};

/// `struct __sk_buff` as in the Linux 6.1 uapi header (192 bytes), with
/// the kernel's access rules for socket filters, tc (classifier and action)
/// and cgroup skb programs.
///
/// The rules, as the kernel applies them: 4-byte scalar fields can be read
/// whole or narrowly (1 or 2 bytes at any aligned offset inside them) and
/// written only whole; the packet pointers and the socket addresses only
/// whole; `cb` (20 bytes of scratch space kept across programs) with any
/// aligned width that stays inside it, read and write, by all three types;
/// `tstamp` and `hwtstamp` as 8 bytes.
///
/// Differences from the kernel: `sk` (a socket pointer in the kernel) and
/// `flow_keys` (flow dissectors only) are readable by no type, as bpfbox
/// models no sockets; cgroup skb programs get the access the kernel gives
/// loaders with `CAP_BPF` (`data`, `data_end`, writing `tstamp`).
#[rustfmt::skip]
pub static SK_BUFF: ContextStruct = ContextStruct {
    name: "__sk_buff",
    size: 192,
    fields: &[
        //    name               off size kind         readers widths writers widths
        field("len",               0,  4, Scalar,      ALL,    N,     NONE,   NO),
        field("pkt_type",          4,  4, Scalar,      ALL,    N,     NONE,   NO),
        field("mark",              8,  4, Scalar,      ALL,    N,     TC_CG,  W4),
        // tc writes of 65535 or more are ignored.
        field("queue_mapping",    12,  4, Scalar,      ALL,    N,     TC,     W4),
        field("protocol",         16,  4, Scalar,      ALL,    N,     NONE,   NO),
        field("vlan_present",     20,  4, Scalar,      ALL,    N,     NONE,   NO),
        field("vlan_tci",         24,  4, Scalar,      ALL,    N,     NONE,   NO),
        field("vlan_proto",       28,  4, Scalar,      ALL,    N,     NONE,   NO),
        field("priority",         32,  4, Scalar,      ALL,    N,     TC_CG,  W4),
        field("ingress_ifindex",  36,  4, Scalar,      ALL,    N,     NONE,   NO),
        field("ifindex",          40,  4, Scalar,      ALL,    N,     NONE,   NO),
        field("tc_index",         44,  4, Scalar,      ALL,    N,     TC,     W4),
        field("cb",               48, 20, Scalar,      ALL,    ANY,   ALL,    ANY),
        field("hash",             68,  4, Scalar,      ALL,    N,     NONE,   NO),
        field("tc_classid",       72,  4, Scalar,      TC,     N,     TC,     W4),
        field("data",             76,  4, PacketStart, TC_CG,  W4,    NONE,   NO),
        field("data_end",         80,  4, PacketEnd,   TC_CG,  W4,    NONE,   NO),
        field("napi_id",          84,  4, Scalar,      ALL,    N,     NONE,   NO),
        // The socket's addresses and ports, in network byte order except
        // `local_port`.
        field("family",           88,  4, Scalar,      CG,     N,     NONE,   NO),
        field("remote_ip4",       92,  4, Scalar,      CG,     W4,    NONE,   NO),
        field("local_ip4",        96,  4, Scalar,      CG,     W4,    NONE,   NO),
        field("remote_ip6",      100, 16, Scalar,      CG,     W4,    NONE,   NO),
        field("local_ip6",       116, 16, Scalar,      CG,     W4,    NONE,   NO),
        field("remote_port",     132,  4, Scalar,      CG,     N,     NONE,   NO),
        field("local_port",      136,  4, Scalar,      CG,     N,     NONE,   NO),
        field("data_meta",       140,  4, PacketMeta,  TC,     W4,    NONE,   NO),
        field("flow_keys",       144,  8, Scalar,      NONE,   NO,    NONE,   NO),
        field("tstamp",          152,  8, Scalar,      TC_CG,  W8,    TC_CG,  W8),
        field("wire_len",        160,  4, Scalar,      TC,     N,     NONE,   NO),
        field("gso_segs",        164,  4, Scalar,      ALL,    N,     NONE,   NO),
        field("sk",              168,  8, Scalar,      NONE,   NO,    NONE,   NO),
        field("gso_size",        176,  4, Scalar,      ALL,    N,     NONE,   NO),
        field("tstamp_type",     180,  1, Scalar,      TC,     W1,    NONE,   NO),
        // 181..184: padding.
        field("hwtstamp",        184,  8, Scalar,      TC_CG,  W8,    NONE,   NO),
    ],
};

/// A tc program's verdict (`TC_ACT_*` in `linux/pkt_cls.h`), the low 32 bits
/// of r0 read as a signed number.
///
/// In direct-action mode (how tc runs eBPF programs in practice) only
/// [`Unspec`](TcAction::Unspec), [`Ok`](TcAction::Ok),
/// [`Shot`](TcAction::Shot), [`Stolen`](TcAction::Stolen),
/// [`Redirect`](TcAction::Redirect) and [`Trap`](TcAction::Trap) act; the
/// kernel treats every other value as `Unspec`. The verifier does not check
/// the value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(i32)]
pub enum TcAction {
    /// Use the qdisc's default (the next filter, or pass).
    Unspec = -1,
    /// Let the packet through.
    Ok = 0,
    /// Classify again from the start.
    Reclassify = 1,
    /// Drop the packet.
    Shot = 2,
    /// Go on to the next action.
    Pipe = 3,
    /// The packet was consumed (dropped without counting a drop).
    Stolen = 4,
    /// The packet was queued elsewhere.
    Queued = 5,
    /// Run the action again.
    Repeat = 6,
    /// Send the packet where the `redirect` helper said.
    Redirect = 7,
    /// Hand the packet to the CPU (hardware offload; like `Stolen` in
    /// software).
    Trap = 8,
}

impl TcAction {
    /// Every action, by value.
    pub const ALL: &'static [TcAction] = &[
        TcAction::Unspec,
        TcAction::Ok,
        TcAction::Reclassify,
        TcAction::Shot,
        TcAction::Pipe,
        TcAction::Stolen,
        TcAction::Queued,
        TcAction::Repeat,
        TcAction::Redirect,
        TcAction::Trap,
    ];

    /// The `TC_ACT_*` value.
    pub const fn raw(self) -> i32 {
        self as i32
    }

    /// The action with value `raw`, if there is one.
    pub fn from_raw(raw: i32) -> Option<TcAction> {
        Self::ALL.iter().copied().find(|a| a.raw() == raw)
    }

    /// What a direct-action tc program returning `r0` asks for: the low 32
    /// bits as a signed number, with values that do not act in
    /// direct-action mode taken as [`TcAction::Unspec`].
    pub fn from_r0(r0: u64) -> TcAction {
        match TcAction::from_raw(r0 as u32 as i32) {
            Some(
                a @ (TcAction::Ok
                | TcAction::Shot
                | TcAction::Stolen
                | TcAction::Redirect
                | TcAction::Trap),
            ) => a,
            _ => TcAction::Unspec,
        }
    }
}

/// A cgroup skb program's verdict. Bit 0 lets the packet through; bit 1
/// (egress only) also signals congestion to the sender. The verifier
/// requires r0 in `0..=1` for ingress programs and `0..=3` for egress ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u32)]
pub enum CgroupSkbVerdict {
    /// Drop the packet.
    Drop = 0,
    /// Let the packet through.
    Allow = 1,
    /// Drop the packet and signal congestion (egress only).
    DropCongestion = 2,
    /// Let the packet through and signal congestion (egress only).
    AllowCongestion = 3,
}

impl CgroupSkbVerdict {
    /// The verdict's value.
    pub const fn raw(self) -> u32 {
        self as u32
    }

    /// The verdict with value `raw`, if there is one.
    pub const fn from_raw(raw: u64) -> Option<CgroupSkbVerdict> {
        match raw {
            0 => Some(CgroupSkbVerdict::Drop),
            1 => Some(CgroupSkbVerdict::Allow),
            2 => Some(CgroupSkbVerdict::DropCongestion),
            3 => Some(CgroupSkbVerdict::AllowCongestion),
            _ => None,
        }
    }

    /// Whether the packet goes through.
    pub const fn allows(self) -> bool {
        self.raw() & 1 != 0
    }
}

/// How many bytes of a `len`-byte packet a socket filter returning `r0`
/// keeps: the low 32 bits of r0, at most `len`. Zero drops the packet.
pub const fn socket_filter_keep(r0: u64, len: u32) -> u32 {
    let keep = r0 as u32;
    if keep < len {
        keep
    } else {
        len
    }
}
