//! `bpfbox-plugin` driven the way the bpf_conformance runner drives it:
//! memory as one argument, the program as hex on stdin, r0 or the error text
//! compared on the output. Runs every `.data` file in `tests/data/`, then the
//! plugin's own edge cases.

use crate::data_file::{self, Expected};
use crate::spawn;
use bpfbox::isa::asm;
use std::path::Path;
use std::process::Output;

/// Bytes in the protocol's form: two hex digits and two spaces each.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}  ")).collect()
}

/// Runs the plugin on `program` (bytecode) with the memory argument, when
/// given, followed by `options`.
fn plugin(memory: Option<&[u8]>, options: &[&str], program: &[u8]) -> Output {
    let mut command = spawn::command(env!("CARGO_BIN_EXE_bpfbox-plugin"));
    command.args(memory.map(hex)).args(options);
    spawn::output(&mut command, format!("{}\n", hex(program)).as_bytes())
}

fn plugin_asm(memory: Option<&[u8]>, text: &str) -> Output {
    plugin(memory, &[], &asm::assemble(text).unwrap().to_bytes())
}

/// What the runner compares with `-- error`: stdout, or stderr when stdout
/// is empty, cut at the first carriage return, trailing white space removed.
fn error_text(output: &Output) -> String {
    let text = match spawn::stdout(output) {
        out if out.is_empty() => spawn::stderr(output),
        out => out,
    };
    text.split('\r').next().unwrap_or("").trim_end().to_string()
}

/// Asserts a successful run printing `r0` in hex and nothing else.
#[track_caller]
fn assert_r0(output: &Output, r0: u64) {
    assert_eq!(
        (
            output.status.code(),
            spawn::stdout(output),
            spawn::stderr(output)
        ),
        (Some(0), format!("{r0:x}\n"), String::new())
    );
}

/// Asserts a failure with exit status `code`, `stdout` and `stderr`.
#[track_caller]
fn assert_failure(output: &Output, code: i32, stdout: &str, stderr: &str) {
    assert_eq!(
        (
            output.status.code(),
            spawn::stdout(output),
            spawn::stderr(output)
        ),
        (Some(code), stdout.to_string(), stderr.to_string())
    );
}

/// An ELF object as the bpf_conformance runner writes one for `--elf`: the
/// program as global function `main` of section `section`, the symbol
/// names in the section-name table.
fn runner_elf(section: &str, code: &[u8]) -> Vec<u8> {
    let names = format!("\0.symtab\0{section}\0.shstrtab\0main\0");
    let name_at = |name: &str| names.find(&format!("\0{name}\0")).unwrap() as u32 + 1;
    let code_at = 64usize;
    let symtab_at = (code_at + code.len()).next_multiple_of(8);
    let names_at = symtab_at + 48;
    let headers_at = (names_at + names.len()).next_multiple_of(8);
    let mut elf = vec![0u8; headers_at + 4 * 64];
    elf[..8].copy_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0]);
    let put = |elf: &mut Vec<u8>, at: usize, bytes: &[u8]| {
        elf[at..at + bytes.len()].copy_from_slice(bytes)
    };
    put(&mut elf, 16, &1u16.to_le_bytes()); // ET_REL
    put(&mut elf, 18, &247u16.to_le_bytes()); // EM_BPF
    put(&mut elf, 20, &1u32.to_le_bytes());
    put(&mut elf, 40, &(headers_at as u64).to_le_bytes());
    put(&mut elf, 52, &64u16.to_le_bytes());
    put(&mut elf, 58, &64u16.to_le_bytes());
    put(&mut elf, 60, &4u16.to_le_bytes());
    put(&mut elf, 62, &3u16.to_le_bytes());
    put(&mut elf, code_at, code);
    // Symbol 1: main, GLOBAL FUNC in section 2.
    let symbol = symtab_at + 24;
    put(&mut elf, symbol, &name_at("main").to_le_bytes());
    elf[symbol + 4] = 0x12;
    put(&mut elf, symbol + 6, &2u16.to_le_bytes());
    put(&mut elf, symbol + 16, &(code.len() as u64).to_le_bytes());
    put(&mut elf, names_at, names.as_bytes());
    // (name, type, flags, offset, size, link, info, entry size)
    // Section headers 1..=3 (0 is the null one): name, type, flags, file
    // offset, size, link, info, entry size.
    let sections: [[u64; 8]; 3] = [
        [
            name_at(".symtab").into(),
            2,
            0,
            symtab_at as u64,
            48,
            3,
            1,
            24,
        ],
        [
            name_at(section).into(),
            1,
            6,
            code_at as u64,
            code.len() as u64,
            0,
            0,
            0,
        ],
        [
            name_at(".shstrtab").into(),
            3,
            0,
            names_at as u64,
            names.len() as u64,
            0,
            0,
            0,
        ],
    ];
    for (i, [name, kind, flags, offset, size, link, info, entry]) in
        sections.into_iter().enumerate()
    {
        let at = headers_at + (i + 1) * 64;
        put(&mut elf, at, &(name as u32).to_le_bytes());
        put(&mut elf, at + 4, &(kind as u32).to_le_bytes());
        put(&mut elf, at + 8, &flags.to_le_bytes());
        put(&mut elf, at + 24, &offset.to_le_bytes());
        put(&mut elf, at + 32, &size.to_le_bytes());
        put(&mut elf, at + 40, &(link as u32).to_le_bytes());
        put(&mut elf, at + 44, &(info as u32).to_le_bytes());
        put(&mut elf, at + 48, &8u64.to_le_bytes());
        put(&mut elf, at + 56, &entry.to_le_bytes());
    }
    elf
}

