//! Tests of the hash tables (a child module of `hash`).

use super::super::{Map, MapError, MapOptions, Storage};
use bpfbox_abi::errno;
use bpfbox_abi::maps::{update, MapDef, MapType};
use std::sync::Arc;

fn hash(map_type: MapType, value_size: u32, max_entries: u32, cpus: usize) -> Map {
    let def = MapDef {
        map_type,
        key_size: 4,
        value_size,
        max_entries,
        flags: 0,
    };
    let options = MapOptions {
        cpus,
        ..MapOptions::default()
    };
    Map::create("h", def, &options).unwrap()
}

fn key(k: u32) -> Vec<u8> {
    k.to_le_bytes().to_vec()
}

/// Reads `len` bytes at a program address of `map`, as a program would.
fn read(map: &Map, address: u64, len: usize) -> Vec<u8> {
    let Storage::Hash(h) = &map.inner.storage else {
        panic!("not a hash map");
    };
    h.arena.read_vec((address - h.arena.base()) as usize, len)
}

fn sorted_keys(map: &Map) -> Vec<Vec<u8>> {
    let mut keys = map.keys().unwrap();
    keys.sort();
    keys
}

#[test]
fn hash_update_flags_and_capacity() {
    // 2 entries, 6 slots: enough that no step waits for reclamation (other
    // test threads may hold epoch pins).
    let m = hash(MapType::Hash, 3, 2, 4);
    assert_eq!(m.lookup(&key(1)).unwrap(), None);
    let e = m.update(&key(1), &[1, 1, 1], update::EXIST).unwrap_err();
    assert_eq!((e.clone(), e.errno()), (MapError::NotFound, errno::ENOENT));
    m.update(&key(1), &[1, 2, 3], update::NOEXIST).unwrap();
    let e = m.update(&key(1), &[0; 3], update::NOEXIST).unwrap_err();
    assert_eq!((e.clone(), e.errno()), (MapError::Exists, errno::EEXIST));
    m.update(&key(1), &[4, 5, 6], update::EXIST).unwrap();
    m.update(&key(2), &[7, 8, 9], update::ANY).unwrap();
    let e = m.update(&key(3), &[0; 3], update::ANY).unwrap_err();
    assert_eq!((e.clone(), e.errno()), (MapError::Full, errno::E2BIG));
    // Replacing in a full map is fine.
    m.update(&key(2), &[1, 1, 1], update::ANY).unwrap();
    assert_eq!(m.lookup(&key(1)).unwrap(), Some(vec![4, 5, 6]));
    assert_eq!(m.lookup(&key(2)).unwrap(), Some(vec![1, 1, 1]));
    assert_eq!(sorted_keys(&m), vec![key(1), key(2)]);
    m.delete(&key(1)).unwrap();
    assert_eq!(m.delete(&key(1)).unwrap_err(), MapError::NotFound);
    assert_eq!(m.lookup(&key(1)).unwrap(), None);
    m.update(&key(3), &[3; 3], update::ANY).unwrap();
    assert_eq!(sorted_keys(&m), vec![key(2), key(3)]);
    assert_eq!(
        m.update(&key(3), &[0; 3], 3).unwrap_err(),
        MapError::Flags(3)
    );
    assert_eq!(
        m.update(&key(3), &[0; 3], update::F_LOCK).unwrap_err(),
        MapError::Flags(update::F_LOCK)
    );
    assert_eq!(
        m.delete(&[1, 2]).unwrap_err(),
        MapError::KeySize {
            expected: 4,
            got: 2
        }
    );
    assert_eq!(
        m.update(&key(3), &[0; 8], 0).unwrap_err(),
        MapError::ValueSize {
            expected: 3,
            got: 8
        }
    );
}

