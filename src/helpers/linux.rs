//! The Linux helpers bpfbox implements, under their Linux numbers, with the
//! kernel's argument and return conventions (negative errno values in r0).
//!
//! | number | helper | notes |
//! |---|---|---|
//! | 1, 2, 3 | `map_lookup_elem`, `map_update_elem`, `map_delete_elem` | keys and values are read from the run's memory, sized by the map |
//! | 87, 88, 89 | `map_push_elem`, `map_pop_elem`, `map_peek_elem` | queues and stacks |
//! | 5, 125 | `ktime_get_ns`, `ktime_get_boot_ns` | from the [`super::Host`] |
//! | 6, 177 | `trace_printk`, `trace_vprintk` | lines go to the run's trace output |
//! | 7 | `get_prandom_u32` | the run's seeded sequence |
//! | 8 | `get_smp_processor_id` | the run's CPU slot |
//! | 14, 16 | `get_current_pid_tgid`, `get_current_comm` | from the [`super::Host`] |
//! | 25 | `perf_event_output` | to the map's host-side consumer |
//! | 112–115 | `probe_read_user`, `probe_read_kernel` and their `_str` forms | only memory the run may read; otherwise the destination is zeroed and `-EFAULT` returned |
//! | 130–134 | `ringbuf_output`, `ringbuf_reserve`, `ringbuf_submit`, `ringbuf_discard`, `ringbuf_query` | |
//! | 44, 54, 65 | `xdp_adjust_head`, `xdp_adjust_meta`, `xdp_adjust_tail` | within the packet buffer's head- and tailroom ([`crate::packet`]) |
//! | 23, 51 | `redirect`, `redirect_map` | recorded as the run's verdict ([`crate::RunOutcome::redirect`]) |
//! | 26, 9 | `skb_load_bytes`, `skb_store_bytes` | offsets from the packet's start; `-EFAULT` outside it |
//! | 12 | `tail_call` | continues the run with a program from a `PROG_ARRAY` ([`crate::Map::set_program`]), at most [`MAX_TAIL_CALLS`] times per run; from a sub-program, the target replaces the sub-program's frame (fresh stack, r1 = the context) and its r0 is the sub-program's return value |
//! | 93, 94 | `spin_lock`, `spin_unlock` | a 4-byte aligned word of map memory; one lock at a time; a lock still held when the run ends is released |
//! | 181 | `loop` | run by the interpreter itself, as one local call of the callback (a `code_addr` from `lddw` source 4) per iteration, at most 2^23 |
//! | 164 | `for_each_map_elem` | hash, LRU and per-CPU hash, array and per-CPU array maps; the interpreter calls the callback per element present at the call, with the key in a read-only per-run scratch area; not nested |
//! | 28, 10, 11 | `csum_diff`, `l3_csum_replace`, `l4_csum_replace` | the arithmetic is in `helpers/csum.rs` |
//!
//! A helper whose pointer arguments point outside the run's memory fails
//! the run with an out-of-bounds trap at the call (a verified program cannot
//! do that); an argument that should be a map and is not fails the run too.

use super::{csum, printk, HelperContext, HelperError, HelperRegistry, Redirect};
use crate::error::Access;
use crate::maps::Map;
use bpfbox_abi::errno::{neg, E2BIG, EFAULT, EINVAL, ENOENT};
use bpfbox_abi::helpers::HelperId;
use bpfbox_abi::program_types::{TcAction, XdpAction};
use bpfbox_abi::MapType;
use bpfbox_abi::ProgramType;

type HelperResult = Result<u64, HelperError>;

/// `BPF_F_CURRENT_CPU`: the index meaning "this run's CPU".
const CURRENT_CPU: u64 = 0xffff_ffff;
/// `BPF_F_INDEX_MASK`.
const INDEX_MASK: u64 = 0xffff_ffff;

fn errno(result: Result<(), i32>) -> u64 {
    match result {
        Ok(()) => 0,
        Err(e) => neg(e),
    }
}

/// The map argument `handle`, or a run failure naming the argument.
fn map_arg(ctx: &HelperContext<'_, '_>, handle: u64, arg: usize) -> Result<Map, HelperError> {
    ctx.map(handle).cloned().ok_or_else(|| {
        HelperError::Failed(format!(
            "argument {arg} ({handle:#x}) is not a map of this program"
        ))
    })
}

