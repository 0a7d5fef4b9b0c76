//! The decoded form of BTF types: one [`Type`] per type id, names kept as
//! offsets into the string section.

use super::TypeId;
use std::fmt;

/// A BTF kind, with the kernel's numbers (`BTF_KIND_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Kind {
    /// Type id 0, `void`; never encoded in a type section.
    Void = 0,
    /// An integer (`BTF_KIND_INT`).
    Int = 1,
    /// A pointer.
    Ptr = 2,
    /// An array.
    Array = 3,
    /// A struct.
    Struct = 4,
    /// A union.
    Union = 5,
    /// An enum with 32-bit values.
    Enum = 6,
    /// A forward declaration of a struct or union.
    Fwd = 7,
    /// A typedef.
    Typedef = 8,
    /// A `volatile` modifier.
    Volatile = 9,
    /// A `const` modifier.
    Const = 10,
    /// A `restrict` modifier.
    Restrict = 11,
    /// A function (name and linkage of a [`Kind::FuncProto`]).
    Func = 12,
    /// A function's signature.
    FuncProto = 13,
    /// A global or static variable.
    Var = 14,
    /// An ELF data section holding variables.
    Datasec = 15,
    /// A floating-point number.
    Float = 16,
    /// A declaration tag (`btf_decl_tag`).
    DeclTag = 17,
    /// A type tag (`btf_type_tag`).
    TypeTag = 18,
    /// An enum with 64-bit values.
    Enum64 = 19,
}

impl Kind {
    /// The kind with number `raw` as it appears in a type section (1 to
    /// 19); `None` for 0 and unknown numbers.
    pub const fn from_raw(raw: u8) -> Option<Kind> {
        Some(match raw {
            1 => Kind::Int,
            2 => Kind::Ptr,
            3 => Kind::Array,
            4 => Kind::Struct,
            5 => Kind::Union,
            6 => Kind::Enum,
            7 => Kind::Fwd,
            8 => Kind::Typedef,
            9 => Kind::Volatile,
            10 => Kind::Const,
            11 => Kind::Restrict,
            12 => Kind::Func,
            13 => Kind::FuncProto,
            14 => Kind::Var,
            15 => Kind::Datasec,
            16 => Kind::Float,
            17 => Kind::DeclTag,
            18 => Kind::TypeTag,
            19 => Kind::Enum64,
            _ => return None,
        })
    }

    /// The kernel's number.
    pub const fn raw(self) -> u8 {
        self as u8
    }

    /// The lower-case name bpftool prints (`struct`, `func_proto`).
    pub const fn name(self) -> &'static str {
        match self {
            Kind::Void => "void",
            Kind::Int => "int",
            Kind::Ptr => "ptr",
            Kind::Array => "array",
            Kind::Struct => "struct",
            Kind::Union => "union",
            Kind::Enum => "enum",
            Kind::Fwd => "fwd",
            Kind::Typedef => "typedef",
            Kind::Volatile => "volatile",
            Kind::Const => "const",
            Kind::Restrict => "restrict",
            Kind::Func => "func",
            Kind::FuncProto => "func_proto",
            Kind::Var => "var",
            Kind::Datasec => "datasec",
            Kind::Float => "float",
            Kind::DeclTag => "decl_tag",
            Kind::TypeTag => "type_tag",
            Kind::Enum64 => "enum64",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What an integer's bits mean (`BTF_INT_ENCODING`; the kernel allows at
/// most one of its flags).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IntEncoding {
    /// No flag: an unsigned integer.
    Unsigned,
    /// `BTF_INT_SIGNED`.
    Signed,
    /// `BTF_INT_CHAR`: a character (signedness not recorded).
    Char,
    /// `BTF_INT_BOOL`.
    Bool,
}

impl IntEncoding {
    /// The encoding's bits in the int's extra word (before the shift to
    /// bits 24..28).
    pub const fn raw(self) -> u32 {
        match self {
            IntEncoding::Unsigned => 0,
            IntEncoding::Signed => 1,
            IntEncoding::Char => 2,
            IntEncoding::Bool => 4,
        }
    }

