//! CO-RE on hand-built types: the rules clang-built tests (abi/tests/btf.rs)
//! cannot easily reach — ambiguity, target order, flexible arrays, enum64,
//! forward declarations, limits, and every error.

use super::super::{
    Btf, BtfBuilder, Composite, CoreRelo, CoreReloKind, Enum, Enumerator, Member, Type, TypeId,
};
use super::{essential_name, resolve, CoreError, CoreValue};

#[test]
fn essential_names() {
    assert_eq!(essential_name("task_struct"), "task_struct");
    assert_eq!(essential_name("task_struct___old"), "task_struct");
    assert_eq!(essential_name("core_v2___v2"), "core_v2");
    assert_eq!(essential_name("a___b___c"), "a___b");
    assert_eq!(essential_name("___x"), "___x");
    assert_eq!(essential_name("a____b"), "a____b");
    assert_eq!(essential_name("a___"), "a___");
    assert_eq!(essential_name("a___1"), "a");
    assert_eq!(essential_name("é___x"), "é");
    assert_eq!(essential_name(""), "");
}

/// A builder with `int` (id 1), `long` (2) and the array index type (3).
fn base() -> BtfBuilder {
    let mut b = BtfBuilder::new();
    b.int("int", 4, true);
    b.int("long", 8, true);
    b.int("__ARRAY_SIZE_TYPE__", 4, false);
    b
}
const INT: TypeId = 1;
const LONG: TypeId = 2;
const INDEX: TypeId = 3;

fn relo(b: &mut BtfBuilder, type_id: TypeId, access: &str, kind: CoreReloKind) -> CoreRelo {
    CoreRelo {
        insn_off: 0,
        type_id,
        access_str_off: b.add_str(access),
        kind,
    }
}

/// A struct with members at the given byte offsets and an explicit size.
fn add_struct(
    b: &mut BtfBuilder,
    name: &str,
    size: u32,
    members: &[(&str, TypeId, u32)],
) -> TypeId {
    let name_off = b.add_str(name);
    let members = members
        .iter()
        .map(|&(m, ty, off)| Member {
            name_off: b.add_str(m),
            ty,
            bit_offset: off * 8,
            bitfield_size: 0,
        })
        .collect();
    b.add(Type::Struct(Composite {
        name_off,
        size,
        members,
    }))
}

/// Local `struct s { int x; int y; }` and a relocation on `access`.
fn local_s(access: &str, kind: CoreReloKind) -> (Btf, CoreRelo) {
    let mut b = base();
    let s = add_struct(&mut b, "s", 8, &[("x", INT, 0), ("y", INT, 4)]);
    let r = relo(&mut b, s, access, kind);
    (b.build().unwrap(), r)
}

fn found(local: u64, target: u64) -> impl Fn(&CoreValue) {
    move |v: &CoreValue| {
        assert_eq!((v.local, v.target, v.exists), (local, target, true));
    }
}

#[test]
fn first_target_with_a_match_wins() {
    let (local, r) = local_s("0:1", CoreReloKind::FieldByteOffset);
    let mut b = base();
    add_struct(&mut b, "other", 4, &[("y", INT, 0)]);
    let without = b.build().unwrap();
    let mut b = base();
    let s1 = add_struct(&mut b, "s", 16, &[("y", INT, 12)]);
    let with = b.build().unwrap();
    let mut b = base();
    add_struct(&mut b, "s", 16, &[("y", INT, 8)]);
    let also = b.build().unwrap();
    let v = resolve(&local, &r, &[&without, &with, &also]).unwrap();
    found(4, 12)(&v);
    assert_eq!(v.target_btf, Some(1));
    assert_eq!(v.target_type, Some(s1));
    assert_eq!(
        (v.local_size, v.target_size, v.width_change_ok),
        (Some(4), Some(4), true)
    );
    assert_eq!(resolve(&local, &r, &[&also, &with]).unwrap().target, 8);
}

