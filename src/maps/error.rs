//! The errors of map operations.

use bpfbox_abi::errno;
use bpfbox_abi::maps::{MapDef, MapDefError, MapType};

/// `EBADF`: what the kernel answers for a map fd that names no map (here, a
/// map id that names no live map).
pub(crate) const EBADF: i32 = 9;

/// Why a map operation failed. [`MapError::errno`] gives the kernel's errno
/// for it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MapError {
    /// The definition breaks a rule of its type.
    #[error(transparent)]
    Def(#[from] MapDefError),
    /// bpfbox does not implement this map type or this operation on it.
    #[error("{map_type} map: {operation} is not supported")]
    Unsupported {
        /// The map's type.
        map_type: MapType,
        /// What was asked.
        operation: &'static str,
    },
    /// The kernel refuses this operation on this map type (`EINVAL`).
    #[error("{map_type} map: {operation} is invalid")]
    InvalidOperation {
        /// The map's type.
        map_type: MapType,
        /// What was asked.
        operation: &'static str,
    },
    /// The key has the wrong size.
    #[error("key of {got} bytes, the map's keys are {expected} bytes")]
    KeySize {
        /// The map's key size.
        expected: usize,
        /// The key's size.
        got: usize,
    },
    /// The value has the wrong size (for per-CPU maps: all CPUs' values,
    /// each padded to a multiple of 8 bytes).
    #[error("value of {got} bytes, the map takes {expected} bytes")]
    ValueSize {
        /// The size the map takes.
        expected: usize,
        /// The value's size.
        got: usize,
    },
    /// Update flags other than `BPF_ANY`, `BPF_NOEXIST` and `BPF_EXIST`
    /// (`BPF_F_LOCK` included: values carry no spin lock without BTF).
    #[error("invalid flags {0:#x}")]
    Flags(u64),
    /// No element has this key.
    #[error("no such element")]
    NotFound,
    /// An element has this key and `BPF_NOEXIST` was given.
    #[error("the element exists")]
    Exists,
    /// The map holds `max_entries` elements.
    #[error("the map is full")]
    Full,
    /// An array index at or past `max_entries`.
    #[error("index {index} is out of range: the map has {max_entries} entries")]
    IndexOutOfRange {
        /// The index.
        index: u32,
        /// The map's `max_entries`.
        max_entries: u32,
    },
    /// A program of another type than the program array's.
    #[error("the program array holds {expected} programs, not {got}")]
    ProgramType {
        /// The array's program type.
        expected: &'static str,
        /// The program's.
        got: &'static str,
    },
    /// No free element slot (all pending reclamation).
    #[error("no free element: deleted elements are still in use by running programs")]
    NoMemory,
    /// The map would take more memory than allowed.
    #[error("the map needs {needed} bytes, more than the limit of {limit}")]
    MemoryLimit {
        /// Bytes it needs (saturated at `usize::MAX`).
        needed: usize,
        /// The limit.
        limit: usize,
    },
    /// The allocator refused.
    #[error("allocating {bytes} bytes failed")]
    Alloc {
        /// Bytes asked.
        bytes: usize,
    },
    /// The map's flags (`BPF_F_RDONLY`, `BPF_F_WRONLY`, `BPF_F_RDONLY_PROG`)
    /// or freezing forbid this access.
    #[error("{operation} is not permitted on this map")]
    Permission {
        /// What was asked.
        operation: &'static str,
    },
    /// [`MapOptions::cpus`](super::MapOptions::cpus) is 0.
    #[error("a map needs at least one CPU slot")]
    NoCpus,
    /// An LPM trie key whose prefix length is longer than its data.
    #[error("prefix length {prefixlen} is longer than the key's {max} bits of data")]
    PrefixLen {
        /// The key's prefix length.
        prefixlen: u32,
        /// The longest prefix the map's keys hold (8 times the data size).
        max: u32,
    },
    /// An LPM trie holds `max_entries` prefixes (the kernel answers
    /// `ENOSPC` here, where hash maps answer `E2BIG`).
    #[error("the trie is full")]
    NoSpace,
    /// A map of maps was created without a usable inner map template.
    #[error("inner map template: {0}")]
    InnerMapTemplate(&'static str),
    /// A map stored into a map of maps does not have the shape of the
    /// outer map's inner map template.
    #[error("inner map {got:?} does not match the template {expected:?}")]
    InnerMapMismatch {
        /// The template's definition.
        expected: MapDef,
        /// The offered map's definition.
        got: MapDef,
    },
    /// A map id (the value of a map of maps element) that names no live map.
    #[error("no live map has id {0}")]
    NoSuchMap(u32),
    /// An offset past the value of a global-data array.
    #[error("offset {offset} is outside the {value_size}-byte value")]
    Offset {
        /// The offset.
        offset: u32,
        /// The map's value size.
        value_size: u32,
    },
}

impl MapError {
    /// The kernel's (positive) errno for this error.
    pub fn errno(&self) -> i32 {
        match self {
            MapError::Def(_)
            | MapError::InvalidOperation { .. }
            | MapError::KeySize { .. }
            | MapError::ValueSize { .. }
            | MapError::Flags(_)
            | MapError::NoCpus
            | MapError::Offset { .. }
            | MapError::PrefixLen { .. }
            | MapError::InnerMapTemplate(_)
            | MapError::InnerMapMismatch { .. }
            | MapError::ProgramType { .. } => errno::EINVAL,
            MapError::NoSpace => errno::ENOSPC,
            MapError::NoSuchMap(_) => EBADF,
            MapError::Unsupported { .. } => errno::EOPNOTSUPP,
            MapError::NotFound => errno::ENOENT,
            MapError::Exists => errno::EEXIST,
            MapError::Full | MapError::IndexOutOfRange { .. } => errno::E2BIG,
            MapError::NoMemory | MapError::MemoryLimit { .. } | MapError::Alloc { .. } => {
                errno::ENOMEM
            }
            MapError::Permission { .. } => errno::EPERM,
        }
    }
}
