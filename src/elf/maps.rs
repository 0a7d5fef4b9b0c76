//! Map definitions in an object: legacy `maps` records, BTF-defined `.maps`
//! and the array maps that back global data sections.

use super::error::ElfError;
use super::file::{ElfFile, Section, Symbol};
use crate::abi::btf::{Btf, Type, TypeId};
use bpfbox_abi::maps::{flags, MapDef, MapType};

/// Where a map of an object comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MapOrigin {
    /// A `struct bpf_map_def` record in the `maps` section.
    Legacy,
    /// A BTF-defined map in `.maps`.
    Btf,
    /// A global data section (`.data`, `.rodata`, `.bss`, `.rodata.str1.1`,
    /// `.data.custom`, ...), backed by an array of one element whose value
    /// is the section.
    Data {
        /// Whether programs may only read it (`.rodata*`): created with
        /// `BPF_F_RDONLY_PROG` and frozen after its contents are written.
        read_only: bool,
    },
}

/// What a slot of a map is initialised with (`.values = { [i] = &x }`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SlotInit {
    /// A program array slot: the program of that name.
    Program(String),
    /// A map-of-maps slot: the object's map at that index.
    Map(usize),
}

/// A map as the object defines it, before it is created.
#[derive(Clone, Debug)]
pub struct ObjectMap {
    /// The map's name: its symbol, or the data section's name.
    pub name: String,
    /// The definition. For `PERF_EVENT_ARRAY` a `max_entries` of 0 means one
    /// slot per CPU, filled in at load as libbpf does.
    pub def: MapDef,
    /// Where it comes from.
    pub origin: MapOrigin,
    /// For maps of maps: the inner map's definition (the template).
    pub inner: Option<MapDef>,
    /// The value's initial bytes (data sections: the section; `.bss`:
    /// zeroes are implied and this is `None`).
    pub initial_data: Option<Vec<u8>>,
    /// Writes to the value made before load ([`super::Object::set_global`]
    /// on a section without file bytes): (offset, bytes).
    pub initial_writes: Vec<(u32, Vec<u8>)>,
    /// Slots filled at load (`.values` of BTF-defined maps).
    pub initial_slots: Vec<(u32, SlotInit)>,
    /// The `pinning` attribute of a BTF map (accepted and reported; bpfbox
    /// has no BPF filesystem to pin to).
    pub pinning: Option<u32>,
    /// The key and value types' names from BTF, for display.
    pub key_type: Option<String>,
    /// See `key_type`.
    pub value_type: Option<String>,
    /// Offset of a `struct bpf_spin_lock` in the value, from BTF.
    pub spin_lock_offset: Option<u32>,
    /// The section that defines it, and the offset of its definition there.
    pub(crate) section: usize,
    pub(crate) offset: u64,
    /// Byte size of its definition in that section.
    pub(crate) size: u64,
}

impl ObjectMap {
    fn new(
        name: &str,
        def: MapDef,
        origin: MapOrigin,
        section: usize,
        offset: u64,
        size: u64,
    ) -> Self {
        ObjectMap {
            name: name.to_owned(),
            def,
            origin,
            inner: None,
            initial_data: None,
            initial_writes: Vec::new(),
            initial_slots: Vec::new(),
            pinning: None,
            key_type: None,
            value_type: None,
            spin_lock_offset: None,
            section,
            offset,
            size,
        }
    }
}

fn map_type(raw: u32, name: &str) -> Result<MapType, ElfError> {
    MapType::from_raw(raw).ok_or_else(|| ElfError::MapDefinition {
        name: name.to_owned(),
        reason: format!("unknown map type {raw}"),
    })
}

fn u32_at(data: &[u8], offset: usize) -> u32 {
    // Callers read only inside `data`; a short record reads zeroes past its
    // end, as libbpf treats fields a smaller record lacks.
    let mut word = [0u8; 4];
    for (i, byte) in word.iter_mut().enumerate() {
        *byte = data.get(offset + i).copied().unwrap_or(0);
    }
    u32::from_le_bytes(word)
}