    /// The encoding with bits `raw`, if it is one of the four.
    pub const fn from_raw(raw: u32) -> Option<IntEncoding> {
        match raw {
            0 => Some(IntEncoding::Unsigned),
            1 => Some(IntEncoding::Signed),
            2 => Some(IntEncoding::Char),
            4 => Some(IntEncoding::Bool),
            _ => None,
        }
    }
}

/// An integer type (`BTF_KIND_INT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Int {
    /// Name (`unsigned int`), as a string offset.
    pub name_off: u32,
    /// Size in bytes (1, 2, 4, 8 or 16).
    pub size: u32,
    /// Signedness, char or bool.
    pub encoding: IntEncoding,
    /// Bit offset of the value inside the storage (0 except in old
    /// bitfield encodings).
    pub offset: u8,
    /// Number of value bits.
    pub bits: u8,
}

impl Int {
    /// Whether the integer is signed.
    pub const fn is_signed(&self) -> bool {
        matches!(self.encoding, IntEncoding::Signed)
    }
}

/// An array type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Array {
    /// The element type.
    pub elem: TypeId,
    /// The index type (an int, unused by bpfbox).
    pub index: TypeId,
    /// Number of elements (0 for a flexible array member).
    pub len: u32,
}

/// One member of a struct or union.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Member {
    /// Name (0 for an anonymous embedded struct or union).
    pub name_off: u32,
    /// The member's type.
    pub ty: TypeId,
    /// Offset of the member's first bit from the start of the struct.
    pub bit_offset: u32,
    /// Width of a bitfield member in bits; 0 for a whole member. Decoded
    /// from the top 8 bits of the offset word when the struct's kind flag
    /// is set; always 0 when it is not.
    pub bitfield_size: u32,
}

/// A struct or union.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Composite {
    /// Name (0 when anonymous).
    pub name_off: u32,
    /// Size in bytes.
    pub size: u32,
    /// Members in declaration order.
    pub members: Vec<Member>,
}

impl Composite {
    /// Whether a member has a bitfield size, so that encoding the struct
    /// needs the kind flag.
    pub fn has_bitfields(&self) -> bool {
        self.members.iter().any(|m| m.bitfield_size != 0)
    }
}

/// One enumerator of an enum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Enumerator {
    /// Name.
    pub name_off: u32,
    /// The value as 64 bits: for a signed enum the two's complement of the
    /// value (a 32-bit value sign-extended), for an unsigned one the value
    /// zero-extended.
    pub value: u64,
}

impl Enumerator {
    /// The value read as signed.
    pub const fn value_i64(&self) -> i64 {
        self.value as i64
    }
}

/// An enum, 32-bit (`BTF_KIND_ENUM`) or 64-bit (`BTF_KIND_ENUM64`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Enum {
    /// Name (0 when anonymous).
    pub name_off: u32,
    /// Size in bytes.
    pub size: u32,
    /// Whether the values are signed (the kind flag).
    pub signed: bool,
    /// Whether this is an `ENUM64` (values stored as 64 bits).
    pub is_64: bool,
    /// The enumerators in declaration order.
    pub values: Vec<Enumerator>,
}

/// A function's or variable's linkage (`btf_func_linkage`; variables use
/// the same numbers, `BTF_VAR_STATIC`, `_GLOBAL_ALLOCATED`, `_GLOBAL_EXTERN`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Linkage {
    /// Static (0).
    Static,
    /// Global, defined here (1).
    Global,
    /// Extern, defined elsewhere (2).
    Extern,
}

impl Linkage {
    /// The kernel's number.
    pub const fn raw(self) -> u32 {
        match self {
            Linkage::Static => 0,
            Linkage::Global => 1,
            Linkage::Extern => 2,
        }
    }

