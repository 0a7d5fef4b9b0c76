//! Unit tests of the BTF reader on hand-made inputs: every parse error,
//! lookups, loops, display, the builder and `.BTF.ext`. (CO-RE has its own
//! tests in `core/tests.rs`; real compiler output is tested in
//! `abi/tests/btf.rs`.)

use super::*;

mod ext;

/// Strings of the hand-made tables: `int` at 1, `foo` at 5, `a` at 9, `b`
/// at 11, `u32` at 13, `.data` at 17.
pub(super) const STRS: &[u8] = b"\0int\0foo\0a\0b\0u32\0.data\0";
pub(super) const INT: u32 = 1;
pub(super) const FOO: u32 = 5;
pub(super) const A: u32 = 9;

/// Raw BTF with the type section made of `words`.
pub(super) fn raw(words: &[u32], strings: &[u8]) -> Vec<u8> {
    let types: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    let mut out = vec![0x9f, 0xeb, 1, 0];
    let type_len = types.len() as u32;
    for word in [24, 0, type_len, type_len, strings.len() as u32] {
        out.extend_from_slice(&u32::to_le_bytes(word));
    }
    out.extend(types);
    out.extend_from_slice(strings);
    out
}

/// A type's info word.
pub(super) fn info(kind: Kind, vlen: u32, flag: bool) -> u32 {
    u32::from(kind.raw()) << 24 | vlen | u32::from(flag) << 31
}

/// `int`: 4 bytes, signed, 32 bits (16 bytes).
pub(super) fn int_words() -> [u32; 4] {
    [INT, info(Kind::Int, 0, false), 4, 1 << 24 | 32]
}

pub(super) fn parse_words(words: &[u32]) -> Result<Btf, BtfError> {
    Btf::parse(&raw(words, STRS))
}

#[test]
fn header_errors() {
    assert_eq!(
        Btf::parse(&[]),
        Err(BtfError::HeaderTruncated {
            what: "BTF",
            len: 0,
            needed: 24
        })
    );
    assert_eq!(
        Btf::parse(&[0x9f, 0xeb, 1, 0]),
        Err(BtfError::HeaderTruncated {
            what: "BTF",
            len: 4,
            needed: 24
        })
    );
    let good = raw(&int_words(), STRS);
    let mut big_endian = good.clone();
    big_endian[..2].copy_from_slice(&[0xeb, 0x9f]);
    assert_eq!(
        Btf::parse(&big_endian),
        Err(BtfError::BigEndian { what: "BTF" })
    );
    let mut bad_magic = good.clone();
    bad_magic[..2].copy_from_slice(&[0x34, 0x12]);
    assert_eq!(
        Btf::parse(&bad_magic),
        Err(BtfError::BadMagic {
            what: "BTF",
            magic: 0x1234
        })
    );
    let mut version = good.clone();
    version[2] = 2;
    assert_eq!(
        Btf::parse(&version),
        Err(BtfError::UnsupportedVersion {
            what: "BTF",
            version: 2
        })
    );
    let mut flags = good.clone();
    flags[3] = 1;
    assert_eq!(
        Btf::parse(&flags),
        Err(BtfError::UnsupportedFlags {
            what: "BTF",
            flags: 1
        })
    );
    let mut short_header = good.clone();
    short_header[4] = 16;
    assert_eq!(
        Btf::parse(&short_header),
        Err(BtfError::BadHeaderLen {
            what: "BTF",
            hdr_len: 16,
            min: 24,
            len: good.len()
        })
    );
    let mut long_header = good.clone();
    long_header[4..8].copy_from_slice(&1000u32.to_le_bytes());
    assert_eq!(
        Btf::parse(&long_header),
        Err(BtfError::BadHeaderLen {
            what: "BTF",
            hdr_len: 1000,
            min: 24,
            len: good.len()
        })
    );
    // A longer header is fine: the sections move with it.
    let mut longer = good[..24].to_vec();
    longer[4] = 28;
    longer.extend_from_slice(&[0; 4]);
    longer.extend_from_slice(&good[24..]);
    assert_eq!(Btf::parse(&longer).unwrap().types_len(), 2);
}

