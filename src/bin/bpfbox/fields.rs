//! Context fields of packet programs: `--field NAME=VALUE` and the
//! `field NAME = 0x..` lines.

use crate::hex;
use crate::input::InputKind;
use crate::Failure;
use bpfbox::abi::program_types::{Context, ContextStruct, FieldKind};
use bpfbox::abi::ProgramType;
use bpfbox::Packet;

/// A `--field NAME=VALUE`.
#[derive(Clone, Debug)]
pub struct FieldArg {
    name: String,
    value: u32,
}

pub fn parse_field(text: &str) -> Result<FieldArg, String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| "expected NAME=VALUE".to_owned())?;
    let value = hex::parse_u32(value).ok_or_else(|| {
        let shown: String = value.chars().take(32).collect();
        format!("`{shown}` is not a 32-bit number")
    })?;
    Ok(FieldArg {
        name: name.to_owned(),
        value,
    })
}

/// A context field of a packet program that the host sets and reads.
#[derive(Clone, Copy)]
pub enum Field {
    /// A 4-byte scalar field, by name.
    Named(&'static str),
    /// `cb[index]` of `__sk_buff`.
    Cb(usize),
}

impl Field {
    pub fn set(self, packet: &mut Packet, value: u32) {
        match self {
            Field::Named(name) => {
                packet.set_field(name, value);
            }
            Field::Cb(index) => packet.set_cb(index, value),
        }
    }

    fn get(self, packet: &Packet, xdp: bool) -> Option<u32> {
        match self {
            Field::Named(name) if xdp => packet.xdp_field(name),
            Field::Named(name) => packet.skb_field(name),
            Field::Cb(index) => packet.cb(index),
        }
    }

    fn label(self) -> String {
        match self {
            Field::Named(name) => name.to_owned(),
            Field::Cb(index) => format!("cb[{index}]"),
        }
    }
}

/// The context struct of a packet program type.
fn context_struct(program_type: ProgramType) -> Option<&'static ContextStruct> {
    match program_type.context() {
        Context::Struct(s) if InputKind::of(program_type) == InputKind::Packet => Some(s),
        _ => None,
    }
}

/// Checks each `--field` against the program type's context struct: a
/// 4-byte number the run does not fill in itself, or a `cb` word.
pub fn context_fields(
    program_type: ProgramType,
    fields: &[FieldArg],
) -> Result<Vec<(Field, u32)>, Failure> {
    let Some(layout) = context_struct(program_type) else {
        // `check_inputs` refused --field for other types.
        return Ok(Vec::new());
    };
    let mut checked = Vec::with_capacity(fields.len());
    for arg in fields {
        let shown: String = arg.name.chars().take(32).collect();
        let unknown = || {
            Failure::Usage(format!(
                "--field {shown}: {} has no such 4-byte field",
                layout.name
            ))
        };
        let field = if let Some(index) = cb_index(&arg.name) {
            if layout.field("cb").is_none() {
                return Err(unknown());
            }
            Field::Cb(index)
        } else {
            let field = layout
                .field(&arg.name)
                .filter(|f| f.size == 4)
                .ok_or_else(unknown)?;
            if field.kind != FieldKind::Scalar || matches!(field.name, "len" | "wire_len") {
                return Err(Failure::Usage(format!(
                    "--field {}: the run sets it from the packet",
                    field.name
                )));
            }
            Field::Named(field.name)
        };
        checked.push((field, arg.value));
    }
    Ok(checked)
}

/// `cb[N]` with N in 0..5.
fn cb_index(name: &str) -> Option<usize> {
    let digit = name.strip_prefix("cb[")?.strip_suffix(']')?;
    match digit {
        "0" | "1" | "2" | "3" | "4" => digit.parse().ok(),
        _ => None,
    }
}

/// `field NAME = 0x..` for each context field the program type may write
/// and the run changed, in struct order. Only 4-byte fields and the `cb`
/// words: the library gives no other field back.
pub fn changed_fields(
    program_type: ProgramType,
    before: &Packet,
    after: &Packet,
    lines: &mut Vec<String>,
) {
    let Some(layout) = context_struct(program_type) else {
        return;
    };
    let xdp = program_type == ProgramType::Xdp;
    for f in layout.fields {
        if !f.access.write.contains(program_type) {
            continue;
        }
        let fields: Vec<Field> = if f.name == "cb" {
            (0..5).map(Field::Cb).collect()
        } else if f.size == 4 && f.kind == FieldKind::Scalar {
            vec![Field::Named(f.name)]
        } else {
            Vec::new()
        };
        for field in fields {
            let value = field.get(after, xdp);
            if value != field.get(before, xdp) {
                if let Some(value) = value {
                    lines.push(format!("field {} = {value:#x}", field.label()));
                }
            }
        }
    }
}
