//! `--map` specifications, creating the maps, and printing what they hold.

use crate::hex;
use crate::Failure;
use bpfbox::abi::{MapDef, MapType};
use bpfbox::maps::DEFAULT_MEMORY_LIMIT;
use bpfbox::{Map, MapOptions};

/// The form of a `--map` value.
pub const SPEC_FORM: &str = "NAME:TYPE:KEY_SIZE:VALUE_SIZE:MAX_ENTRIES[:FLAGS]";

/// One `--map`: a name and a definition, not yet checked by the library.
#[derive(Clone, Debug)]
pub struct MapSpec {
    pub name: String,
    pub def: MapDef,
}

/// Parses `NAME:TYPE:KEY_SIZE:VALUE_SIZE:MAX_ENTRIES[:FLAGS]`.
pub fn parse_spec(text: &str) -> Result<MapSpec, String> {
    let parts: Vec<&str> = text.split(':').collect();
    let [name, type_name, key_size, value_size, max_entries, ref rest @ ..] = parts[..] else {
        return Err(format!("expected {SPEC_FORM}"));
    };
    let flags = match rest {
        [] => "0",
        [flags] => flags,
        _ => return Err(format!("expected {SPEC_FORM}")),
    };
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
    {
        return Err(format!(
            "map name `{}` is not letters, digits, `_` and `.`",
            shown(name)
        ));
    }
    let map_type = MapType::ALL
        .iter()
        .copied()
        .find(|t| t.name() == type_name)
        .ok_or_else(|| {
            let names: Vec<&str> = MapType::ALL.iter().map(|t| t.name()).collect();
            format!(
                "unknown map type `{}` (one of {})",
                shown(type_name),
                names.join(", ")
            )
        })?;
    let number = |what: &str, text: &str| {
        hex::parse_u32(text)
            .ok_or_else(|| format!("{what} `{}` is not a 32-bit number", shown(text)))
    };
    Ok(MapSpec {
        name: name.to_owned(),
        def: MapDef {
            map_type,
            key_size: number("KEY_SIZE", key_size)?,
            value_size: number("VALUE_SIZE", value_size)?,
            max_entries: number("MAX_ENTRIES", max_entries)?,
            flags: number("FLAGS", flags)?,
        },
    })
}

/// At most 32 characters of a piece of hostile input, for a message.
fn shown(text: &str) -> String {
    text.chars().take(32).collect()
}

/// Options every map is created with: one CPU slot (runs use slot 0), so
/// per-CPU maps hold one value per element, and the default memory limit.
fn options() -> MapOptions {
    MapOptions {
        cpus: 1,
        ..MapOptions::default()
    }
}

/// Creates the maps in order; all of them together may take at most
/// [`DEFAULT_MEMORY_LIMIT`] bytes.
pub fn create(specs: &[MapSpec]) -> Result<Vec<Map>, Failure> {
    for (index, spec) in specs.iter().enumerate() {
        if specs[..index].iter().any(|s| s.name == spec.name) {
            return Err(Failure::Usage(format!(
                "--map {}: the name is given twice",
                spec.name
            )));
        }
    }
    let options = options();
    let mut total = 0usize;
    let mut maps = Vec::with_capacity(specs.len());
    for spec in specs {
        let refused =
            |e: &dyn std::fmt::Display| Failure::Load(format!("--map {}: {e}", spec.name));
        let needed = Map::memory_needed(&spec.def, &options).map_err(|e| refused(&e))?;
        total = total.saturating_add(needed);
        if total > DEFAULT_MEMORY_LIMIT {
            return Err(Failure::Load(format!(
                "--map {}: the maps would take {total} bytes, more than the limit of {DEFAULT_MEMORY_LIMIT} for all maps",
                spec.name
            )));
        }
        maps.push(Map::create(&spec.name, spec.def, &options).map_err(|e| refused(&e))?);
    }
    Ok(maps)
}

