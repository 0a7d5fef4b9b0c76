//! Arrays: ARRAY and PERCPU_ARRAY (every element exists, zero-initialised),
//! and the redirect-target arrays DEVMAP, CPUMAP and XSKMAP (elements are
//! present or absent). Elements are updated in place under striped sequence
//! locks; host reads are lock-free.

use super::arena::{Stripes, ValueArena};
use super::MapError;
use crate::memory::Region;
use bpfbox_abi::maps::{update, MapDef, MapType};
use std::sync::atomic::{AtomicBool, Ordering};

pub(crate) struct ArrayMap {
    map_type: MapType,
    arena: ValueArena,
    stripes: Stripes,
    value_size: usize,
    /// `round_up(value_size, 8)`: one CPU's part of a slot.
    stride: usize,
    /// CPU parts per slot (1 unless per-CPU).
    cpus: usize,
    max_entries: u32,
    /// For redirect-target maps: which elements are present.
    present: Option<Box<[AtomicBool]>>,
}

impl ArrayMap {
    pub(crate) fn new(def: &MapDef, cpus: usize) -> Result<Self, MapError> {
        let value_size = def.value_size as usize;
        let stride = value_size.next_multiple_of(8).max(8);
        let cpus = if def.is_percpu() { cpus } else { 1 };
        let entries = def.max_entries as usize;
        // `Map::create` checked the size against the memory limit, so these
        // products fit.
        let bytes = entries.saturating_mul(stride).saturating_mul(cpus);
        let present = match def.map_type {
            MapType::Devmap | MapType::Cpumap | MapType::Xskmap => {
                let mut flags = Vec::new();
                flags
                    .try_reserve_exact(entries)
                    .map_err(|_| MapError::Alloc { bytes: entries })?;
                flags.resize_with(entries, || AtomicBool::new(false));
                Some(flags.into_boxed_slice())
            }
            _ => None,
        };
        Ok(ArrayMap {
            map_type: def.map_type,
            arena: ValueArena::new(bytes)?,
            stripes: Stripes::new(),
            value_size,
            stride,
            cpus,
            max_entries: def.max_entries,
            present,
        })
    }

    fn is_redirect(&self) -> bool {
        self.present.is_some()
    }

    /// The index a key names (keys are little-endian `u32`s, size checked by
    /// the caller).
    fn index(key: &[u8]) -> u32 {
        let mut bytes = [0u8; 4];
        let n = key.len().min(4);
        bytes[..n].copy_from_slice(&key[..n]);
        u32::from_le_bytes(bytes)
    }

    fn slot_offset(&self, index: u32) -> usize {
        index as usize * self.stride * self.cpus
    }

    fn is_present(&self, index: u32) -> bool {
        match &self.present {
            None => true,
            Some(present) => present
                .get(index as usize)
                .is_some_and(|p| p.load(Ordering::Acquire)),
        }
    }

    pub(crate) fn lookup(&self, key: &[u8]) -> Result<Option<Vec<u8>>, MapError> {
        if self.map_type == MapType::Xskmap {
            // The kernel does not return XSKMAP values to user space.
            return Err(MapError::Unsupported {
                map_type: self.map_type,
                operation: "lookup",
            });
        }
        let index = Self::index(key);
        if index >= self.max_entries {
            return Ok(None);
        }
        let offset = self.slot_offset(index);
        Ok(self.stripes.read(index as usize, || {
            if !self.is_present(index) {
                return None;
            }
            let mut out = vec![0; self.stride * self.cpus];
            for cpu in 0..self.cpus {
                let at = cpu * self.stride;
                self.arena
                    .read(offset + at, &mut out[at..at + self.value_size]);
            }
            if self.cpus == 1 {
                out.truncate(self.value_size);
            }
            Some(out)
        }))
    }

