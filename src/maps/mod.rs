//! Maps: memory shared between programs, and between programs and the host,
//! with the kernel's semantics.
//!
//! A [`Map`] is created from a [`MapDef`] ([`Map::create`]), which is checked
//! as the kernel checks it and against a memory limit ([`MapOptions`]) before
//! anything is allocated. Clone a `Map` to hand it to several programs or
//! threads; it is `Send + Sync`.
//!
//! # Types
//! ARRAY, PERCPU_ARRAY, HASH, PERCPU_HASH, LRU_HASH, LRU_PERCPU_HASH, QUEUE,
//! STACK, RINGBUF, PERF_EVENT_ARRAY and LPM_TRIE (longest-prefix match),
//! plus DEVMAP, DEVMAP_HASH, CPUMAP and XSKMAP as plain storage of their 4-
//! or 8-byte values (redirect targets). ARRAY_OF_MAPS and HASH_OF_MAPS hold
//! other maps and are created with [`Map::create_of_maps`], from an inner
//! map template. Creating any other type fails with
//! [`MapError::Unsupported`].
//!
//! # Values
//! Values live in one preallocated, zeroed allocation per map (like the
//! kernel's default preallocation), 8-byte aligned, which never moves while
//! the map lives: slot `i` of a map is at `i * slot_size`, with `slot_size =
//! round_up(value_size, 8)`, times the number of CPU slots for per-CPU maps
//! (CPU `c` at `c * round_up(value_size, 8)` inside the slot). Programs get
//! host addresses into it (the map's regions); the host reads and writes it
//! through atomic words, so programs and host threads racing on a value race
//! as in the kernel without undefined behaviour. The VM checks accesses
//! against the whole allocation, not the element a pointer came from (there
//! is no verifier to bound pointer arithmetic), so a program can reach any
//! element of a map it was given, but never memory outside it.
//!
//! # Concurrency
//! - Host operations are linearizable. Arrays update in place under striped
//!   sequence locks, and host reads of them are lock-free (optimistic, with a
//!   lock as fallback). Hash maps, LPM tries and maps of maps keep their
//!   index under a [`std::sync::RwLock`]: lookups take the read lock, so
//!   they are not lock-free yet.
//! - Replacing a HASH, LRU_HASH or LPM_TRIE element writes a new slot and
//!   retires the old one, as the kernel's preallocated hash tables do, so a
//!   program that holds the old pointer keeps seeing the old value. Per-CPU
//!   hash values and array values are updated in place, as in the kernel.
//! - A retired slot (deleted, replaced or evicted) is reused only after every
//!   run that could hold its address has ended: it goes back to the free list
//!   through `crossbeam_epoch` deferred reclamation, and the runtime pins an
//!   epoch guard for the whole of every run that uses maps. Callers of the
//!   program-side API (`prog_*`) must hold such a guard while they use the
//!   addresses it returns. Hash maps allocate `max_entries + cpus` slots, so
//!   pending reclamation rarely starves an insert; when no slot is free the
//!   insert flushes the collector a few times and then fails with `ENOMEM`
//!   (a replacement then writes in place instead).
//! - LRU maps evict with a clock (second-chance) sweep over their slots,
//!   guided by a per-slot referenced bit that program lookups set without
//!   taking the write lock.
//!
//! # Memory
//! [`Map::memory_size`] is what a map may take at most: its value memory
//! exactly, its index at its fullest (estimated). [`Map::create`] refuses a
//! definition whose size exceeds [`MapOptions::memory_limit`], whatever its
//! `max_entries`, and [`Map::memory_needed`] lets an embedder sum the maps
//! of a program before creating any.
//!
//! [`MapDef`]: bpfbox_abi::MapDef

mod arena;
mod array;
mod def;
mod error;
mod hash;
mod lpm;
mod of_maps;
mod perf;
mod prog;
mod prog_array;
mod queue;
mod registry;
mod ringbuf;
mod slots;
pub mod typed;

