//! Access specs: what a relocation's access string names in one BTF, and
//! finding the same thing in a target.
//!
//! An access string is colon-separated decimal indices. For field
//! relocations the first is an index into an array of the root type
//! (`p[i]`, nearly always 0) and each following one a member index (into
//! the struct or union reached so far, after modifiers) or an array index.
//! Anonymous members appear as indices of their own but are not
//! [`Accessor`]s: only named members, array indices and the root are, so
//! that the same accessors can be looked up by name in a target whose
//! anonymous nesting differs. Type relocations have the access string
//! `0`; enumerator relocations one index, the enumerator's.

use super::super::{Array, Btf, CoreRelo, CoreReloKind, Type, TypeId};
use super::compat::Matcher;
use super::{essential_name, Fail};

/// Most indices an access string may have (libbpf's limit).
pub const MAX_SPEC_LEN: usize = 64;

/// One step of an access spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Accessor {
    /// The type indexed: the root (first accessor, after modifiers), the
    /// struct or union holding a named member, an array's element type
    /// (after modifiers), the enum holding an enumerator.
    pub type_id: TypeId,
    /// The index: array index, member index or enumerator index.
    pub index: u32,
    /// The member's or enumerator's name (a string offset in the spec's
    /// BTF); `None` for the root and array indices.
    pub name_off: Option<u32>,
}

/// What an access string names in one BTF.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CoreSpec {
    /// The relocation's kind.
    pub kind: CoreReloKind,
    /// The root type (the relocation's type in the local BTF, the
    /// candidate in a target), before modifiers are skipped.
    pub root: TypeId,
    /// The named steps (see the module doc).
    pub accessors: Vec<Accessor>,
    /// Every index, anonymous members included (the access string in this
    /// BTF).
    pub raw: Vec<u32>,
    /// For fields: the bit offset of the field from the start of the root.
    pub bit_offset: u64,
}

impl CoreSpec {
    /// A readable form of the access for messages: `task_struct.pid`,
    /// `__sk_buff.cb[2]`, `color::RED` (enumerators), the type's name for
    /// type relocations.
    pub fn describe(&self, btf: &Btf) -> String {
        let mut out = match btf.name(self.root) {
            "" => btf.display(self.root),
            name => name.to_owned(),
        };
        if self.kind.is_enumval_based() {
            if let Some(Accessor {
                name_off: Some(off),
                ..
            }) = self.accessors.first()
            {
                out.push_str("::");
                out.push_str(btf.str_at(*off).unwrap_or("?"));
            }
        } else if self.kind.is_field_based() {
            for (i, acc) in self.accessors.iter().enumerate() {
                match acc.name_off {
                    Some(off) => {
                        out.push('.');
                        out.push_str(btf.str_at(off).unwrap_or("?"));
                    }
                    None if i == 0 && acc.index == 0 => {}
                    None => out.push_str(&format!("[{}]", acc.index)),
                }
            }
        }
        out
    }
}

/// Parses `0:1:2`.
fn parse_access(access: &str) -> Result<Vec<u32>, String> {
    if access.is_empty() {
        return Err("it is empty".to_owned());
    }
    let mut raw = Vec::new();
    for part in access.split(':') {
        if raw.len() == MAX_SPEC_LEN {
            return Err(format!("more than {MAX_SPEC_LEN} indices"));
        }
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("`{part}` is not a decimal index"));
        }
        raw.push(
            part.parse::<u32>()
                .map_err(|_| format!("index {part} does not fit in 32 bits"))?,
        );
    }
    Ok(raw)
}

/// `index * size_of(elem)` in bits.
fn elem_bits(btf: &Btf, elem: TypeId, index: u32) -> Result<u64, Fail> {
    if index == 0 {
        return Ok(0);
    }
    let size = btf.size_of(elem)?;
    u64::from(index)
        .checked_mul(u64::from(size))
        .and_then(|b| b.checked_mul(8))
        .ok_or_else(|| Fail::Unsupported("offset overflows".to_owned()))
}

/// Adds `bits` to a spec's offset.
fn add_bits(offset: &mut u64, bits: u64) -> Result<(), Fail> {
    *offset = offset
        .checked_add(bits)
        .ok_or_else(|| Fail::Unsupported("offset overflows".to_owned()))?;
    Ok(())
}

/// Whether `array`, reached through `prev`, is a flexible array member:
/// zero-length and the last member of its struct.
fn is_flex(btf: &Btf, prev: Option<&Accessor>, array: &Array) -> bool {
    let Some(prev) = prev else { return false };
    if prev.name_off.is_none() || array.len != 0 {
        return false;
    }
    matches!(btf.get(prev.type_id).map(Type::composite),
        Ok(Some(c)) if (prev.index as usize) + 1 == c.members.len())
}