    /// Writes `value` into element `key`: every CPU's part (`cpu` `None`,
    /// from the host, in the per-CPU user-space layout) or one CPU's part
    /// (`cpu` `Some`, from a program). Flags are already checked to be
    /// `BPF_ANY`, `BPF_NOEXIST` or `BPF_EXIST`.
    pub(crate) fn update(
        &self,
        key: &[u8],
        value: &[u8],
        flags: u64,
        cpu: Option<usize>,
    ) -> Result<(), MapError> {
        if cpu.is_some() && self.is_redirect() {
            return Err(MapError::InvalidOperation {
                map_type: self.map_type,
                operation: "update from a program",
            });
        }
        let index = Self::index(key);
        if index >= self.max_entries {
            return Err(MapError::IndexOutOfRange {
                index,
                max_entries: self.max_entries,
            });
        }
        let _guard = self.stripes.write(index as usize);
        match self.map_type {
            // Present or not, the kernel refuses BPF_NOEXIST on these.
            MapType::Array | MapType::PercpuArray | MapType::Devmap | MapType::Cpumap
                if flags == update::NOEXIST =>
            {
                return Err(MapError::Exists)
            }
            MapType::Xskmap if flags == update::NOEXIST && self.is_present(index) => {
                return Err(MapError::Exists)
            }
            MapType::Xskmap if flags == update::EXIST && !self.is_present(index) => {
                return Err(MapError::NotFound)
            }
            _ => {}
        }
        let offset = self.slot_offset(index);
        match cpu {
            // Only per-CPU arrays have a part per CPU.
            Some(cpu) => {
                let cpu = if self.cpus > 1 { cpu } else { 0 };
                self.arena.write(offset + cpu * self.stride, value);
            }
            None => {
                for (c, part) in value.chunks(self.stride).take(self.cpus).enumerate() {
                    let part = &part[..self.value_size.min(part.len())];
                    self.arena.write(offset + c * self.stride, part);
                }
            }
        }
        if let Some(present) = &self.present {
            if let Some(p) = present.get(index as usize) {
                p.store(true, Ordering::Release);
            }
        }
        Ok(())
    }

    pub(crate) fn delete(&self, key: &[u8]) -> Result<(), MapError> {
        let Some(present) = &self.present else {
            return Err(MapError::InvalidOperation {
                map_type: self.map_type,
                operation: "delete (array elements always exist)",
            });
        };
        let index = Self::index(key);
        let Some(flag) = present.get(index as usize) else {
            return Err(MapError::InvalidOperation {
                map_type: self.map_type,
                operation: "delete of an index past max_entries",
            });
        };
        let _guard = self.stripes.write(index as usize);
        flag.store(false, Ordering::Release);
        self.arena
            .zero(self.slot_offset(index), self.stride * self.cpus);
        Ok(())
    }

    /// The region programs see: none for CPUMAP (programs only redirect to
    /// it), read-only for DEVMAP and XSKMAP (the kernel makes them read-only
    /// for programs).
    pub(crate) fn region(&self, writable: bool) -> Option<Region> {
        match self.map_type {
            MapType::Cpumap => None,
            MapType::Devmap | MapType::Xskmap => Some(self.arena.region(false)),
            _ => Some(self.arena.region(writable)),
        }
    }

    pub(crate) fn prog_lookup(&self, key: &[u8], cpu: usize) -> Option<u64> {
        let index = Self::index(key);
        let cpu = if self.cpus > 1 { cpu } else { 0 };
        if index >= self.max_entries || cpu >= self.cpus {
            return None;
        }
        if self.map_type == MapType::Cpumap || !self.is_present(index) {
            return None;
        }
        let offset = self.slot_offset(index) + cpu * self.stride;
        Some(self.arena.base() + offset as u64)
    }

    pub(crate) fn direct_value_address(&self, offset: u32) -> Result<u64, MapError> {
        if offset as usize >= self.value_size {
            return Err(MapError::Offset {
                offset,
                value_size: self.value_size as u32,
            });
        }
        Ok(self.arena.base() + u64::from(offset))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Map, MapError, MapOptions};
    use bpfbox_abi::errno;
    use bpfbox_abi::maps::{flags, update, MapDef, MapType};

    fn map(map_type: MapType, value_size: u32, max_entries: u32, cpus: usize) -> Map {
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
        Map::create("a", def, &options).unwrap()
    }

    fn key(i: u32) -> [u8; 4] {
        i.to_le_bytes()
    }

