//! The model of a program's context: the memory r1 points to at entry, and
//! which loads and stores of it each program type may make.

use super::{ProgramType, ProgramTypes};
use thiserror::Error;

/// What a value loaded from a context field is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FieldKind {
    /// A number: the field's bytes as stored (little-endian); a narrow load
    /// reads the bytes it covers.
    Scalar,
    /// A pointer to the packet's first byte.
    PacketStart,
    /// A pointer one past the packet's last byte.
    PacketEnd,
    /// A pointer to the metadata in front of the packet (equal to the
    /// packet start when there is none).
    PacketMeta,
}

impl FieldKind {
    /// Whether the field holds a packet pointer. Such fields are 4 bytes in
    /// the struct, but a load of one yields the full 64-bit pointer (the
    /// kernel rewrites these loads; bpfbox's runtime must do the same).
    pub const fn is_pointer(self) -> bool {
        !matches!(self, FieldKind::Scalar)
    }
}

/// A set of access widths out of 1, 2, 4 and 8 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Widths(u8);

impl Widths {
    /// No width.
    pub const NONE: Widths = Widths(0);
    /// Exactly 1 byte.
    pub const W1: Widths = Widths(1);
    /// Exactly 4 bytes.
    pub const W4: Widths = Widths(4);
    /// Exactly 8 bytes.
    pub const W8: Widths = Widths(8);
    /// 1, 2 or 4 bytes: the full 4-byte field or a narrow part of it.
    pub const UP_TO_4: Widths = Widths(1 | 2 | 4);
    /// 1, 2, 4 or 8 bytes.
    pub const ANY: Widths = Widths(1 | 2 | 4 | 8);

    /// Whether `size` bytes is one of the widths.
    pub const fn contains(self, size: u32) -> bool {
        matches!(size, 1 | 2 | 4 | 8) && self.0 & size as u8 != 0
    }
}

/// Which program types may load and store a field, and with which widths.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FieldAccess {
    /// The program types that may load the field.
    pub read: ProgramTypes,
    /// The widths a load may have.
    pub read_widths: Widths,
    /// The program types that may store to the field.
    pub write: ProgramTypes,
    /// The widths a store may have.
    pub write_widths: Widths,
}

/// One field of a context struct.
///
/// An access of `size` bytes at `offset` touches this field if it starts
/// inside it; it must be naturally aligned (`offset % size == 0`), end
/// inside the field, and have a width the field allows for the operation.
/// A narrow load (shorter than the field) reads the bytes of the field's
/// little-endian value that it covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ContextField {
    /// The field's name in the uapi struct.
    pub name: &'static str,
    /// Byte offset in the struct.
    pub offset: u32,
    /// Size in bytes (an array field, such as `cb`, is one field).
    pub size: u32,
    /// What a load yields.
    pub kind: FieldKind,
    /// Who may access it, and how.
    pub access: FieldAccess,
}

impl ContextField {
    /// One past the field's last byte.
    pub const fn end(&self) -> u32 {
        self.offset + self.size
    }
}

/// A context with a fixed layout: a uapi struct.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ContextStruct {
    /// The struct's name in the uapi headers (`__sk_buff`).
    pub name: &'static str,
    /// Its size in bytes.
    pub size: u32,
    /// Its fields, by ascending offset. Bytes no field covers are padding
    /// and never accessible.
    pub fields: &'static [ContextField],
}

impl ContextStruct {
    /// The field covering byte `offset`, if any.
    pub fn field_at(&self, offset: u32) -> Option<&'static ContextField> {
        let fields: &'static [ContextField] = self.fields;
        let index = fields.partition_point(|f| f.end() <= offset);
        fields.get(index).filter(|f| f.offset <= offset)
    }

    /// The field called `name`.
    pub fn field(&self, name: &str) -> Option<&'static ContextField> {
        let fields: &'static [ContextField] = self.fields;
        fields.iter().find(|f| f.name == name)
    }
}

