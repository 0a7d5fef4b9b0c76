//! Fuzz target `elf`: arbitrary bytes through the ELF loader.
//!
//! Every input goes to [`Object::parse`]; an object that parses is walked
//! (programs, maps, globals, source lines), its globals are set to zeroes
//! with [`Object::set_global`] (as a skeleton sets configuration), and it is
//! loaded with a 1 MiB map memory limit. Nothing is run: running programs is
//! another target's job.
//!
//! Besides panics, overflows (debug assertions are on under cargo-fuzz) and
//! sanitizer findings, the target enforces bpfbox's resource rule for
//! untrusted objects: reading one allocates at most `16 × input length +
//! 1 MiB` live bytes at any moment, and loading it at most that plus the map
//! memory limit plus [`BYTES_PER_LOADED_SLOT`] per instruction slot of the
//! programs loaded (`set_global` counts as reading). The last term is
//! compilation, not loading: each program keeps its own decoded and
//! predecoded copy of its code (sub-programs included, as in the kernel),
//! and the loader bounds the slots all programs may have together
//! ([`bpfbox::elf::link_limit`]), so that term is bounded by the input too. A counting global allocator measures the peak of live bytes
//! during each phase; going over panics with the peak, the limit and the
//! input size, which libFuzzer reports as a crash.
//!
//! Set `BPFBOX_FUZZ_ABORT_AT_LIMIT=1` to abort inside the allocation that
//! first crosses the limit instead, so that libFuzzer's crash report shows
//! the allocation site in its stack trace.

#![no_main]

use bpfbox::elf::{LoadOptions, Object};
use libfuzzer_sys::fuzz_target;
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::Once;

/// What a loaded program may keep per instruction slot: its raw and decoded
/// instructions and the interpreter's predecoded ops (measured at about 66
/// bytes, with the power-of-two padding of the op table on top).
const BYTES_PER_LOADED_SLOT: usize = 160;

/// The map memory limit objects are loaded with.
const MAP_MEMORY_LIMIT: usize = 1 << 20;

/// Fixed allowance on top of `16 × input length`.
const FIXED_ALLOWANCE: usize = 1 << 20;

/// Bytes allocated through [`Counting`] and not yet freed.
static CURRENT: AtomicUsize = AtomicUsize::new(0);
/// Highest value of [`CURRENT`] since the last [`Phase::start`].
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// While a phase runs: the value of [`CURRENT`] it may not exceed (0: none).
static LIMIT: AtomicUsize = AtomicUsize::new(0);
/// The size of the first allocation that took [`CURRENT`] over [`LIMIT`]
/// in the current phase (0: none did).
static FIRST_OVER: AtomicUsize = AtomicUsize::new(0);
/// Abort inside the allocation that crosses the limit.
static ABORT_AT_LIMIT: AtomicBool = AtomicBool::new(false);

/// `System`, counting live bytes.
struct Counting;

impl Counting {
    /// Books `bytes` more live bytes. Never allocates and never unwinds.
    #[inline]
    fn grew(bytes: usize) {
        let now = CURRENT.fetch_add(bytes, Relaxed).wrapping_add(bytes);
        PEAK.fetch_max(now, Relaxed);
        let limit = LIMIT.load(Relaxed);
        if limit != 0 && now > limit {
            let _ = FIRST_OVER.compare_exchange(0, bytes.max(1), Relaxed, Relaxed);
            if ABORT_AT_LIMIT.load(Relaxed) {
                // Not a panic: an allocator must not unwind. libFuzzer's
                // SIGABRT handler prints the stack, i.e. the allocation site.
                std::process::abort();
            }
        }
    }

    #[inline]
    fn shrank(bytes: usize) {
        CURRENT.fetch_sub(bytes, Relaxed);
    }
}

