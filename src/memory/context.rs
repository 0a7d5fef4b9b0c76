//! The context struct and the packet: the two regions whose accesses follow
//! the program type's rules rather than plain bounds.
//!
//! # Context rewriting
//! The kernel rewrites every context access when it loads a program, so a
//! 4-byte load of `xdp_md.data` yields a full 64-bit packet pointer. bpfbox
//! does the same at run time: the context is a shadow struct in the uapi
//! layout, and an access that lands in it is checked against
//! [`ProgramType::check_ctx_access`]; a load of a packet-pointer field yields
//! the current pointer, a load of a scalar field the shadow bytes, and a
//! store is allowed only where the kernel allows one. (A verifier-backed JIT
//! can resolve these statically; the semantics are the same.)
//!
//! # The packet
//! The packet is a private region over the part of the packet buffer the
//! program may touch (`data_meta` or `data` up to `data_end`), writable where
//! the program type may write packets. `xdp_adjust_head`/`_meta`/`_tail`
//! move its bounds inside the buffer; the buffer itself never moves.

use super::{MemoryMap, Region};
use crate::error::Trap;
use crate::packet::{PacketBounds, FRAME_RESERVED, MAX_META, MIN_PACKET};
use bpfbox_abi::errno::{EACCES, EINVAL};
use bpfbox_abi::program_types::{CtxOp, FieldKind, PacketAccess};
use bpfbox_abi::ProgramType;

/// The context struct of the run.
#[derive(Debug)]
pub(crate) struct ContextRegion {
    start: u64,
    len: u64,
    program_type: ProgramType,
}

/// How a program sees its packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PacketRole {
    /// XDP: metadata visible, bounds adjustable, read-write.
    Xdp,
    /// Socket filter, tc, cgroup skb: direct access as the type allows.
    Skb(PacketAccess),
}

/// The packet of the run, as host addresses.
#[derive(Debug)]
pub(crate) struct PacketState {
    buffer_start: u64,
    buffer_end: u64,
    meta: u64,
    data: u64,
    end: u64,
    role: PacketRole,
    /// Index of the packet's region in the private regions, when the
    /// program may access the packet directly.
    region: Option<usize>,
}

/// The trap for an atomic instruction on the context.
pub(super) fn no_atomics(offset: u64, len: u64) -> Trap {
    Trap::ContextAccess {
        offset,
        size: len,
        reason: "atomic operations on the context are not allowed".to_string(),
    }
}

impl<'a> MemoryMap<'a> {
    /// Makes `ctx` the run's context struct for `program_type`.
    pub(crate) fn add_context(&mut self, ctx: &'a mut [u8], program_type: ProgramType) {
        self.context = Some(ContextRegion {
            start: ctx.as_mut_ptr() as u64,
            len: ctx.len() as u64,
            program_type,
        });
    }

    /// Makes `buffer` the run's packet buffer, with the packet at `bounds`.
    pub(crate) fn add_packet(
        &mut self,
        buffer: &'a mut [u8],
        bounds: PacketBounds,
        role: PacketRole,
    ) {
        let base = buffer.as_mut_ptr() as u64;
        let region = match role {
            PacketRole::Skb(PacketAccess::None) => None,
            _ => {
                self.push(Region {
                    start: 0,
                    len: 0,
                    writable: false,
                    shared: false,
                });
                Some(self.region_count - 1)
            }
        };
        self.packet = Some(PacketState {
            buffer_start: base,
            buffer_end: base + buffer.len() as u64,
            meta: base + bounds.meta as u64,
            data: base + bounds.data as u64,
            end: base + bounds.end as u64,
            role,
            region,
        });
        self.update_packet_region();
    }

    /// The packet's bounds as offsets into its buffer, after the run.
    pub(crate) fn packet_bounds(&self) -> Option<PacketBounds> {
        self.packet.as_ref().map(|p| PacketBounds {
            meta: (p.meta - p.buffer_start) as usize,
            data: (p.data - p.buffer_start) as usize,
            end: (p.end - p.buffer_start) as usize,
        })
    }

