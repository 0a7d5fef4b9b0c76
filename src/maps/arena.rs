//! The memory behind map values: one zeroed, 8-byte aligned allocation per
//! map that never moves, accessed only through atomic words; and the striped
//! sequence locks that make host reads of values updated in place consistent.

use super::MapError;
use crate::memory::Region;
use std::sync::atomic::{fence, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Rounds `n` up to a multiple of 8 (saturating, for size estimates).
pub(crate) fn round8(n: u64) -> u64 {
    n.saturating_add(7) & !7
}

/// Zeroed memory of a fixed size, 8-byte aligned, never moved or freed while
/// it lives. Programs reach it through its [`Region`]; the host reads and
/// writes it through its atomic words, so concurrent access from programs
/// (relaxed atomics of their access size, see [`crate::memory`]) is defined.
pub(crate) struct ValueArena {
    words: Box<[AtomicU64]>,
}

impl ValueArena {
    /// An arena of `bytes` bytes (rounded up to a multiple of 8), zeroed.
    ///
    /// # Errors
    /// [`MapError::Alloc`] when the allocator refuses.
    pub(crate) fn new(bytes: usize) -> Result<Self, MapError> {
        let count = bytes.div_ceil(8);
        if count == 0 {
            return Ok(ValueArena {
                words: Box::new([]),
            });
        }
        let layout =
            std::alloc::Layout::array::<AtomicU64>(count).map_err(|_| MapError::Alloc { bytes })?;
        // SAFETY: `layout` has a non-zero size (count > 0 and AtomicU64 is 8
        // bytes). `alloc_zeroed` returns either null (handled below) or a
        // block of `layout` that we own; all-zero bytes are a valid
        // `AtomicU64` (its documented representation is that of `u64`), so
        // the block holds `count` initialised elements, and a boxed slice
        // built from it is freed by `Box` with the same layout
        // (`Layout::array::<AtomicU64>(count)`), as `Box<[T]>` requires.
        // Zeroed allocation leaves untouched pages to the OS, so a large
        // preallocated map costs memory only as it fills.
        let words = unsafe {
            let ptr = std::alloc::alloc_zeroed(layout).cast::<AtomicU64>();
            if ptr.is_null() {
                return Err(MapError::Alloc { bytes });
            }
            Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, count))
        };
        Ok(ValueArena { words })
    }

    /// Size in bytes.
    pub(crate) fn len(&self) -> usize {
        self.words.len() * 8
    }

    /// Host address of the first byte.
    pub(crate) fn base(&self) -> u64 {
        self.words.as_ptr() as u64
    }

    /// The region programs see.
    pub(crate) fn region(&self, writable: bool) -> Region {
        Region {
            start: self.base(),
            len: self.len() as u64,
            writable,
            shared: true,
        }
    }

    /// Copies `out.len()` bytes starting at byte `offset` into `out`. Bytes
    /// past the end of the arena read as zero (callers stay inside it).
    pub(crate) fn read(&self, offset: usize, out: &mut [u8]) {
        for (i, byte) in out.iter_mut().enumerate() {
            let at = offset.saturating_add(i);
            *byte = self.word(at / 8).map_or(0, |w| w[at % 8]);
        }
    }

    /// Reads `len` bytes at `offset` into a new vector.
    pub(crate) fn read_vec(&self, offset: usize, len: usize) -> Vec<u8> {
        let mut out = vec![0; len];
        self.read(offset, &mut out);
        out
    }

    /// The bytes of one word (in memory order), loaded relaxed.
    fn word(&self, index: usize) -> Option<[u8; 8]> {
        self.words
            .get(index)
            .map(|w| w.load(Ordering::Relaxed).to_ne_bytes())
    }

    /// Writes `data` at `offset`, an 8-byte aligned offset, and zeroes the
    /// rest of its last word (padding that belongs to the same slot). Writes
    /// past the end of the arena are dropped (callers stay inside it).
    pub(crate) fn write(&self, offset: usize, data: &[u8]) {
        debug_assert_eq!(offset % 8, 0);
        let first = offset / 8;
        for (i, chunk) in data.chunks(8).enumerate() {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            if let Some(cell) = first.checked_add(i).and_then(|at| self.words.get(at)) {
                cell.store(u64::from_ne_bytes(word), Ordering::Relaxed);
            }
        }
    }

    /// Zeroes `len` bytes (rounded up to whole words) at the 8-byte aligned
    /// `offset`.
    pub(crate) fn zero(&self, offset: usize, len: usize) {
        debug_assert_eq!(offset % 8, 0);
        let first = offset / 8;
        let end = first.saturating_add(len.div_ceil(8)).min(self.words.len());
        for cell in self.words.get(first..end).unwrap_or(&[]) {
            cell.store(0, Ordering::Relaxed);
        }
    }

    /// Writes one little-endian `u32` at a 4-byte aligned `offset`, keeping
    /// the other half of its word (ring buffer headers).
    pub(crate) fn write_u32(&self, offset: usize, value: u32) {
        debug_assert_eq!(offset % 4, 0);
        if let Some(cell) = self.words.get(offset / 8) {
            let mut bytes = cell.load(Ordering::Relaxed).to_ne_bytes();
            let at = offset % 8;
            bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
            cell.store(u64::from_ne_bytes(bytes), Ordering::Relaxed);
        }
    }
}

