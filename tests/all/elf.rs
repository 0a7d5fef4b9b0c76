//! The ELF loader on the clang-built objects of `tests/bpf/` (their C
//! sources, and `tests/bpf/README.md`, say what each program must do): what
//! `Object` reports, and runs of every program with exact results.

use crate::elf_malformed::fixture;
use bpfbox::abi::btf::Btf;
use bpfbox::abi::maps::{update, MapType};
use bpfbox::abi::ProgramType;
use bpfbox::elf::{ElfError, LoadOptions, LoadedObject, MapOrigin, Object, ParseOptions, SlotInit};
use bpfbox::helpers::Redirect;
use bpfbox::{AlignedMemory, Host, MapOptions, Packet, RunState};
use std::sync::Arc;

// ------------------------------------------------------------ packets

fn eth(ether_type: u16, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
    p.extend_from_slice(&ether_type.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

fn vlan(tci: u16, ether_type: u16, payload: &[u8]) -> Vec<u8> {
    let mut inner = tci.to_be_bytes().to_vec();
    inner.extend_from_slice(&ether_type.to_be_bytes());
    inner.extend_from_slice(payload);
    eth(0x8100, &inner)
}

fn ipv4(proto: u8, payload: &[u8]) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let mut p = vec![0x45, 0];
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0x40, 0, 0x40, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 11]);
    p.extend_from_slice(payload);
    p
}

fn ipv6(next: u8, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    p.extend_from_slice(&[next, 0x40]);
    let mut source = [0u8; 16];
    source[0] = 0xfd;
    source[15] = 1;
    let mut destination = source;
    destination[15] = 2;
    p.extend_from_slice(&source);
    p.extend_from_slice(&destination);
    p.extend_from_slice(payload);
    p
}

fn udp(sport: u16, dport: u16) -> Vec<u8> {
    let mut p = sport.to_be_bytes().to_vec();
    p.extend_from_slice(&dport.to_be_bytes());
    p.extend_from_slice(&[0, 8, 0, 0]);
    p
}

fn tcp(sport: u16, dport: u16) -> Vec<u8> {
    let mut p = sport.to_be_bytes().to_vec();
    p.extend_from_slice(&dport.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0]);
    p
}

fn padded(mut p: Vec<u8>, len: usize) -> Vec<u8> {
    p.resize(len, 0);
    p
}

fn p4u(port: u16) -> Vec<u8> {
    padded(eth(0x0800, &ipv4(17, &udp(12345, port))), 64)
}

fn p4t(port: u16) -> Vec<u8> {
    padded(eth(0x0800, &ipv4(6, &tcp(40000, port))), 64)
}

fn p6u(port: u16) -> Vec<u8> {
    padded(eth(0x86dd, &ipv6(17, &udp(12345, port))), 80)
}

fn arp() -> Vec<u8> {
    padded(eth(0x0806, &[0, 1, 8, 0, 6, 4, 0, 1]), 60)
}

// ------------------------------------------------------------ loading

/// A fixed host: pid_tgid, comm and clock as the README's runs use.
struct FixedHost {
    pid_tgid: u64,
    comm: &'static str,
}

impl Host for FixedHost {
    fn monotonic_ns(&self) -> u64 {
        1_000_000_000
    }
    fn pid_tgid(&self) -> u64 {
        self.pid_tgid
    }
    fn comm(&self) -> [u8; 16] {
        let mut comm = [0u8; 16];
        comm[..self.comm.len()].copy_from_slice(self.comm.as_bytes());
        comm
    }
}

fn options() -> LoadOptions {
    LoadOptions {
        map_options: MapOptions {
            cpus: 1,
            ..MapOptions::default()
        },
        ..LoadOptions::default()
    }
}

fn load(name: &str) -> LoadedObject {
    Object::parse(&fixture(name))
        .unwrap()
        .load(&options())
        .unwrap()
}

fn load_with_host(name: &str, host: FixedHost) -> LoadedObject {
    let options = LoadOptions {
        host: Arc::new(host),
        ..options()
    };
    Object::parse(&fixture(name))
        .unwrap()
        .load(&options)
        .unwrap()
}

fn state() -> RunState {
    let mut state = RunState::new();
    state.set_cpu(0);
    state
}

fn run_packet(loaded: &LoadedObject, program: &str, bytes: &[u8]) -> (u64, Packet) {
    let mut packet = Packet::new(bytes);
    let outcome = loaded
        .program(program)
        .unwrap()
        .execute_packet(&mut state(), &mut packet)
        .unwrap();
    (outcome.r0, packet)
}

fn r0(loaded: &LoadedObject, program: &str, bytes: &[u8]) -> u64 {
    run_packet(loaded, program, bytes).0
}

fn run_ctx(loaded: &LoadedObject, program: &str, ctx: &[u8]) -> (u64, Vec<String>) {
    let mut state = state();
    let mut memory = AlignedMemory::copy_from(ctx);
    let outcome = loaded
        .program(program)
        .unwrap()
        .execute(&mut state, memory.as_mut_slice())
        .unwrap();
    (outcome.r0, state.trace_lines().to_vec())
}