    fn update_packet_region(&mut self) {
        let Some(p) = &self.packet else { return };
        let Some(index) = p.region else { return };
        let (start, writable) = match p.role {
            PacketRole::Xdp => (p.meta, true),
            PacketRole::Skb(access) => (p.data, access == PacketAccess::ReadWrite),
        };
        self.regions[index] = Region {
            start,
            len: p.end - start,
            writable,
            shared: false,
        };
    }

    /// The offset of `addr` in the context struct, if it lies there.
    #[inline]
    pub(super) fn context_offset(&self, addr: u64) -> Option<u64> {
        let ctx = self.context.as_ref()?;
        let offset = addr.wrapping_sub(ctx.start);
        (offset < ctx.len).then_some(offset)
    }

    fn context_check(&self, offset: u64, size: u64, op: CtxOp) -> Result<(FieldKind, u64), Trap> {
        let fail = |reason: String| Trap::ContextAccess {
            offset,
            size,
            reason,
        };
        let ctx = self
            .context
            .as_ref()
            .ok_or_else(|| fail("no context".into()))?;
        if offset.checked_add(size).is_none_or(|end| end > ctx.len) {
            return Err(fail(format!("beyond the {}-byte context", ctx.len)));
        }
        let access = ctx
            .program_type
            .check_ctx_access(offset as i64, size as u32, op)
            .map_err(|e| fail(e.to_string()))?;
        Ok((access.kind, ctx.start + offset))
    }

    /// A load of `size` bytes at `offset` in the context, rewritten.
    #[inline(never)]
    pub(super) fn context_load(&self, offset: u64, size: u64) -> Result<u64, Trap> {
        let (kind, addr) = self.context_check(offset, size, CtxOp::Load)?;
        let packet = |pick: fn(&PacketState) -> u64| -> Result<u64, Trap> {
            self.packet.as_ref().map(pick).ok_or(Trap::ContextAccess {
                offset,
                size,
                reason: "the run has no packet".into(),
            })
        };
        match kind {
            FieldKind::PacketStart => packet(|p| p.data),
            FieldKind::PacketEnd => packet(|p| p.end),
            FieldKind::PacketMeta => packet(|p| p.meta),
            FieldKind::Scalar => {
                let ptr = addr as *const u8;
                // SAFETY: `context_check` proved [addr, addr + size) lies in
                // the context struct, a private region borrowed for 'a.
                let bytes = unsafe { std::slice::from_raw_parts(ptr, size as usize) };
                Ok(bytes
                    .iter()
                    .rev()
                    .fold(0, |acc, &b| (acc << 8) | u64::from(b)))
            }
        }
    }

    /// A store of `size` bytes at `offset` in the context, where allowed.
    #[inline(never)]
    pub(super) fn context_store(&mut self, offset: u64, size: u64, value: u64) -> Result<(), Trap> {
        let (_, addr) = self.context_check(offset, size, CtxOp::Store)?;
        let bytes = value.to_le_bytes();
        // SAFETY: `context_check` proved [addr, addr + size) lies in the
        // context struct, borrowed mutably for 'a; `size` is at most 8.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), addr as *mut u8, size as usize) };
        Ok(())
    }

    /// `LD_ABS`/`LD_IND`: `size` bytes at `offset` from the packet's start,
    /// big-endian; `None` when out of the packet (the program then ends with
    /// r0 = 0, as the kernel does).
    pub(crate) fn packet_load_be(&self, offset: u64, size: u64) -> Option<u64> {
        let bytes = self.packet_bytes(offset, size)?;
        Some(bytes.iter().fold(0, |acc, &b| (acc << 8) | u64::from(b)))
    }

    /// The packet bytes `[offset, offset + len)` from the packet's start.
    pub(crate) fn packet_bytes(&self, offset: u64, len: u64) -> Option<Vec<u8>> {
        let p = self.packet.as_ref()?;
        let start = p.data.checked_add(offset)?;
        if start.checked_add(len)? > p.end {
            return None;
        }
        // SAFETY: [start, start + len) lies between the packet's data and
        // end, inside the packet buffer borrowed for 'a.
        Some(unsafe { std::slice::from_raw_parts(start as *const u8, len as usize) }.to_vec())
    }

