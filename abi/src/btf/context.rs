//! BTF describing bpfbox's context structs, the CO-RE target for programs
//! whose `preserve_access_index` types name them.
//!
//! Built from the access tables of [`crate::program_types`] ([`SK_BUFF`],
//! [`XDP_MD`], [`PT_REGS`]), so the layouts cannot drift apart. Field types
//! follow from the sizes: 1, 2, 4 and 8 bytes are `__u8`, `__u16`, `__u32`
//! and `__u64`; other multiples of 4 are `__u32` arrays (`cb` is
//! `__u32[5]`, `remote_ip6` `__u32[4]`); anything else a `__u8` array.
//! Pointer fields of the uapi (`__sk_buff.sk`, `flow_keys`) are `__u64`,
//! as bpfbox models no sockets.
//!
//! `struct pt_regs` has `unsigned long` registers under their uapi names
//! (`rdi`) and, in an anonymous union at the same offset, the kernel's
//! names (`di`), which programs built against `vmlinux.h` use; CO-RE finds
//! either through the anonymous union.

use super::{Btf, BtfBuilder, Composite, Member, Type, TypeId};
use crate::program_types::{ContextStruct, PT_REGS, SK_BUFF, XDP_MD};

/// The context structs [`context_btf`] describes.
pub const CONTEXT_STRUCTS: &[&ContextStruct] = &[&SK_BUFF, &XDP_MD, &PT_REGS];

/// `struct pt_regs` register names of the uapi header and, where they
/// differ, of the kernel's own header (x86_64).
const PT_REGS_KERNEL_NAMES: &[(&str, &str)] = &[
    ("rbp", "bp"),
    ("rbx", "bx"),
    ("rax", "ax"),
    ("rcx", "cx"),
    ("rdx", "dx"),
    ("rsi", "si"),
    ("rdi", "di"),
    ("orig_rax", "orig_ax"),
    ("rip", "ip"),
    ("eflags", "flags"),
    ("rsp", "sp"),
];

/// The integer types fields use.
struct Ints {
    u8: TypeId,
    u16: TypeId,
    u32: TypeId,
    u64: TypeId,
    ulong: TypeId,
    index: TypeId,
}

/// BTF holding `struct __sk_buff`, `struct xdp_md` and `struct pt_regs`
/// with bpfbox's layouts (see the module doc).
pub fn context_btf() -> Btf {
    let mut b = BtfBuilder::new();
    let uchar = b.int("unsigned char", 1, false);
    let ushort = b.int("unsigned short", 2, false);
    let uint = b.int("unsigned int", 4, false);
    let ulonglong = b.int("unsigned long long", 8, false);
    let ints = Ints {
        u8: b.typedef("__u8", uchar),
        u16: b.typedef("__u16", ushort),
        u32: b.typedef("__u32", uint),
        u64: b.typedef("__u64", ulonglong),
        ulong: b.int("unsigned long", 8, false),
        index: b.int("__ARRAY_SIZE_TYPE__", 4, false),
    };
    for s in CONTEXT_STRUCTS {
        let aliases = if s.name == PT_REGS.name {
            PT_REGS_KERNEL_NAMES
        } else {
            &[]
        };
        add_struct(&mut b, &ints, s, aliases);
    }
    b.finish_trusted()
}

/// The type of a field of `size` bytes.
fn field_type(b: &mut BtfBuilder, ints: &Ints, size: u32, long: bool) -> TypeId {
    match size {
        1 => ints.u8,
        2 => ints.u16,
        4 => ints.u32,
        8 if long => ints.ulong,
        8 => ints.u64,
        n if n % 4 == 0 => b.array(ints.u32, ints.index, n / 4),
        n => b.array(ints.u8, ints.index, n),
    }
}

fn add_struct(
    b: &mut BtfBuilder,
    ints: &Ints,
    s: &ContextStruct,
    aliases: &[(&str, &str)],
) -> TypeId {
    let long = !aliases.is_empty();
    let mut members = Vec::with_capacity(s.fields.len());
    for field in s.fields {
        let ty = field_type(b, ints, field.size, long);
        let bit_offset = field.offset * 8;
        let alias = aliases
            .iter()
            .find(|(uapi, _)| *uapi == field.name)
            .map(|(_, kernel)| kernel);
        let member = match alias {
            Some(kernel) => {
                let names = [field.name, kernel].map(|name| Member {
                    name_off: b.add_str(name),
                    ty,
                    bit_offset: 0,
                    bitfield_size: 0,
                });
                let union = b.add(Type::Union(Composite {
                    name_off: 0,
                    size: field.size,
                    members: names.to_vec(),
                }));
                Member {
                    name_off: 0,
                    ty: union,
                    bit_offset,
                    bitfield_size: 0,
                }
            }
            None => Member {
                name_off: b.add_str(field.name),
                ty,
                bit_offset,
                bitfield_size: 0,
            },
        };
        members.push(member);
    }
    let name_off = b.add_str(s.name);
    b.add(Type::Struct(Composite {
        name_off,
        size: s.size,
        members,
    }))
}
