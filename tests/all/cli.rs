//! The `bpfbox` command line: each subcommand's output, the exit statuses
//! (1 run-time failure, 2 usage, 3 input that cannot be loaded) and their
//! one-line messages.

use crate::spawn;
use std::path::{Path, PathBuf};
use std::process::Output;

/// A scratch directory for one test, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("bpfbox-cli-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    /// Writes `contents` to `name` in the directory; returns its path.
    fn file(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn bpfbox(args: &[&str]) -> Output {
    let mut command = spawn::command(env!("CARGO_BIN_EXE_bpfbox"));
    command.args(args);
    spawn::output(&mut command, b"")
}

fn path(path: &Path) -> &str {
    path.to_str().expect("temp paths are UTF-8")
}

/// Asserts exit status `code` with exactly `stdout` and `stderr`.
#[track_caller]
fn assert_output(output: &Output, code: i32, stdout: &str, stderr: &str) {
    assert_eq!(
        (
            output.status.code(),
            spawn::stdout(output).as_str(),
            spawn::stderr(output).as_str()
        ),
        (Some(code), stdout, stderr)
    );
}

/// Asserts a failure with exit status `code`, nothing on stdout and a
/// single line on stderr starting with `prefix`.
#[track_caller]
fn assert_error(output: &Output, code: i32, prefix: &str) {
    let stderr = spawn::stderr(output);
    assert_eq!(output.status.code(), Some(code), "{stderr}");
    assert!(spawn::stdout(output).is_empty());
    assert!(
        stderr.starts_with(prefix),
        "{stderr:?} does not start with {prefix:?}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
}

const FORTY_TWO: &str = "mov %r0, 42\nexit\n";
const FORTY_TWO_BYTES: [u8; 16] = [0xb7, 0, 0, 0, 42, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0];

#[test]
fn asm_writes_raw_bytecode() {
    let dir = TempDir::new("asm");
    let input = dir.file("prog.s", FORTY_TWO);
    let output = dir.0.join("prog.bin");
    assert_output(
        &bpfbox(&["asm", path(&input), "-o", path(&output)]),
        0,
        "",
        "",
    );
    assert_eq!(std::fs::read(&output).unwrap(), FORTY_TWO_BYTES);
}

#[test]
fn disasm_prints_one_instruction_per_line() {
    let dir = TempDir::new("disasm");
    let bin = dir.file("prog.bin", FORTY_TWO_BYTES);
    assert_output(&bpfbox(&["disasm", path(&bin)]), 0, "r0 = 0x2a\nexit\n", "");
    let conformance = bpfbox(&["disasm", path(&bin), "--syntax", "conformance"]);
    assert_output(&conformance, 0, "mov %r0, 42\nexit\n", "");
    // Assembler text is read by its extension too.
    let text = dir.file("prog.asm", FORTY_TWO);
    assert_output(
        &bpfbox(&["disasm", path(&text)]),
        0,
        "r0 = 0x2a\nexit\n",
        "",
    );
}

#[test]
fn asm_and_disasm_round_trip_through_files() {
    let dir = TempDir::new("round-trip");
    let source = "\
        mov %r0, 0\n\
        ldxb %r2, [%r1+3]\n\
        lddw %r3, 0x1122334455667788\n\
        loop:\n\
        add32 %r0, %r2\n\
        sub %r2, 1\n\
        jsgt %r2, 0, loop\n\
        stxdw [%r10-8], %r3\n\
        lock fetch add [%r10-8], %r0\n\
        call local done\n\
        exit\n\
        done:\n\
        be16 %r0\n\
        exit\n";
    let first = dir.0.join("first.bin");
    assert_output(
        &bpfbox(&["asm", path(&dir.file("in.s", source)), "-o", path(&first)]),
        0,
        "",
        "",
    );
    let listing = bpfbox(&["disasm", "--syntax", "conformance", path(&first)]);
    assert_eq!(listing.status.code(), Some(0));
    let text = dir.file("listing.s", &listing.stdout);
    let second = dir.0.join("second.bin");
    assert_output(
        &bpfbox(&["asm", path(&text), "-o", path(&second)]),
        0,
        "",
        "",
    );
    assert_eq!(
        std::fs::read(&first).unwrap(),
        std::fs::read(&second).unwrap()
    );
}

#[test]
fn run_prints_r0_in_hex() {
    let dir = TempDir::new("run");
    assert_output(
        &bpfbox(&["run", path(&dir.file("p.s", FORTY_TWO))]),
        0,
        "0x2a\n",
        "",
    );
    assert_output(
        &bpfbox(&["run", path(&dir.file("p.bin", FORTY_TWO_BYTES))]),
        0,
        "0x2a\n",
        "",
    );
    let other = dir.file("p.txt", FORTY_TWO);
    assert_output(
        &bpfbox(&["run", "--format", "asm", path(&other)]),
        0,
        "0x2a\n",
        "",
    );
    // Helper 5 of the conformance table returns its argument.
    let helper = dir.file("h.s", "mov %r1, 7\ncall 5\nexit");
    assert_output(&bpfbox(&["run", path(&helper)]), 0, "0x7\n", "");
}

#[test]
fn run_takes_memory_as_hex_or_from_a_file() {
    let dir = TempDir::new("run-mem");
    // r0 = mem[2] + len
    let prog = dir.file("p.s", "ldxb %r0, [%r1+2]\nadd %r0, %r2\nexit");
    let prog = path(&prog);
    assert_output(
        &bpfbox(&["run", prog, "--mem", "00 01 f0"]),
        0,
        "0xf3\n",
        "",
    );
    assert_output(&bpfbox(&["run", prog, "--mem", "0001f0"]), 0, "0xf3\n", "");
    assert_output(
        &bpfbox(&["run", prog, "--mem", "00  01f0 00  "]),
        0,
        "0xf4\n",
        "",
    );
    let mem = dir.file("mem.bin", [0u8, 1, 0xf0, 0, 0]);
    assert_output(
        &bpfbox(&["run", prog, "--mem-file", path(&mem)]),
        0,
        "0xf5\n",
        "",
    );
}

#[test]
fn trace_prints_each_instruction_and_the_registers_it_changed() {
    let dir = TempDir::new("trace");
    let prog = dir.file("p.s", "mov %r0, 1\nmov %r1, %r0\nexit");
    let output = bpfbox(&["run", "--trace", path(&prog)]);
    assert_output(
        &output,
        0,
        "0x1\n",
        "0: r0 = 0x1 ; r0 = 0x1\n1: r1 = r0 ; r1 = 0x1\n2: exit\n",
    );
}

#[test]
fn run_time_failures_exit_1() {
    let dir = TempDir::new("exit-1");
    let oob = dir.file("oob.s", "ldxw %r0, [%r1+1]\nexit");
    let output = bpfbox(&["run", path(&oob), "--mem", "00 00 00 00"]);
    assert_error(&output, 1, "error: pc 0: out-of-bounds 4-byte read at 0x");

    let spin = dir.file("spin.s", "mov %r0, 0\nja -1\nexit");
    let output = bpfbox(&["run", path(&spin), "--budget", "5"]);
    assert_output(
        &output,
        1,
        "",
        "error: pc 1: instruction budget of 5 exhausted after 5 instructions\n",
    );
}

#[test]
fn usage_errors_exit_2() {
    let dir = TempDir::new("exit-2");
    let prog = dir.file("p.s", FORTY_TWO);
    let prog = path(&prog);
    for args in [
        &["frob"][..],
        &["run"][..],
        &["asm", prog][..],
        &["run", prog, "--budget", "5", "--no-budget"][..],
        &["run", prog, "--mem", "00", "--mem-file", prog][..],
        &["disasm", prog, "--syntax", "intel"][..],
    ] {
        let output = bpfbox(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(spawn::stderr(&output).starts_with("error: "), "{args:?}");
    }
    let output = bpfbox(&["run", prog, "--mem", "00 1"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = spawn::stderr(&output);
    assert!(
        stderr.contains("`1` is not a sequence of two-digit hex bytes"),
        "{stderr}"
    );

    let text = dir.file("p.txt", FORTY_TWO);
    let want = format!(
        "error: cannot tell the format of `{}` from its name (.bin/.raw or .s/.asm); pass --format raw|asm\n",
        path(&text)
    );
    assert_output(&bpfbox(&["run", path(&text)]), 2, "", &want);
}

#[test]
fn inputs_that_cannot_be_loaded_exit_3() {
    let dir = TempDir::new("exit-3");
    let missing = dir.0.join("missing.bin");
    assert_error(
        &bpfbox(&["run", path(&missing)]),
        3,
        &format!("error: {}: ", path(&missing)),
    );

    let odd = dir.file("odd.bin", [0x95, 0, 0, 0]);
    let output = bpfbox(&["disasm", path(&odd)]);
    let want = format!(
        "error: {}: instruction 0: program length 4 is not a multiple of 8 bytes\n",
        path(&odd)
    );
    assert_output(&output, 3, "", &want);

    let bad = dir.file("bad.s", "mov %r0, 1\nfrob %r0\nexit");
    let output = bpfbox(&["asm", path(&bad), "-o", path(&dir.0.join("out.bin"))]);
    let want = format!("error: {}: line 2: unknown mnemonic `frob`\n", path(&bad));
    assert_output(&output, 3, "", &want);

    let helper = dir.file("helper.s", "call 7\nexit");
    let output = bpfbox(&["run", path(&helper)]);
    let want = format!(
        "error: {}: instruction 0: unknown helper 7\n",
        path(&helper)
    );
    assert_output(&output, 3, "", &want);

    let prog = dir.file("p.s", FORTY_TWO);
    let unwritable = dir.0.join("no-such-dir").join("out.bin");
    assert_error(
        &bpfbox(&["asm", path(&prog), "-o", path(&unwritable)]),
        3,
        &format!("error: {}: ", path(&unwritable)),
    );
}
