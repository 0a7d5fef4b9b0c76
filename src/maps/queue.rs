//! QUEUE (first in, first out) and STACK (last in, first out): values are
//! copied in and out under a mutex, never handed to programs by address.
//! The storage is one preallocated ring of `max_entries` values, so pushes
//! never allocate.

use super::MapError;
use bpfbox_abi::maps::{update, MapDef, MapType};
use std::sync::{Mutex, PoisonError};

struct Ring {
    /// `max_entries * value_size` bytes.
    data: Vec<u8>,
    /// Index of the oldest value.
    head: usize,
    len: usize,
}

pub(crate) struct QueueMap {
    lifo: bool,
    value_size: usize,
    capacity: usize,
    ring: Mutex<Ring>,
}

impl QueueMap {
    pub(crate) fn new(def: &MapDef) -> Result<Self, MapError> {
        let value_size = def.value_size as usize;
        let capacity = def.max_entries as usize;
        let bytes = capacity.saturating_mul(value_size);
        let mut data = Vec::new();
        data.try_reserve_exact(bytes)
            .map_err(|_| MapError::Alloc { bytes })?;
        data.resize(bytes, 0);
        Ok(QueueMap {
            lifo: def.map_type == MapType::Stack,
            value_size,
            capacity,
            ring: Mutex::new(Ring {
                data,
                head: 0,
                len: 0,
            }),
        })
    }

    fn at(&self, position: usize) -> std::ops::Range<usize> {
        let start = (position % self.capacity) * self.value_size;
        start..start + self.value_size
    }

    /// Pushes `value` (already `value_size` bytes). Flags: `BPF_ANY`, or
    /// `BPF_EXIST` to drop the oldest value of a full map.
    pub(crate) fn push(&self, value: &[u8], flags: u64) -> Result<(), MapError> {
        if flags != update::ANY && flags != update::EXIST {
            return Err(MapError::Flags(flags));
        }
        let mut ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        if ring.len == self.capacity {
            if flags != update::EXIST {
                return Err(MapError::Full);
            }
            // The oldest value is at the head, for a stack as for a queue.
            ring.head = (ring.head + 1) % self.capacity;
            ring.len -= 1;
        }
        let range = self.at(ring.head + ring.len);
        ring.data[range].copy_from_slice(value);
        ring.len += 1;
        Ok(())
    }

    /// Removes (unless `peek`) and returns the next value: the oldest of a
    /// queue, the newest of a stack; `None` when empty.
    pub(crate) fn pop(&self, peek: bool) -> Option<Vec<u8>> {
        let mut ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        if ring.len == 0 {
            return None;
        }
        let position = if self.lifo {
            ring.head + ring.len - 1
        } else {
            ring.head
        };
        let value = ring.data[self.at(position)].to_vec();
        if !peek {
            if !self.lifo {
                ring.head = (ring.head + 1) % self.capacity;
            }
            ring.len -= 1;
        }
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Map, MapError, MapOptions};
    use bpfbox_abi::errno;
    use bpfbox_abi::maps::{update, MapDef, MapType};

    fn map(map_type: MapType, max_entries: u32) -> Map {
        let def = MapDef {
            map_type,
            key_size: 0,
            value_size: 2,
            max_entries,
            flags: 0,
        };
        Map::create("q", def, &MapOptions::default()).unwrap()
    }

    #[test]
    fn queue_is_fifo_and_exist_drops_the_oldest() {
        let q = map(MapType::Queue, 3);
        assert_eq!(q.pop().unwrap(), None);
        assert_eq!(q.peek().unwrap(), None);
        for i in 1..=3u8 {
            q.push(&[i, 0], update::ANY).unwrap();
        }
        let e = q.push(&[4, 0], update::ANY).unwrap_err();
        assert_eq!((e.clone(), e.errno()), (MapError::Full, errno::E2BIG));
        q.push(&[4, 0], update::EXIST).unwrap();
        assert_eq!(q.peek().unwrap(), Some(vec![2, 0]));
        // Host lookup is peek; host update is push.
        assert_eq!(q.lookup(&[]).unwrap(), Some(vec![2, 0]));
        assert_eq!(q.pop().unwrap(), Some(vec![2, 0]));
        q.update(&[], &[5, 0], update::ANY).unwrap();
        // Lookup-and-delete is pop.
        assert_eq!(q.lookup_and_delete(&[]).unwrap(), Some(vec![3, 0]));
        let popped: Vec<_> = std::iter::from_fn(|| q.pop().unwrap()).collect();
        assert_eq!(popped, vec![vec![4, 0], vec![5, 0]]);
    }

    #[test]
    fn stack_is_lifo_and_exist_drops_the_oldest() {
        let s = map(MapType::Stack, 3);
        for i in 1..=3u8 {
            s.push(&[i, i], update::ANY).unwrap();
        }
        s.push(&[4, 4], update::EXIST).unwrap(); // drops [1, 1]
        assert_eq!(s.peek().unwrap(), Some(vec![4, 4]));
        let popped: Vec<_> = std::iter::from_fn(|| s.pop().unwrap()).collect();
        assert_eq!(popped, vec![vec![4, 4], vec![3, 3], vec![2, 2]]);
    }

    #[test]
    fn queue_errors_and_program_side() {
        let q = map(MapType::Queue, 2);
        assert_eq!(
            q.push(&[1, 2], update::NOEXIST).unwrap_err(),
            MapError::Flags(1)
        );
        assert_eq!(q.push(&[1, 2], 4).unwrap_err().errno(), errno::EINVAL);
        assert_eq!(
            q.push(&[1], 0).unwrap_err(),
            MapError::ValueSize {
                expected: 2,
                got: 1
            }
        );
        assert_eq!(q.delete(&[]).unwrap_err().errno(), errno::EINVAL);
        assert_eq!(q.keys().unwrap_err().errno(), errno::EINVAL);
        assert_eq!(
            q.lookup(&[0]).unwrap_err(),
            MapError::KeySize {
                expected: 0,
                got: 1
            }
        );
        assert!(q.regions().is_empty());
        assert_eq!(q.prog_lookup(&[], 0), None);
        assert_eq!(q.prog_pop(false), Err(errno::ENOENT));
        assert_eq!(q.prog_push(&[7, 7], 0), Ok(()));
        assert_eq!(q.prog_push(&[8, 8], 0), Ok(()));
        assert_eq!(q.prog_push(&[9, 9], 0), Err(errno::E2BIG));
        assert_eq!(q.prog_push(&[9], 0), Err(errno::EINVAL));
        assert_eq!(q.prog_update(&[], &[9, 9], 0, 0), Err(errno::EINVAL));
        assert_eq!(q.prog_pop(true), Ok(vec![7, 7]));
        assert_eq!(q.prog_pop(false), Ok(vec![7, 7]));
        assert_eq!(q.prog_pop(false), Ok(vec![8, 8]));
        assert_eq!(q.prog_pop(true), Err(errno::ENOENT));
        // Queue operations on other maps.
        let def = MapDef {
            map_type: MapType::Hash,
            key_size: 4,
            value_size: 4,
            max_entries: 1,
            flags: 0,
        };
        let h = Map::create("h", def, &MapOptions::default()).unwrap();
        assert_eq!(h.push(&[0; 4], 0).unwrap_err().errno(), errno::EINVAL);
        assert_eq!(h.prog_pop(false), Err(errno::EINVAL));
    }
}