use array::ArrayMap;
use bpfbox_abi::maps::{flags as def_flags, update, MapDef, MapType};
pub use error::MapError;
use hash::HashMap as HashTable;
use lpm::LpmTrie;
use of_maps::OfMaps;
use perf::PerfMap;
pub use perf::{PerfEvent, PERF_BUFFER_BYTES};
use prog_array::ProgArray;
use queue::QueueMap;
use ringbuf::RingBuf;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
pub use typed::{MapKey, MapValue, TypedMap};

/// How maps are created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapOptions {
    /// CPU slots of per-CPU maps (each run uses one). Default: the machine's
    /// available parallelism.
    pub cpus: usize,
    /// Most bytes one map may take. Default 256 MiB.
    pub memory_limit: usize,
}

/// The default [`MapOptions::memory_limit`]: 256 MiB.
pub const DEFAULT_MEMORY_LIMIT: usize = 256 << 20;

impl Default for MapOptions {
    fn default() -> Self {
        MapOptions {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_limit: DEFAULT_MEMORY_LIMIT,
        }
    }
}

/// A map, shared: clone it to give it to several programs or threads.
#[derive(Clone)]
pub struct Map {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    def: MapDef,
    id: u32,
    cpus: usize,
    memory_size: usize,
    frozen: AtomicBool,
    storage: Storage,
}

enum Storage {
    Array(ArrayMap),
    Hash(HashTable),
    Queue(QueueMap),
    Ringbuf(RingBuf),
    Perf(PerfMap),
    Lpm(LpmTrie),
    OfMaps(OfMaps),
    ProgArray(ProgArray),
}

impl fmt::Debug for Map {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Map")
            .field("name", &self.inner.name)
            .field("id", &self.inner.id)
            .field("def", &self.inner.def)
            .field("cpus", &self.inner.cpus)
            .finish_non_exhaustive()
    }
}

/// The keys of a map ([`Map::key_iter`]).
#[derive(Clone, Debug)]
pub struct Keys {
    inner: KeysInner,
}

#[derive(Clone, Debug)]
enum KeysInner {
    Indices(std::ops::Range<u32>),
    Listed(std::vec::IntoIter<Vec<u8>>),
}

impl Iterator for Keys {
    type Item = Vec<u8>;

    fn next(&mut self) -> Option<Vec<u8>> {
        match &mut self.inner {
            KeysInner::Indices(range) => range.next().map(|i| i.to_le_bytes().to_vec()),
            KeysInner::Listed(keys) => keys.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.inner {
            KeysInner::Indices(range) => range.size_hint(),
            KeysInner::Listed(keys) => keys.size_hint(),
        }
    }
}

impl ExactSizeIterator for Keys {}

/// The next map id: process-unique (until 2^32 maps were created), never 0.
fn next_id() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    loop {
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        if id != 0 {
            return id;
        }
    }
}

impl Map {
    /// Creates a map named `name` (the name is only for display).
    ///
    /// # Errors
    /// [`MapError::Def`] for a definition the kernel would refuse,
    /// [`MapError::Unsupported`] for a type bpfbox does not implement,
    /// [`MapError::NoCpus`], [`MapError::MemoryLimit`] when it would take
    /// more than `options.memory_limit` bytes, [`MapError::Alloc`] when the
    /// allocator refuses, [`MapError::InnerMapTemplate`] for maps of maps
    /// (see [`Map::create_of_maps`]).
    pub fn create(name: &str, def: MapDef, options: &MapOptions) -> Result<Map, MapError> {
        let cpus = options.cpus;
        Map::with_storage(name, def, options, || {
            Ok(match def.map_type {
                MapType::Array
                | MapType::PercpuArray
                | MapType::Devmap
                | MapType::Cpumap
                | MapType::Xskmap => Storage::Array(ArrayMap::new(&def, cpus)?),
                MapType::Hash
                | MapType::PercpuHash
                | MapType::LruHash
                | MapType::LruPercpuHash
                | MapType::DevmapHash => Storage::Hash(HashTable::new(&def, cpus)?),
                MapType::Queue | MapType::Stack => Storage::Queue(QueueMap::new(&def)?),
                MapType::Ringbuf => Storage::Ringbuf(RingBuf::new(&def)?),
                MapType::PerfEventArray => Storage::Perf(PerfMap::new(&def)),
                MapType::LpmTrie => Storage::Lpm(LpmTrie::new(&def, cpus)?),
                MapType::ProgArray => Storage::ProgArray(ProgArray::new(&def)),
                MapType::ArrayOfMaps | MapType::HashOfMaps => {
                    return Err(MapError::InnerMapTemplate(
                        "maps of maps need one: create them with Map::create_of_maps",
                    ))
                }
                map_type => {
                    return Err(MapError::Unsupported {
                        map_type,
                        operation: "creating this map type",
                    })
                }
            })
        })
    }

