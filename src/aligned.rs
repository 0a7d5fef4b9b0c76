//! A writable, 8-byte-aligned copy of a run's input memory.
//!
//! eBPF programs read and write their input with accesses of up to 8 bytes,
//! and atomics fault when their address is not aligned to their size
//! ([`crate::Trap::MisalignedAtomic`]). Whether such a program works must not
//! depend on where the allocator happened to put a `Vec<u8>`, so the command
//! line tools (and tests that run `.data` files) copy the input into this
//! buffer, whose first byte sits on an 8-byte boundary. It is built without
//! `unsafe`: it over-allocates by 7 bytes and starts at the first aligned
//! address inside the allocation.

/// Alignment of the first byte of an [`AlignedMemory`].
pub const MEMORY_ALIGN: usize = 8;

/// Bytes whose first byte is [`MEMORY_ALIGN`]-aligned.
///
/// ```
/// let mut memory = bpfbox::AlignedMemory::copy_from(&[1, 2, 3]);
/// assert_eq!(memory.as_mut_slice(), &mut [1, 2, 3]);
/// assert_eq!(memory.as_slice().as_ptr() as usize % bpfbox::MEMORY_ALIGN, 0);
/// ```
#[derive(Clone, Debug)]
pub struct AlignedMemory {
    buffer: Vec<u8>,
    start: usize,
    len: usize,
}

impl AlignedMemory {
    /// An aligned copy of `bytes`.
    pub fn copy_from(bytes: &[u8]) -> Self {
        // A slice is at most isize::MAX bytes long, so this cannot overflow.
        let mut buffer = vec![0u8; bytes.len() + MEMORY_ALIGN - 1];
        let misalignment = buffer.as_ptr() as usize % MEMORY_ALIGN;
        let start = (MEMORY_ALIGN - misalignment) % MEMORY_ALIGN;
        buffer[start..start + bytes.len()].copy_from_slice(bytes);
        AlignedMemory {
            buffer,
            start,
            len: bytes.len(),
        }
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.buffer[self.start..self.start + self.len]
    }

    /// The bytes, writable: pass this to [`crate::Vm::run`].
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.buffer[self.start..self.start + self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_length_is_aligned_and_copied() {
        for len in 0..40u8 {
            let bytes: Vec<u8> = (0..len).collect();
            let mut memory = AlignedMemory::copy_from(&bytes);
            assert_eq!(memory.as_slice(), &bytes[..]);
            assert_eq!(memory.as_mut_slice().as_ptr() as usize % MEMORY_ALIGN, 0);
        }
    }
}