/// The legacy `maps` section: one `struct bpf_map_def` per symbol, all of
/// the same size (the section's size over the number of symbols).
/// Fields: type, key_size, value_size, max_entries, map_flags, then
/// inner_map_idx and numa_node in the longer records some loaders used.
pub(crate) fn legacy_maps(
    file: &ElfFile<'_>,
    section: &Section<'_>,
) -> Result<Vec<ObjectMap>, ElfError> {
    let mut symbols: Vec<&Symbol<'_>> = file
        .symbols
        .iter()
        .filter(|s| s.section == section.index && !s.is_section() && !s.name.is_empty())
        .collect();
    if symbols.is_empty() {
        return Ok(Vec::new());
    }
    symbols.sort_by_key(|s| s.value);
    let record = section.data.len() / symbols.len();
    if record < 16 || record * symbols.len() != section.data.len() || record % 4 != 0 {
        return Err(ElfError::MapDefinition {
            name: "maps".into(),
            reason: format!(
                "section of {} bytes does not hold {} records of a struct bpf_map_def",
                section.data.len(),
                symbols.len()
            ),
        });
    }
    let mut maps = Vec::with_capacity(symbols.len());
    for symbol in &symbols {
        let offset = symbol.value;
        if offset % record as u64 != 0 || offset >= section.data.len() as u64 {
            return Err(ElfError::MapDefinition {
                name: symbol.name.into(),
                reason: format!("definition at offset {offset} is not on a {record}-byte record"),
            });
        }
        let data = &section.data[offset as usize..offset as usize + record];
        let def = MapDef {
            map_type: map_type(u32_at(data, 0), symbol.name)?,
            key_size: u32_at(data, 4),
            value_size: u32_at(data, 8),
            max_entries: u32_at(data, 12),
            flags: u32_at(data, 16),
        };
        let mut map = ObjectMap::new(
            symbol.name,
            def,
            MapOrigin::Legacy,
            section.index,
            offset,
            record as u64,
        );
        if matches!(def.map_type, MapType::ArrayOfMaps | MapType::HashOfMaps) {
            // inner_map_idx: the index of the template among these maps.
            if record < 24 {
                return Err(ElfError::MapDefinition {
                    name: symbol.name.into(),
                    reason: "a map of maps needs inner_map_idx in its record".into(),
                });
            }
            let inner = u32_at(data, 20) as usize;
            let template = symbols.get(inner).ok_or_else(|| ElfError::MapDefinition {
                name: symbol.name.into(),
                reason: format!("inner_map_idx {inner} names no map"),
            })?;
            let at = template.value as usize;
            let bytes = section.data.get(at..at + record).unwrap_or(&[]);
            map.inner = Some(MapDef {
                map_type: map_type(u32_at(bytes, 0), template.name)?,
                key_size: u32_at(bytes, 4),
                value_size: u32_at(bytes, 8),
                max_entries: u32_at(bytes, 12),
                flags: u32_at(bytes, 16),
            });
        }
        maps.push(map);
    }
    Ok(maps)
}

/// Whether a section holds global data a program may address.
pub(crate) fn is_data_section(section: &Section<'_>) -> bool {
    use goblin::elf::section_header as sh;
    let alloc = section.flags & u64::from(sh::SHF_ALLOC) != 0;
    let named = [".data", ".rodata", ".bss"].iter().any(|prefix| {
        section
            .name
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
    });
    alloc
        && named
        && matches!(section.kind, sh::SHT_PROGBITS | sh::SHT_NOBITS)
        && !section.is_code()
}

/// The array map of one element backing a data section. Like libbpf, a
/// section holding a non-static variable is also `BPF_F_MMAPABLE`.
pub(crate) fn data_map(
    file: &ElfFile<'_>,
    section: &Section<'_>,
) -> Result<Option<ObjectMap>, ElfError> {
    if section.size == 0 {
        return Ok(None);
    }
    let value_size = u32::try_from(section.size).map_err(|_| ElfError::MapDefinition {
        name: section.name.into(),
        reason: format!("{} bytes of global data is too large", section.size),
    })?;
    let read_only = section.name.starts_with(".rodata");
    let def = MapDef {
        map_type: MapType::Array,
        key_size: 4,
        value_size,
        max_entries: 1,
        flags: if read_only { flags::RDONLY_PROG } else { 0 },
    };
    let mut def = def;
    let has_global = file.symbols.iter().any(|s| {
        s.section == section.index && s.kind == goblin::elf::sym::STT_OBJECT && s.is_global()
    });
    if has_global {
        def.flags |= flags::MMAPABLE;
    }
    let mut map = ObjectMap::new(
        section.name,
        def,
        MapOrigin::Data { read_only },
        section.index,
        0,
        section.size,
    );
    if !section.data.is_empty() {
        map.initial_data = Some(section.data.to_vec());
    }
    Ok(Some(map))
}

