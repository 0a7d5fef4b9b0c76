//! Maps of maps: ARRAY_OF_MAPS and HASH_OF_MAPS, whose values are maps.
//!
//! An outer map is created with an inner map template
//! ([`Map::create_of_maps`]); only maps of the template's shape may be
//! stored (the kernel's rule: same type, key size, value size and flags, and
//! for arrays the same `max_entries`). Maps of maps cannot be inner maps.
//!
//! The host stores maps with [`Map::set_inner`] and reads them with
//! [`Map::inner`], or, as through the kernel's system calls, with
//! [`Map::update`] and [`Map::lookup`] on 4-byte values: the little-endian
//! [`Map::id`] of the inner map.
//!
//! Programs only look elements up: the helper returns the inner map's
//! handle ([`crate::helpers::map_handle`]), which the run resolves with
//! [`Map::resolve_inner`]. Programs cannot update or delete elements (the
//! kernel's verifier refuses those calls; here they fail with `EINVAL`).
//!
//! An outer map holds a clone of each inner map it stores. A removed or
//! replaced inner map stays resolvable and alive until every run pinned
//! when it left has ended (`crossbeam_epoch` deferred reclamation), as the
//! kernel keeps it until an RCU grace period has passed.

use super::arena::round8;
use super::{check_update_flags, registry, Map, MapError, MapOptions, Storage};
use crate::helpers::{map_handle, MAP_HANDLE_TAG};
use bpfbox_abi::maps::{update, MapDef, MapType};
use std::collections::HashMap as StdHashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// The bytes a map of maps of `def` takes at its fullest (its inner maps
/// count on their own).
pub(crate) fn memory(def: &MapDef) -> u64 {
    let entries = u64::from(def.max_entries);
    // The by-id index: a bucket with the inner map and its count.
    let by_id = entries.saturating_mul(48);
    let elements = if def.map_type == MapType::ArrayOfMaps {
        entries.saturating_mul(8)
    } else {
        // The boxed key with allocator overhead and the bucket with slack.
        entries.saturating_mul(round8(u64::from(def.key_size)).saturating_add(64))
    };
    elements.saturating_add(by_id)
}

/// Whether `inner` has the shape `template` fixes (the kernel's
/// `map_meta_equal`: arrays must also agree on `max_entries`).
fn same_shape(template: &MapDef, inner: &MapDef) -> bool {
    template.map_type == inner.map_type
        && template.key_size == inner.key_size
        && template.value_size == inner.value_size
        && template.flags == inner.flags
        && (!matches!(template.map_type, MapType::Array | MapType::PercpuArray)
            || template.max_entries == inner.max_entries)
}

/// Inner maps removed from an outer map but maybe still used by runs, by
/// id, with how many removals are pending for each.
type Retired = Arc<Mutex<StdHashMap<u32, (Map, usize)>>>;

fn lock_retired(retired: &Retired) -> MutexGuard<'_, StdHashMap<u32, (Map, usize)>> {
    retired.lock().unwrap_or_else(PoisonError::into_inner)
}

#[derive(Default)]
struct State {
    /// ARRAY_OF_MAPS: the elements (`max_entries` of them).
    slots: Vec<Option<Map>>,
    /// HASH_OF_MAPS: the elements.
    table: StdHashMap<Box<[u8]>, Map>,
    /// Every map stored, by id, with how many elements hold it.
    by_id: StdHashMap<u32, (Map, usize)>,
}

impl State {
    fn hold(&mut self, map: &Map) {
        self.by_id
            .entry(map.id())
            .or_insert_with(|| (map.clone(), 0))
            .1 += 1;
    }

    /// Forgets one element holding `map`, which the caller still holds.
    fn release(&mut self, map: &Map) {
        if let Some(entry) = self.by_id.get_mut(&map.id()) {
            entry.1 -= 1;
            if entry.1 == 0 {
                self.by_id.remove(&map.id());
            }
        }
    }
}

pub(crate) struct OfMaps {
    template: MapDef,
    array: bool,
    max_entries: u32,
    state: RwLock<State>,
    retired: Retired,
}

