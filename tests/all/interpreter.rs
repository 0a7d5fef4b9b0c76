//! Behaviour of the `Vm` beyond single instructions: budget, interruption,
//! call frames, helpers, load errors, tracing, threads.

use bpfbox::isa::{asm, Program};
use bpfbox::{
    conformance, Access, Config, HelperError, HelperRegistry, LoadError, RunError, RunOutcome,
    RunState, Trap, Vm, DEFAULT_BUDGET,
};

fn program_text(text: &str) -> Program {
    program(text)
}

fn program(text: &str) -> Program {
    asm::assemble(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn load(text: &str) -> Vm {
    Vm::new(program(text), Config::default()).unwrap()
}

fn vm_with(text: &str, config: Config) -> Vm {
    Vm::new(program(text), config).unwrap()
}

/// 1 + 3 * n instructions: a counted loop of n iterations.
const COUNT_LOOP: &str = "
    mov %r0, 0
loop:
    add %r0, 1
    jlt %r0, %r1, loop
    exit
";

fn run_counting(n: u64, budget: Option<u64>) -> Result<RunOutcome, RunError> {
    let text = COUNT_LOOP.replace("%r1", "%r6");
    let text = format!("mov %r6, {n}\n{text}");
    let vm = vm_with(
        &text,
        Config {
            budget,
            ..Config::default()
        },
    );
    vm.execute(&mut RunState::new(), &mut [])
}

#[test]
fn instruction_count_is_charged_per_block() {
    // Blocks: [mov r6; mov r0] (2), [add; jlt] (2) per iteration, [exit] (1).
    let outcome = run_counting(10, None).unwrap();
    assert_eq!(
        outcome,
        RunOutcome {
            r0: 10,
            instructions: 2 + 2 * 10 + 1,
            redirect: None,
        }
    );
}

#[test]
fn budget_stops_at_the_block_entry_with_the_count() {
    // 2 + 2*3 = 8 charged after three iterations; the fourth loop block would make 10 > 9.
    let error = run_counting(1000, Some(9)).unwrap_err();
    assert_eq!(
        error,
        RunError {
            pc: 2,
            trap: Trap::BudgetExhausted {
                executed: 8,
                budget: 9
            }
        }
    );
    // Exactly enough budget succeeds.
    assert_eq!(run_counting(3, Some(2 + 2 * 3 + 1)).unwrap().r0, 3);
    assert!(run_counting(3, Some(2 + 2 * 3)).is_err());
}

#[test]
fn default_budget_ends_an_endless_loop() {
    let vm = load("loop:\nja loop\nexit");
    let error = vm.run(&mut []).unwrap_err();
    assert_eq!(
        error,
        RunError {
            pc: 0,
            trap: Trap::BudgetExhausted {
                executed: DEFAULT_BUDGET,
                budget: DEFAULT_BUDGET
            }
        }
    );
}

#[test]
fn a_run_is_cancelled_from_another_thread() {
    let vm = vm_with(
        "loop:\nja loop\nexit",
        Config {
            budget: None,
            ..Config::default()
        },
    );
    let mut state = RunState::new();
    let handle = state.interrupt_handle();
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(20));
        handle.interrupt();
    });
    let error = vm.execute(&mut state, &mut []).unwrap_err();
    canceller.join().unwrap();
    assert_eq!(error.pc, 0);
    assert!(matches!(error.trap, Trap::Interrupted { executed } if executed > 0));
    // The interrupt was consumed: the next run is not cancelled.
    let vm = load("mov %r0, 7\nexit");
    assert_eq!(vm.execute(&mut state, &mut []).unwrap().r0, 7);
}

#[test]
fn out_of_bounds_access_reports_pc_address_and_direction() {
    let vm = load("mov %r0, 0\nstxb [%r1+4], %r0\nexit");
    let mut memory = [0u8; 4];
    let base = memory.as_ptr() as u64;
    assert_eq!(
        vm.run(&mut memory).unwrap_err(),
        RunError {
            pc: 1,
            trap: Trap::OutOfBounds {
                addr: base + 4,
                len: 1,
                access: Access::Write
            }
        }
    );
    // Above the entry frame's top and below the live stack.
    let vm = load("ldxb %r0, [%r10]\nexit");
    assert!(matches!(
        vm.run(&mut []).unwrap_err().trap,
        Trap::OutOfBounds {
            len: 1,
            access: Access::Read,
            ..
        }
    ));
    let vm = load("ldxb %r0, [%r10-513]\nexit");
    assert!(matches!(
        vm.run(&mut []).unwrap_err().trap,
        Trap::OutOfBounds { .. }
    ));
    // A null pointer (no memory) is out of bounds, not a crash.
    let vm = load("ldxw %r0, [%r1]\nexit");
    assert_eq!(vm.run(&mut []).unwrap_err().pc, 0);
}