    /// Checks `def` and its size, makes its storage and registers the map.
    fn with_storage(
        name: &str,
        def: MapDef,
        options: &MapOptions,
        storage: impl FnOnce() -> Result<Storage, MapError>,
    ) -> Result<Map, MapError> {
        let needed = Map::memory_needed(&def, options)?;
        if needed > options.memory_limit {
            return Err(MapError::MemoryLimit {
                needed,
                limit: options.memory_limit,
            });
        }
        let map = Map {
            inner: Arc::new(Inner {
                name: name.to_owned(),
                def,
                id: next_id(),
                cpus: options.cpus,
                memory_size: needed,
                frozen: AtomicBool::new(false),
                storage: storage()?,
            }),
        };
        registry::register(&map);
        Ok(map)
    }

    /// The bytes a map of this definition would take ([`Map::memory_size`]),
    /// computed without allocating, after checking the definition.
    ///
    /// # Errors
    /// As [`Map::create`], except the memory limit and allocation.
    pub fn memory_needed(def: &MapDef, options: &MapOptions) -> Result<usize, MapError> {
        def::memory_needed(def, options)
    }

    /// The name given at creation.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The definition.
    pub fn def(&self) -> &MapDef {
        &self.inner.def
    }

    /// A process-unique id, never 0.
    pub fn id(&self) -> u32 {
        self.inner.id
    }

    /// The most bytes this map takes: its value memory exactly, its index
    /// estimated at its fullest.
    pub fn memory_size(&self) -> usize {
        self.inner.memory_size
    }

    /// Its number of CPU slots (per-CPU maps have one value per slot).
    pub fn cpus(&self) -> usize {
        self.inner.cpus
    }

    /// Forbids further updates and deletes from the host (`BPF_MAP_FREEZE`,
    /// used for read-only global data once it is initialised). Programs are
    /// unaffected unless the map is `BPF_F_RDONLY_PROG`.
    pub fn freeze(&self) {
        self.inner.frozen.store(true, Ordering::Release);
    }

    /// Whether [`Map::freeze`] was called.
    pub fn is_frozen(&self) -> bool {
        self.inner.frozen.load(Ordering::Acquire)
    }

    fn map_type(&self) -> MapType {
        self.inner.def.map_type
    }

    fn invalid(&self, operation: &'static str) -> MapError {
        MapError::InvalidOperation {
            map_type: self.map_type(),
            operation,
        }
    }

    fn unsupported(&self, operation: &'static str) -> MapError {
        MapError::Unsupported {
            map_type: self.map_type(),
            operation,
        }
    }

    fn host_read(&self, operation: &'static str) -> Result<(), MapError> {
        if self.inner.def.flags & def_flags::WRONLY != 0 {
            return Err(MapError::Permission { operation });
        }
        Ok(())
    }

    fn host_write(&self, operation: &'static str) -> Result<(), MapError> {
        if self.inner.def.flags & def_flags::RDONLY != 0 || self.is_frozen() {
            return Err(MapError::Permission { operation });
        }
        Ok(())
    }