impl OfMaps {
    fn new(def: &MapDef, template: MapDef) -> Result<Self, MapError> {
        let array = def.map_type == MapType::ArrayOfMaps;
        let mut state = State::default();
        if array {
            let entries = def.max_entries as usize;
            state
                .slots
                .try_reserve_exact(entries)
                .map_err(|_| MapError::Alloc {
                    bytes: entries.saturating_mul(8),
                })?;
            state.slots.resize_with(entries, || None);
        }
        Ok(OfMaps {
            template,
            array,
            max_entries: def.max_entries,
            state: RwLock::new(state),
            retired: Arc::default(),
        })
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The array index a key names (4 bytes, checked by the caller).
    fn index(key: &[u8]) -> u32 {
        let mut bytes = [0u8; 4];
        let n = key.len().min(4);
        bytes[..n].copy_from_slice(&key[..n]);
        u32::from_le_bytes(bytes)
    }

    fn get(&self, key: &[u8]) -> Option<Map> {
        let state = self.read();
        if self.array {
            state.slots.get(Self::index(key) as usize)?.clone()
        } else {
            state.table.get(key).cloned()
        }
    }

    /// Stores `inner` under `key` (flags already checked to be `BPF_ANY`,
    /// `BPF_NOEXIST` or `BPF_EXIST`).
    fn set(&self, key: &[u8], inner: Map, flags: u64) -> Result<(), MapError> {
        if !same_shape(&self.template, inner.def()) {
            return Err(MapError::InnerMapMismatch {
                expected: self.template,
                got: *inner.def(),
            });
        }
        let mut state = self.write();
        let old = if self.array {
            // The kernel takes only BPF_ANY for fd arrays.
            if flags != update::ANY {
                return Err(MapError::Flags(flags));
            }
            let index = Self::index(key);
            if index >= self.max_entries {
                return Err(MapError::IndexOutOfRange {
                    index,
                    max_entries: self.max_entries,
                });
            }
            state.hold(&inner);
            state
                .slots
                .get_mut(index as usize)
                .and_then(|slot| slot.replace(inner))
        } else {
            let exists = state.table.contains_key(key);
            match (flags, exists) {
                (update::NOEXIST, true) => return Err(MapError::Exists),
                (update::EXIST, false) => return Err(MapError::NotFound),
                (_, false) if state.table.len() >= self.max_entries as usize => {
                    return Err(MapError::Full)
                }
                _ => {}
            }
            state.hold(&inner);
            state.table.insert(key.into(), inner)
        };
        if let Some(old) = old {
            state.release(&old);
            self.retire(old);
        }
        drop(state);
        self.flush_retired();
        Ok(())
    }

    /// Removes the element under `key`.
    fn remove(&self, key: &[u8]) -> Result<(), MapError> {
        let mut state = self.write();
        let old = if self.array {
            let index = Self::index(key);
            if index >= self.max_entries {
                return Err(MapError::IndexOutOfRange {
                    index,
                    max_entries: self.max_entries,
                });
            }
            state.slots.get_mut(index as usize).and_then(Option::take)
        } else {
            state.table.remove(key)
        };
        let old = old.ok_or(MapError::NotFound)?;
        state.release(&old);
        self.retire(old);
        drop(state);
        self.flush_retired();
        Ok(())
    }

    /// Moves a removed inner map to the retired set, then (deferred until
    /// every run pinned now has ended) out of it. Called with the state
    /// locked, so a run resolving the map finds it in one or the other.
    fn retire(&self, old: Map) {
        let id = old.id();
        lock_retired(&self.retired)
            .entry(id)
            .or_insert_with(|| (old, 0))
            .1 += 1;
        let retired = Arc::clone(&self.retired);
        crossbeam_epoch::pin().defer(move || {
            let dropped = {
                let mut retired = lock_retired(&retired);
                match retired.get_mut(&id) {
                    Some(entry) if entry.1 > 1 => {
                        entry.1 -= 1;
                        None
                    }
                    _ => retired.remove(&id),
                }
            };
            // The inner map may drop here, outside the lock.
            drop(dropped);
        });
    }

    /// Hands deferred retirements to the global queue, so a thread that
    /// stops using maps does not keep inner maps alive in its local bag.
    fn flush_retired(&self) {
        crossbeam_epoch::pin().flush();
    }

    fn keys(&self) -> Vec<Vec<u8>> {
        self.read().table.keys().map(|k| k.to_vec()).collect()
    }

    fn resolve(&self, id: u32) -> Option<Map> {
        if let Some((map, _)) = self.read().by_id.get(&id) {
            return Some(map.clone());
        }
        lock_retired(&self.retired)
            .get(&id)
            .map(|(map, _)| map.clone())
    }
}

impl Map {
    /// Creates an ARRAY_OF_MAPS or HASH_OF_MAPS whose elements are maps
    /// shaped like `inner_template` (its type, key size, value size and
    /// flags, and for arrays its `max_entries`). Only the template's
    /// definition is kept, as the kernel keeps only the inner map's
    /// metadata: the template need not outlive the outer map, nor be stored
    /// in it.
    ///
    /// # Errors
    /// As [`Map::create`]; [`MapError::InvalidOperation`] for other map
    /// types, [`MapError::InnerMapTemplate`] when the template is itself a
    /// map of maps.
    pub fn create_of_maps(
        name: &str,
        def: MapDef,
        inner_template: &Map,
        options: &MapOptions,
    ) -> Result<Map, MapError> {
        if !matches!(def.map_type, MapType::ArrayOfMaps | MapType::HashOfMaps) {
            return Err(MapError::InvalidOperation {
                map_type: def.map_type,
                operation: "creating with an inner map template",
            });
        }
        let template = *inner_template.def();
        if matches!(
            template.map_type,
            MapType::ArrayOfMaps | MapType::HashOfMaps
        ) {
            return Err(MapError::InnerMapTemplate(
                "maps of maps cannot be inner maps",
            ));
        }
        Map::with_storage(name, def, options, || {
            Ok(Storage::OfMaps(OfMaps::new(&def, template)?))
        })
    }

