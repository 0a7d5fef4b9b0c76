//! `bpfbox run`: the program's input for its type, maps, repeated runs and
//! the output lines.

use crate::fields::{self, FieldArg};
use crate::hex::{self, HexBytes};
use crate::input::{self, InputKind};
use crate::maps::{self, MapSpec};
use crate::object::{self, Selection};
use crate::{input_format, load, print_stdout, Failure, Format, Input, StderrTracer};
use bpfbox::abi::ProgramType;
use bpfbox::helpers::Redirect;
use bpfbox::{conformance, AlignedMemory, Config, Map, Packet, RunOutcome, RunState, Vm};
use bpfbox::{RunError, DEFAULT_BUDGET};
use clap::ValueEnum;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

/// The help of `bpfbox run` after its options: inputs and output.
pub const AFTER_HELP: &str = "\
Inputs by --type:
  buffer, conformance      --mem/--mem-file (optional; none: r1 = r2 = 0)
  xdp, socket, tc,         --packet/--packet-file (required), and --field
    tc_action, cgroup_skb    NAME=VALUE for the context fields
  kprobe, tracepoint,      --ctx/--ctx-file (required): the context bytes;
    raw_tracepoint           a kprobe's are zero-padded to struct pt_regs
An input for another type is a usage error. Helpers are Linux's, as the
type may call them; conformance programs get the bpf_conformance table
instead (helper 5 returns its argument, or ends the program when it is 0).

Maps: each --map NAME:TYPE:KEY_SIZE:VALUE_SIZE:MAX_ENTRIES[:FLAGS] creates a
map; the N-th (from 0) is map_by_fd(N) and map_by_idx(N) in the program.
TYPE is the map type's name (hash, array, percpu_array, lru_hash, queue,
stack, ringbuf, perf_event_array, devmap, ...); numbers are decimal or 0x
hex. Per-CPU maps have one CPU slot; runs use CPU 0. An ELF object brings
its own maps instead (--map is refused), global data sections (.data,
.rodata, .bss, ...) among them, in the order `bpfbox info` lists them.

ELF objects: --section and --function choose the program (needed when
there are several), its type comes from the section unless --type says,
--global NAME=HEX sets a global variable before loading, and --btf PATH
gives kernel BTF for CO-RE relocations on kernel types.

Output on stdout, one item per line, always in this order:
  0x2a                     r0 of the last run, in hex (always, and first)
  packet: HEX              the packet after the last run, if its bytes changed
  meta: HEX                XDP metadata in front of the packet, if any
  field NAME = 0x..        each context field the type may write that the
                             last run changed (cb words as cb[0] .. cb[4])
  redirect: ifindex N flags 0x..   or   redirect: map NAME key N
                           the last run's redirect verdict, if any
  mem: HEX                 buffer types: the memory after the last run, if
                             it changed
  trace: TEXT              per run, in order: each trace_printk line (one
                             trailing newline dropped, control characters
                             as \\n \\t \\r \\xNN, and \\ as \\\\),
  ringbuf NAME: HEX          then each ring buffer record it committed,
  perf NAME cpu N: HEX       then each perf event it output
  map NAME (TYPE): KEY = VALUE     with --dump-maps, after all runs: every
                           element, maps in --map order, array-like maps by
                           index, hash-like maps by key bytes; queues and
                           stacks as `map NAME (TYPE): VALUE` in pop order;
                           ring buffers and perf event arrays print nothing
                           here; `map NAME (TYPE): cannot dump: REASON` when
                           the library does not give a map's elements out
HEX is two lower-case digits per byte, nothing between them. Every run
starts from the same input (packet, memory, context) and shares the maps.
On failure stdout is empty.";

/// How to execute the program.
#[derive(Clone, Copy, ValueEnum)]
pub enum Engine {
    /// The interpreter.
    Interpreter,
    /// The JIT compiler (not in this build yet).
    Jit,
}

