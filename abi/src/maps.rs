//! Map types and definitions, with the kernel's numbering and the checks the
//! kernel applies when a map is created.

use std::fmt;
use thiserror::Error;

macro_rules! map_types {
    ($($(#[$doc:meta])* $name:ident = $raw:literal, $text:literal;)*) => {
        /// A map type (`enum bpf_map_type` in `linux/bpf.h`).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum MapType {
            $($(#[$doc])* $name,)*
        }

        impl MapType {
            /// Every map type, in kernel order.
            pub const ALL: &'static [MapType] = &[$(MapType::$name,)*];

            /// The kernel's number for this type.
            pub const fn raw(self) -> u32 {
                match self { $(MapType::$name => $raw,)* }
            }

            /// The type numbered `raw`, if the kernel defines one.
            pub const fn from_raw(raw: u32) -> Option<MapType> {
                match raw { $($raw => Some(MapType::$name),)* _ => None }
            }

            /// The lower-case name libbpf and bpftool print (`hash`, `percpu_array`).
            pub const fn name(self) -> &'static str {
                match self { $(MapType::$name => $text,)* }
            }
        }
    };
}

map_types! {
    /// Hash table.
    Hash = 1, "hash";
    /// Array indexed by a 4-byte key; elements always exist, zero-initialised.
    Array = 2, "array";
    /// Program array for tail calls.
    ProgArray = 3, "prog_array";
    /// Per-CPU perf event output.
    PerfEventArray = 4, "perf_event_array";
    /// Hash table with one value per CPU.
    PercpuHash = 5, "percpu_hash";
    /// Array with one value per CPU.
    PercpuArray = 6, "percpu_array";
    /// Stack traces.
    StackTrace = 7, "stack_trace";
    /// Cgroup references.
    CgroupArray = 8, "cgroup_array";
    /// Hash table that evicts the least recently used element when full.
    LruHash = 9, "lru_hash";
    /// Per-CPU LRU hash table.
    LruPercpuHash = 10, "lru_percpu_hash";
    /// Longest-prefix-match trie.
    LpmTrie = 11, "lpm_trie";
    /// Array of maps.
    ArrayOfMaps = 12, "array_of_maps";
    /// Hash of maps.
    HashOfMaps = 13, "hash_of_maps";
    /// Redirect targets (network devices) by index.
    Devmap = 14, "devmap";
    /// Sockets.
    Sockmap = 15, "sockmap";
    /// Redirect targets (CPUs).
    Cpumap = 16, "cpumap";
    /// Redirect targets (AF_XDP sockets).
    Xskmap = 17, "xskmap";
    /// Sockets by hash.
    Sockhash = 18, "sockhash";
    /// Cgroup storage.
    CgroupStorage = 19, "cgroup_storage";
    /// Reuseport socket array.
    ReuseportSockarray = 20, "reuseport_sockarray";
    /// Per-CPU cgroup storage.
    PercpuCgroupStorage = 21, "percpu_cgroup_storage";
    /// FIFO of values.
    Queue = 22, "queue";
    /// LIFO of values.
    Stack = 23, "stack";
    /// Socket-local storage.
    SkStorage = 24, "sk_storage";
    /// Redirect targets (network devices) by hash.
    DevmapHash = 25, "devmap_hash";
    /// Struct ops.
    StructOps = 26, "struct_ops";
    /// Ring buffer shared with user space.
    Ringbuf = 27, "ringbuf";
    /// Inode storage.
    InodeStorage = 28, "inode_storage";
    /// Task storage.
    TaskStorage = 29, "task_storage";
    /// Bloom filter.
    BloomFilter = 30, "bloom_filter";
    /// Ring buffer written by user space.
    UserRingbuf = 31, "user_ringbuf";
}

impl fmt::Display for MapType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Map creation flags (`map_flags`).
pub mod flags {
    /// Do not preallocate hash elements (required for LPM tries).
    pub const NO_PREALLOC: u32 = 1 << 0;
    /// One LRU list per CPU.
    pub const NO_COMMON_LRU: u32 = 1 << 1;
    /// `numa_node` is valid.
    pub const NUMA_NODE: u32 = 1 << 2;
    /// User space may only read.
    pub const RDONLY: u32 = 1 << 3;
    /// User space may only write.
    pub const WRONLY: u32 = 1 << 4;
    /// Programs may only read.
    pub const RDONLY_PROG: u32 = 1 << 7;
    /// Programs may only write.
    pub const WRONLY_PROG: u32 = 1 << 8;
    /// Array memory can be mapped by user space.
    pub const MMAPABLE: u32 = 1 << 10;
}

/// Flags of element updates (`BPF_ANY`, ...).
pub mod update {
    /// Create or replace.
    pub const ANY: u64 = 0;
    /// Create only: `-EEXIST` if the key exists.
    pub const NOEXIST: u64 = 1;
    /// Replace only: `-ENOENT` if the key does not exist.
    pub const EXIST: u64 = 2;
    /// Update under the value's spin lock.
    pub const F_LOCK: u64 = 4;
}

/// The kernel's stack limit, which bounds hash keys.
pub const MAX_KEY_SIZE: u32 = 512;
/// The largest value of a per-CPU map (the kernel's `PCPU_MIN_UNIT_SIZE`).
pub const MAX_PERCPU_VALUE_SIZE: u32 = 32 * 1024;
/// Page size that ring buffer sizes are multiples of.
pub const PAGE_SIZE: u32 = 4096;

/// A map definition (`struct bpf_map_def`, or the fields of a BTF map).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MapDef {
    /// The type.
    pub map_type: MapType,
    /// Key size in bytes.
    pub key_size: u32,
    /// Value size in bytes (per CPU for per-CPU maps).
    pub value_size: u32,
    /// Capacity (for ring buffers, the data size in bytes).
    pub max_entries: u32,
    /// Creation flags ([`flags`]).
    pub flags: u32,
}

/// Which field of a [`MapDef`] is wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapField {
    /// `key_size`.
    KeySize,
    /// `value_size`.
    ValueSize,
    /// `max_entries`.
    MaxEntries,
    /// `map_flags`.
    Flags,
}