#[test]
fn sections_must_fit() {
    let good = raw(&int_words(), STRS);
    let after_header = good.len() - 24;
    let mut type_len = good.clone();
    type_len[12..16].copy_from_slice(&100u32.to_le_bytes());
    assert_eq!(
        Btf::parse(&type_len),
        Err(BtfError::SectionOutOfBounds {
            section: "type",
            offset: 0,
            len: 100,
            available: after_header
        })
    );
    let mut strings = good.clone();
    strings[16..24].copy_from_slice(&[0xff; 8]);
    assert_eq!(
        Btf::parse(&strings),
        Err(BtfError::SectionOutOfBounds {
            section: "string",
            offset: u32::MAX,
            len: u32::MAX,
            available: after_header
        })
    );
    // Truncating the blob cuts the string section.
    assert_eq!(
        Btf::parse(&good[..good.len() - 1]),
        Err(BtfError::SectionOutOfBounds {
            section: "string",
            offset: 16,
            len: STRS.len() as u32,
            available: after_header - 1
        })
    );
}

#[test]
fn string_section_must_be_nul_delimited() {
    for strings in [&b""[..], b"x\0", b"\0int"] {
        assert_eq!(
            Btf::parse(&raw(&[], strings)),
            Err(BtfError::BadStringSection),
            "{strings:?}"
        );
    }
    assert_eq!(Btf::parse(&raw(&[], b"\0")).unwrap().types_len(), 1);
}

#[test]
fn record_errors() {
    // Unknown kinds, 0 included, with the record's offset.
    let mut words = int_words().to_vec();
    words.extend([0, 20 << 24, 0]);
    assert_eq!(
        parse_words(&words),
        Err(BtfError::UnknownKind {
            id: 2,
            offset: 16,
            kind: 20
        })
    );
    assert_eq!(
        parse_words(&[0, 0, 0]),
        Err(BtfError::UnknownKind {
            id: 1,
            offset: 0,
            kind: 0
        })
    );
    // A record cut short.
    assert_eq!(
        parse_words(&[0, info(Kind::Ptr, 0, false)]),
        Err(BtfError::TypeTruncated {
            id: 1,
            offset: 0,
            needed: 12,
            available: 8
        })
    );
    // A huge vlen with one member present: refused before any allocation.
    assert_eq!(
        parse_words(&[FOO, info(Kind::Struct, 0xffff, false), 4, A, 1, 0]),
        Err(BtfError::TypeTruncated {
            id: 1,
            offset: 0,
            needed: 12 + 12 * 0xffff,
            available: 24
        })
    );
    // The int's extra word missing.
    assert_eq!(
        parse_words(&int_words()[..3]),
        Err(BtfError::TypeTruncated {
            id: 1,
            offset: 0,
            needed: 16,
            available: 12
        })
    );
    assert_eq!(
        parse_words(&[FOO, info(Kind::Func, 3, false), 0]),
        Err(BtfError::BadLinkage {
            id: 1,
            offset: 0,
            linkage: 3
        })
    );
    assert_eq!(
        parse_words(&[FOO, info(Kind::Var, 0, false), 0, 7]),
        Err(BtfError::BadLinkage {
            id: 1,
            offset: 0,
            linkage: 7
        })
    );
    for data in [3 << 24 | 32, 1 << 28, 0x100] {
        assert_eq!(
            parse_words(&[INT, info(Kind::Int, 0, false), 4, data]),
            Err(BtfError::BadIntData {
                id: 1,
                offset: 0,
                data
            })
        );
    }
    assert_eq!(
        parse_words(&[FOO, info(Kind::Ptr, 0, false), 0]),
        Err(BtfError::UnexpectedName {
            id: 1,
            offset: 0,
            kind: Kind::Ptr
        })
    );
    for (kind, vlen, flag) in [(Kind::Int, 0, true), (Kind::Ptr, 1, false)] {
        let word = info(kind, vlen, flag);
        let mut words = vec![0, word, 0];
        if kind == Kind::Int {
            words[0] = INT;
            words.push(32);
        }
        assert_eq!(
            parse_words(&words),
            Err(BtfError::BadInfo {
                id: 1,
                offset: 0,
                kind,
                info: word
            })
        );
    }
    let reserved = info(Kind::Ptr, 0, false) | 1 << 16;
    assert_eq!(
        parse_words(&[0, reserved, 0]),
        Err(BtfError::BadInfo {
            id: 1,
            offset: 0,
            kind: Kind::Ptr,
            info: reserved
        })
    );
    assert_eq!(
        parse_words(&[FOO, info(Kind::DeclTag, 0, false), 0, -2i32 as u32]),
        Err(BtfError::BadComponent {
            id: 1,
            offset: 0,
            component: -2
        })
    );
}