#[test]
fn program_side_hash_access() {
    let m = hash(MapType::Hash, 8, 4, 2);
    let region = m.regions()[0];
    assert_eq!(
        (region.len, region.writable, region.shared),
        (6 * 8, true, true)
    );
    assert_eq!(m.prog_update(&key(5), &[5; 8], update::ANY, 1), Ok(()));
    assert_eq!(
        m.prog_update(&key(5), &[5; 8], update::NOEXIST, 0),
        Err(errno::EEXIST)
    );
    assert_eq!(
        m.prog_update(&key(6), &[5; 8], update::EXIST, 0),
        Err(errno::ENOENT)
    );
    assert_eq!(m.prog_update(&key(6), &[5; 8], 7, 0), Err(errno::EINVAL));
    assert_eq!(m.prog_update(&key(6), &[5; 4], 0, 0), Err(errno::EINVAL));
    let address = m.prog_lookup(&key(5), 1).unwrap();
    assert!(address >= region.start && address + 8 <= region.start + region.len);
    assert_eq!(address % 8, 0);
    assert_eq!(read(&m, address, 8), vec![5; 8]);
    assert_eq!(m.prog_lookup(&key(6), 0), None);
    assert_eq!(m.prog_delete(&key(6)), Err(errno::ENOENT));
    assert_eq!(m.prog_delete(&key(5)), Ok(()));
    assert_eq!(m.lookup(&key(5)).unwrap(), None);
}

#[test]
fn replacing_writes_a_new_slot_and_keeps_the_old_value_for_its_readers() {
    let m = hash(MapType::Hash, 8, 1, 1);
    let guard = crossbeam_epoch::pin();
    m.update(&key(1), &[1; 8], update::ANY).unwrap();
    let old = m.prog_lookup(&key(1), 0).unwrap();
    m.update(&key(1), &[2; 8], update::ANY).unwrap();
    let new = m.prog_lookup(&key(1), 0).unwrap();
    assert_ne!(old, new);
    assert_eq!(read(&m, old, 8), vec![1; 8], "the old value is intact");
    assert_eq!(read(&m, new, 8), vec![2; 8]);
    // No slot is free while this thread is pinned: the next replacement
    // writes in place rather than fail.
    m.update(&key(1), &[3; 8], update::ANY).unwrap();
    assert_eq!(m.prog_lookup(&key(1), 0), Some(new));
    assert_eq!(read(&m, new, 8), vec![3; 8]);
    assert_eq!(read(&m, old, 8), vec![1; 8]);
    drop(guard);
}

#[test]
fn a_deleted_slot_is_not_reused_while_a_run_is_pinned() {
    let m = hash(MapType::Hash, 8, 1, 1);
    let guard = crossbeam_epoch::pin();
    m.update(&key(1), &[1; 8], update::ANY).unwrap();
    let first = m.prog_lookup(&key(1), 0).unwrap();
    m.delete(&key(1)).unwrap();
    m.update(&key(2), &[2; 8], update::ANY).unwrap();
    let second = m.prog_lookup(&key(2), 0).unwrap();
    assert_ne!(first, second);
    assert_eq!(read(&m, first, 8), vec![1; 8]);
    m.delete(&key(2)).unwrap();
    // Both slots wait for this thread's run to end.
    let e = m.update(&key(3), &[3; 8], update::ANY).unwrap_err();
    assert_eq!((e.clone(), e.errno()), (MapError::NoMemory, errno::ENOMEM));
    assert_eq!(
        m.prog_update(&key(3), &[3; 8], update::ANY, 0),
        Err(errno::ENOMEM)
    );
    assert_eq!(read(&m, first, 8), vec![1; 8]);
    assert_eq!(read(&m, second, 8), vec![2; 8]);
    drop(guard);
    // Once unpinned, the slots come back (other test threads may hold pins
    // for a moment, so allow a few tries).
    let mut tries = 0;
    while let Err(e) = m.update(&key(3), &[3; 8], update::ANY) {
        assert_eq!(e, MapError::NoMemory);
        tries += 1;
        assert!(tries < 10_000, "slots never reclaimed");
        std::thread::yield_now();
    }
    let third = m.prog_lookup(&key(3), 0).unwrap();
    assert!(third == first || third == second);
    assert_eq!(m.lookup(&key(3)).unwrap(), Some(vec![3; 8]));
}