#[test]
fn stack_is_zeroed_per_run_and_per_frame() {
    let writer = load("mov %r1, -1\nstxdw [%r10-8], %r1\nmov %r0, 0\nexit");
    let reader = load("ldxdw %r0, [%r10-8]\nexit");
    let mut state = RunState::new();
    writer.execute(&mut state, &mut []).unwrap();
    assert_eq!(reader.execute(&mut state, &mut []).unwrap().r0, 0);
}

#[test]
fn local_calls_get_fresh_frames_and_preserve_r6_to_r9() {
    let vm = load(
        "
        mov %r6, 6
        mov %r7, 7
        mov %r8, 8
        mov %r9, 9
        mov %r1, 100
        stxdw [%r10-8], %r1
        mov %r1, %r10
        call local callee
        # r0 = callee's r10 distance below ours; r6..r9 must be intact.
        ldxdw %r2, [%r10-8]
        add %r0, %r2
        add %r0, %r6
        add %r0, %r7
        add %r0, %r8
        add %r0, %r9
        exit
    callee:
        mov %r6, 0
        mov %r7, 0
        mov %r8, 0
        mov %r9, 0
        # The callee may write the caller's frame through a pointer.
        ldxdw %r2, [%r1-8]
        add %r2, 1
        stxdw [%r1-8], %r2
        # Its own frame starts zeroed.
        ldxdw %r3, [%r10-8]
        mov %r0, %r1
        sub %r0, %r10
        add %r0, %r3
        exit
    ",
    );
    assert_eq!(vm.run(&mut []).unwrap(), 512 + 101 + 6 + 7 + 8 + 9);
}

/// A chain of `depth` nested local calls, each adding 1.
fn call_chain(depth: usize) -> String {
    let mut text = String::from("mov %r0, 0\ncall local f1\nexit\n");
    for i in 1..=depth {
        text.push_str(&format!("f{i}:\nadd %r0, 1\n"));
        if i < depth {
            text.push_str(&format!("call local f{}\n", i + 1));
        }
        text.push_str("exit\n");
    }
    text
}

#[test]
fn eight_frames_run_and_a_ninth_is_refused() {
    assert_eq!(load(&call_chain(7)).run(&mut []).unwrap(), 7);
    let error = load(&call_chain(8)).run(&mut []).unwrap_err();
    assert_eq!(error.trap, Trap::CallDepthExceeded);
    // The refused call is the one in f7: pc of `call local f8`.
    let program = program(&call_chain(8));
    let call_pc = program
        .instructions()
        .iter()
        .filter(|l| {
            matches!(
                l.insn,
                bpfbox::isa::Instruction::Call(bpfbox::isa::CallTarget::Local(_))
            )
        })
        .nth(7)
        .unwrap()
        .pc;
    assert_eq!(error.pc, call_pc);
}

#[test]
fn a_callee_cannot_reach_a_returned_frame() {
    // f returns its frame pointer; the caller then reads that dead frame.
    let vm = load(
        "
        call local f
        ldxdw %r0, [%r0-8]
        exit
    f:
        mov %r0, %r10
        exit
    ",
    );
    assert!(matches!(
        vm.run(&mut []).unwrap_err(),
        RunError {
            pc: 1,
            trap: Trap::OutOfBounds { .. }
        }
    ));
}

#[test]
fn falling_off_the_end_is_a_trap() {
    let vm = load("mov %r0, 1");
    assert_eq!(
        vm.run(&mut []).unwrap_err(),
        RunError {
            pc: 1,
            trap: Trap::FellOffEnd
        }
    );
    // Falling from one function into the next one is refused too.
    let text = "call local f\ncall local g\nexit\nf:\nmov %r0, 1\ng:\nexit";
    assert_eq!(program(text).subprograms(), &[0, 3, 4]);
    assert_eq!(
        load(text).run(&mut []).unwrap_err(),
        RunError {
            pc: 4,
            trap: Trap::FellOffEnd
        }
    );
}

