//! BTF, the BPF Type Format: the type information clang emits in an
//! object's `.BTF` section and the kernel exposes in
//! `/sys/kernel/btf/vmlinux`, the per-instruction information of
//! `.BTF.ext` ([`BtfExt`]: function and line info, CO-RE relocations), and
//! the CO-RE relocation resolver ([`core`]).
//!
//! Where it sits: the ELF loader hands the raw bytes of `.BTF` and
//! `.BTF.ext` to [`Btf::parse`] and [`BtfExt::parse`], then resolves each
//! CO-RE relocation with [`core::resolve`] against the target types — the
//! host's kernel BTF, or bpfbox's own context structs ([`context_btf`]) —
//! and patches the instruction. The verifier can later use the types for
//! function signatures.
//!
//! Design:
//! - A [`Btf`] is the decoded type table (one [`Type`] per id, id 0 being
//!   `void`) plus a copy of the string section. Names stay string offsets
//!   and are resolved on demand ([`Btf::name`], [`Btf::str_at`]), which
//!   keeps parsing a kernel's 100,000-odd types to one pass and one
//!   allocation per type with members.
//! - Everything is validated once when the table is built ([`Btf::parse`],
//!   [`BtfBuilder::build`]): records inside the type section, known kinds,
//!   every type id referred to exists, every string offset is inside the
//!   string section. Walks that follow references (modifiers, array
//!   elements, display) still bound themselves, because references may
//!   form loops.
//! - Hostile input never panics and never makes the reader allocate more
//!   than a small multiple of its size: counts read from the input are
//!   checked against the bytes present before anything is reserved.
//! - Little-endian only: BTF from a big-endian target is refused with
//!   [`BtfError::BigEndian`].
//! - A name index (types by their name up to a `___flavor` suffix) is built
//!   the first time a lookup by name needs it, for [`Btf::find_by_name`] and
//!   CO-RE candidate search.

mod builder;
pub mod context;
pub mod core;
mod display;
mod error;
mod ext;
mod parse;
mod types;

#[cfg(test)]
mod tests;

pub use builder::BtfBuilder;
pub use context::context_btf;
pub use error::BtfError;
pub use ext::{BtfExt, CoreRelo, CoreReloKind, FuncInfo, LineInfo, SectionInfo};
pub use types::{
    Array, Composite, Datasec, Enum, Enumerator, Int, IntEncoding, Kind, Linkage, Member, Param,
    Type, VarSecInfo,
};

use std::fmt;
use std::sync::OnceLock;

/// A BTF type id: an index into the type table, 0 being `void`.
pub type TypeId = u32;

/// The `.BTF` magic number.
pub const BTF_MAGIC: u16 = 0xEB9F;

/// A validated BTF type table with its strings.
///
/// Cloning copies the tables. [`Debug`] prints only the counts; equality
/// compares types and strings.
#[derive(Clone)]
pub struct Btf {
    /// Types by id; `types[0]` is [`Type::Void`].
    types: Vec<Type>,
    /// The string section: starts and ends with NUL.
    strings: Vec<u8>,
    /// Named types as (hash of the essential name, id), sorted; built on
    /// first use.
    names: OnceLock<Vec<(u64, TypeId)>>,
}

impl fmt::Debug for Btf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Btf")
            .field("types", &self.types.len())
            .field("string_bytes", &self.strings.len())
            .finish()
    }
}

/// Tables are equal when their types and string sections are.
impl PartialEq for Btf {
    fn eq(&self, other: &Btf) -> bool {
        self.types == other.types && self.strings == other.strings
    }
}

impl Eq for Btf {}

impl Btf {
    /// Builds a table from its parts after checking it: `types` holds ids
    /// 1 and up (`void` is added as id 0), `strings` is a string section.
    ///
    /// # Errors
    /// [`BtfError::BadStringSection`] if `strings` is empty or does not
    /// start and end with NUL; [`BtfError::BadTypeRef`],
    /// [`BtfError::BadNameOffset`] or [`BtfError::BadInt`] for the first
    /// bad type.
    pub fn from_types(types: Vec<Type>, strings: Vec<u8>) -> Result<Btf, BtfError> {
        let mut all = Vec::with_capacity(types.len().saturating_add(1));
        all.push(Type::Void);
        all.extend(types);
        Btf::from_parts(all, strings)
    }

    /// Checks and wraps a full table (with `void` at index 0).
    pub(crate) fn from_parts(types: Vec<Type>, strings: Vec<u8>) -> Result<Btf, BtfError> {
        if u32::try_from(types.len()).is_err() {
            return Err(BtfError::TooManyTypes { count: types.len() });
        }
        if strings.first() != Some(&0) || strings.last() != Some(&0) {
            return Err(BtfError::BadStringSection);
        }
        let btf = Btf {
            types,
            strings,
            names: OnceLock::new(),
        };
        btf.validate()?;
        Ok(btf)
    }

