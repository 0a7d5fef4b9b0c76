//! The ELF loader: objects built by `clang -target bpf`, as libbpf loads
//! them.
//!
//! [`Object::parse`] reads an object (untrusted bytes: every offset, index
//! and count is checked, and every failure is an [`ElfError`] naming the
//! section, offset or symbol) and links its programs:
//!
//! - **Programs**: each global function of an executable section other than
//!   `.text` is a program (a section without global functions is one
//!   program); the functions it calls, from `.text` or its own section, are
//!   appended to it, as libbpf links sub-programs. The program type comes
//!   from the section name, with libbpf's conventions ([`section_kind`]).
//! - **Maps**: legacy `struct bpf_map_def` records in `maps`, BTF-defined
//!   maps in `.maps` (with inner maps and static `.values` for maps of maps
//!   and program arrays), and one single-element array per global data
//!   section (`.data`, `.rodata`, `.bss`, `.rodata.str1.1`, `.data.*`, ...;
//!   `.rodata*` read-only for programs).
//! - **Relocations**: `R_BPF_64_64` on `lddw` to maps, global data and
//!   functions; `R_BPF_64_32` on calls; CO-RE relocations from `.BTF.ext`,
//!   resolved against a host-supplied kernel BTF ([`ParseOptions::btf`]),
//!   bpfbox's own context types, then the object's own types. Kernel-only
//!   constructs (kfuncs, `.kconfig` and `.ksyms` externs) are reported by
//!   name, and fail only the programs that use them.
//!
//! [`Object::load`] then creates the maps (within one memory limit for all
//! of them) and a [`Vm`] per program, and fills statically initialised
//! program arrays and maps of maps: a [`LoadedObject`].
//!
//! ```no_run
//! use bpfbox::elf::{LoadOptions, Object};
//! use bpfbox::{Packet, RunState};
//!
//! let bytes = std::fs::read("xdp_parse.o")?;
//! let object = Object::parse(&bytes)?;
//! let loaded = object.load(&LoadOptions::default())?;
//! let program = loaded.program("xdp_parse_prog")?;
//! let mut packet = Packet::new(&[0u8; 64]);
//! let outcome = program.execute_packet(&mut RunState::new(), &mut packet)?;
//! println!("verdict {}", outcome.r0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod core;
mod error;
mod file;
mod link;
mod load;
mod maps;
mod sections;

pub use error::ElfError;
pub use load::{LoadOptions, LoadedObject};
pub use maps::{MapOrigin, ObjectMap, SlotInit};
pub use sections::{section_kind, SectionKind};

use crate::abi::btf::{Btf, BtfExt, LineInfo, Type};
use bpfbox_abi::ProgramType;
use bpfbox_isa::RawInsn;
use file::{ElfFile, Symbol};
use goblin::elf::section_header as sh;
use link::{CodeSection, DataTarget, Resolver};
use std::fmt;
use std::sync::Arc;

/// How to read an object.
#[derive(Clone, Debug, Default)]
pub struct ParseOptions {
    /// Kernel type information (a `vmlinux` BTF, as in
    /// `/sys/kernel/btf/vmlinux`) that CO-RE relocations on kernel types
    /// resolve against.
    pub btf: Option<Arc<Btf>>,
}

/// A source position from `.BTF.ext` line information.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceLine {
    /// The source file.
    pub file: String,
    /// Line number, from 1.
    pub line: u32,
    /// Column, from 1 (0 when unknown).
    pub column: u32,
    /// The line's text, when the object records it.
    pub text: String,
}

impl fmt::Display for SourceLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)?;
        if self.column != 0 {
            write!(f, ":{}", self.column)?;
        }
        if !self.text.is_empty() {
            write!(f, ": {}", self.text.trim())?;
        }
        Ok(())
    }
}

/// A relocation applied to a program, for display (`disasm`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppliedRelocation {
    /// The instruction slot in the linked program.
    pub slot: usize,
    /// `R_BPF_64_64`, `R_BPF_64_32`.
    pub kind: &'static str,
    /// The symbol it named.
    pub symbol: Arc<str>,
}

/// A CO-RE relocation that no target could satisfy. As libbpf does, the
/// loader replaces its instruction with a call to
/// [`HelperId::CORE_POISON`](crate::abi::HelperId::CORE_POISON): the program
/// loads, and a run that reaches the instruction fails. Code behind
/// `bpf_core_field_exists` checks never reaches it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnresolvedCore {
    /// The poisoned instruction's slot in the linked program.
    pub slot: usize,
    /// Why it could not be resolved (names the type and field).
    pub reason: String,
}

