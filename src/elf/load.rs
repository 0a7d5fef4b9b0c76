//! Loading an object: its maps created within one memory limit, one [`Vm`]
//! per program, program arrays and maps of maps filled as the object says.

use super::{ElfError, MapOrigin, Object, ObjectProgram, SlotInit};
use crate::helpers::{HelperRegistry, Host, SystemHost};
use crate::maps::{Map, MapOptions, DEFAULT_MEMORY_LIMIT};
use crate::{Config, Vm, DEFAULT_BUDGET};
use bpfbox_abi::maps::{update, MapType};
use bpfbox_abi::ProgramType;
use bpfbox_isa::Program;
use std::sync::Arc;

/// How to load an object.
#[derive(Clone)]
pub struct LoadOptions {
    /// How maps are created (CPU slots; the per-map limit is
    /// `map_memory_limit` too).
    pub map_options: MapOptions,
    /// Most bytes all of the object's maps may take together. An object
    /// whose definitions would need more is refused before any map is
    /// created, whatever its `max_entries` say. Default 256 MiB.
    pub map_memory_limit: usize,
    /// Helpers, for every program. Default [`HelperRegistry::linux`].
    pub helpers: HelperRegistry,
    /// Clocks and task identity. Default [`SystemHost`].
    pub host: Arc<dyn Host>,
    /// Instruction budget per run. Default [`DEFAULT_BUDGET`].
    pub budget: Option<u64>,
    /// Which programs to load (by name); `None` loads all. Programs that
    /// the selected ones tail-call through a statically initialised program
    /// array are loaded too.
    pub programs: Option<Vec<String>>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            map_options: MapOptions::default(),
            map_memory_limit: DEFAULT_MEMORY_LIMIT,
            helpers: HelperRegistry::linux(),
            host: Arc::new(SystemHost),
            budget: Some(DEFAULT_BUDGET),
            programs: None,
        }
    }
}

impl std::fmt::Debug for LoadOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadOptions")
            .field("map_options", &self.map_options)
            .field("map_memory_limit", &self.map_memory_limit)
            .field("budget", &self.budget)
            .field("programs", &self.programs)
            .finish_non_exhaustive()
    }
}

/// An object with its maps created and its programs loaded.
pub struct LoadedObject {
    maps: Vec<(String, Map)>,
    programs: Vec<(String, Arc<Vm>)>,
    globals: Vec<super::Global>,
}

