//! The process-wide registry of live maps by id, which the 4-byte id form of
//! map-of-maps values ([`Map::update`] on an ARRAY_OF_MAPS or
//! HASH_OF_MAPS) resolves through, as the kernel resolves map fds. It holds
//! weak references only: a map leaves it when its last clone drops.

use super::{Inner, Map};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, Weak};

type Live = HashMap<u32, Weak<Inner>>;

fn live() -> MutexGuard<'static, Live> {
    static LIVE: OnceLock<Mutex<Live>> = OnceLock::new();
    LIVE.get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

/// Records a new map under its id.
pub(super) fn register(map: &Map) {
    live().insert(map.id(), Arc::downgrade(&map.inner));
}

/// The live map with this id, if any.
pub(super) fn get(id: u32) -> Option<Map> {
    let inner = live().get(&id)?.upgrade()?;
    Some(Map { inner })
}

impl Drop for Inner {
    fn drop(&mut self) {
        let mut live = live();
        // Only this map's own entry (ids wrap after 2^32 maps).
        if live
            .get(&self.id)
            .is_some_and(|w| std::ptr::eq(w.as_ptr(), self))
        {
            live.remove(&self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Map, MapOptions};
    use super::get;
    use bpfbox_abi::maps::{MapDef, MapType};

    #[test]
    fn live_maps_are_found_by_id_until_dropped() {
        let def = MapDef {
            map_type: MapType::Array,
            key_size: 4,
            value_size: 4,
            max_entries: 1,
            flags: 0,
        };
        let map = Map::create("r", def, &MapOptions::default()).unwrap();
        let id = map.id();
        let found = get(id).unwrap();
        assert_eq!((found.id(), found.name()), (id, "r"));
        drop((map, found));
        assert!(get(id).is_none());
        assert!(get(0).is_none());
    }
}