/// A kernel-only construct a program uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelOnly {
    /// `kfunc`, `.kconfig extern`, `.ksyms extern`.
    pub what: &'static str,
    /// The symbol.
    pub name: String,
}

/// A program of an object, linked.
#[derive(Clone, Debug)]
pub struct ObjectProgram {
    /// The function's name (the section's for a section without function
    /// symbols).
    pub name: String,
    /// The section it is in.
    pub section: String,
    /// What the section name says about it.
    pub kind: SectionKind,
    /// Its instructions, with sub-programs appended and relocations applied
    /// (map references as `lddw` map indices into [`Object::maps`]).
    pub instructions: Vec<RawInsn>,
    /// The relocations applied, in slot order.
    pub relocations: Vec<AppliedRelocation>,
    /// Kernel-only constructs it uses: loading it fails with
    /// [`ElfError::KernelOnly`].
    pub kernel_only: Vec<KernelOnly>,
    /// CO-RE relocations no target could satisfy: their instructions were
    /// poisoned (see [`UnresolvedCore`]).
    pub unresolved_core: Vec<UnresolvedCore>,
    /// Line information: (first slot, record), by slot; strings resolved
    /// on demand from `btf`.
    lines: Vec<(usize, LineInfo)>,
    btf: Option<Arc<Btf>>,
}

impl ObjectProgram {
    /// The source line of the instruction at `slot`, when the object has
    /// line information.
    pub fn source_line(&self, slot: usize) -> Option<SourceLine> {
        let index = self.lines.partition_point(|(start, _)| *start <= slot);
        let record = &self.lines.get(index.checked_sub(1)?)?.1;
        let btf = self.btf.as_deref()?;
        Some(SourceLine {
            file: btf.str_at(record.file_name_off).unwrap_or("").to_owned(),
            line: record.line,
            column: record.column,
            text: btf.str_at(record.line_off).unwrap_or("").to_owned(),
        })
    }
}

/// A global variable of a data section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Global {
    /// Its name.
    pub name: String,
    /// The map backing its section (index into [`Object::maps`]).
    pub map: usize,
    /// Its offset in the section.
    pub offset: u32,
    /// Its size.
    pub size: u32,
}

/// Counts of the relocations in an object, by type.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RelocationSummary {
    /// (`R_BPF_*` name, count), in type order.
    pub by_kind: Vec<(&'static str, usize)>,
    /// CO-RE relocations applied.
    pub core: usize,
}

/// A parsed and linked object.
#[derive(Clone, Debug)]
pub struct Object {
    programs: Vec<ObjectProgram>,
    maps: Vec<ObjectMap>,
    globals: Vec<Global>,
    license: Option<String>,
    kernel_version: Option<u32>,
    relocation_summary: RelocationSummary,
    btf: Option<Arc<Btf>>,
}

impl Object {
    /// Reads and links an object, with no kernel BTF.
    ///
    /// # Errors
    /// [`ElfError`] for anything malformed or unsupported.
    pub fn parse(bytes: &[u8]) -> Result<Object, ElfError> {
        Object::parse_with(bytes, &ParseOptions::default())
    }

