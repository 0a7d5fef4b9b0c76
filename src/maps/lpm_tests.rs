//! Tests of LPM tries (a child module of `lpm`).

use super::super::{Map, MapError, MapOptions, Storage};
use bpfbox_abi::errno;
use bpfbox_abi::maps::{flags, update, MapDef, MapDefError, MapField, MapType};

/// A trie with `data` bytes of key data and 8-byte values. 8 CPU slots give
/// spare value slots, so no step waits for reclamation (other test threads
/// may hold epoch pins).
fn trie(data: u32, max_entries: u32) -> Map {
    let def = MapDef {
        map_type: MapType::LpmTrie,
        key_size: 4 + data,
        value_size: 8,
        max_entries,
        flags: flags::NO_PREALLOC,
    };
    let options = MapOptions {
        cpus: 8,
        ..MapOptions::default()
    };
    Map::create("lpm", def, &options).unwrap()
}

fn key(prefixlen: u32, data: &[u8]) -> Vec<u8> {
    let mut key = prefixlen.to_ne_bytes().to_vec();
    key.extend_from_slice(data);
    key
}

fn v4(prefixlen: u32, a: [u8; 4]) -> Vec<u8> {
    key(prefixlen, &a)
}

fn v6(prefixlen: u32, groups: [u16; 8]) -> Vec<u8> {
    let data: Vec<u8> = groups.iter().flat_map(|g| g.to_be_bytes()).collect();
    key(prefixlen, &data)
}

fn val(n: u64) -> Vec<u8> {
    n.to_le_bytes().to_vec()
}

/// The value of the longest match for a host address (/32).
fn find(m: &Map, a: [u8; 4]) -> Option<u64> {
    let value = m.lookup(&v4(32, a)).unwrap()?;
    Some(u64::from_le_bytes(value.try_into().unwrap()))
}

/// Reads the value at a program address of `m`, as a program would.
fn read_at(m: &Map, address: u64) -> Vec<u8> {
    let Storage::Lpm(l) = &m.inner.storage else {
        panic!("not an LPM trie");
    };
    l.read_at(address, 8)
}

#[test]
fn ipv4_longest_prefix_wins() {
    let m = trie(4, 16);
    m.update(&v4(8, [10, 0, 0, 0]), &val(8), update::ANY)
        .unwrap();
    m.update(&v4(16, [10, 1, 0, 0]), &val(16), update::ANY)
        .unwrap();
    m.update(&v4(24, [10, 1, 1, 0]), &val(24), update::ANY)
        .unwrap();
    m.update(&v4(32, [10, 1, 1, 1]), &val(32), update::ANY)
        .unwrap();
    assert_eq!(find(&m, [10, 1, 1, 1]), Some(32));
    assert_eq!(find(&m, [10, 1, 1, 2]), Some(24));
    assert_eq!(find(&m, [10, 1, 2, 3]), Some(16));
    assert_eq!(find(&m, [10, 200, 1, 1]), Some(8));
    assert_eq!(find(&m, [11, 1, 1, 1]), None);
    // The key's own prefix length bounds the match.
    assert_eq!(m.lookup(&v4(24, [10, 1, 1, 1])).unwrap(), Some(val(24)));
    assert_eq!(m.lookup(&v4(20, [10, 1, 1, 1])).unwrap(), Some(val(16)));
    assert_eq!(m.lookup(&v4(12, [10, 1, 1, 1])).unwrap(), Some(val(8)));
    assert_eq!(m.lookup(&v4(7, [10, 1, 1, 1])).unwrap(), None);
    // A default route matches everything else.
    m.update(&v4(0, [0; 4]), &val(0), update::NOEXIST).unwrap();
    assert_eq!(find(&m, [11, 1, 1, 1]), Some(0));
    assert_eq!(m.lookup(&v4(0, [99; 4])).unwrap(), Some(val(0)));
    // Prefixes that end inside a byte: 172.16.0.0/12 is 172.16-31.x.x.
    m.update(&v4(12, [172, 16, 0, 0]), &val(12), update::ANY)
        .unwrap();
    assert_eq!(find(&m, [172, 31, 255, 255]), Some(12));
    assert_eq!(find(&m, [172, 32, 0, 0]), Some(0));
    assert_eq!(find(&m, [172, 15, 255, 255]), Some(0));
    // 10.1.1.0/25 holds the low half of the /24.
    m.update(&v4(25, [10, 1, 1, 0]), &val(25), update::ANY)
        .unwrap();
    assert_eq!(find(&m, [10, 1, 1, 127]), Some(25));
    assert_eq!(find(&m, [10, 1, 1, 128]), Some(24));
    assert_eq!(find(&m, [10, 1, 1, 1]), Some(32));
}