/// The run's slot in `map`'s per-CPU storage.
fn cpu_slot(ctx: &HelperContext<'_, '_>, map: &Map) -> usize {
    ctx.cpu() as usize % map.cpus().max(1)
}

fn read(ctx: &mut HelperContext<'_, '_>, addr: u64, len: u32) -> Result<Vec<u8>, HelperError> {
    Ok(ctx.memory().read_bytes(addr, u64::from(len))?)
}

fn map_lookup_elem(ctx: &mut HelperContext<'_, '_>, a: [u64; 5]) -> HelperResult {
    let map = map_arg(ctx, a[0], 1)?;
    let key = read(ctx, a[1], map.def().key_size)?;
    if matches!(
        map.def().map_type,
        MapType::ArrayOfMaps | MapType::HashOfMaps
    ) {
        return Ok(match map.prog_lookup_inner(&key) {
            Some(inner) => ctx.adopt_inner(inner),
            None => 0,
        });
    }
    Ok(map.prog_lookup(&key, cpu_slot(ctx, &map)).unwrap_or(0))
}

fn map_update_elem(ctx: &mut HelperContext<'_, '_>, a: [u64; 5]) -> HelperResult {
    let map = map_arg(ctx, a[0], 1)?;
    let key = read(ctx, a[1], map.def().key_size)?;
    let value = read(ctx, a[2], map.def().value_size)?;
    Ok(errno(map.prog_update(
        &key,
        &value,
        a[3],
        cpu_slot(ctx, &map),
    )))
}

fn map_delete_elem(ctx: &mut HelperContext<'_, '_>, a: [u64; 5]) -> HelperResult {
    let map = map_arg(ctx, a[0], 1)?;
    let key = read(ctx, a[1], map.def().key_size)?;
    Ok(errno(map.prog_delete(&key)))
}

fn map_push_elem(ctx: &mut HelperContext<'_, '_>, a: [u64; 5]) -> HelperResult {
    let map = map_arg(ctx, a[0], 1)?;
    let value = read(ctx, a[1], map.def().value_size)?;
    Ok(errno(map.prog_push(&value, a[2])))
}

fn map_pop_or_peek(ctx: &mut HelperContext<'_, '_>, a: [u64; 5], peek: bool) -> HelperResult {
    let map = map_arg(ctx, a[0], 1)?;
    // The destination must be writable before anything is taken out.
    let size = u64::from(map.def().value_size);
    if !ctx.memory().is_accessible(a[1], size, Access::Write) {
        return Err(crate::Trap::OutOfBounds {
            addr: a[1],
            len: size,
            access: Access::Write,
        }
        .into());
    }
    match map.prog_pop(peek) {
        Ok(value) => {
            ctx.memory().write_bytes(a[1], &value)?;
            Ok(0)
        }
        Err(e) => Ok(neg(e)),
    }
}

fn trace_printk(ctx: &mut HelperContext<'_, '_>, a: [u64; 5]) -> HelperResult {
    let fmt = read(ctx, a[0], format_size(a[1])?)?;
    trace(ctx, &fmt, &a[2..5])
}

fn trace_vprintk(ctx: &mut HelperContext<'_, '_>, a: [u64; 5]) -> HelperResult {
    let fmt = read(ctx, a[0], format_size(a[1])?)?;
    let data_len = a[3];
    if data_len % 8 != 0 || data_len > 8 * printk::MAX_ARGS as u64 {
        return Ok(neg(EINVAL));
    }
    let data = ctx.memory().read_bytes(a[2], data_len)?;
    let args: Vec<u64> = data
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
        .collect();
    trace(ctx, &fmt, &args)
}

/// The format size argument, bounded so a hostile size cannot make the
/// helper read more than a page.
fn format_size(size: u64) -> Result<u32, HelperError> {
    match u32::try_from(size) {
        Ok(n) if (1..=4096).contains(&n) => Ok(n),
        _ => Err(HelperError::Failed(format!(
            "format size {size} is not in 1..=4096"
        ))),
    }
}