    /// Reads and links an object.
    ///
    /// # Errors
    /// [`ElfError`] for anything malformed or unsupported.
    pub fn parse_with(bytes: &[u8], options: &ParseOptions) -> Result<Object, ElfError> {
        let file = ElfFile::parse(bytes)?;
        let license = file.section_named("license").map(|s| {
            String::from_utf8_lossy(s.data.split(|&b| b == 0).next().unwrap_or(&[])).into_owned()
        });
        let kernel_version = file
            .section_named("version")
            .and_then(|s| s.data.get(..4))
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));

        let btf = match file.section_named(".BTF") {
            Some(section) => Some(Arc::new(Btf::parse(section.data).map_err(|source| {
                ElfError::Btf {
                    section: ".BTF",
                    source,
                }
            })?)),
            None => None,
        };
        let btf_ext = match (file.section_named(".BTF.ext"), &btf) {
            (Some(section), Some(btf)) => Some(BtfExt::parse(section.data, btf).map_err(
                |source| ElfError::Btf {
                    section: ".BTF.ext",
                    source,
                },
            )?),
            _ => None,
        };

        // Maps, in section order: legacy, BTF-defined, global data.
        let mut maps = Vec::new();
        for section in &file.sections {
            if section.name == "maps" && section.kind == sh::SHT_PROGBITS {
                maps.extend(maps::legacy_maps(&file, section)?);
            } else if section.name == ".maps" {
                maps.extend(maps::btf_maps(&file, section, btf.as_deref())?);
            } else if maps::is_data_section(section) {
                maps.extend(maps::data_map(&file, section)?);
            }
        }
        let globals = globals(&file, &maps);

        // Code sections, CO-RE applied, relocations attached.
        let mut code = Vec::new();
        for section in file.sections.iter().filter(|s| s.is_code()) {
            code.push(CodeSection::new(&file, section)?);
        }
        // An object whose only code is `.text` (as the bpf_conformance runner
        // writes one, with `main` in `.text`) has its global functions there
        // as programs; libbpf would load none.
        if !code.iter().any(|c| c.units.iter().any(|u| u.entry)) {
            for unit in code
                .iter_mut()
                .filter(|c| c.name == ".text")
                .flat_map(|c| c.units.iter_mut())
            {
                unit.entry = unit.global;
            }
        }
        let mut summary = RelocationSummary::default();
        let mut counts = [0usize; 11];
        for section in file.sections.iter().filter(|s| s.kind == sh::SHT_REL) {
            let target = file
                .section(section.info as usize)
                .ok_or(ElfError::SectionIndex {
                    what: "a relocation section's target",
                    index: section.info as usize,
                })?;
            let mut relocations = file.relocations(section)?;
            let in_data = maps::is_data_section(target);
            for r in &relocations {
                if let Some(count) = counts.get_mut(r.kind as usize) {
                    *count += 1;
                }
                check_relocation(&file, target, in_data, r)?;
            }
            if let Some(code) = code.iter_mut().find(|c| c.index == target.index) {
                relocations.sort_by_key(|r| r.offset);
                code.relocations = relocations;
            } else if target.name == ".maps" {
                // Applied below, once every map is known.
            }
        }
        summary.by_kind = counts
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
            .map(|(kind, &n)| (link::reloc::name(kind as u32), n))
            .collect();

        let mut poisoned = Vec::new();
        if let (Some(ext), Some(local)) = (&btf_ext, &btf) {
            let applied = core::apply(&mut code, ext, local, options.btf.as_deref())?;
            summary.core = applied.count;
            poisoned = applied.poisoned;
        }

        let resolver = ObjectResolver {
            maps: &maps,
            file: &file,
            btf: btf.as_deref(),
        };
        let line_records = line_records(btf_ext.as_ref());
        // One shared name per symbol, however many relocations name it.
        let mut symbol_names: Vec<Option<Arc<str>>> = vec![None; file.symbols.len()];
        let code_slots: usize = code.iter().map(|c| c.insns.len()).sum();
        let limit = link_limit(code_slots);
        let mut linked_slots = 0usize;
        let mut programs = Vec::new();
        for (position, section) in code.iter().enumerate() {
            for (unit_index, unit) in section.units.iter().enumerate() {
                if !unit.entry {
                    continue;
                }
                let linked = link::link(&file, &code, position, unit_index, &resolver)?;
                linked_slots += linked.insns.len();
                if linked_slots > limit {
                    return Err(ElfError::LinkLimit {
                        program: unit.name.clone(),
                        needed: linked_slots,
                        limit,
                        code: code_slots,
                    });
                }
                let lines = line_table(&file, &line_records, &linked.placements);
                let unresolved = poisoned
                    .iter()
                    .filter_map(|p| {
                        linked
                            .placements
                            .iter()
                            .find_map(|&(section, start, len, out)| {
                                (section == p.section && (start..start + len).contains(&p.slot))
                                    .then(|| UnresolvedCore {
                                        slot: out + p.slot - start,
                                        reason: p.reason.clone(),
                                    })
                            })
                    })
                    .collect();
                programs.push(ObjectProgram {
                    name: unit.name.clone(),
                    section: section.name.clone(),
                    kind: section_kind(&section.name),
                    instructions: linked.insns,
                    relocations: linked
                        .relocations
                        .into_iter()
                        .map(|(slot, kind, symbol)| AppliedRelocation {
                            slot,
                            kind,
                            symbol: match symbol_names.get_mut(symbol) {
                                Some(slot) => slot
                                    .get_or_insert_with(|| file.symbols[symbol].name.into())
                                    .clone(),
                                None => "".into(),
                            },
                        })
                        .collect(),
                    kernel_only: linked
                        .kernel_only
                        .into_iter()
                        .map(|(what, name)| KernelOnly { what, name })
                        .collect(),
                    unresolved_core: unresolved,
                    lines,
                    btf: btf.clone(),
                });
            }
        }

        let mut object = Object {
            programs,
            maps,
            globals,
            license,
            kernel_version,
            relocation_summary: summary,
            btf,
        };
        object.apply_map_relocations(&file)?;
        Ok(object)
    }

    /// `.values = { [i] = &x }` in `.maps`: `R_BPF_64_ABS64` relocations
    /// that fill program arrays and maps of maps at load.
    fn apply_map_relocations(&mut self, file: &ElfFile<'_>) -> Result<(), ElfError> {
        let Some(maps_section) = file.section_named(".maps") else {
            return Ok(());
        };
        let Some(rel) = file
            .sections
            .iter()
            .find(|s| s.kind == sh::SHT_REL && s.info as usize == maps_section.index)
        else {
            return Ok(());
        };
        let btf = self.btf.clone();
        for r in file.relocations(rel)? {
            let symbol = file.symbols.get(r.symbol).copied();
            let name = symbol.map_or_else(|| format!("#{}", r.symbol), |s| s.name.to_owned());
            let error = |reason: String| ElfError::Relocation {
                section: ".maps".into(),
                offset: r.offset,
                symbol: name.clone(),
                reason,
            };
            if r.kind != link::reloc::ABS64 {
                return Err(ElfError::UnsupportedRelocation {
                    section: ".maps".into(),
                    offset: r.offset,
                    symbol: name.clone(),
                    kind: r.kind,
                    kind_name: link::reloc::name(r.kind),
                });
            }
            let symbol = symbol.ok_or_else(|| error("symbol index out of range".into()))?;
            let owner = self
                .maps
                .iter()
                .position(|m| {
                    m.section == maps_section.index
                        && m.offset <= r.offset
                        && r.offset < m.offset + m.size
                })
                .ok_or_else(|| error("the relocation is inside no map definition".into()))?;
            let values = btf
                .as_deref()
                .and_then(|btf| {
                    let (_, datasec) = btf.datasec(".maps")?;
                    // By name: clang leaves the offsets for the loader to fill in.
                    let var = datasec
                        .vars
                        .iter()
                        .find(|v| btf.name(v.ty) == self.maps[owner].name)?;
                    maps::values_offset(btf, var.ty)
                })
                .ok_or_else(|| {
                    error(format!(
                        "map {} has no `values` field",
                        self.maps[owner].name
                    ))
                })?;
            let into = r.offset - self.maps[owner].offset;
            let slot = into
                .checked_sub(u64::from(values))
                .filter(|s| s % 8 == 0)
                .map(|s| (s / 8) as u32)
                .ok_or_else(|| error("not on an element of `values`".into()))?;
            let init = if file.section(symbol.section).is_some_and(|s| s.is_code()) {
                SlotInit::Program(symbol.name.to_owned())
            } else {
                let inner = self
                    .maps
                    .iter()
                    .position(|m| m.section == symbol.section && m.offset == symbol.value)
                    .ok_or_else(|| error("names neither a program nor a map".into()))?;
                SlotInit::Map(inner)
            };
            self.maps[owner].initial_slots.push((slot, init));
        }
        Ok(())
    }

    /// The programs, in section order.
    pub fn programs(&self) -> &[ObjectProgram] {
        &self.programs
    }

    /// The program called `name` (function or section name).
    ///
    /// # Errors
    /// [`ElfError::NotFound`].
    pub fn program(&self, name: &str) -> Result<&ObjectProgram, ElfError> {
        self.programs
            .iter()
            .find(|p| p.name == name)
            .or_else(|| self.programs.iter().find(|p| p.section == name))
            .ok_or_else(|| ElfError::NotFound {
                what: "program",
                name: name.to_owned(),
            })
    }

    /// The maps, in the order `lddw` map indices refer to them.
    pub fn maps(&self) -> &[ObjectMap] {
        &self.maps
    }

    /// The global variables of the data sections.
    pub fn globals(&self) -> &[Global] {
        &self.globals
    }

    /// The `license` section's text.
    pub fn license(&self) -> Option<&str> {
        self.license.as_deref()
    }

    /// The `version` section's value.
    pub fn kernel_version(&self) -> Option<u32> {
        self.kernel_version
    }

    /// The relocations the object holds, by type.
    pub fn relocation_summary(&self) -> &RelocationSummary {
        &self.relocation_summary
    }

    /// The object's own type information.
    pub fn btf(&self) -> Option<&Btf> {
        self.btf.as_deref()
    }

    /// Sets the initial value of a global variable before [`Object::load`]
    /// (as a libbpf skeleton sets `const volatile` configuration in
    /// `.rodata` before loading).
    ///
    /// # Errors
    /// [`ElfError::NotFound`], [`ElfError::GlobalSize`].
    pub fn set_global(&mut self, name: &str, bytes: &[u8]) -> Result<(), ElfError> {
        let global = self
            .globals
            .iter()
            .find(|g| g.name == name)
            .ok_or_else(|| ElfError::NotFound {
                what: "global variable",
                name: name.to_owned(),
            })?;
        if bytes.len() != global.size as usize {
            return Err(ElfError::GlobalSize {
                name: name.to_owned(),
                size: global.size as usize,
                given: bytes.len(),
            });
        }
        let map = &mut self.maps[global.map];
        let start = global.offset as usize;
        match &mut map.initial_data {
            Some(data) => data[start..start + bytes.len()].copy_from_slice(bytes),
            // A section without bytes in the file (`.bss`) may be large: keep
            // the write, and apply it once the map exists (within the memory
            // limit) rather than build the whole value here.
            None => map.initial_writes.push((global.offset, bytes.to_vec())),
        }
        Ok(())
    }

    /// Overrides the program type inferred from a program's section.
    ///
    /// # Errors
    /// [`ElfError::NotFound`].
    pub fn set_program_type(
        &mut self,
        program: &str,
        program_type: ProgramType,
    ) -> Result<(), ElfError> {
        let index = self
            .programs
            .iter()
            .position(|p| p.name == program)
            .ok_or_else(|| ElfError::NotFound {
                what: "program",
                name: program.to_owned(),
            })?;
        self.programs[index].kind.program_type = Some(program_type);
        Ok(())
    }
}

