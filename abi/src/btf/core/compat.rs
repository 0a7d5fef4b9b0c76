//! The three relations CO-RE uses to compare a local type with a target
//! type, as libbpf documents them:
//!
//! - field compatibility ([`Matcher::fields_compat`]): can a field of the
//!   local type be read as the target's field of the same name? Any two
//!   structs/unions, any two pointers, any two floats, integers without
//!   the old bit-offset encoding, enums and forward declarations whose
//!   names agree up to a flavour (or either is anonymous), arrays of
//!   compatible elements.
//! - type compatibility ([`Matcher::types_compat`]), for the type-based
//!   relocations: same kind (an enum matching a 64-bit enum), recursing
//!   through pointers, arrays and prototypes (same number of parameters).
//! - type match ([`Matcher::types_match`], `bpf_core_type_matches`), the
//!   strict one: integers of the same size and signedness, every local
//!   member present in the target by name with a matching type (only names
//!   and kinds behind a pointer, where a struct may also match a forward
//!   declaration), every local enumerator present by name with the enum's
//!   size equal, arrays of the same length, prototypes with matching
//!   parameters. bpfbox adds: floats match when their sizes agree (libbpf
//!   leaves floats out of this relation).
//!
//! Modifiers and typedefs are skipped on both sides throughout. Every
//! recursion is bounded in depth ([`MAX_DEPTH`]) and all the work of one
//! relocation in steps ([`MAX_STEPS`]), so hostile types cannot make the
//! walk exponential.

use super::super::{Btf, Enum, Kind, Type, TypeId};
use super::{essential_name, Fail};

/// How deep the relations recurse before giving up (libbpf's limit).
pub(super) const MAX_DEPTH: u32 = 32;
/// Steps one relocation may take in all (members visited, types
/// compared).
pub(super) const MAX_STEPS: u32 = 1 << 20;

/// Whether kinds are the same for CO-RE: equal, or both enums.
pub(super) fn kinds_compat(local: Kind, target: Kind) -> bool {
    local == target
        || matches!(
            (local, target),
            (Kind::Enum | Kind::Enum64, Kind::Enum | Kind::Enum64)
        )
}

/// Whether two names agree for CO-RE: either is empty, or they are equal
/// up to their `___flavor` suffixes.
pub(super) fn names_compat(local: &str, target: &str) -> bool {
    local.is_empty() || target.is_empty() || essential_name(local) == essential_name(target)
}

/// The step budget of one relocation.
pub(super) struct Matcher {
    steps: u32,
}

impl Matcher {
    pub(super) fn new() -> Matcher {
        Matcher { steps: 0 }
    }

