//! Hash tables: HASH, PERCPU_HASH, LRU_HASH, LRU_PERCPU_HASH and
//! DEVMAP_HASH.
//!
//! Keys map to slots of a preallocated value arena through a
//! `RwLock<HashMap>` (std's SipHash, seeded per process, so hostile keys
//! cannot force collisions). Slots come from a free list; a slot that
//! leaves the index (delete, replacement, LRU eviction) returns to the free
//! list through `crossbeam_epoch` deferred reclamation, only after every run
//! pinned when it left has ended. See the [module documentation](super) for
//! the whole scheme.

use super::arena::{round8, ValueArena};
use super::slots::SlotPool;
use super::MapError;
use crate::memory::Region;
use bpfbox_abi::maps::{update, MapDef, MapType};
use std::collections::HashMap as StdHashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{PoisonError, RwLock};

/// The bytes a hash map of `def` takes, with `slot` bytes per slot.
pub(crate) fn memory(def: &MapDef, cpus: u64, slot: u64) -> u64 {
    let entries = u64::from(def.max_entries);
    let slots = entries.saturating_add(cpus);
    let key = round8(u64::from(def.key_size));
    // The index at its fullest: the boxed key with allocator overhead, and
    // the table's bucket (key pointer, slot, control byte) with its slack.
    let index = entries.saturating_mul(key.saturating_add(64));
    let mut bytes = slots
        .saturating_mul(slot)
        .saturating_add(index)
        .saturating_add(slots.saturating_mul(4));
    if matches!(def.map_type, MapType::LruHash | MapType::LruPercpuHash) {
        // Referenced bits, and each slot's key for eviction.
        bytes = bytes
            .saturating_add(slots.saturating_mul(17))
            .saturating_add(entries.saturating_mul(key.saturating_add(16)));
    }
    bytes
}

struct Index {
    map: StdHashMap<Box<[u8]>, u32>,
    /// LRU maps: the key of each live slot (empty otherwise).
    slot_keys: Vec<Option<Box<[u8]>>>,
    /// LRU maps: the clock hand.
    hand: usize,
}

/// A hash table map (also LRU, per-CPU and devmap hash).
pub(crate) struct HashMap {
    map_type: MapType,
    arena: ValueArena,
    index: RwLock<Index>,
    free: SlotPool,
    /// LRU maps: a referenced bit per slot, set by program lookups.
    referenced: Box<[AtomicBool]>,
    lru: bool,
    /// Per-CPU: replacements write in place.
    percpu: bool,
    value_size: usize,
    stride: usize,
    /// CPU parts per slot (1 unless per-CPU).
    cpus: usize,
    max_entries: usize,
}

impl HashMap {
    pub(crate) fn new(def: &MapDef, cpus: usize) -> Result<Self, MapError> {
        let value_size = def.value_size as usize;
        let stride = value_size.next_multiple_of(8).max(8);
        let lru = matches!(def.map_type, MapType::LruHash | MapType::LruPercpuHash);
        let max_entries = def.max_entries as usize;
        let slots = max_entries.saturating_add(cpus);
        let slot_parts = if def.is_percpu() { cpus } else { 1 };
        let alloc_error = |bytes| MapError::Alloc { bytes };
        // Slot numbers are u32: `Map::create` bounded the memory, and with
        // 8 bytes per slot at least, far fewer slots fit than 2^32.
        let free = SlotPool::new(slots)?;
        let (mut slot_keys, mut referenced) = (Vec::new(), Vec::new());
        if lru {
            slot_keys
                .try_reserve_exact(slots)
                .map_err(|_| alloc_error(slots * 16))?;
            slot_keys.resize_with(slots, || None);
            referenced
                .try_reserve_exact(slots)
                .map_err(|_| alloc_error(slots))?;
            referenced.resize_with(slots, || AtomicBool::new(false));
        }
        Ok(HashMap {
            map_type: def.map_type,
            arena: ValueArena::new(slots.saturating_mul(stride).saturating_mul(slot_parts))?,
            index: RwLock::new(Index {
                map: StdHashMap::new(),
                slot_keys,
                hand: 0,
            }),
            free,
            referenced: referenced.into_boxed_slice(),
            lru,
            percpu: def.is_percpu(),
            value_size,
            stride,
            cpus: slot_parts,
            max_entries,
        })
    }