/// The most instruction slots the programs of an object with `code_slots`
/// slots of code may have together once linked: 8 copies of all its code
/// plus 32,768. Linking copies each sub-program into every program that
/// calls it (as libbpf does), so a small object whose many programs share
/// one large function could otherwise grow without bound; real objects stay
/// far below this.
pub fn link_limit(code_slots: usize) -> usize {
    code_slots.saturating_mul(8).saturating_add(32_768)
}

/// The `.BTF` section of an ELF file (a kernel image, or an object
/// carrying type information), for [`ParseOptions::btf`].
///
/// # Errors
/// [`ElfError`] for a malformed file, [`ElfError::NotFound`] without a
/// `.BTF` section.
pub fn btf_section(bytes: &[u8]) -> Result<Btf, ElfError> {
    let file = ElfFile::parse_any_machine(bytes)?;
    let section = file
        .section_named(".BTF")
        .ok_or_else(|| ElfError::NotFound {
            what: "section",
            name: ".BTF".into(),
        })?;
    Btf::parse(section.data).map_err(|source| ElfError::Btf {
        section: ".BTF",
        source,
    })
}

/// Checks a relocation's place: inside its section, and on an instruction
/// in code.
fn check_relocation(
    file: &ElfFile<'_>,
    target: &file::Section<'_>,
    in_data: bool,
    r: &file::Relocation,
) -> Result<(), ElfError> {
    let symbol = file.symbols.get(r.symbol);
    let error = |reason: String| ElfError::Relocation {
        section: target.name.to_owned(),
        offset: r.offset,
        symbol: symbol.map_or_else(|| format!("#{}", r.symbol), |s| s.name.to_owned()),
        reason,
    };
    if symbol.is_none() {
        return Err(error(format!("symbol index {} is out of range", r.symbol)));
    }
    let width = match r.kind {
        link::reloc::ABS32 | link::reloc::NODYLD32 => 4,
        link::reloc::NONE => 0,
        _ => 8,
    };
    if r.offset
        .checked_add(width)
        .is_none_or(|end| end > target.size)
    {
        return Err(error(format!(
            "offset is outside the {}-byte section",
            target.size
        )));
    }
    if target.is_code() && r.offset % 8 != 0 {
        return Err(error("offset is not on an instruction".into()));
    }
    if in_data && r.kind != link::reloc::NONE {
        return Err(error(
            "a relocation inside global data (a pointer stored in a variable) needs run-time addresses, which neither the kernel nor bpfbox provides".into(),
        ));
    }
    Ok(())
}