    /// Charges one step.
    pub(super) fn step(&mut self) -> Result<(), Fail> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return Err(Fail::Unsupported(format!(
                "matching took more than {MAX_STEPS} steps"
            )));
        }
        Ok(())
    }

    /// Field compatibility (see the module doc).
    pub(super) fn fields_compat(
        &mut self,
        local: &Btf,
        local_id: TypeId,
        target: &Btf,
        target_id: TypeId,
    ) -> Result<bool, Fail> {
        let (mut local_id, mut target_id) = (local_id, target_id);
        for _ in 0..MAX_DEPTH {
            self.step()?;
            let (_, lt) = local.underlying(local_id)?;
            let (_, tt) = target.underlying(target_id)?;
            if lt.composite().is_some() && tt.composite().is_some() {
                return Ok(true);
            }
            if !kinds_compat(lt.kind(), tt.kind()) {
                return Ok(false);
            }
            return Ok(match (lt, tt) {
                (Type::Ptr { .. }, _) | (Type::Float { .. }, _) => true,
                (Type::Fwd { .. } | Type::Enum(_), _) => names_compat(
                    local.str_at(lt.name_off()).unwrap_or(""),
                    target.str_at(tt.name_off()).unwrap_or(""),
                ),
                (Type::Int(l), Type::Int(t)) => l.offset == 0 && t.offset == 0,
                (Type::Array(l), Type::Array(t)) => {
                    local_id = l.elem;
                    target_id = t.elem;
                    continue;
                }
                _ => false,
            });
        }
        Err(too_deep())
    }

    /// Type compatibility (see the module doc).
    pub(super) fn types_compat(
        &mut self,
        local: &Btf,
        local_id: TypeId,
        target: &Btf,
        target_id: TypeId,
        depth: u32,
    ) -> Result<bool, Fail> {
        let (mut local_id, mut target_id) = (local_id, target_id);
        let mut depth = depth;
        loop {
            self.step()?;
            depth = depth.checked_sub(1).ok_or_else(too_deep)?;
            let (_, lt) = local.underlying(local_id)?;
            let (_, tt) = target.underlying(target_id)?;
            if !kinds_compat(lt.kind(), tt.kind()) {
                return Ok(false);
            }
            match (lt, tt) {
                (
                    Type::Void
                    | Type::Struct(_)
                    | Type::Union(_)
                    | Type::Enum(_)
                    | Type::Fwd { .. }
                    | Type::Float { .. },
                    _,
                ) => return Ok(true),
                (Type::Int(l), Type::Int(t)) => return Ok(l.offset == 0 && t.offset == 0),
                (Type::Ptr { target: l }, Type::Ptr { target: t }) => {
                    (local_id, target_id) = (*l, *t);
                }
                (Type::Array(l), Type::Array(t)) => (local_id, target_id) = (l.elem, t.elem),
                (
                    Type::FuncProto {
                        ret: lr,
                        params: lp,
                    },
                    Type::FuncProto {
                        ret: tr,
                        params: tp,
                    },
                ) => {
                    if lp.len() != tp.len() {
                        return Ok(false);
                    }
                    for (l, t) in lp.iter().zip(tp) {
                        if !self.types_compat(local, l.ty, target, t.ty, depth)? {
                            return Ok(false);
                        }
                    }
                    (local_id, target_id) = (*lr, *tr);
                }
                _ => return Ok(false),
            }
        }
    }

    /// The strict type match (see the module doc).
    pub(super) fn types_match(
        &mut self,
        local: &Btf,
        local_id: TypeId,
        target: &Btf,
        target_id: TypeId,
        behind_ptr: bool,
        depth: u32,
    ) -> Result<bool, Fail> {
        let (mut local_id, mut target_id) = (local_id, target_id);
        let mut behind_ptr = behind_ptr;
        let mut depth = depth;
        loop {
            self.step()?;
            depth = depth.checked_sub(1).ok_or_else(too_deep)?;
            // Names are compared before and after typedefs are skipped: a
            // root typedef must agree by name too.
            if !names_compat(local.name(local_id), target.name(target_id)) {
                return Ok(false);
            }
            let (lid, lt) = local.underlying(local_id)?;
            let (tid, tt) = target.underlying(target_id)?;
            if !names_compat(local.name(lid), target.name(tid)) {
                return Ok(false);
            }
            let (lk, tk) = (lt.kind(), tt.kind());
            // Behind a pointer a struct or union also matches a forward
            // declaration of the same flavour (struct or union).
            if behind_ptr
                && matches!(lk, Kind::Struct | Kind::Union | Kind::Fwd)
                && matches!(tk, Kind::Struct | Kind::Union | Kind::Fwd)
                && (lk == Kind::Fwd || tk == Kind::Fwd || lk == tk)
            {
                return Ok(is_union_like(lt) == is_union_like(tt));
            }
            if !kinds_compat(lk, tk) {
                return Ok(false);
            }
            match (lt, tt) {
                (Type::Void, _) => return Ok(true),
                (Type::Fwd { union: l, .. }, Type::Fwd { union: t, .. }) => return Ok(l == t),
                (Type::Int(l), Type::Int(t)) => {
                    return Ok(l.size == t.size && l.is_signed() == t.is_signed())
                }
                (Type::Float { size: l, .. }, Type::Float { size: t, .. }) => return Ok(l == t),
                (Type::Enum(l), Type::Enum(t)) => return self.enums_match(local, l, target, t),
                (Type::Struct(l), Type::Struct(t)) | (Type::Union(l), Type::Union(t)) => {
                    if l.members.len() > t.members.len() {
                        return Ok(false);
                    }
                    for lm in &l.members {
                        let lname = local.str_at(lm.name_off).unwrap_or("");
                        let mut found = false;
                        for tm in &t.members {
                            self.step()?;
                            let tname = target.str_at(tm.name_off).unwrap_or("");
                            if names_compat(lname, tname)
                                && self
                                    .types_match(local, lm.ty, target, tm.ty, behind_ptr, depth)?
                            {
                                found = true;
                                break;
                            }
                        }
                        if !found {
                            return Ok(false);
                        }
                    }
                    return Ok(true);
                }
                (Type::Ptr { target: l }, Type::Ptr { target: t }) => {
                    behind_ptr = true;
                    (local_id, target_id) = (*l, *t);
                }
                (Type::Array(l), Type::Array(t)) => {
                    if l.len != t.len {
                        return Ok(false);
                    }
                    (local_id, target_id) = (l.elem, t.elem);
                }
                (
                    Type::FuncProto {
                        ret: lr,
                        params: lp,
                    },
                    Type::FuncProto {
                        ret: tr,
                        params: tp,
                    },
                ) => {
                    if lp.len() != tp.len() {
                        return Ok(false);
                    }
                    for (l, t) in lp.iter().zip(tp) {
                        if !self.types_match(local, l.ty, target, t.ty, behind_ptr, depth)? {
                            return Ok(false);
                        }
                    }
                    (local_id, target_id) = (*lr, *tr);
                }
                _ => return Ok(false),
            }
        }
    }
}

impl Matcher {
    /// Enums match when their sizes agree and every local enumerator's
    /// name is in the target (up to flavours).
    fn enums_match(&mut self, local: &Btf, l: &Enum, target: &Btf, t: &Enum) -> Result<bool, Fail> {
        if l.size != t.size {
            return Ok(false);
        }
        for lv in &l.values {
            let lname = local.str_at(lv.name_off).unwrap_or("");
            let mut found = false;
            for tv in &t.values {
                self.step()?;
                if names_compat(lname, target.str_at(tv.name_off).unwrap_or("")) {
                    found = true;
                    break;
                }
            }
            if !found {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// Whether a struct-like type is a union (or a forward declaration of
/// one).
fn is_union_like(ty: &Type) -> bool {
    matches!(ty, Type::Union(_) | Type::Fwd { union: true, .. })
}

fn too_deep() -> Fail {
    Fail::Unsupported(format!("types nest deeper than {MAX_DEPTH} levels"))
}