    /// Writes `bytes` into the packet at `offset` from its start; `false`
    /// when they do not fit in the packet.
    pub(crate) fn write_packet(&mut self, offset: u64, bytes: &[u8]) -> bool {
        let Some(p) = self.packet.as_ref() else {
            return false;
        };
        let Some(start) = p.data.checked_add(offset) else {
            return false;
        };
        if start
            .checked_add(bytes.len() as u64)
            .is_none_or(|end| end > p.end)
        {
            return false;
        }
        // SAFETY: [start, start + len) lies inside the packet, in the buffer
        // borrowed mutably for 'a; `bytes` is the caller's own memory.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), start as *mut u8, bytes.len()) };
        true
    }

    fn xdp_packet(&mut self) -> Result<&mut PacketState, i32> {
        match &mut self.packet {
            Some(p) if p.role == PacketRole::Xdp => Ok(p),
            _ => Err(EINVAL),
        }
    }

    /// `xdp_adjust_head`: moves the packet's start by `delta` (negative
    /// grows it into the headroom); metadata moves along.
    ///
    /// # Errors
    /// `EINVAL` when the start would leave the buffer's usable headroom or
    /// the packet would be shorter than an Ethernet header.
    pub(crate) fn adjust_head(&mut self, delta: i64) -> Result<(), i32> {
        let p = self.xdp_packet()?;
        let metalen = p.data - p.meta;
        let data = p.data.checked_add_signed(delta).ok_or(EINVAL)?;
        if data < p.buffer_start + FRAME_RESERVED as u64 + metalen
            || data.saturating_add(MIN_PACKET as u64) > p.end
        {
            return Err(EINVAL);
        }
        let meta = data - metalen;
        if metalen > 0 {
            // SAFETY: both ranges lie inside the buffer borrowed for 'a
            // (checked above); `copy` allows overlap.
            unsafe { std::ptr::copy(p.meta as *const u8, meta as *mut u8, metalen as usize) };
        }
        p.meta = meta;
        p.data = data;
        self.update_packet_region();
        Ok(())
    }

    /// `xdp_adjust_meta`: moves the metadata's start by `delta`.
    ///
    /// # Errors
    /// `EINVAL` outside the headroom or past the packet's start; `EACCES`
    /// when the metadata would be over 32 bytes or not a multiple of 4.
    pub(crate) fn adjust_meta(&mut self, delta: i64) -> Result<(), i32> {
        let p = self.xdp_packet()?;
        let meta = p.meta.checked_add_signed(delta).ok_or(EINVAL)?;
        if meta < p.buffer_start + FRAME_RESERVED as u64 || meta > p.data {
            return Err(EINVAL);
        }
        let metalen = p.data - meta;
        if metalen > MAX_META as u64 || metalen % 4 != 0 {
            return Err(EACCES);
        }
        p.meta = meta;
        self.update_packet_region();
        Ok(())
    }

    /// `xdp_adjust_tail`: moves the packet's end by `delta`; grown bytes
    /// read as zero.
    ///
    /// # Errors
    /// `EINVAL` past the tailroom or below an Ethernet header's length.
    pub(crate) fn adjust_tail(&mut self, delta: i64) -> Result<(), i32> {
        let p = self.xdp_packet()?;
        let end = p.end.checked_add_signed(delta).ok_or(EINVAL)?;
        if end > p.buffer_end || end < p.data + MIN_PACKET as u64 {
            return Err(EINVAL);
        }
        if end > p.end {
            // SAFETY: [old end, end) lies inside the buffer borrowed for 'a.
            unsafe { std::ptr::write_bytes(p.end as *mut u8, 0, (end - p.end) as usize) };
        }
        p.end = end;
        self.update_packet_region();
        Ok(())
    }
}
