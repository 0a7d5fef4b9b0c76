//! Tests of maps of maps (a child module of `of_maps`).

use super::super::{registry, Map, MapError, MapOptions};
use crate::helpers::{map_handle, MAP_HANDLE_TAG};
use bpfbox_abi::errno;
use bpfbox_abi::maps::{flags, update, MapDef, MapDefError, MapField, MapType};
use std::time::{Duration, Instant};

fn def(map_type: MapType, key_size: u32, value_size: u32, max_entries: u32) -> MapDef {
    MapDef {
        map_type,
        key_size,
        value_size,
        max_entries,
        flags: 0,
    }
}

fn map(map_type: MapType, key_size: u32, value_size: u32, max_entries: u32) -> Map {
    let def = def(map_type, key_size, value_size, max_entries);
    Map::create("inner", def, &MapOptions::default()).unwrap()
}

fn outer(map_type: MapType, key_size: u32, max_entries: u32, template: &Map) -> Map {
    let def = def(map_type, key_size, 4, max_entries);
    Map::create_of_maps("outer", def, template, &MapOptions::default()).unwrap()
}

fn key(k: u32) -> Vec<u8> {
    k.to_le_bytes().to_vec()
}

fn id_bytes(m: &Map) -> Vec<u8> {
    m.id().to_le_bytes().to_vec()
}

/// Flushes the epoch collector until `id` names no live map (other test
/// threads may hold pins for a while).
fn wait_until_dropped(id: u32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        crossbeam_epoch::pin().flush();
        if registry::get(id).is_none() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    false
}

#[test]
fn inner_maps_of_another_shape_are_refused() {
    let template = map(MapType::Hash, 4, 8, 4);
    let o = outer(MapType::ArrayOfMaps, 4, 4, &template);
    assert_eq!(o.inner_template(), Some(template.def()));
    // Hash inner maps may differ in max_entries.
    o.set_inner(&key(0), &map(MapType::Hash, 4, 8, 100), update::ANY)
        .unwrap();
    let other = map(MapType::Hash, 4, 4, 4);
    let e = o.set_inner(&key(1), &other, update::ANY).unwrap_err();
    assert_eq!(
        e,
        MapError::InnerMapMismatch {
            expected: *template.def(),
            got: *other.def()
        }
    );
    assert_eq!(e.errno(), errno::EINVAL);
    for wrong in [
        map(MapType::LruHash, 4, 8, 4),
        map(MapType::Hash, 8, 8, 4),
        Map::create(
            "flags",
            MapDef {
                flags: flags::RDONLY_PROG,
                ..def(MapType::Hash, 4, 8, 4)
            },
            &MapOptions::default(),
        )
        .unwrap(),
    ] {
        let e = o.set_inner(&key(1), &wrong, update::ANY).unwrap_err();
        assert!(matches!(e, MapError::InnerMapMismatch { .. }), "{e:?}");
        // The id form is checked the same way.
        let e = o
            .update(&key(1), &id_bytes(&wrong), update::ANY)
            .unwrap_err();
        assert!(matches!(e, MapError::InnerMapMismatch { .. }), "{e:?}");
    }
    // An outer map cannot hold itself (it is not of the template's shape).
    let e = o.update(&key(1), &id_bytes(&o), update::ANY).unwrap_err();
    assert!(matches!(e, MapError::InnerMapMismatch { .. }), "{e:?}");
    assert!(o.inner(&key(1)).unwrap().is_none());
    // Array inner maps must also agree on max_entries.
    let array = map(MapType::Array, 4, 8, 2);
    let h = outer(MapType::HashOfMaps, 8, 4, &array);
    h.set_inner(&[1; 8], &map(MapType::Array, 4, 8, 2), update::ANY)
        .unwrap();
    let e = h
        .set_inner(&[2; 8], &map(MapType::Array, 4, 8, 3), update::ANY)
        .unwrap_err();
    assert!(matches!(e, MapError::InnerMapMismatch { .. }), "{e:?}");
    // Ids that name no live map.
    let e = o.update(&key(1), &key(0), update::ANY).unwrap_err();
    assert_eq!((e.clone(), e.errno()), (MapError::NoSuchMap(0), 9));
    assert_eq!(e.to_string(), "no live map has id 0");
}