    /// The definition inner maps must match, for maps of maps.
    pub fn inner_template(&self) -> Option<&MapDef> {
        match &self.inner.storage {
            Storage::OfMaps(o) => Some(&o.template),
            _ => None,
        }
    }

    fn of_maps(&self, operation: &'static str) -> Result<&OfMaps, MapError> {
        match &self.inner.storage {
            Storage::OfMaps(o) => Ok(o),
            _ => Err(self.invalid(operation)),
        }
    }

    /// Stores `inner` under `key` in a map of maps. `flags` as for
    /// [`Map::update`], except that arrays of maps take only `BPF_ANY` (as
    /// in the kernel).
    ///
    /// # Errors
    /// [`MapError::KeySize`], [`MapError::Flags`],
    /// [`MapError::InnerMapMismatch`] when `inner` does not match the
    /// template, [`MapError::Exists`], [`MapError::NotFound`],
    /// [`MapError::Full`], [`MapError::IndexOutOfRange`],
    /// [`MapError::Permission`], [`MapError::InvalidOperation`] for other
    /// map types.
    pub fn set_inner(&self, key: &[u8], inner: &Map, flags: u64) -> Result<(), MapError> {
        self.host_write("update")?;
        let of_maps = self.of_maps("storing an inner map")?;
        self.check_key(key)?;
        check_update_flags(flags)?;
        of_maps.set(key, inner.clone(), flags)
    }

    /// The map stored under `key` in a map of maps, `None` if there is none
    /// (or the index is out of range).
    ///
    /// # Errors
    /// [`MapError::KeySize`], [`MapError::Permission`],
    /// [`MapError::InvalidOperation`] for other map types.
    pub fn inner(&self, key: &[u8]) -> Result<Option<Map>, MapError> {
        self.host_read("lookup")?;
        let of_maps = self.of_maps("reading an inner map")?;
        self.check_key(key)?;
        Ok(of_maps.get(key))
    }

    /// The inner map a program's map handle stands for, if it is one of
    /// the maps this map of maps holds, or held until recently (a removed
    /// inner map stays resolvable while any run pinned before its removal
    /// lasts). `None` for other maps.
    // Called by `HelperContext::map` (src/helpers) once wired.
    #[allow(dead_code)]
    pub(crate) fn resolve_inner(&self, handle: u64) -> Option<Map> {
        let Storage::OfMaps(of_maps) = &self.inner.storage else {
            return None;
        };
        if handle & !u64::from(u32::MAX) != MAP_HANDLE_TAG {
            return None;
        }
        of_maps.resolve(handle as u32)
    }

    /// `bpf_map_lookup_elem` on a map of maps: the inner map itself (whose
    /// [`crate::helpers::map_handle`] the helper returns), `None` for a
    /// missing element, a wrong key size or another map type.
    // Called by the `map_lookup_elem` helper (src/helpers) once wired.
    #[allow(dead_code)]
    pub(crate) fn prog_lookup_inner(&self, key: &[u8]) -> Option<Map> {
        let Storage::OfMaps(of_maps) = &self.inner.storage else {
            return None;
        };
        if key.len() != self.inner.def.key_size as usize {
            return None;
        }
        of_maps.get(key)
    }
}

/// Host lookup: the inner map's id, little-endian, as the kernel returns
/// the id to user space.
pub(super) fn lookup(of_maps: &OfMaps, key: &[u8]) -> Option<Vec<u8>> {
    of_maps.get(key).map(|m| m.id().to_le_bytes().to_vec())
}

/// Host update with a 4-byte little-endian map id as the value.
pub(super) fn update(
    of_maps: &OfMaps,
    key: &[u8],
    value: &[u8],
    flags: u64,
) -> Result<(), MapError> {
    let id = OfMaps::index(value);
    let inner = registry::get(id).ok_or(MapError::NoSuchMap(id))?;
    of_maps.set(key, inner, flags)
}

pub(super) fn delete(of_maps: &OfMaps, key: &[u8]) -> Result<(), MapError> {
    of_maps.remove(key)
}

pub(super) fn keys(of_maps: &OfMaps) -> Vec<Vec<u8>> {
    of_maps.keys()
}

/// Program lookup: the inner map's handle.
pub(super) fn prog_lookup(of_maps: &OfMaps, key: &[u8]) -> Option<u64> {
    of_maps.get(key).map(|m| map_handle(&m))
}

#[cfg(test)]
#[path = "of_maps_tests.rs"]
mod tests;
