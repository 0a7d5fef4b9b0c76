//! Tail calls from sub-programs (bpf-to-bpf calls mixed with tail calls, as
//! Linux allows since 5.10 on x86-64): the target replaces the calling
//! sub-program's frame, starts with r1 = the context and a fresh stack, and
//! its r0 becomes the sub-program's return value in the sub-program's
//! caller, whose frames, r6–r9 and stack are intact. Tail calls are counted
//! per run, at most 33, whoever makes them.

use bpfbox::abi::errno::{neg, E2BIG, ENOENT};
use bpfbox::abi::{MapDef, MapType, ProgramType};
use bpfbox::isa::asm;
use bpfbox::{Access, Config, Map, MapOptions, Packet, RunError, RunState, Trap, Vm};
use std::sync::Arc;

fn prog_array(max_entries: u32) -> Map {
    let def = MapDef {
        map_type: MapType::ProgArray,
        key_size: 4,
        value_size: 4,
        max_entries,
        flags: 0,
    };
    Map::create("jumps", def, &MapOptions::default()).unwrap()
}

/// An array of one u64 counter.
fn counter() -> Map {
    let def = MapDef {
        map_type: MapType::Array,
        key_size: 4,
        value_size: 8,
        max_entries: 1,
        flags: 0,
    };
    Map::create("count", def, &MapOptions::default()).unwrap()
}

fn count(map: &Map) -> u64 {
    let value = map.lookup(&0u32.to_le_bytes()).unwrap().unwrap();
    u64::from_le_bytes(value.try_into().unwrap())
}