fn trace(ctx: &mut HelperContext<'_, '_>, fmt: &[u8], args: &[u64]) -> HelperResult {
    match printk::format(ctx, fmt, args) {
        Ok(line) => {
            let written = line.len() as u64;
            ctx.trace(line);
            Ok(written)
        }
        Err(e) => Ok(neg(e)),
    }
}

fn get_current_comm(ctx: &mut HelperContext<'_, '_>, a: [u64; 5]) -> HelperResult {
    let size = a[1];
    if size == 0 || size > 4096 {
        return Ok(neg(EINVAL));
    }
    let comm = ctx.host().comm();
    // Copy at most size - 1 bytes and NUL-terminate, like the kernel's strscpy.
    let mut buf = vec![0u8; size as usize];
    let n = comm
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(comm.len())
        .min(buf.len() - 1);
    buf[..n].copy_from_slice(&comm[..n]);
    ctx.memory().write_bytes(a[0], &buf)?;
    Ok(0)
}

fn perf_event_output(ctx: &mut HelperContext<'_, '_>, a: [u64; 5]) -> HelperResult {
    let map = map_arg(ctx, a[1], 2)?;
    if map.def().map_type != MapType::PerfEventArray || a[2] & !INDEX_MASK != 0 {
        return Ok(neg(EINVAL));
    }
    let index = match a[2] & INDEX_MASK {
        CURRENT_CPU => u64::from(ctx.cpu()),
        index => index,
    };
    let Ok(index) = u32::try_from(index) else {
        return Ok(neg(EINVAL));
    };
    let data = ctx.memory().read_bytes(a[3], a[4])?;
    Ok(errno(map.perf_output(index, &data)))
}

fn probe_read(ctx: &mut HelperContext<'_, '_>, a: [u64; 5], string: bool) -> HelperResult {
    let (dst, size, src) = (a[0], a[1], a[2]);
    // The destination is the program's own memory: it must be writable.
    if !ctx.memory().is_accessible(dst, size, Access::Write) {
        return Err(crate::Trap::OutOfBounds {
            addr: dst,
            len: size,
            access: Access::Write,
        }
        .into());
    }
    if size == 0 {
        return Ok(0);
    }
    if string {
        let mut bytes = Vec::new();
        while (bytes.len() as u64) < size - 1 {
            match ctx.memory().load(src.wrapping_add(bytes.len() as u64), 1) {
                Ok(0) => break,
                Ok(b) => bytes.push(b as u8),
                Err(_) => {
                    ctx.memory().write_bytes(dst, &vec![0; size as usize])?;
                    return Ok(neg(EFAULT));
                }
            }
        }
        bytes.push(0);
        ctx.memory().write_bytes(dst, &bytes)?;
        return Ok(bytes.len() as u64);
    }
    match ctx.memory().read_bytes(src, size) {
        Ok(bytes) => {
            ctx.memory().write_bytes(dst, &bytes)?;
            Ok(0)
        }
        Err(_) => {
            ctx.memory().write_bytes(dst, &vec![0; size as usize])?;
            Ok(neg(EFAULT))
        }
    }
}

fn ringbuf_output(ctx: &mut HelperContext<'_, '_>, a: [u64; 5]) -> HelperResult {
    let map = map_arg(ctx, a[0], 1)?;
    if map.def().map_type != MapType::Ringbuf {
        return Ok(neg(EINVAL));
    }
    let data = ctx.memory().read_bytes(a[1], a[2])?;
    Ok(errno(map.ringbuf_output(&data)))
}

fn ringbuf_reserve(ctx: &mut HelperContext<'_, '_>, a: [u64; 5]) -> HelperResult {
    let map = map_arg(ctx, a[0], 1)?;
    if map.def().map_type != MapType::Ringbuf || a[2] != 0 {
        return Ok(0);
    }
    Ok(map.ringbuf_reserve(a[1]).unwrap_or(0))
}

fn ringbuf_commit(ctx: &mut HelperContext<'_, '_>, a: [u64; 5], discard: bool) -> HelperResult {
    let record = a[0];
    // The record belongs to whichever ring buffer of the run holds it.
    let map = ctx
        .env
        .maps
        .iter()
        .find(|m| {
            m.def().map_type == MapType::Ringbuf
                && m.regions()
                    .iter()
                    .any(|r| record.wrapping_sub(r.start) < r.len)
        })
        .cloned()
        .ok_or_else(|| HelperError::Failed(format!("{record:#x} is not a ring buffer record")))?;
    map.ringbuf_commit(record, discard).map_err(|e| {
        HelperError::Failed(format!(
            "{record:#x} is not a reserved ring buffer record (errno {e})"
        ))
    })?;
    Ok(0)
}

