//! `struct xdp_md`, the context of XDP programs, and their return codes.

use super::context::{field, ContextStruct, FieldKind, Widths};
use super::{ProgramType, ProgramTypes};

const XDP: ProgramTypes = ProgramTypes::of(&[ProgramType::Xdp]);
const NONE: ProgramTypes = ProgramTypes::NONE;
const W4: Widths = Widths::W4;
const NO: Widths = Widths::NONE;

use FieldKind::{PacketEnd, PacketMeta, PacketStart, Scalar};

/// `struct xdp_md` (24 bytes): read-only, and only as whole 4-byte loads.
///
/// Difference from the kernel: it lets only programs attached to a device
/// map read `egress_ifindex`; bpfbox has no attach types and lets every XDP
/// program read it (the host supplies 0 where there is no egress device).
#[rustfmt::skip]
pub static XDP_MD: ContextStruct = ContextStruct {
    name: "xdp_md",
    size: 24,
    fields: &[
        //    name               off size kind         readers widths writers widths
        field("data",              0,  4, PacketStart, XDP,    W4,    NONE,   NO),
        field("data_end",          4,  4, PacketEnd,   XDP,    W4,    NONE,   NO),
        field("data_meta",         8,  4, PacketMeta,  XDP,    W4,    NONE,   NO),
        field("ingress_ifindex",  12,  4, Scalar,      XDP,    W4,    NONE,   NO),
        field("rx_queue_index",   16,  4, Scalar,      XDP,    W4,    NONE,   NO),
        field("egress_ifindex",   20,  4, Scalar,      XDP,    W4,    NONE,   NO),
    ],
};

/// An XDP program's verdict (`enum xdp_action`), the low 32 bits of r0.
///
/// The verifier does not check the value; the kernel treats any other value
/// as [`XdpAction::Aborted`] (and warns).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u32)]
pub enum XdpAction {
    /// Drop the packet, signalling an error (a trace event).
    Aborted = 0,
    /// Drop the packet.
    Drop = 1,
    /// Hand the packet on to the network stack.
    Pass = 2,
    /// Send the packet back out of the device it came in on.
    Tx = 3,
    /// Send the packet where `redirect` or `redirect_map` said.
    Redirect = 4,
}

impl XdpAction {
    /// The action's value.
    pub const fn raw(self) -> u32 {
        self as u32
    }

    /// The action with value `raw`, if there is one.
    pub const fn from_raw(raw: u32) -> Option<XdpAction> {
        match raw {
            0 => Some(XdpAction::Aborted),
            1 => Some(XdpAction::Drop),
            2 => Some(XdpAction::Pass),
            3 => Some(XdpAction::Tx),
            4 => Some(XdpAction::Redirect),
            _ => None,
        }
    }

    /// What a program returning `r0` asks for, as the kernel reads it: the
    /// low 32 bits, with unknown values taken as [`XdpAction::Aborted`].
    pub const fn from_r0(r0: u64) -> XdpAction {
        match XdpAction::from_raw(r0 as u32) {
            Some(action) => action,
            None => XdpAction::Aborted,
        }
    }
}
