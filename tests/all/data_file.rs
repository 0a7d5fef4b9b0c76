//! The `.data` test format of the bpf_conformance suite, parsed into
//! [`DataTest`]s for the harnesses that run them (`plugin.rs` through the
//! plugin binary, `engines.rs` in process).
//!
//! A file is a list of sections, each opened by a line starting with `--`:
//! `-- asm` or `-- raw` (the program), `-- mem` (input memory), `-- result`
//! or `-- error` (what must happen). `-- c` and `-- no register offset` are
//! ignored; any other section makes the file skipped, as the suite's runner
//! does. `#` starts a comment; a first line of exactly `# error-prefix`
//! (bpfbox's own extension) means the expected error is a prefix of the
//! message, for messages that hold host addresses.

use bpfbox::conformance::parse_hex_bytes;
use bpfbox::isa::asm;
use std::path::Path;

/// One runnable test.
#[derive(Clone, Debug)]
pub struct DataTest {
    /// The file name.
    pub name: String,
    /// The program's bytecode, little-endian; not decoded (a test may hold
    /// bytes the decoder must reject).
    pub program: Vec<u8>,
    /// The input memory, when the file has `-- mem`.
    pub memory: Option<Vec<u8>>,
    /// What must happen.
    pub expected: Expected,
}

/// The outcome a test expects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expected {
    /// The run ends with this r0.
    Result(u64),
    /// The run fails with exactly this text.
    Error(String),
    /// The run fails with a text starting with this.
    ErrorPrefix(String),
}

/// Every test in the `.data` files of `dir`, sorted by file name; files
/// with sections the suite's runner would skip are left out.
///
/// # Panics
/// When `dir` or a file cannot be read, or a file is malformed (a bug in the
/// test suite), naming the file.
pub fn load_all(dir: &Path) -> Vec<DataTest> {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut paths: Vec<_> = entries
        .map(|entry| {
            entry
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .path()
        })
        .filter(|path| path.extension().is_some_and(|ext| ext == "data"))
        .collect();
    paths.sort();
    paths
        .iter()
        .filter_map(|path| {
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{name}: {e}"));
            parse(&name, &text).unwrap_or_else(|e| panic!("{name}: {e}"))
        })
        .collect()
}

/// Parses one file's text. `Ok(None)` when it has a section the runner
/// skips.
///
/// # Errors
/// A malformed file: text outside a section, a repeated section, not
/// exactly one of `-- asm`/`-- raw` and of `-- result`/`-- error`, a bad
/// number, hex byte or assembler line.
pub fn parse(name: &str, text: &str) -> Result<Option<DataTest>, String> {
    let prefix = text.lines().next().map(str::trim) == Some("# error-prefix");
    let mut sections: Vec<(String, Vec<&str>)> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if let Some(header) = line.strip_prefix("--") {
            let header = header.trim().to_string();
            if sections.iter().any(|(seen, _)| *seen == header) {
                return Err(format!("line {}: second `-- {header}` section", index + 1));
            }
            sections.push((header, Vec::new()));
        } else if !line.is_empty() {
            match sections.last_mut() {
                Some((_, lines)) => lines.push(line),
                None => return Err(format!("line {}: text before the first section", index + 1)),
            }
        }
    }
    const TWO_PROGRAMS: &str = "both `-- asm` and `-- raw`";
    const TWO_OUTCOMES: &str = "both `-- result` and `-- error`";
    let mut program = None;
    let mut memory = None;
    let mut expected = None;
    for (header, lines) in &sections {
        match header.as_str() {
            "asm" => {
                let assembled =
                    asm::assemble(&lines.join("\n")).map_err(|e| format!("-- asm: {e}"))?;
                fill(&mut program, assembled.to_bytes(), TWO_PROGRAMS)?;
            }
            "raw" => fill(&mut program, parse_raw(lines)?, TWO_PROGRAMS)?,
            "mem" => {
                memory =
                    Some(parse_hex_bytes(&lines.join(" ")).map_err(|e| format!("-- mem: {e}"))?);
            }
            "result" => fill(
                &mut expected,
                Expected::Result(parse_result(lines)?),
                TWO_OUTCOMES,
            )?,
            "error" => {
                let [message] = lines[..] else {
                    return Err(format!(
                        "-- error: expected one line, found {}",
                        lines.len()
                    ));
                };
                let message = message.to_string();
                let outcome = if prefix {
                    Expected::ErrorPrefix(message)
                } else {
                    Expected::Error(message)
                };
                fill(&mut expected, outcome, TWO_OUTCOMES)?;
            }
            "c" | "no register offset" => {}
            _ => return Ok(None),
        }
    }
    Ok(Some(DataTest {
        name: name.to_string(),
        program: program.ok_or("no `-- asm` or `-- raw` section")?,
        memory,
        expected: expected.ok_or("no `-- result` or `-- error` section")?,
    }))
}

