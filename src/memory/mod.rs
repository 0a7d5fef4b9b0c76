//! The memory model: real host addresses in registers, every access checked
//! against the list of regions the run may touch.
//!
//! # Why this model
//! eBPF programs compute addresses with ordinary 64-bit arithmetic, and the
//! Linux ABI hands them real pointers (context, packet, map values). bpfbox
//! keeps that: a register holding a pointer holds the host address. Each load,
//! store and atomic is checked against a short list of [`Region`]s (input
//! memory, the live stack frames, and in later stages the context, packet and
//! map values). The check is two compares per region, which a JIT can emit
//! inline; the alternative, a translated virtual address space, costs a table
//! walk on every access and buys nothing the region check does not give.
//!
//! # What is accessible
//! - The input memory of the run (read-write), when there is one.
//! - The stack: each frame has [`crate::STACK_FRAME_SIZE`] bytes; all frames of
//!   one run are contiguous, the entry frame at the top. The accessible stack
//!   is every *live* frame: from the bottom of the current frame to the top of
//!   the entry frame, so a callee may use a pointer into its caller's frame but
//!   not into the frame of a function that already returned. A program that
//!   a tail call from a sub-program started runs in the sub-program's frame,
//!   zeroed, and its stack ends there: the frames of the sub-program's
//!   callers are out of its reach.
//!
//! - Shared regions: map memory (values, ring buffers) that other runs and
//!   host threads may touch at the same time.
//!
//! # Soundness
//! Every private region (stack, input, context, packet) is backed by a Rust
//! borrow that outlives the [`MemoryMap`] (the `'a` lifetime), so a checked
//! address always points into live memory that nothing else accesses during
//! the run; accesses to it are plain unaligned reads and writes through raw
//! pointers. Shared regions are kept alive by the map handles the run holds,
//! and every access to them is atomic (relaxed loads and stores of the access
//! size when aligned, byte by byte otherwise), so programs racing on a map
//! value race exactly as in the kernel without a data race in Rust's sense.
//! (Rust's model leaves racing atomics of *different sizes* unspecified; on
//! the hardware bpfbox targets they behave as the kernel's plain accesses.)
//! Atomic instructions require natural alignment (as the kernel does) and use
//! the `core::sync::atomic` types, so they lose no update across threads.

mod context;

pub(crate) use context::PacketRole;

use crate::error::{Access, Trap};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU16, AtomicU32, AtomicU64, AtomicU8, Ordering};

/// Loads `len` (1, 2, 4 or 8) bytes from shared memory, little-endian:
/// one atomic access when aligned, byte by byte otherwise.
///
/// # Safety
/// `[ptr, ptr + len)` must lie in a live shared region.
#[inline(never)]
unsafe fn shared_load(ptr: *mut u8, len: u64) -> u64 {
    let relaxed = Ordering::Relaxed;
    if (ptr as u64) % len == 0 {
        // SAFETY: aligned to its size and in a live region (caller).
        unsafe {
            match len {
                1 => u64::from(AtomicU8::from_ptr(ptr).load(relaxed)),
                2 => u64::from(u16::from_le(AtomicU16::from_ptr(ptr.cast()).load(relaxed))),
                4 => u64::from(u32::from_le(AtomicU32::from_ptr(ptr.cast()).load(relaxed))),
                _ => u64::from_le(AtomicU64::from_ptr(ptr.cast()).load(relaxed)),
            }
        }
    } else {
        (0..len as usize).rev().fold(0, |acc, i| {
            // SAFETY: each byte is in the live region (caller).
            let byte = unsafe { AtomicU8::from_ptr(ptr.add(i)) }.load(relaxed);
            (acc << 8) | u64::from(byte)
        })
    }
}