    fn slot_offset(&self, slot: u32) -> usize {
        slot as usize * self.stride * self.cpus
    }

    fn read_index(&self) -> std::sync::RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_index(&self) -> std::sync::RwLockWriteGuard<'_, Index> {
        self.index.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes a value into `slot`. `cpu` `None`: the host's value (every
    /// CPU's part, padded to 8, for per-CPU maps). `Some(c)`: a program's
    /// value for CPU part `c`; when `fresh`, the other parts are zeroed.
    fn write_value(&self, slot: u32, value: &[u8], cpu: Option<usize>, fresh: bool) {
        let offset = self.slot_offset(slot);
        match cpu {
            Some(c) => {
                let c = if self.cpus > 1 { c } else { 0 };
                if fresh && self.cpus > 1 {
                    self.arena.zero(offset, self.stride * self.cpus);
                }
                self.arena.write(offset + c * self.stride, value);
            }
            None => {
                for (c, part) in value.chunks(self.stride).take(self.cpus).enumerate() {
                    let part = &part[..self.value_size.min(part.len())];
                    self.arena.write(offset + c * self.stride, part);
                }
            }
        }
    }

    /// Evicts an element by a clock sweep: a referenced slot loses its bit
    /// and is passed over once. Returns the evicted slot.
    fn evict(&self, index: &mut Index) -> Option<u32> {
        let slots = index.slot_keys.len();
        for _ in 0..slots.saturating_mul(2) {
            let slot = index.hand;
            index.hand = (slot + 1) % slots;
            if index.slot_keys[slot].is_none()
                || self.referenced[slot].swap(false, Ordering::Relaxed)
            {
                continue;
            }
            let key = index.slot_keys[slot].take()?;
            index.map.remove(&key);
            return u32::try_from(slot).ok();
        }
        None
    }

    /// Creates or replaces; `cpu` as in [`HashMap::write_value`]. Flags are
    /// already checked to be `BPF_ANY`, `BPF_NOEXIST` or `BPF_EXIST`.
    pub(crate) fn update(
        &self,
        key: &[u8],
        value: &[u8],
        flags: u64,
        cpu: Option<usize>,
    ) -> Result<(), MapError> {
        if cpu.is_some() && self.map_type == MapType::DevmapHash {
            return Err(MapError::InvalidOperation {
                map_type: self.map_type,
                operation: "update from a program",
            });
        }
        let retired = {
            let mut index = self.write_index();
            let existing = index.map.get(key).copied();
            match (flags, existing) {
                (update::NOEXIST, Some(_)) => return Err(MapError::Exists),
                (update::EXIST, None) => return Err(MapError::NotFound),
                _ => {}
            }
            if let Some(old) = existing {
                self.replace(&mut index, key, old, value, cpu)
            } else {
                self.insert(&mut index, key, value, cpu)?
            }
        };
        if let Some(slot) = retired {
            self.free.retire(slot);
        }
        Ok(())
    }

    /// Replaces the value of `key`, in slot `old`: in place for per-CPU
    /// maps (as the kernel does) or when no slot is free; otherwise in a new
    /// slot, returning `old` to retire.
    fn replace(
        &self,
        index: &mut Index,
        key: &[u8],
        old: u32,
        value: &[u8],
        cpu: Option<usize>,
    ) -> Option<u32> {
        let new = if self.percpu { None } else { self.free.alloc() };
        let Some(new) = new else {
            self.write_value(old, value, cpu, false);
            if self.lru {
                self.referenced[old as usize].store(true, Ordering::Relaxed);
            }
            return None;
        };
        self.write_value(new, value, cpu, true);
        if let Some(entry) = index.map.get_mut(key) {
            *entry = new;
        }
        if self.lru {
            index.slot_keys[new as usize] = index.slot_keys[old as usize].take();
            self.referenced[new as usize].store(false, Ordering::Relaxed);
        }
        Some(old)
    }