/// A context without a fixed layout: bytes the host supplies, of a size it
/// chooses (at most `max_size`). Everything loaded from it is a scalar.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ByteContext {
    /// What the bytes are.
    pub description: &'static str,
    /// The first byte a program may access; the bytes before it are the
    /// host's.
    pub first: u32,
    /// The largest size the host may supply (`None`: any size below 4 GiB,
    /// the limit of every context offset). Accesses
    /// beyond it are refused when the program is checked; accesses beyond
    /// the size actually supplied fault at run time.
    pub max_size: Option<u32>,
    /// Whether programs may store to it.
    pub writable: bool,
    /// Whether accesses must be naturally aligned (`offset % size == 0`).
    pub aligned: bool,
    /// The widths accesses may have.
    pub widths: Widths,
}

/// A program type's context.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Context {
    /// A fixed struct.
    Struct(&'static ContextStruct),
    /// Host-supplied bytes.
    Bytes(ByteContext),
}

/// An access to the context.
///
/// Only `ldx` loads and `stx`/`st` stores may access the context; atomic
/// operations on it are always refused (the checker of atomics should not
/// ask). Storing an immediate (`st`) is allowed wherever a register store
/// is, as in Linux 6.3 and later.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CtxOp {
    /// A zero-extending load (`ldx`).
    Load,
    /// A sign-extending load (`ldsx`, CPU v4). Refused for pointer fields.
    LoadSignExtend,
    /// A store (`stx` or `st`).
    Store,
}

impl CtxOp {
    const fn is_load(self) -> bool {
        matches!(self, CtxOp::Load | CtxOp::LoadSignExtend)
    }
}

/// An allowed context access: what it touches and what a load yields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CtxAccess {
    /// The field accessed (`None` for host-supplied bytes).
    pub field: Option<&'static ContextField>,
    /// The access's offset from the start of the field (from the start of
    /// the context for host-supplied bytes).
    pub offset_in_field: u32,
    /// What a load yields.
    pub kind: FieldKind,
}

