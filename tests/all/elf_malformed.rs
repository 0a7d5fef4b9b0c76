//! Hostile objects: every malformation the loader must answer with a
//! precise error, and random damage that must never panic it.

use bpfbox::elf::{ElfError, LoadOptions, Object};
use proptest::prelude::*;

pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/bpf/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(b[at..at + 2].try_into().unwrap())
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}
fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
fn put_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// A minimal reader of an object's section headers, to damage them.
struct Headers {
    shoff: usize,
    names: Vec<String>,
}

impl Headers {
    fn read(b: &[u8]) -> Headers {
        let shoff = u64_at(b, 0x28) as usize;
        let count = u16_at(b, 0x3c) as usize;
        let strndx = u16_at(b, 0x3e) as usize;
        let strtab = u64_at(b, shoff + strndx * 64 + 24) as usize;
        let names = (0..count)
            .map(|i| {
                let at = strtab + u32_at(b, shoff + i * 64) as usize;
                let end = b[at..].iter().position(|&c| c == 0).unwrap();
                String::from_utf8(b[at..at + end].to_vec()).unwrap()
            })
            .collect();
        Headers { shoff, names }
    }

    /// The offset of section `name`'s header.
    fn header(&self, name: &str) -> usize {
        let index = self.names.iter().position(|n| n == name).unwrap();
        self.shoff + index * 64
    }

    fn offset(&self, b: &[u8], name: &str) -> usize {
        u64_at(b, self.header(name) + 24) as usize
    }
}