fn ringbuf_query(ctx: &mut HelperContext<'_, '_>, a: [u64; 5]) -> HelperResult {
    let map = map_arg(ctx, a[0], 1)?;
    if map.def().map_type != MapType::Ringbuf {
        return Ok(0);
    }
    Ok(map.ringbuf_query(a[1]))
}

fn xdp_adjust(
    ctx: &mut HelperContext<'_, '_>,
    a: [u64; 5],
    which: fn(&mut crate::memory::MemoryMap<'_>, i64) -> Result<(), i32>,
) -> HelperResult {
    // The delta is a C int.
    let delta = i64::from(a[1] as i32);
    Ok(errno(which(ctx.memory(), delta)))
}

/// The return value of a successful redirect for the running type.
fn redirect_verdict(ctx: &HelperContext<'_, '_>) -> u64 {
    match ctx.program_type() {
        ProgramType::Xdp => XdpAction::Redirect as u64,
        _ => TcAction::Redirect.raw() as u64,
    }
}

fn redirect(ctx: &mut HelperContext<'_, '_>, a: [u64; 5]) -> HelperResult {
    ctx.set_redirect(Redirect::Interface {
        ifindex: a[0] as u32,
        flags: a[1],
    });
    Ok(redirect_verdict(ctx))
}

fn redirect_map(ctx: &mut HelperContext<'_, '_>, a: [u64; 5]) -> HelperResult {
    let map = map_arg(ctx, a[0], 1)?;
    let key = a[1] as u32;
    let redirect_types = [
        MapType::Devmap,
        MapType::DevmapHash,
        MapType::Cpumap,
        MapType::Xskmap,
    ];
    // XSKMAP answers host lookups with EOPNOTSUPP, so ask for its keys.
    let key_bytes = key.to_le_bytes();
    let present = match map.def().map_type {
        MapType::Xskmap => map
            .keys()
            .is_ok_and(|keys| keys.iter().any(|k| k[..] == key_bytes)),
        t if redirect_types.contains(&t) => matches!(map.lookup(&key_bytes), Ok(Some(_))),
        _ => false,
    };
    if present {
        ctx.set_redirect(Redirect::Map {
            map_id: map.id(),
            key,
        });
        Ok(redirect_verdict(ctx))
    } else {
        // The low bits of the flags are the action when there is no target.
        Ok(a[2] & 0x3)
    }
}

fn skb_load_bytes(ctx: &mut HelperContext<'_, '_>, a: [u64; 5]) -> HelperResult {
    let (offset, to, len) = (a[1] & 0xffff_ffff, a[2], a[3] & 0xffff_ffff);
    match ctx.memory().packet_bytes(offset, len) {
        Some(bytes) => {
            ctx.memory().write_bytes(to, &bytes)?;
            Ok(0)
        }
        None => {
            // The kernel clears the destination when the bytes are not there.
            ctx.memory()
                .write_bytes(to, &vec![0; len.min(1 << 16) as usize])?;
            Ok(neg(EFAULT))
        }
    }
}

fn skb_store_bytes(ctx: &mut HelperContext<'_, '_>, a: [u64; 5]) -> HelperResult {
    let (offset, from, len, flags) = (a[1] & 0xffff_ffff, a[2], a[3] & 0xffff_ffff, a[4]);
    // BPF_F_RECOMPUTE_CSUM and BPF_F_INVALIDATE_HASH: nothing to recompute
    // or invalidate in userspace.
    if flags & !0x3 != 0 {
        return Ok(neg(EINVAL));
    }
    let bytes = ctx.memory().read_bytes(from, len)?;
    Ok(if ctx.memory().write_packet(offset, &bytes) {
        0
    } else {
        neg(EFAULT)
    })
}

/// Most tail calls in one run (the kernel's `MAX_TAIL_CALL_CNT`).
pub const MAX_TAIL_CALLS: u32 = 33;

fn tail_call(ctx: &mut HelperContext<'_, '_>, a: [u64; 5]) -> HelperResult {
    let map = map_arg(ctx, a[1], 2)?;
    if map.def().map_type != MapType::ProgArray {
        return Ok(neg(EINVAL));
    }
    // A tail call that cannot happen falls through to the next instruction.
    if ctx.env.tail_calls >= MAX_TAIL_CALLS {
        return Ok(neg(E2BIG));
    }
    let Some(target) = map.program(a[2] as u32) else {
        return Ok(neg(ENOENT));
    };
    if target.program_type() != ctx.program_type() {
        return Ok(neg(EINVAL));
    }
    // The run continues with `target` from its first instruction, in place
    // of the calling function: of the whole program when that is its entry
    // function; otherwise the target replaces the sub-program's frame and
    // its r0 returns to the sub-program's caller.
    ctx.env.tail_calls += 1;
    ctx.env.tail_call = Some(target);
    Err(HelperError::Exit(0))
}

fn spin_lock(ctx: &mut HelperContext<'_, '_>, a: [u64; 5]) -> HelperResult {
    if let Some(held) = ctx.env.held_lock {
        return Err(HelperError::Failed(format!(
            "spin lock {:#x} taken while holding {held:#x}: one lock at a time",
            a[0]
        )));
    }
    ctx.memory().spin_lock(a[0])?;
    ctx.env.held_lock = Some(a[0]);
    Ok(0)
}

fn spin_unlock(ctx: &mut HelperContext<'_, '_>, a: [u64; 5]) -> HelperResult {
    if ctx.env.held_lock != Some(a[0]) {
        return Err(HelperError::Failed(format!(
            "spin lock {:#x} is not held by this run",
            a[0]
        )));
    }
    ctx.memory().spin_unlock(a[0])?;
    ctx.env.held_lock = None;
    Ok(0)
}

fn csum_diff(ctx: &mut HelperContext<'_, '_>, a: [u64; 5]) -> HelperResult {
    // Bounded before reading: csum::csum_diff refuses more than 512 bytes.
    if a[1] > 512 || a[3] > 512 {
        return Ok(neg(EINVAL));
    }
    let from = ctx.memory().read_bytes(a[0], a[1])?;
    let to = ctx.memory().read_bytes(a[2], a[3])?;
    Ok(csum::csum_diff(&from, &to, a[4] as u32).unwrap_or_else(neg))
}

/// An incremental checksum update: field, old value, new value, flags.
type ChecksumUpdate = fn([u8; 2], u64, u64, u64) -> Result<[u8; 2], i32>;

/// The body of `l3_csum_replace`/`l4_csum_replace`: the checksum field is
/// at `offset` from the packet's start, updated in place.
fn csum_replace(
    ctx: &mut HelperContext<'_, '_>,
    a: [u64; 5],
    allowed_flags: u64,
    update: ChecksumUpdate,
) -> HelperResult {
    let (offset, from, to, flags) = (a[1] & 0xffff_ffff, a[2], a[3], a[4]);
    if flags & !allowed_flags != 0 {
        return Ok(neg(EINVAL));
    }
    if offset > 0xffff || offset % 2 != 0 {
        return Ok(neg(EFAULT));
    }
    let Some(field) = ctx.memory().packet_bytes(offset, 2) else {
        return Ok(neg(EFAULT));
    };
    match update([field[0], field[1]], from, to, flags) {
        Ok(new) => Ok(if ctx.memory().write_packet(offset, &new) {
            0
        } else {
            neg(EFAULT)
        }),
        Err(e) => Ok(neg(e)),
    }
}

/// Registers every helper of this module in `registry`.
pub(crate) fn register_all(registry: &mut HelperRegistry) {
    let mut add = |id: HelperId, f: fn(&mut HelperContext<'_, '_>, [u64; 5]) -> HelperResult| {
        registry.register(id.0, f);
    };
    add(HelperId::MAP_LOOKUP_ELEM, map_lookup_elem);
    add(HelperId::MAP_UPDATE_ELEM, map_update_elem);
    add(HelperId::MAP_DELETE_ELEM, map_delete_elem);
    add(HelperId::MAP_PUSH_ELEM, map_push_elem);
    add(HelperId::MAP_POP_ELEM, |ctx, a| {
        map_pop_or_peek(ctx, a, false)
    });
    add(HelperId::MAP_PEEK_ELEM, |ctx, a| {
        map_pop_or_peek(ctx, a, true)
    });
    add(HelperId::KTIME_GET_NS, |ctx, _| {
        Ok(ctx.host().monotonic_ns())
    });
    add(HelperId::KTIME_GET_BOOT_NS, |ctx, _| {
        Ok(ctx.host().boot_ns())
    });
    add(HelperId::GET_PRANDOM_U32, |ctx, _| {
        Ok(u64::from(ctx.random_u32()))
    });
    add(HelperId::GET_SMP_PROCESSOR_ID, |ctx, _| {
        Ok(u64::from(ctx.cpu()))
    });
    add(HelperId::TRACE_PRINTK, trace_printk);
    add(HelperId::TRACE_VPRINTK, trace_vprintk);
    add(HelperId::GET_CURRENT_PID_TGID, |ctx, _| {
        Ok(ctx.host().pid_tgid())
    });
    add(HelperId::GET_CURRENT_COMM, get_current_comm);
    add(HelperId::PERF_EVENT_OUTPUT, perf_event_output);
    add(HelperId::PROBE_READ_USER, |ctx, a| {
        probe_read(ctx, a, false)
    });
    add(HelperId::PROBE_READ_KERNEL, |ctx, a| {
        probe_read(ctx, a, false)
    });
    add(HelperId::PROBE_READ_USER_STR, |ctx, a| {
        probe_read(ctx, a, true)
    });
    add(HelperId::PROBE_READ_KERNEL_STR, |ctx, a| {
        probe_read(ctx, a, true)
    });
    add(HelperId::RINGBUF_OUTPUT, ringbuf_output);
    add(HelperId::RINGBUF_RESERVE, ringbuf_reserve);
    add(HelperId::RINGBUF_SUBMIT, |ctx, a| {
        ringbuf_commit(ctx, a, false)
    });
    add(HelperId::RINGBUF_DISCARD, |ctx, a| {
        ringbuf_commit(ctx, a, true)
    });
    add(HelperId::RINGBUF_QUERY, ringbuf_query);
    add(HelperId::XDP_ADJUST_HEAD, |ctx, a| {
        xdp_adjust(ctx, a, |m, d| m.adjust_head(d))
    });
    add(HelperId::XDP_ADJUST_META, |ctx, a| {
        xdp_adjust(ctx, a, |m, d| m.adjust_meta(d))
    });
    add(HelperId::XDP_ADJUST_TAIL, |ctx, a| {
        xdp_adjust(ctx, a, |m, d| m.adjust_tail(d))
    });
    add(HelperId::REDIRECT, redirect);
    add(HelperId::REDIRECT_MAP, redirect_map);
    add(HelperId::SKB_LOAD_BYTES, skb_load_bytes);
    add(HelperId::SKB_STORE_BYTES, skb_store_bytes);
    add(HelperId::CSUM_DIFF, csum_diff);
    add(HelperId::TAIL_CALL, tail_call);
    add(HelperId::SPIN_LOCK, spin_lock);
    add(HelperId::SPIN_UNLOCK, spin_unlock);
    add(HelperId::L3_CSUM_REPLACE, |ctx, a| {
        csum_replace(ctx, a, 0xf, |field, from, to, flags| {
            csum::l3_csum_replace(field, from, to, flags & 0xf)
        })
    });
    add(HelperId::L4_CSUM_REPLACE, |ctx, a| {
        csum_replace(ctx, a, 0xff, csum::l4_csum_replace)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registered_helper_has_a_prototype() {
        // The load-time check of which helpers a program type may call
        // relies on the prototypes: a helper without one would slip by.
        let registry = HelperRegistry::linux();
        let ids: Vec<u32> = registry.ids().collect();
        assert_eq!(ids.len(), 37);
        for id in ids {
            assert!(
                HelperId(id).prototype().is_some(),
                "helper {id} has no prototype"
            );
        }
        // The two helpers the interpreter runs itself.
        assert!(HelperId::LOOP.prototype().is_some());
        assert!(HelperId::FOR_EACH_MAP_ELEM.prototype().is_some());
    }
}