#[test]
fn ipv6_longest_prefix_wins() {
    let m = trie(16, 8);
    let net48 = [0x2001, 0xdb8, 1, 0, 0, 0, 0, 0];
    let net64 = [0x2001, 0xdb8, 1, 2, 0, 0, 0, 0];
    m.update(&v6(48, net48), &val(48), update::ANY).unwrap();
    m.update(&v6(64, net64), &val(64), update::ANY).unwrap();
    let host = |groups| m.lookup(&v6(128, groups)).unwrap();
    assert_eq!(host([0x2001, 0xdb8, 1, 2, 0, 0, 0, 5]), Some(val(64)));
    assert_eq!(
        host([0x2001, 0xdb8, 1, 2, 0xffff, 0xffff, 0xffff, 0xffff]),
        Some(val(64))
    );
    assert_eq!(host([0x2001, 0xdb8, 1, 3, 0, 0, 0, 1]), Some(val(48)));
    assert_eq!(host([0x2001, 0xdb8, 1, 0xffff, 0, 0, 0, 1]), Some(val(48)));
    assert_eq!(host([0x2001, 0xdb8, 2, 0, 0, 0, 0, 1]), None);
    assert_eq!(host([0x2001, 0xdb9, 1, 2, 0, 0, 0, 1]), None);
    assert_eq!(
        m.lookup(&v6(56, [0x2001, 0xdb8, 1, 2, 0, 0, 0, 5]))
            .unwrap(),
        Some(val(48))
    );
    // Keys list the stored prefixes, longest first.
    assert_eq!(m.keys().unwrap(), vec![v6(64, net64), v6(48, net48)]);
}

#[test]
fn update_and_delete_name_the_exact_prefix() {
    let m = trie(4, 16);
    m.update(&v4(16, [10, 1, 0, 0]), &val(16), update::NOEXIST)
        .unwrap();
    // Bits past the prefix do not matter: this is the same /24 element.
    m.update(&v4(24, [10, 1, 1, 0]), &val(1), update::NOEXIST)
        .unwrap();
    let e = m
        .update(&v4(24, [10, 1, 1, 99]), &val(2), update::NOEXIST)
        .unwrap_err();
    assert_eq!((e.clone(), e.errno()), (MapError::Exists, errno::EEXIST));
    m.update(&v4(24, [10, 1, 1, 99]), &val(3), update::EXIST)
        .unwrap();
    assert_eq!(find(&m, [10, 1, 1, 7]), Some(3));
    // BPF_EXIST needs that exact prefix: a covering /16 is not enough.
    let e = m
        .update(&v4(24, [10, 1, 2, 0]), &val(4), update::EXIST)
        .unwrap_err();
    assert_eq!((e.clone(), e.errno()), (MapError::NotFound, errno::ENOENT));
    let e = m
        .update(&v4(8, [10, 0, 0, 0]), &val(4), update::EXIST)
        .unwrap_err();
    assert_eq!(e, MapError::NotFound);
    assert_eq!(
        m.keys().unwrap(),
        vec![v4(24, [10, 1, 1, 0]), v4(16, [10, 1, 0, 0])]
    );
    // Deleting the /24 leaves the /16 in charge.
    m.delete(&v4(24, [10, 1, 1, 255])).unwrap();
    assert_eq!(find(&m, [10, 1, 1, 7]), Some(16));
    let e = m.delete(&v4(24, [10, 1, 1, 0])).unwrap_err();
    assert_eq!((e.clone(), e.errno()), (MapError::NotFound, errno::ENOENT));
    // Only the exact prefix is deleted, never a longer or shorter one.
    assert_eq!(m.delete(&v4(8, [10, 0, 0, 0])), Err(MapError::NotFound));
    assert_eq!(m.delete(&v4(17, [10, 1, 0, 0])), Err(MapError::NotFound));
    m.delete(&v4(16, [10, 1, 0, 0])).unwrap();
    assert_eq!(find(&m, [10, 1, 1, 7]), None);
    assert_eq!(m.keys().unwrap(), Vec::<Vec<u8>>::new());
    // BPF_F_LOCK and unknown flags are refused.
    let e = m
        .update(&v4(8, [10, 0, 0, 0]), &val(1), update::F_LOCK)
        .unwrap_err();
    assert_eq!((e.clone(), e.errno()), (MapError::Flags(4), errno::EINVAL));
}

