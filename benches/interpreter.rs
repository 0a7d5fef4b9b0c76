//! Interpreter benchmarks: bpfbox against the `rbpf` crate's interpreter on
//! the same bytecode, and against native Rust doing the same work.
//!
//! Workloads (see `shared/reference/benchmarks.md`):
//! - W0: return a constant (per-call overhead);
//! - W1: 65,536 iterations of an add/xor/shift/mul mix on registers;
//! - W2: sum of a 64 KiB buffer as u64 words (`ldxdw` in a loop).
//!
//! Every engine's result is checked against the native one (exact asserts)
//! before anything is timed. bpfbox runs through `Vm::execute` with a reused
//! `RunState` and the default `Config` (budget on).
//!
//! The native functions are `#[inline(never)]`, take their inputs through
//! `black_box`, and W2 passes every loaded word through `black_box`, so the
//! loops stay scalar. Checked with
//! `objdump -d --no-show-raw-insn -C <bench binary>` on the
//! `interpreter::native_w1` / `interpreter::native_w2` symbols (the binary
//! is the `Executable` line of `cargo bench --bench interpreter --no-run`):
//! no `xmm`/`ymm` instructions and no calls at all; `native_w2` is one
//! 8-byte load, black-box spill/reload and add per word, and `native_w1` is
//! the same scalar add/imul/shr/xor/shl/add/xor chain as the eBPF program,
//! unrolled twice.
//!
//! Callgrind mode: with `BPFBOX_CALLGRIND=W1` (or `W2`, `W0`) the binary runs
//! that workload once on bpfbox, prints `r0=… instructions=…` and exits
//! without starting criterion. `BPFBOX_ITERS=n` sets W1's iteration count
//! (default 65,536), W2's word count (default 8,192) or W0's number of calls
//! (default 1), so a script can take the difference of two runs and get the
//! cost of the loop (or of one call) alone.

use bpfbox::isa::{AluOp, Instruction, JmpCond, Program, Reg, Size, Source, Width};
use bpfbox::{Config, RunState, Vm};
use criterion::{BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::time::Duration;

// ---------------------------------------------------------------- builders

fn alu64(op: AluOp, dst: Reg, src: Source) -> Instruction {
    Instruction::Alu {
        width: Width::W64,
        op,
        dst,
        src,
    }
}

fn imm(dst: Reg, op: AluOp, value: i32) -> Instruction {
    alu64(op, dst, Source::Imm(value))
}

fn reg(dst: Reg, op: AluOp, src: Reg) -> Instruction {
    alu64(op, dst, Source::Reg(src))
}

fn exit() -> Instruction {
    Instruction::Exit
}

// ---------------------------------------------------------------- workloads

const W0_RESULT: u64 = 0;

/// W0: `mov r0, 0; exit`.
fn w0_program() -> Program {
    Program::from_instructions(&[imm(Reg::R0, AluOp::Mov, 0), exit()]).unwrap()
}

const W1_ITERS: u32 = 65_536;
const W1_SEED: i32 = 0x12345;
const W1_MUL: i32 = 0x7f4a_7c15;
const W1_XOR: i32 = 0x5bd1_e995;

/// W1: `iters` iterations (at least 1) of a 10-instruction add/mul/shift/xor
/// block; r0 is the checksum, r6 the down-counter.
fn w1_program(iters: u32) -> Program {
    use AluOp::*;
    let (r0, r1, r6, r7) = (Reg::R0, Reg::R1, Reg::R6, Reg::R7);
    let body = [
        reg(r0, Add, r6),
        reg(r0, Mul, r7),
        reg(r1, Mov, r0),
        imm(r1, Rsh, 29),
        reg(r0, Xor, r1),
        imm(r1, Lsh, 17),
        reg(r0, Add, r1),
        imm(r0, Xor, W1_XOR),
        imm(r6, Sub, 1),
    ];
    let mut insns = vec![
        imm(r0, Mov, W1_SEED),
        imm(r6, Mov, iters as i32),
        imm(r7, Mov, W1_MUL),
    ];
    insns.extend(body);
    insns.push(Instruction::Jump {
        width: Width::W64,
        cond: JmpCond::Ne,
        dst: r6,
        src: Source::Imm(0),
        off: -(body.len() as i16 + 1),
    });
    insns.push(exit());
    Program::from_instructions(&insns).unwrap()
}

/// W1 in Rust, instruction for instruction.
#[inline(never)]
fn native_w1(iters: u64) -> u64 {
    let iters = black_box(iters);
    let mut r0 = black_box(W1_SEED as i64 as u64);
    let r7 = black_box(W1_MUL as i64 as u64);
    let mut r6 = iters;
    loop {
        r0 = r0.wrapping_add(r6);
        r0 = r0.wrapping_mul(r7);
        let mut r1 = r0 >> 29;
        r0 ^= r1;
        r1 <<= 17;
        r0 = r0.wrapping_add(r1);
        r0 ^= W1_XOR as i64 as u64;
        r6 = r6.wrapping_sub(1);
        if r6 == 0 {
            break;
        }
    }
    black_box(r0)
}

const W2_BYTES: usize = 64 * 1024;

/// W2: sum of the first `words` u64 words at r1 (r2 is not used: rbpf's
/// raw-memory VM does not set it).
fn w2_program(words: u32) -> Program {
    use AluOp::*;
    let (r0, r1, r3, r4) = (Reg::R0, Reg::R1, Reg::R3, Reg::R4);
    Program::from_instructions(&[
        imm(r0, Mov, 0),
        reg(r3, Mov, r1),
        imm(r3, Add, (words * 8) as i32),
        // loop:
        Instruction::Load {
            size: Size::DW,
            signed: false,
            dst: r4,
            src: r1,
            off: 0,
        },
        reg(r0, Add, r4),
        imm(r1, Add, 8),
        Instruction::Jump {
            width: Width::W64,
            cond: JmpCond::Lt,
            dst: r1,
            src: Source::Reg(r3),
            off: -4,
        },
        exit(),
    ])
    .unwrap()
}

fn w2_input() -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut buf = Vec::with_capacity(W2_BYTES);
    for _ in 0..W2_BYTES / 8 {
        // xorshift64
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf.extend_from_slice(&x.to_le_bytes());
    }
    buf
}

