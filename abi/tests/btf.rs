//! BTF as clang writes it: the `.BTF`/`.BTF.ext` dumps committed in
//! `tests/data/` (how they are made: `tests/data/README.md`), CO-RE
//! relocations resolved against another layout and against bpfbox's
//! context structs, the running kernel's BTF when it is there, and
//! property tests on damaged input.

use bpfbox_abi::btf::core::{local_spec, resolve, CoreValue};
use bpfbox_abi::btf::{context_btf, Btf, BtfExt, CoreRelo, CoreReloKind, Kind, Type};
use proptest::prelude::*;

fn data(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A program's `.BTF` and `.BTF.ext`.
fn object(name: &str) -> (Btf, BtfExt) {
    let btf = Btf::parse(&data(&format!("{name}.btf"))).unwrap();
    let ext = BtfExt::parse(&data(&format!("{name}.btf.ext")), &btf).unwrap();
    (btf, ext)
}

const FIXTURES: [&str; 5] = [
    "arithmetic",
    "atomics",
    "control",
    "legacy_and_indirect",
    "memory",
];

#[test]
fn fixture_struct_layout() {
    let (btf, _) = object("fixtures/memory");
    let record = btf.find_by_name(Kind::Struct, "record").unwrap();
    assert_eq!(record, 3);
    assert_eq!(btf.size_of(record), Ok(32));
    let Type::Struct(layout) = btf.get(record).unwrap() else {
        panic!("not a struct");
    };
    let members: Vec<(&str, u32, String)> = layout
        .members
        .iter()
        .map(|m| {
            (
                btf.str_at(m.name_off).unwrap(),
                m.bit_offset / 8,
                btf.display(m.ty),
            )
        })
        .collect();
    let expected = [
        ("tag", 0, "unsigned char"),
        ("delta", 1, "signed char"),
        ("port", 2, "unsigned short"),
        ("bias", 4, "short"),
        ("count", 8, "unsigned int"),
        ("balance", 12, "int"),
        ("total", 16, "unsigned long"),
        ("signed_total", 24, "long"),
    ];
    assert_eq!(
        members,
        expected.map(|(n, o, t)| (n, o, t.to_owned())).to_vec()
    );
    assert_eq!(btf.display(1), "const struct record *");
}

#[test]
fn fixture_functions_and_lines() {
    let (btf, ext) = object("fixtures/memory");
    assert_eq!(ext.func_info.len(), 1);
    assert_eq!(ext.func_info[0].section, "fixture");
    let funcs: Vec<(u32, &str)> = ext.func_info[0]
        .records
        .iter()
        .map(|f| (f.insn_off, btf.name(f.type_id)))
        .collect();
    assert_eq!(
        funcs,
        [
            (0, "read_record"),
            (144, "write_record"),
            (208, "copy_fields"),
            (280, "stack_buffer"),
            (448, "element_at"),
        ]
    );
    assert_eq!(
        btf.display(ext.func_info[0].records[0].type_id),
        "long read_record(const struct record *)"
    );
    let lines = &ext.line_info[0].records;
    assert_eq!(ext.line_info[0].section, "fixture");
    assert_eq!(lines.len(), 58);
    assert_eq!(
        (lines[0].insn_off, lines[0].line, lines[0].column),
        (0, 18, 19)
    );
    assert_eq!(btf.str_at(lines[0].file_name_off), Ok("./src/memory.c"));
    assert_eq!(
        btf.str_at(lines[0].line_off),
        Ok("    long sum = r->tag + r->port + r->count + r->total;")
    );
    let last = lines.last().unwrap();
    assert_eq!((last.insn_off, last.line, last.column), (528, 56, 5));
    assert_eq!(
        btf.str_at(last.line_off),
        Ok("    return items[-2] + items[*index & 7] * *scale;")
    );
    assert!(ext.core_relos.is_empty());
}

#[test]
fn fixtures_parse_and_write_back_byte_for_byte() {
    let expected = [
        ("arithmetic", 36, 15, 93),
        ("atomics", 11, 3, 27),
        ("control", 20, 5, 61),
        ("legacy_and_indirect", 13, 2, 14),
        ("memory", 29, 5, 58),
    ];
    for (name, types, funcs, lines) in expected {
        let bytes = data(&format!("fixtures/{name}.btf"));
        let (btf, ext) = object(&format!("fixtures/{name}"));
        assert_eq!(btf.types_len(), types, "{name}");
        assert_eq!(ext.func_info[0].records.len(), funcs, "{name}");
        assert_eq!(ext.line_info[0].records.len(), lines, "{name}");
        assert_eq!(btf.to_bytes(), bytes, "{name}");
    }
    assert_eq!(FIXTURES.len(), expected.len());
}

/// The value an instruction holds where a relocation points: the offset
/// of a load or store, the immediate of an ALU instruction, the 64-bit
/// immediate of `lddw`.
fn insn_value(code: &[u8], insn_off: u32) -> u64 {
    let at = insn_off as usize;
    let insn = &code[at..at + 8];
    let imm = i32::from_le_bytes(insn[4..8].try_into().unwrap());
    match insn[0] {
        0x18 => {
            let high = u32::from_le_bytes(code[at + 12..at + 16].try_into().unwrap());
            u64::from(imm as u32) | u64::from(high) << 32
        }
        op if matches!(op & 7, 1..=3) => i16::from_le_bytes([insn[2], insn[3]]) as i64 as u64,
        _ => imm as i64 as u64,
    }
}

/// Checks that every relocation whose local value is meant to be in the
/// instruction finds it there: clang and bpfbox agree on the local side.
fn check_local_values(local: &Btf, ext: &BtfExt, object: &str, targets: &[&Btf]) {
    for section in &ext.core_relos {
        let code = data(&format!("{object}.{}.bin", section.section));
        for relo in &section.records {
            let value = resolve(local, relo, targets).unwrap();
            if value.validate {
                assert_eq!(
                    insn_value(&code, relo.insn_off),
                    value.local,
                    "{object} {} at {}",
                    relo.kind,
                    relo.insn_off
                );
            }
        }
    }
}

/// One relocation's expected outcome.
struct Expect {
    insn_off: u32,
    kind: CoreReloKind,
    access: &'static str,
    local: u64,
    target: u64,
    exists: bool,
    validate: bool,
}

const fn e(
    insn_off: u32,
    kind: CoreReloKind,
    access: &'static str,
    (local, target): (u64, u64),
    exists: bool,
    validate: bool,
) -> Expect {
    Expect {
        insn_off,
        kind,
        access,
        local,
        target,
        exists,
        validate,
    }
}

#[test]
fn core_relocations_against_another_layout() {
    use CoreReloKind::*;
    let (local, ext) = object("core_local");
    let target = Btf::parse(&data("core_target.btf")).unwrap();
    assert_eq!(ext.core_relos.len(), 1);
    assert_eq!(ext.core_relos[0].section, "tp");
    let relos = &ext.core_relos[0].records;
    // Layouts: see the comments in src/core_local.c and src/core_target.c.
    // Local ids: core_obj 5, core_inner 13; target ids: core_obj 1.
    let expected = [
        // `level`, a bitfield: bits 35..40 locally, 170..177 in the target;
        // the 4-byte loads that hold it are at 4 and 20.
        e(0, FieldByteOffset, "core_obj.level", (4, 20), true, false),
        e(
            24,
            FieldByteOffset,
            "core_obj.inner.b",
            (48, 88),
            true,
            true,
        ),
        e(32, FieldByteOffset, "core_obj.u_int", (40, 72), true, true),
        e(40, FieldByteOffset, "core_obj.arr[2]", (24, 40), true, true),
        e(48, FieldByteOffset, "core_obj.id", (0, 16), true, true),
        e(56, FieldByteSize, "core_obj.level", (4, 4), true, false),
        e(176, FieldLShiftU64, "core_obj.level", (56, 47), true, false),
        e(184, FieldSigned, "core_obj.level", (1, 1), true, true),
        e(200, FieldRShiftU64, "core_obj.level", (59, 57), true, true),
        e(216, FieldRShiftU64, "core_obj.level", (59, 57), true, true),
        e(256, FieldExists, "core_obj.gone", (1, 0), false, true),
        e(272, FieldByteSize, "core_obj.arr", (32, 48), true, true),
        e(
            288,
            FieldByteOffset,
            "core_obj.narrow",
            (68, 96),
            true,
            true,
        ),
        e(
            304,
            FieldByteOffset,
            "core_obj.snarrow",
            (70, 100),
            true,
            true,
        ),
        e(336, TypeExists, "core_gone", (1, 0), false, true),
        e(352, TypeExists, "core_mismatch", (1, 1), true, true),
        e(368, FieldByteOffset, "core_obj.name", (56, 8), true, true),
        e(376, TypeMatches, "core_mismatch", (1, 0), false, true),
        e(392, TypeMatches, "core_inner", (1, 1), true, true),
        e(408, TypeSize, "core_obj", (72, 104), true, true),
        e(424, TypeIdTarget, "core_obj", (5, 1), true, true),
        e(448, TypeIdLocal, "core_obj", (5, 5), true, true),
        e(
            472,
            EnumvalExists,
            "core_color::CORE_BLUE",
            (1, 0),
            false,
            true,
        ),
        e(
            496,
            EnumvalValue,
            "core_color::CORE_GREEN",
            (2, 20),
            true,
            true,
        ),
        e(520, FieldByteOffset, "core_v2___v2.b", (8, 0), true, true),
    ];
    assert_eq!(relos.len(), expected.len());
    for (relo, want) in relos.iter().zip(&expected) {
        let what = format!("{} {} at {}", want.kind, want.access, want.insn_off);
        assert_eq!(
            (relo.insn_off, relo.kind),
            (want.insn_off, want.kind),
            "{what}"
        );
        assert_eq!(
            local_spec(&local, relo).unwrap().describe(&local),
            want.access,
            "{what}"
        );
        let v = resolve(&local, relo, &[&target]).unwrap();
        assert_eq!(
            (v.local, v.target, v.exists, v.validate),
            (want.local, want.target, want.exists, want.validate),
            "{what}"
        );
        let matched = want.exists && want.kind != TypeIdLocal;
        assert_eq!(v.target_btf, matched.then_some(0), "{what}");
    }
    // Load widths: a field of the same size, a wider unsigned one (the
    // load can be widened), a wider signed one (it cannot).
    let width = |insn_off: u32| {
        let relo = relos.iter().find(|r| r.insn_off == insn_off).unwrap();
        let v: CoreValue = resolve(&local, relo, &[&target]).unwrap();
        (v.local_size, v.target_size, v.width_change_ok)
    };
    assert_eq!(width(40), (Some(8), Some(8), true));
    assert_eq!(width(288), (Some(2), Some(4), true));
    assert_eq!(width(304), (Some(2), Some(4), false));
    assert_eq!(width(0), (None, None, true));
    // The flavoured type found the target's core_v2.
    let v2 = resolve(&local, &relos[24], &[&target]).unwrap();
    assert_eq!(v2.target_type, target.find_by_name(Kind::Struct, "core_v2"));
    check_local_values(&local, &ext, "core_local", &[&target]);
}

#[test]
fn core_errors_name_the_type_and_field() {
    let (local, ext) = object("core_local");
    // Against bpfbox's context types nothing of the test's exists.
    let ctx = context_btf();
    let relos = &ext.core_relos[0].records;
    let messages: Vec<String> = [1, 4, 19, 23]
        .map(|i| resolve(&local, &relos[i], &[&ctx]).unwrap_err().to_string())
        .to_vec();
    assert_eq!(
        messages,
        [
            "CO-RE byte_off relocation of `core_obj.inner.b`: no target BTF has a matching \
             `struct core_obj`",
            "CO-RE byte_off relocation of `core_obj.id`: no target BTF has a matching \
             `struct core_obj`",
            "CO-RE type_size relocation of `core_obj`: no target BTF has a matching \
             `struct core_obj`",
            "CO-RE enumval_value relocation of `core_color::CORE_GREEN`: no target BTF has a \
             matching `enum core_color`",
        ]
    );
}

#[test]
fn context_relocations_against_bpfbox_contexts() {
    let (local, ext) = object("ctx_local");
    let ctx = context_btf();
    let resolved: Vec<(String, u32, String, u64, u64)> = ext
        .core_relos
        .iter()
        .flat_map(|s| s.records.iter().map(move |r| (s.section.clone(), r)))
        .map(|(section, r)| {
            let v = resolve(&local, r, &[&ctx]).unwrap();
            let access = local_spec(&local, r).unwrap().describe(&local);
            (section, r.insn_off, access, v.local, v.target)
        })
        .collect();
    let expected = [
        ("tc", 0, "__sk_buff.cb[2]", 12, 56),
        ("tc", 8, "__sk_buff.len", 24, 0),
        ("tc", 24, "__sk_buff.mark", 0, 8),
        ("kprobe", 0, "pt_regs.di", 8, 112),
        ("kprobe", 8, "pt_regs.si", 0, 104),
        ("xdp", 0, "xdp_md.rx_queue_index", 8, 16),
    ];
    assert_eq!(
        resolved,
        expected
            .map(|(s, o, a, l, t)| (s.to_owned(), o, a.to_owned(), l, t))
            .to_vec()
    );
    check_local_values(&local, &ext, "ctx_local", &[&ctx]);
}

#[test]
fn running_kernel_btf_when_present() {
    let path = "/sys/kernel/btf/vmlinux";
    let Ok(bytes) = std::fs::read(path) else {
        eprintln!("skipped: {path} is not readable");
        return;
    };
    let btf = Btf::parse(&bytes).unwrap();
    assert!(btf.types_len() > 1000);
    let task = btf.find_by_name(Kind::Struct, "task_struct").unwrap();
    assert_eq!(btf.display(task), "struct task_struct");
    let Type::Struct(layout) = btf.get(task).unwrap() else {
        panic!("task_struct is not a struct");
    };
    let pid = layout
        .members
        .iter()
        .find(|m| btf.str_at(m.name_off) == Ok("pid"))
        .unwrap();
    assert_eq!(btf.display(pid.ty), "pid_t");
    assert_eq!(btf.size_of(pid.ty), Ok(4));
    assert_eq!(btf.to_bytes(), bytes);
    // A CO-RE read of task_struct___mine.pid through the kernel's types.
    let mut b = bpfbox_abi::btf::BtfBuilder::new();
    let int = b.int("int", 4, true);
    let mine = b.struct_type("task_struct___mine", &[("pid", int, 0)]);
    let relo = CoreRelo {
        insn_off: 0,
        type_id: mine,
        access_str_off: b.add_str("0:0"),
        kind: CoreReloKind::FieldByteOffset,
    };
    let local = b.build().unwrap();
    let v = resolve(&local, &relo, &[&btf]).unwrap();
    assert_eq!(v.target, u64::from(pid.bit_offset / 8));
    assert_eq!(v.target_type, Some(task));
}

/// Every lookup on every id of a table, which must not panic.
fn exercise(btf: &Btf) {
    for (id, ty) in btf.iter() {
        let _ = btf.display(id);
        let _ = btf.size_of(id);
        let _ = btf.skip_modifiers(id);
        let _ = btf.name(id);
        let _ = btf.find_by_name(ty.kind(), btf.name(id));
    }
    let _ = btf.datasec(".bss");
    let _ = btf.to_bytes();
}

/// The inputs the property tests damage.
fn blobs() -> Vec<Vec<u8>> {
    let mut blobs: Vec<Vec<u8>> = FIXTURES
        .iter()
        .map(|n| data(&format!("fixtures/{n}.btf")))
        .collect();
    blobs.push(data("core_local.btf"));
    blobs.push(data("core_target.btf"));
    blobs
}

/// Applies `(position, byte)` writes (positions taken modulo the length)
/// and cuts the blob to `keep` of its length (`keep` in 1/1024ths).
fn damage(blob: &[u8], writes: &[(usize, u8)], keep: Option<usize>) -> Vec<u8> {
    let mut out = blob.to_vec();
    for &(at, byte) in writes {
        if !out.is_empty() {
            let len = out.len();
            out[at % len] = byte;
        }
    }
    if let Some(keep) = keep {
        out.truncate(out.len() * keep / 1024);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn damaged_btf_never_panics(
        which in 0usize..7,
        writes in prop::collection::vec((any::<usize>(), any::<u8>()), 0..8),
        keep in prop::option::of(0usize..1024),
    ) {
        let blob = damage(&blobs()[which], &writes, keep);
        if let Ok(btf) = Btf::parse(&blob) {
            exercise(&btf);
            // Written back and read again, it is the same table.
            prop_assert_eq!(Btf::parse(&btf.to_bytes()), Ok(btf));
        }
    }

    #[test]
    fn damaged_ext_and_targets_never_panic(
        writes in prop::collection::vec((any::<usize>(), any::<u8>()), 0..8),
        keep in prop::option::of(0usize..1024),
        target_writes in prop::collection::vec((any::<usize>(), any::<u8>()), 0..4),
    ) {
        let (local, _) = object("core_local");
        let ext = damage(&data("core_local.btf.ext"), &writes, keep);
        let target = Btf::parse(&damage(&data("core_target.btf"), &target_writes, None));
        if let Ok(ext) = BtfExt::parse(&ext, &local) {
            let targets: Vec<&Btf> = target.iter().collect();
            for relo in ext.core_relos.iter().flat_map(|s| &s.records) {
                let _ = resolve(&local, relo, &targets);
            }
        }
    }
}

#[test]
fn truncation_at_every_length_is_an_error_not_a_panic() {
    let blob = data("fixtures/memory.btf");
    for len in 0..blob.len() {
        assert!(Btf::parse(&blob[..len]).is_err(), "length {len}");
    }
    let (btf, _) = object("fixtures/memory");
    let ext = data("fixtures/memory.btf.ext");
    for len in 0..ext.len() {
        assert!(BtfExt::parse(&ext[..len], &btf).is_err(), "length {len}");
    }
}