#[test]
fn percpu_hash_layout_and_in_place_updates() {
    let m = hash(MapType::PercpuHash, 4, 2, 3);
    assert_eq!(m.host_value_size(), 24);
    let mut all = vec![0u8; 24];
    for cpu in 0..3 {
        all[cpu * 8..cpu * 8 + 4].copy_from_slice(&[cpu as u8 + 1; 4]);
    }
    m.update(&key(1), &all, update::ANY).unwrap();
    assert_eq!(m.lookup(&key(1)).unwrap(), Some(all.clone()));
    let address = m.prog_lookup(&key(1), 2).unwrap();
    // A program's update writes its own CPU's value in place.
    m.prog_update(&key(1), &[9; 4], update::EXIST, 2).unwrap();
    assert_eq!(m.prog_lookup(&key(1), 2), Some(address));
    assert_eq!(read(&m, address, 4), vec![9; 4]);
    let mut expected = all.clone();
    expected[16..20].copy_from_slice(&[9; 4]);
    assert_eq!(m.lookup(&key(1)).unwrap(), Some(expected));
    // A new element from a program: other CPUs' values are zero.
    m.prog_update(&key(2), &[7; 4], update::NOEXIST, 1).unwrap();
    let mut expected = vec![0u8; 24];
    expected[8..12].copy_from_slice(&[7; 4]);
    assert_eq!(m.lookup(&key(2)).unwrap(), Some(expected));
    assert_eq!(
        m.prog_lookup(&key(2), 0).unwrap() + 8,
        m.prog_lookup(&key(2), 1).unwrap()
    );
    assert_eq!(m.prog_lookup(&key(2), 3), None);
    // The host's update replaces every CPU's value, in place too.
    m.update(&key(1), &[0; 24], update::ANY).unwrap();
    assert_eq!(m.prog_lookup(&key(1), 2), Some(address));
    assert_eq!(m.lookup(&key(1)).unwrap(), Some(vec![0; 24]));
}

#[test]
fn lru_evicts_elements_not_recently_used() {
    // 4 entries, 8 slots: slots are handed out in order 0, 1, 2, ...
    let m = hash(MapType::LruHash, 8, 4, 4);
    for k in 1..=4 {
        m.update(&key(k), &[k as u8; 8], update::ANY).unwrap();
    }
    assert!(m.prog_lookup(&key(1), 0).is_some());
    assert!(m.prog_lookup(&key(2), 0).is_some());
    // Full: 5 evicts 3, the first element not looked up.
    m.update(&key(5), &[5; 8], update::ANY).unwrap();
    assert_eq!(sorted_keys(&m), vec![key(1), key(2), key(4), key(5)]);
    // The sweep cleared 1's and 2's bits; it goes on from 4.
    m.update(&key(6), &[6; 8], update::ANY).unwrap();
    assert_eq!(sorted_keys(&m), vec![key(1), key(2), key(5), key(6)]);
    // Host lookups do not count as use: 5 goes next.
    assert_eq!(m.lookup(&key(5)).unwrap(), Some(vec![5; 8]));
    m.update(&key(7), &[7; 8], update::ANY).unwrap();
    assert_eq!(sorted_keys(&m), vec![key(1), key(2), key(6), key(7)]);
    // Replacing an element of a full map evicts nothing.
    m.update(&key(1), &[11; 8], update::EXIST).unwrap();
    assert_eq!(sorted_keys(&m), vec![key(1), key(2), key(6), key(7)]);
    assert_eq!(m.lookup(&key(1)).unwrap(), Some(vec![11; 8]));
    // Flags still apply.
    assert_eq!(
        m.update(&key(9), &[0; 8], update::EXIST),
        Err(MapError::NotFound)
    );
    assert_eq!(
        m.update(&key(2), &[0; 8], update::NOEXIST),
        Err(MapError::Exists)
    );
    m.delete(&key(2)).unwrap();
    assert_eq!(sorted_keys(&m), vec![key(1), key(6), key(7)]);
}

#[test]
fn lru_percpu_hash() {
    let m = hash(MapType::LruPercpuHash, 4, 1, 2);
    m.prog_update(&key(1), &[1; 4], update::ANY, 1).unwrap();
    assert_eq!(
        m.lookup(&key(1)).unwrap(),
        Some([[0; 8], [1, 1, 1, 1, 0, 0, 0, 0]].concat())
    );
    m.prog_update(&key(2), &[2; 4], update::ANY, 0).unwrap();
    assert_eq!(m.lookup(&key(1)).unwrap(), None);
    assert_eq!(
        m.lookup(&key(2)).unwrap(),
        Some([[2, 2, 2, 2, 0, 0, 0, 0], [0; 8]].concat())
    );
}