/// Variables of the data sections, from the symbol table.
fn globals(file: &ElfFile<'_>, maps: &[ObjectMap]) -> Vec<Global> {
    let mut globals = Vec::new();
    for symbol in &file.symbols {
        if symbol.kind != goblin::elf::sym::STT_OBJECT || symbol.name.is_empty() {
            continue;
        }
        let Some(map) = maps.iter().position(|m| {
            matches!(m.origin, MapOrigin::Data { .. }) && m.section == symbol.section
        }) else {
            continue;
        };
        let fits = symbol
            .value
            .checked_add(symbol.size)
            .is_some_and(|end| end <= u64::from(maps[map].def.value_size));
        if fits {
            globals.push(Global {
                name: symbol.name.to_owned(),
                map,
                offset: symbol.value as u32,
                size: symbol.size as u32,
            });
        }
    }
    globals
}

struct ObjectResolver<'o, 'f> {
    maps: &'o [ObjectMap],
    file: &'o ElfFile<'f>,
    btf: Option<&'o Btf>,
}

impl Resolver for ObjectResolver<'_, '_> {
    fn data(&self, symbol: &Symbol<'_>, addend: u64) -> Result<Option<DataTarget>, String> {
        let Some(section) = self.file.section(symbol.section) else {
            return Ok(None);
        };
        let offset = symbol.value.checked_add(addend).ok_or("offset overflows")?;
        if let Some(map) = self
            .maps
            .iter()
            .position(|m| matches!(m.origin, MapOrigin::Data { .. }) && m.section == section.index)
        {
            if offset >= u64::from(self.maps[map].def.value_size) {
                return Err(format!(
                    "offset {offset} is past the end of {}",
                    section.name
                ));
            }
            return Ok(Some(DataTarget::Value {
                map,
                offset: offset as u32,
            }));
        }
        if section.name == "maps" || section.name == ".maps" {
            return self
                .maps
                .iter()
                .position(|m| m.section == section.index && m.offset == offset)
                .map(|map| Some(DataTarget::Map(map)))
                .ok_or_else(|| {
                    format!("no map is defined at offset {offset} of {}", section.name)
                });
        }
        Ok(None)
    }