/// Stores the low `len` (1, 2, 4 or 8) bytes of `value` to shared memory,
/// little-endian: one atomic access when aligned, byte by byte otherwise.
///
/// # Safety
/// `[ptr, ptr + len)` must lie in a live writable shared region.
#[inline(never)]
unsafe fn shared_store(ptr: *mut u8, len: u64, value: u64) {
    let relaxed = Ordering::Relaxed;
    if (ptr as u64) % len == 0 {
        // SAFETY: aligned to its size and in a live region (caller).
        unsafe {
            match len {
                1 => AtomicU8::from_ptr(ptr).store(value as u8, relaxed),
                2 => AtomicU16::from_ptr(ptr.cast()).store((value as u16).to_le(), relaxed),
                4 => AtomicU32::from_ptr(ptr.cast()).store((value as u32).to_le(), relaxed),
                _ => AtomicU64::from_ptr(ptr.cast()).store(value.to_le(), relaxed),
            }
        }
    } else {
        for i in 0..len as usize {
            // SAFETY: each byte is in the live region (caller).
            unsafe { AtomicU8::from_ptr(ptr.add(i)) }.store((value >> (8 * i)) as u8, relaxed);
        }
    }
}

/// A range of host memory a run may access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    /// First address.
    pub start: u64,
    /// Length in bytes.
    pub len: u64,
    /// Whether stores and atomics are allowed.
    pub writable: bool,
    /// Whether other threads may access this memory during the run (map
    /// values, ring buffers). Every access to a shared region is atomic.
    pub shared: bool,
}

impl Region {
    /// Whether `[addr, addr + len)` lies inside this region.
    #[inline(always)]
    fn contains(&self, addr: u64, len: u64) -> bool {
        // `offset + len <= self.len` without wrapping: the same as
        // `offset <= self.len && self.len - offset >= len`, in one add, one
        // compare and two branches.
        let offset = addr.wrapping_sub(self.start);
        offset.checked_add(len).is_some_and(|end| end <= self.len)
    }
}

/// Most regions besides the stack a run can have.
pub const MAX_REGIONS: usize = 4;

/// The memory a run may touch: the live stack frames, up to
/// [`MAX_REGIONS`] private regions, each borrowed for `'a`, and any number of
/// shared regions (map memory) that live at least as long.
pub struct MemoryMap<'a> {
    stack: Region,
    stack_top: u64,
    regions: [Region; MAX_REGIONS],
    region_count: usize,
    shared: &'a [Region],
    /// Shared regions of inner maps the run looked up (maps of maps).
    inner_shared: Vec<Region>,
    context: Option<context::ContextRegion>,
    /// Read-only scratch for the key `for_each_map_elem` hands its callback.
    key_scratch: Option<&'a [AtomicU64]>,
    packet: Option<context::PacketState>,
    _borrows: PhantomData<&'a mut [u8]>,
}

/// Where a checked access lands.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    /// Memory only this run touches: plain accesses.
    Private(*mut u8),
    /// Memory other threads may touch: atomic accesses.
    Shared(*mut u8),
    /// The context struct, at this offset: loads and stores are checked
    /// against the program type's rules and rewritten ([`context`]).
    Context(u64),
}

/// Read-modify-write operations of atomic instructions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AtomicRmw {
    /// Add.
    Add,
    /// Bitwise or.
    Or,
    /// Bitwise and.
    And,
    /// Bitwise xor.
    Xor,
    /// Exchange.
    Xchg,
}

impl<'a> MemoryMap<'a> {
    /// A map over `stack`, whose top frame is live. The stack must be 8-byte
    /// aligned at its top so frame pointers are.
    pub fn new(stack: &'a mut [u8], frame_size: u64) -> Self {
        let start = stack.as_mut_ptr() as u64;
        let top = start + stack.len() as u64;
        let floor = top - frame_size.min(stack.len() as u64);
        MemoryMap {
            stack: Region {
                start: floor,
                len: top - floor,
                writable: true,
                shared: false,
            },
            stack_top: top,
            regions: [Region {
                start: 0,
                len: 0,
                writable: false,
                shared: false,
            }; MAX_REGIONS],
            region_count: 0,
            shared: &[],
            inner_shared: Vec::new(),
            context: None,
            key_scratch: None,
            packet: None,
            _borrows: PhantomData,
        }
    }

    /// The address one past the entry frame: the entry frame's r10.
    pub fn stack_top(&self) -> u64 {
        self.stack_top
    }

    /// Makes the stack accessible from `floor` to the top (called when frames
    /// are pushed or popped). `floor` must lie within the stack given to
    /// [`MemoryMap::new`]; the run's frame bookkeeping guarantees it.
    #[inline(always)]
    pub(crate) fn set_stack_floor(&mut self, floor: u64) {
        debug_assert!(floor <= self.stack_top);
        self.stack.start = floor;
        self.stack.len = self.stack_top - floor;
    }

