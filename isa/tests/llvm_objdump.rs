//! The LLVM syntax printer against llvm-objdump itself.
//!
//! The expected text in `tests/fixtures/*.objdump.txt` (repository root)
//! was produced by llvm-objdump 19.1.7 (Debian bookworm's `llvm-19`) from
//! objects built by `tests/fixtures/build.sh`: clang-19 output for the C
//! sources, llvm-mc output for `forms.s` (every instruction form). Each
//! `NAME.bin` is the raw code section of `NAME.o`; disassembling it must
//! give `NAME.objdump.txt` line for line.
//!
//! `differential_against_installed_llvm_objdump` (ignored by default, since
//! it needs LLVM 19 installed) compares random valid programs with the live
//! tool: `cargo test -p bpfbox-isa --test llvm_objdump -- --ignored`.

mod common;

use bpfbox_isa::disasm::{disassemble, Syntax};
use bpfbox_isa::Program;
use std::fs;
use std::path::{Path, PathBuf};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

/// The first line where two texts differ, for a readable failure.
fn first_difference(actual: &str, expected: &str) -> Option<String> {
    let mut expected_lines = expected.lines();
    for (index, line) in actual.lines().enumerate() {
        match expected_lines.next() {
            Some(want) if want == line => continue,
            want => {
                return Some(format!(
                    "instruction {index}: bpfbox prints {line:?}, llvm-objdump {want:?}"
                ))
            }
        }
    }
    expected_lines
        .next()
        .map(|want| format!("llvm-objdump has more: {want:?}"))
}

#[test]
fn fixtures_match_llvm_objdump() {
    let mut checked = Vec::new();
    for entry in fs::read_dir(fixtures_dir()).expect("tests/fixtures exists") {
        let path = entry.unwrap().path();
        if path.extension() != Some("bin".as_ref()) {
            continue;
        }
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let bytes = fs::read(&path).unwrap();
        let expected = fs::read_to_string(path.with_extension("objdump.txt"))
            .unwrap_or_else(|e| panic!("{name}.objdump.txt: {e}"));
        let program = Program::from_bytes(&bytes).unwrap_or_else(|e| panic!("{name}.bin: {e}"));
        let actual = disassemble(&program, Syntax::Llvm);
        if let Some(difference) = first_difference(&actual, &expected) {
            panic!("{name}: {difference}");
        }
        checked.push(name);
    }
    checked.sort();
    assert_eq!(
        checked,
        [
            "arithmetic",
            "atomics",
            "control",
            "forms",
            "legacy_and_indirect",
            "memory"
        ]
    );
}

/// Runs a command, panicking with its error output if it fails.
fn run(command: &mut std::process::Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?} (is LLVM 19 installed?): {e}"));
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// llvm-objdump's text of `bytes`, reduced as `tests/fixtures/build.sh`
/// does: swap the bytes into a copy of an existing BPF object's code
/// section, disassemble, keep the instruction text only.
fn llvm_objdump_text(bytes: &[u8], scratch: &Path) -> String {
    let bin = scratch.join("program.bin");
    let object = scratch.join("program.o");
    fs::write(&bin, bytes).unwrap();
    run(std::process::Command::new("llvm-objcopy-19")
        .arg(format!("--update-section=.text={}", bin.display()))
        .arg(fixtures_dir().join("forms.o"))
        .arg(&object));
    let dump = run(std::process::Command::new("llvm-objdump-19")
        .args(["-d", "--mcpu=v4", "--no-show-raw-insn", "--no-leading-addr"])
        .arg(&object));
    let mut text = String::new();
    for line in dump.lines().filter_map(|l| l.strip_prefix('\t')) {
        // Drop a symbolized target such as " <forms+0x18>".
        let line = match line.rfind(" <") {
            Some(at) if line.ends_with('>') && !line[at + 2..].contains(' ') => &line[..at],
            _ => line,
        };
        text.push_str(line);
        text.push('\n');
    }
    text
}

#[test]
#[ignore = "needs llvm-objdump-19 and llvm-objcopy-19"]
fn differential_against_installed_llvm_objdump() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    let scratch = std::env::temp_dir().join(format!("bpfbox-llvm-diff-{}", std::process::id()));
    fs::create_dir_all(&scratch).unwrap();
    let mut runner = TestRunner::new(Config::with_cases(300));
    let result = runner.run(&common::program_instructions(), |instructions| {
        let program = Program::from_instructions(&instructions).unwrap();
        let expected = llvm_objdump_text(&program.to_bytes(), &scratch);
        let actual = disassemble(&program, Syntax::Llvm);
        if let Some(difference) = first_difference(&actual, &expected) {
            return Err(TestCaseError::fail(difference));
        }
        Ok(())
    });
    fs::remove_dir_all(&scratch).ok();
    result.unwrap();
}