/// Takes what a run sent to ring buffers and perf event arrays, as output
/// lines: `ringbuf NAME: HEX` per record, then `perf NAME cpu N: HEX` per
/// event, map by map.
pub fn take_events(maps: &[Map], lines: &mut Vec<String>) -> Result<(), Failure> {
    let failed = |map: &Map, e: bpfbox::MapError| Failure::Run(format!("map {}: {e}", map.name()));
    for map in maps {
        if map.def().map_type == MapType::Ringbuf {
            for record in map.ringbuf_consume().map_err(|e| failed(map, e))? {
                lines.push(format!("ringbuf {}: {}", map.name(), hex::encode(&record)));
            }
        }
    }
    for map in maps {
        if map.def().map_type == MapType::PerfEventArray {
            for event in map.perf_events().map_err(|e| failed(map, e))? {
                lines.push(format!(
                    "perf {} cpu {}: {}",
                    map.name(),
                    event.cpu,
                    hex::encode(&event.data)
                ));
            }
        }
    }
    Ok(())
}

/// The `--dump-maps` lines of every map, in order: `map NAME (TYPE): KEY =
/// VALUE` per element (array-like maps by index, others by key bytes),
/// `map NAME (TYPE): VALUE` per queued value (queues and stacks, in pop
/// order, which empties them), nothing for ring buffers and perf event
/// arrays (their records are printed after each run), and `map NAME
/// (TYPE): cannot dump: REASON` when the library does not hand the
/// contents out.
pub fn dump(maps: &[Map], lines: &mut Vec<String>) {
    for map in maps {
        let map_type = map.def().map_type;
        let prefix = format!("map {} ({map_type}):", map.name());
        let result = match map_type {
            MapType::Ringbuf | MapType::PerfEventArray => Ok(()),
            MapType::Queue | MapType::Stack => dump_queue(map, &prefix, lines),
            _ => dump_elements(map, &prefix, lines),
        };
        if let Err(e) = result {
            lines.push(format!("{prefix} cannot dump: {e}"));
        }
    }
}

fn dump_queue(map: &Map, prefix: &str, lines: &mut Vec<String>) -> Result<(), bpfbox::MapError> {
    while let Some(value) = map.pop()? {
        lines.push(format!("{prefix} {}", hex::encode(&value)));
    }
    Ok(())
}

fn dump_elements(map: &Map, prefix: &str, lines: &mut Vec<String>) -> Result<(), bpfbox::MapError> {
    let mut keys = map.keys()?;
    let indexed = matches!(
        map.def().map_type,
        MapType::Array | MapType::PercpuArray | MapType::Devmap | MapType::Cpumap | MapType::Xskmap
    );
    if !indexed {
        keys.sort();
    }
    let mut entries = Vec::with_capacity(keys.len());
    for key in keys {
        if let Some(value) = map.lookup(&key)? {
            entries.push(format!(
                "{prefix} {} = {}",
                hex::encode(&key),
                value_text(map, &value)
            ));
        }
    }
    // Only when every element could be read: a failure prints one line.
    lines.extend(entries);
    Ok(())
}

/// A value as the host reads it: per-CPU values are one padded value per
/// CPU slot; each is cut to `value_size` and they are separated by spaces.
fn value_text(map: &Map, value: &[u8]) -> String {
    let def = map.def();
    if !def.is_percpu() {
        return hex::encode(value);
    }
    let size = def.value_size as usize;
    let slots: Vec<String> = value
        .chunks(size.next_multiple_of(8).max(1))
        .map(|slot| hex::encode(&slot[..size.min(slot.len())]))
        .collect();
    slots.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        let spec = parse_spec("counts:hash:4:8:16").unwrap();
        assert_eq!(spec.name, "counts");
        assert_eq!(
            spec.def,
            MapDef {
                map_type: MapType::Hash,
                key_size: 4,
                value_size: 8,
                max_entries: 16,
                flags: 0
            }
        );
        assert_eq!(parse_spec("r:ringbuf:0:0:4096:0x8").unwrap().def.flags, 8);
        for bad in [
            "",
            "a",
            "a:hash:4:8",
            "a:hash:4:8:1:0:0",
            ":hash:4:8:1",
            "a b:hash:4:8:1",
            "a:frob:4:8:1",
            "a:hash:-4:8:1",
            "a:hash:4:8:99999999999",
            "a:hash:4:8:1:",
        ] {
            assert!(parse_spec(bad).is_err(), "{bad}");
        }
    }
}
