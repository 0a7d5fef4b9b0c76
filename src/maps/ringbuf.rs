//! RINGBUF: a data area of `max_entries` bytes shared by all producers, with
//! ever-increasing producer and consumer positions, as in the kernel.
//!
//! Each record takes an 8-byte header (length, busy bit, discard bit) and its
//! data rounded up to 8 bytes. Records are consumed in reservation order; the
//! consumer skips discarded records and stops at the first one still
//! reserved. The producer may run at most `size - 1` bytes ahead of the
//! consumer, and a record may be at most `UINT_MAX / 4` bytes and must fit in
//! the area with its header (the kernel's limits).
//!
//! Differences from the kernel:
//! - The kernel maps the data pages twice in a row so a record can wrap past
//!   the end of the area and still be contiguous. bpfbox cannot, so a record
//!   that would wrap starts at the beginning of the area instead, after a
//!   discarded padding record that fills the end (when the buffer is empty,
//!   both positions simply move to the start of the next lap). A record of
//!   more than half the area can therefore fail to fit while older records
//!   are unconsumed, where the kernel would have room.
//! - Headers are written into the area as the kernel lays them out (the
//!   second word, the kernel's page offset, is 0), but the bookkeeping is
//!   kept apart from it: a program can write anywhere in the area, so the
//!   area's headers are never trusted.

use super::arena::{round8, ValueArena};
use super::MapError;
use crate::memory::Region;
use bpfbox_abi::errno;
use bpfbox_abi::maps::MapDef;
use std::sync::{Mutex, PoisonError};

const BUSY: u32 = 1 << 31;
const DISCARD: u32 = 1 << 30;
const LEN_MASK: u32 = DISCARD - 1;
const HEADER: u64 = 8;
/// The largest record the kernel reserves (`UINT_MAX / 4`).
const MAX_RECORD: u64 = (u32::MAX / 4) as u64;

/// The bytes a ring buffer of `size` bytes takes: the area and its private
/// headers.
pub(crate) fn memory(size: u64) -> u64 {
    size.saturating_add(size / 2)
}

struct State {
    producer: u64,
    consumer: u64,
    /// Where a padding record starts (it runs to the end of the area), if
    /// one lies between the consumer and the producer.
    padding: Option<u64>,
    /// The header word of the record starting at each 8-byte position of the
    /// area (0 where none starts).
    headers: Vec<u32>,
}

pub(crate) struct RingBuf {
    area: ValueArena,
    size: u64,
    state: Mutex<State>,
}

