//! `bpfbox-plugin`: the bpf_conformance plugin for bpfbox's interpreter.
//!
//! Protocol (see `shared/reference/conformance.md`): `bpfbox-plugin [MEMORY]
//! [OPTIONS...]`, where MEMORY, present only when it does not start with `--`,
//! is the input memory as two-digit hex bytes separated by white space, and
//! the program arrives on stdin in the same form. The program runs under the
//! conformance program type ([`bpfbox::conformance`]) with the default
//! instruction budget over a writable, 8-byte-aligned copy of the memory.
//! With `--elf`, stdin holds an ELF object instead (as the runner writes
//! one: the program as function `main` of section `.text` or `xdp`), which
//! the ELF loader links; its first program runs, as above.
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

use bpfbox::abi::ProgramType;
use bpfbox::conformance::{self, parse_hex_bytes};
use bpfbox::elf::{LoadOptions, Object};
use bpfbox::isa::Program;
use bpfbox::{AlignedMemory, Vm};
use std::io::Read;
use std::process::ExitCode;
use std::sync::Arc;

const USAGE: &str = "usage: bpfbox-plugin [MEMORY] [OPTIONS...] < PROGRAM
  MEMORY   input memory as hex bytes (\"00  01  ff  \"); r1 points to a copy
  PROGRAM  on stdin: the bytecode as hex bytes, 8 per instruction slot
           (with --elf: an ELF object as hex bytes; its first program runs)
Prints r0 in hex. Options: --elf; --jit is recognised but not available in
this build.";

/// What the command line asks for.
struct Args {
    memory: Vec<u8>,
    elf: bool,
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
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
        Ok(_) => run(&stdin, &args),
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

/// The memory and options from the arguments; `None` when help was asked
/// for.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut parsed = Args {
        memory: Vec::new(),
        elf: false,
    };
    let mut next = args.next();
    if let Some(text) = next.as_deref().filter(|arg| !arg.starts_with("--")) {
        parsed.memory = parse_hex_bytes(text).map_err(|e| format!("memory argument: {e}"))?;
        next = args.next();
    }
    while let Some(arg) = next {
        match arg.as_str() {
            "--help" => return Ok(None),
            "--elf" => parsed.elf = true,
            "--jit" => {
                return Err("the JIT is not available in this build; run without --jit".into())
            }
            other if other.starts_with("--") => return Err(format!("unknown option `{other}`")),
            other => {
                let shown: String = other.chars().take(32).collect();
                return Err(format!("unexpected argument `{shown}` after the memory"));
            }
        }
        next = args.next();
    }
    Ok(Some(parsed))
}

/// Decodes the hex program, loads it and runs it over a copy of the memory.
fn run(stdin: &[u8], args: &Args) -> Result<u64, String> {
    let text =
        std::str::from_utf8(stdin).map_err(|e| format!("program on stdin is not text: {e}"))?;
    let bytes = parse_hex_bytes(text).map_err(|e| format!("program on stdin: {e}"))?;
    let vm = if args.elf {
        load_elf(&bytes)?
    } else {
        let program = Program::from_bytes(&bytes).map_err(|e| e.to_string())?;
        Arc::new(Vm::new(program, conformance::config()).map_err(|e| e.to_string())?)
    };
    let mut memory = AlignedMemory::copy_from(&args.memory);
    vm.run(memory.as_mut_slice()).map_err(|e| e.to_string())
}

/// Links the object's first program and loads it as a conformance program.
fn load_elf(bytes: &[u8]) -> Result<Arc<Vm>, String> {
    let mut object = Object::parse(bytes).map_err(|e| e.to_string())?;
    let name = object
        .programs()
        .first()
        .map(|p| p.name.clone())
        .ok_or("the ELF object has no program")?;
    object
        .set_program_type(&name, ProgramType::Conformance)
        .map_err(|e| e.to_string())?;
    let defaults = conformance::config();
    let options = LoadOptions {
        helpers: defaults.helpers,
        budget: defaults.budget,
        programs: Some(vec![name.clone()]),
        ..LoadOptions::default()
    };
    // A program the runtime refuses gets the same message as in bytecode
    // mode, without the object's framing.
    let loaded = object.load(&options).map_err(|e| match e {
        bpfbox::elf::ElfError::Program { source, .. } => source.to_string(),
        other => other.to_string(),
    })?;
    loaded.program(&name).cloned().map_err(|e| e.to_string())
}