impl fmt::Display for MapField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MapField::KeySize => "key_size",
            MapField::ValueSize => "value_size",
            MapField::MaxEntries => "max_entries",
            MapField::Flags => "map_flags",
        })
    }
}

/// Why a map definition is refused (the kernel answers `-EINVAL` or `-E2BIG`).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{map_type} map: {field} {value} is invalid: {rule}")]
pub struct MapDefError {
    /// The map's type.
    pub map_type: MapType,
    /// The offending field.
    pub field: MapField,
    /// Its value.
    pub value: u32,
    /// The rule it breaks.
    pub rule: &'static str,
}

impl MapDef {
    /// Whether this map has one value per CPU.
    pub fn is_percpu(&self) -> bool {
        matches!(
            self.map_type,
            MapType::PercpuArray
                | MapType::PercpuHash
                | MapType::LruPercpuHash
                | MapType::PercpuCgroupStorage
        )
    }

    /// Checks the definition as the kernel does at map creation.
    ///
    /// # Errors
    /// The first field that breaks a rule of this map type.
    pub fn validate(&self) -> Result<(), MapDefError> {
        let fail = |field, value, rule| {
            Err(MapDefError {
                map_type: self.map_type,
                field,
                value,
                rule,
            })
        };
        let key = |expected: u32, rule| {
            if self.key_size == expected {
                Ok(())
            } else {
                fail(MapField::KeySize, self.key_size, rule)
            }
        };
        let value_in = |allowed: &[u32], rule| {
            if allowed.contains(&self.value_size) {
                Ok(())
            } else {
                fail(MapField::ValueSize, self.value_size, rule)
            }
        };
        let nonzero_value = || {
            if self.value_size == 0 {
                fail(MapField::ValueSize, 0, "must be at least 1")
            } else if self.is_percpu() && self.value_size > MAX_PERCPU_VALUE_SIZE {
                fail(
                    MapField::ValueSize,
                    self.value_size,
                    "per-CPU values are at most 32768 bytes",
                )
            } else {
                Ok(())
            }
        };
        let hash_key = || {
            if self.key_size == 0 {
                fail(MapField::KeySize, 0, "must be at least 1")
            } else if self.key_size > MAX_KEY_SIZE {
                fail(MapField::KeySize, self.key_size, "must be at most 512")
            } else {
                Ok(())
            }
        };
        let known_flags = flags::NO_PREALLOC
            | flags::NO_COMMON_LRU
            | flags::NUMA_NODE
            | flags::RDONLY
            | flags::WRONLY
            | flags::RDONLY_PROG
            | flags::WRONLY_PROG
            | flags::MMAPABLE;
        if self.flags & !known_flags != 0 {
            return fail(MapField::Flags, self.flags, "unknown flag bits");
        }
        if self.flags & flags::RDONLY_PROG != 0 && self.flags & flags::WRONLY_PROG != 0 {
            return fail(
                MapField::Flags,
                self.flags,
                "read-only and write-only for programs at once",
            );
        }
        if self.max_entries == 0 {
            return fail(MapField::MaxEntries, 0, "must be at least 1");
        }
        match self.map_type {
            MapType::Hash | MapType::PercpuHash | MapType::LruHash | MapType::LruPercpuHash => {
                hash_key()?;
                nonzero_value()
            }
            MapType::Array | MapType::PercpuArray => {
                key(4, "array keys are 4 bytes")?;
                nonzero_value()
            }
            MapType::ProgArray
            | MapType::PerfEventArray
            | MapType::CgroupArray
            | MapType::ArrayOfMaps => {
                key(4, "keys are 4 bytes")?;
                value_in(&[4], "values are 4 bytes")
            }
            MapType::HashOfMaps => {
                hash_key()?;
                value_in(&[4], "values are 4 bytes")
            }
            MapType::Devmap | MapType::DevmapHash | MapType::Cpumap => {
                key(4, "keys are 4 bytes")?;
                value_in(&[4, 8], "values are 4 or 8 bytes")
            }
            MapType::Xskmap => {
                key(4, "keys are 4 bytes")?;
                value_in(&[4], "values are 4 bytes")
            }
            MapType::Queue | MapType::Stack => {
                key(0, "queues and stacks have no key")?;
                nonzero_value()
            }
            MapType::Ringbuf | MapType::UserRingbuf => {
                key(0, "ring buffers have no key")?;
                value_in(&[0], "ring buffers have no value")?;
                if !self.max_entries.is_power_of_two() || self.max_entries % PAGE_SIZE != 0 {
                    return fail(
                        MapField::MaxEntries,
                        self.max_entries,
                        "must be a power of 2 and a multiple of the 4096-byte page",
                    );
                }
                Ok(())
            }
            MapType::LpmTrie => {
                if self.flags & flags::NO_PREALLOC == 0 {
                    return fail(
                        MapField::Flags,
                        self.flags,
                        "LPM tries need BPF_F_NO_PREALLOC",
                    );
                }
                if !(5..=4 + 256).contains(&self.key_size) {
                    return fail(
                        MapField::KeySize,
                        self.key_size,
                        "must be a 4-byte prefix length plus 1 to 256 data bytes",
                    );
                }
                nonzero_value()
            }
            MapType::BloomFilter => {
                key(0, "bloom filters have no key")?;
                nonzero_value()
            }
            _ => nonzero_value(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(
        map_type: MapType,
        key_size: u32,
        value_size: u32,
        max_entries: u32,
        flags: u32,
    ) -> MapDef {
        MapDef {
            map_type,
            key_size,
            value_size,
            max_entries,
            flags,
        }
    }

    #[test]
    fn numbers_round_trip() {
        for &t in MapType::ALL {
            assert_eq!(MapType::from_raw(t.raw()), Some(t));
        }
        assert_eq!(MapType::Hash.raw(), 1);
        assert_eq!(MapType::Ringbuf.raw(), 27);
        assert_eq!(MapType::from_raw(0), None);
        assert_eq!(MapType::from_raw(32), None);
    }

    #[test]
    fn kernel_rules() {
        assert!(def(MapType::Array, 4, 8, 1, 0).validate().is_ok());
        let e = def(MapType::Array, 8, 8, 1, 0).validate().unwrap_err();
        assert_eq!((e.field, e.value), (MapField::KeySize, 8));
        assert_eq!(
            e.to_string(),
            "array map: key_size 8 is invalid: array keys are 4 bytes"
        );
        assert_eq!(
            def(MapType::Hash, 4, 8, 0, 0).validate().unwrap_err().field,
            MapField::MaxEntries
        );
        assert_eq!(
            def(MapType::Hash, 513, 8, 1, 0)
                .validate()
                .unwrap_err()
                .field,
            MapField::KeySize
        );
        assert_eq!(
            def(MapType::Queue, 4, 8, 1, 0)
                .validate()
                .unwrap_err()
                .field,
            MapField::KeySize
        );
        assert!(def(MapType::Ringbuf, 0, 0, 4096, 0).validate().is_ok());
        assert_eq!(
            def(MapType::Ringbuf, 0, 0, 4097, 0)
                .validate()
                .unwrap_err()
                .field,
            MapField::MaxEntries
        );
        assert_eq!(
            def(MapType::LpmTrie, 8, 8, 1, 0)
                .validate()
                .unwrap_err()
                .field,
            MapField::Flags
        );
        assert!(def(MapType::LpmTrie, 8, 8, 1, flags::NO_PREALLOC)
            .validate()
            .is_ok());
        assert_eq!(
            def(MapType::PercpuArray, 4, 40000, 1, 0)
                .validate()
                .unwrap_err()
                .field,
            MapField::ValueSize
        );
        assert_eq!(
            def(MapType::Hash, 4, 4, 1, 1 << 20)
                .validate()
                .unwrap_err()
                .field,
            MapField::Flags
        );
    }
}
