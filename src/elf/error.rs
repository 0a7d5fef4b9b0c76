//! What can go wrong reading or loading an object. Every variant names the
//! place: section, byte offset, symbol, program or map.

use crate::abi::btf::{core::CoreError, BtfError};
use crate::elf::SourceLine;
use crate::maps::MapError;
use crate::LoadError;
use thiserror::Error;

/// An object that cannot be read or loaded.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ElfError {
    /// The ELF header or a table it points to is malformed or not an eBPF
    /// relocatable object.
    #[error("ELF header: {0}")]
    Header(String),
    /// A section index (in the header or a section's link) is out of range.
    #[error("{what}: section index {index} is out of range")]
    SectionIndex {
        /// Which index.
        what: &'static str,
        /// The index.
        index: usize,
    },
    /// A section's name is not in the section-name table.
    #[error("section {section}: name offset {offset} is outside the name table")]
    Name {
        /// Section index.
        section: usize,
        /// The offset.
        offset: u64,
    },
    /// A symbol's name is not in the symbol-name table.
    #[error("symbol {symbol}: name offset {offset} is outside the name table")]
    SymbolName {
        /// Symbol index.
        symbol: usize,
        /// The offset.
        offset: u64,
    },
    /// A section's bytes run past the end of the file.
    #[error("section {section}: {size} bytes at offset {offset} run past the end of the {file_size}-byte file")]
    SectionBounds {
        /// Section name.
        section: String,
        /// File offset.
        offset: u64,
        /// Size.
        size: u64,
        /// The file's size.
        file_size: usize,
    },
    /// Two sections share bytes of the file.
    #[error("sections {first} and {second} overlap")]
    Overlap {
        /// One section.
        first: String,
        /// The other.
        second: String,
    },
    /// A relocation section cannot be read.
    #[error("relocation section {section}: {reason}")]
    Relocations {
        /// Section name.
        section: String,
        /// Why.
        reason: String,
    },
    /// A relocation cannot be applied where it is.
    #[error("section {section}, offset {offset:#x}: relocation against `{symbol}`: {reason}")]
    Relocation {
        /// The section it applies to.
        section: String,
        /// Byte offset in that section.
        offset: u64,
        /// The symbol's name.
        symbol: String,
        /// Why.
        reason: String,
    },
    /// A relocation type bpfbox does not apply there.
    #[error("section {section}, offset {offset:#x}: unsupported relocation type {kind} ({kind_name}) against `{symbol}`")]
    UnsupportedRelocation {
        /// The section it applies to.
        section: String,
        /// Byte offset in that section.
        offset: u64,
        /// The symbol's name.
        symbol: String,
        /// `R_BPF_*` number.
        kind: u32,
        /// Its name.
        kind_name: &'static str,
    },
    /// Code that cannot be linked: a function symbol outside its section, a
    /// jump out of its function, a call to no function.
    #[error("section {section}, offset {offset:#x}: {reason}")]
    Code {
        /// The code section.
        section: String,
        /// Byte offset in it.
        offset: u64,
        /// Why.
        reason: String,
    },
    /// A program uses something only the kernel has.
    #[error("program {program}: uses {what} `{name}`, which only the Linux kernel provides")]
    KernelOnly {
        /// The program.
        program: String,
        /// `kfunc`, `.kconfig extern`, `.ksyms extern`.
        what: &'static str,
        /// The symbol.
        name: String,
    },
    /// A map definition is malformed.
    #[error("map {name}: {reason}")]
    MapDefinition {
        /// The map's name.
        name: String,
        /// Why.
        reason: String,
    },
    /// The `.BTF` or `.BTF.ext` section is malformed.
    #[error("section {section}: {source}")]
    Btf {
        /// `.BTF` or `.BTF.ext`.
        section: &'static str,
        /// The error.
        source: BtfError,
    },
    /// A CO-RE relocation cannot be resolved.
    #[error("section {section}, instruction {insn}: CO-RE relocation: {source}")]
    Core {
        /// The code section.
        section: String,
        /// Instruction index in the section.
        insn: usize,
        /// The error, naming the type and field.
        source: Box<CoreError>,
    },
    /// A CO-RE relocation resolved, but the instruction it names cannot take
    /// the value.
    #[error("section {section}, instruction {insn}: CO-RE relocation: {reason}")]
    CorePatch {
        /// The code section.
        section: String,
        /// Instruction index in the section.
        insn: usize,
        /// Why.
        reason: String,
    },
    /// Linking would copy sub-programs into programs beyond the limit
    /// ([`crate::elf::link_limit`]): an object whose programs share a large
    /// sub-program many times over.
    #[error("linking program {program} would bring the object's programs to {needed} instructions, over the limit of {limit} for its {code} instructions of code")]
    LinkLimit {
        /// The program being linked when the limit was crossed.
        program: String,
        /// Instruction slots all programs would have.
        needed: usize,
        /// The limit.
        limit: usize,
        /// Instruction slots of code in the object.
        code: usize,
    },
    /// No program or map by that name.
    #[error("no {what} named `{name}` in the object")]
    NotFound {
        /// `program`, `map` or `global variable`.
        what: &'static str,
        /// The name asked for.
        name: String,
    },
    /// A global variable written with bytes of the wrong size.
    #[error("global variable {name} is {size} bytes, not {given}")]
    GlobalSize {
        /// The variable.
        name: String,
        /// Its size.
        size: usize,
        /// The size given.
        given: usize,
    },
    /// The program's type cannot be inferred from its section and was not
    /// given.
    #[error("program {program}: section `{section}` names no program type bpfbox runs; choose one (`--type`, LoadOptions::program_types)")]
    ProgramType {
        /// The program.
        program: String,
        /// Its section.
        section: String,
    },
    /// The object's maps together would take more memory than allowed.
    #[error("the object's maps need {needed} bytes, over the limit of {limit}")]
    MapMemory {
        /// Bytes needed by all maps.
        needed: usize,
        /// The limit ([`crate::elf::LoadOptions::map_memory_limit`]).
        limit: usize,
    },
    /// A map cannot be created or filled.
    #[error("map {name}: {source}")]
    Map {
        /// The map's name.
        name: String,
        /// The error.
        source: MapError,
    },
    /// A program fails to load.
    #[error("program {program}{}: {source}", line.as_ref().map(|l| format!(" ({l})")).unwrap_or_default())]
    Program {
        /// The program.
        program: String,
        /// The source line of the failing instruction, from `.BTF.ext`.
        line: Option<Box<SourceLine>>,
        /// The error.
        source: LoadError,
    },
}