    /// The linkage with number `raw`, if it is 0, 1 or 2.
    pub const fn from_raw(raw: u32) -> Option<Linkage> {
        match raw {
            0 => Some(Linkage::Static),
            1 => Some(Linkage::Global),
            2 => Some(Linkage::Extern),
            _ => None,
        }
    }
}

/// One parameter of a function prototype. A last parameter with name and
/// type 0 marks a variadic function (`...`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Param {
    /// Name (0 when unnamed).
    pub name_off: u32,
    /// Type (0 for the variadic marker).
    pub ty: TypeId,
}

/// One variable of a data section.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VarSecInfo {
    /// The variable ([`Type::Var`], or a [`Type::Func`] for extern
    /// functions in `.ksyms`).
    pub ty: TypeId,
    /// Offset in the section.
    pub offset: u32,
    /// Size in bytes.
    pub size: u32,
}

/// An ELF data section holding variables (`.data`, `.bss`, `.maps`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Datasec {
    /// The section's name.
    pub name_off: u32,
    /// The section's size in bytes (0 in a compiler's output before the
    /// loader fills it).
    pub size: u32,
    /// Its variables.
    pub vars: Vec<VarSecInfo>,
}

/// A BTF type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    /// Type id 0.
    Void,
    /// An integer.
    Int(Int),
    /// A pointer (8 bytes on BPF).
    Ptr {
        /// The pointed-to type.
        target: TypeId,
    },
    /// An array.
    Array(Array),
    /// A struct.
    Struct(Composite),
    /// A union.
    Union(Composite),
    /// A 32- or 64-bit enum.
    Enum(Enum),
    /// A forward declaration.
    Fwd {
        /// Name.
        name_off: u32,
        /// Whether it declares a union (the kind flag); a struct otherwise.
        union: bool,
    },
    /// A typedef.
    Typedef {
        /// Name.
        name_off: u32,
        /// The aliased type.
        target: TypeId,
    },
    /// `volatile`.
    Volatile {
        /// The qualified type.
        target: TypeId,
    },
    /// `const`.
    Const {
        /// The qualified type.
        target: TypeId,
    },
    /// `restrict`.
    Restrict {
        /// The qualified type.
        target: TypeId,
    },
    /// A function.
    Func {
        /// Name.
        name_off: u32,
        /// Its [`Type::FuncProto`].
        proto: TypeId,
        /// Linkage.
        linkage: Linkage,
    },
    /// A function signature.
    FuncProto {
        /// Return type (0 for `void`).
        ret: TypeId,
        /// Parameters.
        params: Vec<Param>,
    },
    /// A variable.
    Var {
        /// Name.
        name_off: u32,
        /// Its type.
        target: TypeId,
        /// Linkage.
        linkage: Linkage,
    },
    /// A data section.
    Datasec(Datasec),
    /// A floating-point type.
    Float {
        /// Name (`double`).
        name_off: u32,
        /// Size in bytes.
        size: u32,
    },
    /// A declaration tag.
    DeclTag {
        /// The tag's text.
        name_off: u32,
        /// The tagged type, variable or function.
        target: TypeId,
        /// -1 for the target itself, otherwise the index of the tagged
        /// member or parameter.
        component: i32,
        /// The kind flag: the text is an arbitrary attribute
        /// (`__attribute__((text))`) rather than a `btf_decl_tag`.
        attribute: bool,
    },
    /// A type tag.
    TypeTag {
        /// The tag's text.
        name_off: u32,
        /// The tagged type.
        target: TypeId,
        /// The kind flag: the text is an arbitrary type attribute rather
        /// than a `btf_type_tag`.
        attribute: bool,
    },
}

