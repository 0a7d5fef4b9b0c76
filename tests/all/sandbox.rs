//! The sandbox holds for arbitrary valid programs: whatever a program does,
//! a run ends with r0 or an error (never a panic), and memory outside the
//! run's regions is untouched. Programs come from the same generator as the
//! assembler round-trip tests (every instruction form, jumps, local calls,
//! code addresses), run without verification under a small budget.

use crate::strategies::program_instructions;
use bpfbox::abi::{MapDef, MapType, ProgramType};
use bpfbox::isa::Program;
use bpfbox::{Config, Map, MapOptions, Packet, RunState, Vm};
use proptest::prelude::*;

const GUARD: u8 = 0xa5;

fn maps() -> Vec<Map> {
    let def = |map_type, key_size, value_size| MapDef {
        map_type,
        key_size,
        value_size,
        max_entries: 4,
        flags: 0,
    };
    vec![
        Map::create("array", def(MapType::Array, 4, 16), &MapOptions::default()).unwrap(),
        Map::create("hash", def(MapType::Hash, 4, 8), &MapOptions::default()).unwrap(),
    ]
}

fn load(program: Program, program_type: ProgramType) -> Option<Vm> {
    let config = Config {
        program_type,
        maps: maps(),
        budget: Some(10_000),
        ..Config::default()
    };
    // Programs the runtime cannot load (helpers it refuses, legacy loads
    // outside packet types, ...) are fine: they never run.
    Vm::new(program, config).ok()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    #[test]
    fn buffer_runs_touch_nothing_outside_their_memory(insns in program_instructions()) {
        let Ok(program) = Program::from_instructions(&insns) else { return Ok(()) };
        let Some(vm) = load(program, ProgramType::Buffer) else { return Ok(()) };
        // 64 bytes of input between two guard areas.
        let mut buffer = [GUARD; 16 + 64 + 16];
        buffer[16..80].fill(0);
        let _ = vm.execute(&mut RunState::new(), &mut buffer[16..80]);
        prop_assert!(buffer[..16].iter().chain(&buffer[80..]).all(|&b| b == GUARD));
    }

    #[test]
    fn packet_runs_end_with_a_result_or_an_error(insns in program_instructions()) {
        let Ok(program) = Program::from_instructions(&insns) else { return Ok(()) };
        for program_type in [ProgramType::Xdp, ProgramType::SchedCls, ProgramType::SocketFilter] {
            let Some(vm) = load(program.clone(), program_type) else { continue };
            let mut packet = Packet::new(&[0x5a; 60]);
            let _ = vm.execute_packet(&mut RunState::new(), &mut packet);
            // The packet stays inside its buffer's bounds whatever the program did.
            prop_assert!(packet.data().len() >= 14 && packet.data().len() <= 60 + 256);
        }
    }
}