    fn extern_kind(&self, name: &str) -> &'static str {
        let in_datasec = |section: &str| {
            self.btf.is_some_and(|btf| {
                btf.datasec(section).is_some_and(|(_, datasec)| {
                    datasec.vars.iter().any(|v| {
                        matches!(btf.get(v.ty), Ok(Type::Var { .. })) && btf.name(v.ty) == name
                    })
                })
            })
        };
        if in_datasec(".kconfig") {
            ".kconfig extern"
        } else if in_datasec(".ksyms") {
            ".ksyms extern"
        } else {
            "extern"
        }
    }
}

/// Line records by section name, sorted by instruction offset.
fn line_records(ext: Option<&BtfExt>) -> Vec<(&str, Vec<&LineInfo>)> {
    let Some(ext) = ext else {
        return Vec::new();
    };
    ext.line_info
        .iter()
        .map(|info| {
            let mut records: Vec<&LineInfo> = info
                .records
                .iter()
                .filter(|r| r.insn_off % 8 == 0)
                .collect();
            records.sort_by_key(|r| r.insn_off);
            (info.section.as_str(), records)
        })
        .collect()
}

/// Line information for the slots of a linked program.
fn line_table(
    file: &ElfFile<'_>,
    records: &[(&str, Vec<&LineInfo>)],
    placements: &[(usize, usize, usize, usize)],
) -> Vec<(usize, LineInfo)> {
    let mut lines = Vec::new();
    for &(section, start, len, out) in placements {
        let Some(name) = file.section(section).map(|s| s.name) else {
            continue;
        };
        for (_, records) in records.iter().filter(|(n, _)| *n == name) {
            let first = records.partition_point(|r| (r.insn_off / 8) < start as u32);
            for record in &records[first..] {
                let slot = (record.insn_off / 8) as usize;
                if slot >= start + len {
                    break;
                }
                lines.push((out + slot - start, **record));
            }
        }
    }
    lines.sort_by_key(|(slot, _)| *slot);
    lines
}