fn load(text: &str, maps: &[&Map]) -> Arc<Vm> {
    let program = asm::assemble(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let config = Config {
        maps: maps.iter().map(|&m| m.clone()).collect(),
        ..Config::default()
    };
    Arc::new(Vm::new(program, config).unwrap())
}

/// Adds 1 to the counter of map 0 (a target's own map), then returns
/// `r0`. Nine instructions before `mov %r0`.
fn counting_target(r0: u64) -> String {
    format!(
        "
        mov %r1, 0
        stxw [%r10-4], %r1
        lddw %r1, map_by_fd(0)
        mov %r2, %r10
        add %r2, -4
        call 1
        jeq %r0, 0, +2
        mov %r1, 1
        lock add [%r0+0], %r1
        mov %r0, {r0}
        exit
        "
    )
}

/// Appends digit `d` to the decimal number in the context word (r6 holds
/// the context): the order in which the programs ran.
fn mark(d: u32) -> String {
    format!(
        "
        ldxdw %r3, [%r6]
        mul %r3, 10
        add %r3, {d}
        stxdw [%r6], %r3
        "
    )
}

/// A caller whose sub-program `f` tail-calls slot 0 of its program array,
/// and the target there (both described in
/// `a_sub_program_tail_call_returns_the_targets_r0_to_the_caller`), with
/// `budget`.
fn caller_and_target(budget: Option<u64>) -> Arc<Vm> {
    let jumps = prog_array(1);
    let text = "
        mov %r6, 1000
        mov %r7, 200
        mov %r8, 30
        mov %r9, 4
        stdw [%r10-8], 5
        call local f
        add %r0, %r6
        add %r0, %r7
        add %r0, %r8
        add %r0, %r9
        ldxdw %r1, [%r10-8]
        add %r0, %r1
        exit
    f:
        mov %r6, 0
        mov %r7, 0
        mov %r8, 0
        mov %r9, 0
        stdw [%r10-8], 77
        lddw %r2, map_by_fd(0)
        mov %r3, 0
        call 12
        mov %r0, 0xdead
        exit
    ";
    let config = Config {
        maps: vec![jumps.clone()],
        budget,
        ..Config::default()
    };
    let caller = Arc::new(Vm::new(asm::assemble(text).unwrap(), config).unwrap());
    let target = "
        ldxdw %r0, [%r1]
        lsh %r0, 8
        add %r0, %r2
        ldxdw %r3, [%r10-8]
        add %r0, %r3
        lsh %r0, 16
        exit
    ";
    jumps.set_program(0, load(target, &[])).unwrap();
    caller
}

#[test]
fn a_sub_program_tail_call_returns_the_targets_r0_to_the_caller() {
    // The caller keeps state in r6–r9 and its stack, calls `f`, and adds it
    // all to what `f` returns. `f` clobbers r6–r9, writes its own frame and
    // tail-calls slot 0; nothing after the tail call runs. The target sees
    // the context (r1, with r2 its length, as the run's first program does)
    // and a fresh, zeroed stack frame: not the 77 `f` left where its frame
    // now is.
    let caller = caller_and_target(None);
    let mut memory = 0x11u64.to_le_bytes();
    let outcome = caller.execute(&mut RunState::new(), &mut memory).unwrap();
    assert_eq!(
        outcome.r0,
        (((0x11 << 8) + 8) << 16) + 1000 + 200 + 30 + 4 + 5
    );
    // Charged: the caller's two blocks (6 + 7), f's block (10, up to its
    // exit) and the target's 7.
    assert_eq!(outcome.instructions, 6 + 7 + 10 + 7);
}

#[test]
fn a_tail_called_target_cannot_reach_its_callers_frames() {
    let jumps = prog_array(1);
    // The caller stores its r10 in the context word, then calls `f`, which
    // tail-calls a target that reads just above its own frame: the start
    // of the caller's frame (f's own frame is the target's now).
    let caller = load(
        "
        stxdw [%r1], %r10
        call local f
        exit
    f:
        lddw %r2, map_by_fd(0)
        mov %r3, 0
        call 12
        exit
        ",
        &[&jumps],
    );
    let target = load("mov %r0, 1\nldxdw %r0, [%r10+0]\nexit", &[]);
    jumps.set_program(0, target).unwrap();
    let mut memory = [0u8; 8];
    let error = caller
        .execute(&mut RunState::new(), &mut memory)
        .unwrap_err();
    let caller_r10 = u64::from_le_bytes(memory);
    // The fault is the target's, at its pc 1: its r10 is f's, one frame
    // below the caller's.
    assert_eq!(
        error,
        RunError {
            pc: 1,
            trap: Trap::OutOfBounds {
                addr: caller_r10 - 512,
                len: 8,
                access: Access::Read,
            }
        }
    );
}

#[test]
fn tail_calls_chain_through_sub_programs_of_targets() {
    let jumps = prog_array(3);
    // main → f → (tail call) t1 → g → (tail call) t2 → (tail call from its
    // entry function) t3. Each program appends its digit to the context
    // word on entry and again (7, 9) when a call returns to it.
    let main = load(
        &format!(
            "
            mov %r6, %r1
            {}
            mov %r1, %r6
            call local f
            mov %r7, %r0
            {}
            mov %r0, %r7
            add %r0, 1000
            exit
        f:
            mov %r6, %r1
            {}
            mov %r1, %r6
            lddw %r2, map_by_fd(0)
            mov %r3, 0
            call 12
            mov %r0, 0xdead
            exit
            ",
            mark(1),
            mark(9),
            mark(2)
        ),
        &[&jumps],
    );
    let t1 = load(
        &format!(
            "
            mov %r6, %r1
            {}
            mov %r1, %r6
            call local g
            mov %r7, %r0
            {}
            mov %r0, %r7
            add %r0, 100
            exit
        g:
            mov %r6, %r1
            {}
            mov %r1, %r6
            lddw %r2, map_by_fd(0)
            mov %r3, 1
            call 12
            mov %r0, 0xdead
            exit
            ",
            mark(3),
            mark(7),
            mark(4)
        ),
        &[&jumps],
    );
    let t2 = load(
        &format!(
            "
            mov %r6, %r1
            {}
            mov %r1, %r6
            lddw %r2, map_by_fd(0)
            mov %r3, 2
            call 12
            mov %r0, 0xdead
            exit
            ",
            mark(5)
        ),
        &[&jumps],
    );
    let t3 = load(
        &format!("mov %r6, %r1\n{}\nmov %r0, 10\nexit", mark(6)),
        &[],
    );
    jumps.set_program(0, t1).unwrap();
    jumps.set_program(1, t2).unwrap();
    jumps.set_program(2, t3).unwrap();
    let mut memory = [0u8; 8];
    let outcome = main.execute(&mut RunState::new(), &mut memory).unwrap();
    // t3 replaced t2, which replaced g: t1 gets 10 from g; t1 replaced f:
    // main gets 110 from f.
    assert_eq!(outcome.r0, 1110);
    assert_eq!(u64::from_le_bytes(memory), 12_345_679);
    // Blocks charged: main 7 + 8, f 11, t1 7 + 8, g 11, t2 11, t3 7.
    assert_eq!(outcome.instructions, 7 + 8 + 11 + 7 + 8 + 11 + 11 + 7);
}

#[test]
fn the_tail_call_limit_counts_sub_program_tail_calls_across_the_run() {
    let jumps = prog_array(1);
    let counts = counter();
    // main calls f 40 times and adds up what it returns; f tail-calls the
    // counting target (1), or falls through to return 100 once the run's 33
    // tail calls are spent. Then main's own tail call falls through too.
    let main = load(
        "
        mov %r6, %r1
        mov %r7, 0
        mov %r8, 40
    again:
        mov %r1, %r6
        call local f
        add %r7, %r0
        sub %r8, 1
        jne %r8, 0, again
        mov %r1, %r6
        lddw %r2, map_by_fd(0)
        mov %r3, 0
        call 12
        stxdw [%r6], %r0
        mov %r0, %r7
        exit
    f:
        lddw %r2, map_by_fd(0)
        mov %r3, 0
        call 12
        mov %r0, 100
        exit
        ",
        &[&jumps],
    );
    jumps
        .set_program(0, load(&counting_target(1), &[&counts]))
        .unwrap();
    let mut state = RunState::new();
    let mut memory = [0u8; 8];
    let outcome = main.execute(&mut state, &mut memory).unwrap();
    assert_eq!(count(&counts), 33);
    assert_eq!(outcome.r0, 33 + 7 * 100);
    assert_eq!(u64::from_le_bytes(memory), neg(E2BIG));
    // The count is per run: the next run makes 33 again.
    let outcome = main.execute(&mut state, &mut memory).unwrap();
    assert_eq!(count(&counts), 66);
    assert_eq!(outcome.r0, 33 + 7 * 100);
}

#[test]
fn a_failed_tail_call_in_a_sub_program_falls_through() {
    let jumps = prog_array(4);
    // Slot 3 is empty and 9 is past the end: both calls fall through with
    // -ENOENT, and f returns normally to main, whose r6 survived.
    let main = load(
        "
        mov %r6, 5
        call local f
        add %r0, %r6
        exit
    f:
        mov %r6, 0
        lddw %r2, map_by_fd(0)
        mov %r3, 3
        call 12
        and %r0, 0xff
        lsh %r0, 8
        mov %r7, %r0
        lddw %r2, map_by_fd(0)
        mov %r3, 9
        call 12
        and %r0, 0xff
        or %r0, %r7
        exit
        ",
        &[&jumps],
    );
    // A program in another slot changes nothing.
    jumps.set_program(0, load("mov %r0, 1\nexit", &[])).unwrap();
    let byte = neg(ENOENT) & 0xff;
    let outcome = main.execute(&mut RunState::new(), &mut []).unwrap();
    assert_eq!(outcome.r0, ((byte << 8) | byte) + 5);
    assert_eq!(outcome.instructions, 2 + 2 + 13);
}

/// A chain of `depth` nested local calls, each adding 1 to r0.
fn call_chain(depth: usize) -> String {
    let mut text = String::from("mov %r0, 0\ncall local g1\nexit\n");
    for i in 1..=depth {
        text.push_str(&format!("g{i}:\nadd %r0, 1\n"));
        if i < depth {
            text.push_str(&format!("call local g{}\n", i + 1));
        }
        text.push_str("exit\n");
    }
    text
}

#[test]
fn a_tail_called_targets_calls_count_toward_the_call_depth() {
    let jumps = prog_array(1);
    // main → f1 → f2 → f3, which tail-calls: the target runs in f3's frame,
    // the fourth of eight, so it may call four deep and no deeper.
    let main = load(
        "
        call local f1
        add %r0, 1000
        exit
    f1:
        call local f2
        add %r0, 100
        exit
    f2:
        call local f3
        add %r0, 10
        exit
    f3:
        lddw %r2, map_by_fd(0)
        mov %r3, 0
        call 12
        mov %r0, 7
        exit
        ",
        &[&jumps],
    );
    jumps.set_program(0, load(&call_chain(4), &[])).unwrap();
    assert_eq!(main.run(&mut []).unwrap(), 4 + 10 + 100 + 1000);
    // One deeper: the target's `call local g5` (pc 13) is refused, as a
    // ninth frame would be for any call.
    jumps.set_program(0, load(&call_chain(5), &[])).unwrap();
    assert_eq!(
        main.run(&mut []).unwrap_err(),
        RunError {
            pc: 13,
            trap: Trap::CallDepthExceeded
        }
    );
}

#[test]
fn a_tail_call_from_a_loop_callback_returns_to_the_loop() {
    let jumps = prog_array(1);
    let counts = counter();
    // bpf_loop calls `body` 5 times; each tail-calls the counting target,
    // whose r0 (0: go on) is the callback's return value. The loop's result
    // is the number of calls; r6 survives.
    let main = load(
        "
        mov %r6, 40
        mov %r1, 5
        lddw %r2, code_addr(body)
        mov %r3, 0
        mov %r4, 0
        call 181
        add %r0, %r6
        exit
    body:
        lddw %r2, map_by_fd(0)
        mov %r3, 0
        call 12
        mov %r0, 1
        exit
        ",
        &[&jumps],
    );
    jumps
        .set_program(0, load(&counting_target(0), &[&counts]))
        .unwrap();
    assert_eq!(main.run(&mut []).unwrap(), 45);
    assert_eq!(count(&counts), 5);
}

#[test]
fn a_trace_follows_the_tail_call_into_the_target_and_back() {
    struct Pcs(Vec<usize>);
    impl bpfbox::Tracer for Pcs {
        const ENABLED: bool = true;
        fn step(&mut self, pc: usize, _: &[u64; 11], _: &[u64; 11]) {
            self.0.push(pc);
        }
    }
    let caller = caller_and_target(None);
    let mut tracer = Pcs(Vec::new());
    let mut memory = 0x11u64.to_le_bytes();
    let outcome = caller
        .execute_traced(&mut RunState::new(), &mut memory, &mut tracer)
        .unwrap();
    assert_eq!(outcome.r0, (((0x11 << 8) + 8) << 16) + 1239);
    // The caller to its call, f to its tail call (f starts at pc 13; its
    // `lddw` takes two slots), the target's pcs, then the caller again.
    let mut expected: Vec<usize> = (0..=5).collect();
    expected.extend([13, 14, 15, 16, 17, 18, 20, 21]);
    expected.extend(0..=6);
    expected.extend(6..=12);
    assert_eq!(tracer.0, expected);
}

#[test]
fn a_budget_running_out_in_a_target_counts_the_whole_run() {
    // The caller's first block (6) and f's (10) fit in 20; the target's
    // block of 7 does not. The count and budget are the run's.
    let caller = caller_and_target(Some(20));
    let mut memory = [0u8; 8];
    assert_eq!(
        caller
            .execute(&mut RunState::new(), &mut memory)
            .unwrap_err(),
        RunError {
            pc: 0,
            trap: Trap::BudgetExhausted {
                executed: 16,
                budget: 20
            }
        }
    );
    // With 30, everything runs.
    let caller = caller_and_target(Some(30));
    let outcome = caller.execute(&mut RunState::new(), &mut memory).unwrap();
    assert_eq!(outcome.instructions, 30);
}

#[test]
fn a_target_adjusting_the_packet_changes_it_for_the_caller() {
    let jumps = prog_array(1);
    let xdp = |text: &str, maps: Vec<Map>| {
        let config = Config {
            program_type: ProgramType::Xdp,
            maps,
            ..Config::default()
        };
        Arc::new(Vm::new(asm::assemble(text).unwrap(), config).unwrap())
    };
    // f tail-calls a target that pops 14 bytes off the packet's head and
    // returns XDP_PASS. Back in main, the context and the packet pointer
    // show the new packet: its length and first byte.
    let main = xdp(
        "
        mov %r6, %r1
        call local f
        ldxw %r2, [%r6+0]
        ldxw %r3, [%r6+4]
        ldxb %r4, [%r2+0]
        sub %r3, %r2
        lsh %r3, 16
        lsh %r4, 8
        or %r0, %r3
        or %r0, %r4
        exit
    f:
        lddw %r2, map_by_fd(0)
        mov %r3, 0
        call 12
        mov %r0, 1
        exit
        ",
        vec![jumps.clone()],
    );
    let target = xdp(
        "
        mov %r2, 14
        call 44
        mov %r0, 2
        exit
        ",
        vec![],
    );
    jumps.set_program(0, target).unwrap();
    let frame: Vec<u8> = (0..60).collect();
    let mut packet = Packet::new(&frame);
    let outcome = main
        .execute_packet(&mut RunState::new(), &mut packet)
        .unwrap();
    assert_eq!(outcome.r0, (46 << 16) | (14 << 8) | 2);
    assert_eq!(packet.data(), &frame[14..]);
}