#[test]
fn creation_needs_a_usable_template() {
    let o = MapOptions::default();
    let template = map(MapType::Array, 4, 4, 1);
    let e = Map::create("m", def(MapType::ArrayOfMaps, 4, 4, 1), &o).unwrap_err();
    assert!(matches!(e, MapError::InnerMapTemplate(_)), "{e:?}");
    assert_eq!(e.errno(), errno::EINVAL);
    let nested = outer(MapType::ArrayOfMaps, 4, 1, &template);
    let e = Map::create_of_maps("m", def(MapType::HashOfMaps, 4, 4, 1), &nested, &o).unwrap_err();
    assert_eq!(
        e,
        MapError::InnerMapTemplate("maps of maps cannot be inner maps")
    );
    let e = Map::create_of_maps("m", def(MapType::Hash, 4, 4, 1), &template, &o).unwrap_err();
    assert_eq!(e.errno(), errno::EINVAL);
    let field = |d| match Map::create_of_maps("m", d, &template, &o) {
        Err(MapError::Def(MapDefError { field, .. })) => Some(field),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        field(def(MapType::ArrayOfMaps, 4, 8, 1)),
        MapField::ValueSize.into()
    );
    assert_eq!(
        field(def(MapType::ArrayOfMaps, 8, 4, 1)),
        MapField::KeySize.into()
    );
    assert_eq!(
        field(MapDef {
            flags: flags::RDONLY_PROG,
            ..def(MapType::HashOfMaps, 4, 4, 1)
        }),
        MapField::Flags.into()
    );
    // The memory limit applies to the outer map's own index.
    let small = MapOptions {
        memory_limit: 1024,
        ..MapOptions::default()
    };
    let e = Map::create_of_maps(
        "m",
        def(MapType::ArrayOfMaps, 4, 4, 1 << 20),
        &template,
        &small,
    )
    .unwrap_err();
    assert!(matches!(e, MapError::MemoryLimit { .. }), "{e:?}");
    // Inner maps are not of-maps-only operations' targets.
    let e = template.set_inner(&key(0), &template, 0).unwrap_err();
    assert!(matches!(e, MapError::InvalidOperation { .. }), "{e:?}");
    assert!(template.inner(&key(0)).is_err());
    assert_eq!(template.inner_template(), None);
}

#[test]
fn programs_look_inner_maps_up_by_handle() {
    let inner = map(MapType::Array, 4, 8, 2);
    inner.update(&key(1), &[5; 8], update::ANY).unwrap();
    let o = outer(MapType::ArrayOfMaps, 4, 3, &inner);
    o.set_inner(&key(2), &inner, update::ANY).unwrap();
    // The host sees the inner map's id.
    assert_eq!(o.lookup(&key(2)).unwrap(), Some(id_bytes(&inner)));
    assert_eq!(o.lookup(&key(0)).unwrap(), None);
    assert_eq!(o.lookup(&key(3)).unwrap(), None);
    assert_eq!(o.inner(&key(2)).unwrap().unwrap().id(), inner.id());
    assert_eq!(o.inner(&key(7)).unwrap().map(|m| m.id()), None);
    assert_eq!(o.keys().unwrap(), vec![key(0), key(1), key(2)]);
    // A program gets the handle, and the run resolves it to the map.
    let handle = o.prog_lookup(&key(2), 0).unwrap();
    assert_eq!(handle, MAP_HANDLE_TAG | u64::from(inner.id()));
    assert_eq!(handle, map_handle(&inner));
    assert_eq!(o.prog_lookup(&key(0), 0), None);
    assert_eq!(o.prog_lookup(&key(9), 0), None);
    assert_eq!(o.prog_lookup(&[0; 3], 0), None);
    assert_eq!(o.prog_lookup_inner(&key(2)).unwrap().id(), inner.id());
    assert!(o.prog_lookup_inner(&key(1)).is_none());
    let resolved = o.resolve_inner(handle).unwrap();
    assert_eq!(resolved.id(), inner.id());
    let address = resolved.prog_lookup(&key(1), 0).unwrap();
    let region = resolved.regions()[0];
    assert!(address >= region.start && address + 8 <= region.start + region.len);
    // Only handles of its own inner maps resolve.
    assert!(o.resolve_inner(u64::from(inner.id())).is_none());
    assert!(o.resolve_inner(map_handle(&o)).is_none());
    assert!(inner.resolve_inner(handle).is_none());
    let stranger = map(MapType::Array, 4, 8, 2);
    assert!(o.resolve_inner(map_handle(&stranger)).is_none());
    // Programs neither update nor delete elements; maps of maps have no
    // memory of their own.
    assert_eq!(
        o.prog_update(&key(0), &id_bytes(&inner), update::ANY, 0),
        Err(errno::EINVAL)
    );
    assert_eq!(o.prog_delete(&key(2)), Err(errno::EINVAL));
    assert!(o.regions().is_empty());
    // The id form of update works too.
    o.update(&key(0), &id_bytes(&stranger), update::ANY)
        .unwrap();
    assert_eq!(o.inner(&key(0)).unwrap().unwrap().id(), stranger.id());
    assert_eq!(
        o.resolve_inner(map_handle(&stranger)).unwrap().id(),
        stranger.id()
    );
}

