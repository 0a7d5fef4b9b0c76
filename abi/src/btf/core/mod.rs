//! CO-RE ("compile once, run everywhere") relocations: recomputing the
//! offsets, sizes, type ids and enum values a program was compiled with
//! against the types of the machine it runs on.
//!
//! clang records, for each instruction that depends on a type's layout, a
//! [`CoreRelo`] in `.BTF.ext`: the root type, an access string (`0:1:2`)
//! and what to compute. [`resolve`] computes that value twice: against
//! the program's own BTF (`local`, which the instruction should hold) and
//! against the first target BTF that has a match (`target`, which the
//! loader patches in). The rules follow libbpf's documented behaviour:
//!
//! 1. The local spec ([`CoreSpec`]) is the access string walked through
//!    the local types: the root, then named members and array indices.
//! 2. Candidates in a target are the types of the same kind (an enum also
//!    matches a 64-bit enum) whose name equals the local type's name with
//!    any `___flavor` suffix stripped from both ([`essential_name`]):
//!    `task_struct___old` finds `task_struct`. An anonymous local type has
//!    no candidates.
//! 3. A candidate matches when the spec can be walked in it: every named
//!    member is found by name (searching anonymous structs and unions
//!    depth first) with a compatible type, every array index is in bounds
//!    (except in a trailing flexible array), an enumerator is found by
//!    name; for type relocations the types are compatible (or match
//!    strictly, for [`CoreReloKind::TypeMatches`]). See the `compat`
//!    module for the relations.
//! 4. Targets are tried in order; the first with a matching candidate
//!    wins. Two candidates of that target that give different values are
//!    an error ([`CoreError::Ambiguous`]). A target that has candidates
//!    but no match ends the search: it is the one that defines the type
//!    (a kernel `task_struct` without the field), so later targets (the
//!    program's own types) are not asked.
//! 5. Nothing matched: existence questions (`FieldExists`, `TypeExists`,
//!    `TypeMatches`, `EnumvalExists`) get 0 with `exists: false`, every
//!    other kind is [`CoreError::NotFound`]. (libbpf "poisons" the
//!    instruction so the program fails only if it runs it; bpfbox's ELF
//!    loader does the same.)
//!
//! Field values: the byte offset of the field (`bit_offset / 8`), its
//! size, whether it is signed. For a bitfield, the offset and size are
//! those of the smallest naturally aligned load (of at least the declared
//! integer's size, up to 8 bytes) that holds all its bits, and the shifts
//! extract it from a little-endian u64 holding that load: `lshift = 64 -
//! (bit_offset + bits - 8 * byte_offset)`, `rshift = 64 - bits`. Values
//! computed for bitfields (except signedness and the right shift) are not
//! comparable with what the compiler emitted, so [`CoreValue::validate`]
//! is false for them.

mod compat;
mod spec;

pub use spec::{Accessor, CoreSpec, MAX_SPEC_LEN};

use super::{Btf, BtfError, CoreRelo, CoreReloKind, Type, TypeId};
use compat::{kinds_compat, Matcher};
use thiserror::Error;

/// The part of `name` before a `___flavor` suffix: the last `___` that
/// has a character other than `_` on both sides starts the suffix
/// (`task_struct___v2` → `task_struct`, `a___b___c` → `a___b`; `___x`,
/// `a____b` and `a___` have none).
pub fn essential_name(name: &str) -> &str {
    let bytes = name.as_bytes();
    if bytes.len() < 5 {
        return name;
    }
    for i in (0..=bytes.len() - 5).rev() {
        if bytes[i] != b'_' && &bytes[i + 1..i + 4] == b"___" && bytes[i + 4] != b'_' {
            // Byte i + 1 is ASCII, so this is a character boundary.
            return &name[..=i];
        }
    }
    name
}

/// A relocation's values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CoreValue {
    /// What was computed.
    pub kind: CoreReloKind,
    /// The value against the local BTF: what the instruction should hold
    /// (when [`CoreValue::validate`] is set).
    pub local: u64,
    /// The value against the target: what to patch in. 0 when nothing
    /// matched (existence kinds only).
    pub target: u64,
    /// Whether a target had the field, type or enumerator.
    pub exists: bool,
    /// Whether the instruction's current value must equal `local` (false
    /// for most bitfield values, which compilers compute differently).
    pub validate: bool,
    /// For `FieldByteOffset` of a field that is not a bitfield: the local
    /// field's size in bytes, the width a load or store of it has.
    pub local_size: Option<u32>,
    /// For `FieldByteOffset` of a field that is not a bitfield: the target
    /// field's size. When it differs from `local_size`, a load or store of
    /// the field should be resized to it (if `width_change_ok`).
    pub target_size: Option<u32>,
    /// Whether resizing a load or store from `local_size` to `target_size`
    /// keeps its value: true when they are equal or absent, or when both
    /// fields are pointers or both unsigned integers (zero extension
    /// preserves them); false otherwise, and the loader should refuse the
    /// instruction.
    pub width_change_ok: bool,
    /// Which target matched (index into `targets`).
    pub target_btf: Option<usize>,
    /// The matching root type in that target.
    pub target_type: Option<TypeId>,
}