    /// Makes a new frame `[floor, floor + len)` live and zeroes it, so no run
    /// sees what an earlier frame or run left there.
    #[inline]
    pub(crate) fn enter_frame(&mut self, floor: u64, len: u64) {
        self.set_stack_floor(floor);
        let ptr = floor as *mut u8;
        // SAFETY: the run's frame bookkeeping keeps `floor` at least `len`
        // bytes below the top of the stack borrowed by this map (it refuses a
        // frame beyond the stack's capacity), so the range is live and ours.
        unsafe { std::ptr::write_bytes(ptr, 0, len as usize) };
    }

    /// Runs `f` on the memory of one program of the run: this map's private
    /// regions, context, packet and key scratch, with `shared` as the shared
    /// regions (the program's maps) and a stack cut at `stack_top`: one
    /// fresh, zeroed `frame_size` frame below it is live, and nothing above
    /// it is accessible. For a program a tail call started: after a tail
    /// call from the run's first program it gets the whole stack; after one
    /// from a sub-program it starts in the sub-program's frame and cannot
    /// reach its callers' frames. What `f` changes of the packet bounds and
    /// of the inner maps' regions stays in this map.
    ///
    /// # Safety
    /// As [`MemoryMap::add_shared`] for `shared`, for `'v`. `stack_top` must
    /// lie in the stack given to [`MemoryMap::new`] at least `frame_size`
    /// bytes above its bottom, and the caller's frame bookkeeping must keep
    /// every frame entered in the view within that stack.
    pub(crate) unsafe fn with_program<'v, R>(
        &mut self,
        stack_top: u64,
        frame_size: u64,
        shared: &'v [Region],
        f: impl FnOnce(&mut MemoryMap<'v>) -> R,
    ) -> R
    where
        'a: 'v,
    {
        debug_assert!(stack_top <= self.stack_top);
        let mut view = MemoryMap {
            stack: Region {
                start: stack_top,
                len: 0,
                writable: true,
                shared: false,
            },
            stack_top,
            regions: self.regions,
            region_count: self.region_count,
            shared,
            inner_shared: std::mem::take(&mut self.inner_shared),
            context: self.context.take(),
            key_scratch: self.key_scratch,
            packet: self.packet.take(),
            _borrows: PhantomData,
        };
        view.enter_frame(stack_top - frame_size, frame_size);
        let result = f(&mut view);
        // The packet's region moves with `xdp_adjust_*`.
        self.regions = view.regions;
        self.inner_shared = view.inner_shared;
        self.context = view.context;
        self.packet = view.packet;
        result
    }

    /// Adds a read-write region.
    ///
    /// # Panics
    /// If [`MAX_REGIONS`] regions were already added (an embedder bug, not a
    /// property of the program).
    pub fn add_writable(&mut self, memory: &'a mut [u8]) {
        self.push(Region {
            start: memory.as_mut_ptr() as u64,
            len: memory.len() as u64,
            writable: true,
            shared: false,
        });
    }

    /// Adds a read-only region.
    ///
    /// # Panics
    /// As [`MemoryMap::add_writable`].
    pub fn add_readonly(&mut self, memory: &'a [u8]) {
        self.push(Region {
            start: memory.as_ptr() as u64,
            len: memory.len() as u64,
            writable: false,
            shared: false,
        });
    }

    fn push(&mut self, region: Region) {
        assert!(self.region_count < MAX_REGIONS, "too many memory regions");
        self.regions[self.region_count] = region;
        self.region_count += 1;
    }

    /// Adds shared regions: memory that other threads may access during the
    /// run (map values, ring buffers). Every access to them is atomic.
    ///
    /// # Safety
    /// Every region must be memory that stays allocated for `'a` and is only
    /// ever accessed atomically (or through this map's atomic accesses) by
    /// anyone else, such as a map's value arena kept alive by the map
    /// handles the caller holds for `'a`.
    pub(crate) unsafe fn add_shared(&mut self, regions: &'a [Region]) {
        debug_assert!(regions.iter().all(|r| r.shared));
        self.shared = regions;
    }

    /// The private regions other than the stack.
    pub fn regions(&self) -> &[Region] {
        &self.regions[..self.region_count]
    }

