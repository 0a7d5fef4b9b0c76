//! Tests of map creation: definitions, flags, the memory limit, identity.

use super::*;
use bpfbox_abi::errno;
use bpfbox_abi::maps::{flags, MapDefError, MapField};

fn def(map_type: MapType, key_size: u32, value_size: u32, max_entries: u32) -> MapDef {
    MapDef {
        map_type,
        key_size,
        value_size,
        max_entries,
        flags: 0,
    }
}

fn options(cpus: usize, memory_limit: usize) -> MapOptions {
    MapOptions { cpus, memory_limit }
}

#[test]
fn maps_are_send_sync_and_shared_by_clones() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Map>();
    let m = Map::create("counts", def(MapType::Array, 4, 8, 2), &options(2, 1 << 20)).unwrap();
    let clone = m.clone();
    clone.update(&1u32.to_le_bytes(), &[7; 8], 0).unwrap();
    assert_eq!(m.lookup(&1u32.to_le_bytes()).unwrap(), Some(vec![7; 8]));
    assert_eq!((m.id(), m.name(), m.cpus()), (clone.id(), "counts", 2));
    assert_eq!(m.def(), &def(MapType::Array, 4, 8, 2));
    let text = format!("{m:?}");
    assert!(text.starts_with("Map { name: \"counts\""), "{text}");
}

#[test]
fn ids_are_unique_and_never_zero() {
    let d = def(MapType::Hash, 4, 4, 1);
    let ids: Vec<u32> = (0..50)
        .map(|_| Map::create("m", d, &MapOptions::default()).unwrap().id())
        .collect();
    assert!(ids.iter().all(|&id| id != 0));
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), ids.len());
}

#[test]
fn bad_definitions_are_refused_with_the_rule() {
    let o = MapOptions::default();
    let e = Map::create("a", def(MapType::Array, 8, 4, 1), &o).unwrap_err();
    assert_eq!(
        e.to_string(),
        "array map: key_size 8 is invalid: array keys are 4 bytes"
    );
    assert_eq!(e.errno(), errno::EINVAL);
    let e = Map::create("h", def(MapType::Hash, 4, 0, 1), &o).unwrap_err();
    assert!(matches!(
        e,
        MapError::Def(MapDefError {
            field: MapField::ValueSize,
            ..
        })
    ));
    let e = Map::create("h", def(MapType::Hash, 4, 4, 0), &o).unwrap_err();
    assert!(matches!(
        e,
        MapError::Def(MapDefError {
            field: MapField::MaxEntries,
            ..
        })
    ));
    let e = Map::create("r", def(MapType::Ringbuf, 0, 0, 5000), &o).unwrap_err();
    assert!(matches!(
        e,
        MapError::Def(MapDefError {
            field: MapField::MaxEntries,
            ..
        })
    ));
    let e = Map::create("d", def(MapType::Devmap, 4, 5, 1), &o).unwrap_err();
    assert!(matches!(
        e,
        MapError::Def(MapDefError {
            field: MapField::ValueSize,
            ..
        })
    ));
}

#[test]
fn flags_are_checked_per_type() {
    let o = MapOptions::default();
    let with = |map_type, key_size, value_size, max_entries, f| MapDef {
        flags: f,
        ..def(map_type, key_size, value_size, max_entries)
    };
    let refused = |d: MapDef| match Map::create("f", d, &o) {
        Err(MapError::Def(e)) => e.field == MapField::Flags,
        _ => false,
    };
    assert!(refused(with(MapType::Array, 4, 4, 1, flags::NO_PREALLOC)));
    assert!(refused(with(
        MapType::PercpuArray,
        4,
        4,
        1,
        flags::MMAPABLE
    )));
    assert!(refused(with(MapType::Hash, 4, 4, 1, flags::MMAPABLE)));
    assert!(refused(with(MapType::Hash, 4, 4, 1, flags::NO_COMMON_LRU)));
    assert!(refused(with(MapType::LruHash, 4, 4, 1, flags::NO_PREALLOC)));
    assert!(refused(with(
        MapType::Ringbuf,
        0,
        0,
        4096,
        flags::RDONLY_PROG
    )));
    assert!(refused(with(
        MapType::PerfEventArray,
        4,
        4,
        1,
        flags::RDONLY_PROG
    )));
    assert!(refused(with(MapType::Cpumap, 4, 4, 1, flags::RDONLY)));
    assert!(refused(with(
        MapType::Array,
        4,
        4,
        1,
        flags::RDONLY | flags::WRONLY
    )));
    let e = Map::create("f", with(MapType::LruHash, 4, 4, 1, flags::NO_PREALLOC), &o).unwrap_err();
    assert_eq!(
        e.to_string(),
        "lru_hash map: map_flags 1 is invalid: LRU maps are always preallocated"
    );
    for ok in [
        with(
            MapType::Array,
            4,
            4,
            1,
            flags::MMAPABLE | flags::RDONLY_PROG,
        ),
        with(MapType::Hash, 4, 4, 1, flags::NO_PREALLOC),
        with(MapType::LruPercpuHash, 4, 4, 1, flags::NO_COMMON_LRU),
        with(MapType::Queue, 0, 4, 1, flags::WRONLY_PROG),
        with(MapType::Xskmap, 4, 4, 1, flags::RDONLY),
        with(MapType::Ringbuf, 0, 0, 4096, flags::NUMA_NODE),
    ] {
        Map::create("ok", ok, &o).unwrap();
    }
}