    fn check_key(&self, key: &[u8]) -> Result<(), MapError> {
        let expected = self.inner.def.key_size as usize;
        if key.len() != expected {
            return Err(MapError::KeySize {
                expected,
                got: key.len(),
            });
        }
        Ok(())
    }

    /// The size of a value as the host passes it: `value_size`, or for
    /// per-CPU maps every CPU's value padded to a multiple of 8.
    pub fn host_value_size(&self) -> usize {
        let value_size = self.inner.def.value_size as usize;
        if self.inner.def.is_percpu() {
            value_size.next_multiple_of(8) * self.inner.cpus
        } else {
            value_size
        }
    }

    fn check_value(&self, value: &[u8], expected: usize) -> Result<(), MapError> {
        if value.len() != expected {
            return Err(MapError::ValueSize {
                expected,
                got: value.len(),
            });
        }
        Ok(())
    }

    /// The value stored under `key`, `None` if there is none. For per-CPU
    /// maps, every CPU's value, each padded with zeroes to a multiple of 8
    /// bytes, concatenated (the kernel's user-space layout). For a queue or
    /// stack (empty key), the next value [`Map::pop`] would return. For an
    /// LPM trie, the value of the longest stored prefix matching the key.
    /// For a map of maps, the inner map's [`Map::id`], little-endian (see
    /// [`Map::inner`]).
    ///
    /// # Errors
    /// [`MapError::KeySize`]; [`MapError::Permission`] for a `BPF_F_WRONLY`
    /// map; [`MapError::Unsupported`] for ring buffers, perf event arrays and
    /// XSKMAPs (whose values the kernel does not return).
    pub fn lookup(&self, key: &[u8]) -> Result<Option<Vec<u8>>, MapError> {
        self.host_read("lookup")?;
        self.check_key(key)?;
        match &self.inner.storage {
            Storage::Array(a) => a.lookup(key),
            Storage::Hash(h) => Ok(h.lookup(key)),
            Storage::Queue(q) => Ok(q.pop(true)),
            Storage::Lpm(l) => Ok(l.lookup(key)),
            Storage::OfMaps(o) => Ok(of_maps::lookup(o, key)),
            Storage::Ringbuf(_) | Storage::Perf(_) | Storage::ProgArray(_) => {
                Err(self.unsupported("lookup (use Map::program)"))
            }
        }
    }

    /// Creates or replaces the element under `key`. `flags` is `BPF_ANY`,
    /// `BPF_NOEXIST` (create only) or `BPF_EXIST` (replace only). Per-CPU
    /// maps take every CPU's value in the [`Map::lookup`] layout. For a queue
    /// or stack (empty key) this is [`Map::push`]. An LPM trie creates or
    /// replaces the exact prefix the key names. A map of maps takes the
    /// little-endian [`Map::id`] of a live map (see [`Map::set_inner`]).
    ///
    /// # Errors
    /// [`MapError::KeySize`], [`MapError::ValueSize`], [`MapError::Flags`],
    /// [`MapError::Exists`] (`BPF_NOEXIST`, and always for arrays, whose
    /// elements all exist), [`MapError::NotFound`] (`BPF_EXIST`),
    /// [`MapError::Full`], [`MapError::IndexOutOfRange`],
    /// [`MapError::NoMemory`], [`MapError::Permission`] for a `BPF_F_RDONLY`
    /// or frozen map, [`MapError::Unsupported`] for ring buffers and perf
    /// event arrays; for LPM tries [`MapError::PrefixLen`] and
    /// [`MapError::NoSpace`] (full); for maps of maps
    /// [`MapError::NoSuchMap`] and [`MapError::InnerMapMismatch`].
    pub fn update(&self, key: &[u8], value: &[u8], flags: u64) -> Result<(), MapError> {
        self.host_write("update")?;
        self.check_key(key)?;
        if let Storage::Queue(q) = &self.inner.storage {
            self.check_value(value, self.inner.def.value_size as usize)?;
            return q.push(value, flags);
        }
        self.check_value(value, self.host_value_size())?;
        check_update_flags(flags)?;
        match &self.inner.storage {
            Storage::Array(a) => a.update(key, value, flags, None),
            Storage::Hash(h) => h.update(key, value, flags, None),
            Storage::Lpm(l) => l.update(key, value, flags),
            Storage::OfMaps(o) => of_maps::update(o, key, value, flags),
            Storage::Queue(_) | Storage::Ringbuf(_) | Storage::Perf(_) => {
                Err(self.unsupported("update"))
            }
            Storage::ProgArray(_) => Err(self.unsupported("update (use Map::set_program)")),
        }
    }