#[test]
fn devmap_hash_is_read_only_for_programs() {
    let m = hash(MapType::DevmapHash, 4, 2, 1);
    m.update(&key(10), &[3, 0, 0, 0], update::ANY).unwrap();
    assert!(!m.regions()[0].writable);
    let address = m.prog_lookup(&key(10), 0).unwrap();
    assert_eq!(read(&m, address, 4), vec![3, 0, 0, 0]);
    assert_eq!(m.prog_update(&key(10), &[0; 4], 0, 0), Err(errno::EINVAL));
    assert_eq!(m.prog_delete(&key(10)), Err(errno::EINVAL));
    m.delete(&key(10)).unwrap();
    assert_eq!(m.lookup(&key(10)).unwrap(), None);
}

#[test]
fn concurrent_host_updates_deletes_and_lookups() {
    const PER_THREAD: u32 = 500;
    let m = hash(MapType::Hash, 16, 4 * PER_THREAD * 2, 4);
    let value = |k: u32, round: u32| {
        let v = u64::from(k) * 1000 + u64::from(round);
        [v.to_le_bytes(), v.to_le_bytes()].concat()
    };
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (m, stop) = (m.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut seen = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    for k in (0..4 * PER_THREAD).step_by(7) {
                        if let Some(v) = m.lookup(&key(k)).unwrap() {
                            // Never torn: both halves from the same update.
                            assert_eq!(v[..8], v[8..]);
                            assert_eq!(
                                u64::from_le_bytes(v[..8].try_into().unwrap()) / 1000,
                                u64::from(k)
                            );
                            seen += 1;
                        }
                    }
                }
                seen
            })
        })
        .collect();
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let m = m.clone();
            std::thread::spawn(move || {
                let keys = t * PER_THREAD..(t + 1) * PER_THREAD;
                for k in keys.clone() {
                    m.update(&key(k), &value(k, 0), update::NOEXIST).unwrap();
                }
                for round in 1..=3 {
                    for k in keys.clone() {
                        if k % 2 == 0 && round == 1 {
                            m.delete(&key(k)).unwrap();
                        } else if k % 2 == 1 {
                            m.update(&key(k), &value(k, round), update::EXIST).unwrap();
                        }
                    }
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for r in readers {
        r.join().unwrap();
    }
    let expected: Vec<Vec<u8>> = (0..4 * PER_THREAD)
        .filter(|k| k % 2 == 1)
        .map(key)
        .collect();
    let mut got = m.keys().unwrap();
    got.sort_by_key(|k| u32::from_le_bytes(k[..].try_into().unwrap()));
    assert_eq!(got, expected);
    for k in (0..4 * PER_THREAD).filter(|k| k % 2 == 1) {
        assert_eq!(m.lookup(&key(k)).unwrap(), Some(value(k, 3)));
    }
}

#[test]
fn lookup_and_delete_takes_the_value() {
    let m = hash(MapType::PercpuHash, 2, 4, 2);
    m.update(
        &key(1),
        &[1, 2, 0, 0, 0, 0, 0, 0, 3, 4, 0, 0, 0, 0, 0, 0],
        0,
    )
    .unwrap();
    assert_eq!(
        m.lookup_and_delete(&key(1)).unwrap(),
        Some(vec![1, 2, 0, 0, 0, 0, 0, 0, 3, 4, 0, 0, 0, 0, 0, 0])
    );
    assert_eq!(m.lookup_and_delete(&key(1)).unwrap(), None);
    assert_eq!(m.lookup(&key(1)).unwrap(), None);
    assert_eq!(
        m.lookup_and_delete(&[0]).unwrap_err(),
        MapError::KeySize {
            expected: 4,
            got: 1
        }
    );
    let d = hash(MapType::DevmapHash, 4, 1, 1);
    assert_eq!(
        d.lookup_and_delete(&key(1)).unwrap_err().errno(),
        errno::EOPNOTSUPP
    );
}