#[test]
fn unsupported_types_say_so() {
    let o = MapOptions::default();
    let e = Map::create("t", def(MapType::StackTrace, 4, 8, 1), &o).unwrap_err();
    assert_eq!(
        e,
        MapError::Unsupported {
            map_type: MapType::StackTrace,
            operation: "creating this map type"
        }
    );
    assert_eq!(
        e.to_string(),
        "stack_trace map: creating this map type is not supported"
    );
    assert_eq!(e.errno(), errno::EOPNOTSUPP);
    assert!(matches!(
        Map::create("t", def(MapType::BloomFilter, 0, 4, 1), &o),
        Err(MapError::Unsupported {
            map_type: MapType::BloomFilter,
            ..
        })
    ));
}

#[test]
fn memory_limit_is_enforced_before_allocating() {
    // 2^32 - 1 entries of 4 KiB: far past any limit, refused without trying.
    let huge = def(MapType::Array, 4, 4096, u32::MAX);
    let e = Map::create("big", huge, &MapOptions::default()).unwrap_err();
    let MapError::MemoryLimit { needed, limit } = e else {
        panic!("{e:?}");
    };
    assert!(needed > 4096 * (u32::MAX as usize));
    assert_eq!((limit, e.errno()), (DEFAULT_MEMORY_LIMIT, errno::ENOMEM));
    // Per-CPU maps count every CPU; hash maps their index too.
    let percpu = def(MapType::PercpuArray, 4, 8, 1000);
    let one = Map::memory_needed(&percpu, &options(1, 0)).unwrap();
    let four = Map::memory_needed(&percpu, &options(4, 0)).unwrap();
    assert_eq!(four - one, 3 * 8 * 1000);
    let h = def(MapType::Hash, 16, 8, 1000);
    let needed = Map::memory_needed(&h, &options(2, 0)).unwrap();
    assert!(needed > 1002 * 8 + 1000 * 16, "{needed}");
    assert!(Map::create("h", h, &options(2, needed)).is_ok());
    assert_eq!(
        Map::create("h", h, &options(2, needed - 1)).unwrap_err(),
        MapError::MemoryLimit {
            needed,
            limit: needed - 1
        }
    );
    let m = Map::create("h", h, &options(2, needed)).unwrap();
    assert_eq!(m.memory_size(), needed);
    // Everything saturates rather than overflows.
    let per_cpu_huge = def(MapType::LruPercpuHash, 512, 32768, u32::MAX);
    assert_eq!(
        Map::memory_needed(&per_cpu_huge, &options(usize::MAX, 0)),
        Ok(usize::MAX)
    );
    for ring in [
        def(MapType::Ringbuf, 0, 0, 1 << 31),
        def(MapType::PerfEventArray, 4, 4, u32::MAX),
    ] {
        assert!(matches!(
            Map::create("r", ring, &MapOptions::default()),
            Err(MapError::MemoryLimit { .. })
        ));
    }
    let queue = def(MapType::Queue, 0, 1 << 20, 1 << 10);
    assert!(matches!(
        Map::create("q", queue, &options(1, 1 << 20)),
        Err(MapError::MemoryLimit { .. })
    ));
}

#[test]
fn zero_cpus_is_refused() {
    let e = Map::create("z", def(MapType::Array, 4, 4, 1), &options(0, 1 << 20)).unwrap_err();
    assert_eq!((e.clone(), e.errno()), (MapError::NoCpus, errno::EINVAL));
}

#[test]
fn every_supported_type_can_be_created() {
    let o = options(2, 1 << 24);
    for d in [
        def(MapType::Array, 4, 1, 1),
        def(MapType::PercpuArray, 4, 1, 1),
        def(MapType::Hash, 1, 1, 1),
        def(MapType::PercpuHash, 1, 1, 1),
        def(MapType::LruHash, 1, 1, 1),
        def(MapType::LruPercpuHash, 1, 1, 1),
        def(MapType::Queue, 0, 1, 1),
        def(MapType::Stack, 0, 1, 1),
        def(MapType::Ringbuf, 0, 0, 4096),
        def(MapType::PerfEventArray, 4, 4, 1),
        def(MapType::Devmap, 4, 8, 1),
        def(MapType::DevmapHash, 4, 4, 1),
        def(MapType::Cpumap, 4, 4, 1),
        def(MapType::Xskmap, 4, 4, 1),
        MapDef {
            flags: flags::NO_PREALLOC,
            ..def(MapType::LpmTrie, 5, 1, 1)
        },
    ] {
        let m = Map::create("all", d, &o).unwrap();
        assert!(m.memory_size() > 0);
        for region in m.regions() {
            assert!(region.shared);
            assert_eq!(region.start % 8, 0);
        }
    }
}

#[test]
fn keys_of_large_arrays_are_produced_lazily() {
    let m = Map::create(
        "big",
        def(MapType::Array, 4, 1, 1 << 22),
        &options(1, 64 << 20),
    )
    .unwrap();
    let mut keys = m.key_iter().unwrap();
    assert_eq!(keys.len(), 1 << 22);
    assert_eq!(keys.nth(1 << 21), Some((1u32 << 21).to_le_bytes().to_vec()));
    assert_eq!(keys.len(), (1 << 21) - 1);
    assert_eq!(
        m.lookup_and_delete(&0u32.to_le_bytes())
            .unwrap_err()
            .errno(),
        errno::EOPNOTSUPP
    );
}
