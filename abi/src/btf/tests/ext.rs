//! `.BTF.ext` on hand-made inputs: records of every block, larger records
//! than bpfbox knows, and every error with its byte offset.

use super::{info, int_words, parse_words, A, FOO, STRS};
use crate::btf::{
    Btf, BtfError, BtfExt, CoreRelo, CoreReloKind, FuncInfo, Kind, LineInfo, SectionInfo,
};

/// `.BTF.ext` bytes: a 32-byte header and the three blocks, each given as
/// words.
fn ext(func: &[u32], line: &[u32], relo: &[u32]) -> Vec<u8> {
    let bytes = |w: &[u32]| -> Vec<u8> { w.iter().flat_map(|w| w.to_le_bytes()).collect() };
    let (f, l, r) = (bytes(func), bytes(line), bytes(relo));
    let mut out = vec![0x9f, 0xeb, 1, 0];
    let (fl, ll, rl) = (f.len() as u32, l.len() as u32, r.len() as u32);
    for word in [32, 0, fl, fl, ll, fl + ll, rl] {
        out.extend_from_slice(&u32::to_le_bytes(word));
    }
    out.extend(f);
    out.extend(l);
    out.extend(r);
    out
}

/// BTF for the `.BTF.ext` tests: [1] int, [2] int (void) proto, [3] func
/// `foo`; strings: `int` 1, `foo` 5, `a` 9, `b` 11, `u32` 13, `.data` 17.
fn ext_btf() -> Btf {
    let mut words = int_words().to_vec();
    words.extend([0, info(Kind::FuncProto, 0, false), 1]);
    words.extend([FOO, info(Kind::Func, 1, false), 2]);
    parse_words(&words).unwrap()
}

#[test]
fn ext_parses() {
    let btf = ext_btf();
    // func_info: 8-byte records; line_info: 20-byte records (4 extra bytes
    // skipped); core_relo: 16-byte records.
    let bytes = ext(
        &[8, 17, 2, 0, 3, 16, 3],
        &[20, 17, 1, 8, FOO, A, 12 << 10 | 5, 0xdead],
        &[16, 17, 1, 24, 1, 0, 8],
    );
    let parsed = BtfExt::parse(&bytes, &btf).unwrap();
    assert_eq!(
        parsed,
        BtfExt {
            func_info: vec![SectionInfo {
                section: ".data".to_owned(),
                section_name_off: 17,
                records: vec![
                    FuncInfo {
                        insn_off: 0,
                        type_id: 3
                    },
                    FuncInfo {
                        insn_off: 16,
                        type_id: 3
                    }
                ]
            }],
            line_info: vec![SectionInfo {
                section: ".data".to_owned(),
                section_name_off: 17,
                records: vec![LineInfo {
                    insn_off: 8,
                    file_name_off: FOO,
                    line_off: A,
                    line: 12,
                    column: 5
                }]
            }],
            core_relos: vec![SectionInfo {
                section: ".data".to_owned(),
                section_name_off: 17,
                records: vec![CoreRelo {
                    insn_off: 24,
                    type_id: 1,
                    access_str_off: 0,
                    kind: CoreReloKind::TypeExists
                }]
            }],
        }
    );
    // A 24-byte header has no relocation block.
    let mut short = bytes[..32].to_vec();
    short[4] = 24;
    short.truncate(24);
    short.extend_from_slice(&bytes[32..]);
    assert_eq!(BtfExt::parse(&short, &btf).unwrap().core_relos, vec![]);
    // Empty blocks.
    assert_eq!(
        BtfExt::parse(&ext(&[], &[], &[]), &btf).unwrap(),
        BtfExt::default()
    );
}

#[test]
fn ext_errors() {
    let btf = ext_btf();
    let parse = |bytes: &[u8]| BtfExt::parse(bytes, &btf);
    let mut big = ext(&[], &[], &[]);
    big[..2].copy_from_slice(&[0xeb, 0x9f]);
    assert_eq!(parse(&big), Err(BtfError::BigEndian { what: ".BTF.ext" }));
    assert_eq!(
        parse(&ext(&[], &[], &[])[..20]),
        Err(BtfError::HeaderTruncated {
            what: ".BTF.ext",
            len: 20,
            needed: 24
        })
    );
    assert_eq!(
        parse(&ext(&[4], &[], &[])),
        Err(BtfError::ExtRecordTooSmall {
            block: "func_info",
            size: 4,
            min: 8
        })
    );
    assert_eq!(
        parse(&ext(&[], &[12, 17, 0], &[])),
        Err(BtfError::ExtRecordTooSmall {
            block: "line_info",
            size: 12,
            min: 16
        })
    );
    // A count far beyond the bytes present.
    assert_eq!(
        parse(&ext(&[8, 17, 1000, 0, 3], &[], &[])),
        Err(BtfError::ExtTruncated {
            block: "func_info",
            offset: 36,
            needed: 8 + 8000,
            available: 16
        })
    );
    // A group header cut short.
    assert_eq!(
        parse(&ext(&[8, 17], &[], &[])),
        Err(BtfError::ExtTruncated {
            block: "func_info",
            offset: 36,
            needed: 8,
            available: 4
        })
    );
    assert_eq!(
        parse(&ext(&[8, 999, 0], &[], &[])),
        Err(BtfError::ExtBadString {
            block: "func_info",
            offset: 36,
            string_off: 999,
            reason: Box::new(BtfError::StringOutOfRange {
                offset: 999,
                len: STRS.len()
            })
        })
    );
    assert_eq!(
        parse(&ext(&[8, 17, 1, 0, 1], &[], &[])),
        Err(BtfError::ExtBadType {
            block: "func_info",
            offset: 44,
            type_id: 1,
            reason: "is not a func"
        })
    );
    assert_eq!(
        parse(&ext(&[8, 17, 1, 0, 9], &[], &[])),
        Err(BtfError::ExtBadType {
            block: "func_info",
            offset: 44,
            type_id: 9,
            reason: "does not exist"
        })
    );
    assert_eq!(
        parse(&ext(&[], &[16, 17, 1, 0, 500, 0, 0], &[])),
        Err(BtfError::ExtBadString {
            block: "line_info",
            offset: 44,
            string_off: 500,
            reason: Box::new(BtfError::StringOutOfRange {
                offset: 500,
                len: STRS.len()
            })
        })
    );
    assert_eq!(
        parse(&ext(&[], &[], &[16, 17, 1, 0, 1, 0, 13])),
        Err(BtfError::ExtBadReloKind {
            offset: 44,
            kind: 13
        })
    );
    assert_eq!(
        parse(&ext(&[], &[], &[16, 17, 1, 0, 4, 0, 0])),
        Err(BtfError::ExtBadType {
            block: "core_relo",
            offset: 44,
            type_id: 4,
            reason: "does not exist"
        })
    );
    let mut out_of_bounds = ext(&[8, 17, 0], &[], &[]);
    out_of_bounds[20..24].copy_from_slice(&64u32.to_le_bytes());
    assert_eq!(
        parse(&out_of_bounds),
        Err(BtfError::SectionOutOfBounds {
            section: "line_info",
            offset: 12,
            len: 64,
            available: 12
        })
    );
}
