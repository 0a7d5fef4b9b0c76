//! `bpfbox`: assemble, disassemble and run eBPF programs from the command line.
//!
//! The tool is a thin shell over the library: [`bpfbox::isa::asm`] and
//! [`bpfbox::isa::disasm`] for text, [`Program::from_bytes`] for bytecode,
//! and [`bpfbox::Vm`] for running, with the program type, input and maps
//! the command line gives (`run.rs`, `maps.rs`). Everything it prints on
//! stdout is meant to be read by scripts: `run` prints r0 alone on its first
//! line, in hex, then tagged lines whose format `bpfbox run --help`
//! documents; diagnostics and instruction traces go to stderr.

mod fields;
mod hex;
mod input;
mod maps;
mod object;
mod run;

use bpfbox::isa::{asm, disasm, Program};
use bpfbox::Tracer;
use clap::error::ErrorKind;
use clap::{Parser, Subcommand, ValueEnum};
use std::fmt::Display;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const AFTER_HELP: &str = "\
Exit status: 0 on success; 1 when the program fails at run time; 2 for a usage \
error; 3 when the input cannot be loaded (I/O error, malformed bytecode or \
assembler text, a program the runtime cannot load, a map it refuses). Errors \
are one line on stderr starting with `error: `.";

/// Assemble, disassemble and run eBPF programs.
#[derive(Parser)]
#[command(name = "bpfbox", version, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Assemble text in the bpf_conformance dialect into raw bytecode
    /// (8 little-endian bytes per instruction slot).
    Asm {
        /// Assembler text.
        input: PathBuf,
        /// Where to write the bytecode.
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Print a program, one instruction per line; for an ELF object, each
    /// of its programs (or the one --section/--function choose), linked,
    /// with the relocations applied to each instruction on the lines after
    /// it.
    Disasm {
        #[command(flatten)]
        input: Input,
        #[command(flatten)]
        selection: Box<object::Selection>,
        /// Output syntax: LLVM's (`r0 = 0x1`) or the assembler dialect
        /// (`mov %r0, 1`), which `bpfbox asm` reads back.
        #[arg(long, value_enum, default_value_t = SyntaxArg::Llvm)]
        syntax: SyntaxArg,
    },
    /// Run a program and print r0 in hex (`0x2a`) on stdout, then what else
    /// the run left: a changed packet or memory, trace lines, ring buffer
    /// records, perf events and, with --dump-maps, map contents.
    ///
    /// r1 points to the program type's context: for buffer and conformance
    /// programs a writable, 8-byte-aligned copy of the memory (r2 holds its
    /// length; both 0 without memory), for packet programs the context
    /// struct over the packet, for tracing programs the context bytes.
    #[command(after_help = run::AFTER_HELP)]
    Run(Box<run::RunArgs>),
    /// Describe an ELF object: its programs (section, function, type,
    /// instruction count, kernel-only constructs used), maps (name, type,
    /// key and value sizes, entries, flags, origin), relocations by type
    /// and license.
    Info {
        /// The object (`clang -target bpf -c` output).
        file: PathBuf,
        /// Kernel BTF for CO-RE relocations on kernel types.
        #[arg(long, value_name = "PATH")]
        btf: Option<PathBuf>,
    },
}

/// The program file and how to read it.
#[derive(clap::Args)]
struct Input {
    /// The program: raw bytecode (`.bin`, `.raw`), assembler text (`.s`,
    /// `.asm`) or an ELF object (`.o`, or any file that starts like one);
    /// other names need `--format`.
    file: PathBuf,
    /// How to read FILE, whatever its name.
    #[arg(long, value_enum)]
    format: Option<Format>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// 8 little-endian bytes per instruction slot.
    Raw,
    /// Assembler text in the bpf_conformance dialect.
    Asm,
    /// An ELF object built by `clang -target bpf`.
    Elf,
}

#[derive(Clone, Copy, ValueEnum)]
enum SyntaxArg {
    /// LLVM's syntax, as `llvm-objdump` prints it.
    Llvm,
    /// The bpf_conformance assembler dialect.
    Conformance,
}

/// Why a command failed, and so the exit status.
enum Failure {
    /// The program failed at run time: exit 1.
    Run(String),
    /// The command line is wrong in a way clap cannot see: exit 2.
    Usage(String),
    /// The input cannot be read, decoded, assembled or loaded: exit 3.
    Load(String),
}