#[test]
fn hash_of_maps_keys_flags_and_capacity() {
    let template = map(MapType::Queue, 0, 4, 8);
    let o = outer(MapType::HashOfMaps, 2, 2, &template);
    let (a, b, c) = (
        map(MapType::Queue, 0, 4, 8),
        map(MapType::Queue, 0, 4, 16),
        map(MapType::Queue, 0, 4, 8),
    );
    let e = o.set_inner(b"aa", &a, update::EXIST).unwrap_err();
    assert_eq!((e.clone(), e.errno()), (MapError::NotFound, errno::ENOENT));
    o.set_inner(b"aa", &a, update::NOEXIST).unwrap();
    let e = o.set_inner(b"aa", &b, update::NOEXIST).unwrap_err();
    assert_eq!((e.clone(), e.errno()), (MapError::Exists, errno::EEXIST));
    o.update(b"bb", &id_bytes(&b), update::ANY).unwrap();
    let e = o.set_inner(b"cc", &c, update::ANY).unwrap_err();
    assert_eq!((e.clone(), e.errno()), (MapError::Full, errno::E2BIG));
    // Replacing in a full map is fine.
    o.set_inner(b"bb", &c, update::EXIST).unwrap();
    let mut keys = o.keys().unwrap();
    keys.sort();
    assert_eq!(keys, vec![b"aa".to_vec(), b"bb".to_vec()]);
    assert_eq!(o.lookup(b"bb").unwrap(), Some(id_bytes(&c)));
    assert_eq!(o.lookup(b"zz").unwrap(), None);
    let e = o.set_inner(b"aaa", &a, update::ANY).unwrap_err();
    assert!(matches!(e, MapError::KeySize { .. }));
    let e = o.set_inner(b"aa", &a, update::F_LOCK).unwrap_err();
    assert_eq!(e, MapError::Flags(update::F_LOCK));
    assert!(matches!(
        o.lookup_and_delete(b"aa"),
        Err(MapError::Unsupported { .. })
    ));
    // A frozen outer map refuses host changes.
    o.freeze();
    assert!(matches!(
        o.set_inner(b"aa", &b, update::ANY),
        Err(MapError::Permission { .. })
    ));
    assert!(matches!(o.delete(b"aa"), Err(MapError::Permission { .. })));
}

