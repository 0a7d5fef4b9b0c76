//! Linking: each entry function of a code section becomes a program, with
//! the sub-programs it calls (from `.text` or its own section) appended
//! after it, as libbpf links them; `lddw` and `call` relocations are
//! resolved to map indices, global-data values, function offsets and
//! kernel-only externs on the way.

use super::error::ElfError;
use super::file::{ElfFile, Relocation, Section, Symbol};
use bpfbox_isa::{LddwKind, RawInsn};

/// `R_BPF_*` relocation types.
pub(crate) mod reloc {
    pub const NONE: u32 = 0;
    pub const R64_64: u32 = 1;
    pub const ABS64: u32 = 2;
    pub const ABS32: u32 = 3;
    pub const NODYLD32: u32 = 4;
    pub const R64_32: u32 = 10;

    pub fn name(kind: u32) -> &'static str {
        match kind {
            NONE => "R_BPF_NONE",
            R64_64 => "R_BPF_64_64",
            ABS64 => "R_BPF_64_ABS64",
            ABS32 => "R_BPF_64_ABS32",
            NODYLD32 => "R_BPF_64_NODYLD32",
            R64_32 => "R_BPF_64_32",
            _ => "unknown",
        }
    }
}

const LDDW: u8 = 0x18;
const CALL: u8 = 0x85;
const PSEUDO_CALL: u8 = 1;
const PSEUDO_KFUNC_CALL: u8 = 2;

/// A function of a code section (or the whole section when it has no
/// function symbols), in instruction slots.
#[derive(Clone, Debug)]
pub(crate) struct Unit {
    pub start: usize,
    pub len: usize,
    pub name: String,
    /// Whether it is an entry point (a global function outside `.text`).
    pub entry: bool,
    /// Whether its symbol is global.
    pub global: bool,
}

/// A code section ready for linking.
pub(crate) struct CodeSection {
    pub index: usize,
    pub name: String,
    pub insns: Vec<RawInsn>,
    /// By byte offset, sorted.
    pub relocations: Vec<Relocation>,
    /// Sorted by start, not overlapping.
    pub units: Vec<Unit>,
}

impl CodeSection {
    pub fn new(file: &ElfFile<'_>, section: &Section<'_>) -> Result<CodeSection, ElfError> {
        let code_error = |offset: u64, reason: String| ElfError::Code {
            section: section.name.to_owned(),
            offset,
            reason,
        };
        if section.data.len() % 8 != 0 {
            return Err(code_error(
                section.data.len() as u64,
                format!(
                    "{} bytes is not a whole number of instructions",
                    section.data.len()
                ),
            ));
        }
        let insns: Vec<RawInsn> = section
            .data
            .chunks_exact(8)
            .map(|chunk| {
                let mut bytes = [0u8; 8];
                bytes.copy_from_slice(chunk);
                RawInsn::from_bytes(bytes)
            })
            .collect();
        let mut functions: Vec<&Symbol<'_>> = file
            .symbols
            .iter()
            .filter(|s| s.section == section.index && s.is_function())
            .collect();
        functions.sort_by_key(|s| s.value);
        let mut units = Vec::with_capacity(functions.len().max(1));
        let is_text = section.name == ".text";
        for (i, function) in functions.iter().enumerate() {
            let end_limit = functions
                .get(i + 1)
                .map_or(section.data.len() as u64, |next| next.value);
            let size = if function.size == 0 {
                end_limit.saturating_sub(function.value)
            } else {
                function.size
            };
            let end = function.value.checked_add(size);
            if function.value % 8 != 0
                || size % 8 != 0
                || end.is_none_or(|end| end > section.data.len() as u64)
                || end.is_some_and(|end| end > end_limit)
            {
                return Err(code_error(
                    function.value,
                    format!(
                        "function `{}` ({size} bytes at {}) is not whole instructions inside the section, apart from the others",
                        function.name, function.value
                    ),
                ));
            }
            if size == 0 {
                continue;
            }
            units.push(Unit {
                start: (function.value / 8) as usize,
                len: (size / 8) as usize,
                name: function.name.to_owned(),
                entry: !is_text && function.is_global(),
                global: function.is_global(),
            });
        }
        if units.iter().all(|u| !u.entry) && !is_text && !insns.is_empty() {
            // No global function (assembler output, or only static ones):
            // the section is one program, named after its first function
            // or itself.
            let name = functions
                .first()
                .map_or_else(|| section.name.to_owned(), |f| f.name.to_owned());
            units = vec![Unit {
                start: 0,
                len: insns.len(),
                name,
                entry: true,
                global: false,
            }];
        } else if units.is_empty() && !insns.is_empty() {
            units.push(Unit {
                start: 0,
                len: insns.len(),
                name: section.name.to_owned(),
                entry: false,
                global: false,
            });
        }
        Ok(CodeSection {
            index: section.index,
            name: section.name.to_owned(),
            insns,
            relocations: Vec::new(),
            units,
        })
    }

