//! The ELF layer: sections, symbols and relocations of a relocatable eBPF
//! object, read with `goblin` and checked against the file's bounds before
//! anything else looks at them.

use super::error::ElfError;
use goblin::container::{Container, Ctx, Endian};
use goblin::elf::header;
use goblin::elf::section_header::{self as sh, SectionHeader};
use goblin::elf::sym::{self, Symtab};
use goblin::strtab::Strtab;

/// `EM_BPF`.
const MACHINE_BPF: u16 = 247;

/// One section, with its name and bytes (empty for `SHT_NOBITS`).
#[derive(Debug)]
pub(crate) struct Section<'a> {
    pub index: usize,
    pub name: &'a str,
    pub kind: u32,
    pub flags: u64,
    /// The section's size (also for `SHT_NOBITS`, which has no bytes).
    pub size: u64,
    pub data: &'a [u8],
    /// For relocation sections: the section they apply to.
    pub info: u32,
}

impl Section<'_> {
    pub fn is_code(&self) -> bool {
        self.kind == sh::SHT_PROGBITS
            && self.flags & u64::from(sh::SHF_EXECINSTR) != 0
            && self.size > 0
    }
}

/// A symbol, with its name resolved.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Symbol<'a> {
    pub name: &'a str,
    /// `st_shndx`: the section it is defined in (`SHN_UNDEF` for externs).
    pub section: usize,
    pub value: u64,
    pub size: u64,
    pub kind: u8,
    pub bind: u8,
}

impl Symbol<'_> {
    pub fn is_function(&self) -> bool {
        self.kind == sym::STT_FUNC
    }

    pub fn is_global(&self) -> bool {
        matches!(self.bind, sym::STB_GLOBAL | sym::STB_WEAK)
    }

    pub fn is_undefined(&self) -> bool {
        self.section == sh::SHN_UNDEF as usize
    }

    pub fn is_section(&self) -> bool {
        self.kind == sym::STT_SECTION
    }
}

/// One relocation entry.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Relocation {
    /// Byte offset in the section it applies to.
    pub offset: u64,
    pub kind: u32,
    pub symbol: usize,
}

/// The parts of an ELF object the loader reads.
pub(crate) struct ElfFile<'a> {
    pub sections: Vec<Section<'a>>,
    pub symbols: Vec<Symbol<'a>>,
}

fn range(bytes: &[u8], offset: u64, size: u64) -> Option<&[u8]> {
    let start = usize::try_from(offset).ok()?;
    let len = usize::try_from(size).ok()?;
    bytes.get(start..start.checked_add(len)?)
}