/// Why a relocation could not be resolved. Every variant names the local
/// type and the access (`task_struct.pid`, `__sk_buff.cb[2]`,
/// `color::RED`).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CoreError {
    /// The access string is malformed or does not fit the local type.
    #[error("CO-RE {kind} relocation on `{type_name}`: bad access string \"{access}\": {reason}")]
    BadAccess {
        /// The relocation's kind.
        kind: CoreReloKind,
        /// The local root type (`struct task_struct`).
        type_name: String,
        /// The access string as written.
        access: String,
        /// What is wrong.
        reason: String,
    },
    /// The local type is anonymous, so no target type can be found by
    /// name.
    #[error("CO-RE {kind} relocation of `{access}`: the local type `{type_name}` is anonymous")]
    AnonymousType {
        /// The relocation's kind.
        kind: CoreReloKind,
        /// The local root type.
        type_name: String,
        /// The access.
        access: String,
    },
    /// No target has the field, type or enumerator.
    #[error("CO-RE {kind} relocation of `{access}`: no target BTF has a matching `{type_name}`")]
    NotFound {
        /// The relocation's kind.
        kind: CoreReloKind,
        /// The local root type.
        type_name: String,
        /// The access (`task_struct.pid`).
        access: String,
    },
    /// Two candidates in the same target give different values.
    #[error(
        "CO-RE {kind} relocation of `{access}` (`{type_name}`) is ambiguous in target \
         {target}: type {first} gives {first_value}, type {second} gives {second_value}"
    )]
    Ambiguous {
        /// The relocation's kind.
        kind: CoreReloKind,
        /// The local root type.
        type_name: String,
        /// The access.
        access: String,
        /// The target's index.
        target: usize,
        /// The first matching candidate.
        first: TypeId,
        /// Its value.
        first_value: u64,
        /// The candidate that disagrees.
        second: TypeId,
        /// Its value.
        second_value: u64,
    },
    /// The relocation cannot be computed: a bitfield no 8-byte load
    /// holds, shifts of a field wider than 8 bytes, a field kind asked of
    /// an array element, types nested too deep.
    #[error("CO-RE {kind} relocation of `{access}` (`{type_name}`): {problem}")]
    Unsupported {
        /// The relocation's kind.
        kind: CoreReloKind,
        /// The local root type.
        type_name: String,
        /// The access.
        access: String,
        /// What is wrong.
        problem: String,
    },
    /// A BTF lookup failed (a malformed table: a type loop, a missing
    /// size, a bad string).
    #[error("CO-RE {kind} relocation of `{access}` (`{type_name}`): {source}")]
    Btf {
        /// The relocation's kind.
        kind: CoreReloKind,
        /// The local root type.
        type_name: String,
        /// The access.
        access: String,
        /// The lookup's error (boxed to keep the error small).
        source: Box<BtfError>,
    },
}

/// A failure before the relocation's names are attached.
#[derive(Debug)]
enum Fail {
    Btf(BtfError),
    Access(String),
    Unsupported(String),
}

impl From<BtfError> for Fail {
    fn from(e: BtfError) -> Fail {
        Fail::Btf(e)
    }
}

/// The names every error carries.
struct Context {
    kind: CoreReloKind,
    type_name: String,
    access: String,
}

impl Context {
    fn error(&self, fail: Fail) -> CoreError {
        let (kind, type_name, access) = (self.kind, self.type_name.clone(), self.access.clone());
        match fail {
            Fail::Btf(source) => CoreError::Btf {
                kind,
                type_name,
                access,
                source: Box::new(source),
            },
            Fail::Access(reason) => CoreError::BadAccess {
                kind,
                type_name,
                access,
                reason,
            },
            Fail::Unsupported(problem) => CoreError::Unsupported {
                kind,
                type_name,
                access,
                problem,
            },
        }
    }
}

/// The spec of `relo` in its own BTF (see [`CoreSpec`]).
///
/// # Errors
/// [`CoreError::BadAccess`] if the access string is malformed or walks
/// off the types; [`CoreError::Btf`] for a bad type id or string.
pub fn local_spec(local: &Btf, relo: &CoreRelo) -> Result<CoreSpec, CoreError> {
    spec::local_spec(local, relo).map_err(|fail| {
        Context {
            kind: relo.kind,
            type_name: local.display(relo.type_id),
            access: local
                .str_at(relo.access_str_off)
                .unwrap_or("<bad string>")
                .to_owned(),
        }
        .error(fail)
    })
}