/// Why a context access is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Error)]
pub enum CtxAccessError {
    /// The access is not inside the accessible part of the context.
    #[error("outside the context")]
    OutOfBounds,
    /// The size is not 1, 2, 4 or 8 bytes.
    #[error("size is not 1, 2, 4 or 8 bytes")]
    BadSize,
    /// The offset is not a multiple of the size.
    #[error("not aligned to its size")]
    Misaligned,
    /// No field covers the offset (padding).
    #[error("in padding")]
    Padding,
    /// The access runs past the end of the field it starts in.
    #[error("crosses the end of field `{0}`")]
    CrossesField(&'static str),
    /// The program type may not load this field.
    #[error("field `{0}` is not readable by this program type")]
    NotReadable(&'static str),
    /// The program type may not store to this field.
    #[error("field `{0}` is not writable by this program type")]
    NotWritable(&'static str),
    /// The field may not be accessed with this width.
    #[error("field `{field}` cannot be accessed with {size} bytes")]
    BadWidth {
        /// The field.
        field: &'static str,
        /// The access's size in bytes.
        size: u32,
    },
    /// A sign-extending load of a pointer field.
    #[error("field `{0}` holds a pointer and cannot be loaded sign-extended")]
    SignExtendPointer(&'static str),
}

/// The start and end of an access, if it lies in `0..=u32::MAX`.
fn span(offset: i64, size: u32) -> Option<(u32, u32)> {
    let start = u32::try_from(offset).ok()?;
    Some((start, start.checked_add(size)?))
}

impl ContextStruct {
    /// Whether program type `ty` may make access `op` of `size` bytes at
    /// `offset`, and what it touches.
    ///
    /// # Errors
    /// The first rule the access breaks.
    pub fn check_access(
        &self,
        ty: ProgramType,
        offset: i64,
        size: u32,
        op: CtxOp,
    ) -> Result<CtxAccess, CtxAccessError> {
        let (start, end) = span(offset, size).ok_or(CtxAccessError::OutOfBounds)?;
        if end > self.size {
            return Err(CtxAccessError::OutOfBounds);
        }
        if !Widths::ANY.contains(size) {
            return Err(CtxAccessError::BadSize);
        }
        if start % size != 0 {
            return Err(CtxAccessError::Misaligned);
        }
        let field = self.field_at(start).ok_or(CtxAccessError::Padding)?;
        if end > field.end() {
            return Err(CtxAccessError::CrossesField(field.name));
        }
        let access = &field.access;
        let widths = if op.is_load() {
            if !access.read.contains(ty) {
                return Err(CtxAccessError::NotReadable(field.name));
            }
            access.read_widths
        } else {
            if !access.write.contains(ty) {
                return Err(CtxAccessError::NotWritable(field.name));
            }
            access.write_widths
        };
        if !widths.contains(size) {
            return Err(CtxAccessError::BadWidth {
                field: field.name,
                size,
            });
        }
        if op == CtxOp::LoadSignExtend && field.kind.is_pointer() {
            return Err(CtxAccessError::SignExtendPointer(field.name));
        }
        Ok(CtxAccess {
            field: Some(field),
            offset_in_field: start - field.offset,
            kind: field.kind,
        })
    }
}

impl ByteContext {
    /// Whether access `op` of `size` bytes at `offset` is allowed (within
    /// `max_size`; the size the host actually supplies is checked at run
    /// time).
    ///
    /// # Errors
    /// The first rule the access breaks.
    pub fn check_access(
        &self,
        offset: i64,
        size: u32,
        op: CtxOp,
    ) -> Result<CtxAccess, CtxAccessError> {
        let (start, end) = span(offset, size).ok_or(CtxAccessError::OutOfBounds)?;
        if start < self.first || self.max_size.is_some_and(|max| end > max) {
            return Err(CtxAccessError::OutOfBounds);
        }
        if !Widths::ANY.contains(size) {
            return Err(CtxAccessError::BadSize);
        }
        if self.aligned && start % size != 0 {
            return Err(CtxAccessError::Misaligned);
        }
        if !self.widths.contains(size) {
            return Err(CtxAccessError::BadWidth {
                field: "context",
                size,
            });
        }
        if op == CtxOp::Store && !self.writable {
            return Err(CtxAccessError::NotWritable("context"));
        }
        Ok(CtxAccess {
            field: None,
            offset_in_field: start,
            kind: FieldKind::Scalar,
        })
    }
}

impl Context {
    /// The size of a fixed context (`None` when the host chooses it).
    pub const fn size(&self) -> Option<u32> {
        match self {
            Context::Struct(s) => Some(s.size),
            Context::Bytes(_) => None,
        }
    }

    /// Whether program type `ty` may make access `op` of `size` bytes at
    /// `offset` of this context, and what it touches.
    ///
    /// # Errors
    /// The first rule the access breaks.
    pub fn check_access(
        &self,
        ty: ProgramType,
        offset: i64,
        size: u32,
        op: CtxOp,
    ) -> Result<CtxAccess, CtxAccessError> {
        match self {
            Context::Struct(s) => s.check_access(ty, offset, size, op),
            Context::Bytes(b) => b.check_access(offset, size, op),
        }
    }
}

/// Builds a table row.
#[allow(clippy::too_many_arguments)]
pub(super) const fn field(
    name: &'static str,
    offset: u32,
    size: u32,
    kind: FieldKind,
    read: ProgramTypes,
    read_widths: Widths,
    write: ProgramTypes,
    write_widths: Widths,
) -> ContextField {
    ContextField {
        name,
        offset,
        size,
        kind,
        access: FieldAccess {
            read,
            read_widths,
            write,
            write_widths,
        },
    }
}