#[test]
fn reference_errors() {
    assert_eq!(
        parse_words(&[0, info(Kind::Ptr, 0, false), 5]),
        Err(BtfError::BadTypeRef {
            id: 1,
            target: 5,
            len: 2
        })
    );
    let message = parse_words(&[0, info(Kind::Ptr, 0, false), 5])
        .unwrap_err()
        .to_string();
    assert_eq!(message, "type 1 refers to type 5, but the last type is 1");
    assert_eq!(
        parse_words(&[99, info(Kind::Typedef, 0, false), 0]),
        Err(BtfError::BadNameOffset {
            id: 1,
            offset: 99,
            len: STRS.len()
        })
    );
    // A member's name.
    let mut words = int_words().to_vec();
    words.extend([FOO, info(Kind::Struct, 1, false), 4, 500, 1, 0]);
    assert_eq!(
        parse_words(&words),
        Err(BtfError::BadNameOffset {
            id: 2,
            offset: 500,
            len: STRS.len()
        })
    );
    assert_eq!(
        parse_words(&[INT, info(Kind::Int, 0, false), 3, 24]),
        Err(BtfError::BadInt {
            id: 1,
            size: 3,
            offset: 0,
            bits: 24
        })
    );
    // Found by the property test: a size whose bit count overflows u32.
    assert_eq!(
        parse_words(&[INT, info(Kind::Int, 0, false), 0x2000_0000, 32]),
        Err(BtfError::BadInt {
            id: 1,
            size: 0x2000_0000,
            offset: 0,
            bits: 32
        })
    );
    assert_eq!(
        parse_words(&[INT, info(Kind::Int, 0, false), 4, 4 << 16 | 30]),
        Err(BtfError::BadInt {
            id: 1,
            size: 4,
            offset: 4,
            bits: 30
        })
    );
}