    /// The checks shared by every constructor: references, names, ints.
    fn validate(&self) -> Result<(), BtfError> {
        let len = self.types.len();
        let str_len = self.strings.len();
        for (id, ty) in self.iter() {
            let mut bad_ref = None;
            ty.for_each_ref(|target| {
                if bad_ref.is_none() && target as usize >= len {
                    bad_ref = Some(target);
                }
            });
            if let Some(target) = bad_ref {
                return Err(BtfError::BadTypeRef { id, target, len });
            }
            let mut bad_name = None;
            ty.for_each_name(|offset| {
                if bad_name.is_none() && offset as usize >= str_len {
                    bad_name = Some(offset);
                }
            });
            if let Some(offset) = bad_name {
                return Err(BtfError::BadNameOffset {
                    id,
                    offset,
                    len: str_len,
                });
            }
            if let Type::Int(int) = ty {
                let fits = u64::from(int.offset) + u64::from(int.bits) <= u64::from(int.size) * 8;
                if !matches!(int.size, 1 | 2 | 4 | 8 | 16) || !fits {
                    return Err(BtfError::BadInt {
                        id,
                        size: int.size,
                        offset: int.offset,
                        bits: int.bits,
                    });
                }
            }
            if let Some(reason) = unencodable(ty) {
                return Err(BtfError::Unencodable { id, reason });
            }
        }
        Ok(())
    }

    /// Number of type ids, including id 0 (`void`).
    pub fn types_len(&self) -> usize {
        self.types.len()
    }

    /// Every type with its id, `void` first.
    pub fn iter(&self) -> impl Iterator<Item = (TypeId, &Type)> + '_ {
        // Ids fit in u32: the constructors refuse more types than that.
        (0..).zip(self.types.iter())
    }

    /// The type with id `id`.
    ///
    /// # Errors
    /// [`BtfError::NoSuchType`] past the last id.
    pub fn get(&self, id: TypeId) -> Result<&Type, BtfError> {
        self.types.get(id as usize).ok_or(BtfError::NoSuchType {
            id,
            len: self.types.len(),
        })
    }

    /// The raw string section (starts and ends with NUL).
    pub fn strings(&self) -> &[u8] {
        &self.strings
    }

    /// The NUL-terminated string at `offset` in the string section.
    ///
    /// # Errors
    /// [`BtfError::StringOutOfRange`] outside the section,
    /// [`BtfError::StringNotUtf8`] if it is not UTF-8.
    pub fn str_at(&self, offset: u32) -> Result<&str, BtfError> {
        let tail = self
            .strings
            .get(offset as usize..)
            .filter(|tail| !tail.is_empty())
            .ok_or(BtfError::StringOutOfRange {
                offset,
                len: self.strings.len(),
            })?;
        // The section ends with NUL, so there is always one.
        let end = tail.iter().position(|&b| b == 0).unwrap_or(tail.len());
        std::str::from_utf8(&tail[..end]).map_err(|_| BtfError::StringNotUtf8 { offset })
    }

    /// The name of type `id`: `""` for anonymous types, kinds without a
    /// name, ids that do not exist and names that are not UTF-8.
    pub fn name(&self, id: TypeId) -> &str {
        self.types
            .get(id as usize)
            .and_then(|t| self.str_at(t.name_off()).ok())
            .unwrap_or("")
    }

    /// Follows typedefs, `const`, `volatile`, `restrict` and type tags
    /// from `id` to the first other type.
    ///
    /// # Errors
    /// [`BtfError::NoSuchType`] for a bad `id`, [`BtfError::TypeLoop`] if
    /// the chain loops.
    pub fn skip_modifiers(&self, id: TypeId) -> Result<TypeId, BtfError> {
        let mut current = id;
        // A chain longer than the number of types visits a type twice.
        for _ in 0..=self.types.len() {
            match self.get(current)?.modified() {
                Some(next) => current = next,
                None => return Ok(current),
            }
        }
        Err(BtfError::TypeLoop { id })
    }

    /// The type `id` stands for once typedefs and modifiers are skipped
    /// ([`Btf::skip_modifiers`]), with its id.
    ///
    /// # Errors
    /// As [`Btf::skip_modifiers`].
    pub fn underlying(&self, id: TypeId) -> Result<(TypeId, &Type), BtfError> {
        let id = self.skip_modifiers(id)?;
        Ok((id, self.get(id)?))
    }

    /// The size in bytes of type `id`: the size an int, float, struct,
    /// union, enum or data section records, 8 for a pointer, an array's
    /// length times its element's size, through typedefs, modifiers and
    /// variables.
    ///
    /// # Errors
    /// [`BtfError::NoSize`] when the walk reaches `void`, a forward
    /// declaration, a function, a prototype or a decl tag;
    /// [`BtfError::SizeOverflow`] above `u32::MAX`; [`BtfError::TypeLoop`]
    /// if the walk loops.
    pub fn size_of(&self, id: TypeId) -> Result<u32, BtfError> {
        size_in(&self.types, id)
    }

    /// The first type of kind `kind` named exactly `name`.
    pub fn find_by_name(&self, kind: Kind, name: &str) -> Option<TypeId> {
        if name.is_empty() {
            return None;
        }
        self.ids_by_essential_name(self::core::essential_name(name))
            .find(|&id| {
                self.types.get(id as usize).map(Type::kind) == Some(kind) && self.name(id) == name
            })
    }

    /// The data section called `name` (`.data`, `.maps`).
    pub fn datasec(&self, name: &str) -> Option<(TypeId, &Datasec)> {
        let id = self.find_by_name(Kind::Datasec, name)?;
        match self.types.get(id as usize) {
            Some(Type::Datasec(d)) => Some((id, d)),
            _ => None,
        }
    }

    /// The ids, ascending, of the named types whose name up to a
    /// `___flavor` suffix is `essential` (which should have no suffix).
    pub fn ids_by_essential_name<'a>(
        &'a self,
        essential: &'a str,
    ) -> impl Iterator<Item = TypeId> + 'a {
        let index = self.name_index();
        let hash = name_hash(essential);
        let start = index.partition_point(|&(h, _)| h < hash);
        index[start..]
            .iter()
            .take_while(move |&&(h, _)| h == hash)
            .map(|&(_, id)| id)
            .filter(move |&id| self::core::essential_name(self.name(id)) == essential)
    }

    /// The name index, built on first use.
    fn name_index(&self) -> &[(u64, TypeId)] {
        self.names.get_or_init(|| {
            let mut index: Vec<(u64, TypeId)> = self
                .iter()
                .filter(|(_, t)| t.name_off() != 0)
                .filter_map(|(id, t)| {
                    let name = self.str_at(t.name_off()).ok()?;
                    Some((name_hash(self::core::essential_name(name)), id))
                })
                .collect();
            index.sort_unstable();
            index
        })
    }
}