/// W2 in Rust: one scalar load and add per word (`black_box` on each word
/// keeps LLVM from vectorising the sum).
#[inline(never)]
fn native_w2(buf: &[u8]) -> u64 {
    let buf = black_box(buf);
    let mut sum = 0u64;
    for word in buf.chunks_exact(8) {
        let w = u64::from_le_bytes(word.try_into().unwrap());
        sum = sum.wrapping_add(black_box(w));
    }
    black_box(sum)
}

// ---------------------------------------------------------------- harness

struct Workload {
    group: &'static str,
    program: Program,
    memory: Vec<u8>,
    native: fn(&[u8]) -> u64,
}

fn workloads() -> Vec<Workload> {
    vec![
        Workload {
            group: "W0_return_const",
            program: w0_program(),
            memory: Vec::new(),
            native: |_| black_box(W0_RESULT),
        },
        Workload {
            group: "W1_alu_loop",
            program: w1_program(W1_ITERS),
            memory: Vec::new(),
            native: |_| native_w1(u64::from(W1_ITERS)),
        },
        Workload {
            group: "W2_sum_u64",
            program: w2_program((W2_BYTES / 8) as u32),
            memory: w2_input(),
            native: native_w2,
        },
    ]
}

fn run_rbpf(vm: &rbpf::EbpfVmMbuff<'_>, memory: &[u8]) -> u64 {
    // With an empty metadata buffer, rbpf sets r1 to the memory's address,
    // as `EbpfVmRaw` does (whose `execute_program` borrows the memory for
    // the VM's whole lifetime, so it cannot be called in a loop).
    vm.execute_program(memory, &[]).unwrap()
}

fn bench(c: &mut Criterion) {
    for mut w in workloads() {
        let bytes = w.program.to_bytes();
        let vm = Vm::new(w.program.clone(), Config::default()).unwrap();
        let rvm = rbpf::EbpfVmMbuff::new(Some(&bytes)).unwrap();
        let mut state = RunState::new();

        // Same result from all three engines, before timing.
        let expected = (w.native)(&w.memory);
        let outcome = vm.execute(&mut state, &mut w.memory).unwrap();
        assert_eq!(outcome.r0, expected, "{}: bpfbox vs native", w.group);
        assert_eq!(
            run_rbpf(&rvm, &w.memory),
            expected,
            "{}: rbpf vs native",
            w.group
        );
        println!(
            "{}: result {:#x}, {} eBPF instructions per run",
            w.group, expected, outcome.instructions
        );

        let mut g = c.benchmark_group(w.group);
        g.throughput(Throughput::Elements(outcome.instructions));
        g.bench_function(BenchmarkId::from_parameter("bpfbox"), |b| {
            b.iter(|| vm.execute(&mut state, black_box(&mut w.memory)).unwrap().r0)
        });
        g.bench_function(BenchmarkId::from_parameter("rbpf"), |b| {
            b.iter(|| run_rbpf(&rvm, black_box(&w.memory)))
        });
        g.bench_function(BenchmarkId::from_parameter("native"), |b| {
            b.iter(|| (w.native)(black_box(&w.memory)))
        });
        g.finish();
    }
}

/// One bpfbox run of a workload, for callgrind (see the module docs).
fn callgrind_mode(which: &str) {
    let iters = std::env::var("BPFBOX_ITERS")
        .ok()
        .map(|s| s.parse::<u32>().unwrap());
    let (program, mut memory) = match which {
        "W0" => (w0_program(), Vec::new()),
        "W1" => (w1_program(iters.unwrap_or(W1_ITERS)), Vec::new()),
        "W2" => (
            w2_program(iters.unwrap_or((W2_BYTES / 8) as u32)),
            w2_input(),
        ),
        other => panic!("BPFBOX_CALLGRIND: unknown workload {other}"),
    };
    // W0 measures the call itself: `BPFBOX_ITERS` calls (default 1).
    let calls = if which == "W0" { iters.unwrap_or(1) } else { 1 };
    let vm = Vm::new(program, Config::default()).unwrap();
    let mut state = RunState::new();
    let mut instructions = 0;
    let mut r0 = 0;
    for _ in 0..calls {
        let outcome = vm.execute(&mut state, black_box(&mut memory)).unwrap();
        instructions += outcome.instructions;
        r0 = outcome.r0;
    }
    println!("r0={r0:#x} instructions={instructions} calls={calls}");
}

fn main() {
    if let Ok(which) = std::env::var("BPFBOX_CALLGRIND") {
        callgrind_mode(&which);
        return;
    }
    let mut c = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    bench(&mut c);
    c.final_summary();
}