#[test]
fn ambiguity_is_an_error_unless_values_agree() {
    let (local, r) = local_s("0:0", CoreReloKind::FieldByteOffset);
    let mut b = base();
    let s = add_struct(&mut b, "s", 4, &[("x", INT, 0)]);
    let s_b = add_struct(&mut b, "s___b", 16, &[("pad", LONG, 0), ("x", INT, 8)]);
    let target = b.build().unwrap();
    let err = resolve(&local, &r, &[&target]).unwrap_err();
    assert_eq!(
        err,
        CoreError::Ambiguous {
            kind: CoreReloKind::FieldByteOffset,
            type_name: "struct s".to_owned(),
            access: "s.x".to_owned(),
            target: 0,
            first: s,
            first_value: 0,
            second: s_b,
            second_value: 8,
        }
    );
    assert_eq!(
        err.to_string(),
        "CO-RE byte_off relocation of `s.x` (`struct s`) is ambiguous in target 0: \
         type 4 gives 0, type 5 gives 8"
    );
    // Two candidates with the same answer are fine; the first is reported.
    let mut b = base();
    let first = add_struct(&mut b, "s___a", 4, &[("x", INT, 0)]);
    add_struct(&mut b, "s", 8, &[("x", INT, 0), ("z", INT, 4)]);
    let target = b.build().unwrap();
    let v = resolve(&local, &r, &[&target]).unwrap();
    found(0, 0)(&v);
    assert_eq!(v.target_type, Some(first));
}

#[test]
fn missing_fields() {
    let mut b = base();
    add_struct(&mut b, "s", 4, &[("x", INT, 0)]);
    let target = b.build().unwrap();
    let (local, r) = local_s("0:1", CoreReloKind::FieldByteOffset);
    let err = resolve(&local, &r, &[&target]).unwrap_err();
    assert_eq!(
        err,
        CoreError::NotFound {
            kind: CoreReloKind::FieldByteOffset,
            type_name: "struct s".to_owned(),
            access: "s.y".to_owned(),
        }
    );
    assert_eq!(
        err.to_string(),
        "CO-RE byte_off relocation of `s.y`: no target BTF has a matching `struct s`"
    );
    // No targets at all.
    assert!(matches!(
        resolve(&local, &r, &[]),
        Err(CoreError::NotFound { .. })
    ));
    // Existence is an answer.
    let (local, r) = local_s("0:1", CoreReloKind::FieldExists);
    let v = resolve(&local, &r, &[&target]).unwrap();
    assert_eq!((v.local, v.target, v.exists), (1, 0, false));
    let (local, r) = local_s("0:0", CoreReloKind::FieldExists);
    found(1, 1)(&resolve(&local, &r, &[&target]).unwrap());
    // A field of the same name but an incompatible type is missing.
    let mut b = base();
    let inner = add_struct(&mut b, "inner", 4, &[("a", INT, 0)]);
    add_struct(&mut b, "s", 8, &[("x", INT, 0), ("y", inner, 4)]);
    let target = b.build().unwrap();
    let (local, r) = local_s("0:1", CoreReloKind::FieldExists);
    assert!(!resolve(&local, &r, &[&target]).unwrap().exists);
}

#[test]
fn anonymous_members_are_searched() {
    let (local, r) = local_s("0:1", CoreReloKind::FieldByteOffset);
    let mut b = base();
    let inner = add_struct(&mut b, "", 8, &[("a", INT, 0), ("y", INT, 4)]);
    let outer_union = b.add(Type::Union(Composite {
        name_off: 0,
        size: 8,
        members: vec![Member {
            name_off: 0,
            ty: inner,
            bit_offset: 0,
            bitfield_size: 0,
        }],
    }));
    let s = add_struct(&mut b, "s", 24, &[("x", INT, 0), ("", outer_union, 16)]);
    let target = b.build().unwrap();
    let v = resolve(&local, &r, &[&target]).unwrap();
    found(4, 20)(&v);
    assert_eq!(v.target_type, Some(s));
    let spec = super::local_spec(&local, &r).unwrap();
    assert_eq!(spec.raw, [0, 1]);
    assert_eq!(spec.bit_offset, 32);
}