/// Reads `__uint(name, n)`: a pointer to an array of `n` elements.
fn btf_uint(btf: &Btf, ty: TypeId) -> Option<u32> {
    let ty = btf.skip_modifiers(ty).ok()?;
    let Ok(Type::Ptr { target }) = btf.get(ty) else {
        return None;
    };
    let target = btf.skip_modifiers(*target).ok()?;
    match btf.get(target) {
        Ok(Type::Array(array)) => Some(array.len),
        _ => None,
    }
}

/// Reads `__type(name, T)`: a pointer to `T`.
fn btf_pointee(btf: &Btf, ty: TypeId) -> Option<TypeId> {
    let ty = btf.skip_modifiers(ty).ok()?;
    match btf.get(ty) {
        Ok(Type::Ptr { target }) => Some(*target),
        _ => None,
    }
}

/// A map definition struct read from BTF.
struct BtfMapDef {
    def: MapDef,
    key_type: Option<TypeId>,
    value_type: Option<TypeId>,
    pinning: Option<u32>,
    /// `values`: the element type pointed to, and the member's byte offset.
    values: Option<(TypeId, u32)>,
}

fn btf_map_def(btf: &Btf, name: &str, ty: TypeId) -> Result<BtfMapDef, ElfError> {
    let bad = |reason: String| ElfError::MapDefinition {
        name: name.to_owned(),
        reason,
    };
    let ty = btf.skip_modifiers(ty).map_err(|e| bad(e.to_string()))?;
    let Ok(Type::Struct(composite)) = btf.get(ty) else {
        return Err(bad(format!(
            "definition is {}, not a struct",
            btf.display(ty)
        )));
    };
    let mut raw_type = None;
    let mut def = MapDef {
        // Set from `type` below; every definition must have one.
        map_type: MapType::Array,
        key_size: 0,
        value_size: 0,
        max_entries: 0,
        flags: 0,
    };
    let mut out = BtfMapDef {
        def,
        key_type: None,
        value_type: None,
        pinning: None,
        values: None,
    };
    for member in &composite.members {
        let field = btf.str_at(member.name_off).unwrap_or("");
        let uint = || {
            btf_uint(btf, member.ty)
                .ok_or_else(|| bad(format!("field `{field}` is not declared with __uint")))
        };
        match field {
            "type" => raw_type = Some(uint()?),
            "max_entries" => def.max_entries = uint()?,
            "map_flags" => def.flags = uint()?,
            "key_size" => def.key_size = uint()?,
            "value_size" => def.value_size = uint()?,
            "numa_node" | "map_extra" => {
                uint()?;
            }
            "pinning" => out.pinning = Some(uint()?),
            "key" | "value" => {
                let pointee = btf_pointee(btf, member.ty)
                    .ok_or_else(|| bad(format!("field `{field}` is not declared with __type")))?;
                let size = btf
                    .size_of(pointee)
                    .map_err(|e| bad(format!("{field}: {e}")))?;
                if field == "key" {
                    def.key_size = size;
                    out.key_type = Some(pointee);
                } else {
                    def.value_size = size;
                    out.value_type = Some(pointee);
                }
            }
            "values" => {
                // `__array(values, T)`: an array of pointers to T.
                let array = btf
                    .skip_modifiers(member.ty)
                    .map_err(|e| bad(e.to_string()))?;
                let Ok(Type::Array(array)) = btf.get(array) else {
                    return Err(bad("field `values` is not declared with __array".into()));
                };
                let element = btf_pointee(btf, array.elem)
                    .ok_or_else(|| bad("`values` elements are not pointers".into()))?;
                out.values = Some((element, member.bit_offset / 8));
            }
            other => return Err(bad(format!("unknown field `{other}` in the definition"))),
        }
    }
    let raw_type = raw_type.ok_or_else(|| bad("no `type` field".into()))?;
    def.map_type = map_type(raw_type, name)?;
    out.def = def;
    Ok(out)
}

