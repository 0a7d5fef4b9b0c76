//! Longest-prefix-match tries: LPM_TRIE.
//!
//! A key is `struct bpf_lpm_trie_key`: a `u32` prefix length in host byte
//! order, then `key_size - 4` data bytes (network order for addresses), of
//! which only the first `prefixlen` bits count. An element is a prefix: its
//! length and those bits. A lookup finds the longest stored prefix that
//! matches the key's data within the key's own prefix length.
//!
//! The index is one hash table per stored prefix length, from the prefix's
//! bytes (`ceil(len / 8)` of them, bits past the prefix zeroed) to a value
//! slot. A lookup probes the tables from the longest stored length not
//! longer than the key's downward and stops at the first hit: at most one
//! probe per distinct stored length (at most `8 * data size + 1`), never a
//! scan of the elements.
//!
//! Values live in a preallocated value arena, as in hash maps: a replaced
//! or deleted value's slot returns to the free list through
//! `crossbeam_epoch` deferred reclamation, so a run holding its address
//! keeps reading the old value (see the [module documentation](super)).

use super::arena::{round8, ValueArena};
use super::slots::SlotPool;
use super::MapError;
use crate::memory::Region;
use bpfbox_abi::maps::{update, MapDef};
use std::collections::{BTreeMap, HashMap as StdHashMap};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// The most data bytes a key has (the kernel's limit: key sizes 5 to 260).
const MAX_DATA: usize = 256;

/// The bytes an LPM trie of `def` takes: its value slots (`max_entries`
/// plus one per CPU slot, as hash maps) and its index at its fullest.
pub(crate) fn memory(def: &MapDef, cpus: u64) -> u64 {
    let entries = u64::from(def.max_entries);
    let slots = entries.saturating_add(cpus);
    let data = u64::from(def.key_size.saturating_sub(4));
    let stride = round8(u64::from(def.value_size)).max(8);
    // Each element: its boxed prefix with allocator overhead and its bucket
    // (key pointer, slot, control byte) with slack; each length in use: a
    // table and a tree entry.
    let index = entries.saturating_mul(round8(data).saturating_add(64));
    let lengths = data.saturating_mul(8).saturating_add(1).saturating_mul(96);
    slots
        .saturating_mul(stride)
        .saturating_add(index)
        .saturating_add(lengths)
        .saturating_add(slots.saturating_mul(4))
}

/// Bytes that hold `bits` bits.
fn bytes_for(bits: u32) -> usize {
    bits.div_ceil(8) as usize
}

/// Zeroes the bits of `prefix` past `bits` (its last byte's low bits; the
/// caller sized it to `bytes_for(bits)`).
fn mask_tail(prefix: &mut [u8], bits: u32) {
    let partial = bits % 8;
    if partial != 0 {
        if let Some(last) = prefix.last_mut() {
            *last &= 0xff << (8 - partial);
        }
    }
}

#[derive(Default)]
struct Index {
    /// Prefix length to (masked prefix bytes to value slot).
    by_len: BTreeMap<u32, StdHashMap<Box<[u8]>, u32>>,
    /// Elements stored.
    count: usize,
}

impl Index {
    fn get(&self, prefixlen: u32, prefix: &[u8]) -> Option<u32> {
        self.by_len.get(&prefixlen)?.get(prefix).copied()
    }
}

/// A longest-prefix-match trie map.
pub(crate) struct LpmTrie {
    arena: ValueArena,
    index: RwLock<Index>,
    free: SlotPool,
    value_size: usize,
    stride: usize,
    data_size: usize,
    /// `8 * data_size`.
    max_prefixlen: u32,
    max_entries: usize,
}

impl LpmTrie {
    /// A trie for `def` (checked by `Map::create`: key size 5 to 260).
    pub(crate) fn new(def: &MapDef, cpus: usize) -> Result<Self, MapError> {
        let value_size = def.value_size as usize;
        let stride = value_size.next_multiple_of(8).max(8);
        let data_size = (def.key_size as usize).saturating_sub(4).min(MAX_DATA);
        let max_entries = def.max_entries as usize;
        let slots = max_entries.saturating_add(cpus);
        let free = SlotPool::new(slots)?;
        Ok(LpmTrie {
            arena: ValueArena::new(slots.saturating_mul(stride))?,
            index: RwLock::new(Index::default()),
            free,
            value_size,
            stride,
            data_size,
            max_prefixlen: data_size as u32 * 8,
            max_entries,
        })
    }