    /// Adds the shared regions of an inner map a helper resolved.
    ///
    /// # Safety
    /// As [`MemoryMap::add_shared`]: the caller keeps the map alive for as
    /// long as this memory map lives.
    pub(crate) unsafe fn add_inner_shared(&mut self, regions: Vec<Region>) {
        debug_assert!(regions.iter().all(|r| r.shared));
        self.inner_shared.extend(regions);
    }

    /// The shared regions.
    pub fn shared_regions(&self) -> &[Region] {
        self.shared
    }

    /// Checks `[addr, addr + len)` and says where it lands.
    #[inline(always)]
    fn check(&self, addr: u64, len: u64, access: Access) -> Result<Target, Trap> {
        if self.stack.contains(addr, len) {
            return Ok(Target::Private(addr as *mut u8));
        }
        for region in &self.regions[..self.region_count] {
            if region.contains(addr, len) && (access == Access::Read || region.writable) {
                return Ok(Target::Private(addr as *mut u8));
            }
        }
        self.check_slow(addr, len, access)
    }

    /// [`MemoryMap::check`] for a load or store of `len` bytes (a constant
    /// wherever the interpreter calls this): the same result for 1, 2, 4 and
    /// 8 bytes, without reading `region_count`. Any other length is checked
    /// as at least 8 bytes, which is what `load` and `store` access for it.
    #[inline(always)]
    fn check_sized(&self, addr: u64, len: u64, access: Access) -> Result<Target, Trap> {
        if !matches!(len, 1 | 2 | 4 | 8) {
            return self.check(addr, len.max(8), access);
        }
        // The stack first (writable), then the regions in order, as `check`
        // does; all slots, since an unused slot (start 0, length 0) contains
        // no access of 1 byte or more.
        if self.stack.contains(addr, len) {
            return Ok(Target::Private(addr as *mut u8));
        }
        for region in &self.regions {
            if region.contains(addr, len) && (access == Access::Read || region.writable) {
                return Ok(Target::Private(addr as *mut u8));
            }
        }
        self.check_slow(addr, len, access)
    }

    /// The context and the shared regions, after the private ones missed:
    /// out of line, so the common path stays short.
    #[inline(never)]
    fn check_slow(&self, addr: u64, len: u64, access: Access) -> Result<Target, Trap> {
        if let Some(offset) = self.context_offset(addr) {
            return Ok(Target::Context(offset));
        }
        if let Some(scratch) = self.key_scratch {
            let region = Region {
                start: scratch.as_ptr() as u64,
                len: 8 * scratch.len() as u64,
                writable: false,
                shared: true,
            };
            if region.contains(addr, len) && access == Access::Read {
                return Ok(Target::Shared(addr as *mut u8));
            }
        }
        for region in self.shared.iter().chain(&self.inner_shared) {
            if region.contains(addr, len) && (access == Access::Read || region.writable) {
                return Ok(Target::Shared(addr as *mut u8));
            }
        }
        Err(Trap::OutOfBounds { addr, len, access })
    }

    /// Whether `[addr, addr + len)` may be accessed.
    pub fn is_accessible(&self, addr: u64, len: u64, access: Access) -> bool {
        self.check(addr, len, access).is_ok()
    }

    /// Reads `len` bytes (1, 2, 4 or 8) at `addr`, zero-extended. Any other
    /// `len` reads (and is checked as) 8 bytes.
    ///
    /// # Errors
    /// [`Trap::OutOfBounds`] when the range is outside every region.
    #[inline(always)]
    pub fn load(&self, addr: u64, len: u64) -> Result<u64, Trap> {
        let ptr = match self.check_sized(addr, len, Access::Read)? {
            Target::Private(ptr) => ptr,
            // SAFETY: `check_sized` proved the range lies in a shared region.
            Target::Shared(ptr) => return Ok(unsafe { shared_load(ptr, len.min(8)) }),
            Target::Context(offset) => return self.context_load(offset, len.min(8)),
        };
        // SAFETY: `check_sized` proved that the bytes read below, [addr,
        // addr+len) for 1, 2 and 4 and [addr, addr+8) otherwise, lie in a
        // region backed by a borrow that lives as long as `self`; reads are
        // unaligned-safe.
        unsafe {
            Ok(match len {
                1 => u64::from(ptr.read()),
                2 => u64::from(u16::from_le(ptr.cast::<u16>().read_unaligned())),
                4 => u64::from(u32::from_le(ptr.cast::<u32>().read_unaligned())),
                _ => u64::from_le(ptr.cast::<u64>().read_unaligned()),
            })
        }
    }