#[test]
fn prefix_lengths_past_the_data_are_invalid() {
    let m = trie(4, 4);
    let e = m
        .update(&v4(33, [10, 0, 0, 0]), &val(1), update::ANY)
        .unwrap_err();
    assert_eq!(
        (e.clone(), e.errno()),
        (
            MapError::PrefixLen {
                prefixlen: 33,
                max: 32
            },
            errno::EINVAL
        )
    );
    assert_eq!(
        e.to_string(),
        "prefix length 33 is longer than the key's 32 bits of data"
    );
    let e = m.delete(&v4(u32::MAX, [0; 4])).unwrap_err();
    assert_eq!(e.errno(), errno::EINVAL);
    m.update(&v4(32, [1, 2, 3, 4]), &val(1), update::ANY)
        .unwrap();
    // A lookup with such a key finds nothing.
    assert_eq!(m.lookup(&v4(33, [1, 2, 3, 4])).unwrap(), None);
    assert_eq!(m.prog_lookup(&v4(33, [1, 2, 3, 4]), 0), None);
    // Keys of the wrong size are refused before their prefix is read.
    assert_eq!(
        m.lookup(&[0; 4]),
        Err(MapError::KeySize {
            expected: 8,
            got: 4
        })
    );
    assert_eq!(m.prog_update(&[0; 9], &val(1), 0, 0), Err(errno::EINVAL));
    assert_eq!(
        m.prog_update(&v4(40, [0; 4]), &val(1), 0, 0),
        Err(errno::EINVAL)
    );
}

#[test]
fn a_full_trie_refuses_new_prefixes_with_enospc() {
    let m = trie(4, 2);
    m.update(&v4(8, [10, 0, 0, 0]), &val(1), update::ANY)
        .unwrap();
    m.update(&v4(16, [10, 0, 0, 0]), &val(2), update::ANY)
        .unwrap();
    let e = m
        .update(&v4(24, [10, 0, 0, 0]), &val(3), update::ANY)
        .unwrap_err();
    assert_eq!((e.clone(), e.errno()), (MapError::NoSpace, errno::ENOSPC));
    assert_eq!(
        m.prog_update(&v4(9, [10, 0, 0, 0]), &val(3), update::ANY, 0),
        Err(errno::ENOSPC)
    );
    // Replacing an element of a full trie is fine.
    m.update(&v4(16, [10, 0, 0, 0]), &val(5), update::ANY)
        .unwrap();
    assert_eq!(find(&m, [10, 0, 1, 1]), Some(5));
    // After a delete there is room again.
    m.delete(&v4(8, [10, 0, 0, 0])).unwrap();
    m.update(&v4(24, [10, 0, 0, 0]), &val(3), update::NOEXIST)
        .unwrap();
    assert_eq!(m.keys().unwrap().len(), 2);
}

#[test]
fn programs_get_value_addresses_that_survive_replacement() {
    let m = trie(4, 4);
    let _guard = crossbeam_epoch::pin();
    m.prog_update(&v4(8, [10, 0, 0, 0]), &val(7), update::ANY, 3)
        .unwrap();
    let address = m.prog_lookup(&v4(32, [10, 9, 9, 9]), 0).unwrap();
    let region = m.regions()[0];
    assert!(region.writable && region.shared);
    assert!(address >= region.start && address + 8 <= region.start + region.len);
    assert_eq!(address % 8, 0);
    assert_eq!(read_at(&m, address), val(7));
    // A replacement goes to a new slot: the held address keeps the old
    // value until the run (this guard) ends.
    m.prog_update(&v4(8, [10, 0, 0, 0]), &val(9), update::EXIST, 0)
        .unwrap();
    let new = m.prog_lookup(&v4(32, [10, 9, 9, 9]), 0).unwrap();
    assert_ne!(new, address);
    assert_eq!((read_at(&m, address), read_at(&m, new)), (val(7), val(9)));
    assert_eq!(m.prog_lookup(&v4(32, [11, 0, 0, 0]), 0), None);
    assert_eq!(m.prog_delete(&v4(8, [10, 0, 0, 0])), Ok(()));
    assert_eq!(m.prog_delete(&v4(8, [10, 0, 0, 0])), Err(errno::ENOENT));
    assert_eq!(m.prog_delete(&v4(33, [10, 0, 0, 0])), Err(errno::EINVAL));
    assert_eq!(m.prog_lookup(&v4(32, [10, 9, 9, 9]), 0), None);
    // LPM tries have no lookup-and-delete, as in the kernel.
    assert!(matches!(
        m.lookup_and_delete(&v4(8, [10, 0, 0, 0])),
        Err(MapError::Unsupported { .. })
    ));
}