impl std::fmt::Debug for LoadedObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedObject")
            .field(
                "maps",
                &self.maps.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field(
                "programs",
                &self.programs.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Object {
    /// Creates the maps and loads the programs.
    ///
    /// # Errors
    /// [`ElfError::MapMemory`] when the maps would take more than
    /// `map_memory_limit`; [`ElfError::Map`], [`ElfError::ProgramType`],
    /// [`ElfError::KernelOnly`], [`ElfError::Program`] (with the failing
    /// instruction's source line when the object has line information).
    pub fn load(&self, options: &LoadOptions) -> Result<LoadedObject, ElfError> {
        let mut map_options = options.map_options.clone();
        map_options.memory_limit = map_options.memory_limit.min(options.map_memory_limit);
        let defs: Vec<_> = self
            .maps
            .iter()
            .map(|m| {
                let mut def = m.def;
                if def.map_type == MapType::PerfEventArray && def.max_entries == 0 {
                    def.max_entries = u32::try_from(map_options.cpus).unwrap_or(u32::MAX);
                }
                def
            })
            .collect();
        let mut needed = 0usize;
        for (map, def) in self.maps.iter().zip(&defs) {
            let bytes = Map::memory_needed(def, &map_options).map_err(|source| ElfError::Map {
                name: map.name.clone(),
                source,
            })?;
            needed = needed.saturating_add(bytes);
        }
        if needed > options.map_memory_limit {
            return Err(ElfError::MapMemory {
                needed,
                limit: options.map_memory_limit,
            });
        }

        let mut maps = Vec::with_capacity(self.maps.len());
        for (object_map, def) in self.maps.iter().zip(&defs) {
            let failed = |source| ElfError::Map {
                name: object_map.name.clone(),
                source,
            };
            let map = match object_map.inner {
                Some(inner) => {
                    let template =
                        Map::create(&format!("{}.inner", object_map.name), inner, &map_options)
                            .map_err(failed)?;
                    Map::create_of_maps(&object_map.name, *def, &template, &map_options)
                        .map_err(failed)?
                }
                None => Map::create(&object_map.name, *def, &map_options).map_err(failed)?,
            };
            if let Some(data) = &object_map.initial_data {
                map.update(&0u32.to_le_bytes(), data, update::ANY)
                    .map_err(failed)?;
            }
            if !object_map.initial_writes.is_empty() {
                let key = 0u32.to_le_bytes();
                let mut value = map.lookup(&key).map_err(failed)?.unwrap_or_default();
                for (offset, bytes) in &object_map.initial_writes {
                    let start = *offset as usize;
                    if let Some(target) = value.get_mut(start..start + bytes.len()) {
                        target.copy_from_slice(bytes);
                    }
                }
                map.update(&key, &value, update::ANY).map_err(failed)?;
            }
            if matches!(object_map.origin, MapOrigin::Data { read_only: true }) {
                map.freeze();
            }
            maps.push(map);
        }
        for (object_map, map) in self.maps.iter().zip(&maps) {
            for (slot, init) in &object_map.initial_slots {
                if let SlotInit::Map(inner) = init {
                    map.set_inner(&slot.to_le_bytes(), &maps[*inner], update::ANY)
                        .map_err(|source| ElfError::Map {
                            name: object_map.name.clone(),
                            source,
                        })?;
                }
            }
        }

        let selected = self.selection(options)?;
        let mut programs = Vec::with_capacity(selected.len());
        for program in selected {
            let vm = self.load_program(program, &maps, options)?;
            programs.push((program.name.clone(), Arc::new(vm)));
        }
        for (object_map, map) in self.maps.iter().zip(&maps) {
            for (slot, init) in &object_map.initial_slots {
                if let SlotInit::Program(name) = init {
                    let (_, vm) = programs.iter().find(|(n, _)| n == name).ok_or_else(|| {
                        ElfError::NotFound {
                            what: "program",
                            name: name.clone(),
                        }
                    })?;
                    map.set_program(*slot, vm.clone())
                        .map_err(|source| ElfError::Map {
                            name: object_map.name.clone(),
                            source,
                        })?;
                }
            }
        }
        Ok(LoadedObject {
            maps: self.maps.iter().map(|m| m.name.clone()).zip(maps).collect(),
            programs,
            globals: self.globals.clone(),
        })
    }

    /// The programs to load: those asked for, plus the targets of
    /// statically initialised program arrays, transitively.
    fn selection(&self, options: &LoadOptions) -> Result<Vec<&ObjectProgram>, ElfError> {
        let Some(names) = &options.programs else {
            return Ok(self.programs.iter().collect());
        };
        let mut selected: Vec<&ObjectProgram> = Vec::new();
        for name in names {
            let program = self.program(name)?;
            if !selected.iter().any(|p| std::ptr::eq(*p, program)) {
                selected.push(program);
            }
        }
        // Every program array slot the object fills: load its program.
        for map in &self.maps {
            for (_, init) in &map.initial_slots {
                if let SlotInit::Program(name) = init {
                    let program = self.program(name)?;
                    if !selected.iter().any(|p| std::ptr::eq(*p, program)) {
                        selected.push(program);
                    }
                }
            }
        }
        Ok(selected)
    }

    fn load_program(
        &self,
        program: &ObjectProgram,
        maps: &[Map],
        options: &LoadOptions,
    ) -> Result<Vm, ElfError> {
        if let Some(used) = program.kernel_only.first() {
            return Err(ElfError::KernelOnly {
                program: program.name.clone(),
                what: used.what,
                name: used.name.clone(),
            });
        }
        let program_type: ProgramType =
            program
                .kind
                .program_type
                .ok_or_else(|| ElfError::ProgramType {
                    program: program.name.clone(),
                    section: program.section.clone(),
                })?;
        let failed = |source: crate::LoadError| ElfError::Program {
            program: program.name.clone(),
            line: source
                .pc()
                .and_then(|pc| program.source_line(pc))
                .map(Box::new),
            source,
        };
        let code = Program::from_raw(program.instructions.clone()).map_err(|e| failed(e.into()))?;
        let config = Config {
            helpers: options.helpers.clone(),
            budget: options.budget,
            maps: maps.to_vec(),
            host: options.host.clone(),
            program_type,
        };
        Vm::new(code, config).map_err(failed)
    }
}

impl LoadedObject {
    /// The program called `name`.
    ///
    /// # Errors
    /// [`ElfError::NotFound`] (also for a program not loaded).
    pub fn program(&self, name: &str) -> Result<&Arc<Vm>, ElfError> {
        self.programs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, vm)| vm)
            .ok_or_else(|| ElfError::NotFound {
                what: "program",
                name: name.to_owned(),
            })
    }

    /// The loaded programs, by name.
    pub fn programs(&self) -> impl Iterator<Item = (&str, &Arc<Vm>)> {
        self.programs.iter().map(|(n, vm)| (n.as_str(), vm))
    }

    /// The map called `name` (data sections by section name: `.bss`).
    ///
    /// # Errors
    /// [`ElfError::NotFound`].
    pub fn map(&self, name: &str) -> Result<&Map, ElfError> {
        self.maps
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, map)| map)
            .ok_or_else(|| ElfError::NotFound {
                what: "map",
                name: name.to_owned(),
            })
    }

    /// The maps, in the object's order.
    pub fn maps(&self) -> impl Iterator<Item = (&str, &Map)> {
        self.maps.iter().map(|(n, map)| (n.as_str(), map))
    }

    fn global(&self, name: &str) -> Result<(&super::Global, &Map), ElfError> {
        let global = self
            .globals
            .iter()
            .find(|g| g.name == name)
            .ok_or_else(|| ElfError::NotFound {
                what: "global variable",
                name: name.to_owned(),
            })?;
        Ok((global, &self.maps[global.map].1))
    }

    /// Reads a global variable (for instance one a program wrote in `.bss`).
    ///
    /// # Errors
    /// [`ElfError::NotFound`], [`ElfError::Map`].
    pub fn read_global(&self, name: &str) -> Result<Vec<u8>, ElfError> {
        let (global, map) = self.global(name)?;
        let failed = |source| ElfError::Map {
            name: map.name().to_owned(),
            source,
        };
        let value = map
            .lookup(&0u32.to_le_bytes())
            .map_err(failed)?
            .unwrap_or_default();
        let start = global.offset as usize;
        Ok(value
            .get(start..start + global.size as usize)
            .unwrap_or_default()
            .to_vec())
    }

    /// Writes a global variable of a writable data section.
    ///
    /// # Errors
    /// [`ElfError::NotFound`], [`ElfError::GlobalSize`], [`ElfError::Map`]
    /// (a frozen `.rodata` refuses).
    pub fn write_global(&self, name: &str, bytes: &[u8]) -> Result<(), ElfError> {
        let (global, map) = self.global(name)?;
        if bytes.len() != global.size as usize {
            return Err(ElfError::GlobalSize {
                name: name.to_owned(),
                size: global.size as usize,
                given: bytes.len(),
            });
        }
        let failed = |source| ElfError::Map {
            name: map.name().to_owned(),
            source,
        };
        let key = 0u32.to_le_bytes();
        let mut value = map.lookup(&key).map_err(failed)?.unwrap_or_default();
        let start = global.offset as usize;
        value[start..start + bytes.len()].copy_from_slice(bytes);
        map.update(&key, &value, update::ANY).map_err(failed)
    }
}
