//! Why BTF or `.BTF.ext` bytes were refused, or a lookup failed.

use super::{Kind, TypeId};
use thiserror::Error;

/// An error reading BTF or `.BTF.ext`, or looking something up in it.
///
/// Parse errors say where: a byte offset (in the type section for `.BTF`
/// types, from the start of the blob for `.BTF.ext`) and, for types, the
/// id being read. Lookup errors name the type id or string offset.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum BtfError {
    /// Fewer bytes than the fixed part of the header.
    #[error("{what} is {len} bytes, shorter than its {needed}-byte header")]
    HeaderTruncated {
        /// `BTF` or `.BTF.ext`.
        what: &'static str,
        /// Bytes present.
        len: usize,
        /// Bytes the header needs.
        needed: usize,
    },
    /// The magic number is not 0xEB9F.
    #[error("{what}: bad magic {magic:#06x} (expected 0xeb9f)")]
    BadMagic {
        /// `BTF` or `.BTF.ext`.
        what: &'static str,
        /// The first two bytes, read little-endian.
        magic: u16,
    },
    /// The magic number is 0xEB9F stored big-endian: BTF for a big-endian
    /// target, which bpfbox does not read.
    #[error("{what}: big-endian data (magic bytes eb 9f) is not supported")]
    BigEndian {
        /// `BTF` or `.BTF.ext`.
        what: &'static str,
    },
    /// A version other than 1.
    #[error("{what}: unsupported version {version}")]
    UnsupportedVersion {
        /// `BTF` or `.BTF.ext`.
        what: &'static str,
        /// The version byte.
        version: u8,
    },
    /// Non-zero header flags (none is defined).
    #[error("{what}: unsupported flags {flags:#04x}")]
    UnsupportedFlags {
        /// `BTF` or `.BTF.ext`.
        what: &'static str,
        /// The flags byte.
        flags: u8,
    },
    /// The header length is below the fixed part or past the end.
    #[error("{what}: header length {hdr_len} is below {min} or beyond the {len} bytes present")]
    BadHeaderLen {
        /// `BTF` or `.BTF.ext`.
        what: &'static str,
        /// The header's `hdr_len`.
        hdr_len: u32,
        /// The smallest valid length.
        min: u32,
        /// Bytes present.
        len: usize,
    },
    /// A section named by the header does not fit in the bytes after it.
    #[error(
        "{section} section (offset {offset}, length {len} after the header) \
         runs past the {available} bytes present"
    )]
    SectionOutOfBounds {
        /// Which section (`type`, `string`, `func_info`, ...).
        section: &'static str,
        /// Its offset from the end of the header.
        offset: u32,
        /// Its length.
        len: u32,
        /// Bytes after the header.
        available: usize,
    },
    /// The string section is empty, or does not start and end with a NUL.
    #[error("the string section must start and end with a NUL byte")]
    BadStringSection,
    /// A type's record runs past the end of the type section.
    #[error(
        "type {id} at byte {offset} of the type section: {needed} bytes \
         needed, {available} left"
    )]
    TypeTruncated {
        /// The type id being read.
        id: TypeId,
        /// The record's offset in the type section.
        offset: usize,
        /// Bytes the record needs (header plus `vlen` entries).
        needed: u64,
        /// Bytes left in the type section.
        available: usize,
    },
    /// A kind number that is 0 or unknown.
    #[error("type {id} at byte {offset} of the type section: unknown kind {kind}")]
    UnknownKind {
        /// The type id being read.
        id: TypeId,
        /// The record's offset in the type section.
        offset: usize,
        /// The kind number.
        kind: u8,
    },
    /// An `info` word with reserved bits set, or a kind flag or `vlen` on
    /// a kind that has no use for them.
    #[error(
        "type {id} at byte {offset} of the type section: info {info:#010x} is not valid \
         for a {kind} (reserved bits, kind flag or vlen)"
    )]
    BadInfo {
        /// The type id being read.
        id: TypeId,
        /// The record's offset in the type section.
        offset: usize,
        /// The kind.
        kind: Kind,
        /// The info word.
        info: u32,
    },
    /// A function or variable linkage other than 0, 1 or 2.
    #[error("type {id} at byte {offset} of the type section: bad linkage {linkage}")]
    BadLinkage {
        /// The type id being read.
        id: TypeId,
        /// The record's offset in the type section.
        offset: usize,
        /// The linkage number.
        linkage: u32,
    },
    /// An int's extra word has reserved bits set or an encoding that is
    /// not one of none, signed, char and bool.
    #[error("type {id} at byte {offset} of the type section: bad int data {data:#010x}")]
    BadIntData {
        /// The type id being read.
        id: TypeId,
        /// The record's offset in the type section.
        offset: usize,
        /// The extra word.
        data: u32,
    },
    /// A decl tag's component index is below -1.
    #[error("type {id} at byte {offset} of the type section: bad component index {component}")]
    BadComponent {
        /// The type id being read.
        id: TypeId,
        /// The record's offset in the type section.
        offset: usize,
        /// The index.
        component: i32,
    },
    /// A pointer, array, modifier or prototype with a name.
    #[error("type {id} at byte {offset} of the type section: a {kind} cannot have a name")]
    UnexpectedName {
        /// The type id being read.
        id: TypeId,
        /// The record's offset in the type section.
        offset: usize,
        /// The kind.
        kind: Kind,
    },
    /// A type holds a string offset outside the string section.
    #[error("type {id}: string offset {offset} is outside the {len}-byte string section")]
    BadNameOffset {
        /// The type.
        id: TypeId,
        /// The offset.
        offset: u32,
        /// The string section's length.
        len: usize,
    },
    /// A type refers to a type id that does not exist.
    #[error("type {id} refers to type {target}, but the last type is {}", len.saturating_sub(1))]
    BadTypeRef {
        /// The referring type.
        id: TypeId,
        /// The missing id.
        target: TypeId,
        /// Number of type ids (including 0).
        len: usize,
    },
    /// An int whose size is not 1, 2, 4, 8 or 16 bytes, or whose bits do
    /// not fit in it.
    #[error("type {id}: invalid int (size {size}, bit offset {offset}, {bits} bits)")]
    BadInt {
        /// The type.
        id: TypeId,
        /// Its size in bytes.
        size: u32,
        /// Its bit offset.
        offset: u8,
        /// Its number of bits.
        bits: u8,
    },
    /// A type that BTF cannot encode: more than 65,535 members, values or
    /// parameters, a bitfield member at a bit offset of 2^24 or more or
    /// wider than 255 bits, a 32-bit enum value out of range, a decl tag
    /// component below -1. Only tables built in memory can have these.
    #[error("type {id} cannot be encoded as BTF: {reason}")]
    Unencodable {
        /// The type.
        id: TypeId,
        /// What is out of range.
        reason: &'static str,
    },
    /// More types than 32-bit ids can number.
    #[error("{count} types do not fit in 32-bit type ids")]
    TooManyTypes {
        /// Number of types.
        count: usize,
    },
    /// A type id past the last type.
    #[error("no type {id} (the last type is {})", len.saturating_sub(1))]
    NoSuchType {
        /// The id asked for.
        id: TypeId,
        /// Number of type ids (including 0).
        len: usize,
    },
    /// A string offset outside the string section.
    #[error("string offset {offset} is outside the {len}-byte string section")]
    StringOutOfRange {
        /// The offset.
        offset: u32,
        /// The string section's length.
        len: usize,
    },
    /// The string at an offset is not valid UTF-8.
    #[error("the string at offset {offset} is not UTF-8")]
    StringNotUtf8 {
        /// The offset.
        offset: u32,
    },
    /// Following typedefs, modifiers or array elements from a type comes
    /// back to a type already seen.
    #[error("type {id} leads into a loop of typedefs, modifiers or arrays")]
    TypeLoop {
        /// The type the walk started from.
        id: TypeId,
    },
    /// A type without a size (void, a forward declaration, a function)
    /// where a size was needed.
    #[error("type {id} ({kind}) has no size")]
    NoSize {
        /// The type without a size (after following modifiers).
        id: TypeId,
        /// Its kind.
        kind: Kind,
    },
    /// A size that does not fit in 32 bits (an array's elements times
    /// their size).
    #[error("the size of type {id} does not fit in 32 bits")]
    SizeOverflow {
        /// The type whose size was asked for.
        id: TypeId,
    },
    /// An info block's record size is smaller than the fields bpfbox
    /// reads.
    #[error(".BTF.ext {block}: record size {size} is smaller than the {min} bytes of a record")]
    ExtRecordTooSmall {
        /// `func_info`, `line_info` or `core_relo`.
        block: &'static str,
        /// The block's record size.
        size: u32,
        /// The smallest accepted.
        min: u32,
    },
    /// An info block ends inside a record or section header.
    #[error(
        ".BTF.ext {block} at byte {offset}: {needed} bytes needed, only \
         {available} left in the block"
    )]
    ExtTruncated {
        /// `func_info`, `line_info` or `core_relo`.
        block: &'static str,
        /// Offset from the start of the `.BTF.ext` bytes.
        offset: usize,
        /// Bytes needed.
        needed: u64,
        /// Bytes left in the block.
        available: usize,
    },
    /// A record names a string that is not in the BTF's string section.
    #[error(".BTF.ext {block} at byte {offset}: bad string offset {string_off}: {reason}")]
    ExtBadString {
        /// `func_info`, `line_info` or `core_relo`.
        block: &'static str,
        /// Offset of the record from the start of the `.BTF.ext` bytes.
        offset: usize,
        /// The string offset.
        string_off: u32,
        /// Why it is bad.
        reason: Box<BtfError>,
    },
    /// A record names a type id that is missing or of the wrong kind.
    #[error(".BTF.ext {block} at byte {offset}: type {type_id} {reason}")]
    ExtBadType {
        /// `func_info` or `core_relo`.
        block: &'static str,
        /// Offset of the record from the start of the `.BTF.ext` bytes.
        offset: usize,
        /// The type id.
        type_id: TypeId,
        /// What is wrong (`does not exist`, `is not a func`).
        reason: &'static str,
    },
    /// A CO-RE relocation with an unknown kind number.
    #[error(".BTF.ext core_relo at byte {offset}: unknown relocation kind {kind}")]
    ExtBadReloKind {
        /// Offset of the record from the start of the `.BTF.ext` bytes.
        offset: usize,
        /// The kind number.
        kind: u32,
    },
}