/// A value computed from one spec.
#[derive(Clone, Copy, Debug)]
struct Computed {
    value: u64,
    validate: bool,
    /// For byte offsets of whole fields: the field's size and type.
    field: Option<(u32, TypeId)>,
}

/// Resolves CO-RE relocation `relo` of a program whose BTF is `local`
/// against `targets`, in order (see the module doc).
///
/// # Errors
/// [`CoreError::BadAccess`] or [`CoreError::AnonymousType`] for a
/// relocation that cannot be understood locally;
/// [`CoreError::NotFound`] when no target has what a non-existence
/// relocation needs; [`CoreError::Ambiguous`];
/// [`CoreError::Unsupported`]; [`CoreError::Btf`] when a table is
/// malformed.
pub fn resolve(local: &Btf, relo: &CoreRelo, targets: &[&Btf]) -> Result<CoreValue, CoreError> {
    let local_spec = local_spec(local, relo)?;
    let cx = Context {
        kind: relo.kind,
        type_name: local.display(relo.type_id),
        access: local_spec.describe(local),
    };
    let mut matcher = Matcher::new();
    let here = compute(local, &local_spec).map_err(|f| cx.error(f))?;
    let mut value = CoreValue {
        kind: relo.kind,
        local: here.value,
        target: here.value,
        exists: true,
        validate: here.validate,
        local_size: here.field.map(|(size, _)| size),
        target_size: None,
        width_change_ok: true,
        target_btf: None,
        target_type: None,
    };
    if relo.kind == CoreReloKind::TypeIdLocal {
        return Ok(value);
    }
    let name = local.name(relo.type_id);
    if name.is_empty() {
        return Err(CoreError::AnonymousType {
            kind: cx.kind,
            type_name: cx.type_name,
            access: cx.access,
        });
    }
    let essential = essential_name(name);
    let local_kind = local
        .get(relo.type_id)
        .map_err(|e| cx.error(e.into()))?
        .kind();
    for (index, target) in targets.iter().enumerate() {
        let mut found: Option<(TypeId, Computed)> = None;
        // The first target that knows the type by name decides: a field a
        // kernel's struct lacks is missing, even if a later target (the
        // program's own types) has it.
        let mut knows_type = false;
        for candidate in target.ids_by_essential_name(essential) {
            let kind = target
                .get(candidate)
                .map_err(|e| cx.error(e.into()))?
                .kind();
            if !kinds_compat(local_kind, kind) {
                continue;
            }
            knows_type = true;
            let Some(spec) = matcher
                .match_spec(local, &local_spec, target, candidate)
                .map_err(|f| cx.error(f))?
            else {
                continue;
            };
            let there = compute(target, &spec).map_err(|f| cx.error(f))?;
            match found {
                None => found = Some((candidate, there)),
                Some((first, seen)) if seen.value != there.value => {
                    return Err(CoreError::Ambiguous {
                        kind: cx.kind,
                        type_name: cx.type_name,
                        access: cx.access,
                        target: index,
                        first,
                        first_value: seen.value,
                        second: candidate,
                        second_value: there.value,
                    });
                }
                Some(_) => {}
            }
        }
        if let Some((candidate, there)) = found {
            value.target = there.value;
            value.validate &= there.validate;
            value.target_btf = Some(index);
            value.target_type = Some(candidate);
            value.target_size = there.field.map(|(size, _)| size);
            if let (Some((ls, lt)), Some((ts, tt))) = (here.field, there.field) {
                value.width_change_ok = ls == ts
                    || match (local.get(lt), target.get(tt)) {
                        (Ok(Type::Ptr { .. }), Ok(Type::Ptr { .. })) => true,
                        (Ok(Type::Int(l)), Ok(Type::Int(t))) => !l.is_signed() && !t.is_signed(),
                        _ => false,
                    };
            }
            return Ok(value);
        }
        if knows_type {
            break;
        }
    }
    if relo.kind.is_existence() {
        value.target = 0;
        value.exists = false;
        return Ok(value);
    }
    Err(CoreError::NotFound {
        kind: cx.kind,
        type_name: cx.type_name,
        access: cx.access,
    })
}