#[test]
fn helpers_get_arguments_memory_and_clobber_r1_to_r5() {
    let mut helpers = HelperRegistry::new();
    helpers.register(1, |ctx, args| {
        // Reads two bytes at r1 and returns their sum plus r2..r5.
        let bytes = ctx.memory().read_bytes(args[0], 2)?;
        Ok(u64::from(bytes[0]) + u64::from(bytes[1]) + args[1] + args[2] + args[3] + args[4])
    });
    helpers.register(2, |ctx, args| {
        ctx.memory().write_bytes(args[0], &[9, 9])?;
        Ok(0)
    });
    let vm = vm_with(
        "
        mov %r6, %r1
        mov %r2, 10
        mov %r3, 20
        mov %r4, 30
        mov %r5, 40
        call 1
        mov %r7, %r0
        add %r7, %r1
        add %r7, %r2
        mov %r1, %r6
        call 2
        ldxb %r0, [%r6]
        add %r0, %r7
        exit
        ",
        Config {
            helpers,
            ..Config::default()
        },
    );
    assert_eq!(vm.run(&mut [1, 2]).unwrap(), 1 + 2 + 10 + 20 + 30 + 40 + 9);
}

#[test]
fn helper_errors_and_faults_carry_the_call_pc() {
    let mut helpers = HelperRegistry::new();
    helpers.register(1, |_, _| Err(HelperError::Failed("no".into())));
    helpers.register(2, |ctx, args| {
        Ok(ctx.memory().read_bytes(args[0], 8)?.len() as u64)
    });
    let config = Config {
        helpers,
        ..Config::default()
    };
    let vm = vm_with("mov %r0, 0\ncall 1\nexit", config.clone());
    assert_eq!(
        vm.run(&mut []).unwrap_err(),
        RunError {
            pc: 1,
            trap: Trap::HelperFailed {
                id: 1,
                message: "no".into()
            }
        }
    );
    let vm = vm_with("mov %r1, 0\ncall 2\nexit", config);
    assert_eq!(
        vm.run(&mut []).unwrap_err(),
        RunError {
            pc: 1,
            trap: Trap::OutOfBounds {
                addr: 0,
                len: 8,
                access: Access::Read
            }
        }
    );
}

#[test]
fn a_panicking_helper_fails_the_run_without_unwinding() {
    let mut helpers = HelperRegistry::new();
    helpers.register(9, |_, args| {
        if args[0] == 1 {
            panic!("helper bug");
        }
        Ok(0)
    });
    let vm = vm_with(
        "mov %r1, 1\ncall 9\nexit",
        Config {
            helpers,
            ..Config::default()
        },
    );
    // (The panic message is printed by the default hook; the run survives.)
    assert_eq!(
        vm.run(&mut []).unwrap_err(),
        RunError {
            pc: 1,
            trap: Trap::HelperPanicked {
                id: 9,
                message: "helper bug".into()
            }
        }
    );
}

#[test]
fn unwind_helper_ends_the_program_from_a_nested_frame() {
    let config = Config {
        helpers: conformance::helpers(),
        ..Config::default()
    };
    let vm = vm_with(
        "mov %r0, 3\ncall local f\nmov %r0, 4\nexit\nf:\nmov %r1, 0\ncall 5\nmov %r0, 2\nexit",
        config.clone(),
    );
    assert_eq!(vm.run(&mut []).unwrap(), 0);
    let vm = vm_with("mov %r1, 7\ncall 5\nexit", config.clone());
    assert_eq!(vm.run(&mut []).unwrap(), 7);
    // callx through a register; an unknown number is a run-time error.
    let vm = vm_with("mov %r1, 7\nmov %r2, 5\ncall %r2\nexit", config.clone());
    assert_eq!(vm.run(&mut []).unwrap(), 7);
    let vm = vm_with("mov %r2, 6\ncall %r2\nexit", config);
    assert_eq!(
        vm.run(&mut []).unwrap_err(),
        RunError {
            pc: 1,
            trap: Trap::UnknownHelper(6)
        }
    );
}

#[test]
fn load_errors_name_the_instruction() {
    let error = Vm::new(program("mov %r0, 0\ncall 99\nexit"), Config::default())
        .err()
        .unwrap();
    assert_eq!(error, LoadError::UnknownHelper { pc: 1, id: 99 });
    assert_eq!(error.to_string(), "instruction 1: unknown helper 99");
    // lddw naming a map the VM was not given.
    let mut bytes = program("lddw %r1, 0\nmov %r0, 0\nexit").to_bytes();
    bytes[1] |= 1 << 4; // src = 1: map by fd
    bytes[4] = 3; // fd 3
    let program = Program::from_bytes(&bytes).unwrap();
    assert_eq!(
        Vm::new(program, Config::default()).err(),
        Some(LoadError::UnknownMap { pc: 0, index: 3 })
    );
    // Legacy packet loads need a packet program type.
    assert!(matches!(
        Vm::new(program_text("ldabsw 0\nexit"), Config::default()),
        Err(LoadError::Unsupported { pc: 0, .. })
    ));
}

