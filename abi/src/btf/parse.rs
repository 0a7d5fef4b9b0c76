//! Reading raw `.BTF` bytes into a [`Btf`], and writing one back.
//!
//! Layout (all little-endian): a header (magic 0xEB9F, version 1, flags,
//! `hdr_len`, then the type and string sections' offsets and lengths,
//! counted from the end of the header), the type section (one record per
//! type from id 1: `name_off`, `info` with kind, `vlen` and kind flag, and
//! a size or type id, followed by kind-specific data), and the string
//! section (NUL-terminated strings, starting with the empty one).

use super::{
    Array, Btf, BtfError, Composite, Datasec, Enum, Enumerator, Int, IntEncoding, Kind, Linkage,
    Member, Param, Type, TypeId, VarSecInfo, BTF_MAGIC,
};

/// Size of the fixed part of the `.BTF` header.
pub(crate) const HEADER_LEN: usize = 24;
/// Size of a type record's common part (`struct btf_type`).
const RECORD_LEN: u64 = 12;

/// The little-endian u32 at `at` (0 if out of range, which callers have
/// already excluded by checking lengths).
pub(crate) fn le32(bytes: &[u8], at: usize) -> u32 {
    bytes
        .get(at..at.saturating_add(4))
        .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Checks the common start of a `.BTF` or `.BTF.ext` header (magic,
/// version, flags, `hdr_len`) and returns `hdr_len`.
pub(crate) fn read_preamble(
    bytes: &[u8],
    what: &'static str,
    fixed: usize,
) -> Result<usize, BtfError> {
    if bytes.len() >= 2 {
        let magic = u16::from_le_bytes([bytes[0], bytes[1]]);
        if magic == BTF_MAGIC.swap_bytes() {
            return Err(BtfError::BigEndian { what });
        }
        if magic != BTF_MAGIC {
            return Err(BtfError::BadMagic { what, magic });
        }
    }
    if bytes.len() < fixed {
        return Err(BtfError::HeaderTruncated {
            what,
            len: bytes.len(),
            needed: fixed,
        });
    }
    if bytes[2] != 1 {
        return Err(BtfError::UnsupportedVersion {
            what,
            version: bytes[2],
        });
    }
    if bytes[3] != 0 {
        return Err(BtfError::UnsupportedFlags {
            what,
            flags: bytes[3],
        });
    }
    let hdr_len = le32(bytes, 4);
    let min = u32::try_from(fixed).unwrap_or(u32::MAX);
    if hdr_len < min || hdr_len as usize > bytes.len() {
        return Err(BtfError::BadHeaderLen {
            what,
            hdr_len,
            min,
            len: bytes.len(),
        });
    }
    Ok(hdr_len as usize)
}

/// The `len` bytes at `offset` of `data`.
pub(crate) fn section<'a>(
    data: &'a [u8],
    name: &'static str,
    offset: u32,
    len: u32,
) -> Result<&'a [u8], BtfError> {
    let start = offset as usize;
    start
        .checked_add(len as usize)
        .and_then(|end| data.get(start..end))
        .ok_or(BtfError::SectionOutOfBounds {
            section: name,
            offset,
            len,
            available: data.len(),
        })
}

impl Btf {
    /// Reads raw BTF: a `.BTF` section, or a kernel's
    /// `/sys/kernel/btf/vmlinux`.
    ///
    /// # Errors
    /// A header problem ([`BtfError::HeaderTruncated`],
    /// [`BtfError::BadMagic`], [`BtfError::BigEndian`],
    /// [`BtfError::UnsupportedVersion`], [`BtfError::UnsupportedFlags`],
    /// [`BtfError::BadHeaderLen`], [`BtfError::SectionOutOfBounds`],
    /// [`BtfError::BadStringSection`]), a record problem with its byte
    /// offset in the type section ([`BtfError::TypeTruncated`],
    /// [`BtfError::UnknownKind`], [`BtfError::BadLinkage`],
    /// [`BtfError::BadIntData`], [`BtfError::BadComponent`],
    /// [`BtfError::UnexpectedName`]), or a bad reference found once all
    /// types are read ([`BtfError::BadTypeRef`],
    /// [`BtfError::BadNameOffset`], [`BtfError::BadInt`]).
    pub fn parse(bytes: &[u8]) -> Result<Btf, BtfError> {
        let hdr_len = read_preamble(bytes, "BTF", HEADER_LEN)?;
        let data = &bytes[hdr_len..];
        let types = section(data, "type", le32(bytes, 8), le32(bytes, 12))?;
        let strings = section(data, "string", le32(bytes, 16), le32(bytes, 20))?;
        let types = parse_types(types)?;
        Btf::from_parts(types, strings.to_vec())
    }