#[test]
fn delete_and_array_rules() {
    let template = map(MapType::Hash, 4, 4, 4);
    let o = outer(MapType::ArrayOfMaps, 4, 2, &template);
    let inner = map(MapType::Hash, 4, 4, 4);
    // Arrays of maps take BPF_ANY only, and indices below max_entries.
    let e = o.set_inner(&key(0), &inner, update::NOEXIST).unwrap_err();
    assert_eq!((e.clone(), e.errno()), (MapError::Flags(1), errno::EINVAL));
    assert_eq!(
        o.set_inner(&key(0), &inner, update::EXIST),
        Err(MapError::Flags(2))
    );
    let e = o.set_inner(&key(2), &inner, update::ANY).unwrap_err();
    assert_eq!(
        (e.clone(), e.errno()),
        (
            MapError::IndexOutOfRange {
                index: 2,
                max_entries: 2
            },
            errno::E2BIG
        )
    );
    // The same map under two keys: deleting one keeps it resolvable.
    o.set_inner(&key(0), &inner, update::ANY).unwrap();
    o.set_inner(&key(1), &inner, update::ANY).unwrap();
    let handle = map_handle(&inner);
    o.delete(&key(0)).unwrap();
    assert_eq!(o.inner(&key(0)).unwrap().map(|m| m.id()), None);
    assert_eq!(o.resolve_inner(handle).unwrap().id(), inner.id());
    let e = o.delete(&key(0)).unwrap_err();
    assert_eq!((e.clone(), e.errno()), (MapError::NotFound, errno::ENOENT));
    assert_eq!(o.delete(&key(5)).unwrap_err().errno(), errno::E2BIG);
    o.delete(&key(1)).unwrap();
    assert_eq!(o.lookup(&key(1)).unwrap(), None);
    // The host's own clone keeps it alive after the outer map let go.
    assert!(wait_until_removed(&o, handle));
    assert_eq!(inner.lookup(&key(0)).unwrap(), None);
}

/// Flushes the collector until `outer` no longer resolves `handle`.
fn wait_until_removed(outer: &Map, handle: u64) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        crossbeam_epoch::pin().flush();
        if outer.resolve_inner(handle).is_none() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    false
}

#[test]
fn inner_maps_live_while_stored_and_while_runs_may_use_them() {
    let o = {
        let template = map(MapType::Hash, 4, 8, 4);
        outer(MapType::ArrayOfMaps, 4, 2, &template)
    };
    let inner = map(MapType::Hash, 4, 8, 4);
    inner.update(&key(7), &[7; 8], update::ANY).unwrap();
    let id = inner.id();
    o.set_inner(&key(0), &inner, update::ANY).unwrap();
    // The host drops its clone: the outer map keeps the inner one alive.
    drop(inner);
    let found = o.inner(&key(0)).unwrap().unwrap();
    assert_eq!(found.id(), id);
    assert_eq!(found.lookup(&key(7)).unwrap(), Some(vec![7; 8]));
    drop(found);
    assert_eq!(o.lookup(&key(0)).unwrap(), Some(id.to_le_bytes().to_vec()));
    assert!(registry::get(id).is_some());
    // A run (pinned) looks it up; the host then deletes the element. The
    // run can still resolve and use the inner map until it ends.
    let run = crossbeam_epoch::pin();
    let handle = o.prog_lookup(&key(0), 0).unwrap();
    o.delete(&key(0)).unwrap();
    assert_eq!(o.prog_lookup(&key(0), 0), None);
    for _ in 0..64 {
        crossbeam_epoch::pin().flush();
    }
    let still = o.resolve_inner(handle).unwrap();
    assert_eq!(still.id(), id);
    assert!(still.prog_lookup(&key(7), 0).is_some());
    drop(still);
    drop(run);
    // Once every run pinned before the delete has ended, it is dropped.
    assert!(wait_until_dropped(id), "inner map {id} still alive");
    assert!(o.resolve_inner(handle).is_none());
    // Replacing an element retires the old inner map the same way.
    let (first, second) = (map(MapType::Hash, 4, 8, 4), map(MapType::Hash, 4, 8, 4));
    let first_id = first.id();
    o.set_inner(&key(1), &first, update::ANY).unwrap();
    drop(first);
    o.set_inner(&key(1), &second, update::ANY).unwrap();
    assert_eq!(o.inner(&key(1)).unwrap().unwrap().id(), second.id());
    assert!(
        wait_until_dropped(first_id),
        "inner map {first_id} still alive"
    );
    // Dropping the outer map drops the inner maps it holds.
    let second_id = second.id();
    drop(second);
    assert!(registry::get(second_id).is_some());
    drop(o);
    assert!(registry::get(second_id).is_none());
}