/// The spec of `relo` in its own (local) BTF.
pub(super) fn local_spec(btf: &Btf, relo: &CoreRelo) -> Result<CoreSpec, Fail> {
    let access = btf.str_at(relo.access_str_off)?;
    let raw = parse_access(access).map_err(Fail::Access)?;
    btf.get(relo.type_id)?;
    let mut spec = CoreSpec {
        kind: relo.kind,
        root: relo.type_id,
        accessors: Vec::new(),
        raw: raw.clone(),
        bit_offset: 0,
    };
    if relo.kind.is_type_based() {
        if raw != [0] {
            return Err(Fail::Access(
                "type relocations take the access string `0`".to_owned(),
            ));
        }
        spec.accessors.push(Accessor {
            type_id: relo.type_id,
            index: 0,
            name_off: None,
        });
        return Ok(spec);
    }
    let (id, ty) = btf.underlying(relo.type_id)?;
    if relo.kind.is_enumval_based() {
        let Type::Enum(e) = ty else {
            return Err(Fail::Access(format!(
                "enumerator relocation on {}, not an enum",
                btf.display(relo.type_id)
            )));
        };
        let [index] = raw[..] else {
            return Err(Fail::Access(
                "enumerator relocations take one index".to_owned(),
            ));
        };
        let value = e.values.get(index as usize).ok_or_else(|| {
            Fail::Access(format!(
                "enumerator {index} of {} which has {}",
                btf.display(id),
                e.values.len()
            ))
        })?;
        spec.accessors.push(Accessor {
            type_id: id,
            index,
            name_off: Some(value.name_off),
        });
        return Ok(spec);
    }
    // A field: the first index is into an array of roots.
    spec.bit_offset = elem_bits(btf, id, raw[0])?;
    spec.accessors.push(Accessor {
        type_id: id,
        index: raw[0],
        name_off: None,
    });
    let mut current = id;
    for &index in &raw[1..] {
        let (id, ty) = btf.underlying(current)?;
        match ty {
            Type::Struct(c) | Type::Union(c) => {
                let member = c.members.get(index as usize).ok_or_else(|| {
                    Fail::Access(format!(
                        "member {index} of {} which has {}",
                        btf.display(id),
                        c.members.len()
                    ))
                })?;
                add_bits(&mut spec.bit_offset, u64::from(member.bit_offset))?;
                if !btf.str_at(member.name_off)?.is_empty() {
                    spec.accessors.push(Accessor {
                        type_id: id,
                        index,
                        name_off: Some(member.name_off),
                    });
                }
                current = member.ty;
            }
            Type::Array(array) => {
                let (elem, _) = btf.underlying(array.elem)?;
                if !is_flex(btf, spec.accessors.last(), array) && index >= array.len {
                    return Err(Fail::Access(format!(
                        "index {index} of {} which has {} elements",
                        btf.display(id),
                        array.len
                    )));
                }
                add_bits(&mut spec.bit_offset, elem_bits(btf, elem, index)?)?;
                spec.accessors.push(Accessor {
                    type_id: elem,
                    index,
                    name_off: None,
                });
                current = elem;
            }
            other => {
                return Err(Fail::Access(format!(
                    "index {index} into {}, a {}",
                    btf.display(id),
                    other.kind()
                )))
            }
        }
    }
    Ok(spec)
}