impl Failure {
    fn load(path: &Path, error: impl Display) -> Self {
        Failure::Load(format!("{}: {error}", path.display()))
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => match e.kind() {
            ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => e.exit(),
            _ => {
                eprintln!("{}", one_line(&e.render().to_string()));
                return ExitCode::from(2);
            }
        },
    };
    let (message, code) = match execute(cli.command) {
        Ok(()) => return ExitCode::SUCCESS,
        Err(Failure::Run(message)) => (message, 1),
        Err(Failure::Usage(message)) => (message, 2),
        Err(Failure::Load(message)) => (message, 3),
    };
    eprintln!("error: {message}");
    ExitCode::from(code)
}

fn execute(command: Command) -> Result<(), Failure> {
    match command {
        Command::Asm { input, output } => {
            let program = assemble_file(&input)?;
            std::fs::write(&output, program.to_bytes()).map_err(|e| Failure::load(&output, e))
        }
        Command::Disasm {
            input,
            selection,
            syntax,
        } => {
            let syntax = match syntax {
                SyntaxArg::Llvm => disasm::Syntax::Llvm,
                SyntaxArg::Conformance => disasm::Syntax::Conformance,
            };
            if input_format(&input)? == Format::Elf {
                return object::disasm(&input.file, &selection, syntax);
            }
            selection.refuse_for_bytecode()?;
            let program = load(&input)?;
            print_stdout(&disasm::disassemble(&program, syntax))
        }
        Command::Run(args) => run::run(*args),
        Command::Info { file, btf } => object::info(&file, btf.as_deref()),
    }
}

/// A clap usage error on one line: its message without the usage and the
/// hints clap adds, lines joined with spaces.
fn one_line(rendered: &str) -> String {
    let mut parts = Vec::new();
    for line in rendered.lines() {
        let line = line.trim();
        if line.starts_with("Usage:") || line.starts_with("For more information") {
            break;
        }
        if !line.is_empty() && !line.starts_with("tip:") {
            parts.push(line);
        }
    }
    parts.join(" ")
}

/// Writes `text` to stdout; a closed stdout is an I/O error, not a panic.
fn print_stdout(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Failure::Load(format!("stdout: {e}")))
}

/// The input's format: `--format`, else the file's extension, else an ELF
/// file's magic number.
fn input_format(input: &Input) -> Result<Format, Failure> {
    if let Some(format) = input.format.or_else(|| format_of(&input.file)) {
        return Ok(format);
    }
    let mut magic = [0u8; 4];
    let starts_like_elf = std::fs::File::open(&input.file)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .is_ok()
        && object::is_elf(&magic);
    if starts_like_elf {
        return Ok(Format::Elf);
    }
    Err(Failure::Usage(format!(
        "cannot tell the format of `{}` from its name (.bin/.raw, .s/.asm or .o); pass --format raw|asm|elf",
        input.file.display()
    )))
}

/// Reads and decodes or assembles a program that is not an ELF object, by
/// `--format` or by the file's extension.
fn load(input: &Input) -> Result<Program, Failure> {
    match input_format(input)? {
        Format::Elf => Err(Failure::Usage(format!(
            "{} is an ELF object: this needs raw bytecode or assembler text",
            input.file.display()
        ))),
        Format::Asm => assemble_file(&input.file),
        Format::Raw => {
            let bytes = std::fs::read(&input.file).map_err(|e| Failure::load(&input.file, e))?;
            Program::from_bytes(&bytes).map_err(|e| Failure::load(&input.file, e))
        }
    }
}

fn format_of(path: &Path) -> Option<Format> {
    let extension = path.extension()?.to_str()?.to_ascii_lowercase();
    match extension.as_str() {
        "s" | "asm" => Some(Format::Asm),
        "bin" | "raw" => Some(Format::Raw),
        "o" | "elf" => Some(Format::Elf),
        _ => None,
    }
}

fn assemble_file(path: &Path) -> Result<Program, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| Failure::load(path, e))?;
    asm::assemble(&text).map_err(|e| Failure::load(path, e))
}

/// Writes `pc: <instruction> ; <changed registers>` for every step.
struct StderrTracer<'p, W: Write> {
    program: &'p Program,
    out: W,
}

impl<W: Write> Tracer for StderrTracer<'_, W> {
    const ENABLED: bool = true;

    fn step(&mut self, pc: usize, before: &[u64; 11], after: &[u64; 11]) {
        let mut line = format!("{pc}: ");
        match self.program.instruction_at(pc) {
            Some(insn) => line += &disasm::format_instruction(insn, pc, disasm::Syntax::Llvm),
            None => line += "?",
        }
        let changed: Vec<String> = (0..after.len())
            .filter(|&r| before[r] != after[r])
            .map(|r| format!("r{r} = {:#x}", after[r]))
            .collect();
        if !changed.is_empty() {
            line += " ; ";
            line += &changed.join(", ");
        }
        // The trace is a diagnostic: a closed stderr must not fail the run.
        let _ = writeln!(self.out, "{line}");
    }
}
