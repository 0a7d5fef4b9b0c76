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

#[test]
fn data_files_pass_through_the_plugin() {
    let tests = data_file::load_all(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data"));
    assert!(!tests.is_empty(), "no .data tests in tests/data");
    let mut failures = Vec::new();
    for test in &tests {
        let output = plugin(test.memory.as_deref(), &[], &test.program);
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
            None,
            &["--elf"][..],
            "ELF input is not supported yet; send raw bytecode",
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
