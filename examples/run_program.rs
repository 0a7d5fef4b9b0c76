//! From assembler text to a result: assemble a program, load it into a
//! [`Vm`], run it over some input memory, and see what an out-of-bounds
//! access looks like.
//!
//! Run it with `cargo run --example run_program`.

use bpfbox::isa::asm;
use bpfbox::{AlignedMemory, Config, RunState, Vm};

/// Sums the bytes of the input: r1 holds its address and r2 its length.
const SUM_BYTES: &str = "
    mov %r0, 0
    jeq %r2, 0, done
loop:
    ldxb %r3, [%r1]
    add %r0, %r3
    add %r1, 1
    sub %r2, 1
    jne %r2, 0, loop
done:
    exit
";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Text → a decoded, structurally checked program → a loaded VM.
    let program = asm::assemble(SUM_BYTES)?;
    let vm = Vm::new(program, Config::default())?;

    // The program may write its input, so it gets a mutable copy; an aligned
    // one, so that atomics behave the same wherever the bytes came from.
    let mut input = AlignedMemory::copy_from(b"hello, eBPF");
    let mut state = RunState::new();
    let outcome = vm.execute(&mut state, input.as_mut_slice())?;
    println!(
        "sum of the bytes of {:?} = {} ({} instructions)",
        String::from_utf8_lossy(input.as_slice()),
        outcome.r0,
        outcome.instructions
    );

    // Reading past the end of the input is caught: the run stops with the
    // pc of the faulting instruction and what it tried to touch.
    let overread = asm::assemble("ldxdw %r0, [%r1+8]\nexit")?;
    let vm = Vm::new(overread, Config::default())?;
    match vm.run(&mut [0u8; 12]) {
        Ok(r0) => println!("unexpected success: {r0}"),
        Err(error) => println!("caught: {error} (at instruction {})", error.pc),
    }
    Ok(())
}