fn value(loaded: &LoadedObject, map: &str, key: &[u8]) -> Option<Vec<u8>> {
    loaded.map(map).unwrap().lookup(key).unwrap()
}

fn u64_value(loaded: &LoadedObject, map: &str, key: u32) -> u64 {
    let bytes = value(loaded, map, &key.to_le_bytes()).unwrap();
    u64::from_le_bytes(bytes[..8].try_into().unwrap())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ------------------------------------------------------------ objects

#[test]
fn xdp_basic_lists_three_programs_in_one_section_and_counts_per_cpu() {
    let object = Object::parse(&fixture("xdp_basic.o")).unwrap();
    let programs: Vec<(&str, &str, Option<ProgramType>, usize)> = object
        .programs()
        .iter()
        .map(|p| {
            (
                p.name.as_str(),
                p.section.as_str(),
                p.kind.program_type,
                p.instructions.len(),
            )
        })
        .collect();
    assert_eq!(
        programs,
        [
            ("xdp_pass_func", "xdp", Some(ProgramType::Xdp), 2),
            ("xdp_drop_func", "xdp", Some(ProgramType::Xdp), 2),
            ("xdp_stats", "xdp", Some(ProgramType::Xdp), 25),
        ]
    );
    assert_eq!(object.license(), Some("GPL"));
    let map = &object.maps()[0];
    assert_eq!(
        (
            map.name.as_str(),
            map.def.map_type,
            map.def.key_size,
            map.def.value_size,
            map.def.max_entries,
            &map.origin
        ),
        (
            "xdp_stats_map",
            MapType::PercpuArray,
            4,
            16,
            5,
            &MapOrigin::Btf
        )
    );
    assert_eq!(map.value_type.as_deref(), Some("struct datarec"));

    let loaded = object.load(&options()).unwrap();
    assert_eq!(r0(&loaded, "xdp_pass_func", &p4u(53)), 2);
    assert_eq!(r0(&loaded, "xdp_drop_func", &p4u(53)), 1);
    assert_eq!(r0(&loaded, "xdp_stats", &p4u(53)), 2);
    assert_eq!(r0(&loaded, "xdp_stats", &p4u(53)), 2);
    assert_eq!(r0(&loaded, "xdp_stats", &[0; 10]), 1);
    let slot = |key: u32| hex(&value(&loaded, "xdp_stats_map", &key.to_le_bytes()).unwrap());
    assert_eq!(slot(1), "01000000000000000a00000000000000");
    assert_eq!(slot(2), "02000000000000008000000000000000");
    for key in [0, 3, 4] {
        assert_eq!(slot(key), "0".repeat(32));
    }
}

#[test]
fn xdp_parse_counts_protocols_and_drops_ports() {
    let loaded = load("xdp_parse.o");
    let mut short_ihl = padded(eth(0x0800, &ipv4(17, &[])), 34);
    short_ihl[14] = 0x46;
    let mut ihl4 = p4u(53);
    ihl4[14] = 0x44;
    let cases: Vec<(Vec<u8>, u64)> = vec![
        (p4u(53), 2),
        (p4u(9), 1),
        (p4t(80), 2),
        (p4t(23), 1),
        (p6u(9), 1),
        (p6u(53), 2),
        (padded(vlan(100, 0x0800, &ipv4(17, &udp(1, 9))), 68), 1),
        (arp(), 2),
        (padded(eth(0x0800, &ipv4(1, &[8, 0, 0, 0])), 64), 2),
        (vec![0; 13], 1),
        (short_ihl, 1),
        (eth(0x0800, &ipv4(17, &[0, 1, 0])), 1),
        (ihl4, 1),
    ];
    for (i, (packet, want)) in cases.iter().enumerate() {
        assert_eq!(r0(&loaded, "xdp_parse_prog", packet), *want, "packet {i}");
    }
    let mut counts: Vec<(u32, u64)> = loaded
        .map("proto_count")
        .unwrap()
        .keys()
        .unwrap()
        .iter()
        .map(|k| {
            let key = u32::from_le_bytes(k[..4].try_into().unwrap());
            (key, u64_value(&loaded, "proto_count", key))
        })
        .collect();
    counts.sort();
    assert_eq!(counts, [(1, 1), (6, 2), (17, 6)]);
}

#[test]
fn xdp_redirect_through_a_devmap_is_the_runs_verdict() {
    let loaded = load("xdp_parse.o");
    let program = loaded.program("xdp_redirect_prog").unwrap();
    let mut packet = Packet::new(&p4u(53));
    let outcome = program.execute_packet(&mut state(), &mut packet).unwrap();
    assert_eq!((outcome.r0, outcome.redirect), (2, None));

    let tx_port = loaded.map("tx_port").unwrap();
    tx_port
        .update(&3u32.to_le_bytes(), &7u32.to_le_bytes(), update::ANY)
        .unwrap();
    let outcome = program.execute_packet(&mut state(), &mut packet).unwrap();
    assert_eq!(outcome.r0, 4);
    assert_eq!(
        outcome.redirect,
        Some(Redirect::Map {
            map_id: tx_port.id(),
            key: 3
        })
    );
    for other in [p6u(53), arp()] {
        assert_eq!(r0(&loaded, "xdp_redirect_prog", &other), 2);
    }
}

#[test]
fn tc_programs_write_the_context_and_socket_filters_use_ld_abs() {
    let object = Object::parse(&fixture("tc_socket.o")).unwrap();
    let kinds: Vec<(&str, &str, Option<ProgramType>)> = object
        .programs()
        .iter()
        .map(|p| (p.name.as_str(), p.section.as_str(), p.kind.program_type))
        .collect();
    assert_eq!(
        kinds,
        [
            ("tc_mark", "tc", Some(ProgramType::SchedCls)),
            ("tc_drop_arp", "classifier", Some(ProgramType::SchedCls)),
            ("sock_filter_udp", "socket", Some(ProgramType::SocketFilter)),
            (
                "sock_filter_udp_helper",
                "socket",
                Some(ProgramType::SocketFilter)
            ),
        ]
    );
    let loaded = object.load(&options()).unwrap();

    let (verdict, packet) = run_packet(&loaded, "tc_mark", &p4u(53));
    assert_eq!(
        (
            verdict,
            packet.skb_field("mark"),
            packet.skb_field("priority")
        ),
        (0, Some(0x42), Some(6))
    );
    let (verdict, packet) = run_packet(&loaded, "tc_mark", &p6u(53));
    assert_eq!((verdict, packet.skb_field("mark")), (2, Some(0)));
    let (verdict, packet) = run_packet(&loaded, "tc_mark", &arp());
    assert_eq!((verdict, packet.skb_field("mark")), (0, Some(0)));

    let (verdict, packet) = run_packet(&loaded, "tc_drop_arp", &arp());
    assert_eq!((verdict, packet.cb(0)), (2, Some(60)));
    let (verdict, packet) = run_packet(&loaded, "tc_drop_arp", &p4u(53));
    assert_eq!((verdict, packet.cb(0)), (0xffff_ffff, Some(64)));
    let (verdict, packet) = run_packet(&loaded, "tc_drop_arp", &[0; 10]);
    assert_eq!((verdict, packet.cb(0)), (0, Some(10)));

    for program in ["sock_filter_udp", "sock_filter_udp_helper"] {
        let results: Vec<u64> = [p4u(53), p6u(53), p4t(80), arp(), vec![0; 13]]
            .iter()
            .map(|p| r0(&loaded, program, p))
            .collect();
        assert_eq!(results, [64, 80, 0, 0, 0], "{program}");
    }
}

/// The sys_enter_write record `handle_write` reads.
fn write_record(fd: u64, count: u64) -> Vec<u8> {
    let mut ctx = vec![0u8; 40];
    ctx[16..24].copy_from_slice(&fd.to_le_bytes());
    ctx[32..40].copy_from_slice(&count.to_le_bytes());
    ctx
}

#[test]
fn global_data_of_every_kind() {
    let object = Object::parse(&fixture("globals.o")).unwrap();
    let maps: Vec<(&str, u32, u32, &MapOrigin)> = object
        .maps()
        .iter()
        .map(|m| (m.name.as_str(), m.def.value_size, m.def.flags, &m.origin))
        .collect();
    let rw = &MapOrigin::Data { read_only: false };
    let ro = &MapOrigin::Data { read_only: true };
    assert_eq!(
        maps,
        [
            (".data", 8, 0x400, rw),
            (".rodata", 86, 0x480, ro),
            (".data.custom", 4, 0x400, rw),
            (".bss", 16, 0x400, rw),
            (".rodata.cst32", 32, 0x80, ro),
            (".rodata.str1.1", 15, 0x80, ro),
        ]
    );
    let host = || FixedHost {
        pid_tgid: (1234 << 32) | 1235,
        comm: "test",
    };
    let loaded = load_with_host("globals.o", host());
    let (verdict, lines) = run_ctx(&loaded, "handle_write", &write_record(1, 12));
    assert_eq!(verdict, 0);
    assert_eq!(
        lines,
        [
            "hello 1234",
            "fd 1 count 12 weight 15",
            "write 6 by 1234: weight 15, sum 4111",
            "tag globals"
        ]
    );
    assert_eq!(
        hex(&loaded.read_global("counter").unwrap()),
        "0600000000000000"
    );
    assert_eq!(
        hex(&loaded.read_global("last_count").unwrap()),
        "0c00000000000000"
    );
    assert_eq!(hex(&loaded.read_global("last_pid").unwrap()), "d2040000");
    assert_eq!(hex(&loaded.read_global("weight_sum").unwrap()), "0f100000");

    let (_, lines) = run_ctx(&loaded, "handle_write", &write_record(7, 100));
    assert_eq!(
        lines,
        [
            "hello 1234",
            "fd 7 count 100 weight 3005",
            "write 7 by 1234: weight 3005, sum 7116",
            "tag globals"
        ]
    );
    assert_eq!(
        hex(&value(&loaded, ".bss", &[0; 4]).unwrap()),
        "6400000000000000d204000000000000"
    );
    assert_eq!(hex(&loaded.read_global("weight_sum").unwrap()), "cc1b0000");

    // `.rodata` is read-only for programs and frozen for the host.
    assert!(loaded.write_global("filter_pid", &[1, 0, 0, 0]).is_err());

    // Configuration before load, as a libbpf skeleton sets it.
    let mut object = Object::parse(&fixture("globals.o")).unwrap();
    object
        .set_global("filter_pid", &99u32.to_le_bytes())
        .unwrap();
    assert!(matches!(
        object.set_global("filter_pid", &[0; 8]),
        Err(ElfError::GlobalSize {
            size: 4,
            given: 8,
            ..
        })
    ));
    let options = LoadOptions {
        host: Arc::new(host()),
        ..options()
    };
    let loaded = object.load(&options).unwrap();
    let (verdict, lines) = run_ctx(&loaded, "handle_write", &write_record(1, 12));
    assert_eq!((verdict, lines.len()), (0, 0));
    assert_eq!(
        hex(&loaded.read_global("counter").unwrap()),
        "0500000000000000"
    );

    // The raw tracepoint counts writes into .bss.
    let loaded = load("globals.o");
    for id in [1u64, 0, 1] {
        let mut ctx = vec![0u8; 16];
        ctx[8..].copy_from_slice(&id.to_le_bytes());
        assert_eq!(run_ctx(&loaded, "count_raw_writes", &ctx).0, 0);
    }
    assert_eq!(hex(&loaded.read_global("raw_writes").unwrap()), "02000000");
}

/// x86-64 `struct pt_regs` with one register set.
fn pt_regs(set: &[(usize, u64)]) -> Vec<u8> {
    let mut regs = vec![0u8; 168];
    for &(offset, value) in set {
        regs[offset..offset + 8].copy_from_slice(&value.to_le_bytes());
    }
    regs
}

const RDX: usize = 96;
const RAX: usize = 80;
const RDI: usize = 112;

#[test]
fn legacy_map_sections_of_two_record_sizes() {
    let object = Object::parse(&fixture("maps_legacy.o")).unwrap();
    assert_eq!(object.kernel_version(), Some(0x60100));
    let defs: Vec<(&str, MapType, u32, &MapOrigin)> = object
        .maps()
        .iter()
        .map(|m| (m.name.as_str(), m.def.map_type, m.def.flags, &m.origin))
        .collect();
    assert_eq!(
        defs,
        [
            ("open_count", MapType::Array, 0, &MapOrigin::Legacy),
            ("mode_count", MapType::Hash, 1, &MapOrigin::Legacy)
        ]
    );
    let loaded = object.load(&options()).unwrap();
    for flags in [0x241, 0, 0x42, 2] {
        assert_eq!(
            run_ctx(&loaded, "count_open", &pt_regs(&[(RDX, flags)])).0,
            0
        );
    }
    let opens: Vec<u64> = (0..4)
        .map(|k| u64_value(&loaded, "open_count", k))
        .collect();
    assert_eq!(opens, [4, 2, 0, 0]);
    let modes: Vec<u64> = (0..3)
        .map(|k| u64_value(&loaded, "mode_count", k))
        .collect();
    assert_eq!(modes, [1, 1, 2]);

    let object = Object::parse(&fixture("maps_legacy_ext.o")).unwrap();
    let names: Vec<(&str, MapType, u32)> = object
        .maps()
        .iter()
        .map(|m| (m.name.as_str(), m.def.map_type, m.def.max_entries))
        .collect();
    assert_eq!(
        names,
        [
            ("read_calls", MapType::PercpuArray, 1),
            ("read_bytes", MapType::LruHash, 1024),
            ("read_ret", MapType::Array, 1)
        ]
    );
    let loaded = load_with_host(
        "maps_legacy_ext.o",
        FixedHost {
            pid_tgid: (500 << 32) | 501,
            comm: "cat",
        },
    );
    for count in [4096, 100] {
        run_ctx(&loaded, "read_entry", &pt_regs(&[(RDX, count)]));
    }
    for ret in [4096u64, (-11i64) as u64] {
        run_ctx(&loaded, "read_exit", &pt_regs(&[(RAX, ret)]));
    }
    assert_eq!(u64_value(&loaded, "read_calls", 0), 2);
    assert_eq!(u64_value(&loaded, "read_bytes", 500), 4196);
    assert_eq!(u64_value(&loaded, "read_ret", 0), 4085);
}

#[test]
fn sub_programs_are_linked_into_each_program_that_calls_them() {
    let loaded = load("subprogs.o");
    let packet = p4u(53);
    assert_eq!(r0(&loaded, "xdp_chain", &packet), 2);
    assert_eq!(r0(&loaded, "tc_mix", &packet), 0);
    assert_eq!(r0(&loaded, "xdp_loop", &packet), 2);
    let results: Vec<u64> = (0..4).map(|k| u64_value(&loaded, "results", k)).collect();
    assert_eq!(results, [403, 12429, 1992, 925]);

    let each = |loaded: &LoadedObject| {
        assert_eq!(r0(loaded, "xdp_each", &packet), 2);
        (
            u64_value(loaded, "results", 4),
            u64_value(loaded, "results", 5),
        )
    };
    assert_eq!(each(&loaded), (0, 8));
    let weights = loaded.map("weights").unwrap();
    for k in 0..8u32 {
        weights
            .update(
                &k.to_le_bytes(),
                &u64::from(k + 1).to_le_bytes(),
                update::ANY,
            )
            .unwrap();
    }
    assert_eq!(each(&loaded), (36, 8));
    weights
        .update(&3u32.to_le_bytes(), &5000u64.to_le_bytes(), update::ANY)
        .unwrap();
    assert_eq!(each(&loaded), (6, 4));

    // `.text` functions are linked only where called: xdp_chain carries
    // level1..3 and mix; tc_mix only mix.
    let object = Object::parse(&fixture("subprogs.o")).unwrap();
    let sizes: Vec<(&str, usize)> = object
        .programs()
        .iter()
        .map(|p| (p.name.as_str(), p.instructions.len()))
        .collect();
    assert_eq!(
        sizes,
        [
            ("xdp_chain", 50),
            ("xdp_loop", 36),
            ("xdp_each", 44),
            ("tc_mix", 21)
        ]
    );
}

#[test]
fn tail_calls_through_a_program_array_the_object_fills() {
    let object = Object::parse(&fixture("tailcalls.o")).unwrap();
    let table = &object.maps()[0];
    assert_eq!(table.name, "jmp_table");
    assert_eq!(
        table.initial_slots,
        [
            (0, SlotInit::Program("prog_a".into())),
            (2, SlotInit::Program("prog_c".into()))
        ]
    );
    let loaded = object.load(&options()).unwrap();
    let mut first = p4u(53);
    let results: Vec<u64> = [0u8, 1, 2, 3, 4, 255]
        .iter()
        .map(|&b| {
            first[0] = b;
            r0(&loaded, "xdp_dispatch", &first)
        })
        .collect();
    assert_eq!(results, [1, 2, 3, 2, 2, 2]);
    assert_eq!(r0(&loaded, "xdp_dispatch", &[]), 0);
    assert_eq!(r0(&loaded, "xdp_tail_empty", &p4u(53)), 42);
    let hits: Vec<u64> = (0..4).map(|k| u64_value(&loaded, "hits", k)).collect();
    assert_eq!(hits, [1, 0, 1, 0]);

    // Loading one program brings the targets of the object's program array.
    let options = LoadOptions {
        programs: Some(vec!["xdp_dispatch".into()]),
        ..options()
    };
    let loaded = object.load(&options).unwrap();
    let names: Vec<&str> = loaded.programs().map(|(n, _)| n).collect();
    assert_eq!(names, ["xdp_dispatch", "prog_a", "prog_c"]);
    assert_eq!(r0(&loaded, "xdp_dispatch", &[2]), 3);
}

#[test]
fn maps_of_maps_with_statically_filled_slots() {
    let loaded = load("map_in_map.o");
    let runs: Vec<u64> = [
        &[1u8, 2][..],
        &[1, 2],
        &[1, 0],
        &[0, 0],
        &[4, 0],
        &[1, 7],
        &[1],
    ]
    .iter()
    .map(|bytes| {
        r0(
            &loaded,
            "count_in_inner",
            &padded(bytes.to_vec(), if bytes.len() < 2 { 1 } else { 64 }),
        )
    })
    .collect();
    assert_eq!(runs, [2, 2, 2, 1, 1, 0, 0]);
    let inner_a: Vec<u64> = (0..4).map(|k| u64_value(&loaded, "inner_a", k)).collect();
    assert_eq!(inner_a, [1, 0, 2, 0]);
    let outer = loaded.map("outer_arr").unwrap();
    let inner = outer.inner(&1u32.to_le_bytes()).unwrap().unwrap();
    assert_eq!(inner.id(), loaded.map("inner_a").unwrap().id());

    let runs: Vec<u64> = [3u8, 3, 9]
        .iter()
        .map(|&b| r0(&loaded, "count_in_hash_inner", &padded(vec![b], 64)))
        .collect();
    assert_eq!(runs, [2, 2, 0]);
    let inner_b: Vec<u64> = (0..4).map(|k| u64_value(&loaded, "inner_b", k)).collect();
    assert_eq!(inner_b, [0, 0, 0, 2]);
    assert_eq!(r0(&loaded, "count_in_hash_inner", &[]), 0);
}

#[test]
fn ring_buffer_records_from_tracing_programs() {
    let host = || FixedHost {
        pid_tgid: (4242 << 32) | 4243,
        comm: "bash",
    };
    let loaded = load_with_host("ringbuf_trace.o", host());
    let mut record = vec![0u8; 8];
    record.extend_from_slice(&0x000e_0014u32.to_le_bytes());
    record.extend_from_slice(&4242u32.to_le_bytes());
    record.extend_from_slice(&4241u32.to_le_bytes());
    record.extend_from_slice(b"/usr/bin/true\0");
    assert_eq!(run_ctx(&loaded, "handle_exec", &record).0, 0);
    assert_eq!(
        run_ctx(
            &loaded,
            "trace_openat2",
            &pt_regs(&[(RDI, (-100i64) as u64)])
        )
        .0,
        0
    );
    assert_eq!(
        run_ctx(&loaded, "trace_openat2_ret", &pt_regs(&[(RAX, 3)])).0,
        0
    );
    let records = loaded.map("rb").unwrap().ringbuf_consume().unwrap();
    let mut comm = b"bash".to_vec();
    comm.resize(16, 0);
    let expected = |kind: u32, ret: u32, arg: u64, filename: &[u8]| {
        let mut r = kind.to_le_bytes().to_vec();
        r.extend_from_slice(&4242u32.to_le_bytes());
        r.extend_from_slice(&4243u32.to_le_bytes());
        r.extend_from_slice(&ret.to_le_bytes());
        r.extend_from_slice(&1_000_000_000u64.to_le_bytes());
        r.extend_from_slice(&arg.to_le_bytes());
        r.extend_from_slice(&comm);
        let mut name = filename.to_vec();
        name.resize(32, 0);
        r.extend_from_slice(&name);
        hex(&r)
    };
    let got: Vec<String> = records.iter().map(|r| hex(r)).collect();
    assert_eq!(
        got,
        [
            expected(1, 0, 4241, b"/usr/bin/true"),
            expected(2, 0, (-100i64) as u64, b""),
            expected(3, 3, 0, b""),
        ]
    );

    let mut object = Object::parse(&fixture("ringbuf_trace.o")).unwrap();
    object
        .set_global("target_pid", &1u32.to_le_bytes())
        .unwrap();
    let loaded = object
        .load(&LoadOptions {
            host: Arc::new(host()),
            ..options()
        })
        .unwrap();
    run_ctx(&loaded, "handle_exec", &record);
    assert!(loaded
        .map("rb")
        .unwrap()
        .ringbuf_consume()
        .unwrap()
        .is_empty());
}

#[test]
fn spin_lock_sections_and_the_lock_offset_from_btf() {
    let object = Object::parse(&fixture("spinlock.o")).unwrap();
    let offsets: Vec<Option<u32>> = object.maps().iter().map(|m| m.spin_lock_offset).collect();
    assert_eq!(offsets, [Some(8), Some(8)]);
    let loaded = object.load(&options()).unwrap();
    for len in [64, 100] {
        let mut packet = Packet::new(&vec![0u8; len]);
        assert!(packet.set_field("ifindex", 3));
        let outcome = loaded
            .program("tc_account")
            .unwrap()
            .execute_packet(&mut state(), &mut packet)
            .unwrap();
        assert_eq!(outcome.r0, 0);
    }
    assert_eq!(
        hex(&value(&loaded, "acct_by_ifindex", &3u32.to_le_bytes()).unwrap()),
        "02000000000000000000000064000000a4000000000000006400000000000000"
    );
    for len in [100, 64] {
        assert_eq!(r0(&loaded, "xdp_account", &vec![0u8; len]), 2);
    }
    assert_eq!(
        hex(&value(&loaded, "acct_total", &0u32.to_le_bytes()).unwrap()),
        "02000000000000000000000040000000a4000000000000006400000000000000"
    );
}

#[test]
fn every_cpu_version_computes_the_same_checksum() {
    let pattern: Vec<u8> = (0..32u32).map(|i| ((i * 53 + 155) % 256) as u8).collect();
    for object in ["cpu_v1.o", "cpu_v2.o", "cpu_v3.o", "cpu_v4.o"] {
        let loaded = load(object);
        let results = [
            r0(&loaded, "cpu_checksum", &pattern),
            r0(&loaded, "cpu_checksum", &[0; 32]),
            r0(&loaded, "cpu_checksum", &[0xff; 32]),
            r0(&loaded, "cpu_checksum", &[1; 31]),
        ];
        assert_eq!(results, [0x53f2be98, 0x6e73c036, 0x2ad2cc9c, 0], "{object}");
    }
}

#[test]
fn kernel_only_constructs_are_named() {
    let object = Object::parse(&fixture("kernel_only.o")).unwrap();
    let uses: Vec<(&str, Vec<(&str, &str)>)> = object
        .programs()
        .iter()
        .map(|p| {
            (
                p.name.as_str(),
                p.kernel_only
                    .iter()
                    .map(|k| (k.what, k.name.as_str()))
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        uses,
        [
            (
                "on_newtask",
                vec![
                    ("kfunc", "bpf_task_acquire"),
                    (".ksyms extern", "bpf_prog_active"),
                    ("kfunc", "bpf_task_release")
                ]
            ),
            (
                "kconfig_gate",
                vec![
                    (".kconfig extern", "LINUX_KERNEL_VERSION"),
                    (".kconfig extern", "CONFIG_HZ")
                ]
            ),
        ]
    );
    let error = object.load(&options()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "program on_newtask: uses kfunc `bpf_task_acquire`, which only the Linux kernel provides"
    );
    let only_xdp = LoadOptions {
        programs: Some(vec!["kconfig_gate".into()]),
        ..options()
    };
    assert_eq!(
        object.load(&only_xdp).unwrap_err().to_string(),
        "program kconfig_gate: uses .kconfig extern `LINUX_KERNEL_VERSION`, which only the Linux kernel provides"
    );
}

#[test]
fn a_large_object_of_128_programs() {
    let loaded = load("many_programs.o");
    assert_eq!(loaded.programs().count(), 128);
    assert_eq!(r0(&loaded, "xdp_prog_007", &p4u(10007)), 1);
    assert_eq!(r0(&loaded, "xdp_prog_007", &p4u(10008)), 2);
    assert_eq!(r0(&loaded, "xdp_prog_127", &p4u(10127)), 1);
    assert_eq!(r0(&loaded, "xdp_prog_000", &arp()), 2);
    assert_eq!(u64_value(&loaded, "prog_hits", 7), 2);
    assert_eq!(u64_value(&loaded, "prog_bytes", 7), 128);
    let port = value(&loaded, "port_hits", &10007u16.to_le_bytes()).unwrap();
    assert_eq!(hex(&port), "0100000000000000");
    let source = value(&loaded, "src_hits", &[10, 0, 0, 1]).unwrap();
    assert_eq!(hex(&source), "0300000000000000");
}

#[test]
fn a_loader_error_points_at_the_source_line() {
    // A tracing program loaded as a socket filter calls a helper socket
    // filters may not: the error names the call's source line.
    let mut object = Object::parse(&fixture("ringbuf_trace.o")).unwrap();
    object
        .set_program_type("handle_exec", ProgramType::SocketFilter)
        .unwrap();
    let options = LoadOptions {
        programs: Some(vec!["handle_exec".into()]),
        ..options()
    };
    let error = object.load(&options).unwrap_err().to_string();
    assert_eq!(
        error,
        "program handle_exec (./ringbuf_trace.c:83:14: if (!wanted(bpf_get_current_pid_tgid() >> 32))): \
         instruction 2: helper get_current_pid_tgid is not allowed in socket programs"
    );
}

/// The fake kernel's task (80 bytes, its layout) inside a 96-byte raw
/// tracepoint context: args[0] points at it, args[1] = 4241.
fn run_with_task(loaded: &LoadedObject, program: &str, with_task: bool) -> u64 {
    let mut ctx = vec![0u8; 96];
    let mut memory = AlignedMemory::copy_from(&ctx);
    let base = memory.as_mut_slice().as_ptr() as u64;
    let task = base + 16;
    ctx[0..8].copy_from_slice(&(if with_task { task } else { 0 }).to_le_bytes());
    ctx[8..16].copy_from_slice(&4241u64.to_le_bytes());
    let t = 16;
    ctx[t..t + 4].copy_from_slice(&1u32.to_le_bytes()); // __state
    ctx[t + 4..t + 8].copy_from_slice(&0x0040_0100u32.to_le_bytes()); // flags
    ctx[t + 24..t + 28].copy_from_slice(&4242u32.to_le_bytes()); // pid
    ctx[t + 28..t + 32].copy_from_slice(&4240u32.to_le_bytes()); // tgid
    ctx[t + 32..t + 36].copy_from_slice(&9u32.to_le_bytes()); // bitfields
    ctx[t + 40..t + 48].copy_from_slice(&task.to_le_bytes()); // real_parent
    ctx[t + 48..t + 56].copy_from_slice(&task.to_le_bytes()); // parent
    ctx[t + 56..t + 65].copy_from_slice(b"fake-init");
    memory.as_mut_slice().copy_from_slice(&ctx);
    loaded
        .program(program)
        .unwrap()
        .execute(&mut state(), memory.as_mut_slice())
        .unwrap()
        .r0
}

fn fake_kernel() -> Arc<Btf> {
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/bpf/fake_kernel.btf"
    ))
    .unwrap();
    Arc::new(Btf::parse(&bytes).unwrap())
}

#[test]
fn co_re_against_a_kernel_btf() {
    let kernel = ParseOptions {
        btf: Some(fake_kernel()),
    };
    let object = Object::parse_with(&fixture("core_kernel.o"), &kernel).unwrap();
    assert_eq!(object.relocation_summary().core, 28);
    // The field the fake kernel lacks: poisoned, in the branch not taken.
    let core_exec = object.program("core_exec").unwrap();
    let unresolved: Vec<usize> = core_exec.unresolved_core.iter().map(|u| u.slot).collect();
    assert_eq!(unresolved, [64]);
    assert_eq!(
        core_exec.unresolved_core[0].reason,
        "CO-RE byte_off relocation of `task_struct___pre514.state`: no target BTF has a matching `struct task_struct___pre514`"
    );
    // Patched offsets: task_struct.pid 0 -> 24 (mov), tp's pid 8 -> 12 (load).
    assert_eq!(core_exec.instructions[10].imm, 24);
    assert_eq!(
        object.program("core_exec_tp").unwrap().instructions[10].off,
        12
    );
    assert_eq!(
        object.program("core_exec_btf").unwrap().kind.program_type,
        Some(ProgramType::RawTracepoint)
    );

    let loaded = object.load(&options()).unwrap();
    assert_eq!(run_with_task(&loaded, "core_exec", true), 0);
    assert_eq!(
        hex(&value(&loaded, "exec_task", &0u32.to_le_bytes()).unwrap()),
        "92100000901000009010000001000000010000000000000000000000010000006661\
         6b652d696e697400000000000000"
    );
    assert_eq!(run_with_task(&loaded, "core_exec_btf", true), 0);
    assert_eq!(
        hex(&value(&loaded, "exec_task", &1u32.to_le_bytes()).unwrap()),
        "92100000901000009010000001000000000000000000000000000000000000006661\
         6b652d696e697400000000000000"
    );
    assert_eq!(run_with_task(&loaded, "core_exec", false), 0);
    assert_eq!(
        hex(&value(&loaded, "exec_task", &0u32.to_le_bytes()).unwrap()),
        format!("{}01000000{}", "00".repeat(28), "00".repeat(16))
    );

    let mut record = vec![1, 0, 0, 0, 0x10, 0x10, 0, 0];
    record.extend_from_slice(&0x000e_0014u32.to_le_bytes());
    record.extend_from_slice(&4242u32.to_le_bytes());
    record.extend_from_slice(&4241u32.to_le_bytes());
    record.extend_from_slice(b"/usr/bin/true\0");
    assert_eq!(run_ctx(&loaded, "core_exec_tp", &record).0, 0);
    let mut expected = Vec::new();
    for word in [4242u32, 4241, 0x000e_0014, 14] {
        expected.extend_from_slice(&word.to_le_bytes());
    }
    expected.extend_from_slice(b"/usr/bin/true");
    expected.resize(48, 0);
    assert_eq!(
        value(&loaded, "exec_tp", &0u32.to_le_bytes()).unwrap(),
        expected
    );
}

#[test]
fn co_re_without_a_kernel_btf_uses_the_programs_own_types() {
    // With no kernel BTF the program's own layout is the answer: the run
    // reads the task as the program declared it, so the fake kernel's
    // layout gives other values.
    let object = Object::parse(&fixture("core_kernel.o")).unwrap();
    assert_eq!(object.program("core_exec").unwrap().instructions[10].imm, 0);
    assert!(object
        .programs()
        .iter()
        .all(|p| p.unresolved_core.is_empty()));
}

#[test]
fn co_re_against_bpfbox_context_types() {
    let object = Object::parse(&fixture("core_ctx.o")).unwrap();
    let offsets: Vec<i16> = [1, 4, 6]
        .iter()
        .map(|&slot| object.programs()[0].instructions[slot].off)
        .collect();
    assert_eq!(offsets, [8, 16, 0]);
    let loaded = object.load(&options()).unwrap();
    assert_eq!(r0(&loaded, "core_ctx_prog", &p4u(53)), 0);
    assert_eq!(r0(&loaded, "core_ctx_prog", &padded(p4u(53), 1600)), 2);
    assert_eq!(r0(&loaded, "core_ctx_prog", &p6u(53)), 0xffff_ffff);
    let mut packet = Packet::new(&p4u(53));
    packet.set_field("mark", 0x42);
    let outcome = loaded
        .program("core_ctx_prog")
        .unwrap()
        .execute_packet(&mut state(), &mut packet)
        .unwrap();
    assert_eq!(outcome.r0, 2);
}

#[test]
fn the_host_fills_a_program_array_too() {
    let loaded = load("tailcalls.o");
    let table = loaded.map("jmp_table").unwrap();
    // Slot 1 is empty in the object: dispatching byte 1 falls through.
    assert_eq!(r0(&loaded, "xdp_dispatch", &[1]), 2);
    table
        .set_program(1, loaded.program("prog_c").unwrap().clone())
        .unwrap();
    assert_eq!(r0(&loaded, "xdp_dispatch", &[1]), 3);
    table.clear_program(0).unwrap();
    assert_eq!(r0(&loaded, "xdp_dispatch", &[0]), 2);
    let hits: Vec<u64> = (0..4).map(|k| u64_value(&loaded, "hits", k)).collect();
    assert_eq!(hits, [0, 0, 1, 0]);
}

/// CO-RE against the running kernel's BTF, where the machine has one.
#[test]
fn co_re_against_the_running_kernel() {
    let Ok(bytes) = std::fs::read("/sys/kernel/btf/vmlinux") else {
        eprintln!("no /sys/kernel/btf/vmlinux: skipped");
        return;
    };
    let kernel = ParseOptions {
        btf: Some(Arc::new(Btf::parse(&bytes).unwrap())),
    };
    let object = Object::parse_with(&fixture("core_kernel.o"), &kernel).unwrap();
    // task_struct.pid moved from the program's offset 0 to the kernel's.
    let pid = object.program("core_exec").unwrap().instructions[10].imm;
    assert!(pid > 0, "task_struct.pid at {pid}");
    object.load(&options()).unwrap();
}