#[test]
fn anonymous_root_and_bad_access_strings() {
    let mut b = base();
    let anon = add_struct(&mut b, "", 4, &[("x", INT, 0)]);
    let r = relo(&mut b, anon, "0:0", CoreReloKind::FieldByteOffset);
    let local_id = relo(&mut b, anon, "0", CoreReloKind::TypeIdLocal);
    let local = b.build().unwrap();
    assert_eq!(
        resolve(&local, &r, &[&local]).unwrap_err(),
        CoreError::AnonymousType {
            kind: CoreReloKind::FieldByteOffset,
            type_name: "struct (anon)".to_owned(),
            access: "struct (anon).x".to_owned(),
        }
    );
    // The local id needs no name.
    let v = resolve(&local, &local_id, &[]).unwrap();
    assert_eq!((v.local, v.target, v.exists), (4, 4, true));

    let cases = [
        (
            "0:5",
            CoreReloKind::FieldByteOffset,
            "member 5 of struct s which has 2",
        ),
        (
            "x",
            CoreReloKind::FieldByteOffset,
            "`x` is not a decimal index",
        ),
        ("", CoreReloKind::FieldByteOffset, "it is empty"),
        (
            "0:0:0",
            CoreReloKind::FieldByteOffset,
            "index 0 into int, a int",
        ),
        (
            "0:1",
            CoreReloKind::TypeSize,
            "type relocations take the access string `0`",
        ),
        (
            "0",
            CoreReloKind::EnumvalValue,
            "enumerator relocation on struct s, not an enum",
        ),
    ];
    for (access, kind, reason) in cases {
        let (local, r) = local_s(access, kind);
        assert_eq!(
            resolve(&local, &r, &[&local]).unwrap_err(),
            CoreError::BadAccess {
                kind,
                type_name: "struct s".to_owned(),
                access: access.to_owned(),
                reason: reason.to_owned(),
            },
            "{access}"
        );
    }
    let (local, r) = local_s("0:5", CoreReloKind::FieldByteOffset);
    assert_eq!(
        resolve(&local, &r, &[]).unwrap_err().to_string(),
        "CO-RE byte_off relocation on `struct s`: bad access string \"0:5\": \
         member 5 of struct s which has 2"
    );
}

#[test]
fn arrays_and_flexible_arrays() {
    // struct f { int n; int data[]; }, struct g { int arr[4]; int after; }
    let mut b = base();
    let flex = b.array(INT, INDEX, 0);
    let four = b.array(INT, INDEX, 4);
    let f = add_struct(&mut b, "f", 4, &[("n", INT, 0), ("data", flex, 4)]);
    let g = add_struct(&mut b, "g", 20, &[("arr", four, 0), ("after", INT, 16)]);
    let r_flex = relo(&mut b, f, "0:1:3", CoreReloKind::FieldByteOffset);
    let r_arr = relo(&mut b, g, "0:0:3", CoreReloKind::FieldByteOffset);
    let r_out = relo(&mut b, g, "0:0:5", CoreReloKind::FieldByteOffset);
    let r_root = relo(&mut b, g, "1:1", CoreReloKind::FieldByteOffset);
    let r_size = relo(&mut b, g, "0:0:1", CoreReloKind::FieldByteSize);
    let r_shift = relo(&mut b, g, "0:0:1", CoreReloKind::FieldLShiftU64);
    let local = b.build().unwrap();

    let mut b = base();
    let flex = b.array(INT, INDEX, 0);
    let two = b.array(INT, INDEX, 2);
    add_struct(&mut b, "f", 8, &[("n", LONG, 0), ("data", flex, 8)]);
    add_struct(&mut b, "g", 16, &[("after", INT, 0), ("arr", two, 8)]);
    let target = b.build().unwrap();

    let v = resolve(&local, &r_flex, &[&target]).unwrap();
    found(16, 20)(&v);
    assert_eq!((v.local_size, v.target_size), (Some(4), Some(4)));
    // arr[3] does not exist in a 2-element target array.
    assert!(matches!(
        resolve(&local, &r_arr, &[&target]),
        Err(CoreError::NotFound { access, .. }) if access == "g.arr[3]"
    ));
    assert_eq!(
        resolve(&local, &r_out, &[&target]).unwrap_err(),
        CoreError::BadAccess {
            kind: CoreReloKind::FieldByteOffset,
            type_name: "struct g".to_owned(),
            access: "0:0:5".to_owned(),
            reason: "index 5 of int[4] which has 4 elements".to_owned(),
        }
    );
    // p[1].after: the root index counts whole structs.
    let v = resolve(&local, &r_root, &[&target]).unwrap();
    found(20 + 16, 16)(&v);
    found(4, 4)(&resolve(&local, &r_size, &[&target]).unwrap());
    assert_eq!(
        resolve(&local, &r_shift, &[&target]).unwrap_err(),
        CoreError::Unsupported {
            kind: CoreReloKind::FieldLShiftU64,
            type_name: "struct g".to_owned(),
            access: "g.arr[1]".to_owned(),
            problem: "lshift_u64 cannot be computed for an array element".to_owned(),
        }
    );
}

fn add_enum(
    b: &mut BtfBuilder,
    name: &str,
    size: u32,
    is_64: bool,
    values: &[(&str, u64)],
) -> TypeId {
    let name_off = b.add_str(name);
    let values = values
        .iter()
        .map(|&(n, value)| Enumerator {
            name_off: b.add_str(n),
            value,
        })
        .collect();
    b.add(Type::Enum(Enum {
        name_off,
        size,
        signed: false,
        is_64,
        values,
    }))
}