    /// Writes the low `len` bytes (1, 2, 4 or 8) of `value` at `addr`. Any
    /// other `len` writes (and is checked as) 8 bytes.
    ///
    /// # Errors
    /// [`Trap::OutOfBounds`] when the range is outside every writable region.
    #[inline(always)]
    pub fn store(&mut self, addr: u64, len: u64, value: u64) -> Result<(), Trap> {
        let ptr = match self.check_sized(addr, len, Access::Write)? {
            Target::Private(ptr) => ptr,
            Target::Shared(ptr) => {
                // SAFETY: `check_sized` proved the range lies in a writable
                // shared region.
                unsafe { shared_store(ptr, len.min(8), value) };
                return Ok(());
            }
            Target::Context(offset) => return self.context_store(offset, len.min(8), value),
        };
        // SAFETY: `check_sized` proved that the bytes written below, [addr,
        // addr+len) for 1, 2 and 4 and [addr, addr+8) otherwise, lie in a
        // writable region borrowed mutably for the life of `self`; writes are
        // unaligned-safe.
        unsafe {
            match len {
                1 => ptr.write(value as u8),
                2 => ptr.cast::<u16>().write_unaligned((value as u16).to_le()),
                4 => ptr.cast::<u32>().write_unaligned((value as u32).to_le()),
                _ => ptr.cast::<u64>().write_unaligned(value.to_le()),
            }
        }
        Ok(())
    }

    fn check_atomic(&self, addr: u64, len: u64) -> Result<*mut u8, Trap> {
        let ptr = match self.check(addr, len, Access::Write)? {
            Target::Private(ptr) | Target::Shared(ptr) => ptr,
            Target::Context(offset) => return Err(context::no_atomics(offset, len)),
        };
        if addr % len != 0 {
            return Err(Trap::MisalignedAtomic { addr, len });
        }
        Ok(ptr)
    }

    /// Atomic read-modify-write of 4 or 8 bytes; returns the old value
    /// (zero-extended for 4 bytes).
    ///
    /// # Errors
    /// [`Trap::OutOfBounds`] or [`Trap::MisalignedAtomic`].
    pub fn atomic_rmw(
        &mut self,
        addr: u64,
        len: u64,
        op: AtomicRmw,
        value: u64,
    ) -> Result<u64, Trap> {
        let ptr = self.check_atomic(addr, len)?;
        let ord = Ordering::SeqCst;
        if len == 4 {
            // SAFETY: in bounds of a writable region (check), 4-byte aligned
            // (check_atomic); all concurrent access to shared regions is atomic.
            let cell = unsafe { AtomicU32::from_ptr(ptr.cast()) };
            let v = value as u32;
            Ok(u64::from(match op {
                AtomicRmw::Add => cell.fetch_add(v, ord),
                AtomicRmw::Or => cell.fetch_or(v, ord),
                AtomicRmw::And => cell.fetch_and(v, ord),
                AtomicRmw::Xor => cell.fetch_xor(v, ord),
                AtomicRmw::Xchg => cell.swap(v, ord),
            }))
        } else {
            // SAFETY: as above, with 8-byte alignment.
            let cell = unsafe { AtomicU64::from_ptr(ptr.cast()) };
            Ok(match op {
                AtomicRmw::Add => cell.fetch_add(value, ord),
                AtomicRmw::Or => cell.fetch_or(value, ord),
                AtomicRmw::And => cell.fetch_and(value, ord),
                AtomicRmw::Xor => cell.fetch_xor(value, ord),
                AtomicRmw::Xchg => cell.swap(value, ord),
            })
        }
    }