/// The options of `bpfbox run`.
#[derive(clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub input: Input,
    #[command(flatten)]
    pub selection: Selection,
    /// The program type: buffer, conformance, xdp, socket, tc, tc_action,
    /// cgroup_skb, kprobe, tracepoint or raw_tracepoint (the kernel's names,
    /// such as sched_cls or socket_filter, work too). Default: buffer for
    /// bytecode and assembler text, the section's type for ELF programs.
    #[arg(long = "type", value_name = "TYPE", value_parser = parse_type)]
    pub program_type: Option<ProgramType>,
    /// How to execute the program.
    #[arg(long, value_enum, default_value_t = Engine::Interpreter)]
    pub engine: Engine,
    /// Input memory of buffer and conformance programs, as hex bytes:
    /// `"00 01 ff"` or `0001ff`.
    #[arg(long, value_name = "HEX", value_parser = hex::parse, conflicts_with = "mem_file")]
    pub mem: Option<HexBytes>,
    /// Input memory: the raw bytes of a file.
    #[arg(long, value_name = "PATH")]
    pub mem_file: Option<PathBuf>,
    /// The packet of xdp, socket, tc, tc_action and cgroup_skb programs, as
    /// hex bytes.
    #[arg(long, value_name = "HEX", value_parser = hex::parse, conflicts_with = "packet_file")]
    pub packet: Option<HexBytes>,
    /// The packet: the raw bytes of a file.
    #[arg(long, value_name = "PATH")]
    pub packet_file: Option<PathBuf>,
    /// Sets a 4-byte context field of a packet program (`mark=5`,
    /// `ingress_ifindex=0x3`, `cb[2]=1`); repeatable. `protocol` is taken
    /// from the Ethernet header unless set.
    #[arg(long = "field", value_name = "NAME=VALUE", value_parser = fields::parse_field)]
    pub fields: Vec<FieldArg>,
    /// The context bytes of kprobe, tracepoint and raw_tracepoint
    /// programs, as hex bytes.
    #[arg(long, value_name = "HEX", value_parser = hex::parse, conflicts_with = "ctx_file")]
    pub ctx: Option<HexBytes>,
    /// The context bytes: the raw bytes of a file.
    #[arg(long, value_name = "PATH")]
    pub ctx_file: Option<PathBuf>,
    /// Creates a map: NAME:TYPE:KEY_SIZE:VALUE_SIZE:MAX_ENTRIES[:FLAGS];
    /// repeatable, the N-th is map N of the program (see below).
    #[arg(long = "map", value_name = "SPEC", value_parser = maps::parse_spec)]
    pub maps: Vec<MapSpec>,
    /// After the runs, print every map's elements.
    #[arg(long)]
    pub dump_maps: bool,
    /// Runs N times with the same maps and input; r0 and the packet or
    /// memory printed are the last run's.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub repeat: u64,
    /// Most instructions each run may execute.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_BUDGET, conflicts_with = "no_budget")]
    pub budget: u64,
    /// Run without an instruction budget (an infinite loop never ends).
    #[arg(long)]
    pub no_budget: bool,
    /// Print each executed instruction on stderr as `pc: <LLVM syntax>`,
    /// then ` ; ` and the registers it changed (`r0 = 0x2a, r1 = 0x0`).
    /// Not available for packet programs yet.
    #[arg(long)]
    pub trace: bool,
}

fn parse_type(name: &str) -> Result<ProgramType, String> {
    ProgramType::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = ProgramType::ALL.iter().map(|t| t.name()).collect();
        let shown: String = name.chars().take(32).collect();
        format!(
            "unknown program type `{shown}` (one of {})",
            names.join(", ")
        )
    })
}

/// The input of every run, before it is copied for the run.
enum RunInput {
    Memory(Vec<u8>),
    Packet(Box<Packet>),
    Context(Vec<u8>),
}

pub fn run(args: RunArgs) -> Result<(), Failure> {
    if let Engine::Jit = args.engine {
        return Err(Failure::Usage("the JIT is not in this build yet".into()));
    }
    let budget = (!args.no_budget).then_some(args.budget);
    let (vm, maps) = if input_format(&args.input)? == Format::Elf {
        if !args.maps.is_empty() {
            return Err(Failure::Usage(
                "--map: an ELF object defines its own maps".into(),
            ));
        }
        let chosen = object::load(&args.input.file, &args.selection, args.program_type, budget)?;
        let vm = chosen
            .loaded
            .program(&chosen.name)
            .map_err(|e| Failure::load(&args.input.file, e))?
            .clone();
        let maps: Vec<Map> = chosen.loaded.maps().map(|(_, map)| map.clone()).collect();
        (vm, maps)
    } else {
        args.selection.refuse_for_bytecode()?;
        let program_type = args.program_type.unwrap_or(ProgramType::Buffer);
        let program = load(&args.input)?;
        let maps = maps::create(&args.maps)?;
        let config = Config {
            helpers: match program_type {
                ProgramType::Conformance => conformance::helpers(),
                _ => Config::default().helpers,
            },
            budget,
            maps: maps.clone(),
            program_type,
            ..Config::default()
        };
        let vm = Vm::new(program, config).map_err(|e| Failure::load(&args.input.file, e))?;
        (Arc::new(vm), maps)
    };
    let program_type = vm.program_type();
    let kind = InputKind::of(program_type);
    input::check_inputs(&args, program_type, kind)?;
    let fields = fields::context_fields(program_type, &args.fields)?;

    let input = match kind {
        InputKind::Memory => RunInput::Memory(input::bytes(args.mem, args.mem_file.as_deref())?),
        InputKind::Context => {
            let ctx = input::bytes(args.ctx, args.ctx_file.as_deref())?;
            RunInput::Context(input::context_bytes(program_type, ctx)?)
        }
        InputKind::Packet => {
            let mut packet = Packet::new(&input::bytes(args.packet, args.packet_file.as_deref())?);
            for (field, value) in &fields {
                field.set(&mut packet, *value);
            }
            RunInput::Packet(Box::new(packet))
        }
    };
    let mut state = RunState::new();
    state.set_cpu(0);
    let mut events = Vec::new();
    let mut last = None;
    for run in 1..=args.repeat {
        let (outcome, output) = run_once(&vm, &mut state, &input, args.trace).map_err(|e| {
            Failure::Run(if args.repeat == 1 {
                e.to_string()
            } else {
                format!("run {run} of {}: {e}", args.repeat)
            })
        })?;
        for line in state.trace_lines() {
            let line = line.strip_suffix('\n').unwrap_or(line);
            events.push(format!("trace: {}", hex::escape_line(line)));
        }
        maps::take_events(&maps, &mut events)?;
        last = Some((outcome, output));
    }
    let Some((outcome, output)) = last else {
        return Err(Failure::Usage("--repeat must be at least 1".into()));
    };

    let mut lines = vec![format!("{:#x}", outcome.r0)];
    describe(program_type, &input, &output, &outcome, &maps, &mut lines);
    lines.append(&mut events);
    if args.dump_maps {
        maps::dump(&maps, &mut lines);
    }
    let mut text = lines.join("\n");
    text.push('\n');
    print_stdout(&text)
}

