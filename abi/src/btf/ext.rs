//! `.BTF.ext`: what clang records per instruction next to `.BTF`.
//!
//! Layout (little-endian): a header (magic 0xEB9F, version 1, flags,
//! `hdr_len`, then offset and length of the func info and line info blocks
//! and, when `hdr_len` is 32 or more, of the CO-RE relocation block, all
//! counted from the end of the header). Each block is a record size (u32)
//! followed by one group per ELF section: the section name's string offset
//! (in `.BTF`), the number of records, the records. Records may be larger
//! than the fields bpfbox knows (newer producers): the rest is skipped.
//! Instruction offsets are in bytes from the start of the ELF section.

use super::parse::{le32, read_preamble, section};
use super::{Btf, BtfError, Type, TypeId};
use std::fmt;

/// The `.BTF.ext` header's fixed part: up to the line info block.
const HEADER_LEN: usize = 24;
/// The header length from which the CO-RE relocation block is present.
const HEADER_LEN_CORE: usize = 32;

/// The records of one ELF section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SectionInfo<T> {
    /// The section's name (`xdp`, `.text`), from the BTF strings.
    pub section: String,
    /// The name's offset in the BTF strings.
    pub section_name_off: u32,
    /// The records, in the order they appear.
    pub records: Vec<T>,
}

/// A function's start (`struct bpf_func_info`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FuncInfo {
    /// Offset in bytes of the function's first instruction in its section.
    pub insn_off: u32,
    /// The function's [`Type::Func`].
    pub type_id: TypeId,
}

/// A source line (`struct bpf_line_info`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LineInfo {
    /// Offset in bytes of the first instruction of the line in its
    /// section.
    pub insn_off: u32,
    /// String offset of the source file's name.
    pub file_name_off: u32,
    /// String offset of the line's source text.
    pub line_off: u32,
    /// Line number (the top 22 bits of `line_col`).
    pub line: u32,
    /// Column (the low 10 bits of `line_col`).
    pub column: u32,
}

/// What a CO-RE relocation asks for (`enum bpf_core_relo_kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u32)]
pub enum CoreReloKind {
    /// A field's byte offset (for a bitfield: of the load that holds it).
    FieldByteOffset = 0,
    /// A field's size in bytes (for a bitfield: of that load).
    FieldByteSize = 1,
    /// 1 if the field exists, 0 if not.
    FieldExists = 2,
    /// 1 if the field is a signed integer or enum.
    FieldSigned = 3,
    /// Left shift that puts a bitfield's top bit at bit 63 of a u64.
    FieldLShiftU64 = 4,
    /// Right shift that then brings the bitfield down to bit 0.
    FieldRShiftU64 = 5,
    /// The type's id in the program's own BTF.
    TypeIdLocal = 6,
    /// The type's id in the target BTF.
    TypeIdTarget = 7,
    /// 1 if the type exists in the target.
    TypeExists = 8,
    /// The type's size in the target.
    TypeSize = 9,
    /// 1 if the enumerator exists in the target.
    EnumvalExists = 10,
    /// The enumerator's value in the target.
    EnumvalValue = 11,
    /// 1 if the target type matches the local one strictly
    /// (`bpf_core_type_matches`).
    TypeMatches = 12,
}

impl CoreReloKind {
    /// The kind with number `raw`.
    pub const fn from_raw(raw: u32) -> Option<CoreReloKind> {
        use CoreReloKind::*;
        Some(match raw {
            0 => FieldByteOffset,
            1 => FieldByteSize,
            2 => FieldExists,
            3 => FieldSigned,
            4 => FieldLShiftU64,
            5 => FieldRShiftU64,
            6 => TypeIdLocal,
            7 => TypeIdTarget,
            8 => TypeExists,
            9 => TypeSize,
            10 => EnumvalExists,
            11 => EnumvalValue,
            12 => TypeMatches,
            _ => return None,
        })
    }

    /// The number.
    pub const fn raw(self) -> u32 {
        self as u32
    }

    /// Whether the relocation is about a field (the access string walks
    /// members and array elements).
    pub const fn is_field_based(self) -> bool {
        (self as u32) <= 5
    }

    /// Whether the relocation is about a whole type (access string `0`).
    pub const fn is_type_based(self) -> bool {
        matches!(
            self,
            CoreReloKind::TypeIdLocal
                | CoreReloKind::TypeIdTarget
                | CoreReloKind::TypeExists
                | CoreReloKind::TypeSize
                | CoreReloKind::TypeMatches
        )
    }

    /// Whether the relocation is about an enumerator (access string: its
    /// index).
    pub const fn is_enumval_based(self) -> bool {
        matches!(
            self,
            CoreReloKind::EnumvalExists | CoreReloKind::EnumvalValue
        )
    }