    /// Atomic compare-exchange of 4 or 8 bytes: stores `new` if the memory
    /// equals `expected` (truncated to the width); returns the old value.
    ///
    /// # Errors
    /// [`Trap::OutOfBounds`] or [`Trap::MisalignedAtomic`].
    pub fn atomic_cmpxchg(
        &mut self,
        addr: u64,
        len: u64,
        expected: u64,
        new: u64,
    ) -> Result<u64, Trap> {
        let ptr = self.check_atomic(addr, len)?;
        let ord = Ordering::SeqCst;
        if len == 4 {
            // SAFETY: in bounds, writable, 4-byte aligned (check_atomic).
            let cell = unsafe { AtomicU32::from_ptr(ptr.cast()) };
            let old = match cell.compare_exchange(expected as u32, new as u32, ord, ord) {
                Ok(old) | Err(old) => old,
            };
            Ok(u64::from(old))
        } else {
            // SAFETY: in bounds, writable, 8-byte aligned (check_atomic).
            let cell = unsafe { AtomicU64::from_ptr(ptr.cast()) };
            Ok(match cell.compare_exchange(expected, new, ord, ord) {
                Ok(old) | Err(old) => old,
            })
        }
    }

    /// Gives the run a read-only scratch area for `for_each_map_elem` keys.
    pub(crate) fn set_key_scratch(&mut self, scratch: &'a [AtomicU64]) {
        self.key_scratch = Some(scratch);
    }

    /// Puts `key` in the key scratch area and returns its address; `None`
    /// when there is no scratch area or the key does not fit.
    pub(crate) fn write_key_scratch(&self, key: &[u8]) -> Option<u64> {
        let scratch = self.key_scratch?;
        if key.len() > 8 * scratch.len() {
            return None;
        }
        for (word, chunk) in scratch.iter().zip(key.chunks(8)) {
            let mut bytes = [0u8; 8];
            bytes[..chunk.len()].copy_from_slice(chunk);
            word.store(u64::from_le_bytes(bytes), Ordering::Relaxed);
        }
        Some(scratch.as_ptr() as u64)
    }

    /// The 4-byte lock word of `bpf_spin_lock` at `addr`: it must lie in map
    /// memory (a shared writable region) and be 4-byte aligned.
    fn lock_word(&self, addr: u64) -> Result<&AtomicU32, Trap> {
        match self.check(addr, 4, Access::Write)? {
            Target::Shared(ptr) if addr % 4 == 0 => {
                // SAFETY: a 4-byte aligned word inside a live shared region,
                // which is only ever accessed atomically.
                Ok(unsafe { AtomicU32::from_ptr(ptr.cast()) })
            }
            Target::Shared(_) => Err(Trap::MisalignedAtomic { addr, len: 4 }),
            _ => Err(Trap::OutOfBounds {
                addr,
                len: 4,
                access: Access::Write,
            }),
        }
    }

    /// Takes the spin lock at `addr`, waiting while another run holds it.
    ///
    /// # Errors
    /// When `addr` is not a 4-byte aligned word of map memory.
    pub(crate) fn spin_lock(&self, addr: u64) -> Result<(), Trap> {
        let word = self.lock_word(addr)?;
        while word
            .compare_exchange_weak(0, 1, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            std::hint::spin_loop();
        }
        Ok(())
    }

    /// Releases the spin lock at `addr`.
    ///
    /// # Errors
    /// As [`MemoryMap::spin_lock`].
    pub(crate) fn spin_unlock(&self, addr: u64) -> Result<(), Trap> {
        self.lock_word(addr)?.store(0, Ordering::Release);
        Ok(())
    }

    /// Copies `len` bytes at `addr` out of the run's memory (for helpers).
    ///
    /// # Errors
    /// [`Trap::OutOfBounds`] when the range is not readable.
    pub fn read_bytes(&self, addr: u64, len: u64) -> Result<Vec<u8>, Trap> {
        if len == 0 {
            return Ok(Vec::new());
        }
        match self.check(addr, len, Access::Read)? {
            // SAFETY: the whole range is inside one live private region
            // (check), and `len` is bounded by that region's length, so the
            // allocation is too.
            Target::Private(ptr) => {
                Ok(unsafe { std::slice::from_raw_parts(ptr, len as usize) }.to_vec())
            }
            Target::Shared(ptr) => Ok((0..len as usize)
                // SAFETY: every byte is inside one live shared region (check).
                .map(|i| unsafe { AtomicU8::from_ptr(ptr.add(i)) }.load(Ordering::Relaxed))
                .collect()),
            // Helpers see the context as the program does, field by field.
            Target::Context(offset) => (0..len)
                .map(|i| self.context_load(offset + i, 1).map(|b| b as u8))
                .collect(),
        }
    }

