//! The free list of value slots shared by hash maps and LPM tries, with
//! reclamation deferred until no run can still see a slot.
//!
//! A program holds a value's address until its run ends, so a deleted or
//! replaced value's slot goes back to the free list only once every run that
//! was pinned (`crossbeam_epoch::pin`, held by the VM for the whole run) when
//! it was retired has ended.

use super::MapError;
use std::sync::{Arc, Mutex, PoisonError};

/// Collector flushes an allocation tries when no slot is free: the epoch
/// must advance twice before a retired slot can be reused.
const RECLAIM_ROUNDS: usize = 3;

/// Free slot indices.
pub(super) struct SlotPool {
    free: Arc<Mutex<Vec<u32>>>,
}

impl SlotPool {
    /// A pool of slots `0..count`, all free, the lowest handed out first.
    pub(super) fn new(count: usize) -> Result<SlotPool, MapError> {
        let last = u32::try_from(count).map_err(|_| MapError::Alloc { bytes: usize::MAX })?;
        let mut free = Vec::new();
        free.try_reserve_exact(count).map_err(|_| MapError::Alloc {
            bytes: count.saturating_mul(4),
        })?;
        free.extend((0..last).rev());
        Ok(SlotPool {
            free: Arc::new(Mutex::new(free)),
        })
    }

    fn pop(&self) -> Option<u32> {
        self.free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
    }

    /// A free slot, flushing the epoch collector when there is none (never
    /// with the free list locked: deferred functions lock it).
    pub(super) fn alloc(&self) -> Option<u32> {
        for _ in 0..RECLAIM_ROUNDS {
            if let Some(slot) = self.pop() {
                return Some(slot);
            }
            crossbeam_epoch::pin().flush();
        }
        self.pop()
    }

    /// Returns a slot no run can have seen straight to the free list.
    pub(super) fn release_unseen(&self, slot: u32) {
        self.free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(slot);
    }

    /// Returns `slot` to the free list once every run pinned now has ended.
    pub(super) fn retire(&self, slot: u32) {
        let free = Arc::clone(&self.free);
        let guard = crossbeam_epoch::pin();
        guard.defer(move || {
            free.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(slot);
        });
        // Hand the deferred function to the global queue now, so a thread
        // that stops using maps does not keep the slot in its local bag.
        guard.flush();
    }
}