#[test]
fn decodes_every_kind() {
    let strings = b"\0int\0s\0x\0y\0e\0A\0B\0f\0v\0.data\0dbl\0tag\0E\0";
    // int 1, s 5, x 7, y 9, e 11, A 13, B 15, f 17, v 19, .data 21,
    // dbl 27, tag 31, E 35.
    #[rustfmt::skip]
    let words = [
        // [1] int
        1, info(Kind::Int, 0, false), 4, 1 << 24 | 32,
        // [2] struct s { int x; int y:3 at bit 35 } (kind flag)
        5, info(Kind::Struct, 2, true), 8, 7, 1, 0, 9, 1, 3 << 24 | 35,
        // [3] signed enum e { A = -1 }
        11, info(Kind::Enum, 1, true), 4, 13, u32::MAX,
        // [4] unsigned enum e { B = 0xffffffff }
        11, info(Kind::Enum, 1, false), 4, 15, u32::MAX,
        // [5] enum64 E { A = 0x1_0000_0002 }
        35, info(Kind::Enum64, 1, false), 8, 13, 2, 1,
        // [6] union fwd
        5, info(Kind::Fwd, 0, true), 0,
        // [7] int (*)(int x, ...)
        0, info(Kind::FuncProto, 2, false), 1, 7, 1, 0, 0,
        // [8] global func f
        17, info(Kind::Func, 1, false), 7,
        // [9] extern var v: int
        19, info(Kind::Var, 0, false), 1, 2,
        // [10] datasec .data { v at 4, 4 bytes }
        21, info(Kind::Datasec, 1, false), 8, 9, 4, 4,
        // [11] double
        27, info(Kind::Float, 0, false), 8,
        // [12] decl tag on s.y; [13] type tag attribute on int
        31, info(Kind::DeclTag, 0, false), 2, 1,
        31, info(Kind::TypeTag, 0, true), 1,
        // [14] int[3]
        0, info(Kind::Array, 0, false), 0, 1, 1, 3,
    ];
    let btf = Btf::parse(&raw(&words, strings)).unwrap();
    assert_eq!(btf.types_len(), 15);
    assert_eq!(
        btf.get(1).unwrap(),
        &Type::Int(Int {
            name_off: 1,
            size: 4,
            encoding: IntEncoding::Signed,
            offset: 0,
            bits: 32
        })
    );
    assert_eq!(
        btf.get(2).unwrap(),
        &Type::Struct(Composite {
            name_off: 5,
            size: 8,
            members: vec![
                Member {
                    name_off: 7,
                    ty: 1,
                    bit_offset: 0,
                    bitfield_size: 0
                },
                Member {
                    name_off: 9,
                    ty: 1,
                    bit_offset: 35,
                    bitfield_size: 3
                },
            ]
        })
    );
    let Type::Enum(signed) = btf.get(3).unwrap() else {
        panic!("not an enum")
    };
    assert!(signed.signed && !signed.is_64);
    assert_eq!(signed.values[0].value, u64::MAX);
    assert_eq!(signed.values[0].value_i64(), -1);
    let Type::Enum(unsigned) = btf.get(4).unwrap() else {
        panic!("not an enum")
    };
    assert_eq!(unsigned.values[0].value, 0xffff_ffff);
    assert_eq!(btf.get(5).unwrap().kind(), Kind::Enum64);
    let Type::Enum(wide) = btf.get(5).unwrap() else {
        panic!("not an enum")
    };
    assert_eq!(wide.values[0].value, 0x1_0000_0002);
    assert_eq!(
        btf.get(6).unwrap(),
        &Type::Fwd {
            name_off: 5,
            union: true
        }
    );
    assert_eq!(
        btf.get(7).unwrap(),
        &Type::FuncProto {
            ret: 1,
            params: vec![Param { name_off: 7, ty: 1 }, Param { name_off: 0, ty: 0 }]
        }
    );
    assert_eq!(
        btf.get(8).unwrap(),
        &Type::Func {
            name_off: 17,
            proto: 7,
            linkage: Linkage::Global
        }
    );
    assert_eq!(
        btf.get(9).unwrap(),
        &Type::Var {
            name_off: 19,
            target: 1,
            linkage: Linkage::Extern
        }
    );
    let (id, data) = btf.datasec(".data").unwrap();
    assert_eq!(id, 10);
    assert_eq!(
        data.vars,
        vec![VarSecInfo {
            ty: 9,
            offset: 4,
            size: 4
        }]
    );
    assert_eq!(
        btf.get(12).unwrap(),
        &Type::DeclTag {
            name_off: 31,
            target: 2,
            component: 1,
            attribute: false
        }
    );
    assert_eq!(
        btf.get(13).unwrap(),
        &Type::TypeTag {
            name_off: 31,
            target: 1,
            attribute: true
        }
    );
    let displayed: Vec<String> = (0..15).map(|id| btf.display(id)).collect();
    assert_eq!(
        displayed,
        [
            "void",
            "int",
            "struct s",
            "enum e",
            "enum e",
            "enum E",
            "union s",
            "int (int, ...)",
            "int f(int, ...)",
            "int v",
            "datasec .data",
            "dbl",
            "decl_tag tag",
            "int __tag(\"tag\")",
            "int[3]",
        ]
    );
    let sizes: Vec<Result<u32, BtfError>> = (0..15).map(|id| btf.size_of(id)).collect();
    assert_eq!(
        sizes,
        [
            Err(BtfError::NoSize {
                id: 0,
                kind: Kind::Void
            }),
            Ok(4),
            Ok(8),
            Ok(4),
            Ok(4),
            Ok(8),
            Err(BtfError::NoSize {
                id: 6,
                kind: Kind::Fwd
            }),
            Err(BtfError::NoSize {
                id: 7,
                kind: Kind::FuncProto
            }),
            Err(BtfError::NoSize {
                id: 8,
                kind: Kind::Func
            }),
            Ok(4),
            Ok(8),
            Ok(8),
            Err(BtfError::NoSize {
                id: 12,
                kind: Kind::DeclTag
            }),
            Ok(4),
            Ok(12),
        ]
    );
    // Writing it back gives the same bytes.
    assert_eq!(btf.to_bytes(), raw(&words, strings));
}