#[test]
fn enumerators() {
    let mut b = base();
    let e = add_enum(&mut b, "e", 4, false, &[("A", 1), ("B___old", 2), ("C", 3)]);
    let value_b = relo(&mut b, e, "1", CoreReloKind::EnumvalValue);
    let exists_c = relo(&mut b, e, "2", CoreReloKind::EnumvalExists);
    let bad = relo(&mut b, e, "7", CoreReloKind::EnumvalValue);
    let two = relo(&mut b, e, "0:1", CoreReloKind::EnumvalValue);
    let local = b.build().unwrap();
    let mut b = base();
    add_enum(&mut b, "e___new", 8, true, &[("B", 1 << 40), ("A", 5)]);
    let target = b.build().unwrap();
    let v = resolve(&local, &value_b, &[&target]).unwrap();
    found(2, 1 << 40)(&v);
    let v = resolve(&local, &exists_c, &[&target]).unwrap();
    assert_eq!((v.local, v.target, v.exists), (1, 0, false));
    assert!(matches!(
        resolve(&local, &bad, &[&target]),
        Err(CoreError::BadAccess { reason, .. }) if reason == "enumerator 7 of enum e which has 3"
    ));
    assert!(matches!(
        resolve(&local, &two, &[&target]),
        Err(CoreError::BadAccess { reason, .. }) if reason == "enumerator relocations take one index"
    ));
    // Not found: the access names the enumerator.
    let mut b = base();
    add_enum(&mut b, "e", 4, false, &[("A", 1)]);
    let target = b.build().unwrap();
    assert_eq!(
        resolve(&local, &value_b, &[&target])
            .unwrap_err()
            .to_string(),
        "CO-RE enumval_value relocation of `e::B___old`: no target BTF has a matching `enum e`"
    );
}

#[test]
fn type_relocations() {
    // Local: struct t { struct fwd_me *p; int n; }, typedef t_t.
    let mut b = base();
    let fwd_name = b.add_str("fwd_me");
    let fwd = b.add(Type::Fwd {
        name_off: fwd_name,
        union: false,
    });
    let ptr = b.add(Type::Ptr { target: fwd });
    let t = add_struct(&mut b, "t", 16, &[("p", ptr, 0), ("n", INT, 8)]);
    let td = b.typedef("t_t", t);
    let matches = relo(&mut b, t, "0", CoreReloKind::TypeMatches);
    let size = relo(&mut b, td, "0", CoreReloKind::TypeSize);
    let target_id = relo(&mut b, t, "0", CoreReloKind::TypeIdTarget);
    let exists = relo(&mut b, t, "0", CoreReloKind::TypeExists);
    let local = b.build().unwrap();

    // Target: the pointee is a full struct; t has an extra member.
    let mut b = base();
    let full = add_struct(&mut b, "fwd_me", 4, &[("q", INT, 0)]);
    let ptr = b.add(Type::Ptr { target: full });
    let t = add_struct(
        &mut b,
        "t",
        24,
        &[("extra", LONG, 0), ("p", ptr, 8), ("n", INT, 16)],
    );
    let td = b.typedef("t_t", t);
    let target = b.build().unwrap();
    found(1, 1)(&resolve(&local, &matches, &[&target]).unwrap());
    let v = resolve(&local, &size, &[&target]).unwrap();
    found(16, 24)(&v);
    assert_eq!(v.target_type, Some(td));
    found(u64::from(t), u64::from(t))(&resolve(&local, &target_id, &[&target]).unwrap());

    // A target whose n is a long: exists, but does not match.
    let mut b = base();
    let full = add_struct(&mut b, "fwd_me", 4, &[("q", INT, 0)]);
    let ptr = b.add(Type::Ptr { target: full });
    add_struct(&mut b, "t", 16, &[("p", ptr, 0), ("n", LONG, 8)]);
    let other = b.build().unwrap();
    let v = resolve(&local, &matches, &[&other]).unwrap();
    assert_eq!((v.local, v.target, v.exists), (1, 0, false));
    found(1, 1)(&resolve(&local, &exists, &[&other]).unwrap());
    // A union of the same name is a different kind: no candidate.
    let mut b = base();
    let name_off = b.add_str("t");
    b.add(Type::Union(Composite {
        name_off,
        size: 4,
        members: vec![],
    }));
    let union = b.build().unwrap();
    let v = resolve(&local, &exists, &[&union]).unwrap();
    assert!(!v.exists);
    assert!(matches!(
        resolve(&local, &target_id, &[&union]),
        Err(CoreError::NotFound { access, .. }) if access == "t"
    ));
}

