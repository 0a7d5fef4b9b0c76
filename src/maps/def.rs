//! The rules of map creation: the flags each type accepts, and the memory a
//! definition needs, computed without allocating.

use super::arena::{self, round8};
use super::{hash, lpm, of_maps, perf, prog_array, ringbuf, Inner, MapError, MapOptions};
use bpfbox_abi::maps::{flags as def_flags, MapDef, MapDefError, MapField, MapType};

/// The map creation flags the kernel accepts for each supported type.
fn allowed_flags(map_type: MapType) -> Option<u32> {
    use def_flags::*;
    let access = RDONLY | WRONLY | RDONLY_PROG | WRONLY_PROG;
    Some(match map_type {
        MapType::Array => NUMA_NODE | MMAPABLE | access,
        MapType::PercpuArray => NUMA_NODE | access,
        MapType::Hash | MapType::PercpuHash => NO_PREALLOC | NUMA_NODE | access,
        MapType::LruHash | MapType::LruPercpuHash => NO_COMMON_LRU | NUMA_NODE | access,
        MapType::Queue | MapType::Stack => NUMA_NODE | access,
        MapType::LpmTrie => NO_PREALLOC | NUMA_NODE | access,
        // Programs only look maps of maps up: no program access flags.
        MapType::ArrayOfMaps => NUMA_NODE | RDONLY | WRONLY,
        MapType::HashOfMaps => NO_PREALLOC | NUMA_NODE | RDONLY | WRONLY,
        MapType::Ringbuf | MapType::Cpumap => NUMA_NODE,
        MapType::PerfEventArray
        | MapType::ProgArray
        | MapType::Devmap
        | MapType::DevmapHash
        | MapType::Xskmap => NUMA_NODE | RDONLY | WRONLY,
        _ => return None,
    })
}

/// Checks the flags of a supported type (after [`MapDef::validate`]).
fn check_flags(def: &MapDef) -> Result<(), MapError> {
    let Some(allowed) = allowed_flags(def.map_type) else {
        return Err(MapError::Unsupported {
            map_type: def.map_type,
            operation: "creating this map type",
        });
    };
    let fail = |rule| {
        Err(MapError::Def(MapDefError {
            map_type: def.map_type,
            field: MapField::Flags,
            value: def.flags,
            rule,
        }))
    };
    let both = def_flags::RDONLY | def_flags::WRONLY;
    if def.flags & both == both {
        return fail("read-only and write-only for user space at once");
    }
    if def.flags & def_flags::NO_PREALLOC != 0
        && matches!(def.map_type, MapType::LruHash | MapType::LruPercpuHash)
    {
        return fail("LRU maps are always preallocated");
    }
    if def.flags & !allowed != 0 {
        return fail("flag not allowed for this map type");
    }
    Ok(())
}

/// `a * b` saturating, as usize.
fn mul(a: u64, b: u64) -> u64 {
    a.saturating_mul(b)
}

/// The bytes a map of `def` takes (see [`super::Map::memory_needed`]).
pub(super) fn memory_needed(def: &MapDef, options: &MapOptions) -> Result<usize, MapError> {
    def.validate()?;
    check_flags(def)?;
    if options.cpus == 0 {
        return Err(MapError::NoCpus);
    }
    let cpus = options.cpus as u64;
    let stride = round8(u64::from(def.value_size));
    let slot = if def.is_percpu() {
        mul(stride, cpus)
    } else {
        stride
    };
    let entries = u64::from(def.max_entries);
    let bytes = match def.map_type {
        MapType::Array
        | MapType::PercpuArray
        | MapType::Devmap
        | MapType::Cpumap
        | MapType::Xskmap => mul(entries, slot).saturating_add(entries),
        MapType::Hash
        | MapType::PercpuHash
        | MapType::LruHash
        | MapType::LruPercpuHash
        | MapType::DevmapHash => hash::memory(def, cpus, slot),
        MapType::Queue | MapType::Stack => mul(entries, u64::from(def.value_size)),
        MapType::Ringbuf => ringbuf::memory(entries),
        MapType::PerfEventArray => perf::memory(entries),
        MapType::LpmTrie => lpm::memory(def, cpus),
        MapType::ArrayOfMaps | MapType::HashOfMaps => of_maps::memory(def),
        MapType::ProgArray => prog_array::memory(def),
        _ => u64::MAX,
    };
    let total = bytes
        .saturating_add(arena::Stripes::BYTES)
        .saturating_add(std::mem::size_of::<Inner>() as u64);
    Ok(usize::try_from(total).unwrap_or(usize::MAX))
}