    /// Writes the table as raw BTF that [`Btf::parse`] reads back to an
    /// equal table: a 24-byte header, the types, the strings.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut types = Vec::new();
        for (_, ty) in self.iter().skip(1) {
            encode(ty, &mut types);
        }
        // The constructors keep both sections far below 4 GiB in practice;
        // saturate rather than wrap if they ever were not.
        let type_len = u32::try_from(types.len()).unwrap_or(u32::MAX);
        let str_len = u32::try_from(self.strings().len()).unwrap_or(u32::MAX);
        let mut out = Vec::with_capacity(HEADER_LEN + types.len() + self.strings().len());
        out.extend_from_slice(&BTF_MAGIC.to_le_bytes());
        out.extend_from_slice(&[1, 0]);
        for word in [HEADER_LEN as u32, 0, type_len, type_len, str_len] {
            out.extend_from_slice(&word.to_le_bytes());
        }
        out.extend_from_slice(&types);
        out.extend_from_slice(self.strings());
        out
    }
}

/// Decodes the type section into the table (with `void` at index 0).
fn parse_types(sec: &[u8]) -> Result<Vec<Type>, BtfError> {
    // Every record is at least 12 bytes: this bounds the table by the
    // input's size.
    let mut types = Vec::with_capacity(sec.len() / 16 + 1);
    types.push(Type::Void);
    let mut at = 0;
    while at < sec.len() {
        let id = TypeId::try_from(types.len()).unwrap_or(TypeId::MAX);
        let (ty, len) = parse_record(sec, at, id)?;
        types.push(ty);
        at += len;
    }
    Ok(types)
}

