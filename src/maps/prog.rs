//! The program side of maps: what helpers call during a run. Addresses are
//! host addresses inside [`Map::regions`]; errors are positive errnos.

use super::{check_update_flags, Map, MapError, Storage};
use bpfbox_abi::errno;
use bpfbox_abi::maps::{flags as def_flags, MapType};

impl Map {
    fn prog_writable(&self) -> Result<(), i32> {
        if self.inner.def.flags & def_flags::RDONLY_PROG != 0 {
            return Err(errno::EPERM);
        }
        Ok(())
    }

    /// The memory a program may touch: the value arena or ring buffer data,
    /// writable unless `BPF_F_RDONLY_PROG` (or a DEVMAP, DEVMAP_HASH or
    /// XSKMAP, which programs only read). Every region is `shared`.
    pub(crate) fn regions(&self) -> Vec<crate::memory::Region> {
        let writable = self.inner.def.flags & def_flags::RDONLY_PROG == 0;
        match &self.inner.storage {
            Storage::Array(a) => a.region(writable).into_iter().collect(),
            Storage::Hash(h) => vec![h.region(writable)],
            Storage::Lpm(l) => vec![l.region(writable)],
            Storage::Ringbuf(r) => vec![r.region()],
            Storage::Queue(_) | Storage::Perf(_) | Storage::OfMaps(_) | Storage::ProgArray(_) => {
                Vec::new()
            }
        }
    }

    /// The address of the value under `key` for a run on CPU slot `cpu`
    /// (its own value for per-CPU maps), `None` if there is none. LRU maps
    /// mark the element referenced; LPM tries return the value of the
    /// longest matching prefix. The caller holds an epoch guard while it
    /// uses the address. For a map of maps this is not an address but the
    /// inner map's handle ([`crate::helpers::map_handle`]; see
    /// [`Map::resolve_inner`]).
    pub(crate) fn prog_lookup(&self, key: &[u8], cpu: usize) -> Option<u64> {
        if key.len() != self.inner.def.key_size as usize || cpu >= self.inner.cpus {
            return None;
        }
        match &self.inner.storage {
            Storage::Array(a) => a.prog_lookup(key, cpu),
            Storage::Hash(h) => h.prog_lookup(key, cpu),
            Storage::Lpm(l) => l.prog_lookup(key),
            Storage::OfMaps(o) => super::of_maps::prog_lookup(o, key),
            Storage::Queue(_) | Storage::Ringbuf(_) | Storage::Perf(_) | Storage::ProgArray(_) => {
                None
            }
        }
    }

    /// `bpf_map_update_elem` from a program on CPU slot `cpu`: as
    /// [`Map::update`], but a per-CPU map takes one value and writes only
    /// this CPU's slot (a new per-CPU hash element has the other CPUs'
    /// values zeroed), as the kernel does. Errors are positive errnos.
    pub(crate) fn prog_update(
        &self,
        key: &[u8],
        value: &[u8],
        flags: u64,
        cpu: usize,
    ) -> Result<(), i32> {
        self.prog_writable()?;
        let def = &self.inner.def;
        if key.len() != def.key_size as usize
            || value.len() != def.value_size as usize
            || cpu >= self.inner.cpus
        {
            return Err(errno::EINVAL);
        }
        check_update_flags(flags).map_err(|e| e.errno())?;
        let result = match &self.inner.storage {
            Storage::Array(a) => a.update(key, value, flags, Some(cpu)),
            Storage::Hash(h) => h.update(key, value, flags, Some(cpu)),
            Storage::Lpm(l) => l.update(key, value, flags),
            _ => Err(self.invalid("update from a program")),
        };
        result.map_err(|e| e.errno())
    }

    /// `bpf_map_delete_elem` from a program. Errors are positive errnos.
    pub(crate) fn prog_delete(&self, key: &[u8]) -> Result<(), i32> {
        self.prog_writable()?;
        if key.len() != self.inner.def.key_size as usize {
            return Err(errno::EINVAL);
        }
        let result = match &self.inner.storage {
            Storage::Hash(h) if self.map_type() != MapType::DevmapHash => h.delete(key),
            Storage::Lpm(l) => l.delete(key),
            _ => Err(self.invalid("delete from a program")),
        };
        result.map_err(|e| e.errno())
    }