    /// Copies `bytes` into the run's memory at `addr` (for helpers).
    ///
    /// # Errors
    /// [`Trap::OutOfBounds`] when the range is not writable.
    pub fn write_bytes(&mut self, addr: u64, bytes: &[u8]) -> Result<(), Trap> {
        if bytes.is_empty() {
            return Ok(());
        }
        match self.check(addr, bytes.len() as u64, Access::Write)? {
            // SAFETY: the range is inside one live private writable region
            // (check), which this map borrows mutably, so it cannot overlap
            // `bytes`, which the caller holds a shared borrow of.
            Target::Private(ptr) => unsafe {
                std::ptr::copy_nonoverlapping(bytes.as_ptr(), ptr, bytes.len())
            },
            Target::Shared(ptr) => {
                for (i, &byte) in bytes.iter().enumerate() {
                    // SAFETY: every byte is inside one live writable shared
                    // region (check).
                    unsafe { AtomicU8::from_ptr(ptr.add(i)) }.store(byte, Ordering::Relaxed);
                }
            }
            Target::Context(offset) => {
                for (i, &byte) in bytes.iter().enumerate() {
                    self.context_store(offset + i as u64, 1, u64::from(byte))?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_regions_are_checked_and_accessed_atomically() {
        let words: Box<[AtomicU64]> = (0..2).map(|_| AtomicU64::new(0)).collect();
        let start = words.as_ptr() as u64;
        let shared = [Region {
            start,
            len: 16,
            writable: true,
            shared: true,
        }];
        let mut stack = [0u8; 8];
        let mut run = MemoryMap::new(&mut stack, 8);
        let top = run.stack_top();
        // SAFETY: `words` outlives the view and is only accessed atomically;
        // the one frame is the whole stack.
        unsafe {
            run.with_program(top, 8, &shared, |map| {
                map.store(start + 8, 8, 0x1122_3344_5566_7788).unwrap();
                map.store(start + 3, 2, 0xaabb).unwrap(); // unaligned: byte by byte
                assert_eq!(words[1].load(Ordering::Relaxed), 0x1122_3344_5566_7788);
                assert_eq!(words[0].load(Ordering::Relaxed), 0x00aa_bb00_0000);
                assert_eq!(map.load(start + 3, 2), Ok(0xaabb));
                assert_eq!(map.load(start + 9, 4), Ok(0x4455_6677));
                assert_eq!(
                    map.atomic_rmw(start + 8, 8, AtomicRmw::Add, 1),
                    Ok(0x1122_3344_5566_7788)
                );
                assert_eq!(map.read_bytes(start + 8, 2), Ok(vec![0x89, 0x77]));
                map.write_bytes(start, &[1, 2]).unwrap();
                assert_eq!(map.load(start, 4), Ok(0xbb00_0201));
                assert_eq!(
                    map.load(start + 12, 8),
                    Err(Trap::OutOfBounds {
                        addr: start + 12,
                        len: 8,
                        access: Access::Read
                    })
                );
            })
        };
        // Outside the program's view, its shared regions are gone.
        assert!(!run.is_accessible(start, 1, Access::Read));
    }

    #[test]
    fn a_program_view_has_a_fresh_frame_and_nothing_above_it() {
        let mut stack = [0xffu8; 32];
        let mut run = MemoryMap::new(&mut stack, 8);
        let mut input = [0u8; 4];
        let input_start = input.as_ptr() as u64;
        run.add_writable(&mut input);
        let top = run.stack_top();
        // A view cut one 8-byte frame below the top, as for a program a
        // sub-program in the second frame tail-called.
        // SAFETY: no shared regions; frames stay within the 32-byte stack.
        unsafe {
            run.with_program(top - 8, 8, &[], |view| {
                assert_eq!(view.stack_top(), top - 8);
                // Its frame is zeroed; the frame above is out of reach.
                assert_eq!(view.load(top - 16, 8), Ok(0));
                assert!(!view.is_accessible(top - 8, 1, Access::Read));
                assert!(!view.is_accessible(top - 17, 1, Access::Read));
                // The run's other regions are there.
                view.store(input_start, 4, 0x0403_0201).unwrap();
            })
        };
        assert_eq!(input, [1, 2, 3, 4]);
        // The frame above was never touched.
        assert_eq!(stack[24..], [0xff; 8]);
        assert_eq!(stack[16..24], [0; 8]);
    }

    #[test]
    fn region_bounds_are_exact() {
        let r = Region {
            start: 100,
            len: 8,
            writable: true,
            shared: false,
        };
        assert!(r.contains(100, 8));
        assert!(r.contains(107, 1));
        assert!(!r.contains(107, 2));
        assert!(!r.contains(99, 1));
        assert!(!r.contains(108, 1));
        assert!(!r.contains(u64::MAX, 2));
        assert!(r.contains(108, 0));
    }

    #[test]
    fn region_check_matches_its_definition() {
        // `contains` against the two-compare definition, at the edges of
        // short regions and of the address space.
        let starts = [0, 1, 100, u64::MAX - 9, u64::MAX];
        let offsets = [
            0,
            1,
            2,
            3,
            4,
            7,
            8,
            9,
            10,
            u64::MAX - 8,
            u64::MAX - 1,
            u64::MAX,
        ];
        for start in starts {
            for len in 0..=10 {
                let r = Region {
                    start,
                    len,
                    writable: true,
                    shared: false,
                };
                for offset in offsets {
                    for size in [0, 1, 2, 3, 4, 8, 9, u64::MAX] {
                        let expected = offset <= len && len - offset >= size;
                        let addr = start.wrapping_add(offset);
                        assert_eq!(r.contains(addr, size), expected, "{r:?} {addr} {size}");
                    }
                }
            }
        }
    }

    #[test]
    fn sized_checks_agree_with_the_general_check() {
        let mut stack = [0u8; 32];
        let mut input = [0u8; 3];
        let data = [0u8; 9];
        let mut map = MemoryMap::new(&mut stack, 16);
        map.add_writable(&mut input);
        map.add_readonly(&data);
        let bases = [
            map.stack_top() - 16,
            map.regions()[0].start,
            map.regions()[1].start,
        ];
        for base in bases {
            for delta in -10i64..20 {
                let addr = base.wrapping_add(delta as u64);
                for len in [1, 2, 4, 8] {
                    for access in [Access::Read, Access::Write] {
                        assert_eq!(
                            map.check_sized(addr, len, access),
                            map.check(addr, len, access),
                            "{addr:#x} {len} {access:?}"
                        );
                    }
                }
                // Other lengths are checked as the 8 bytes they access.
                assert_eq!(
                    map.check_sized(addr, 3, Access::Read),
                    map.check(addr, 8, Access::Read)
                );
            }
        }
    }

    #[test]
    fn loads_and_stores_check_every_byte() {
        let mut stack = [0u8; 16];
        let mut input = [1u8, 2, 3, 4];
        let input_addr = input.as_ptr() as u64;
        let mut map = MemoryMap::new(&mut stack, 8);
        map.add_writable(&mut input);
        assert_eq!(map.load(input_addr, 4), Ok(0x0403_0201));
        assert_eq!(
            map.load(input_addr + 1, 4),
            Err(Trap::OutOfBounds {
                addr: input_addr + 1,
                len: 4,
                access: Access::Read
            })
        );
        map.store(input_addr + 2, 2, 0xaabb).unwrap();
        assert_eq!(map.load(input_addr, 4), Ok(0xaabb_0201));
        let top = map.stack_top();
        assert!(map.store(top - 8, 8, 5).is_ok());
        assert!(map.store(top - 9, 8, 5).is_err());
        assert!(map.store(top - 4, 8, 5).is_err());
    }

    #[test]
    fn readonly_regions_reject_writes() {
        let mut stack = [0u8; 8];
        let data = [7u8; 4];
        let addr = data.as_ptr() as u64;
        let mut map = MemoryMap::new(&mut stack, 8);
        map.add_readonly(&data);
        assert_eq!(map.load(addr, 1), Ok(7));
        assert!(map.store(addr, 1, 0).is_err());
        assert!(map.atomic_rmw(addr, 4, AtomicRmw::Add, 1).is_err());
    }
}