/// How many stripes a [`Stripes`] has.
const STRIPES: usize = 32;
/// Optimistic read attempts before a reader takes the stripe's lock.
const OPTIMISTIC_READS: usize = 8;

/// One lock and sequence counter, on its own cache line.
#[repr(align(64))]
struct Stripe {
    lock: Mutex<()>,
    seq: AtomicU64,
}

/// Striped sequence locks over the slots of an arena updated in place:
/// writers (host and helper updates) serialise per stripe and make the
/// stripe's counter odd while they write; host readers copy without locking
/// and retry when the counter moved, falling back to the lock after a few
/// tries. Program loads and stores bypass this, racing as in the kernel.
pub(crate) struct Stripes {
    stripes: Box<[Stripe]>,
}

/// A writer's hold on a stripe; the counter is even again when it drops.
pub(crate) struct WriteGuard<'a> {
    stripe: &'a Stripe,
    _lock: MutexGuard<'a, ()>,
}

impl Drop for WriteGuard<'_> {
    fn drop(&mut self) {
        let seq = self.stripe.seq.load(Ordering::Relaxed);
        self.stripe
            .seq
            .store(seq.wrapping_add(1), Ordering::Release);
    }
}

impl Stripes {
    /// Bytes a `Stripes` takes.
    pub(crate) const BYTES: u64 = (STRIPES * std::mem::size_of::<Stripe>()) as u64;

    pub(crate) fn new() -> Self {
        Stripes {
            stripes: (0..STRIPES)
                .map(|_| Stripe {
                    lock: Mutex::new(()),
                    seq: AtomicU64::new(0),
                })
                .collect(),
        }
    }

    fn stripe(&self, slot: usize) -> &Stripe {
        &self.stripes[slot % STRIPES]
    }

    /// Locks the stripe of `slot` for an in-place write.
    pub(crate) fn write(&self, slot: usize) -> WriteGuard<'_> {
        let stripe = self.stripe(slot);
        let lock = stripe.lock.lock().unwrap_or_else(PoisonError::into_inner);
        let seq = stripe.seq.load(Ordering::Relaxed);
        stripe.seq.store(seq.wrapping_add(1), Ordering::Relaxed);
        fence(Ordering::Release);
        WriteGuard {
            stripe,
            _lock: lock,
        }
    }

    /// Runs `read` until it saw no concurrent write to the stripe of `slot`
    /// (`read` only loads, through atomics, so a torn attempt is harmless
    /// and discarded).
    pub(crate) fn read<T>(&self, slot: usize, mut read: impl FnMut() -> T) -> T {
        let stripe = self.stripe(slot);
        for _ in 0..OPTIMISTIC_READS {
            let before = stripe.seq.load(Ordering::Acquire);
            if before % 2 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let value = read();
            fence(Ordering::Acquire);
            if stripe.seq.load(Ordering::Relaxed) == before {
                return value;
            }
        }
        let _lock = stripe.lock.lock().unwrap_or_else(PoisonError::into_inner);
        read()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arena_is_zeroed_aligned_and_word_addressed() {
        let arena = ValueArena::new(20).unwrap();
        assert_eq!(arena.len(), 24);
        assert_eq!(arena.base() % 8, 0);
        assert_eq!(arena.read_vec(0, 24), vec![0; 24]);
        arena.write(8, &[1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert_eq!(arena.read_vec(6, 12), [0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0]);
        // The rest of the last word is zeroed (it is the slot's padding).
        arena.write(16, &[0xff; 8]);
        arena.write(16, &[7]);
        assert_eq!(arena.read_vec(16, 8), [7, 0, 0, 0, 0, 0, 0, 0]);
        arena.write_u32(20, 0xaabb_ccdd);
        assert_eq!(arena.read_vec(16, 8), [7, 0, 0, 0, 0xdd, 0xcc, 0xbb, 0xaa]);
        arena.zero(8, 9);
        assert_eq!(arena.read_vec(8, 16), vec![0; 16]);
        // Out of range reads are zero, writes are dropped.
        arena.write(24, &[1]);
        assert_eq!(arena.read_vec(22, 4), [0, 0, 0, 0]);
        let region = arena.region(false);
        assert_eq!(
            (region.len, region.writable, region.shared),
            (24, false, true)
        );
    }

    #[test]
    fn empty_arena() {
        let arena = ValueArena::new(0).unwrap();
        assert_eq!(arena.len(), 0);
        assert_eq!(arena.read_vec(0, 2), [0, 0]);
    }

    #[test]
    fn seqlock_readers_never_see_torn_values() {
        let arena = std::sync::Arc::new(ValueArena::new(16).unwrap());
        let stripes = std::sync::Arc::new(Stripes::new());
        let writer = {
            let (arena, stripes) = (arena.clone(), stripes.clone());
            std::thread::spawn(move || {
                for i in 0..20_000u64 {
                    let _guard = stripes.write(0);
                    arena.write(0, &[i.to_le_bytes(), i.to_le_bytes()].concat());
                }
            })
        };
        for _ in 0..20_000 {
            let bytes = stripes.read(0, || arena.read_vec(0, 16));
            assert_eq!(bytes[..8], bytes[8..]);
        }
        writer.join().unwrap();
        assert_eq!(arena.read_vec(0, 8), 19_999u64.to_le_bytes());
    }
}