#[test]
fn data_files_pass_through_the_plugin() {
    check_data_files(false);
}

/// The same files, each program sent as an ELF object (`--elf`), in the
/// runner's two section names.
#[test]
fn data_files_pass_through_the_plugin_as_elf_objects() {
    check_data_files(true);
}

fn check_data_files(elf: bool) {
    let tests = data_file::load_all(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data"));
    assert!(!tests.is_empty(), "no .data tests in tests/data");
    let mut failures = Vec::new();
    for (i, test) in tests.iter().enumerate() {
        let output = if elf {
            let section = if i % 2 == 0 { ".text" } else { "xdp" };
            plugin(
                test.memory.as_deref(),
                &["--elf"],
                &runner_elf(section, &test.program),
            )
        } else {
            plugin(test.memory.as_deref(), &[], &test.program)
        };
        let passed = match &test.expected {
            Expected::Result(r0) => {
                output.status.success() && spawn::stdout(&output) == format!("{r0:x}\n")
            }
            Expected::Error(text) => !output.status.success() && error_text(&output) == *text,
            Expected::ErrorPrefix(text) => {
                !output.status.success() && error_text(&output).starts_with(text.as_str())
            }
        };
        if !passed {
            failures.push(format!(
                "{}: expected {:?}, got status {:?}, stdout {:?}, stderr {:?}",
                test.name,
                test.expected,
                output.status.code(),
                spawn::stdout(&output),
                spawn::stderr(&output)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} failed:\n{}",
        failures.len(),
        tests.len(),
        failures.join("\n")
    );
}

#[test]
fn without_memory_r1_and_r2_are_zero() {
    assert_r0(&plugin_asm(None, "mov %r0, %r1\nor %r0, %r2\nexit"), 0);
}

#[test]
fn memory_is_a_writable_aligned_copy() {
    // r2 is the length; the atomic faults unless r1 is 8-byte aligned.
    let text = "lock add [%r1+0], %r2\nldxdw %r0, [%r1+0]\nexit";
    assert_r0(
        &plugin_asm(Some(&[1, 0, 0, 0, 0, 0, 0, 0xff]), text),
        0xff00_0000_0000_0009,
    );
}

#[test]
fn the_conformance_helpers_are_available() {
    assert_r0(&plugin_asm(None, "mov %r1, 7\ncall 5\nexit"), 7);
    // Helper 5 with 0 unwinds: the program ends with r0 = 0 at once.
    assert_r0(
        &plugin_asm(None, "mov %r0, 3\nmov %r1, 0\ncall 5\nmov %r0, 1\nexit"),
        0,
    );
}

#[test]
fn errors_are_one_line_on_stdout_with_status_1() {
    let oob = plugin_asm(Some(&[0; 4]), "ldxw %r0, [%r1+1]\nexit");
    assert_eq!(oob.status.code(), Some(1));
    let text = spawn::stdout(&oob);
    assert!(
        text.starts_with("pc 0: out-of-bounds 4-byte read at 0x"),
        "{text:?}"
    );
    assert_eq!(text.lines().count(), 1, "{text:?}");
    assert!(spawn::stderr(&oob).is_empty());

    assert_failure(
        &plugin_asm(None, "call 7\nexit"),
        1,
        "instruction 0: unknown helper 7\n",
        "",
    );
    // 0x00 is no opcode; the decoder rejects it before anything runs.
    assert_failure(
        &plugin(None, &[], &[0; 8]),
        1,
        "instruction 0: unknown opcode 0x00\n",
        "",
    );
}

#[test]
fn the_default_budget_stops_an_infinite_loop() {
    assert_failure(
        &plugin_asm(None, "ja -1\nexit"),
        1,
        "pc 0: instruction budget of 100000000 exhausted after 100000000 instructions\n",
        "",
    );
}

#[test]
fn malformed_programs_on_stdin() {
    let mut command = spawn::command(env!("CARGO_BIN_EXE_bpfbox-plugin"));
    let output = spawn::output(&mut command, b"b7  00  zz  00\n");
    assert_failure(
        &output,
        1,
        "program on stdin: byte 2: `zz` is not two hex digits\n",
        "",
    );

    let output = plugin(None, &[], &[0x95, 0, 0, 0]);
    assert_failure(
        &output,
        1,
        "instruction 0: program length 4 is not a multiple of 8 bytes\n",
        "",
    );

    let output = plugin(None, &[], &[]);
    assert_failure(&output, 1, "instruction 0: program is empty\n", "");
}

#[test]
fn bad_invocations_exit_2_with_a_message_on_stderr() {
    let program = asm::assemble("mov %r0, 1\nexit").unwrap().to_bytes();
    for (memory, options, message) in [
        (None, &["--bogus"][..], "unknown option `--bogus`"),
        (
            Some(&[1u8][..]),
            &["--bogus"][..],
            "unknown option `--bogus`",
        ),
        (
            None,
            &["--jit"][..],
            "the JIT is not available in this build; run without --jit",
        ),
        (
            Some(&[1u8][..]),
            &["extra"][..],
            "unexpected argument `extra` after the memory",
        ),
    ] {
        let output = plugin(memory, options, &program);
        assert_eq!(output.status.code(), Some(2), "{options:?}");
        assert!(spawn::stdout(&output).is_empty(), "{options:?}");
        let stderr = spawn::stderr(&output);
        assert_eq!(
            stderr.lines().next(),
            Some(format!("error: {message}").as_str())
        );
        assert!(stderr.contains("usage: bpfbox-plugin"), "{stderr}");
    }
    let mut command = spawn::command(env!("CARGO_BIN_EXE_bpfbox-plugin"));
    command.arg("00  0g  ");
    let output = spawn::output(&mut command, format!("{}\n", hex(&program)).as_bytes());
    assert_eq!(output.status.code(), Some(2));
    let stderr = spawn::stderr(&output);
    assert_eq!(
        stderr.lines().next(),
        Some("error: memory argument: byte 1: `0g` is not two hex digits")
    );
}

/// `--elf`: the runner sends an object with the program as `main` in
/// `.text`; an object from clang works the same way (its first program).
#[test]
fn elf_objects_on_stdin() {
    let object = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/bpf/cpu_v4.o")).unwrap();
    // cpu_checksum reads xdp_md->data; as a conformance program r1 is the
    // memory, whose first words are then taken as the packet pointers: give
    // it none, so it reads nothing and returns 0 for a short "packet".
    let output = plugin(Some(&[0u8; 8]), &["--elf"], &object);
    assert_r0(&output, 0);
    let output = plugin(None, &["--elf"], &[0x7f, b'E', b'L', b'F']);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        error_text(&output),
        "ELF header: 4 bytes is too short for an ELF header (64 bytes)"
    );
}