/// Decodes the record at `at`; returns the type and the record's length.
fn parse_record(sec: &[u8], at: usize, id: TypeId) -> Result<(Type, usize), BtfError> {
    let available = sec.len() - at;
    let truncated = |needed: u64| BtfError::TypeTruncated {
        id,
        offset: at,
        needed,
        available,
    };
    if (available as u64) < RECORD_LEN {
        return Err(truncated(RECORD_LEN));
    }
    let name_off = le32(sec, at);
    let info = le32(sec, at + 4);
    let size_or_type = le32(sec, at + 8);
    let raw_kind = ((info >> 24) & 0x1f) as u8;
    let vlen = u64::from(info & 0xffff);
    let kind_flag = info >> 31 != 0;
    let kind = Kind::from_raw(raw_kind).ok_or(BtfError::UnknownKind {
        id,
        offset: at,
        kind: raw_kind,
    })?;
    let flag_ok = matches!(
        kind,
        Kind::Struct
            | Kind::Union
            | Kind::Enum
            | Kind::Enum64
            | Kind::Fwd
            | Kind::DeclTag
            | Kind::TypeTag
    );
    let vlen_ok = matches!(
        kind,
        Kind::Struct
            | Kind::Union
            | Kind::Enum
            | Kind::Enum64
            | Kind::Func
            | Kind::FuncProto
            | Kind::Datasec
    );
    if info & 0x60ff_0000 != 0 || (kind_flag && !flag_ok) || (vlen != 0 && !vlen_ok) {
        return Err(BtfError::BadInfo {
            id,
            offset: at,
            kind,
            info,
        });
    }
    let extra = match kind {
        Kind::Int | Kind::Var | Kind::DeclTag => 4,
        Kind::Array => 12,
        Kind::Struct | Kind::Union | Kind::Datasec | Kind::Enum64 => 12 * vlen,
        Kind::Enum | Kind::FuncProto => 8 * vlen,
        _ => 0,
    };
    let needed = RECORD_LEN + extra;
    if (available as u64) < needed {
        return Err(truncated(needed));
    }
    // `needed` is at most `available`, so these fit in usize.
    let len = needed as usize;
    let body = &sec[at + RECORD_LEN as usize..at + len];
    if name_off != 0
        && matches!(
            kind,
            Kind::Ptr
                | Kind::Array
                | Kind::Volatile
                | Kind::Const
                | Kind::Restrict
                | Kind::FuncProto
        )
    {
        return Err(BtfError::UnexpectedName {
            id,
            offset: at,
            kind,
        });
    }
    let linkage = |raw: u32| {
        Linkage::from_raw(raw).ok_or(BtfError::BadLinkage {
            id,
            offset: at,
            linkage: raw,
        })
    };
    let target = size_or_type;
    let ty = match kind {
        Kind::Void => Type::Void,
        Kind::Int => {
            let data = le32(body, 0);
            let encoding = IntEncoding::from_raw((data >> 24) & 0x0f);
            match encoding {
                Some(encoding) if data & 0xf000_ff00 == 0 => Type::Int(Int {
                    name_off,
                    size: size_or_type,
                    encoding,
                    offset: ((data >> 16) & 0xff) as u8,
                    bits: (data & 0xff) as u8,
                }),
                _ => {
                    return Err(BtfError::BadIntData {
                        id,
                        offset: at,
                        data,
                    })
                }
            }
        }
        Kind::Ptr => Type::Ptr { target },
        Kind::Array => Type::Array(Array {
            elem: le32(body, 0),
            index: le32(body, 4),
            len: le32(body, 8),
        }),
        Kind::Struct | Kind::Union => {
            let members = body
                .chunks_exact(12)
                .map(|m| {
                    let offset = le32(m, 8);
                    let (bit_offset, bitfield_size) = if kind_flag {
                        (offset & 0x00ff_ffff, offset >> 24)
                    } else {
                        (offset, 0)
                    };
                    Member {
                        name_off: le32(m, 0),
                        ty: le32(m, 4),
                        bit_offset,
                        bitfield_size,
                    }
                })
                .collect();
            let composite = Composite {
                name_off,
                size: size_or_type,
                members,
            };
            if kind == Kind::Struct {
                Type::Struct(composite)
            } else {
                Type::Union(composite)
            }
        }
        Kind::Enum | Kind::Enum64 => {
            let is_64 = kind == Kind::Enum64;
            let values = if is_64 {
                body.chunks_exact(12)
                    .map(|e| Enumerator {
                        name_off: le32(e, 0),
                        value: u64::from(le32(e, 4)) | u64::from(le32(e, 8)) << 32,
                    })
                    .collect()
            } else {
                body.chunks_exact(8)
                    .map(|e| {
                        let raw = le32(e, 4);
                        Enumerator {
                            name_off: le32(e, 0),
                            value: if kind_flag {
                                i64::from(raw as i32) as u64
                            } else {
                                u64::from(raw)
                            },
                        }
                    })
                    .collect()
            };
            Type::Enum(Enum {
                name_off,
                size: size_or_type,
                signed: kind_flag,
                is_64,
                values,
            })
        }
        Kind::Fwd => Type::Fwd {
            name_off,
            union: kind_flag,
        },
        Kind::Typedef => Type::Typedef { name_off, target },
        Kind::Volatile => Type::Volatile { target },
        Kind::Const => Type::Const { target },
        Kind::Restrict => Type::Restrict { target },
        Kind::Func => Type::Func {
            name_off,
            proto: target,
            // vlen is 16 bits wide.
            linkage: linkage(vlen as u32)?,
        },
        Kind::FuncProto => Type::FuncProto {
            ret: target,
            params: body
                .chunks_exact(8)
                .map(|p| Param {
                    name_off: le32(p, 0),
                    ty: le32(p, 4),
                })
                .collect(),
        },
        Kind::Var => Type::Var {
            name_off,
            target,
            linkage: linkage(le32(body, 0))?,
        },
        Kind::Datasec => Type::Datasec(Datasec {
            name_off,
            size: size_or_type,
            vars: body
                .chunks_exact(12)
                .map(|v| VarSecInfo {
                    ty: le32(v, 0),
                    offset: le32(v, 4),
                    size: le32(v, 8),
                })
                .collect(),
        }),
        Kind::Float => Type::Float {
            name_off,
            size: size_or_type,
        },
        Kind::DeclTag => {
            let component = le32(body, 0) as i32;
            if component < -1 {
                return Err(BtfError::BadComponent {
                    id,
                    offset: at,
                    component,
                });
            }
            Type::DeclTag {
                name_off,
                target,
                component,
                attribute: kind_flag,
            }
        }
        Kind::TypeTag => Type::TypeTag {
            name_off,
            target,
            attribute: kind_flag,
        },
    };
    Ok((ty, len))
}