impl Matcher {
    /// The spec of `local_spec` in `target` with root `candidate` (a type
    /// of the same kind and essential name), or `None` if the candidate
    /// does not have it.
    pub(super) fn match_spec(
        &mut self,
        local: &Btf,
        local_spec: &CoreSpec,
        target: &Btf,
        candidate: TypeId,
    ) -> Result<Option<CoreSpec>, Fail> {
        let mut spec = CoreSpec {
            kind: local_spec.kind,
            root: candidate,
            accessors: Vec::new(),
            raw: Vec::new(),
            bit_offset: 0,
        };
        let kind = local_spec.kind;
        if kind.is_type_based() {
            let matched = if kind == CoreReloKind::TypeMatches {
                self.types_match(
                    local,
                    local_spec.root,
                    target,
                    candidate,
                    false,
                    super::compat::MAX_DEPTH,
                )?
            } else {
                self.types_compat(
                    local,
                    local_spec.root,
                    target,
                    candidate,
                    super::compat::MAX_DEPTH,
                )?
            };
            if !matched {
                return Ok(None);
            }
            spec.accessors.push(Accessor {
                type_id: candidate,
                index: 0,
                name_off: None,
            });
            spec.raw.push(0);
            return Ok(Some(spec));
        }
        if kind.is_enumval_based() {
            let Some(Accessor {
                name_off: Some(name_off),
                ..
            }) = local_spec.accessors.first()
            else {
                return Err(Fail::Unsupported(
                    "enumerator spec without a name".to_owned(),
                ));
            };
            let wanted = essential_name(local.str_at(*name_off)?);
            let (id, ty) = target.underlying(candidate)?;
            let Type::Enum(e) = ty else { return Ok(None) };
            for (index, value) in (0u32..).zip(&e.values) {
                self.step()?;
                if essential_name(target.str_at(value.name_off)?) == wanted {
                    spec.accessors.push(Accessor {
                        type_id: id,
                        index,
                        name_off: Some(value.name_off),
                    });
                    spec.raw.push(index);
                    return Ok(Some(spec));
                }
            }
            return Ok(None);
        }
        let mut current = candidate;
        for (i, acc) in local_spec.accessors.iter().enumerate() {
            if i == 0 {
                let (id, _) = target.underlying(candidate)?;
                spec.bit_offset = elem_bits(target, id, acc.index)?;
                spec.accessors.push(Accessor {
                    type_id: id,
                    index: acc.index,
                    name_off: None,
                });
                spec.raw.push(acc.index);
                current = id;
            } else if let Some(name_off) = acc.name_off {
                let member = local
                    .get(acc.type_id)?
                    .composite()
                    .and_then(|c| c.members.get(acc.index as usize))
                    .ok_or_else(|| Fail::Unsupported("local spec names no member".to_owned()))?;
                let name = local.str_at(name_off)?;
                match self.find_member(local, member.ty, name, target, current, &mut spec)? {
                    Some(next) => current = next,
                    None => return Ok(None),
                }
            } else {
                let (_, ty) = target.underlying(current)?;
                let Type::Array(array) = ty else {
                    return Ok(None);
                };
                if !is_flex(target, spec.accessors.last(), array) && acc.index >= array.len {
                    return Ok(None);
                }
                let (elem, _) = target.underlying(array.elem)?;
                add_bits(&mut spec.bit_offset, elem_bits(target, elem, acc.index)?)?;
                if spec.raw.len() == MAX_SPEC_LEN {
                    return Err(spec_too_long());
                }
                spec.accessors.push(Accessor {
                    type_id: elem,
                    index: acc.index,
                    name_off: None,
                });
                spec.raw.push(acc.index);
                current = elem;
            }
        }
        Ok(Some(spec))
    }

    /// Looks for a member called `name`, compatible with the local
    /// member's type `local_ty`, in the struct or union `composite` of
    /// `target`, searching anonymous members depth first. On success the
    /// member's accessor and raw indices are pushed onto `spec`, its offset
    /// added, and its type returned; otherwise `spec` is left as it was.
    fn find_member(
        &mut self,
        local: &Btf,
        local_ty: TypeId,
        name: &str,
        target: &Btf,
        composite: TypeId,
        spec: &mut CoreSpec,
    ) -> Result<Option<TypeId>, Fail> {
        let (id, ty) = target.underlying(composite)?;
        let Some(c) = ty.composite() else {
            return Ok(None);
        };
        for (index, member) in (0u32..).zip(&c.members) {
            self.step()?;
            if spec.raw.len() == MAX_SPEC_LEN {
                return Err(spec_too_long());
            }
            let saved_offset = spec.bit_offset;
            add_bits(&mut spec.bit_offset, u64::from(member.bit_offset))?;
            spec.raw.push(index);
            let member_name = target.str_at(member.name_off)?;
            if member_name.is_empty() {
                if let Some(found) =
                    self.find_member(local, local_ty, name, target, member.ty, spec)?
                {
                    return Ok(Some(found));
                }
            } else if member_name == name {
                if self.fields_compat(local, local_ty, target, member.ty)? {
                    spec.accessors.push(Accessor {
                        type_id: id,
                        index,
                        name_off: Some(member.name_off),
                    });
                    return Ok(Some(member.ty));
                }
                // The name is taken by an incompatible field: no match
                // here (libbpf does not look further either).
                spec.raw.pop();
                spec.bit_offset = saved_offset;
                return Ok(None);
            }
            spec.raw.pop();
            spec.bit_offset = saved_offset;
        }
        Ok(None)
    }
}

fn spec_too_long() -> Fail {
    Fail::Unsupported(format!(
        "the target's access needs more than {MAX_SPEC_LEN} indices"
    ))
}

#[cfg(test)]
mod tests {
    use super::parse_access;

    #[test]
    fn access_strings() {
        assert_eq!(parse_access("0"), Ok(vec![0]));
        assert_eq!(parse_access("0:12:3"), Ok(vec![0, 12, 3]));
        assert_eq!(parse_access(""), Err("it is empty".to_owned()));
        assert_eq!(
            parse_access("0::1"),
            Err("`` is not a decimal index".to_owned())
        );
        assert_eq!(
            parse_access("0:+1"),
            Err("`+1` is not a decimal index".to_owned())
        );
        assert_eq!(
            parse_access("4294967296"),
            Err("index 4294967296 does not fit in 32 bits".to_owned())
        );
        let long = vec!["0"; 65].join(":");
        assert_eq!(parse_access(&long), Err("more than 64 indices".to_owned()));
        assert_eq!(
            parse_access(&vec!["1"; 64].join(":")).map(|v| v.len()),
            Ok(64)
        );
    }
}
