//! Packets for the packet program types (XDP, socket filter, tc, cgroup
//! skb): the bytes, the room around them that `xdp_adjust_head`/`_tail`
//! can grow into, and the context fields the host supplies.
//!
//! The buffer is laid out like the kernel's test-run buffer: [`HEADROOM`]
//! bytes before the packet (the first [`FRAME_RESERVED`] of them stay the
//! host's, as the kernel keeps its frame descriptor there), the packet, then
//! [`TAILROOM`] bytes after it. After a run, [`Packet::data`] is the packet
//! as the program left it: rewritten, grown or shrunk.

use bpfbox_abi::program_types::{ContextStruct, SK_BUFF, XDP_MD};

/// Bytes before the packet (the kernel's `XDP_PACKET_HEADROOM`).
pub const HEADROOM: usize = 256;
/// Bytes at the start of the headroom that a packet can never grow into
/// (the size of the kernel's `struct xdp_frame`).
pub const FRAME_RESERVED: usize = 40;
/// Bytes after the packet that `xdp_adjust_tail` can grow into.
pub const TAILROOM: usize = 256;
/// The shortest packet `xdp_adjust_head`/`_tail` may leave: an Ethernet
/// header.
pub const MIN_PACKET: usize = 14;
/// Most metadata bytes before the packet (`xdp_adjust_meta`).
pub const MAX_META: usize = 32;

/// A packet and its context fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    buffer: Vec<u8>,
    meta: usize,
    data: usize,
    end: usize,
    /// `__sk_buff` fields (socket, tc, cgroup skb) and `xdp_md` fields
    /// (XDP), as the host set them and the program left them.
    skb: [u8; 192],
    xdp: [u8; 24],
}

impl Packet {
    /// A packet holding `bytes`, with empty metadata, `protocol` taken from
    /// the Ethernet header (as the kernel's receive path sets it) and the
    /// other context fields zero.
    pub fn new(bytes: &[u8]) -> Packet {
        let mut buffer = vec![0; HEADROOM + bytes.len() + TAILROOM];
        buffer[HEADROOM..HEADROOM + bytes.len()].copy_from_slice(bytes);
        let mut packet = Packet {
            buffer,
            meta: HEADROOM,
            data: HEADROOM,
            end: HEADROOM + bytes.len(),
            skb: [0; 192],
            xdp: [0; 24],
        };
        if let Some(ethertype) = bytes.get(12..14) {
            // Network byte order in the field, as the kernel stores it.
            let raw = u32::from(u16::from_ne_bytes([ethertype[0], ethertype[1]]));
            packet.set_field("protocol", raw);
        }
        packet
    }

    /// The packet's bytes.
    pub fn data(&self) -> &[u8] {
        &self.buffer[self.data..self.end]
    }

    /// The packet's bytes, writable.
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buffer[self.data..self.end]
    }

    /// The metadata in front of the packet (`xdp_adjust_meta`).
    pub fn metadata(&self) -> &[u8] {
        &self.buffer[self.meta..self.data]
    }

    /// Sets a 4-byte context field by its C name (`mark`, `ifindex`,
    /// `ingress_ifindex`, `rx_queue_index`, ...), in `__sk_buff` and in
    /// `xdp_md` where the name exists. Returns whether any struct has it.
    /// `len`, `data`, `data_end` and `data_meta` are filled in by the run.
    pub fn set_field(&mut self, name: &str, value: u32) -> bool {
        let a = set(&SK_BUFF, &mut self.skb, name, value);
        let b = set(&XDP_MD, &mut self.xdp, name, value);
        a || b
    }

    /// Sets `cb[index]` of `__sk_buff`, the scratch words tc and socket
    /// programs pass along.
    pub fn set_cb(&mut self, index: usize, value: u32) {
        if index < 5 {
            let at = 48 + 4 * index;
            self.skb[at..at + 4].copy_from_slice(&value.to_le_bytes());
        }
    }

    /// A 4-byte `__sk_buff` field as the program left it (`mark`,
    /// `priority`, `tc_index`, `cb` words through [`Packet::cb`], ...).
    pub fn skb_field(&self, name: &str) -> Option<u32> {
        get(&SK_BUFF, &self.skb, name)
    }

    /// `cb[index]` as the program left it.
    pub fn cb(&self, index: usize) -> Option<u32> {
        let at = 48 + 4 * index;
        (index < 5).then(|| {
            u32::from_le_bytes([
                self.skb[at],
                self.skb[at + 1],
                self.skb[at + 2],
                self.skb[at + 3],
            ])
        })
    }

    /// An `xdp_md` field.
    pub fn xdp_field(&self, name: &str) -> Option<u32> {
        get(&XDP_MD, &self.xdp, name)
    }

    /// The parts a run needs at once: the whole buffer, the context bytes
    /// of the struct, and the packet's bounds as offsets into the buffer.
    pub(crate) fn parts(&mut self, xdp: bool) -> (&mut [u8], &mut [u8], PacketBounds) {
        let bounds = PacketBounds {
            meta: self.meta,
            data: self.data,
            end: self.end,
        };
        let len = (self.end - self.data) as u32;
        let ctx: &mut [u8] = if xdp {
            &mut self.xdp
        } else {
            set(&SK_BUFF, &mut self.skb, "len", len);
            set(&SK_BUFF, &mut self.skb, "wire_len", len);
            &mut self.skb
        };
        (&mut self.buffer, ctx, bounds)
    }

    /// Records where the packet ended up after a run.
    pub(crate) fn set_bounds(&mut self, bounds: PacketBounds) {
        self.meta = bounds.meta;
        self.data = bounds.data;
        self.end = bounds.end;
    }
}

/// The packet's place in its buffer, as offsets: metadata from `meta` to
/// `data`, packet from `data` to `end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PacketBounds {
    pub meta: usize,
    pub data: usize,
    pub end: usize,
}

fn set(layout: &ContextStruct, bytes: &mut [u8], name: &str, value: u32) -> bool {
    match layout.field(name) {
        Some(f) if f.size == 4 => {
            let at = f.offset as usize;
            bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
            true
        }
        _ => false,
    }
}

fn get(layout: &ContextStruct, bytes: &[u8], name: &str) -> Option<u32> {
    let f = layout.field(name).filter(|f| f.size == 4)?;
    let at = f.offset as usize;
    Some(u32::from_le_bytes([
        bytes[at],
        bytes[at + 1],
        bytes[at + 2],
        bytes[at + 3],
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_room() {
        let mut frame = vec![0u8; 60];
        frame[12] = 0x08; // IPv4
        let mut packet = Packet::new(&frame);
        assert_eq!(packet.data().len(), 60);
        assert_eq!(
            packet.skb_field("protocol"),
            Some(u32::from(u16::from_ne_bytes([0x08, 0])))
        );
        assert!(packet.set_field("mark", 7));
        assert!(packet.set_field("ingress_ifindex", 3));
        assert!(!packet.set_field("no_such_field", 1));
        assert_eq!(packet.skb_field("mark"), Some(7));
        assert_eq!(packet.xdp_field("ingress_ifindex"), Some(3));
        packet.set_cb(4, 9);
        assert_eq!(packet.cb(4), Some(9));
        assert_eq!(packet.cb(5), None);
        let (buffer, ctx, bounds) = packet.parts(false);
        assert_eq!(buffer.len(), HEADROOM + 60 + TAILROOM);
        assert_eq!(ctx[0], 60); // len
        assert_eq!(
            bounds,
            PacketBounds {
                meta: HEADROOM,
                data: HEADROOM,
                end: HEADROOM + 60
            }
        );
    }
}