    /// Inserts a new `key`, evicting another element from a full LRU map;
    /// returns the evicted slot to retire.
    fn insert(
        &self,
        index: &mut Index,
        key: &[u8],
        value: &[u8],
        cpu: Option<usize>,
    ) -> Result<Option<u32>, MapError> {
        let full = index.map.len() >= self.max_entries;
        if full && !self.lru {
            return Err(MapError::Full);
        }
        let slot = self.free.alloc().ok_or(MapError::NoMemory)?;
        let evicted = if full {
            match self.evict(index) {
                Some(evicted) => Some(evicted),
                None => {
                    self.free.release_unseen(slot);
                    return Err(MapError::Full);
                }
            }
        } else {
            None
        };
        self.write_value(slot, value, cpu, true);
        index.map.insert(key.into(), slot);
        if self.lru {
            index.slot_keys[slot as usize] = Some(key.into());
            self.referenced[slot as usize].store(false, Ordering::Relaxed);
        }
        Ok(evicted)
    }

    /// Removes `key` from the index; its slot is still to retire.
    fn unlink(index: &mut Index, key: &[u8], lru: bool) -> Result<u32, MapError> {
        let slot = index.map.remove(key).ok_or(MapError::NotFound)?;
        if lru {
            index.slot_keys[slot as usize] = None;
        }
        Ok(slot)
    }

    pub(crate) fn delete(&self, key: &[u8]) -> Result<(), MapError> {
        let slot = Self::unlink(&mut self.write_index(), key, self.lru)?;
        self.free.retire(slot);
        Ok(())
    }

    /// The host's copy of the value in `slot` (per-CPU: all parts, each
    /// padded with zeroes to 8 bytes).
    fn copy(&self, slot: u32) -> Vec<u8> {
        let offset = self.slot_offset(slot);
        if self.cpus == 1 {
            return self.arena.read_vec(offset, self.value_size);
        }
        let mut out = vec![0; self.stride * self.cpus];
        for c in 0..self.cpus {
            let at = c * self.stride;
            self.arena
                .read(offset + at, &mut out[at..at + self.value_size]);
        }
        out
    }

    /// The host's copy of the value under `key`. Does not mark LRU
    /// elements, as the kernel's system-call lookup does not.
    pub(crate) fn lookup(&self, key: &[u8]) -> Option<Vec<u8>> {
        let index = self.read_index();
        let slot = *index.map.get(key)?;
        Some(self.copy(slot))
    }

    /// Removes the element under `key` and returns its value, atomically.
    pub(crate) fn take(&self, key: &[u8]) -> Result<Vec<u8>, MapError> {
        let (value, slot) = {
            let mut index = self.write_index();
            let slot = Self::unlink(&mut index, key, self.lru)?;
            (self.copy(slot), slot)
        };
        self.free.retire(slot);
        Ok(value)
    }

    pub(crate) fn keys(&self) -> Vec<Vec<u8>> {
        self.read_index().map.keys().map(|k| k.to_vec()).collect()
    }

    pub(crate) fn region(&self, writable: bool) -> Region {
        // Programs only read DEVMAP_HASH values, as in the kernel.
        self.arena
            .region(writable && self.map_type != MapType::DevmapHash)
    }

    pub(crate) fn prog_lookup(&self, key: &[u8], cpu: usize) -> Option<u64> {
        let cpu = if self.cpus > 1 { cpu } else { 0 };
        if cpu >= self.cpus {
            return None;
        }
        let slot = *self.read_index().map.get(key)?;
        if self.lru {
            self.referenced[slot as usize].store(true, Ordering::Relaxed);
        }
        let offset = self.slot_offset(slot) + cpu * self.stride;
        Some(self.arena.base() + offset as u64)
    }
}

#[cfg(test)]
#[path = "hash_tests.rs"]
mod tests;
