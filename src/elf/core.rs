//! CO-RE: patching the instructions `.BTF.ext` relocation records name
//! with the values resolved against the target types.
//!
//! Targets, in order: the host's kernel BTF (when given), bpfbox's own
//! context types (`__sk_buff`, `xdp_md`, `pt_regs`), then the object's own
//! types (a program's packet headers declared with `preserve_access_index`
//! resolve to themselves).

use super::error::ElfError;
use super::link::CodeSection;
use crate::abi::btf::core::{self as btf_core, CoreError, CoreValue};
use crate::abi::btf::{context_btf, Btf, BtfExt, CoreReloKind};
use crate::abi::HelperId;
use std::sync::OnceLock;

const LDDW: u8 = 0x18;

fn context_types() -> &'static Btf {
    static TYPES: OnceLock<Btf> = OnceLock::new();
    TYPES.get_or_init(context_btf)
}

/// A relocation no target could satisfy: its instruction now calls
/// [`HelperId::CORE_POISON`], as libbpf poisons it, so the program loads
/// and fails only if a run reaches it (code guarded by
/// `bpf_core_field_exists` never does).
#[derive(Clone, Debug)]
pub(crate) struct Poisoned {
    pub section: usize,
    pub slot: usize,
    pub reason: String,
}

/// What applying the CO-RE relocations did.
#[derive(Default)]
pub(crate) struct Applied {
    pub count: usize,
    pub poisoned: Vec<Poisoned>,
}

/// Applies every CO-RE relocation of `ext` to the code sections.
pub(crate) fn apply(
    code: &mut [CodeSection],
    ext: &BtfExt,
    local: &Btf,
    kernel: Option<&Btf>,
) -> Result<Applied, ElfError> {
    let mut targets: Vec<&Btf> = Vec::with_capacity(3);
    targets.extend(kernel);
    targets.push(context_types());
    targets.push(local);
    let mut applied = Applied::default();
    for section in &ext.core_relos {
        let Some(code) = code.iter_mut().find(|c| c.name == section.section) else {
            if section.records.is_empty() {
                continue;
            }
            return Err(ElfError::CorePatch {
                section: section.section.clone(),
                insn: 0,
                reason: "the section has no code".into(),
            });
        };
        for relo in &section.records {
            let insn = (relo.insn_off / 8) as usize;
            let patch_error = |reason: String| ElfError::CorePatch {
                section: code.name.clone(),
                insn,
                reason,
            };
            if relo.insn_off % 8 != 0 || insn >= code.insns.len() {
                return Err(patch_error(format!(
                    "offset {} is not an instruction of the section",
                    relo.insn_off
                )));
            }
            let value = match btf_core::resolve(local, relo, &targets) {
                Ok(value) => value,
                Err(source @ CoreError::NotFound { .. }) => {
                    poison(&mut code.insns, insn);
                    applied.poisoned.push(Poisoned {
                        section: code.index,
                        slot: insn,
                        reason: source.to_string(),
                    });
                    continue;
                }
                Err(source) => {
                    return Err(ElfError::Core {
                        section: code.name.clone(),
                        insn,
                        source: Box::new(source),
                    })
                }
            };
            patch(&mut code.insns, insn, relo.kind, &value).map_err(patch_error)?;
            applied.count += 1;
        }
    }
    Ok(applied)
}

/// Writes `value.target` into the instruction at `index`, after checking
/// that it holds `value.local` (the compiler's value for the local types)
/// where that is checkable.
fn patch(
    insns: &mut [bpfbox_isa::RawInsn],
    index: usize,
    kind: CoreReloKind,
    value: &CoreValue,
) -> Result<(), String> {
    let insn = insns[index];
    let class = insn.opcode & 7;
    if insn.opcode == LDDW {
        let next = insns
            .get(index + 1)
            .ok_or("lddw is missing its second slot")?;
        let local = u64::from(insn.imm as u32) | (u64::from(next.imm as u32) << 32);
        if value.validate && local != value.local {
            return Err(format!(
                "the lddw holds {local}, not the local value {}",
                value.local
            ));
        }
        insns[index].imm = value.target as u32 as i32;
        insns[index + 1].imm = (value.target >> 32) as u32 as i32;
        return Ok(());
    }
    match class {
        // ALU with an immediate operand.
        0x04 | 0x07 if insn.opcode & 0x08 == 0 => {
            let holds = i64::from(insn.imm) as u64 == value.local
                || u64::from(insn.imm as u32) == value.local;
            if value.validate && !holds {
                return Err(format!(
                    "the instruction's immediate {} is not the local value {}",
                    insn.imm, value.local
                ));
            }
            let imm = i32::try_from(value.target as i64)
                .or_else(|_| u32::try_from(value.target).map(|v| v as i32))
                .map_err(|_| format!("value {} does not fit in an immediate", value.target))?;
            insns[index].imm = imm;
        }
        // Loads and stores: the offset is the field offset.
        0x01..=0x03 => {
            if kind != CoreReloKind::FieldByteOffset {
                return Err(format!("a {kind:?} relocation on a memory access"));
            }
            if value.validate && i64::from(insn.off) as u64 != value.local {
                return Err(format!(
                    "the access offset {} is not the local field offset {}",
                    insn.off, value.local
                ));
            }
            insns[index].off = i16::try_from(value.target).map_err(|_| {
                format!(
                    "field offset {} does not fit in an access offset",
                    value.target
                )
            })?;
            if let (Some(local), Some(target)) = (value.local_size, value.target_size) {
                if local != target {
                    resize(&mut insns[index], local, target, value.width_change_ok)?;
                }
            }
        }
        _ => {
            return Err(format!(
                "opcode {:#04x} cannot take a CO-RE value",
                insn.opcode
            ))
        }
    }
    Ok(())
}

/// Resizes an access of a `local`-byte field to the target's `target`
/// bytes, as libbpf does when a field's type changed size.
fn resize(insn: &mut bpfbox_isa::RawInsn, local: u32, target: u32, ok: bool) -> Result<(), String> {
    let width = |bytes: u32| match bytes {
        1 => Some(0x10u8),
        2 => Some(0x08),
        4 => Some(0x00),
        8 => Some(0x18),
        _ => None,
    };
    let current = insn.opcode & 0x18;
    if Some(current) != width(local) {
        // The access reads part of the field: leave its width alone.
        return Ok(());
    }
    if !ok {
        return Err(format!(
            "the field is {local} bytes locally and {target} in the target, and its type does not allow resizing the access"
        ));
    }
    let new = width(target)
        .ok_or_else(|| format!("a {target}-byte field cannot be accessed by one instruction"))?;
    insn.opcode = (insn.opcode & !0x18) | new;
    Ok(())
}

/// Overwrites the instruction at `index` with a call to the poison helper
/// (and the second slot of an `lddw` with a jump to the next instruction).
fn poison(insns: &mut [bpfbox_isa::RawInsn], index: usize) {
    let was_lddw = insns[index].opcode == LDDW;
    insns[index] = bpfbox_isa::RawInsn {
        opcode: 0x85,
        dst: 0,
        src: 0,
        off: 0,
        imm: HelperId::CORE_POISON.0 as i32,
    };
    if was_lddw {
        if let Some(next) = insns.get_mut(index + 1) {
            *next = bpfbox_isa::RawInsn {
                opcode: 0x05,
                dst: 0,
                src: 0,
                off: 0,
                imm: 0,
            };
        }
    }
}