    /// Deletes the element under `key` (for an LPM trie, the exact prefix
    /// it names).
    ///
    /// # Errors
    /// [`MapError::KeySize`], [`MapError::NotFound`],
    /// [`MapError::PrefixLen`], [`MapError::IndexOutOfRange`] (arrays of
    /// maps),
    /// [`MapError::Permission`], [`MapError::InvalidOperation`] for arrays
    /// (elements cannot be deleted) and queues and stacks,
    /// [`MapError::Unsupported`] for ring buffers and perf event arrays.
    pub fn delete(&self, key: &[u8]) -> Result<(), MapError> {
        self.host_write("delete")?;
        self.check_key(key)?;
        match &self.inner.storage {
            Storage::Array(a) => a.delete(key),
            Storage::Hash(h) => h.delete(key),
            Storage::Lpm(l) => l.delete(key),
            Storage::OfMaps(o) => of_maps::delete(o, key),
            Storage::Queue(_) => Err(self.invalid("delete")),
            Storage::Ringbuf(_) | Storage::Perf(_) | Storage::ProgArray(_) => {
                Err(self.unsupported("delete (use Map::clear_program)"))
            }
        }
    }

    /// Every key: array indices in order (little-endian `u32`s, every index
    /// for arrays of maps too, as the kernel iterates them), hash keys in no
    /// particular order, LPM trie prefixes longest first (data past the
    /// prefix zeroed). See [`Map::key_iter`] to list the indices of a
    /// large array without collecting them.
    ///
    /// # Errors
    /// As [`Map::key_iter`].
    pub fn keys(&self) -> Result<Vec<Vec<u8>>, MapError> {
        Ok(self.key_iter()?.collect())
    }

    /// An iterator over the keys: array indices are produced as it goes,
    /// hash keys are a snapshot taken now.
    ///
    /// # Errors
    /// [`MapError::Permission`] for a `BPF_F_WRONLY` map,
    /// [`MapError::InvalidOperation`] for queues and stacks,
    /// [`MapError::Unsupported`] for ring buffers.
    pub fn key_iter(&self) -> Result<Keys, MapError> {
        self.host_read("iterating keys")?;
        let inner = match &self.inner.storage {
            Storage::Array(_) | Storage::Perf(_) => {
                KeysInner::Indices(0..self.inner.def.max_entries)
            }
            Storage::OfMaps(_) if self.map_type() == MapType::ArrayOfMaps => {
                KeysInner::Indices(0..self.inner.def.max_entries)
            }
            Storage::Hash(h) => KeysInner::Listed(h.keys().into_iter()),
            Storage::Lpm(l) => KeysInner::Listed(l.keys().into_iter()),
            Storage::OfMaps(o) => KeysInner::Listed(of_maps::keys(o).into_iter()),
            Storage::ProgArray(p) => KeysInner::Listed(p.keys().into_iter()),
            Storage::Queue(_) => return Err(self.invalid("iterating keys")),
            Storage::Ringbuf(_) => return Err(self.unsupported("iterating keys")),
        };
        Ok(Keys { inner })
    }

