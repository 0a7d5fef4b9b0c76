//! ELF objects on the command line: `info`, `disasm` of an object, and
//! choosing the program `run` runs.

use crate::hex::{self, HexBytes};
use crate::{print_stdout, Failure};
use bpfbox::abi::btf::Btf;
use bpfbox::abi::ProgramType;
use bpfbox::elf::{LoadOptions, LoadedObject, Object, ObjectProgram, ParseOptions};
use bpfbox::isa::{disasm, Program};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Whether `bytes` start like an ELF file.
pub fn is_elf(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x7fELF")
}

/// Reads a kernel BTF file: raw BTF (`/sys/kernel/btf/vmlinux`) or an ELF
/// file with a `.BTF` section.
fn read_btf(path: &Path) -> Result<Arc<Btf>, Failure> {
    let bytes = std::fs::read(path).map_err(|e| Failure::load(path, e))?;
    let btf = if is_elf(&bytes) {
        bpfbox::elf::btf_section(&bytes).map_err(|e| Failure::load(path, e))?
    } else {
        Btf::parse(&bytes).map_err(|e| Failure::load(path, e))?
    };
    Ok(Arc::new(btf))
}

/// Reads and links an object.
pub fn parse(path: &Path, btf: Option<&Path>) -> Result<Object, Failure> {
    let options = ParseOptions {
        btf: btf.map(read_btf).transpose()?,
    };
    let bytes = std::fs::read(path).map_err(|e| Failure::load(path, e))?;
    Object::parse_with(&bytes, &options).map_err(|e| Failure::load(path, e))
}

/// `--section` and `--function`: which program of an object.
#[derive(clap::Args, Clone, Default)]
pub struct Selection {
    /// ELF objects: the section of the program to run (needed when the
    /// object has several programs and --function does not say).
    #[arg(long, value_name = "NAME")]
    pub section: Option<String>,
    /// ELF objects: the function of the program, when its section has
    /// several.
    #[arg(long, value_name = "NAME")]
    pub function: Option<String>,
    /// ELF objects: kernel BTF (raw, as /sys/kernel/btf/vmlinux, or an ELF
    /// file with a .BTF section) for CO-RE relocations on kernel types.
    #[arg(long, value_name = "PATH")]
    pub btf: Option<PathBuf>,
    /// ELF objects: sets a global variable before loading (a `const
    /// volatile` in .rodata, say) to the bytes given in hex; repeatable.
    #[arg(long = "global", value_name = "NAME=HEX", value_parser = parse_global)]
    pub globals: Vec<(String, HexBytes)>,
}

fn parse_global(text: &str) -> Result<(String, HexBytes), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| "expected NAME=HEX".to_owned())?;
    Ok((name.to_owned(), hex::parse(value)?))
}

impl Selection {
    /// A usage error when any of the options is given for bytecode or
    /// assembler text, which have no sections.
    pub fn refuse_for_bytecode(&self) -> Result<(), Failure> {
        let given = [
            (self.section.is_some(), "--section"),
            (self.function.is_some(), "--function"),
            (self.btf.is_some(), "--btf"),
            (!self.globals.is_empty(), "--global"),
        ];
        match given.iter().find(|(is, _)| *is) {
            Some((_, option)) => Err(Failure::Usage(format!("{option} needs an ELF object"))),
            None => Ok(()),
        }
    }

    /// The one program the selection names.
    pub fn choose<'o>(
        &self,
        object: &'o Object,
        path: &Path,
    ) -> Result<&'o ObjectProgram, Failure> {
        let candidates: Vec<&ObjectProgram> = object
            .programs()
            .iter()
            .filter(|p| self.section.as_ref().is_none_or(|s| &p.section == s))
            .filter(|p| self.function.as_ref().is_none_or(|f| &p.name == f))
            .collect();
        match candidates[..] {
            [one] => Ok(one),
            [] => Err(Failure::Usage(format!(
                "{}: no program matches{}{} (programs: {})",
                path.display(),
                self.section
                    .as_ref()
                    .map(|s| format!(" --section {s}"))
                    .unwrap_or_default(),
                self.function
                    .as_ref()
                    .map(|f| format!(" --function {f}"))
                    .unwrap_or_default(),
                listing(object)
            ))),
            _ => Err(Failure::Usage(format!(
                "{}: several programs match; choose with --section and --function (programs: {})",
                path.display(),
                listing(object)
            ))),
        }
    }
}