#[test]
fn read_only_for_programs() {
    let def = MapDef {
        map_type: MapType::LpmTrie,
        key_size: 8,
        value_size: 8,
        max_entries: 4,
        flags: flags::NO_PREALLOC | flags::RDONLY_PROG,
    };
    let m = Map::create("ro", def, &MapOptions::default()).unwrap();
    m.update(&v4(8, [10, 0, 0, 0]), &val(1), update::ANY)
        .unwrap();
    assert!(!m.regions()[0].writable);
    assert_eq!(
        m.prog_update(&v4(8, [10, 0, 0, 0]), &val(1), 0, 0),
        Err(errno::EPERM)
    );
    assert_eq!(m.prog_delete(&v4(8, [10, 0, 0, 0])), Err(errno::EPERM));
    assert!(m.prog_lookup(&v4(32, [10, 0, 0, 1]), 0).is_some());
}

#[test]
fn definitions_follow_the_kernel() {
    let o = MapOptions::default();
    let d = |key_size, flags| MapDef {
        map_type: MapType::LpmTrie,
        key_size,
        value_size: 8,
        max_entries: 4,
        flags,
    };
    let field = |def| match Map::create("d", def, &o) {
        Err(MapError::Def(MapDefError { field, .. })) => Some(field),
        _ => None,
    };
    assert_eq!(field(d(8, 0)), Some(MapField::Flags));
    assert_eq!(field(d(4, flags::NO_PREALLOC)), Some(MapField::KeySize));
    assert_eq!(field(d(261, flags::NO_PREALLOC)), Some(MapField::KeySize));
    assert_eq!(
        field(d(8, flags::NO_PREALLOC | flags::MMAPABLE)),
        Some(MapField::Flags)
    );
    // The largest keys work: 256 data bytes, prefixes up to 2048 bits.
    let big = Map::create("big", d(260, flags::NO_PREALLOC), &o).unwrap();
    let mut data = vec![0xab; 256];
    big.update(&key(2048, &data), &val(1), 0).unwrap();
    big.update(&key(2047, &data), &val(2), 0).unwrap();
    assert_eq!(big.lookup(&key(2048, &data)).unwrap(), Some(val(1)));
    data[255] ^= 1;
    assert_eq!(big.lookup(&key(2048, &data)).unwrap(), Some(val(2)));
    assert_eq!(
        big.update(&key(2049, &data), &val(1), 0),
        Err(MapError::PrefixLen {
            prefixlen: 2049,
            max: 2048
        })
    );
    // Memory: the value slots and the index are counted.
    let needed = Map::memory_needed(&d(8, flags::NO_PREALLOC), &o).unwrap();
    assert!(needed > 4 * 8 + 4 * 8, "{needed}");
}

#[test]
fn concurrent_updates_never_hide_a_covering_prefix() {
    let m = trie(4, 4);
    m.update(&v4(8, [10, 0, 0, 0]), &val(8), update::ANY)
        .unwrap();
    let writer = {
        let m = m.clone();
        std::thread::spawn(move || {
            for i in 0..2_000u64 {
                // Every delete retires a slot; while other test threads
                // hold epoch pins, slots may all be pending (ENOMEM).
                match m.update(&v4(24, [10, 1, 1, 0]), &val(100 + i), update::ANY) {
                    Ok(()) => m.delete(&v4(24, [10, 1, 1, 0])).unwrap(),
                    Err(MapError::NoMemory) => std::thread::yield_now(),
                    Err(e) => panic!("{e:?}"),
                }
            }
        })
    };
    for _ in 0..2_000 {
        let found = find(&m, [10, 1, 1, 1]).unwrap();
        assert!(found == 8 || (100..2_100).contains(&found), "{found}");
    }
    writer.join().unwrap();
    assert_eq!(find(&m, [10, 1, 1, 1]), Some(8));
}