#[test]
fn bitfields() {
    // struct bf { long pad: 60; long x: 10; int y: 3 at bit 70 }
    let mut b = base();
    let name_off = b.add_str("bf");
    let members = [("pad", LONG, 0, 60), ("x", LONG, 60, 10), ("y", INT, 70, 3)]
        .map(|(n, ty, bit_offset, bitfield_size)| Member {
            name_off: b.add_str(n),
            ty,
            bit_offset,
            bitfield_size,
        })
        .to_vec();
    let bf = b.add(Type::Struct(Composite {
        name_off,
        size: 16,
        members,
    }));
    let x = relo(&mut b, bf, "0:1", CoreReloKind::FieldByteOffset);
    let y_kinds = [
        CoreReloKind::FieldByteOffset,
        CoreReloKind::FieldByteSize,
        CoreReloKind::FieldSigned,
        CoreReloKind::FieldLShiftU64,
        CoreReloKind::FieldRShiftU64,
    ]
    .map(|kind| relo(&mut b, bf, "0:2", kind));
    let local = b.build().unwrap();
    assert_eq!(
        resolve(&local, &x, &[&local]).unwrap_err(),
        CoreError::Unsupported {
            kind: CoreReloKind::FieldByteOffset,
            type_name: "struct bf".to_owned(),
            access: "bf.x".to_owned(),
            problem: "the bitfield does not fit in one 8-byte load".to_owned(),
        }
    );
    // y: bits 70..73, an int: the 4-byte load at 8 holds it.
    let values: Vec<(u64, bool)> = y_kinds
        .iter()
        .map(|r| {
            let v = resolve(&local, r, &[&local]).unwrap();
            (v.target, v.validate)
        })
        .collect();
    assert_eq!(
        values,
        [
            (8, false),
            (4, false),
            (1, true),
            (64 - 9, false),
            (61, true)
        ]
    );
    let v = resolve(&local, &y_kinds[0], &[&local]).unwrap();
    assert_eq!((v.local_size, v.target_size), (None, None));
}

#[test]
fn hostile_targets_are_bounded() {
    let (local, r) = local_s("0:1", CoreReloKind::FieldByteOffset);
    // Each anonymous level has 200 anonymous members of the next level:
    // 200^3 paths, none with `y`.
    let mut b = base();
    let mut level = add_struct(&mut b, "", 4, &[("z", INT, 0)]);
    for _ in 0..3 {
        let members = vec![
            Member {
                name_off: 0,
                ty: level,
                bit_offset: 0,
                bitfield_size: 0,
            };
            200
        ];
        level = b.add(Type::Struct(Composite {
            name_off: 0,
            size: 4,
            members,
        }));
    }
    add_struct(&mut b, "s", 4, &[("", level, 0)]);
    let wide = b.build().unwrap();
    assert!(matches!(
        resolve(&local, &r, &[&wide]),
        Err(CoreError::Unsupported { problem, .. }) if problem == "matching took more than 1048576 steps"
    ));
    // An anonymous member that contains itself.
    let mut b = base();
    let own = b.next_id();
    b.add(Type::Struct(Composite {
        name_off: 0,
        size: 4,
        members: vec![Member {
            name_off: 0,
            ty: own,
            bit_offset: 0,
            bitfield_size: 0,
        }],
    }));
    add_struct(&mut b, "s", 4, &[("", own, 0)]);
    let looped = b.build().unwrap();
    assert!(matches!(
        resolve(&local, &r, &[&looped]),
        Err(CoreError::Unsupported { problem, .. })
            if problem == "the target's access needs more than 64 indices"
    ));
    // A target typedef loop is a BTF error naming the relocation.
    let mut b = base();
    let td = b.next_id();
    let name = b.add_str("s");
    b.add(Type::Typedef {
        name_off: name,
        target: td + 1,
    });
    b.add(Type::Const { target: td });
    let typedefs = b.build().unwrap();
    let mut lb = base();
    let inner = add_struct(&mut lb, "x", 4, &[("a", INT, 0)]);
    let ltd = lb.typedef("s", inner);
    let r = relo(&mut lb, ltd, "0", CoreReloKind::TypeSize);
    let local = lb.build().unwrap();
    assert_eq!(
        resolve(&local, &r, &[&typedefs]).unwrap_err().to_string(),
        "CO-RE type_size relocation of `s` (`s`): type 4 leads into a loop of typedefs, \
         modifiers or arrays"
    );
}