/// The relocation's value from a spec in `btf`.
fn compute(btf: &Btf, spec: &CoreSpec) -> Result<Computed, Fail> {
    let plain = |value: u64| Computed {
        value,
        validate: true,
        field: None,
    };
    Ok(match spec.kind {
        CoreReloKind::TypeIdLocal | CoreReloKind::TypeIdTarget => plain(u64::from(spec.root)),
        CoreReloKind::TypeExists | CoreReloKind::TypeMatches => plain(1),
        CoreReloKind::TypeSize => plain(u64::from(btf.size_of(spec.root)?)),
        CoreReloKind::EnumvalExists => plain(1),
        CoreReloKind::EnumvalValue => {
            let acc = spec.accessors.first();
            let value = acc.and_then(|acc| match btf.get(acc.type_id) {
                Ok(Type::Enum(e)) => e.values.get(acc.index as usize),
                _ => None,
            });
            let value =
                value.ok_or_else(|| Fail::Unsupported("spec names no enumerator".to_owned()))?;
            plain(value.value)
        }
        CoreReloKind::FieldExists => plain(1),
        _ => compute_field(btf, spec)?,
    })
}

/// Field values other than existence.
fn compute_field(btf: &Btf, spec: &CoreSpec) -> Result<Computed, Fail> {
    let kind = spec.kind;
    let last = spec
        .accessors
        .last()
        .ok_or_else(|| Fail::Unsupported("empty spec".to_owned()))?;
    if last.name_off.is_none() {
        // The access ends at an array element (or the root).
        let size = btf.size_of(last.type_id)?;
        return match kind {
            CoreReloKind::FieldByteOffset => Ok(Computed {
                value: spec.bit_offset / 8,
                validate: true,
                field: Some((size, last.type_id)),
            }),
            CoreReloKind::FieldByteSize => Ok(Computed {
                value: u64::from(size),
                validate: true,
                field: None,
            }),
            _ => Err(Fail::Unsupported(format!(
                "{kind} cannot be computed for an array element"
            ))),
        };
    }
    let member = btf
        .get(last.type_id)?
        .composite()
        .and_then(|c| c.members.get(last.index as usize))
        .ok_or_else(|| Fail::Unsupported("spec names no member".to_owned()))?;
    let (field_id, field_ty) = btf.underlying(member.ty)?;
    let bit_off = spec.bit_offset;
    let bitfield = member.bitfield_size > 0;
    let (byte_off, byte_size, bit_size) = if bitfield {
        let bits = u64::from(member.bitfield_size);
        let mut size = match field_ty {
            Type::Int(int) => u64::from(int.size),
            Type::Enum(e) => u64::from(e.size),
            other => {
                return Err(Fail::Unsupported(format!(
                    "bitfield of type {}, a {}",
                    btf.display(field_id),
                    other.kind()
                )))
            }
        };
        if size == 0 {
            return Err(Fail::Unsupported("bitfield of a zero-size type".to_owned()));
        }
        let end = bit_off.checked_add(bits).ok_or_else(overflow)?;
        // The smallest naturally aligned load, from the declared size up,
        // that holds every bit.
        let mut off = bit_off / 8 / size * size;
        while end - off * 8 > size * 8 {
            if size >= 8 {
                return Err(Fail::Unsupported(
                    "the bitfield does not fit in one 8-byte load".to_owned(),
                ));
            }
            size *= 2;
            off = bit_off / 8 / size * size;
        }
        (off, size, bits)
    } else {
        let size = u64::from(btf.size_of(field_id)?);
        (bit_off / 8, size, size * 8)
    };
    let plain = |value: u64, validate: bool| Computed {
        value,
        validate,
        field: None,
    };
    let shift_base = || {
        // Bits from the start of the load to the field's end.
        bit_off
            .checked_add(bit_size)
            .and_then(|end| end.checked_sub(byte_off * 8))
            .and_then(|end| 64u64.checked_sub(end))
            .ok_or_else(|| Fail::Unsupported("the field is wider than 8 bytes".to_owned()))
    };
    Ok(match kind {
        CoreReloKind::FieldByteOffset => Computed {
            value: byte_off,
            validate: !bitfield,
            // `byte_size` came from a u32 size (or a doubling up to 8).
            field: (!bitfield).then_some((u32::try_from(byte_size).unwrap_or(u32::MAX), field_id)),
        },
        CoreReloKind::FieldByteSize => plain(byte_size, !bitfield),
        CoreReloKind::FieldSigned => plain(
            u64::from(match field_ty {
                Type::Int(int) => int.is_signed(),
                Type::Enum(e) => e.signed,
                _ => false,
            }),
            true,
        ),
        CoreReloKind::FieldLShiftU64 => plain(shift_base()?, !bitfield),
        CoreReloKind::FieldRShiftU64 => plain(
            64u64
                .checked_sub(bit_size)
                .ok_or_else(|| Fail::Unsupported("the field is wider than 8 bytes".to_owned()))?,
            true,
        ),
        _ => return Err(Fail::Unsupported(format!("{kind} is not a field kind"))),
    })
}

fn overflow() -> Fail {
    Fail::Unsupported("offset overflows".to_owned())
}

#[cfg(test)]
mod tests;
