//! `bpfbox-plugin`: the bpf_conformance plugin for bpfbox's interpreter.
//!
//! Protocol (see `shared/reference/conformance.md`): `bpfbox-plugin [MEMORY]
//! [OPTIONS...]`, where MEMORY, present only when it does not start with `--`,
//! is the input memory as two-digit hex bytes separated by white space, and
//! the program arrives on stdin in the same form. The program runs under the
//! conformance program type ([`bpfbox::conformance`]) with the default
//! instruction budget over a writable, 8-byte-aligned copy of the memory.
//!
//! Output, for the runner's comparisons:
//! - success: r0 in lowercase hex without `0x`, then a newline; exit 0;
//! - the program cannot be read, decoded, loaded or fails at run time: the
//!   error's text alone (no `error:` prefix) on stdout, one line; exit 1.
//!   A `-- error` section holds exactly that text, for example
//!   `pc 3: out-of-bounds 4-byte read at 0x…` or
//!   `instruction 0: unknown opcode 0x00`;
//! - a bad invocation (malformed MEMORY, an unknown or unsupported option):
//!   `error: …` on stderr; exit 2.

use bpfbox::conformance::{self, parse_hex_bytes};
use bpfbox::isa::Program;
use bpfbox::{AlignedMemory, Vm};
use std::io::Read;
use std::process::ExitCode;

const USAGE: &str = "usage: bpfbox-plugin [MEMORY] [OPTIONS...] < PROGRAM
  MEMORY   input memory as hex bytes (\"00  01  ff  \"); r1 points to a copy
  PROGRAM  on stdin: the bytecode as hex bytes, 8 per instruction slot
Prints r0 in hex. Options: --jit and --elf are recognised but not available
in this build.";

fn main() -> ExitCode {
    let memory = match parse_args(std::env::args().skip(1)) {
        Ok(Some(memory)) => memory,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut stdin = Vec::new();
    let result = match std::io::stdin().read_to_end(&mut stdin) {
        Ok(_) => run(&stdin, &memory),
        Err(error) => Err(format!("cannot read the program from stdin: {error}")),
    };
    match result {
        Ok(r0) => {
            println!("{r0:x}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            println!("{message}");
            ExitCode::from(1)
        }
    }
}

/// The memory from the arguments; `None` when help was asked for.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Vec<u8>>, String> {
    let mut memory = Vec::new();
    let mut next = args.next();
    if let Some(text) = next.as_deref().filter(|arg| !arg.starts_with("--")) {
        memory = parse_hex_bytes(text).map_err(|e| format!("memory argument: {e}"))?;
        next = args.next();
    }
    // Every option this build knows of is one it cannot honour yet.
    match next.as_deref() {
        None => Ok(Some(memory)),
        Some("--help") => Ok(None),
        Some("--jit") => Err("the JIT is not available in this build; run without --jit".into()),
        Some("--elf") => Err("ELF input is not supported yet; send raw bytecode".into()),
        Some(other) if other.starts_with("--") => Err(format!("unknown option `{other}`")),
        Some(other) => {
            let shown: String = other.chars().take(32).collect();
            Err(format!("unexpected argument `{shown}` after the memory"))
        }
    }
}

/// Decodes the hex program, loads it and runs it over a copy of `memory`.
fn run(stdin: &[u8], memory: &[u8]) -> Result<u64, String> {
    let text =
        std::str::from_utf8(stdin).map_err(|e| format!("program on stdin is not text: {e}"))?;
    let bytes = parse_hex_bytes(text).map_err(|e| format!("program on stdin: {e}"))?;
    let program = Program::from_bytes(&bytes).map_err(|e| e.to_string())?;
    let config = conformance::config();
    let vm = Vm::new(program, config).map_err(|e| e.to_string())?;
    let mut memory = AlignedMemory::copy_from(memory);
    vm.run(memory.as_mut_slice()).map_err(|e| e.to_string())
}