    #[test]
    fn array_elements_exist_zeroed_and_cannot_be_deleted() {
        let m = map(MapType::Array, 6, 3, 2);
        assert_eq!(m.lookup(&key(2)).unwrap(), Some(vec![0; 6]));
        assert_eq!(m.lookup(&key(3)).unwrap(), None);
        m.update(&key(1), &[1, 2, 3, 4, 5, 6], update::ANY).unwrap();
        m.update(&key(1), &[9, 2, 3, 4, 5, 6], update::EXIST)
            .unwrap();
        assert_eq!(m.lookup(&key(1)).unwrap(), Some(vec![9, 2, 3, 4, 5, 6]));
        let e = m.update(&key(1), &[0; 6], update::NOEXIST).unwrap_err();
        assert_eq!((e.clone(), e.errno()), (MapError::Exists, errno::EEXIST));
        let e = m.update(&key(3), &[0; 6], update::ANY).unwrap_err();
        assert_eq!(
            e,
            MapError::IndexOutOfRange {
                index: 3,
                max_entries: 3
            }
        );
        assert_eq!(e.errno(), errno::E2BIG);
        assert_eq!(m.delete(&key(1)).unwrap_err().errno(), errno::EINVAL);
        assert_eq!(
            m.update(&key(0), &[0; 6], 3).unwrap_err(),
            MapError::Flags(3)
        );
        assert_eq!(
            m.update(&key(0), &[0; 6], update::F_LOCK)
                .unwrap_err()
                .errno(),
            errno::EINVAL
        );
        assert_eq!(m.keys().unwrap(), vec![key(0), key(1), key(2)]);
        assert_eq!(
            m.lookup(&[0; 8]).unwrap_err(),
            MapError::KeySize {
                expected: 4,
                got: 8
            }
        );
        assert_eq!(
            m.update(&key(0), &[0; 5], 0).unwrap_err(),
            MapError::ValueSize {
                expected: 6,
                got: 5
            }
        );
    }

    #[test]
    fn program_side_array_access() {
        let m = map(MapType::Array, 4, 2, 2);
        let region = m.regions()[0];
        assert_eq!(
            (region.len, region.writable, region.shared),
            (16, true, true)
        );
        let a0 = m.prog_lookup(&key(0), 0).unwrap();
        let a1 = m.prog_lookup(&key(1), 1).unwrap();
        assert_eq!((a0, a1), (region.start, region.start + 8));
        assert_eq!(m.prog_lookup(&key(2), 0), None);
        assert_eq!(m.prog_update(&key(1), &[7, 0, 0, 1], 0, 0), Ok(()));
        assert_eq!(m.lookup(&key(1)).unwrap(), Some(vec![7, 0, 0, 1]));
        assert_eq!(m.prog_update(&key(1), &[0; 4], 1, 0), Err(errno::EEXIST));
        assert_eq!(m.prog_update(&key(5), &[0; 4], 0, 0), Err(errno::E2BIG));
        assert_eq!(m.prog_delete(&key(0)), Err(errno::EINVAL));
        assert_eq!(
            m.direct_value_address(0).unwrap_err().errno(),
            errno::EOPNOTSUPP
        );
        let g = map(MapType::Array, 12, 1, 2);
        let base = g.regions()[0].start;
        assert_eq!(g.direct_value_address(11), Ok(base + 11));
        assert_eq!(
            g.direct_value_address(12),
            Err(MapError::Offset {
                offset: 12,
                value_size: 12
            })
        );
    }

    #[test]
    fn percpu_array_layout() {
        let m = map(MapType::PercpuArray, 4, 2, 3);
        assert_eq!(m.host_value_size(), 24);
        assert_eq!(m.lookup(&key(1)).unwrap(), Some(vec![0; 24]));
        let mut all = vec![0u8; 24];
        for cpu in 0..3u8 {
            all[cpu as usize * 8..][..4].copy_from_slice(&[cpu + 1, 0, 0, cpu]);
            all[cpu as usize * 8 + 4..][..4].copy_from_slice(&[0xee; 4]); // padding
        }
        m.update(&key(1), &all, 0).unwrap();
        let expected = [
            1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 1, 0, 0, 0, 0, 3, 0, 0, 2, 0, 0, 0, 0,
        ];
        assert_eq!(m.lookup(&key(1)).unwrap().unwrap(), expected);
        // A program writes only its CPU's value.
        m.prog_update(&key(1), &[9, 9, 9, 9], 0, 2).unwrap();
        let got = m.lookup(&key(1)).unwrap().unwrap();
        assert_eq!(got[..16], expected[..16]);
        assert_eq!(got[16..], [9, 9, 9, 9, 0, 0, 0, 0]);
        let base = m.regions()[0].start;
        assert_eq!(m.prog_lookup(&key(1), 2), Some(base + 24 + 16));
        assert_eq!(m.prog_lookup(&key(1), 3), None);
        assert_eq!(m.prog_update(&key(1), &[0; 4], 0, 3), Err(errno::EINVAL));
        assert_eq!(
            m.update(&key(1), &[0; 12], 0).unwrap_err(),
            MapError::ValueSize {
                expected: 24,
                got: 12
            }
        );
    }

