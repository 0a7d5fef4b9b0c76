//! PERF_EVENT_ARRAY: one bounded buffer per entry (the kernel's perf event
//! of that index, usually one per CPU), drained by the host.
//!
//! Each entry buffers at most [`PERF_BUFFER_BYTES`] bytes, counting every
//! event as its data rounded up to 8 plus 8 bytes of header (about what the
//! kernel's perf ring takes for a raw sample). An event that does not fit is
//! dropped and counted as lost, and the helper fails with `ENOSPC`, as the
//! kernel does when a perf ring buffer is full.

use super::arena::round8;
use bpfbox_abi::errno;
use bpfbox_abi::maps::MapDef;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

/// Bytes of events one entry buffers before it drops new ones.
pub const PERF_BUFFER_BYTES: usize = 64 * 1024;
/// The bookkeeping an event costs besides its data.
const EVENT_OVERHEAD: u64 = 8;

/// An event a program sent with `bpf_perf_event_output`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PerfEvent {
    /// The entry (CPU) it was sent to.
    pub cpu: u32,
    /// Its data.
    pub data: Vec<u8>,
}

/// The bytes a perf event array of `entries` entries may take.
pub(crate) fn memory(entries: u64) -> u64 {
    let per_entry = PERF_BUFFER_BYTES as u64 + std::mem::size_of::<Mutex<Buffer>>() as u64;
    entries.saturating_mul(per_entry)
}

#[derive(Default)]
struct Buffer {
    events: VecDeque<Vec<u8>>,
    /// Accounted bytes of `events`.
    bytes: u64,
}

pub(crate) struct PerfMap {
    buffers: Box<[Mutex<Buffer>]>,
    lost: AtomicU64,
}

impl PerfMap {
    pub(crate) fn new(def: &MapDef) -> Self {
        PerfMap {
            buffers: (0..def.max_entries)
                .map(|_| Mutex::new(Buffer::default()))
                .collect(),
            lost: AtomicU64::new(0),
        }
    }

    fn cost(data: &[u8]) -> u64 {
        round8(data.len() as u64).saturating_add(EVENT_OVERHEAD)
    }

    pub(crate) fn output(&self, cpu: u32, data: &[u8]) -> Result<(), i32> {
        let buffer = self.buffers.get(cpu as usize).ok_or(errno::E2BIG)?;
        let cost = Self::cost(data);
        let mut buffer = buffer.lock().unwrap_or_else(PoisonError::into_inner);
        if buffer.bytes.saturating_add(cost) > PERF_BUFFER_BYTES as u64 {
            self.lost.fetch_add(1, Ordering::Relaxed);
            return Err(errno::ENOSPC);
        }
        buffer.bytes += cost;
        buffer.events.push_back(data.to_vec());
        Ok(())
    }

    pub(crate) fn drain(&self) -> Vec<PerfEvent> {
        let mut out = Vec::new();
        for (cpu, buffer) in self.buffers.iter().enumerate() {
            let events = {
                let mut buffer = buffer.lock().unwrap_or_else(PoisonError::into_inner);
                buffer.bytes = 0;
                std::mem::take(&mut buffer.events)
            };
            out.extend(events.into_iter().map(|data| PerfEvent {
                cpu: cpu as u32,
                data,
            }));
        }
        out
    }

    pub(crate) fn lost(&self) -> u64 {
        self.lost.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Map, MapOptions};
    use super::{PerfEvent, PERF_BUFFER_BYTES};
    use bpfbox_abi::errno;
    use bpfbox_abi::maps::{MapDef, MapType};

    fn perf(entries: u32) -> Map {
        let def = MapDef {
            map_type: MapType::PerfEventArray,
            key_size: 4,
            value_size: 4,
            max_entries: entries,
            flags: 0,
        };
        Map::create("events", def, &MapOptions::default()).unwrap()
    }

    #[test]
    fn events_drain_by_cpu_in_order() {
        let m = perf(2);
        m.perf_output(1, b"b1").unwrap();
        m.perf_output(0, b"a1").unwrap();
        m.perf_output(1, b"b2").unwrap();
        assert_eq!(m.perf_output(2, b"x"), Err(errno::E2BIG));
        let event = |cpu, data: &[u8]| PerfEvent {
            cpu,
            data: data.to_vec(),
        };
        assert_eq!(
            m.perf_events().unwrap(),
            vec![event(0, b"a1"), event(1, b"b1"), event(1, b"b2")]
        );
        assert_eq!(m.perf_events().unwrap(), vec![]);
        assert_eq!(m.keys().unwrap(), vec![vec![0, 0, 0, 0], vec![1, 0, 0, 0]]);
        assert!(m.regions().is_empty());
        assert_eq!(m.lookup(&[0; 4]).unwrap_err().errno(), errno::EOPNOTSUPP);
        assert_eq!(m.ringbuf_reserve(8), None);
    }

    #[test]
    fn a_full_buffer_drops_and_counts() {
        let m = perf(1);
        // 100-byte events cost 112 bytes each.
        let fits = PERF_BUFFER_BYTES / 112;
        for _ in 0..fits {
            m.perf_output(0, &[1; 100]).unwrap();
        }
        assert_eq!(m.perf_output(0, &[1; 100]), Err(errno::ENOSPC));
        assert_eq!(m.perf_output(0, &[1; 100]), Err(errno::ENOSPC));
        assert_eq!(m.perf_lost().unwrap(), 2);
        // A smaller event still fits in what is left.
        let left = PERF_BUFFER_BYTES - fits * 112;
        m.perf_output(0, &vec![2; left - 8]).unwrap();
        assert_eq!(m.perf_output(0, &[]), Err(errno::ENOSPC));
        assert_eq!(m.perf_events().unwrap().len(), fits + 1);
        m.perf_output(0, &[3; 100]).unwrap();
        assert_eq!(m.perf_lost().unwrap(), 3);
        // An event bigger than the whole buffer is lost too.
        assert_eq!(
            m.perf_output(0, &vec![0; PERF_BUFFER_BYTES]),
            Err(errno::ENOSPC)
        );
        assert_eq!(m.perf_lost().unwrap(), 4);
    }
}