    /// Whether the relocation asks if something exists or matches, so that
    /// a missing target is an answer (0) rather than an error.
    pub const fn is_existence(self) -> bool {
        matches!(
            self,
            CoreReloKind::FieldExists
                | CoreReloKind::TypeExists
                | CoreReloKind::TypeMatches
                | CoreReloKind::EnumvalExists
        )
    }

    /// libbpf's short name (`byte_off`, `enumval_value`).
    pub const fn name(self) -> &'static str {
        match self {
            CoreReloKind::FieldByteOffset => "byte_off",
            CoreReloKind::FieldByteSize => "byte_sz",
            CoreReloKind::FieldExists => "field_exists",
            CoreReloKind::FieldSigned => "signed",
            CoreReloKind::FieldLShiftU64 => "lshift_u64",
            CoreReloKind::FieldRShiftU64 => "rshift_u64",
            CoreReloKind::TypeIdLocal => "local_type_id",
            CoreReloKind::TypeIdTarget => "target_type_id",
            CoreReloKind::TypeExists => "type_exists",
            CoreReloKind::TypeSize => "type_size",
            CoreReloKind::EnumvalExists => "enumval_exists",
            CoreReloKind::EnumvalValue => "enumval_value",
            CoreReloKind::TypeMatches => "type_matches",
        }
    }
}

impl fmt::Display for CoreReloKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A CO-RE relocation (`struct bpf_core_relo`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CoreRelo {
    /// Offset in bytes of the instruction to patch, in its section.
    pub insn_off: u32,
    /// The root type in the program's BTF.
    pub type_id: TypeId,
    /// String offset of the access string (`0:1:2`).
    pub access_str_off: u32,
    /// What to compute.
    pub kind: CoreReloKind,
}

/// A parsed `.BTF.ext`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BtfExt {
    /// Function starts, per section.
    pub func_info: Vec<SectionInfo<FuncInfo>>,
    /// Source lines, per section.
    pub line_info: Vec<SectionInfo<LineInfo>>,
    /// CO-RE relocations, per section (empty when the header has no
    /// relocation block).
    pub core_relos: Vec<SectionInfo<CoreRelo>>,
}

/// The position of one record while decoding.
struct At<'a> {
    /// The record's bytes (at least the known fields).
    rec: &'a [u8],
    /// Its offset from the start of the `.BTF.ext` bytes.
    offset: usize,
}

impl BtfExt {
    /// Reads `.BTF.ext` bytes whose strings and types are in `btf` (the
    /// same object's `.BTF`).
    ///
    /// # Errors
    /// Header problems as for [`Btf::parse`] (with `what` = `.BTF.ext`);
    /// [`BtfError::ExtRecordTooSmall`] for a record size below the known
    /// fields (8 bytes for func info, 16 for line info and relocations);
    /// [`BtfError::ExtTruncated`] when a block ends inside a group;
    /// [`BtfError::ExtBadString`] for a section name, file name, line or
    /// access string that is not a string of `btf`;
    /// [`BtfError::ExtBadType`] for a func info that does not name a
    /// [`Type::Func`] or a relocation on a missing type;
    /// [`BtfError::ExtBadReloKind`] for an unknown relocation kind.
    pub fn parse(bytes: &[u8], btf: &Btf) -> Result<BtfExt, BtfError> {
        let hdr_len = read_preamble(bytes, ".BTF.ext", HEADER_LEN)?;
        let word = |at: usize| le32(bytes, at);
        let func_info = parse_block(
            bytes,
            hdr_len,
            ("func_info", word(8), word(12), 8),
            btf,
            |at| {
                let type_id = le32(at.rec, 4);
                let reason = match btf.get(type_id) {
                    Ok(Type::Func { .. }) => None,
                    Ok(_) => Some("is not a func"),
                    Err(_) => Some("does not exist"),
                };
                if let Some(reason) = reason {
                    return Err(BtfError::ExtBadType {
                        block: "func_info",
                        offset: at.offset,
                        type_id,
                        reason,
                    });
                }
                Ok(FuncInfo {
                    insn_off: le32(at.rec, 0),
                    type_id,
                })
            },
        )?;
        let line_info = parse_block(
            bytes,
            hdr_len,
            ("line_info", word(16), word(20), 16),
            btf,
            |at| {
                let file_name_off = le32(at.rec, 4);
                let line_off = le32(at.rec, 8);
                // Offsets only: the text is decoded (and checked) when a
                // diagnostic reads it through `Btf::str_at`, which keeps
                // parsing thousands of records cheap.
                check_str_offset(btf, "line_info", at.offset, file_name_off)?;
                check_str_offset(btf, "line_info", at.offset, line_off)?;
                let line_col = le32(at.rec, 12);
                Ok(LineInfo {
                    insn_off: le32(at.rec, 0),
                    file_name_off,
                    line_off,
                    line: line_col >> 10,
                    column: line_col & 0x3ff,
                })
            },
        )?;
        let core_relos = if hdr_len >= HEADER_LEN_CORE {
            parse_block(
                bytes,
                hdr_len,
                ("core_relo", word(24), word(28), 16),
                btf,
                |at| {
                    let type_id = le32(at.rec, 4);
                    if btf.get(type_id).is_err() {
                        return Err(BtfError::ExtBadType {
                            block: "core_relo",
                            offset: at.offset,
                            type_id,
                            reason: "does not exist",
                        });
                    }
                    let access_str_off = le32(at.rec, 8);
                    check_str(btf, "core_relo", at.offset, access_str_off)?;
                    let raw_kind = le32(at.rec, 12);
                    let kind =
                        CoreReloKind::from_raw(raw_kind).ok_or(BtfError::ExtBadReloKind {
                            offset: at.offset,
                            kind: raw_kind,
                        })?;
                    Ok(CoreRelo {
                        insn_off: le32(at.rec, 0),
                        type_id,
                        access_str_off,
                        kind,
                    })
                },
            )?
        } else {
            Vec::new()
        };
        Ok(BtfExt {
            func_info,
            line_info,
            core_relos,
        })
    }
}