    fn read_index(&self) -> RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_index(&self) -> RwLockWriteGuard<'_, Index> {
        self.index.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The prefix length and data of a key (the caller checked its size).
    fn split<'k>(&self, key: &'k [u8]) -> (u32, &'k [u8]) {
        let mut len = [0u8; 4];
        let head = key.len().min(4);
        len[..head].copy_from_slice(&key[..head]);
        let data = key.get(4..).unwrap_or(&[]);
        (
            u32::from_ne_bytes(len),
            &data[..data.len().min(self.data_size)],
        )
    }

    /// The element a key names for update and delete: its prefix length
    /// and masked prefix bytes.
    fn element(&self, key: &[u8]) -> Result<(u32, Box<[u8]>), MapError> {
        let (prefixlen, data) = self.split(key);
        if prefixlen > self.max_prefixlen {
            return Err(MapError::PrefixLen {
                prefixlen,
                max: self.max_prefixlen,
            });
        }
        let mut prefix: Box<[u8]> = data
            .get(..bytes_for(prefixlen))
            .ok_or(MapError::KeySize {
                expected: 4 + self.data_size,
                got: key.len(),
            })?
            .into();
        mask_tail(&mut prefix, prefixlen);
        Ok((prefixlen, prefix))
    }

    /// The slot of the longest stored prefix matching `key`.
    fn find(&self, key: &[u8]) -> Option<u32> {
        let (prefixlen, data) = self.split(key);
        if prefixlen > self.max_prefixlen {
            return None;
        }
        let mut buf = [0u8; MAX_DATA];
        let len = bytes_for(prefixlen);
        buf[..len].copy_from_slice(data.get(..len)?);
        let index = self.read_index();
        // Masking in place from the longest length down: each shorter mask
        // only clears more bits.
        for (&bits, table) in index.by_len.range(..=prefixlen).rev() {
            let prefix = &mut buf[..bytes_for(bits)];
            mask_tail(prefix, bits);
            if let Some(&slot) = table.get(&*prefix) {
                return Some(slot);
            }
        }
        None
    }

    fn slot_offset(&self, slot: u32) -> usize {
        slot as usize * self.stride
    }

    fn write_value(&self, slot: u32, value: &[u8]) {
        self.arena.write(
            self.slot_offset(slot),
            &value[..value.len().min(self.value_size)],
        );
    }

    /// Creates or replaces the element `key` names. Flags are already
    /// checked to be `BPF_ANY`, `BPF_NOEXIST` or `BPF_EXIST`.
    pub(crate) fn update(&self, key: &[u8], value: &[u8], flags: u64) -> Result<(), MapError> {
        let (prefixlen, prefix) = self.element(key)?;
        let retired = {
            let mut index = self.write_index();
            let existing = index.get(prefixlen, &prefix);
            match (flags, existing) {
                (update::NOEXIST, Some(_)) => return Err(MapError::Exists),
                (update::EXIST, None) => return Err(MapError::NotFound),
                _ => {}
            }
            match existing {
                Some(old) => match self.free.alloc() {
                    Some(new) => {
                        self.write_value(new, value);
                        if let Some(entry) = index
                            .by_len
                            .get_mut(&prefixlen)
                            .and_then(|t| t.get_mut(&prefix))
                        {
                            *entry = new;
                        }
                        Some(old)
                    }
                    None => {
                        // No slot free: write in place, as hash maps do.
                        self.write_value(old, value);
                        None
                    }
                },
                None => {
                    if index.count >= self.max_entries {
                        return Err(MapError::NoSpace);
                    }
                    let slot = self.free.alloc().ok_or(MapError::NoMemory)?;
                    self.write_value(slot, value);
                    index
                        .by_len
                        .entry(prefixlen)
                        .or_default()
                        .insert(prefix, slot);
                    index.count += 1;
                    None
                }
            }
        };
        if let Some(slot) = retired {
            self.free.retire(slot);
        }
        Ok(())
    }

    /// Deletes the exact prefix `key` names.
    pub(crate) fn delete(&self, key: &[u8]) -> Result<(), MapError> {
        let (prefixlen, prefix) = self.element(key)?;
        let slot = {
            let mut index = self.write_index();
            let table = index.by_len.get_mut(&prefixlen).ok_or(MapError::NotFound)?;
            let slot = table.remove(&prefix).ok_or(MapError::NotFound)?;
            if table.is_empty() {
                index.by_len.remove(&prefixlen);
            }
            index.count -= 1;
            slot
        };
        self.free.retire(slot);
        Ok(())
    }

    /// The host's copy of the value of the longest prefix matching `key`.
    pub(crate) fn lookup(&self, key: &[u8]) -> Option<Vec<u8>> {
        let slot = self.find(key)?;
        Some(self.arena.read_vec(self.slot_offset(slot), self.value_size))
    }

    /// The address of the value of the longest prefix matching `key`. The
    /// caller holds an epoch guard while it uses it.
    pub(crate) fn prog_lookup(&self, key: &[u8]) -> Option<u64> {
        let slot = self.find(key)?;
        Some(self.arena.base() + self.slot_offset(slot) as u64)
    }

    /// Every stored prefix as a key (data past the prefix zeroed): longest
    /// prefixes first, then by data.
    pub(crate) fn keys(&self) -> Vec<Vec<u8>> {
        let index = self.read_index();
        let mut keys = Vec::with_capacity(index.count);
        for (&prefixlen, table) in index.by_len.iter().rev() {
            let mut prefixes: Vec<&Box<[u8]>> = table.keys().collect();
            prefixes.sort_unstable();
            for prefix in prefixes {
                let mut key = Vec::with_capacity(4 + self.data_size);
                key.extend_from_slice(&prefixlen.to_ne_bytes());
                key.extend_from_slice(prefix);
                key.resize(4 + self.data_size, 0);
                keys.push(key);
            }
        }
        keys
    }

    pub(crate) fn region(&self, writable: bool) -> Region {
        self.arena.region(writable)
    }

    /// Reads `len` bytes at a program address (tests).
    #[cfg(test)]
    pub(crate) fn read_at(&self, address: u64, len: usize) -> Vec<u8> {
        self.arena
            .read_vec((address - self.arena.base()) as usize, len)
    }
}

#[cfg(test)]
#[path = "lpm_tests.rs"]
mod tests;
