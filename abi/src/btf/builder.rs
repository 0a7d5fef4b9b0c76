//! Building BTF in memory: bpfbox's context structs ([`super::context`]),
//! and tests.

use super::{Btf, BtfError, Composite, Int, IntEncoding, Member, Type, TypeId};
use std::collections::HashMap;

/// Builds a [`Btf`] type by type.
///
/// Types get ids in the order they are added, from 1; a type may refer to
/// ids added later, as everything is checked by [`BtfBuilder::build`].
///
/// ```
/// use bpfbox_abi::btf::{BtfBuilder, Kind};
///
/// let mut b = BtfBuilder::new();
/// let u32_ty = b.int("unsigned int", 4, false);
/// let point = b.struct_type("point", &[("x", u32_ty, 4), ("y", u32_ty, 4)]);
/// let btf = b.build().unwrap();
/// assert_eq!(btf.find_by_name(Kind::Struct, "point"), Some(point));
/// assert_eq!(btf.size_of(point).unwrap(), 8);
/// ```
#[derive(Clone, Debug)]
pub struct BtfBuilder {
    /// The table so far, `void` first.
    types: Vec<Type>,
    strings: Vec<u8>,
    offsets: HashMap<String, u32>,
}

impl Default for BtfBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl BtfBuilder {
    /// An empty table (only `void`).
    pub fn new() -> BtfBuilder {
        BtfBuilder {
            types: vec![Type::Void],
            strings: vec![0],
            offsets: HashMap::new(),
        }
    }

    /// The string offset of `s`, adding it to the string section if it is
    /// new. `""` is offset 0. A string is cut at its first NUL byte.
    pub fn add_str(&mut self, s: &str) -> u32 {
        let s = s.split('\0').next().unwrap_or("");
        if s.is_empty() {
            return 0;
        }
        if let Some(&offset) = self.offsets.get(s) {
            return offset;
        }
        // Saturates only past 4 GiB of strings, which `build` then refuses
        // as an offset outside the section.
        let offset = u32::try_from(self.strings.len()).unwrap_or(u32::MAX);
        self.strings.extend_from_slice(s.as_bytes());
        self.strings.push(0);
        self.offsets.insert(s.to_owned(), offset);
        offset
    }

    /// The id the next added type will get.
    pub fn next_id(&self) -> TypeId {
        TypeId::try_from(self.types.len()).unwrap_or(TypeId::MAX)
    }

    /// Adds `ty`; returns its id.
    pub fn add(&mut self, ty: Type) -> TypeId {
        let id = self.next_id();
        self.types.push(ty);
        id
    }

    /// Adds an integer of `size` bytes (all bits used).
    pub fn int(&mut self, name: &str, size: u32, signed: bool) -> TypeId {
        let name_off = self.add_str(name);
        self.add(Type::Int(Int {
            name_off,
            size,
            encoding: if signed {
                IntEncoding::Signed
            } else {
                IntEncoding::Unsigned
            },
            offset: 0,
            bits: u8::try_from(size.saturating_mul(8)).unwrap_or(0),
        }))
    }

    /// Adds a typedef.
    pub fn typedef(&mut self, name: &str, target: TypeId) -> TypeId {
        let name_off = self.add_str(name);
        self.add(Type::Typedef { name_off, target })
    }

    /// Adds an array of `len` elements.
    pub fn array(&mut self, elem: TypeId, index: TypeId, len: u32) -> TypeId {
        self.add(Type::Array(super::Array { elem, index, len }))
    }

    /// Adds a struct of `(name, type, byte offset)` members; its size is
    /// the end of the last member (use [`BtfBuilder::add`] for padding or
    /// bitfields). A member whose type has no size counts as 0 bytes.
    pub fn struct_type(&mut self, name: &str, members: &[(&str, TypeId, u32)]) -> TypeId {
        let name_off = self.add_str(name);
        let mut size = 0u32;
        let mut list = Vec::with_capacity(members.len());
        for &(member, ty, offset) in members {
            let member_size = self.size_hint(ty);
            size = size.max(offset.saturating_add(member_size));
            list.push(Member {
                name_off: self.add_str(member),
                ty,
                bit_offset: offset.saturating_mul(8),
                bitfield_size: 0,
            });
        }
        self.add(Type::Struct(Composite {
            name_off,
            size,
            members: list,
        }))
    }

    /// The size of an already added type, or 0 when it has none (yet).
    fn size_hint(&self, ty: TypeId) -> u32 {
        super::size_in(&self.types, ty).unwrap_or(0)
    }

    /// The table without the checks of [`BtfBuilder::build`], for tables
    /// bpfbox builds from its own fixed data (their validity is tested).
    pub(crate) fn finish_trusted(self) -> Btf {
        Btf {
            types: self.types,
            strings: self.strings,
            names: Default::default(),
        }
    }

    /// Checks the table and returns it.
    ///
    /// # Errors
    /// As [`Btf::from_types`].
    pub fn build(self) -> Result<Btf, BtfError> {
        Btf::from_parts(self.types, self.strings)
    }
}