impl<'a> ElfFile<'a> {
    /// An eBPF relocatable object.
    pub fn parse(bytes: &'a [u8]) -> Result<ElfFile<'a>, ElfError> {
        ElfFile::parse_inner(bytes, true)
    }

    /// Any little-endian 64-bit ELF file (a `vmlinux` for its `.BTF`).
    pub fn parse_any_machine(bytes: &'a [u8]) -> Result<ElfFile<'a>, ElfError> {
        ElfFile::parse_inner(bytes, false)
    }

    fn parse_inner(bytes: &'a [u8], object: bool) -> Result<ElfFile<'a>, ElfError> {
        const HEADER: usize = 64;
        if bytes.len() < HEADER || !bytes.starts_with(b"\x7fELF") {
            return Err(ElfError::Header(
                if bytes.starts_with(b"\x7fELF") || bytes.len() < 4 {
                    format!(
                        "{} bytes is too short for an ELF header ({HEADER} bytes)",
                        bytes.len()
                    )
                } else {
                    "not an ELF file (no \\x7fELF magic)".into()
                },
            ));
        }
        let header =
            goblin::elf::Elf::parse_header(bytes).map_err(|e| ElfError::Header(e.to_string()))?;
        if header.e_ident[header::EI_CLASS] != header::ELFCLASS64 {
            return Err(ElfError::Header("not a 64-bit ELF file".into()));
        }
        if header.e_ident[header::EI_DATA] != header::ELFDATA2LSB {
            return Err(ElfError::Header(
                "not little-endian (bpfbox runs little-endian eBPF)".into(),
            ));
        }
        if object && header.e_machine != MACHINE_BPF {
            return Err(ElfError::Header(format!(
                "machine {} is not eBPF ({MACHINE_BPF})",
                header.e_machine
            )));
        }
        if object && header.e_type != header::ET_REL {
            return Err(ElfError::Header(format!(
                "type {} is not a relocatable object (ET_REL)",
                header.e_type
            )));
        }
        let ctx = Ctx::new(Container::Big, Endian::Little);
        let entry = SectionHeader::size(ctx) as u64;
        if header.e_shoff == 0 {
            return Err(ElfError::Header("no section headers".into()));
        }
        if u64::from(header.e_shentsize) != entry {
            return Err(ElfError::Header(format!(
                "section header size {} is not {entry}",
                header.e_shentsize
            )));
        }
        // goblin reads the count from section 0 when e_shnum is 0; bound it
        // by the file either way before it allocates.
        let headers =
            SectionHeader::parse(bytes, header.e_shoff as usize, header.e_shnum.into(), ctx)
                .map_err(|e| ElfError::Header(format!("section headers: {e}")))?;
        let names_index = if header.e_shstrndx == sh::SHN_XINDEX as u16 {
            headers.first().map_or(0, |h| h.sh_link as usize)
        } else {
            usize::from(header.e_shstrndx)
        };
        let names = headers.get(names_index).ok_or(ElfError::SectionIndex {
            what: "the section-name table",
            index: names_index,
        })?;
        let names = string_table(bytes, names, "section names")?;

        let mut sections = Vec::with_capacity(headers.len());
        for (index, header) in headers.iter().enumerate() {
            let name = names.get_at(header.sh_name).ok_or(ElfError::Name {
                section: index,
                offset: header.sh_name as u64,
            })?;
            let data = if header.sh_type == sh::SHT_NOBITS || header.sh_type == sh::SHT_NULL {
                &[][..]
            } else {
                range(bytes, header.sh_offset, header.sh_size).ok_or_else(|| {
                    ElfError::SectionBounds {
                        section: name.to_owned(),
                        offset: header.sh_offset,
                        size: header.sh_size,
                        file_size: bytes.len(),
                    }
                })?
            };
            sections.push(Section {
                index,
                name,
                kind: header.sh_type,
                flags: header.sh_flags,
                size: header.sh_size,
                data,
                info: header.sh_info,
            });
        }
        check_overlaps(&sections)?;

        let symbols = match sections.iter().position(|s| s.kind == sh::SHT_SYMTAB) {
            Some(index) => read_symbols(bytes, &headers, index, &sections, ctx)?,
            None => Vec::new(),
        };
        Ok(ElfFile { sections, symbols })
    }

    pub fn section(&self, index: usize) -> Option<&Section<'a>> {
        self.sections.get(index)
    }

    pub fn section_named(&self, name: &str) -> Option<&Section<'a>> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// The relocations of a `SHT_REL` section (`Elf64_Rel`: offset, then
    /// info with the symbol in the high half and the type in the low).
    /// Decoded straight from the bytes: objects built with `-g` carry tens
    /// of thousands of them in their debug sections.
    pub fn relocations(&self, section: &Section<'a>) -> Result<Vec<Relocation>, ElfError> {
        const ENTRY: usize = 16;
        if section.data.len() % ENTRY != 0 {
            return Err(ElfError::Relocations {
                section: section.name.to_owned(),
                reason: format!("size {} is not a multiple of {ENTRY}", section.data.len()),
            });
        }
        let word = |bytes: &[u8]| {
            let mut word = [0u8; 8];
            word.copy_from_slice(bytes);
            u64::from_le_bytes(word)
        };
        Ok(section
            .data
            .chunks_exact(ENTRY)
            .map(|entry| {
                let info = word(&entry[8..]);
                Relocation {
                    offset: word(&entry[..8]),
                    kind: goblin::elf64::reloc::r_type(info),
                    symbol: goblin::elf64::reloc::r_sym(info) as usize,
                }
            })
            .collect())
    }
}

fn string_table<'a>(
    bytes: &'a [u8],
    header: &SectionHeader,
    what: &'static str,
) -> Result<Strtab<'a>, ElfError> {
    if header.sh_type != sh::SHT_STRTAB {
        return Err(ElfError::Header(format!("{what}: not a string table")));
    }
    let data = range(bytes, header.sh_offset, header.sh_size).ok_or_else(|| {
        ElfError::Header(format!(
            "{what}: {} bytes at {} run past the end of the file",
            header.sh_size, header.sh_offset
        ))
    })?;
    Strtab::parse(data, 0, data.len(), 0).map_err(|e| ElfError::Header(format!("{what}: {e}")))
}

/// Sections with bytes in the file must not overlap each other.
fn check_overlaps(sections: &[Section<'_>]) -> Result<(), ElfError> {
    let mut spans: Vec<(usize, usize, &str)> = sections
        .iter()
        .filter(|s| !s.data.is_empty())
        .map(|s| {
            let start = s.data.as_ptr() as usize;
            (start, start + s.data.len(), s.name)
        })
        .collect();
    spans.sort_unstable();
    for pair in spans.windows(2) {
        if pair[1].0 < pair[0].1 {
            return Err(ElfError::Overlap {
                first: pair[0].2.to_owned(),
                second: pair[1].2.to_owned(),
            });
        }
    }
    Ok(())
}

fn read_symbols<'a>(
    bytes: &'a [u8],
    headers: &[SectionHeader],
    index: usize,
    sections: &[Section<'a>],
    ctx: Ctx,
) -> Result<Vec<Symbol<'a>>, ElfError> {
    let header = &headers[index];
    let entry = sym::Sym::size(ctx.container) as u64;
    if header.sh_entsize != entry || header.sh_size % entry != 0 {
        return Err(ElfError::Header(format!(
            "symbol table: entry size {} / size {} (expected entries of {entry})",
            header.sh_entsize, header.sh_size
        )));
    }
    let link = header.sh_link as usize;
    let names = headers.get(link).ok_or(ElfError::SectionIndex {
        what: "the symbol-name table",
        index: link,
    })?;
    let names = string_table(bytes, names, "symbol names")?;
    let data = sections[index].data;
    let count = (header.sh_size / entry) as usize;
    let table = Symtab::parse(data, 0, count, ctx)
        .map_err(|e| ElfError::Header(format!("symbol table: {e}")))?;
    let mut symbols = Vec::with_capacity(count);
    for (i, symbol) in table.iter().enumerate() {
        let name = names.get_at(symbol.st_name).ok_or(ElfError::SymbolName {
            symbol: i,
            offset: symbol.st_name as u64,
        })?;
        symbols.push(Symbol {
            name,
            section: symbol.st_shndx,
            value: symbol.st_value,
            size: symbol.st_size,
            kind: symbol.st_type(),
            bind: symbol.st_bind(),
        });
    }
    Ok(symbols)
}