    #[test]
    fn redirect_arrays_track_presence() {
        let d = map(MapType::Devmap, 4, 4, 1);
        assert_eq!(d.lookup(&key(1)).unwrap(), None);
        assert_eq!(d.prog_lookup(&key(1), 0), None);
        d.update(&key(1), &[3, 0, 0, 0], update::ANY).unwrap();
        assert_eq!(d.lookup(&key(1)).unwrap(), Some(vec![3, 0, 0, 0]));
        assert_eq!(
            d.update(&key(1), &[3, 0, 0, 0], update::NOEXIST),
            Err(MapError::Exists)
        );
        let region = d.regions()[0];
        assert!(!region.writable);
        assert_eq!(d.prog_lookup(&key(1), 0), Some(region.start + 8));
        assert_eq!(d.prog_update(&key(1), &[0; 4], 0, 0), Err(errno::EINVAL));
        d.delete(&key(1)).unwrap();
        d.delete(&key(1)).unwrap(); // deleting an absent element succeeds
        assert_eq!(d.lookup(&key(1)).unwrap(), None);
        assert_eq!(d.delete(&key(4)).unwrap_err().errno(), errno::EINVAL);

        let c = map(MapType::Cpumap, 8, 2, 1);
        c.update(&key(0), &[1; 8], 0).unwrap();
        assert_eq!(c.lookup(&key(0)).unwrap(), Some(vec![1; 8]));
        assert_eq!(c.prog_lookup(&key(0), 0), None);
        assert!(c.regions().is_empty());

        let x = map(MapType::Xskmap, 4, 2, 1);
        assert_eq!(
            x.update(&key(0), &[1; 4], update::EXIST),
            Err(MapError::NotFound)
        );
        x.update(&key(0), &[1; 4], update::NOEXIST).unwrap();
        assert_eq!(
            x.update(&key(0), &[1; 4], update::NOEXIST),
            Err(MapError::Exists)
        );
        assert_eq!(x.lookup(&key(0)).unwrap_err().errno(), errno::EOPNOTSUPP);
        assert!(x.prog_lookup(&key(0), 0).is_some());
    }

    #[test]
    fn access_flags() {
        let def = MapDef {
            map_type: MapType::Array,
            key_size: 4,
            value_size: 4,
            max_entries: 1,
            flags: flags::RDONLY_PROG,
        };
        let m = Map::create("ro", def, &MapOptions::default()).unwrap();
        m.update(&key(0), &[1, 2, 3, 4], 0).unwrap();
        assert!(!m.regions()[0].writable);
        assert_eq!(m.prog_update(&key(0), &[0; 4], 0, 0), Err(errno::EPERM));
        m.freeze();
        assert!(m.is_frozen());
        assert_eq!(
            m.update(&key(0), &[0; 4], 0).unwrap_err().errno(),
            errno::EPERM
        );
        assert_eq!(m.lookup(&key(0)).unwrap(), Some(vec![1, 2, 3, 4]));
        let def = MapDef {
            flags: flags::WRONLY,
            ..def
        };
        let m = Map::create("wo", def, &MapOptions::default()).unwrap();
        assert_eq!(m.lookup(&key(0)).unwrap_err().errno(), errno::EPERM);
        let def = MapDef {
            flags: flags::RDONLY,
            ..def
        };
        let m = Map::create("rdonly", def, &MapOptions::default()).unwrap();
        assert_eq!(
            m.update(&key(0), &[0; 4], 0).unwrap_err(),
            MapError::Permission {
                operation: "update"
            }
        );
    }
}