/// Puts `value` in the empty `slot`; `clash` is the error when it is full.
fn fill<T>(slot: &mut Option<T>, value: T, clash: &str) -> Result<(), String> {
    match slot {
        None => {
            *slot = Some(value);
            Ok(())
        }
        Some(_) => Err(clash.to_string()),
    }
}

/// Each token one 64-bit instruction in hex, `0x` optional.
fn parse_raw(lines: &[&str]) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    for token in lines.iter().flat_map(|line| line.split_whitespace()) {
        let digits = token.strip_prefix("0x").unwrap_or(token);
        let word =
            u64::from_str_radix(digits, 16).map_err(|e| format!("-- raw: `{token}`: {e}"))?;
        bytes.extend_from_slice(&word.to_le_bytes());
    }
    Ok(bytes)
}

/// Hex when it contains `0x`, else decimal (negative numbers as two's
/// complement).
fn parse_result(lines: &[&str]) -> Result<u64, String> {
    let [token] = lines[..] else {
        return Err(format!(
            "-- result: expected one value, found {} lines",
            lines.len()
        ));
    };
    let parsed = if let Some(digits) = token.strip_prefix("0x") {
        u64::from_str_radix(digits, 16).map_err(|e| e.to_string())
    } else if token.starts_with('-') {
        token
            .parse::<i64>()
            .map(|v| v as u64)
            .map_err(|e| e.to_string())
    } else {
        token.parse::<u64>().map_err(|e| e.to_string())
    };
    parsed.map_err(|e| format!("-- result: `{token}`: {e}"))
}

#[test]
fn parses_every_section_kind() {
    let text = "# error-prefix\n# comment\n-- asm\nmov %r0, 1 # one\nexit\n-- mem\n00 01\nff\n-- c\nint x = 1;\n-- error\npc 0: out-of-bounds\n";
    let test = parse("t.data", text).unwrap().unwrap();
    assert_eq!(
        test.program,
        asm::assemble("mov %r0, 1\nexit").unwrap().to_bytes()
    );
    assert_eq!(test.memory, Some(vec![0, 1, 0xff]));
    assert_eq!(
        test.expected,
        Expected::ErrorPrefix("pc 0: out-of-bounds".into())
    );

    let raw = parse("r.data", "-- raw\n0x00000000000000b7 95\n-- result\n-1\n")
        .unwrap()
        .unwrap();
    assert_eq!(
        raw.program,
        [0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]
    );
    assert_eq!(raw.memory, None);
    assert_eq!(raw.expected, Expected::Result(u64::MAX));

    let hex = parse("h.data", "-- asm\nexit\n-- result\n0x2a\n")
        .unwrap()
        .unwrap();
    assert_eq!(hex.expected, Expected::Result(42));
    let exact = parse("e.data", "-- asm\nexit\n-- error\npc 1: x\n")
        .unwrap()
        .unwrap();
    assert_eq!(exact.expected, Expected::Error("pc 1: x".into()));
}

#[test]
fn skips_unknown_sections_and_rejects_malformed_files() {
    assert!(parse("s.data", "-- asm\nexit\n-- elf\n00\n-- result\n0\n")
        .unwrap()
        .is_none());
    for (text, want) in [
        (
            "exit\n-- result\n0\n",
            "line 1: text before the first section",
        ),
        ("-- asm\nexit\n", "no `-- result` or `-- error` section"),
        ("-- result\n0\n", "no `-- asm` or `-- raw` section"),
        (
            "-- asm\nexit\n-- raw\n95\n-- result\n0\n",
            "both `-- asm` and `-- raw`",
        ),
        (
            "-- asm\nexit\n-- result\n0\n-- error\nx\n",
            "both `-- result` and `-- error`",
        ),
        (
            "-- asm\nexit\n-- asm\nexit\n-- result\n0\n",
            "line 3: second `-- asm` section",
        ),
        (
            "-- asm\nexit\n-- result\n0x\n",
            "-- result: `0x`: cannot parse integer from empty string",
        ),
        (
            "-- asm\nexit\n-- mem\n0\n-- result\n0\n",
            "-- mem: byte 0: `0` is not two hex digits",
        ),
        (
            "-- asm\nfrob\n-- result\n0\n",
            "-- asm: line 1: unknown mnemonic `frob`",
        ),
    ] {
        assert_eq!(parse("bad.data", text).unwrap_err(), want, "{text}");
    }
}