fn listing(object: &Object) -> String {
    let names: Vec<String> = object
        .programs()
        .iter()
        .map(|p| format!("{}/{}", p.section, p.name))
        .collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// A program chosen from an object, loaded with the object's maps.
pub struct Chosen {
    pub loaded: LoadedObject,
    pub name: String,
}

/// Parses, chooses and loads a program of an object.
pub fn load(
    path: &Path,
    selection: &Selection,
    program_type: Option<ProgramType>,
    budget: Option<u64>,
) -> Result<Chosen, Failure> {
    let mut object = parse(path, selection.btf.as_deref())?;
    for (name, value) in &selection.globals {
        object
            .set_global(name, &value.0)
            .map_err(|e| Failure::Usage(e.to_string()))?;
    }
    let chosen = selection.choose(&object, path)?;
    let name = chosen.name.clone();
    let section = chosen.section.clone();
    if let Some(program_type) = program_type {
        object
            .set_program_type(&name, program_type)
            .map_err(|e| Failure::load(path, e))?;
    }
    object
        .program(&name)
        .ok()
        .and_then(|p| p.kind.program_type)
        .ok_or_else(|| {
            Failure::Usage(format!(
                "{}: section `{}` names no program type bpfbox runs; choose one with --type",
                path.display(),
                section
            ))
        })?;
    let options = LoadOptions {
        budget,
        programs: Some(vec![name.clone()]),
        map_options: bpfbox::MapOptions {
            cpus: 1,
            ..bpfbox::MapOptions::default()
        },
        ..LoadOptions::default()
    };
    let loaded = object.load(&options).map_err(|e| Failure::load(path, e))?;
    Ok(Chosen { loaded, name })
}

/// `bpfbox info`: programs, maps, relocations, license.
pub fn info(path: &Path, btf: Option<&Path>) -> Result<(), Failure> {
    let object = parse(path, btf)?;
    let mut out = String::new();
    out += &format!("license: {}\n", object.license().unwrap_or("(none)"));
    if let Some(version) = object.kernel_version() {
        out += &format!("version: {version:#x}\n");
    }
    out += &format!("programs: {}\n", object.programs().len());
    for program in object.programs() {
        let program_type = match program.kind.program_type {
            Some(t) if t.kernel_name() == program.kind.kernel_type => t.name().to_owned(),
            Some(t) => format!("{} (kernel type {})", t.name(), program.kind.kernel_type),
            None => format!("{} (not run by bpfbox)", program.kind.kernel_type),
        };
        out += &format!(
            "  {}  section {}  type {}  {} instructions",
            program.name,
            program.section,
            program_type,
            program.instructions.len()
        );
        for used in &program.kernel_only {
            out += &format!("  uses {} {}", used.what, used.name);
        }
        out.push('\n');
        for unresolved in &program.unresolved_core {
            out += &format!(
                "    instruction {} poisoned: {}\n",
                unresolved.slot, unresolved.reason
            );
        }
    }
    out += &format!("maps: {}\n", object.maps().len());
    for map in object.maps() {
        let def = &map.def;
        out += &format!(
            "  {}  {}  key {}  value {}  max_entries {}  flags {:#x}",
            map.name, def.map_type, def.key_size, def.value_size, def.max_entries, def.flags
        );
        match &map.origin {
            bpfbox::elf::MapOrigin::Legacy => out += "  (maps section)",
            bpfbox::elf::MapOrigin::Btf => out += "  (.maps)",
            bpfbox::elf::MapOrigin::Data { read_only } => {
                out += if *read_only {
                    "  (global data, read-only)"
                } else {
                    "  (global data)"
                }
            }
        }
        if let Some(inner) = &map.inner {
            out += &format!(
                "  inner {} key {} value {} max_entries {}",
                inner.map_type, inner.key_size, inner.value_size, inner.max_entries
            );
        }
        if let Some(pinning) = map.pinning {
            out += &format!("  pinning {pinning}");
        }
        out.push('\n');
    }
    let summary = object.relocation_summary();
    let mut kinds: Vec<String> = summary
        .by_kind
        .iter()
        .map(|(kind, n)| format!("{kind} {n}"))
        .collect();
    kinds.push(format!("CO-RE {}", summary.core));
    out += &format!("relocations: {}\n", kinds.join(", "));
    print_stdout(&out)
}

/// `bpfbox disasm OBJ.o`: each program with its relocations, in LLVM
/// syntax (or the assembler dialect).
pub fn disasm(path: &Path, selection: &Selection, syntax: disasm::Syntax) -> Result<(), Failure> {
    let object = parse(path, selection.btf.as_deref())?;
    let programs: Vec<&ObjectProgram> =
        if selection.section.is_some() || selection.function.is_some() {
            vec![selection.choose(&object, path)?]
        } else {
            object.programs().iter().collect()
        };
    let mut out = String::new();
    for (n, program) in programs.iter().enumerate() {
        if n > 0 {
            out.push('\n');
        }
        out += &format!("{}/{}:\n", program.section, program.name);
        let decoded = Program::from_raw(program.instructions.clone());
        let mut relocations = program.relocations.iter().peekable();
        match decoded {
            Ok(decoded) => {
                for located in decoded.instructions() {
                    out += &format!(
                        "{:>5}: {}\n",
                        located.pc,
                        disasm::format_instruction(&located.insn, located.pc, syntax)
                    );
                    while let Some(r) = relocations.next_if(|r| r.slot == located.pc) {
                        out += &format!("       {}  {}\n", r.kind, r.symbol);
                    }
                }
            }
            Err(e) => out += &format!("  (cannot decode: {e})\n"),
        }
    }
    print_stdout(&out)
}