    fn unit_at(&self, insn: usize) -> Option<usize> {
        let index = self.units.partition_point(|u| u.start + u.len <= insn);
        self.units
            .get(index)
            .filter(|u| u.start <= insn)
            .map(|_| index)
    }
}

/// What an `lddw` relocation's symbol turned out to be.
pub(crate) enum DataTarget {
    /// A map: its index among the object's maps.
    Map(usize),
    /// A value inside a global-data map.
    Value { map: usize, offset: u32 },
}

/// What the linker needs to know about the object besides its code.
pub(crate) trait Resolver {
    /// The map or global-data value that `symbol` plus `addend` names, or
    /// `None` when the symbol is in neither kind of section.
    fn data(&self, symbol: &Symbol<'_>, addend: u64) -> Result<Option<DataTarget>, String>;
    /// For an undefined symbol: what kind of kernel-only extern it is.
    fn extern_kind(&self, name: &str) -> &'static str;
}

/// A linked program.
pub(crate) struct Linked {
    pub insns: Vec<RawInsn>,
    /// Where each unit landed: (section index, unit start slot, length,
    /// output slot).
    pub placements: Vec<(usize, usize, usize, usize)>,
    /// The relocations applied, for display: (slot, type name, symbol
    /// index).
    pub relocations: Vec<(usize, &'static str, usize)>,
    /// Kernel-only constructs it uses: (what, name).
    pub kernel_only: Vec<(&'static str, String)>,
}

/// Links the program whose entry is unit `entry` of `sections[section]`.
pub(crate) fn link(
    file: &ElfFile<'_>,
    sections: &[CodeSection],
    section: usize,
    entry: usize,
    resolver: &dyn Resolver,
) -> Result<Linked, ElfError> {
    let mut linked = Linked {
        insns: Vec::new(),
        placements: Vec::new(),
        relocations: Vec::new(),
        kernel_only: Vec::new(),
    };
    // (code section position, unit index) -> output start.
    let mut placed: Vec<((usize, usize), usize)> = Vec::new();
    let mut place = |linked: &mut Linked, at: (usize, usize)| -> usize {
        if let Some(&(_, start)) = placed.iter().find(|(key, _)| *key == at) {
            return start;
        }
        let code = &sections[at.0];
        let unit = &code.units[at.1];
        let start = linked.insns.len();
        linked
            .insns
            .extend_from_slice(&code.insns[unit.start..unit.start + unit.len]);
        linked
            .placements
            .push((code.index, unit.start, unit.len, start));
        placed.push((at, start));
        start
    };
    place(&mut linked, (section, entry));
    let mut next = 0;
    while let Some(&(section_index, unit_start, unit_len, out_start)) = linked.placements.get(next)
    {
        next += 1;
        let position = sections
            .iter()
            .position(|c| c.index == section_index)
            .unwrap_or(0);
        let code = &sections[position];
        // Relocations are sorted by offset: walk them beside the code.
        let mut cursor = code
            .relocations
            .partition_point(|r| r.offset < unit_start as u64 * 8);
        let mut i = 0;
        while i < unit_len {
            let slot = unit_start + i;
            let out = out_start + i;
            let insn = linked.insns[out];
            let byte_offset = slot as u64 * 8;
            while code
                .relocations
                .get(cursor)
                .is_some_and(|r| r.offset < byte_offset)
            {
                cursor += 1;
            }
            // Most instructions need nothing: no relocation, not a call,
            // `lddw` or jump.
            let relocated = code
                .relocations
                .get(cursor)
                .is_some_and(|r| r.offset == byte_offset);
            if !relocated && insn.opcode != LDDW && !matches!(insn.opcode & 7, 5 | 6) {
                i += 1;
                continue;
            }
            let error = |reason: String| ElfError::Code {
                section: code.name.clone(),
                offset: byte_offset,
                reason,
            };
            let relocation = code
                .relocations
                .get(cursor)
                .filter(|r| r.offset == byte_offset)
                .copied();
            let symbol = match relocation {
                Some(r) => {
                    Some(
                        file.symbols
                            .get(r.symbol)
                            .ok_or_else(|| ElfError::Relocation {
                                section: code.name.clone(),
                                offset: byte_offset,
                                symbol: format!("#{}", r.symbol),
                                reason: "symbol index out of range".into(),
                            })?,
                    )
                }
                None => None,
            };
            let reloc_error = |symbol: &Symbol<'_>, reason: String| ElfError::Relocation {
                section: code.name.clone(),
                offset: byte_offset,
                symbol: symbol.name.to_owned(),
                reason,
            };
            let width = if insn.opcode == LDDW { 2 } else { 1 };
            if insn.opcode == LDDW && i + 1 >= unit_len {
                return Err(error("lddw is missing its second slot".into()));
            }
            if let (Some(r), Some(symbol)) = (relocation, symbol) {
                linked
                    .relocations
                    .push((out, reloc::name(r.kind), r.symbol));
                match r.kind {
                    reloc::R64_64 if insn.opcode == LDDW => {
                        let addend = u64::from(insn.imm as u32);
                        if symbol.is_undefined() {
                            let what = resolver.extern_kind(symbol.name);
                            linked.kernel_only.push((what, symbol.name.to_owned()));
                        } else if let Some(target) = resolver
                            .data(symbol, addend)
                            .map_err(|reason| reloc_error(symbol, reason))?
                        {
                            let (kind, imm, next_imm) = match target {
                                DataTarget::Map(index) => (LddwKind::MapIdx, index, 0),
                                DataTarget::Value { map, offset } => {
                                    (LddwKind::MapIdxValue, map, offset)
                                }
                            };
                            let first = &mut linked.insns[out];
                            first.src = kind.src();
                            first.imm =
                                i32::try_from(imm).map_err(|_| error("too many maps".into()))?;
                            linked.insns[out + 1].imm = next_imm as i32;
                        } else if let Some(target_section) =
                            sections.iter().position(|c| c.index == symbol.section)
                        {
                            // A function's address, for a callback.
                            let byte = symbol
                                .value
                                .checked_add(addend)
                                .filter(|b| b % 8 == 0)
                                .ok_or_else(|| {
                                    reloc_error(
                                        symbol,
                                        "function address is not on an instruction".into(),
                                    )
                                })?;
                            let target = (byte / 8) as usize;
                            let target_out = resolve_target(
                                &sections[target_section],
                                target_section,
                                target,
                                &mut |at| place(&mut linked, at),
                            )
                            .map_err(|reason| reloc_error(symbol, reason))?;
                            let first = &mut linked.insns[out];
                            first.src = LddwKind::CodeAddr.src();
                            first.imm = relative(out, target_out).map_err(error)?;
                            linked.insns[out + 1].imm = 0;
                        } else {
                            return Err(reloc_error(
                                symbol,
                                "the symbol is in no map, data or code section".into(),
                            ));
                        }
                    }
                    reloc::R64_32 if insn.opcode == CALL => {
                        if symbol.is_undefined() {
                            if insn.src != PSEUDO_KFUNC_CALL && insn.src != PSEUDO_CALL {
                                return Err(reloc_error(
                                    symbol,
                                    "call to an undefined symbol is not a kfunc call".into(),
                                ));
                            }
                            linked.kernel_only.push(("kfunc", symbol.name.to_owned()));
                        } else {
                            let target_section = sections
                                .iter()
                                .position(|c| c.index == symbol.section)
                                .ok_or_else(|| {
                                    reloc_error(
                                        symbol,
                                        "call target is not in a code section".into(),
                                    )
                                })?;
                            if symbol.value % 8 != 0 {
                                return Err(reloc_error(
                                    symbol,
                                    "call target is not on an instruction".into(),
                                ));
                            }
                            let target = (symbol.value / 8) as i64 + i64::from(insn.imm) + 1;
                            let target = usize::try_from(target).map_err(|_| {
                                reloc_error(symbol, "call target before the section".into())
                            })?;
                            let target_out = resolve_target(
                                &sections[target_section],
                                target_section,
                                target,
                                &mut |at| place(&mut linked, at),
                            )
                            .map_err(|reason| reloc_error(symbol, reason))?;
                            let call = &mut linked.insns[out];
                            call.src = PSEUDO_CALL;
                            call.imm = relative(out, target_out).map_err(error)?;
                        }
                    }
                    kind @ (reloc::R64_64 | reloc::R64_32) => {
                        return Err(reloc_error(
                            symbol,
                            format!(
                                "{} on an instruction that is not {}",
                                reloc::name(kind),
                                if kind == reloc::R64_64 {
                                    "lddw"
                                } else {
                                    "a call"
                                }
                            ),
                        ));
                    }
                    kind => {
                        return Err(ElfError::UnsupportedRelocation {
                            section: code.name.clone(),
                            offset: byte_offset,
                            symbol: symbol.name.to_owned(),
                            kind,
                            kind_name: reloc::name(kind),
                        })
                    }
                }
            } else if insn.opcode == CALL && insn.src == PSEUDO_CALL {
                // A call resolved by the compiler inside this section.
                let target = slot as i64 + i64::from(insn.imm) + 1;
                let target = usize::try_from(target)
                    .map_err(|_| error("call before the section start".into()))?;
                let target_out =
                    resolve_target(code, position, target, &mut |at| place(&mut linked, at))
                        .map_err(error)?;
                linked.insns[out].imm = relative(out, target_out).map_err(error)?;
            } else if insn.opcode == LDDW && insn.src == LddwKind::CodeAddr.src() {
                let target = slot as i64 + i64::from(insn.imm) + 1;
                let target = usize::try_from(target)
                    .map_err(|_| error("function address before the section start".into()))?;
                let target_out =
                    resolve_target(code, position, target, &mut |at| place(&mut linked, at))
                        .map_err(error)?;
                linked.insns[out].imm = relative(out, target_out).map_err(error)?;
            } else if let Some(offset) = jump_offset(insn) {
                let target = i as i64 + offset + 1;
                if target < 0 || target >= unit_len as i64 {
                    return Err(error(format!(
                        "jump to slot {} leaves its function (of {unit_len} slots)",
                        target
                    )));
                }
            }
            i += width;
        }
    }
    Ok(linked)
}

/// The relative offset a call or code-address `lddw` at `from` needs to
/// reach `to`.
fn relative(from: usize, to: usize) -> Result<i32, String> {
    i32::try_from(to as i64 - from as i64 - 1).map_err(|_| "program too large".into())
}

/// The output slot of section slot `target`, placing its unit if needed.
fn resolve_target(
    code: &CodeSection,
    position: usize,
    target: usize,
    place: &mut dyn FnMut((usize, usize)) -> usize,
) -> Result<usize, String> {
    let unit = code
        .unit_at(target)
        .ok_or_else(|| format!("target slot {target} of {} is in no function", code.name))?;
    let start = place((position, unit));
    Ok(start + (target - code.units[unit].start))
}

/// The relative jump offset of a jump instruction (not call or exit).
fn jump_offset(insn: RawInsn) -> Option<i64> {
    let class = insn.opcode & 7;
    if class != 5 && class != 6 {
        return None;
    }
    match insn.opcode & 0xf0 {
        0x80 | 0x90 => None,
        // `gotol`: the offset is the immediate.
        0x00 if class == 6 => Some(i64::from(insn.imm)),
        _ => Some(i64::from(insn.off)),
    }
}