/// Appends `ty`'s record to `out`.
fn encode(ty: &Type, out: &mut Vec<u8>) {
    let mut put = |word: u32| out.extend_from_slice(&word.to_le_bytes());
    // vlen fields are 16 bits; every constructor refuses longer lists
    // (`BtfError::Unencodable`), so the mask never drops anything.
    let vlen = |n: usize| u32::try_from(n).unwrap_or(u32::MAX) & 0xffff;
    let info = |kind: Kind, vlen: u32, flag: bool| {
        u32::from(kind.raw()) << 24 | vlen | u32::from(flag) << 31
    };
    let kind = ty.kind();
    match ty {
        Type::Void => {}
        Type::Int(int) => {
            put(int.name_off);
            put(info(kind, 0, false));
            put(int.size);
            put(int.encoding.raw() << 24 | u32::from(int.offset) << 16 | u32::from(int.bits));
        }
        Type::Ptr { target }
        | Type::Volatile { target }
        | Type::Const { target }
        | Type::Restrict { target } => {
            put(0);
            put(info(kind, 0, false));
            put(*target);
        }
        Type::Typedef { name_off, target } => {
            put(*name_off);
            put(info(kind, 0, false));
            put(*target);
        }
        Type::TypeTag {
            name_off,
            target,
            attribute,
        } => {
            put(*name_off);
            put(info(kind, 0, *attribute));
            put(*target);
        }
        Type::Array(a) => {
            put(0);
            put(info(kind, 0, false));
            put(0);
            put(a.elem);
            put(a.index);
            put(a.len);
        }
        Type::Struct(c) | Type::Union(c) => {
            let flag = c.has_bitfields();
            put(c.name_off);
            put(info(kind, vlen(c.members.len()), flag));
            put(c.size);
            for m in &c.members {
                put(m.name_off);
                put(m.ty);
                put(if flag {
                    m.bitfield_size << 24 | m.bit_offset
                } else {
                    m.bit_offset
                });
            }
        }
        Type::Enum(e) => {
            put(e.name_off);
            put(info(kind, vlen(e.values.len()), e.signed));
            put(e.size);
            for v in &e.values {
                put(v.name_off);
                put(v.value as u32);
                if e.is_64 {
                    put((v.value >> 32) as u32);
                }
            }
        }
        Type::Fwd { name_off, union } => {
            put(*name_off);
            put(info(kind, 0, *union));
            put(0);
        }
        Type::Func {
            name_off,
            proto,
            linkage,
        } => {
            put(*name_off);
            put(info(kind, linkage.raw(), false));
            put(*proto);
        }
        Type::FuncProto { ret, params } => {
            put(0);
            put(info(kind, vlen(params.len()), false));
            put(*ret);
            for p in params {
                put(p.name_off);
                put(p.ty);
            }
        }
        Type::Var {
            name_off,
            target,
            linkage,
        } => {
            put(*name_off);
            put(info(kind, 0, false));
            put(*target);
            put(linkage.raw());
        }
        Type::Datasec(d) => {
            put(d.name_off);
            put(info(kind, vlen(d.vars.len()), false));
            put(d.size);
            for v in &d.vars {
                put(v.ty);
                put(v.offset);
                put(v.size);
            }
        }
        Type::Float { name_off, size } => {
            put(*name_off);
            put(info(kind, 0, false));
            put(*size);
        }
        Type::DeclTag {
            name_off,
            target,
            component,
            attribute,
        } => {
            put(*name_off);
            put(info(kind, 0, *attribute));
            put(*target);
            put(*component as u32);
        }
    }
}