impl Type {
    /// The type's kind ([`Kind::Enum64`] for 64-bit enums).
    pub const fn kind(&self) -> Kind {
        match self {
            Type::Void => Kind::Void,
            Type::Int(_) => Kind::Int,
            Type::Ptr { .. } => Kind::Ptr,
            Type::Array(_) => Kind::Array,
            Type::Struct(_) => Kind::Struct,
            Type::Union(_) => Kind::Union,
            Type::Enum(e) => {
                if e.is_64 {
                    Kind::Enum64
                } else {
                    Kind::Enum
                }
            }
            Type::Fwd { .. } => Kind::Fwd,
            Type::Typedef { .. } => Kind::Typedef,
            Type::Volatile { .. } => Kind::Volatile,
            Type::Const { .. } => Kind::Const,
            Type::Restrict { .. } => Kind::Restrict,
            Type::Func { .. } => Kind::Func,
            Type::FuncProto { .. } => Kind::FuncProto,
            Type::Var { .. } => Kind::Var,
            Type::Datasec(_) => Kind::Datasec,
            Type::Float { .. } => Kind::Float,
            Type::DeclTag { .. } => Kind::DeclTag,
            Type::TypeTag { .. } => Kind::TypeTag,
        }
    }

    /// The string offset of the type's name (0 for kinds without a name
    /// and for anonymous types).
    pub const fn name_off(&self) -> u32 {
        match self {
            Type::Int(i) => i.name_off,
            Type::Struct(c) | Type::Union(c) => c.name_off,
            Type::Enum(e) => e.name_off,
            Type::Datasec(d) => d.name_off,
            Type::Fwd { name_off, .. }
            | Type::Typedef { name_off, .. }
            | Type::Func { name_off, .. }
            | Type::Var { name_off, .. }
            | Type::Float { name_off, .. }
            | Type::DeclTag { name_off, .. }
            | Type::TypeTag { name_off, .. } => *name_off,
            Type::Void
            | Type::Ptr { .. }
            | Type::Array(_)
            | Type::Volatile { .. }
            | Type::Const { .. }
            | Type::Restrict { .. }
            | Type::FuncProto { .. } => 0,
        }
    }

    /// For modifiers and typedefs (`typedef`, `const`, `volatile`,
    /// `restrict`, type tags), the type they apply to.
    pub const fn modified(&self) -> Option<TypeId> {
        match self {
            Type::Typedef { target, .. }
            | Type::Volatile { target }
            | Type::Const { target }
            | Type::Restrict { target }
            | Type::TypeTag { target, .. } => Some(*target),
            _ => None,
        }
    }

    /// The struct or union's layout, for those two kinds.
    pub const fn composite(&self) -> Option<&Composite> {
        match self {
            Type::Struct(c) | Type::Union(c) => Some(c),
            _ => None,
        }
    }

    /// Calls `f` with every type id the type refers to.
    pub(crate) fn for_each_ref(&self, mut f: impl FnMut(TypeId)) {
        match self {
            Type::Void | Type::Int(_) | Type::Fwd { .. } | Type::Float { .. } => {}
            Type::Ptr { target }
            | Type::Typedef { target, .. }
            | Type::Volatile { target }
            | Type::Const { target }
            | Type::Restrict { target }
            | Type::Var { target, .. }
            | Type::DeclTag { target, .. }
            | Type::TypeTag { target, .. } => f(*target),
            Type::Func { proto, .. } => f(*proto),
            Type::Array(a) => {
                f(a.elem);
                f(a.index);
            }
            Type::Struct(c) | Type::Union(c) => c.members.iter().for_each(|m| f(m.ty)),
            Type::Enum(_) => {}
            Type::FuncProto { ret, params } => {
                f(*ret);
                params.iter().for_each(|p| f(p.ty));
            }
            Type::Datasec(d) => d.vars.iter().for_each(|v| f(v.ty)),
        }
    }

    /// Calls `f` with every string offset the type holds.
    pub(crate) fn for_each_name(&self, mut f: impl FnMut(u32)) {
        f(self.name_off());
        match self {
            Type::Struct(c) | Type::Union(c) => c.members.iter().for_each(|m| f(m.name_off)),
            Type::Enum(e) => e.values.iter().for_each(|v| f(v.name_off)),
            Type::FuncProto { params, .. } => params.iter().for_each(|p| f(p.name_off)),
            _ => {}
        }
    }
}