#[test]
fn misaligned_atomics_trap() {
    let vm = load("mov %r1, 1\nlock add [%r10-12], %r1\nexit");
    assert!(matches!(
        vm.run(&mut []).unwrap_err(),
        RunError {
            pc: 1,
            trap: Trap::MisalignedAtomic { len: 8, .. }
        }
    ));
}

#[test]
fn tracing_reports_each_instruction_and_changed_registers() {
    struct Collect(Vec<(usize, Vec<(usize, u64)>)>);
    impl bpfbox::Tracer for Collect {
        const ENABLED: bool = true;
        fn step(&mut self, pc: usize, before: &[u64; 11], after: &[u64; 11]) {
            let changed = (0..11)
                .filter(|&r| before[r] != after[r])
                .map(|r| (r, after[r]))
                .collect();
            self.0.push((pc, changed));
        }
    }
    let vm = load("mov %r0, 1\nlddw %r3, 0x100000000\njeq %r0, 1, +0\nadd %r0, %r3\nexit");
    let mut tracer = Collect(Vec::new());
    let outcome = vm
        .execute_traced(&mut RunState::new(), &mut [], &mut tracer)
        .unwrap();
    assert_eq!(outcome.r0, 0x1_0000_0001);
    assert_eq!(
        tracer.0,
        vec![
            (0, vec![(0, 1)]),
            (1, vec![(3, 0x1_0000_0000)]),
            (3, vec![]),
            (4, vec![(0, 0x1_0000_0001)]),
            (5, vec![]),
        ]
    );
}

#[test]
fn one_vm_runs_on_many_threads() {
    let vm = std::sync::Arc::new(load("ldxdw %r0, [%r1]\nmul %r0, 3\nexit"));
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let vm = std::sync::Arc::clone(&vm);
            std::thread::spawn(move || {
                let mut state = RunState::new();
                (0..1000u64)
                    .map(|i| {
                        let mut memory = (t * 1000 + i).to_le_bytes();
                        vm.execute(&mut state, &mut memory).unwrap().r0
                    })
                    .sum::<u64>()
            })
        })
        .collect();
    let total: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(total, 3 * (0..4000u64).sum::<u64>());
}

#[test]
fn bpf_loop_calls_back_until_done_or_told_to_stop() {
    // Sum the indices into a stack slot through the context pointer; the
    // callback stops when the index reaches the stop value.
    let text = |count: u32, stop: u32| {
        format!(
            "
            stdw [%r10-8], 0
            mov %r1, {count}
            lddw %r2, code_addr(body)
            mov %r3, %r10
            add %r3, -8
            mov %r4, 0
            call 181
            ldxdw %r1, [%r10-8]
            lsh %r0, 32
            or %r0, %r1
            exit
        body:
            ldxdw %r3, [%r2]
            add %r3, %r1
            stxdw [%r2], %r3
            mov %r0, 0
            jne %r1, {stop}, +1
            mov %r0, 1
            exit
            "
        )
    };
    // 10 iterations: sum 45, 10 calls.
    assert_eq!(load(&text(10, 99)).run(&mut []).unwrap(), (10 << 32) | 45);
    // Stopped at index 3: 0+1+2+3, 4 calls.
    assert_eq!(load(&text(10, 3)).run(&mut []).unwrap(), (4 << 32) | 6);
    // No iterations, too many, bad flags.
    assert_eq!(load(&text(0, 99)).run(&mut []).unwrap(), 0);
    let r0 = load(&text((1 << 23) + 1, 99)).run(&mut []).unwrap();
    assert_eq!(
        r0 >> 32,
        bpfbox::abi::errno::neg(bpfbox::abi::errno::E2BIG) & 0xffff_ffff
    );
    let flags = load(&text(3, 99).replace("mov %r4, 0", "mov %r4, 1"))
        .run(&mut [])
        .unwrap();
    assert_eq!(
        flags >> 32,
        bpfbox::abi::errno::neg(bpfbox::abi::errno::EINVAL) & 0xffff_ffff
    );
    // A callback that is not a function's address is a fault at the call.
    let bad = load("mov %r1, 1\nmov %r2, 8\nmov %r3, 0\nmov %r4, 0\ncall 181\nexit");
    assert_eq!(
        bad.run(&mut []).unwrap_err(),
        RunError {
            pc: 4,
            trap: Trap::BadCallback(8)
        }
    );
    // Every callback block is charged: 11 in the main function, 6 per call
    // (5 up to the jump, then the exit block).
    let outcome = load(&text(1000, 9999))
        .execute(&mut RunState::new(), &mut [])
        .unwrap();
    assert_eq!(outcome.instructions, 11 + 1000 * 6);
}