    /// `bpf_map_push_elem`. Errors are positive errnos.
    pub(crate) fn prog_push(&self, value: &[u8], flags: u64) -> Result<(), i32> {
        self.prog_writable()?;
        let queue = self.queue("push").map_err(|e| e.errno())?;
        if value.len() != self.inner.def.value_size as usize {
            return Err(errno::EINVAL);
        }
        queue.push(value, flags).map_err(|e| e.errno())
    }

    /// `bpf_map_pop_elem` (or `bpf_map_peek_elem` when `peek`): the value;
    /// `ENOENT` when empty. Errors are positive errnos.
    pub(crate) fn prog_pop(&self, peek: bool) -> Result<Vec<u8>, i32> {
        if !peek {
            self.prog_writable()?;
        }
        let queue = self.queue("pop").map_err(|e| e.errno())?;
        queue.pop(peek).ok_or(errno::ENOENT)
    }

    /// The address of byte `offset` of element 0 of an ARRAY with one entry
    /// (global data: `.data`, `.rodata`, `.bss`).
    ///
    /// # Errors
    /// [`MapError::Unsupported`] for other maps, [`MapError::Offset`] for an
    /// offset at or past `value_size`.
    pub(crate) fn direct_value_address(&self, offset: u32) -> Result<u64, MapError> {
        match &self.inner.storage {
            Storage::Array(a)
                if self.map_type() == MapType::Array && self.inner.def.max_entries == 1 =>
            {
                a.direct_value_address(offset)
            }
            _ => Err(self.unsupported("direct value access")),
        }
    }

    /// Reserves `size` bytes in a ring buffer: the address of the record's
    /// data (8-byte aligned, inside [`Map::regions`]), or `None` when the
    /// record can never fit or there is no room now.
    pub(crate) fn ringbuf_reserve(&self, size: u64) -> Option<u64> {
        match &self.inner.storage {
            Storage::Ringbuf(r) => r.reserve(size),
            _ => None,
        }
    }

    /// Submits (or discards) the record whose data is at `data_addr`.
    /// `EINVAL` when that is not a live reservation of this ring buffer.
    pub(crate) fn ringbuf_commit(&self, data_addr: u64, discard: bool) -> Result<(), i32> {
        match &self.inner.storage {
            Storage::Ringbuf(r) => r.commit(data_addr, discard),
            _ => Err(errno::EINVAL),
        }
    }

    /// `bpf_ringbuf_output`: reserve, copy and submit. `EAGAIN` when there is
    /// no room.
    pub(crate) fn ringbuf_output(&self, data: &[u8]) -> Result<(), i32> {
        match &self.inner.storage {
            Storage::Ringbuf(r) => r.output(data),
            _ => Err(errno::EINVAL),
        }
    }

    /// `bpf_ringbuf_query` (`BPF_RB_AVAIL_DATA`, `BPF_RB_RING_SIZE`,
    /// `BPF_RB_CONS_POS`, `BPF_RB_PROD_POS`); 0 for other flags or maps.
    pub(crate) fn ringbuf_query(&self, what: u64) -> u64 {
        match &self.inner.storage {
            Storage::Ringbuf(r) => r.query(what),
            _ => 0,
        }
    }

    /// `bpf_perf_event_output` to slot `cpu` (the index the helper resolved
    /// from its flags). `E2BIG` for an index past `max_entries`, `ENOSPC`
    /// (and a lost event) when the slot's buffer is full.
    pub(crate) fn perf_output(&self, cpu: u32, data: &[u8]) -> Result<(), i32> {
        match &self.inner.storage {
            Storage::Perf(p) => p.output(cpu, data),
            _ => Err(errno::EINVAL),
        }
    }
}