#[test]
fn lookups() {
    let mut b = BtfBuilder::new();
    let int = b.int("int", 4, true);
    let foo = b.struct_type("foo", &[("a", int, 0)]);
    let foo_v2 = b.struct_type("foo___v2", &[("a", int, 0), ("b", int, 4)]);
    let td = b.typedef("foo", foo);
    let btf = b.build().unwrap();
    assert_eq!(btf.find_by_name(Kind::Struct, "foo"), Some(foo));
    assert_eq!(btf.find_by_name(Kind::Struct, "foo___v2"), Some(foo_v2));
    assert_eq!(btf.find_by_name(Kind::Typedef, "foo"), Some(td));
    assert_eq!(btf.find_by_name(Kind::Union, "foo"), None);
    assert_eq!(btf.find_by_name(Kind::Struct, "bar"), None);
    assert_eq!(btf.find_by_name(Kind::Struct, ""), None);
    assert_eq!(
        btf.ids_by_essential_name("foo").collect::<Vec<_>>(),
        [foo, foo_v2, td]
    );
    assert_eq!(btf.name(foo_v2), "foo___v2");
    assert_eq!(btf.name(0), "");
    assert_eq!(btf.name(99), "");
    assert_eq!(btf.get(99), Err(BtfError::NoSuchType { id: 99, len: 5 }));
    assert_eq!(
        btf.get(99).unwrap_err().to_string(),
        "no type 99 (the last type is 4)"
    );
    assert_eq!(btf.str_at(0), Ok(""));
    assert_eq!(btf.str_at(1), Ok("int"));
    assert_eq!(btf.str_at(2), Ok("nt"));
    let len = btf.strings().len();
    assert_eq!(
        btf.str_at(len as u32),
        Err(BtfError::StringOutOfRange {
            offset: len as u32,
            len
        })
    );
    assert_eq!(btf.skip_modifiers(td), Ok(foo));
    assert_eq!(btf.size_of(td), Ok(4));
}

#[test]
fn strings_must_be_utf8() {
    let btf = Btf::parse(&raw(&[1, info(Kind::Typedef, 0, false), 0], b"\0a\xffb\0")).unwrap();
    assert_eq!(btf.str_at(1), Err(BtfError::StringNotUtf8 { offset: 1 }));
    assert_eq!(btf.str_at(3), Ok("b"));
    assert_eq!(btf.name(1), "");
    assert_eq!(btf.display(1), "<anon typedef>");
}

#[test]
fn loops_are_errors_not_hangs() {
    let strings = b"\0a\0b\0";
    #[rustfmt::skip]
    let words = [
        // [1] typedef a -> [2] typedef b -> [1]
        1, info(Kind::Typedef, 0, false), 2,
        3, info(Kind::Typedef, 0, false), 1,
        // [3] const -> [4] volatile -> [3]
        0, info(Kind::Const, 0, false), 4,
        0, info(Kind::Volatile, 0, false), 3,
        // [5] an array of itself
        0, info(Kind::Array, 0, false), 0, 5, 5, 1,
        // [6] pointer into the const loop
        0, info(Kind::Ptr, 0, false), 3,
    ];
    let btf = Btf::parse(&raw(&words, strings)).unwrap();
    assert_eq!(btf.skip_modifiers(1), Err(BtfError::TypeLoop { id: 1 }));
    assert_eq!(btf.size_of(2), Err(BtfError::TypeLoop { id: 2 }));
    assert_eq!(btf.skip_modifiers(3), Err(BtfError::TypeLoop { id: 3 }));
    assert_eq!(btf.size_of(5), Err(BtfError::TypeLoop { id: 5 }));
    assert_eq!(btf.size_of(6), Ok(8));
    assert_eq!(btf.display(1), "a");
    let quals: String = (0..33)
        .map(|i| if i % 2 == 0 { "const " } else { "volatile " })
        .collect();
    assert_eq!(btf.display(3), format!("{quals}..."));
    assert!(btf.display(5).starts_with("...[1][1]"));
    assert!(btf.display(6).ends_with("... *"));
    assert_eq!(
        btf.size_of(1).unwrap_err().to_string(),
        "type 1 leads into a loop of typedefs, modifiers or arrays"
    );
}