/// What one run left of its input.
enum RunOutput {
    Memory(AlignedMemory),
    Packet(Box<Packet>),
    Context,
}

fn run_once(
    vm: &Vm,
    state: &mut RunState,
    input: &RunInput,
    trace: bool,
) -> Result<(RunOutcome, RunOutput), RunError> {
    match input {
        RunInput::Packet(packet) => {
            let mut packet = packet.clone();
            let outcome = if trace {
                let mut tracer = StderrTracer {
                    program: vm.program(),
                    out: std::io::BufWriter::new(std::io::stderr().lock()),
                };
                let outcome = vm.execute_packet_traced(state, &mut packet, &mut tracer);
                // The trace is a diagnostic: a closed stderr must not fail the run.
                let _ = tracer.out.flush();
                outcome?
            } else {
                vm.execute_packet(state, &mut packet)?
            };
            Ok((outcome, RunOutput::Packet(packet)))
        }
        RunInput::Memory(bytes) | RunInput::Context(bytes) => {
            let mut memory = AlignedMemory::copy_from(bytes);
            let outcome = if trace {
                let mut tracer = StderrTracer {
                    program: vm.program(),
                    out: std::io::BufWriter::new(std::io::stderr().lock()),
                };
                let outcome = vm.execute_traced(state, memory.as_mut_slice(), &mut tracer);
                // The trace is a diagnostic: a closed stderr must not fail the run.
                let _ = tracer.out.flush();
                outcome?
            } else {
                vm.execute(state, memory.as_mut_slice())?
            };
            let output = match input {
                RunInput::Memory(_) => RunOutput::Memory(memory),
                _ => RunOutput::Context,
            };
            Ok((outcome, output))
        }
    }
}

/// The lines about the last run's input and verdict: `packet:`, `meta:`,
/// `field`, `redirect:` and `mem:`.
fn describe(
    program_type: ProgramType,
    input: &RunInput,
    output: &RunOutput,
    outcome: &RunOutcome,
    maps: &[Map],
    lines: &mut Vec<String>,
) {
    match (input, output) {
        (RunInput::Packet(before), RunOutput::Packet(after)) => {
            if after.data() != before.data() {
                lines.push(format!("packet: {}", hex::encode(after.data())));
            }
            if !after.metadata().is_empty() {
                lines.push(format!("meta: {}", hex::encode(after.metadata())));
            }
            fields::changed_fields(program_type, before, after, lines);
        }
        (RunInput::Memory(before), RunOutput::Memory(after))
            if after.as_slice() != before.as_slice() =>
        {
            lines.push(format!("mem: {}", hex::encode(after.as_slice())));
        }
        _ => {}
    }
    match outcome.redirect {
        Some(Redirect::Interface { ifindex, flags }) => {
            lines.push(format!("redirect: ifindex {ifindex} flags {flags:#x}"));
        }
        Some(Redirect::Map { map_id, key }) => {
            let target = maps
                .iter()
                .find(|m| m.id() == map_id)
                .map_or_else(|| format!("id {map_id}"), |m| m.name().to_owned());
            lines.push(format!("redirect: map {target} key {key}"));
        }
        None => {}
    }
}