// SAFETY: every method hands the caller's layout and pointer unchanged to
// `System`, which implements `GlobalAlloc` correctly, and returns exactly what
// `System` returned; so each pointer freed or reallocated here was allocated
// by `System` with the layout given (the caller's contract with us is the same
// as ours with `System`). The bookkeeping around the calls touches only
// atomics: it never allocates (no recursion into the allocator), never
// unwinds (`grew` aborts rather than panics), and never touches the memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc`'s contract (non-zero size).
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            Counting::grew(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            Counting::grew(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` (through us) with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        Counting::shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from `System` (through us) with `layout`, and
        // the caller upholds `realloc`'s contract on `new_size`.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            if new_size >= layout.size() {
                Counting::grew(new_size - layout.size());
            } else {
                Counting::shrank(layout.size() - new_size);
            }
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// A measured stretch of the target, with the live bytes at its start as
/// the base.
struct Phase {
    name: &'static str,
    input_len: usize,
    base: usize,
    allowance: usize,
}

impl Phase {
    /// Starts measuring: from now on at most `allowance` bytes above the
    /// live bytes at `base` (`None`: the live bytes now).
    fn start(name: &'static str, input_len: usize, base: Option<usize>, allowance: usize) -> Phase {
        let now = CURRENT.load(Relaxed);
        let base = base.unwrap_or(now);
        FIRST_OVER.store(0, Relaxed);
        PEAK.store(now, Relaxed);
        LIMIT.store(base.saturating_add(allowance), Relaxed);
        Phase {
            name,
            input_len,
            base,
            allowance,
        }
    }

    /// Stops measuring; panics if the peak went over the allowance.
    fn finish(self) {
        LIMIT.store(0, Relaxed);
        let peak = PEAK.load(Relaxed).saturating_sub(self.base);
        let first_over = FIRST_OVER.load(Relaxed);
        if peak > self.allowance || first_over != 0 {
            panic!(
                "resource rule broken during {}: peak of {} live bytes allocated, limit {} \
                 (16 x {} input bytes + {} fixed{}); first allocation over the limit: {} bytes. \
                 Rerun with BPFBOX_FUZZ_ABORT_AT_LIMIT=1 for its stack",
                self.name,
                peak,
                self.allowance,
                self.input_len,
                FIXED_ALLOWANCE,
                if self.name == "load" {
                    format!(
                        " + {MAP_MEMORY_LIMIT} map memory limit + {BYTES_PER_LOADED_SLOT} per loaded instruction slot"
                    )
                } else {
                    String::new()
                },
                first_over,
            );
        }
    }
}

/// Walks what `Object` exposes, as an embedder would before loading.
fn inspect(object: &Object) {
    for program in object.programs() {
        black_box((&program.name, &program.section, program.kind.program_type));
        black_box(program.instructions.len());
        black_box(program.relocations.len());
        black_box(program.kernel_only.len());
        if let Some(last) = program.instructions.len().checked_sub(1) {
            black_box(program.source_line(0));
            black_box(program.source_line(last));
        }
        black_box(object.program(&program.name).is_ok());
    }
    for map in object.maps() {
        black_box((&map.name, map.def, map.inner, map.initial_slots.len()));
    }
    black_box(object.globals().len());
    black_box((object.license(), object.kernel_version()));
    black_box(object.relocation_summary());
}

fuzz_target!(|data: &[u8]| {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let abort = std::env::var_os("BPFBOX_FUZZ_ABORT_AT_LIMIT").is_some_and(|v| v != "0");
        ABORT_AT_LIMIT.store(abort, Relaxed);
    });

    let parse_allowance = data
        .len()
        .saturating_mul(16)
        .saturating_add(FIXED_ALLOWANCE);
    // Built before measuring: the helper table is the embedder's, not the
    // object's.
    let options = LoadOptions {
        map_memory_limit: MAP_MEMORY_LIMIT,
        ..LoadOptions::default()
    };

    let phase = Phase::start("parse", data.len(), None, parse_allowance);
    let base = phase.base;
    let parsed = Object::parse(data);
    if let Ok(object) = &parsed {
        inspect(object);
    }
    phase.finish();

    let mut object = match parsed {
        Ok(object) => object,
        Err(error) => {
            // Error messages name untrusted sections and symbols: render them.
            black_box(error.to_string());
            return;
        }
    };

    // As a skeleton sets `const volatile` configuration before loading:
    // each global (up to 64 of them, and only those no larger than the
    // input, so that the bytes passed count little) set to zeroes.
    let globals: Vec<(String, usize)> = object
        .globals()
        .iter()
        .filter(|g| g.size as usize <= data.len())
        .take(64)
        .map(|g| (g.name.clone(), g.size as usize))
        .collect();
    let phase = Phase::start("set_global", data.len(), Some(base), parse_allowance);
    for (name, size) in &globals {
        let zeroes = vec![0u8; *size];
        black_box(object.set_global(name, &zeroes).is_ok());
    }
    phase.finish();
    drop(globals);

    // Measured from the same base: the parsed object is still live. Every
    // program is loaded (no selection), so all linked slots count.
    let slots: usize = object.programs().iter().map(|p| p.instructions.len()).sum();
    let load_allowance = parse_allowance
        .saturating_add(MAP_MEMORY_LIMIT)
        .saturating_add(slots.saturating_mul(BYTES_PER_LOADED_SLOT));
    let phase = Phase::start("load", data.len(), Some(base), load_allowance);
    let loaded = object.load(&options);
    if let Ok(loaded) = &loaded {
        black_box(loaded.programs().count());
        black_box(loaded.maps().count());
    }
    phase.finish();

    if let Err(error) = loaded {
        black_box(error.to_string());
    }
});
