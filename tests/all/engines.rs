//! Every `.data` file in `tests/data/` on every execution engine this build
//! has, in process. (The same files also go through the `bpfbox-plugin`
//! binary in `plugin.rs`.) Today the only engine is the interpreter; each JIT
//! joins [`ENGINES`] when it lands, and all engines must agree.

use crate::data_file::{self, DataTest, Expected};
use bpfbox::isa::Program;
use bpfbox::{conformance, AlignedMemory, RunState, Vm};
use std::path::Path;

/// An execution engine under test.
#[derive(Clone, Copy, Debug)]
enum Engine {
    Interpreter,
}

const ENGINES: &[Engine] = &[Engine::Interpreter];

/// Runs one test on one engine: r0 and the memory afterwards, or the error text.
fn run(engine: Engine, test: &DataTest) -> Result<(u64, Vec<u8>), String> {
    let program = Program::from_bytes(&test.program).map_err(|e| e.to_string())?;
    let config = conformance::config();
    let vm = match engine {
        Engine::Interpreter => Vm::new(program, config).map_err(|e| e.to_string())?,
    };
    let mut memory = AlignedMemory::copy_from(test.memory.as_deref().unwrap_or(&[]));
    let outcome = vm
        .execute(&mut RunState::new(), memory.as_mut_slice())
        .map_err(|e| e.to_string())?;
    Ok((outcome.r0, memory.as_slice().to_vec()))
}

fn check(test: &DataTest, got: &Result<(u64, Vec<u8>), String>) -> Result<(), String> {
    match (&test.expected, got) {
        (Expected::Result(want), Ok((r0, _))) if want == r0 => Ok(()),
        (Expected::Error(want), Err(text)) if want == text => Ok(()),
        (Expected::ErrorPrefix(want), Err(text)) if text.starts_with(want.as_str()) => Ok(()),
        (want, got) => Err(format!("expected {want:?}, got {got:?}")),
    }
}

#[test]
fn data_files_pass_on_every_engine() {
    let tests = data_file::load_all(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data"));
    assert!(tests.len() >= 100, "only {} .data tests found", tests.len());
    let mut failures = Vec::new();
    for test in &tests {
        let results: Vec<_> = ENGINES
            .iter()
            .map(|&engine| (engine, run(engine, test)))
            .collect();
        for (engine, got) in &results {
            if let Err(why) = check(test, got) {
                failures.push(format!("{} on {engine:?}: {why}", test.name));
            }
        }
        // Every engine must leave the same r0, memory and error as the first.
        for (engine, got) in &results[1..] {
            if got != &results[0].1 {
                failures.push(format!(
                    "{}: {engine:?} disagrees with {:?}",
                    test.name, results[0].0
                ));
            }
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