    /// Removes the element under `key` and returns its value, as one
    /// operation (`BPF_MAP_LOOKUP_AND_DELETE_ELEM`); for a queue or stack
    /// (empty key), [`Map::pop`]. `None` when there is no such element.
    ///
    /// # Errors
    /// [`MapError::KeySize`], [`MapError::Permission`] unless the host may
    /// both read and write the map, [`MapError::Unsupported`] for types
    /// other than queues, stacks and hash maps (as in the kernel).
    pub fn lookup_and_delete(&self, key: &[u8]) -> Result<Option<Vec<u8>>, MapError> {
        self.host_read("lookup and delete")?;
        self.host_write("lookup and delete")?;
        self.check_key(key)?;
        match &self.inner.storage {
            Storage::Queue(q) => Ok(q.pop(false)),
            Storage::Hash(h) if self.map_type() != MapType::DevmapHash => match h.take(key) {
                Ok(value) => Ok(Some(value)),
                Err(MapError::NotFound) => Ok(None),
                Err(e) => Err(e),
            },
            _ => Err(self.unsupported("lookup and delete")),
        }
    }

    fn queue(&self, operation: &'static str) -> Result<&QueueMap, MapError> {
        match &self.inner.storage {
            Storage::Queue(q) => Ok(q),
            _ => Err(self.invalid(operation)),
        }
    }

    /// Pushes onto a queue or stack. With `BPF_EXIST`, a full map drops its
    /// oldest value to make room.
    ///
    /// # Errors
    /// [`MapError::ValueSize`], [`MapError::Flags`] (anything but `BPF_ANY`
    /// and `BPF_EXIST`), [`MapError::Full`], [`MapError::Permission`],
    /// [`MapError::InvalidOperation`] for other map types.
    pub fn push(&self, value: &[u8], flags: u64) -> Result<(), MapError> {
        self.host_write("push")?;
        let queue = self.queue("push")?;
        self.check_value(value, self.inner.def.value_size as usize)?;
        queue.push(value, flags)
    }

    /// Removes and returns the next value of a queue (oldest) or stack
    /// (newest); `None` when empty.
    ///
    /// # Errors
    /// [`MapError::Permission`], [`MapError::InvalidOperation`] for other map
    /// types.
    pub fn pop(&self) -> Result<Option<Vec<u8>>, MapError> {
        self.host_write("pop")?;
        Ok(self.queue("pop")?.pop(false))
    }

    /// The value [`Map::pop`] would return, without removing it.
    ///
    /// # Errors
    /// As [`Map::pop`].
    pub fn peek(&self) -> Result<Option<Vec<u8>>, MapError> {
        self.host_read("peek")?;
        Ok(self.queue("peek")?.pop(true))
    }

    /// Takes the committed records of a ring buffer, in reservation order,
    /// skipping discarded ones and stopping at the first record still
    /// reserved; frees their space.
    ///
    /// # Errors
    /// [`MapError::InvalidOperation`] for other map types.
    pub fn ringbuf_consume(&self) -> Result<Vec<Vec<u8>>, MapError> {
        match &self.inner.storage {
            Storage::Ringbuf(r) => Ok(r.consume()),
            _ => Err(self.invalid("consuming records")),
        }
    }

    /// Takes the events of a perf event array, by slot then in output order.
    ///
    /// # Errors
    /// [`MapError::InvalidOperation`] for other map types.
    pub fn perf_events(&self) -> Result<Vec<PerfEvent>, MapError> {
        match &self.inner.storage {
            Storage::Perf(p) => Ok(p.drain()),
            _ => Err(self.invalid("reading perf events")),
        }
    }

    /// How many perf events were dropped because their slot's buffer was
    /// full, since the map was created.
    ///
    /// # Errors
    /// [`MapError::InvalidOperation`] for other map types.
    pub fn perf_lost(&self) -> Result<u64, MapError> {
        match &self.inner.storage {
            Storage::Perf(p) => Ok(p.lost()),
            _ => Err(self.invalid("reading perf events")),
        }
    }
}

/// Checks element update flags as the kernel does: `BPF_ANY`, `BPF_NOEXIST`
/// or `BPF_EXIST`; `BPF_F_LOCK` needs a spin lock in the value, which maps
/// without BTF never have.
fn check_update_flags(flags: u64) -> Result<(), MapError> {
    if flags > update::EXIST {
        return Err(MapError::Flags(flags));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
