//! Programs that use maps and the Linux helpers, with the host reading and
//! writing the same maps.

use bpfbox::abi::errno::{neg, E2BIG, EEXIST, EFAULT, ENOENT};
use bpfbox::abi::{MapDef, MapType};
use bpfbox::isa::asm;
use bpfbox::{Config, Map, MapOptions, RunState, Vm};
use std::sync::Arc;

fn map(map_type: MapType, key_size: u32, value_size: u32, max_entries: u32) -> Map {
    let def = MapDef {
        map_type,
        key_size,
        value_size,
        max_entries,
        flags: 0,
    };
    Map::create("test", def, &MapOptions::default()).unwrap()
}

fn load(text: &str, maps: &[&Map]) -> Vm {
    let program = asm::assemble(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let config = Config {
        maps: maps.iter().map(|&m| m.clone()).collect(),
        ..Config::default()
    };
    Vm::new(program, config).unwrap()
}

/// Looks up key 0 of map 0 and atomically adds 1 to the u64 value; returns
/// the old value.
const COUNT: &str = "
    mov %r1, 0
    stxw [%r10-4], %r1
    lddw %r1, map_by_fd(0)
    mov %r2, %r10
    add %r2, -4
    call 1
    jeq %r0, 0, +4
    mov %r1, 1
    lock fetch add [%r0+0], %r1
    mov %r0, %r1
    exit
    mov %r0, -1
    exit
";

#[test]
fn array_counter_loses_no_update_across_threads() {
    let counters = map(MapType::Array, 4, 8, 1);
    let vm = Arc::new(load(COUNT, &[&counters]));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let vm = Arc::clone(&vm);
            std::thread::spawn(move || {
                let mut state = RunState::new();
                for _ in 0..5_000 {
                    vm.execute(&mut state, &mut []).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(
        counters.lookup(&0u32.to_le_bytes()).unwrap(),
        Some(20_000u64.to_le_bytes().to_vec())
    );
}

#[test]
fn hash_update_flags_return_the_kernel_errors() {
    let hash = map(MapType::Hash, 4, 8, 4);
    // update(key = r6, value = r7, flags = r8): returns r0 of the helper.
    let update = |key: u32, value: u64, flags: u64| {
        let text = format!(
            "
            mov %r1, {key}
            stxw [%r10-4], %r1
            lddw %r1, {value:#x}
            stxdw [%r10-16], %r1
            lddw %r1, map_by_fd(0)
            mov %r2, %r10
            add %r2, -4
            mov %r3, %r10
            add %r3, -16
            mov %r4, {flags}
            call 2
            exit
            "
        );
        load(&text, &[&hash]).run(&mut []).unwrap()
    };
    assert_eq!(update(7, 70, 0), 0);
    assert_eq!(update(7, 71, 1), neg(EEXIST)); // BPF_NOEXIST on an existing key
    assert_eq!(update(8, 80, 2), neg(ENOENT)); // BPF_EXIST on a missing key
    assert_eq!(update(7, 72, 2), 0);
    assert_eq!(
        hash.lookup(&7u32.to_le_bytes()).unwrap(),
        Some(72u64.to_le_bytes().to_vec())
    );
    assert_eq!(hash.lookup(&8u32.to_le_bytes()).unwrap(), None);
    // The host's writes are what the program sees.
    hash.update(&9u32.to_le_bytes(), &900u64.to_le_bytes(), 0)
        .unwrap();
    let lookup = load(
        "
        mov %r1, 9
        stxw [%r10-4], %r1
        lddw %r1, map_by_fd(0)
        mov %r2, %r10
        add %r2, -4
        call 1
        jeq %r0, 0, +2
        ldxdw %r0, [%r0]
        exit
        mov %r0, 1
        exit
        ",
        &[&hash],
    );
    assert_eq!(lookup.run(&mut []).unwrap(), 900);
}

#[test]
fn queue_pushed_by_a_program_is_popped_by_the_host() {
    let queue = map(MapType::Queue, 0, 4, 2);
    let push = load(
        "
        stw [%r10-4], 11
        lddw %r1, map_by_fd(0)
        mov %r2, %r10
        add %r2, -4
        mov %r3, 0
        call 87
        exit
        ",
        &[&queue],
    );
    assert_eq!(push.run(&mut []).unwrap(), 0);
    assert_eq!(push.run(&mut []).unwrap(), 0);
    assert_eq!(push.run(&mut []).unwrap(), neg(E2BIG));
    assert_eq!(queue.pop().unwrap(), Some(11u32.to_le_bytes().to_vec()));
    // The program pops the other one into its stack.
    let pop = load(
        "
        lddw %r1, map_by_fd(0)
        mov %r2, %r10
        add %r2, -4
        call 88
        jne %r0, 0, +1
        ldxw %r0, [%r10-4]
        exit
        ",
        &[&queue],
    );
    assert_eq!(pop.run(&mut []).unwrap(), 11);
    assert_eq!(pop.run(&mut []).unwrap(), neg(ENOENT));
}

#[test]
fn ring_buffer_records_reach_the_host_in_order() {
    let ring = map(MapType::Ringbuf, 0, 0, 4096);
    // Reserve 8 bytes, write the input's first byte, submit; then discard one.
    let vm = load(
        "
        mov %r6, %r1
        lddw %r1, map_by_fd(0)
        mov %r2, 8
        mov %r3, 0
        call 131
        jeq %r0, 0, +9
        ldxb %r1, [%r6]
        stxdw [%r0], %r1
        mov %r1, %r0
        mov %r2, 0
        call 132
        lddw %r1, map_by_fd(0)
        mov %r2, %r6
        mov %r3, 2
        mov %r4, 0
        call 130
        exit
        ",
        &[&ring],
    );
    assert_eq!(vm.run(&mut [5, 6]).unwrap(), 0);
    assert_eq!(vm.run(&mut [7, 8]).unwrap(), 0);
    assert_eq!(
        ring.ringbuf_consume().unwrap(),
        vec![
            5u64.to_le_bytes().to_vec(),
            vec![5, 6],
            7u64.to_le_bytes().to_vec(),
            vec![7, 8]
        ]
    );
    assert_eq!(ring.ringbuf_consume().unwrap(), Vec::<Vec<u8>>::new());
}

#[test]
fn per_cpu_array_keeps_one_value_per_slot() {
    let cpus = 3;
    let def = MapDef {
        map_type: MapType::PercpuArray,
        key_size: 4,
        value_size: 4,
        max_entries: 1,
        flags: 0,
    };
    let options = MapOptions {
        cpus,
        ..MapOptions::default()
    };
    let percpu = Map::create("percpu", def, &options).unwrap();
    let vm = load(
        COUNT
            .replace("lock fetch add [%r0+0]", "lock fetch add32 [%r0+0]")
            .as_str(),
        &[&percpu],
    );
    for cpu in [0u32, 2, 2, 5] {
        let mut state = RunState::new();
        state.set_cpu(cpu);
        vm.execute(&mut state, &mut []).unwrap();
    }
    // Each CPU's value padded to 8 bytes: slot 0 once, slot 2 three times (5 % 3 = 2).
    let mut expected = vec![0u8; 24];
    expected[0] = 1;
    expected[16] = 3;
    assert_eq!(percpu.lookup(&0u32.to_le_bytes()).unwrap(), Some(expected));
}

#[test]
fn global_data_is_a_direct_map_value() {
    let data = map(MapType::Array, 4, 16, 1);
    data.update(
        &0u32.to_le_bytes(),
        &[0, 0, 0, 0, 42, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        0,
    )
    .unwrap();
    let vm = load(
        "
        lddw %r1, map_val(map_by_fd(0)) + 4
        ldxw %r0, [%r1]
        stw [%r1+4], 7
        exit
        ",
        &[&data],
    );
    assert_eq!(vm.run(&mut []).unwrap(), 42);
    assert_eq!(data.lookup(&0u32.to_le_bytes()).unwrap().unwrap()[8], 7);
}

#[test]
fn printk_random_cpu_and_probe_read() {
    let fmt = b"n=%d x=%llx s=%s\0";
    let mut memory = fmt.to_vec();
    let name_at = memory.len() as u64;
    memory.extend_from_slice(b"bpf\0");
    let vm = load(
        &format!(
            "
            mov %r6, %r1
            mov %r2, {len}
            mov %r3, -5
            mov %r4, -5
            mov %r5, %r6
            add %r5, {name_at}
            call 6
            mov %r1, %r6
            mov %r2, {len}
            mov %r3, 255
            mov %r4, 255
            mov %r5, 0
            call 6
            exit
            ",
            len = fmt.len()
        ),
        &[],
    );
    let mut state = RunState::new();
    vm.execute(&mut state, &mut memory).unwrap();
    assert_eq!(
        state.trace_lines(),
        ["n=-5 x=fffffffffffffffb s=bpf", "n=255 x=ff s=(efault)"]
    );
    // An unknown conversion prints nothing and returns -EINVAL; %u of a
    // 32-bit value; the result is the length written.
    let mut memory = b"%q\0%u!\0".to_vec();
    let vm = load(
        "mov %r6, %r1\nmov %r2, 3\ncall 6\nmov32 %r7, %r0\nmov %r1, %r6\nadd %r1, 3\nmov %r2, 4\nmov %r3, -1\ncall 6\nlsh %r0, 32\nadd %r0, %r7\nexit",
        &[],
    );
    let r0 = vm.execute(&mut state, &mut memory).unwrap().r0;
    assert_eq!(r0 as u32 as i32, -bpfbox::abi::errno::EINVAL);
    assert_eq!(r0 >> 32, "4294967295!".len() as u64);
    assert_eq!(state.trace_lines(), ["4294967295!"]);

    let random = load(
        "call 7\nmov %r6, %r0\ncall 7\nxor %r0, %r6\ncall 8\nexit",
        &[],
    );
    let mut a = RunState::new();
    a.set_seed(1).set_cpu(3);
    let mut b = RunState::new();
    b.set_seed(1).set_cpu(3);
    assert_eq!(random.execute(&mut a, &mut []).unwrap().r0, 3);
    let first = load("call 7\nexit", &[]);
    a.set_seed(7);
    b.set_seed(7);
    let x = first.execute(&mut a, &mut []).unwrap().r0;
    assert_eq!(first.execute(&mut b, &mut []).unwrap().r0, x);
    assert_ne!(
        first.execute(&mut a, &mut []).unwrap().r0,
        x,
        "the sequence advances"
    );

    // probe_read_kernel of memory the run may not read: zeroed, -EFAULT.
    let probe = load(
        "
        mov %r1, -1
        stxdw [%r10-8], %r1
        mov %r1, %r10
        add %r1, -8
        mov %r2, 8
        mov %r3, 16
        call 113
        ldxdw %r1, [%r10-8]
        add %r0, %r1
        exit
        ",
        &[],
    );
    assert_eq!(probe.run(&mut []).unwrap(), neg(EFAULT));
}

#[test]
fn a_map_argument_that_is_not_a_map_fails_the_run() {
    let vm = load("mov %r1, 1\nmov %r2, %r10\ncall 1\nexit", &[]);
    let error = vm.run(&mut []).unwrap_err();
    assert_eq!(error.pc, 2);
    assert!(matches!(
        error.trap,
        bpfbox::Trap::HelperFailed { id: 1, .. }
    ));
}

#[test]
fn programs_read_inner_maps_through_maps_of_maps() {
    let inner = map(MapType::Array, 4, 8, 2);
    inner
        .update(&1u32.to_le_bytes(), &42u64.to_le_bytes(), 0)
        .unwrap();
    let outer = Map::create_of_maps(
        "outer",
        MapDef {
            map_type: MapType::HashOfMaps,
            key_size: 4,
            value_size: 4,
            max_entries: 4,
            flags: 0,
        },
        &inner,
        &MapOptions::default(),
    )
    .unwrap();
    outer.set_inner(&7u32.to_le_bytes(), &inner, 0).unwrap();
    drop(inner);
    let vm = load(
        "
        mov %r1, 7
        stxw [%r10-4], %r1
        lddw %r1, map_by_fd(0)
        mov %r2, %r10
        add %r2, -4
        call 1
        jeq %r0, 0, +9
        mov %r1, %r0
        mov %r2, 1
        stxw [%r10-4], %r2
        mov %r2, %r10
        add %r2, -4
        call 1
        jeq %r0, 0, +3
        ldxdw %r0, [%r0+0]
        exit
        mov %r0, -1
        exit
        mov %r0, -2
        exit
        ",
        &[&outer],
    );
    assert_eq!(vm.run(&mut []).unwrap(), 42);
    outer.delete(&7u32.to_le_bytes()).unwrap();
    assert_eq!(vm.run(&mut []).unwrap(), -1i64 as u64);
}

#[test]
fn tail_calls_chain_through_a_program_array_up_to_the_limit() {
    let def = MapDef {
        map_type: MapType::ProgArray,
        key_size: 4,
        value_size: 4,
        max_entries: 4,
        flags: 0,
    };
    let jumps = Map::create("jumps", def, &MapOptions::default()).unwrap();
    // Each program adds its number to the context word and tail-calls slot
    // (number + 1); slot 3 ends the chain. A failed call falls through.
    let stage = |n: u32| {
        format!(
            "
            mov %r6, %r1
            ldxdw %r2, [%r1]
            add %r2, {n}
            stxdw [%r1], %r2
            mov %r1, %r6
            lddw %r2, map_by_fd(0)
            mov %r3, {next}
            call 12
            and %r0, 0xff
            ldxdw %r1, [%r6]
            lsh %r1, 8
            or %r0, %r1
            exit
            ",
            next = n + 1
        )
    };
    let vms: Vec<Arc<Vm>> = (0..4)
        .map(|n| Arc::new(load(&stage(n), &[&jumps])))
        .collect();
    for (slot, vm) in vms.iter().enumerate().skip(1) {
        jumps.set_program(slot as u32, Arc::clone(vm)).unwrap();
    }
    let mut memory = [0u8; 8];
    let mut state = RunState::new();
    let outcome = vms[0].execute(&mut state, &mut memory).unwrap();
    // Stages 0..3 ran (sum 6); the last one's tail call to the empty slot 4
    // failed with -ENOENT and fell through.
    assert_eq!(u64::from_le_bytes(memory), 6);
    assert_eq!(outcome.r0, (6 << 8) | (neg(ENOENT) & 0xff));
    // Each stage is 13 instructions, charged across the chain.
    assert_eq!(outcome.instructions, 4 * 13);

    // A program tail-calling itself stops after 33 tail calls.
    let def = MapDef {
        max_entries: 1,
        ..def
    };
    let own = Map::create("own", def, &MapOptions::default()).unwrap();
    let looping = Arc::new(load(
        "ldxdw %r2, [%r1]\nadd %r2, 1\nstxdw [%r1], %r2\nlddw %r2, map_by_fd(0)\nmov %r3, 0\ncall 12\nexit",
        &[&own],
    ));
    own.set_program(0, Arc::clone(&looping)).unwrap();
    let mut memory = [0u8; 8];
    assert_eq!(
        looping.execute(&mut state, &mut memory).unwrap().r0,
        neg(E2BIG)
    );
    assert_eq!(u64::from_le_bytes(memory), 34);
    own.clear_program(0).unwrap();
    // Programs of another type are refused.
    let program = asm::assemble("mov %r0, 0\nexit").unwrap();
    let config = Config {
        program_type: bpfbox::abi::ProgramType::Xdp,
        ..Config::default()
    };
    let xdp = Arc::new(Vm::new(program, config).unwrap());
    assert!(matches!(
        jumps.set_program(0, xdp),
        Err(bpfbox::MapError::ProgramType { .. })
    ));
}

#[test]
fn spin_lock_sections_lose_no_update_across_threads() {
    // Value: a 4-byte lock, 4 bytes of padding, a u64 counter updated with
    // plain loads and stores inside the lock.
    let values = map(MapType::Array, 4, 16, 1);
    let vm = Arc::new(load(
        "
        stw [%r10-4], 0
        lddw %r1, map_by_fd(0)
        mov %r2, %r10
        add %r2, -4
        call 1
        jeq %r0, 0, +9
        mov %r6, %r0
        mov %r1, %r6
        call 93
        ldxdw %r2, [%r6+8]
        add %r2, 1
        stxdw [%r6+8], %r2
        mov %r1, %r6
        call 94
        mov %r0, 0
        exit
        ",
        &[&values],
    ));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let vm = Arc::clone(&vm);
            std::thread::spawn(move || {
                let mut state = RunState::new();
                for _ in 0..5_000 {
                    assert_eq!(vm.execute(&mut state, &mut []).unwrap().r0, 0);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let value = values.lookup(&0u32.to_le_bytes()).unwrap().unwrap();
    assert_eq!(u64::from_le_bytes(value[8..16].try_into().unwrap()), 20_000);
    assert_eq!(&value[0..4], &[0, 0, 0, 0], "the lock is free");

    // A lock outside map memory, an unlock of a lock not held, a lock left
    // held at exit (released for the next run).
    let stack = load("mov %r1, %r10\nadd %r1, -8\ncall 93\nexit", &[]);
    assert!(matches!(
        stack.run(&mut []).unwrap_err().trap,
        bpfbox::Trap::OutOfBounds { .. }
    ));
    let lookup = "stw [%r10-4], 0\nlddw %r1, map_by_fd(0)\nmov %r2, %r10\nadd %r2, -4\ncall 1\nmov %r1, %r0\n";
    let unlock = load(&format!("{lookup}call 94\nexit"), &[&values]);
    assert!(matches!(
        unlock.run(&mut []).unwrap_err().trap,
        bpfbox::Trap::HelperFailed { id: 94, .. }
    ));
    let keep = load(&format!("{lookup}call 93\nexit"), &[&values]);
    assert_eq!(keep.run(&mut []).unwrap(), 0);
    assert_eq!(
        keep.run(&mut []).unwrap(),
        0,
        "the first run's lock was released"
    );
}

#[test]
fn for_each_map_elem_visits_live_elements_until_told_to_stop() {
    let hash = map(MapType::Hash, 4, 8, 8);
    for key in [3u32, 5, 9] {
        hash.update(&key.to_le_bytes(), &(u64::from(key) * 10).to_le_bytes(), 0)
            .unwrap();
    }
    // Sum key + value of every element into the context word; stop early
    // when the key equals STOP. r0 = calls << 32 | sum.
    let text = |stop: u32| {
        format!(
            "
            stdw [%r10-8], 0
            lddw %r1, map_by_fd(0)
            lddw %r2, code_addr(visit)
            mov %r3, %r10
            add %r3, -8
            mov %r4, 0
            call 164
            ldxdw %r1, [%r10-8]
            lsh %r0, 32
            or %r0, %r1
            exit
        visit:
            ldxw %r5, [%r2]
            ldxdw %r6, [%r3]
            add %r6, %r5
            ldxdw %r7, [%r4]
            add %r7, %r6
            stxdw [%r4], %r7
            stdw [%r3], 7
            mov %r0, 0
            jne %r5, {stop}, +1
            mov %r0, 1
            exit
            "
        )
    };
    let vm = load(&text(99), &[&hash]);
    // All three: sum of keys + values, and each value was set to 7.
    assert_eq!(
        vm.run(&mut []).unwrap(),
        (3 << 32) | (3 + 30 + 5 + 50 + 9 + 90)
    );
    for key in [3u32, 5, 9] {
        assert_eq!(
            hash.lookup(&key.to_le_bytes()).unwrap(),
            Some(7u64.to_le_bytes().to_vec())
        );
    }
    // The key pointer is read-only to the callback.
    let write_key = load(&text(99).replace("stdw [%r3], 7", "stw [%r2], 7"), &[&hash]);
    assert!(matches!(
        write_key.run(&mut []).unwrap_err().trap,
        bpfbox::Trap::OutOfBounds { .. }
    ));
    // An empty map: no call; bad flags: -EINVAL.
    let empty = map(MapType::Hash, 4, 8, 8);
    assert_eq!(load(&text(99), &[&empty]).run(&mut []).unwrap(), 0);
    let flags = load(&text(99).replace("mov %r4, 0", "mov %r4, 1"), &[&hash])
        .run(&mut [])
        .unwrap();
    assert_eq!(flags >> 32, neg(bpfbox::abi::errno::EINVAL) & 0xffff_ffff);
    // Stopping at the first element visited makes one call.
    let first = hash.keys().unwrap()[0].clone();
    let stop = u32::from_le_bytes(first.try_into().unwrap());
    assert_eq!(load(&text(stop), &[&hash]).run(&mut []).unwrap() >> 32, 1);
}

#[test]
fn printk_keeps_utf8_in_the_format() {
    let mut memory = "é=%d\0".as_bytes().to_vec();
    let len = memory.len();
    let vm = load(&format!("mov %r2, {len}\nmov %r3, 7\ncall 6\nexit"), &[]);
    let mut state = RunState::new();
    let r0 = vm.execute(&mut state, &mut memory).unwrap().r0;
    assert_eq!(state.trace_lines(), ["é=7"]);
    assert_eq!(r0, "é=7".len() as u64);
}