#[test]
fn sizes_overflow_as_errors() {
    let mut b = BtfBuilder::new();
    let int = b.int("int", 4, true);
    let index = b.int("__ARRAY_SIZE_TYPE__", 4, false);
    let inner = b.array(int, index, 0x1_0000);
    let outer = b.array(inner, index, 0x1_0000);
    let btf = b.build().unwrap();
    assert_eq!(btf.size_of(inner), Ok(0x4_0000));
    assert_eq!(
        btf.size_of(outer),
        Err(BtfError::SizeOverflow { id: outer })
    );
}

#[test]
fn display_is_c_like() {
    let mut b = BtfBuilder::new();
    let int = b.int("int", 4, true);
    let char_ = b.int("char", 1, true);
    let uint = b.int("unsigned int", 4, false);
    let u32_ = b.typedef("u32", uint);
    let index = b.int("__ARRAY_SIZE_TYPE__", 4, false);
    let char_ptr = b.add(Type::Ptr { target: char_ });
    let const_char = b.add(Type::Const { target: char_ });
    let const_char_ptr = b.add(Type::Ptr { target: const_char });
    let char_ptr_const = b.add(Type::Const { target: char_ptr });
    let char_ptr_ptr = b.add(Type::Ptr { target: char_ptr });
    let int4 = b.array(int, index, 4);
    let int3 = b.array(int, index, 3);
    let int2x3 = b.array(int3, index, 2);
    let foo = b.struct_type("foo", &[("a", int, 0)]);
    let const_foo = b.add(Type::Const { target: foo });
    let anon = b.add(Type::Union(Composite {
        name_off: 0,
        size: 4,
        members: vec![],
    }));
    let proto = b.add(Type::FuncProto {
        ret: int,
        params: vec![
            Param {
                name_off: 0,
                ty: int,
            },
            Param {
                name_off: 0,
                ty: char_ptr,
            },
        ],
    });
    let fn_ptr = b.add(Type::Ptr { target: proto });
    let void_proto = b.add(Type::FuncProto {
        ret: 0,
        params: vec![],
    });
    let void_fn_ptr = b.add(Type::Ptr { target: void_proto });
    let void_ptr = b.add(Type::Ptr { target: 0 });
    let restrict = b.add(Type::Restrict { target: void_ptr });
    let btf = b.build().unwrap();
    let cases = [
        (u32_, "u32"),
        (uint, "unsigned int"),
        (char_ptr, "char *"),
        (const_char_ptr, "const char *"),
        (char_ptr_const, "char *const"),
        (char_ptr_ptr, "char **"),
        (int4, "int[4]"),
        (int2x3, "int[2][3]"),
        (foo, "struct foo"),
        (const_foo, "const struct foo"),
        (anon, "union (anon)"),
        (fn_ptr, "int (*)(int, char *)"),
        (void_fn_ptr, "void (*)(void)"),
        (restrict, "void *restrict"),
        (99, "<bad type 99>"),
    ];
    for (id, text) in cases {
        assert_eq!(btf.display(id), text, "type {id}");
    }
}

#[test]
fn display_is_bounded_on_wide_prototypes() {
    // A prototype whose 65535 parameters are pointers to itself.
    let mut b = BtfBuilder::new();
    let proto = b.next_id();
    let ptr = proto + 1;
    b.add(Type::FuncProto {
        ret: ptr,
        params: vec![
            Param {
                name_off: 0,
                ty: ptr
            };
            0xffff
        ],
    });
    b.add(Type::Ptr { target: proto });
    let btf = b.build().unwrap();
    assert!(btf.display(ptr).len() < 20_000);
    assert!(btf.display(proto).contains("..."));
}