/// [`Btf::size_of`] over a table with `void` at index 0.
pub(crate) fn size_in(types: &[Type], id: TypeId) -> Result<u32, BtfError> {
    let mut current = id;
    let mut count: u64 = 1;
    for _ in 0..=types.len() {
        let size = match types.get(current as usize).ok_or(BtfError::NoSuchType {
            id: current,
            len: types.len(),
        })? {
            Type::Int(int) => int.size,
            Type::Float { size, .. } => *size,
            Type::Struct(c) | Type::Union(c) => c.size,
            Type::Enum(e) => e.size,
            Type::Datasec(d) => d.size,
            Type::Ptr { .. } => 8,
            Type::Array(a) => {
                count = count
                    .checked_mul(u64::from(a.len))
                    .ok_or(BtfError::SizeOverflow { id })?;
                current = a.elem;
                continue;
            }
            Type::Var { target, .. } => {
                current = *target;
                continue;
            }
            ty => match ty.modified() {
                Some(target) => {
                    current = target;
                    continue;
                }
                None => {
                    return Err(BtfError::NoSize {
                        id: current,
                        kind: ty.kind(),
                    })
                }
            },
        };
        return count
            .checked_mul(u64::from(size))
            .and_then(|total| u32::try_from(total).ok())
            .ok_or(BtfError::SizeOverflow { id });
    }
    Err(BtfError::TypeLoop { id })
}

/// Why `ty` cannot be written as BTF, if it cannot. Tables read from bytes
/// never trip these; tables built in memory can.
fn unencodable(ty: &Type) -> Option<&'static str> {
    const MAX_VLEN: usize = 0xffff;
    let too_many = |n: usize| n > MAX_VLEN;
    match ty {
        Type::Struct(c) | Type::Union(c) => {
            if too_many(c.members.len()) {
                return Some("more than 65535 members");
            }
            let flag = c.has_bitfields();
            if flag
                && c.members
                    .iter()
                    .any(|m| m.bit_offset > 0x00ff_ffff || m.bitfield_size > 0xff)
            {
                return Some("bitfield member offset or size out of range");
            }
        }
        Type::Enum(e) => {
            if too_many(e.values.len()) {
                return Some("more than 65535 enumerators");
            }
            let fits = |v: &Enumerator| {
                if e.signed {
                    i32::try_from(v.value_i64()).is_ok()
                } else {
                    u32::try_from(v.value).is_ok()
                }
            };
            if !e.is_64 && !e.values.iter().all(fits) {
                return Some("32-bit enum value out of range");
            }
        }
        Type::FuncProto { params, .. } if too_many(params.len()) => {
            return Some("more than 65535 parameters");
        }
        Type::Datasec(d) if too_many(d.vars.len()) => {
            return Some("more than 65535 variables");
        }
        Type::DeclTag { component, .. } if *component < -1 => {
            return Some("component index below -1");
        }
        _ => {}
    }
    None
}

/// FNV-1a over the name's bytes: the key of the name index.
fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}