fn parse_error(bytes: &[u8]) -> String {
    match Object::parse(bytes) {
        Ok(_) => panic!("the damaged object parsed"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn truncated_header() {
    let bytes = fixture("xdp_basic.o");
    for len in [0, 4, 16, 63] {
        let error = Object::parse(&bytes[..len]).unwrap_err();
        assert!(matches!(error, ElfError::Header(_)), "{len}: {error}");
    }
}

#[test]
fn not_an_ebpf_object() {
    let mut bytes = fixture("xdp_basic.o");
    bytes[0x12] = 62; // EM_X86_64
    assert_eq!(
        parse_error(&bytes),
        "ELF header: machine 62 is not eBPF (247)"
    );
    let mut bytes = fixture("xdp_basic.o");
    bytes[0x10] = 2; // ET_EXEC
    assert_eq!(
        parse_error(&bytes),
        "ELF header: type 2 is not a relocatable object (ET_REL)"
    );
    let mut bytes = fixture("xdp_basic.o");
    bytes[5] = 2; // big-endian
    assert!(parse_error(&bytes).contains("little-endian"));
}

#[test]
fn section_past_the_end() {
    let mut bytes = fixture("xdp_basic.o");
    let headers = Headers::read(&bytes);
    let len = bytes.len() as u64;
    put_u64(&mut bytes, headers.header("xdp") + 24, len - 8);
    let error = Object::parse(&bytes).unwrap_err();
    match error {
        ElfError::SectionBounds {
            section, file_size, ..
        } => assert_eq!((section.as_str(), file_size), ("xdp", bytes.len())),
        other => panic!("{other}"),
    }
}

#[test]
fn huge_section_counts_and_sizes() {
    let mut bytes = fixture("xdp_basic.o");
    bytes[0x3c] = 0xff;
    bytes[0x3d] = 0xff;
    assert!(matches!(
        Object::parse(&bytes).unwrap_err(),
        ElfError::Header(_)
    ));
    let mut bytes = fixture("xdp_basic.o");
    let headers = Headers::read(&bytes);
    put_u64(&mut bytes, headers.header(".symtab") + 32, u64::MAX - 7);
    assert!(matches!(
        Object::parse(&bytes).unwrap_err(),
        ElfError::SectionBounds { .. }
    ));
}

#[test]
fn overlapping_sections() {
    let mut bytes = fixture("xdp_basic.o");
    let headers = Headers::read(&bytes);
    let code = headers.offset(&bytes, "xdp") as u64;
    put_u64(&mut bytes, headers.header(".maps") + 24, code);
    let error = parse_error(&bytes);
    assert!(
        error == "sections xdp and .maps overlap" || error == "sections .maps and xdp overlap",
        "{error}"
    );
}

/// The first relocation of `.relxdp` in xdp_basic.o: the `lddw` of its map.
fn first_relocation(bytes: &[u8]) -> usize {
    let headers = Headers::read(bytes);
    headers.offset(bytes, ".relxdp")
}

#[test]
fn relocation_symbol_out_of_range() {
    let mut bytes = fixture("xdp_basic.o");
    let at = first_relocation(&bytes);
    let info = u64_at(&bytes, at + 8);
    put_u64(&mut bytes, at + 8, (0xffff << 32) | (info & 0xffff_ffff));
    let error = parse_error(&bytes);
    assert!(
        error.contains("symbol index 65535 is out of range"),
        "{error}"
    );
}

#[test]
fn relocation_outside_the_section_or_between_instructions() {
    let mut bytes = fixture("xdp_basic.o");
    let at = first_relocation(&bytes);
    put_u64(&mut bytes, at, 0x1000_0000);
    let error = parse_error(&bytes);
    assert!(
        error.starts_with("section xdp, offset 0x10000000: relocation against `xdp_stats_map`: offset is outside the"),
        "{error}"
    );
    let mut bytes = fixture("xdp_basic.o");
    let at = first_relocation(&bytes);
    let offset = u64_at(&bytes, at);
    put_u64(&mut bytes, at, offset + 4);
    assert_eq!(
        parse_error(&bytes),
        format!("section xdp, offset {:#x}: relocation against `xdp_stats_map`: offset is not on an instruction", offset + 4)
    );
}

#[test]
fn relocation_on_the_wrong_instruction_or_of_an_unknown_type() {
    let mut bytes = fixture("xdp_basic.o");
    let at = first_relocation(&bytes);
    let offset = u64_at(&bytes, at);
    // Move it onto the instruction before the lddw.
    put_u64(&mut bytes, at, offset - 8);
    let error = parse_error(&bytes);
    assert!(
        error.contains(
            "relocation against `xdp_stats_map`: R_BPF_64_64 on an instruction that is not lddw"
        ),
        "{error}"
    );
    let mut bytes = fixture("xdp_basic.o");
    let at = first_relocation(&bytes);
    put_u32(&mut bytes, at + 8, 7);
    assert_eq!(
        parse_error(&bytes),
        format!("section xdp, offset {offset:#x}: unsupported relocation type 7 (unknown) against `xdp_stats_map`")
    );
}

#[test]
fn damaged_btf_is_an_error() {
    let mut bytes = fixture("xdp_basic.o");
    let headers = Headers::read(&bytes);
    let btf = headers.offset(&bytes, ".BTF");
    // type_len: far past the section.
    put_u32(&mut bytes, btf + 12, 0x7fff_ffff);
    let error = Object::parse(&bytes).unwrap_err();
    assert!(
        matches!(
            error,
            ElfError::Btf {
                section: ".BTF",
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn a_map_memory_limit_for_the_whole_object() {
    let object = Object::parse(&fixture("ringbuf_trace.o")).unwrap();
    let options = LoadOptions {
        map_memory_limit: 100_000,
        ..LoadOptions::default()
    };
    match object.load(&options).unwrap_err() {
        ElfError::MapMemory { needed, limit } => {
            assert_eq!(limit, 100_000);
            assert!(needed > 262_144, "{needed}");
        }
        other => panic!("{other}"),
    }
}

/// Every committed object, cut at many lengths: an error, never a panic.
#[test]
fn truncation_never_panics() {
    for name in [
        "xdp_parse.o",
        "globals.o",
        "map_in_map.o",
        "core_kernel.o",
        "subprogs.o",
    ] {
        let bytes = fixture(name);
        let step = (bytes.len() / 400).max(1);
        for len in (0..bytes.len()).step_by(step) {
            let _ = Object::parse(&bytes[..len]);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Random bytes overwritten anywhere: parsing, and loading what still
    /// parses (with a small map budget), fail cleanly or succeed.
    #[test]
    fn damage_never_panics(
        which in 0usize..6,
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let name = ["xdp_basic.o", "xdp_parse.o", "globals.o", "tailcalls.o", "map_in_map.o", "maps_legacy.o"][which];
        let mut bytes = fixture(name);
        for (index, value) in edits {
            let at = index.index(bytes.len());
            bytes[at] = value;
        }
        if let Ok(object) = Object::parse(&bytes) {
            let options = LoadOptions { map_memory_limit: 1 << 20, ..LoadOptions::default() };
            let _ = object.load(&options);
        }
    }
}

fn found(name: &str) -> Vec<u8> {
    let path = format!("{}/fuzz/artifacts-found/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Found by the `elf` fuzz target: 600 programs sharing one 600-instruction
/// function would link to 361,200 instructions from a 32 KB file.
#[test]
fn linking_is_bounded_by_the_objects_code() {
    match Object::parse(&found("elf-shared-subprog-copies-parse.o")).unwrap_err() {
        ElfError::LinkLimit {
            needed,
            limit,
            code,
            ..
        } => {
            assert_eq!(code, 600 + 600 * 2);
            assert_eq!(limit, bpfbox::elf::link_limit(code));
            assert_eq!(limit, 8 * 1800 + 32_768);
            assert!(needed > limit);
        }
        other => panic!("{other}"),
    }
    // Within the limit, every program gets its own copy, as with libbpf.
    let object = Object::parse(&found("elf-shared-subprog-copies-load.o")).unwrap();
    let sizes: Vec<usize> = object
        .programs()
        .iter()
        .map(|p| p.instructions.len())
        .collect();
    assert_eq!(sizes, [8002; 8]);
}

/// Found by the `elf` fuzz target: setting a global of a 1 GiB `.bss`
/// built the whole value before any memory limit applied.
#[test]
fn setting_a_global_of_a_huge_bss_allocates_nothing_until_load() {
    let mut object = Object::parse(&found("elf-set-global-bss-value-alloc.o")).unwrap();
    object.set_global("g", &[1, 2, 3, 4]).unwrap();
    match object.load(&LoadOptions::default()).unwrap_err() {
        ElfError::MapMemory { needed, limit } => {
            assert_eq!(limit, 256 << 20);
            assert!(needed >= 1 << 30, "{needed}");
        }
        other => panic!("{other}"),
    }
}

/// A global of a `.bss` set before load is in the map after it.
#[test]
fn a_bss_global_set_before_load() {
    let mut object = Object::parse(&fixture("globals.o")).unwrap();
    object
        .set_global("raw_writes", &7u32.to_le_bytes())
        .unwrap();
    let loaded = object.load(&LoadOptions::default()).unwrap();
    assert_eq!(
        loaded.read_global("raw_writes").unwrap(),
        7u32.to_le_bytes()
    );
    assert_eq!(loaded.read_global("last_pid").unwrap(), [0; 4]);
}