/// The BTF-defined maps of `.maps`: one per variable of its `DATASEC`.
pub(crate) fn btf_maps(
    file: &ElfFile<'_>,
    section: &Section<'_>,
    btf: Option<&Btf>,
) -> Result<Vec<ObjectMap>, ElfError> {
    let btf = btf.ok_or_else(|| ElfError::MapDefinition {
        name: ".maps".into(),
        reason: "BTF-defined maps need a .BTF section".into(),
    })?;
    let Some((_, datasec)) = btf.datasec(".maps") else {
        return Err(ElfError::MapDefinition {
            name: ".maps".into(),
            reason: "the .BTF section has no DATASEC for .maps".into(),
        });
    };
    let mut maps = Vec::with_capacity(datasec.vars.len());
    for var in &datasec.vars {
        let Ok(Type::Var {
            name_off, target, ..
        }) = btf.get(var.ty)
        else {
            return Err(ElfError::MapDefinition {
                name: ".maps".into(),
                reason: format!("DATASEC entry {} is not a variable", var.ty),
            });
        };
        let name = btf.str_at(*name_off).unwrap_or("");
        let parsed = btf_map_def(btf, name, *target)?;
        let mut def = parsed.def;
        let mut map = ObjectMap::new(
            name,
            def,
            MapOrigin::Btf,
            section.index,
            var.offset.into(),
            var.size.into(),
        );
        // The variable's symbol should agree with BTF about where it is.
        if let Some(symbol) = file
            .symbols
            .iter()
            .find(|s| s.section == section.index && s.name == name)
        {
            map.offset = symbol.value;
        }
        map.pinning = parsed.pinning;
        map.key_type = parsed.key_type.map(|t| btf.display(t));
        map.value_type = parsed.value_type.map(|t| btf.display(t));
        map.spin_lock_offset = parsed.value_type.and_then(|t| spin_lock_offset(btf, t));
        if let Some((element, _)) = parsed.values {
            if matches!(def.map_type, MapType::ArrayOfMaps | MapType::HashOfMaps) {
                let inner = btf_map_def(btf, &format!("{name} (inner)"), element)?;
                map.inner = Some(inner.def);
                if def.value_size == 0 {
                    def.value_size = 4;
                }
            }
        }
        if matches!(
            def.map_type,
            MapType::ProgArray
                | MapType::ArrayOfMaps
                | MapType::HashOfMaps
                | MapType::PerfEventArray
        ) {
            if def.key_size == 0 {
                def.key_size = 4;
            }
            if def.value_size == 0 {
                def.value_size = 4;
            }
        }
        map.def = def;
        maps.push(map);
    }
    Ok(maps)
}

/// The byte offset of a top-level `struct bpf_spin_lock` member.
fn spin_lock_offset(btf: &Btf, value: TypeId) -> Option<u32> {
    let value = btf.skip_modifiers(value).ok()?;
    let Ok(Type::Struct(composite)) = btf.get(value) else {
        return None;
    };
    composite.members.iter().find_map(|member| {
        let ty = btf.skip_modifiers(member.ty).ok()?;
        match btf.get(ty) {
            Ok(Type::Struct(_)) if btf.name(ty) == "bpf_spin_lock" => Some(member.bit_offset / 8),
            _ => None,
        }
    })
}

/// The byte offset of `values` in a BTF map definition, for `.maps`
/// relocations that initialise slots.
pub(crate) fn values_offset(btf: &Btf, datasec_var: TypeId) -> Option<u32> {
    let Ok(Type::Var { target, .. }) = btf.get(datasec_var) else {
        return None;
    };
    let name = btf.name(datasec_var).to_owned();
    btf_map_def(btf, &name, *target)
        .ok()?
        .values
        .map(|(_, offset)| offset)
}