/// Checks that `offset` is inside the string section of `btf`.
fn check_str_offset(
    btf: &Btf,
    block: &'static str,
    record: usize,
    offset: u32,
) -> Result<(), BtfError> {
    if (offset as usize) < btf.strings().len() {
        return Ok(());
    }
    Err(BtfError::ExtBadString {
        block,
        offset: record,
        string_off: offset,
        reason: Box::new(BtfError::StringOutOfRange {
            offset,
            len: btf.strings().len(),
        }),
    })
}

/// Checks that `offset` names a UTF-8 string of `btf`.
fn check_str(btf: &Btf, block: &'static str, record: usize, offset: u32) -> Result<(), BtfError> {
    btf.str_at(offset)
        .map(|_| ())
        .map_err(|reason| BtfError::ExtBadString {
            block,
            offset: record,
            string_off: offset,
            reason: Box::new(reason),
        })
}

/// Reads one info block: `(name, offset, length, smallest record)`.
fn parse_block<T>(
    bytes: &[u8],
    hdr_len: usize,
    (block, offset, len, min): (&'static str, u32, u32, u32),
    btf: &Btf,
    decode: impl Fn(At<'_>) -> Result<T, BtfError>,
) -> Result<Vec<SectionInfo<T>>, BtfError> {
    if len == 0 {
        return Ok(Vec::new());
    }
    let data = &bytes[hdr_len..];
    let blk = section(data, block, offset, len)?;
    // Offset of the block from the start of the bytes (fits: the block is
    // inside them).
    let base = hdr_len + offset as usize;
    let truncated = |at: usize, needed: u64| BtfError::ExtTruncated {
        block,
        offset: base + at,
        needed,
        available: blk.len() - at,
    };
    if blk.len() < 4 {
        return Err(truncated(0, 4));
    }
    let rec_size = le32(blk, 0);
    if rec_size < min {
        return Err(BtfError::ExtRecordTooSmall {
            block,
            size: rec_size,
            min,
        });
    }
    let mut sections = Vec::new();
    let mut at = 4;
    while at < blk.len() {
        if blk.len() - at < 8 {
            return Err(truncated(at, 8));
        }
        let name_off = le32(blk, at);
        let count = le32(blk, at + 4);
        let records_len = u64::from(count) * u64::from(rec_size);
        if ((blk.len() - at - 8) as u64) < records_len {
            return Err(truncated(at, 8 + records_len));
        }
        let name = btf
            .str_at(name_off)
            .map_err(|reason| BtfError::ExtBadString {
                block,
                offset: base + at,
                string_off: name_off,
                reason: Box::new(reason),
            })?;
        at += 8;
        // count * rec_size fits in the block, and rec_size >= 8, so the
        // reservation is bounded by the input.
        let mut records = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let end = at + rec_size as usize;
            records.push(decode(At {
                rec: &blk[at..end],
                offset: base + at,
            })?);
            at = end;
        }
        sections.push(SectionInfo {
            section: name.to_owned(),
            section_name_off: name_off,
            records,
        });
    }
    Ok(sections)
}