#[test]
fn builder_round_trips_and_checks() {
    let mut b = BtfBuilder::new();
    let int = b.int("int", 4, true);
    let foo = b.struct_type("foo", &[("a", int, 0), ("b", int, 8)]);
    assert_eq!(b.add_str("a"), b.add_str("a"));
    assert_eq!(b.add_str(""), 0);
    assert_eq!(b.add_str("a\0ignored"), b.add_str("a"));
    let btf = b.build().unwrap();
    assert_eq!(btf.size_of(foo), Ok(12));
    let again = Btf::parse(&btf.to_bytes()).unwrap();
    assert_eq!(
        again.iter().map(|(_, t)| t.clone()).collect::<Vec<_>>(),
        btf.iter().map(|(_, t)| t.clone()).collect::<Vec<_>>()
    );
    assert_eq!(again.strings(), btf.strings());

    assert_eq!(
        Btf::from_types(vec![Type::Ptr { target: 7 }], vec![0]).unwrap_err(),
        BtfError::BadTypeRef {
            id: 1,
            target: 7,
            len: 2
        }
    );
    assert_eq!(
        Btf::from_types(vec![], vec![]).unwrap_err(),
        BtfError::BadStringSection
    );
    let wide_enum = Type::Enum(Enum {
        name_off: 0,
        size: 4,
        signed: false,
        is_64: false,
        values: vec![Enumerator {
            name_off: 0,
            value: 1 << 40,
        }],
    });
    assert_eq!(
        Btf::from_types(vec![wide_enum], vec![0]).unwrap_err(),
        BtfError::Unencodable {
            id: 1,
            reason: "32-bit enum value out of range"
        }
    );
    let far_bitfield = Type::Struct(Composite {
        name_off: 0,
        size: 4,
        members: vec![Member {
            name_off: 0,
            ty: 0,
            bit_offset: 1 << 24,
            bitfield_size: 1,
        }],
    });
    assert_eq!(
        Btf::from_types(vec![far_bitfield], vec![0]).unwrap_err(),
        BtfError::Unencodable {
            id: 1,
            reason: "bitfield member offset or size out of range"
        }
    );
}

#[test]
fn context_btf_has_the_context_structs() {
    let btf = context_btf();
    // It passes the checks of a parsed table.
    let parsed = Btf::parse(&btf.to_bytes()).unwrap();
    assert_eq!(parsed.types_len(), btf.types_len());
    for (name, size) in [("__sk_buff", 192), ("xdp_md", 24), ("pt_regs", 168)] {
        let id = btf.find_by_name(Kind::Struct, name).unwrap();
        assert_eq!(btf.size_of(id), Ok(size), "{name}");
    }
    let skb = btf.find_by_name(Kind::Struct, "__sk_buff").unwrap();
    let members = &btf.get(skb).unwrap().composite().unwrap().members;
    let describe = |i: usize| {
        let m = members[i];
        (
            btf.str_at(m.name_off).unwrap().to_owned(),
            btf.display(m.ty),
            m.bit_offset / 8,
        )
    };
    assert_eq!(describe(0), ("len".to_owned(), "__u32".to_owned(), 0));
    assert_eq!(describe(12), ("cb".to_owned(), "__u32[5]".to_owned(), 48));
    assert_eq!(
        describe(21),
        ("remote_ip6".to_owned(), "__u32[4]".to_owned(), 100)
    );
    assert_eq!(describe(27), ("tstamp".to_owned(), "__u64".to_owned(), 152));
    assert_eq!(
        describe(32),
        ("tstamp_type".to_owned(), "__u8".to_owned(), 180)
    );
    let regs = btf.find_by_name(Kind::Struct, "pt_regs").unwrap();
    let members = &btf.get(regs).unwrap().composite().unwrap().members;
    assert_eq!(members.len(), 21);
    // r15 is plain; rdi sits in an anonymous union with di.
    assert_eq!(btf.str_at(members[0].name_off), Ok("r15"));
    assert_eq!(btf.display(members[0].ty), "unsigned long");
    assert_eq!(members[14].name_off, 0);
    assert_eq!(members[14].bit_offset, 112 * 8);
    let union = btf.get(members[14].ty).unwrap().composite().unwrap();
    let names: Vec<&str> = union
        .members
        .iter()
        .map(|m| btf.str_at(m.name_off).unwrap())
        .collect();
    assert_eq!(names, ["rdi", "di"]);
}