impl RingBuf {
    pub(crate) fn new(def: &MapDef) -> Result<Self, MapError> {
        let size = def.max_entries as usize;
        let mut headers = Vec::new();
        headers
            .try_reserve_exact(size / 8)
            .map_err(|_| MapError::Alloc { bytes: size / 2 })?;
        headers.resize(size / 8, 0);
        Ok(RingBuf {
            area: ValueArena::new(size)?,
            size: size as u64,
            state: Mutex::new(State {
                producer: 0,
                consumer: 0,
                padding: None,
                headers,
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn region(&self) -> Region {
        self.area.region(true)
    }

    fn offset(&self, position: u64) -> u64 {
        position % self.size
    }

    fn set_header(&self, state: &mut State, offset: u64, header: u32) {
        if let Some(h) = state.headers.get_mut((offset / 8) as usize) {
            *h = header;
        }
        self.area.write_u32(offset as usize, header);
        self.area.write_u32(offset as usize + 4, 0);
    }

    /// Reserves a record of `size` bytes; the address of its data.
    pub(crate) fn reserve(&self, size: u64) -> Option<u64> {
        if size > MAX_RECORD {
            return None;
        }
        let len = round8(size + HEADER);
        if len > self.size {
            return None;
        }
        let mut state = self.lock();
        if state.producer == state.consumer && self.offset(state.producer) + len > self.size {
            // Empty: start the next lap rather than pad.
            let lap = state.producer.div_ceil(self.size) * self.size;
            state.producer = lap;
            state.consumer = lap;
        }
        let offset = self.offset(state.producer);
        let pad = if offset + len > self.size {
            self.size - offset
        } else {
            0
        };
        if state.producer + pad + len - state.consumer > self.size - 1 {
            return None;
        }
        if pad > 0 {
            state.padding = Some(state.producer);
            // The area's copy of the padding header (never read back).
            self.area.write_u32(
                offset as usize,
                ((pad - HEADER) as u32 & LEN_MASK) | DISCARD,
            );
            self.area.write_u32(offset as usize + 4, 0);
            state.producer += pad;
        }
        let offset = self.offset(state.producer);
        self.set_header(&mut state, offset, size as u32 | BUSY);
        state.producer += len;
        Some(self.area.base() + offset + HEADER)
    }

    /// Submits or discards the record whose data is at `data`.
    pub(crate) fn commit(&self, data: u64, discard: bool) -> Result<(), i32> {
        let offset = data
            .checked_sub(self.area.base() + HEADER)
            .filter(|o| o % 8 == 0 && *o < self.size)
            .ok_or(errno::EINVAL)?;
        let mut state = self.lock();
        let header = state.headers[(offset / 8) as usize];
        if header & BUSY == 0 {
            return Err(errno::EINVAL);
        }
        let header = (header & LEN_MASK) | if discard { DISCARD } else { 0 };
        self.set_header(&mut state, offset, header);
        Ok(())
    }

    /// `bpf_ringbuf_output`: `EAGAIN` when the record does not fit.
    pub(crate) fn output(&self, data: &[u8]) -> Result<(), i32> {
        let address = self.reserve(data.len() as u64).ok_or(errno::EAGAIN)?;
        self.area.write((address - self.area.base()) as usize, data);
        self.commit(address, false)
    }

    /// `bpf_ringbuf_query`: 0 data not yet consumed, 1 the size, 2 the
    /// consumer position, 3 the producer position; 0 for anything else.
    pub(crate) fn query(&self, what: u64) -> u64 {
        let state = self.lock();
        match what {
            0 => state.producer - state.consumer,
            1 => self.size,
            2 => state.consumer,
            3 => state.producer,
            _ => 0,
        }
    }

    /// Takes the committed records up to the first one still reserved.
    pub(crate) fn consume(&self) -> Vec<Vec<u8>> {
        let mut state = self.lock();
        let mut records = Vec::new();
        while state.consumer < state.producer {
            if state.padding == Some(state.consumer) {
                state.padding = None;
                state.consumer = state.consumer.div_ceil(self.size) * self.size;
                continue;
            }
            let offset = self.offset(state.consumer);
            let slot = (offset / 8) as usize;
            let header = state.headers[slot];
            if header & BUSY != 0 {
                break;
            }
            let len = u64::from(header & LEN_MASK);
            if header & DISCARD == 0 {
                records.push(self.area.read_vec((offset + HEADER) as usize, len as usize));
            }
            state.headers[slot] = 0;
            state.consumer += round8(len + HEADER);
        }
        records
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Map, MapError, MapOptions};
    use bpfbox_abi::errno;
    use bpfbox_abi::maps::{MapDef, MapType};

    fn ringbuf(size: u32) -> Map {
        let def = MapDef {
            map_type: MapType::Ringbuf,
            key_size: 0,
            value_size: 0,
            max_entries: size,
            flags: 0,
        };
        Map::create("rb", def, &MapOptions::default()).unwrap()
    }

    /// Writes `bytes` at a program address, as a program would.
    fn fill(m: &Map, address: u64, bytes: &[u8]) {
        let super::super::Storage::Ringbuf(r) = &m.inner.storage else {
            panic!("not a ring buffer");
        };
        r.area.write((address - r.area.base()) as usize, bytes);
    }

    #[test]
    fn records_come_out_in_reservation_order() {
        let m = ringbuf(4096);
        let region = m.regions()[0];
        assert_eq!(
            (region.len, region.writable, region.shared),
            (4096, true, true)
        );
        let a = m.ringbuf_reserve(3).unwrap();
        let b = m.ringbuf_reserve(8).unwrap();
        let c = m.ringbuf_reserve(0).unwrap();
        assert_eq!(
            (a, b, c),
            (region.start + 8, region.start + 24, region.start + 40)
        );
        fill(&m, a, b"abc");
        fill(&m, b, b"12345678");
        // `b` is committed first, but `a` is still reserved: nothing yet.
        m.ringbuf_commit(b, false).unwrap();
        assert_eq!(m.ringbuf_consume().unwrap(), Vec::<Vec<u8>>::new());
        assert_eq!(
            [0, 1, 2, 3, 4].map(|what| m.ringbuf_query(what)),
            [40, 4096, 0, 40, 0]
        );
        m.ringbuf_commit(a, false).unwrap();
        assert_eq!(
            m.ringbuf_consume().unwrap(),
            vec![b"abc".to_vec(), b"12345678".to_vec()]
        );
        // `c` is discarded: skipped.
        m.ringbuf_commit(c, true).unwrap();
        m.ringbuf_output(b"xy").unwrap();
        assert_eq!(m.ringbuf_consume().unwrap(), vec![b"xy".to_vec()]);
        assert_eq!(m.ringbuf_consume().unwrap(), Vec::<Vec<u8>>::new());
        assert_eq!([0, 2, 3].map(|what| m.ringbuf_query(what)), [0, 56, 56]);
    }

    #[test]
    fn commit_checks_the_reservation() {
        let m = ringbuf(4096);
        let a = m.ringbuf_reserve(16).unwrap();
        assert_eq!(m.ringbuf_commit(a + 8, false), Err(errno::EINVAL));
        assert_eq!(m.ringbuf_commit(a - 8, false), Err(errno::EINVAL));
        assert_eq!(m.ringbuf_commit(1, false), Err(errno::EINVAL));
        assert_eq!(m.ringbuf_commit(u64::MAX, false), Err(errno::EINVAL));
        m.ringbuf_commit(a, false).unwrap();
        assert_eq!(m.ringbuf_commit(a, true), Err(errno::EINVAL));
        assert_eq!(m.ringbuf_consume().unwrap(), vec![vec![0; 16]]);
    }

    #[test]
    fn size_limits_and_full_buffer() {
        let m = ringbuf(4096);
        // A record with its header must fit, and the producer stays at most
        // size - 1 bytes ahead of the consumer.
        assert_eq!(m.ringbuf_reserve(4096 - 8 + 1), None);
        assert_eq!(m.ringbuf_reserve(u64::MAX), None);
        assert_eq!(m.ringbuf_reserve(u64::from(u32::MAX / 4) + 1), None);
        let big = m.ringbuf_reserve(4096 - 16).unwrap();
        assert_eq!(m.ringbuf_reserve(0), None);
        assert_eq!(m.ringbuf_output(b"x"), Err(errno::EAGAIN));
        m.ringbuf_commit(big, false).unwrap();
        assert_eq!(m.ringbuf_consume().unwrap()[0].len(), 4080);
        // Empty again: a record of the whole usable size fits from the next
        // lap's start.
        let again = m.ringbuf_reserve(4096 - 16).unwrap();
        assert_eq!(again, m.regions()[0].start + 8);
    }

    #[test]
    fn records_never_wrap() {
        let m = ringbuf(4096);
        let start = m.regions()[0].start;
        // Fill to 3000 bytes, consume, then a 2000-byte record would wrap.
        let a = m.ringbuf_reserve(2992).unwrap();
        m.ringbuf_commit(a, false).unwrap();
        let small = m.ringbuf_reserve(8).unwrap(); // keeps the buffer non-empty
        assert_eq!(small, start + 3008);
        assert_eq!(m.ringbuf_consume().unwrap().len(), 1);
        let b = m.ringbuf_reserve(2000).unwrap();
        assert_eq!(b, start + 8, "starts over after a padding record");
        fill(&m, b, &[5; 2000]);
        m.ringbuf_commit(b, false).unwrap();
        m.ringbuf_commit(small, true).unwrap();
        assert_eq!(m.ringbuf_consume().unwrap(), vec![vec![5; 2000]]);
        // A record too big to fit before the unconsumed one is refused.
        let c = m.ringbuf_reserve(8).unwrap();
        assert_eq!(m.ringbuf_reserve(4000), None);
        m.ringbuf_commit(c, false).unwrap();
        assert_eq!(m.ringbuf_consume().unwrap(), vec![vec![0; 8]]);
    }

    #[test]
    fn many_laps() {
        let m = ringbuf(4096);
        for i in 0..2000u32 {
            let data = vec![i as u8; (i % 700) as usize];
            m.ringbuf_output(&data).unwrap();
            if i % 3 == 0 {
                assert_eq!(m.ringbuf_consume().unwrap().last(), Some(&data));
            }
        }
        assert_eq!(m.ringbuf_consume().unwrap(), vec![vec![207; 599]]);
    }

    #[test]
    fn host_operations_are_refused() {
        let m = ringbuf(4096);
        assert_eq!(m.lookup(&[]).unwrap_err().errno(), errno::EOPNOTSUPP);
        assert_eq!(
            m.update(&[], &[], 0).unwrap_err().errno(),
            errno::EOPNOTSUPP
        );
        assert_eq!(m.delete(&[]).unwrap_err().errno(), errno::EOPNOTSUPP);
        assert_eq!(m.keys().unwrap_err().errno(), errno::EOPNOTSUPP);
        assert!(matches!(
            m.perf_events(),
            Err(MapError::InvalidOperation { .. })
        ));
        assert_eq!(m.prog_lookup(&[], 0), None);
        assert_eq!(m.perf_output(0, b"x"), Err(errno::EINVAL));
    }
}
