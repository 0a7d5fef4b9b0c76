//! Packet program types: XDP, socket filter, tc; their contexts, packet
//! access, legacy loads, packet helpers and verdicts.

use bpfbox::abi::errno::{neg, EFAULT, EINVAL};
use bpfbox::abi::{MapDef, MapType, ProgramType};
use bpfbox::helpers::Redirect;
use bpfbox::isa::asm;
use bpfbox::{Config, LoadError, Map, MapOptions, Packet, RunError, RunState, Trap, Vm};
use std::sync::Arc;

fn load(program_type: ProgramType, text: &str, maps: &[&Map]) -> Vm {
    let program = asm::assemble(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let config = Config {
        program_type,
        maps: maps.iter().map(|&m| m.clone()).collect(),
        ..Config::default()
    };
    Vm::new(program, config).unwrap()
}

/// An Ethernet + IPv4 (IHL 5) + 20-byte L4 header, 60 bytes in all.
fn ipv4_packet(protocol: u8, dst_port: u16) -> Vec<u8> {
    let mut p = vec![0u8; 60];
    p[12..14].copy_from_slice(&[0x08, 0x00]);
    p[14] = 0x45;
    p[23] = protocol;
    p[36..38].copy_from_slice(&dst_port.to_be_bytes());
    p
}

/// Adds 1 to the count of protocol r6 in hash map 0 (u32 protocol -> u64
/// count), racing safely with other runs: creates the element with
/// BPF_NOEXIST, and on losing that race looks it up again; continues at
/// `verdict`.
const COUNT_PROTOCOL_IN_R6: &str = "
    stxw [%r10-4], %r6
    lddw %r1, map_by_fd(0)
    mov %r2, %r10
    add %r2, -4
    call 1
    jne %r0, 0, add_one
    stdw [%r10-16], 1
    lddw %r1, map_by_fd(0)
    mov %r2, %r10
    add %r2, -4
    mov %r3, %r10
    add %r3, -16
    mov %r4, 1
    call 2
    jeq %r0, 0, verdict
    lddw %r1, map_by_fd(0)
    mov %r2, %r10
    add %r2, -4
    call 1
    jeq %r0, 0, verdict
add_one:
    mov %r1, 1
    lock add [%r0+0], %r1
";

/// Drops TCP to port 22, passes the rest; counts packets per IP protocol.
fn xdp_filter() -> String {
    let head = "
    ldxw %r2, [%r1+0]
    ldxw %r3, [%r1+4]
    mov %r4, %r2
    add %r4, 54
    jgt %r4, %r3, pass
    ldxh %r5, [%r2+12]
    jne %r5, 0x0008, pass
    ldxb %r6, [%r2+23]
    ldxh %r7, [%r2+36]
";
    let tail = "
verdict:
    jne %r6, 6, pass
    jne %r7, 0x1600, pass
    mov %r0, 1
    exit
pass:
    mov %r0, 2
    exit
";
    format!("{head}{COUNT_PROTOCOL_IN_R6}{tail}")
}

#[test]
fn xdp_filter_counts_exactly_across_threads() {
    let def = MapDef {
        map_type: MapType::Hash,
        key_size: 4,
        value_size: 8,
        max_entries: 16,
        flags: 0,
    };
    let counts = Map::create("counts", def, &MapOptions::default()).unwrap();
    let vm = Arc::new(load(ProgramType::Xdp, &xdp_filter(), &[&counts]));
    let threads: Vec<_> = (0..4u32)
        .map(|t| {
            let vm = Arc::clone(&vm);
            std::thread::spawn(move || {
                let mut state = RunState::new();
                let mut drops = 0;
                for i in 0..1000u32 {
                    // TCP, UDP and ICMP in turn; every tenth TCP packet to port 22.
                    let (protocol, port) = match (i + t) % 3 {
                        0 => (6, if i % 10 == 0 { 22 } else { 80 }),
                        1 => (17, 53),
                        _ => (1, 0),
                    };
                    let mut packet = Packet::new(&ipv4_packet(protocol, port));
                    let outcome = vm.execute_packet(&mut state, &mut packet).unwrap();
                    if outcome.r0 == 1 {
                        drops += 1;
                    } else {
                        assert_eq!(outcome.r0, 2);
                    }
                }
                drops
            })
        })
        .collect();
    let drops: u32 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    let count = |protocol: u32| {
        counts
            .lookup(&protocol.to_le_bytes())
            .unwrap()
            .map(|v| u64::from_le_bytes(v.try_into().unwrap()))
    };
    // Per thread t: i in 0..1000 with (i + t) % 3 == k.
    let expected = |k: u32| {
        (0..4u32)
            .map(|t| (0..1000u32).filter(|i| (i + t) % 3 == k).count() as u64)
            .sum()
    };
    assert_eq!(count(6), Some(expected(0)));
    assert_eq!(count(17), Some(expected(1)));
    assert_eq!(count(1), Some(expected(2)));
    let expected_drops: u32 = (0..4u32)
        .map(|t| {
            (0..1000u32)
                .filter(|i| (i + t) % 3 == 0 && i % 10 == 0)
                .count() as u32
        })
        .sum();
    assert_eq!(drops, expected_drops);
    // A short packet passes without being counted.
    let mut short = Packet::new(&[0; 20]);
    assert_eq!(
        vm.execute_packet(&mut RunState::new(), &mut short)
            .unwrap()
            .r0,
        2
    );
}

#[test]
fn xdp_adjusts_head_meta_and_tail() {
    // Pop the 14-byte Ethernet header, write a 4-byte metadata word, grow
    // the tail by 2 bytes; return data_end - data.
    let vm = load(
        ProgramType::Xdp,
        "
        mov %r6, %r1
        mov %r2, 14
        call 44
        jne %r0, 0, fail
        mov %r1, %r6
        mov %r2, -4
        call 54
        jne %r0, 0, fail
        ldxw %r2, [%r6+8]
        ldxw %r3, [%r6+0]
        mov %r4, %r2
        add %r4, 4
        jgt %r4, %r3, fail
        stw [%r2+0], 0x11223344
        mov %r1, %r6
        mov %r2, 2
        call 65
        jne %r0, 0, fail
        ldxw %r2, [%r6+0]
        ldxw %r3, [%r6+4]
        mov %r0, %r3
        sub %r0, %r2
        exit
    fail:
        mov %r0, -1
        exit
        ",
        &[],
    );
    let frame: Vec<u8> = (0..60).collect();
    let mut packet = Packet::new(&frame);
    let outcome = vm
        .execute_packet(&mut RunState::new(), &mut packet)
        .unwrap();
    assert_eq!(outcome.r0, 48);
    let mut expected: Vec<u8> = (14..60).collect();
    expected.extend([0, 0]);
    assert_eq!(packet.data(), &expected[..]);
    assert_eq!(packet.metadata(), &0x1122_3344u32.to_le_bytes());

    // Out of range: head beyond the packet, tail below a header, meta over 32 bytes.
    let vm = load(
        ProgramType::Xdp,
        "
        mov %r6, %r1
        mov %r2, 60
        call 44
        mov %r7, %r0
        mov %r1, %r6
        mov %r2, -100
        call 65
        mov %r8, %r0
        mov %r1, %r6
        mov %r2, -36
        call 54
        add %r0, %r7
        add %r0, %r8
        exit
        ",
        &[],
    );
    let mut packet = Packet::new(&frame);
    let r0 = vm
        .execute_packet(&mut RunState::new(), &mut packet)
        .unwrap()
        .r0;
    assert_eq!(
        r0,
        neg(EINVAL)
            .wrapping_mul(2)
            .wrapping_add(neg(bpfbox::abi::errno::EACCES))
    );
    assert_eq!(packet.data(), &frame[..]);
}

#[test]
fn socket_filter_legacy_loads_are_big_endian_and_end_the_run_out_of_bounds() {
    // Keep IPv4 packets whole (return -1), drop the rest; ldabsw past the end ends with 0.
    let vm = load(
        ProgramType::SocketFilter,
        "
        ldabsh 12
        jne %r0, 0x0800, drop
        mov %r6, 1
        ldindb %r6, 22
        jne %r0, 6, drop
        mov %r0, -1
        exit
    drop:
        mov %r0, 0
        exit
        ",
        &[],
    );
    let mut state = RunState::new();
    assert_eq!(
        vm.execute_packet(&mut state, &mut Packet::new(&ipv4_packet(6, 80)))
            .unwrap()
            .r0,
        u64::MAX
    );
    assert_eq!(
        vm.execute_packet(&mut state, &mut Packet::new(&ipv4_packet(17, 80)))
            .unwrap()
            .r0,
        0
    );
    let past = load(
        ProgramType::SocketFilter,
        "mov %r0, 7\nldabsw 60\nmov %r0, 9\nexit",
        &[],
    );
    assert_eq!(
        past.execute_packet(&mut state, &mut Packet::new(&ipv4_packet(6, 80)))
            .unwrap()
            .r0,
        0
    );
    assert_eq!(
        past.execute_packet(&mut state, &mut Packet::new(&[0; 64]))
            .unwrap()
            .r0,
        9
    );
    // Legacy loads need a socket buffer: not in XDP.
    let program = asm::assemble("ldabsw 0\nexit").unwrap();
    let config = Config {
        program_type: ProgramType::Xdp,
        ..Config::default()
    };
    assert!(matches!(
        Vm::new(program, config),
        Err(LoadError::Unsupported { pc: 0, .. })
    ));
}

#[test]
fn context_fields_follow_the_program_type() {
    // tc may write mark and read the packet; the host reads the mark back.
    let tc = load(
        ProgramType::SchedCls,
        "
        ldxw %r2, [%r1+0]
        add %r2, 1
        stxw [%r1+8], %r2
        ldxw %r3, [%r1+76]
        ldxw %r4, [%r1+80]
        mov %r0, %r4
        sub %r0, %r3
        exit
        ",
        &[],
    );
    let mut packet = Packet::new(&ipv4_packet(6, 80));
    packet.set_field("mark", 5);
    assert_eq!(
        tc.execute_packet(&mut RunState::new(), &mut packet)
            .unwrap()
            .r0,
        60
    );
    assert_eq!(packet.skb_field("mark"), Some(61));

    // A socket filter may read mark but not write it, and may not read data.
    let write = load(
        ProgramType::SocketFilter,
        "stw [%r1+8], 1\nmov %r0, 0\nexit",
        &[],
    );
    let error = write
        .execute_packet(&mut RunState::new(), &mut packet)
        .unwrap_err();
    assert!(matches!(
        error,
        RunError {
            pc: 0,
            trap: Trap::ContextAccess {
                offset: 8,
                size: 4,
                ..
            }
        }
    ));
    let read_data = load(ProgramType::SocketFilter, "ldxw %r0, [%r1+76]\nexit", &[]);
    assert!(matches!(
        read_data
            .execute_packet(&mut RunState::new(), &mut packet)
            .unwrap_err()
            .trap,
        Trap::ContextAccess { offset: 76, .. }
    ));
    // Narrow reads of scalar fields work; packet pointers only whole.
    let narrow = load(ProgramType::SocketFilter, "ldxb %r0, [%r1+8]\nexit", &[]);
    assert_eq!(
        narrow
            .execute_packet(&mut RunState::new(), &mut packet)
            .unwrap()
            .r0,
        61
    );
    // Atomics on the context are refused.
    let atomic = load(
        ProgramType::SchedCls,
        "mov %r2, 1\nlock add32 [%r1+8], %r2\nmov %r0, 0\nexit",
        &[],
    );
    assert!(matches!(
        atomic
            .execute_packet(&mut RunState::new(), &mut packet)
            .unwrap_err()
            .trap,
        Trap::ContextAccess { offset: 8, .. }
    ));
}

#[test]
fn redirect_verdicts_and_packet_bytes_helpers() {
    let vm = load(
        ProgramType::Xdp,
        "mov %r1, 7\nmov %r2, 0\ncall 23\nexit",
        &[],
    );
    let outcome = vm
        .execute_packet(&mut RunState::new(), &mut Packet::new(&[0; 60]))
        .unwrap();
    assert_eq!(outcome.r0, 4);
    assert_eq!(
        outcome.redirect,
        Some(Redirect::Interface {
            ifindex: 7,
            flags: 0
        })
    );

    let def = MapDef {
        map_type: MapType::Devmap,
        key_size: 4,
        value_size: 4,
        max_entries: 4,
        flags: 0,
    };
    let devmap = Map::create("ports", def, &MapOptions::default()).unwrap();
    devmap
        .update(&1u32.to_le_bytes(), &9u32.to_le_bytes(), 0)
        .unwrap();
    let text = "lddw %r1, map_by_fd(0)\nmov %r2, KEY\nmov %r3, 2\ncall 51\nexit";
    let hit = load(ProgramType::Xdp, &text.replace("KEY", "1"), &[&devmap]);
    let outcome = hit
        .execute_packet(&mut RunState::new(), &mut Packet::new(&[0; 60]))
        .unwrap();
    assert_eq!(
        (outcome.r0, outcome.redirect),
        (
            4,
            Some(Redirect::Map {
                map_id: devmap.id(),
                key: 1
            })
        )
    );
    // An empty slot: the flags' fallback action (XDP_PASS), no redirect.
    let miss = load(ProgramType::Xdp, &text.replace("KEY", "3"), &[&devmap]);
    let outcome = miss
        .execute_packet(&mut RunState::new(), &mut Packet::new(&[0; 60]))
        .unwrap();
    assert_eq!((outcome.r0, outcome.redirect), (2, None));

    // tc: copy bytes 12..14 out, write them at 0..2; loading past the end faults.
    let tc = load(
        ProgramType::SchedCls,
        "
        mov %r6, %r1
        mov %r2, 12
        mov %r3, %r10
        add %r3, -8
        mov %r4, 2
        call 26
        mov %r1, %r6
        mov %r2, 0
        mov %r3, %r10
        add %r3, -8
        mov %r4, 2
        mov %r5, 0
        call 9
        mov %r7, %r0
        mov %r1, %r6
        mov %r2, 59
        mov %r3, %r10
        add %r3, -8
        mov %r4, 2
        call 26
        add %r0, %r7
        exit
        ",
        &[],
    );
    let mut packet = Packet::new(&ipv4_packet(6, 80));
    assert_eq!(
        tc.execute_packet(&mut RunState::new(), &mut packet)
            .unwrap()
            .r0,
        neg(EFAULT)
    );
    assert_eq!(&packet.data()[0..2], &[0x08, 0x00]);
}

#[test]
fn helpers_and_inputs_are_checked_against_the_program_type() {
    let program =
        asm::assemble("mov %r1, 0\nmov %r2, 0\nmov %r3, 0\nmov %r4, 0\ncall 26\nexit").unwrap();
    let config = Config {
        program_type: ProgramType::Xdp,
        ..Config::default()
    };
    assert_eq!(
        Vm::new(program, config).err(),
        Some(LoadError::HelperNotAllowed {
            pc: 4,
            helper: "skb_load_bytes".into(),
            program_type: "xdp"
        })
    );
    let xdp = load(ProgramType::Xdp, "mov %r0, 2\nexit", &[]);
    assert!(matches!(
        xdp.run(&mut []).unwrap_err().trap,
        Trap::WrongInput { .. }
    ));
    let buffer = load(ProgramType::Buffer, "mov %r0, 2\nexit", &[]);
    assert!(matches!(
        buffer
            .execute_packet(&mut RunState::new(), &mut Packet::new(&[0; 14]))
            .unwrap_err()
            .trap,
        Trap::WrongInput { .. }
    ));
}

#[test]
fn kprobe_reads_its_registers_and_may_not_write_them() {
    let mut regs = [0u8; 168];
    regs[112..120].copy_from_slice(&0xdead_beefu64.to_le_bytes()); // di
    let read = load(ProgramType::Kprobe, "ldxdw %r0, [%r1+112]\nexit", &[]);
    assert_eq!(read.run(&mut regs).unwrap(), 0xdead_beef);
    let write = load(
        ProgramType::Kprobe,
        "stdw [%r1+112], 0\nmov %r0, 0\nexit",
        &[],
    );
    assert!(matches!(
        write.run(&mut regs).unwrap_err().trap,
        Trap::ContextAccess { offset: 112, .. }
    ));
}

/// The IPv4 header checksum of `header` (checksum field included).
fn ipv4_checksum(header: &[u8]) -> u16 {
    let mut sum: u32 = header
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[test]
fn tc_decrements_ttl_and_fixes_the_checksum_incrementally() {
    let mut frame = ipv4_packet(6, 80);
    frame[14..34].copy_from_slice(&[
        0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8, 0x00,
        0x01, 0xc0, 0xa8, 0x00, 0xc7,
    ]);
    let check = ipv4_checksum(&frame[14..34]);
    frame[24..26].copy_from_slice(&check.to_be_bytes());
    assert_eq!(check, 0xb861);
    // Load the TTL/protocol word, decrement TTL, store it, fix the checksum.
    let vm = load(
        ProgramType::SchedCls,
        "
        mov %r6, %r1
        ldxw %r2, [%r1+76]
        ldxw %r3, [%r1+80]
        mov %r4, %r2
        add %r4, 34
        jgt %r4, %r3, out
        ldxh %r7, [%r2+22]
        mov %r8, %r7
        sub %r8, 1
        stxh [%r2+22], %r8
        mov %r1, %r6
        mov %r2, 24
        mov %r3, %r7
        mov %r4, %r8
        mov %r5, 2
        call 10
        exit
    out:
        mov %r0, -1
        exit
        ",
        &[],
    );
    let mut packet = Packet::new(&frame);
    assert_eq!(
        vm.execute_packet(&mut RunState::new(), &mut packet)
            .unwrap()
            .r0,
        0
    );
    let header = &packet.data()[14..34];
    assert_eq!(header[8], 0x3f);
    assert_eq!(ipv4_checksum(header), 0, "the updated checksum verifies");
}

/// Counts packets per IP protocol into hash map 0 and keeps or drops them:
/// the same counting body for a socket filter (legacy loads) and a tc
/// program (direct packet access), run from several threads.
fn count_by_protocol(program_type: ProgramType, read_protocol: &str, keep: u64, drop: u64) {
    let def = MapDef {
        map_type: MapType::Hash,
        key_size: 4,
        value_size: 8,
        max_entries: 8,
        flags: 0,
    };
    let counts = Map::create("counts", def, &MapOptions::default()).unwrap();
    let text = format!(
        "
        mov %r9, %r1
        {read_protocol}
        {COUNT_PROTOCOL_IN_R6}
    verdict:
        mov %r0, {keep}
        jne %r6, 17, +1
        mov %r0, {drop}
        exit
        "
    );
    let vm = Arc::new(load(program_type, &text, &[&counts]));
    let threads: Vec<_> = (0..4u8)
        .map(|t| {
            let vm = Arc::clone(&vm);
            std::thread::spawn(move || {
                let mut state = RunState::new();
                let mut dropped = 0u32;
                for i in 0..750u32 {
                    let protocol = [6, 17, 1][((i + u32::from(t)) % 3) as usize];
                    let mut packet = Packet::new(&ipv4_packet(protocol, 80));
                    let r0 = vm.execute_packet(&mut state, &mut packet).unwrap().r0;
                    if r0 == drop {
                        dropped += 1;
                    } else {
                        assert_eq!(r0, keep);
                    }
                }
                dropped
            })
        })
        .collect();
    let dropped: u32 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    let count = |protocol: u32| -> u64 {
        let value = counts.lookup(&protocol.to_le_bytes()).unwrap().unwrap();
        u64::from_le_bytes(value.try_into().unwrap())
    };
    let expected = |k: u32| -> u64 {
        (0..4u32)
            .map(|t| (0..750u32).filter(|i| (i + t) % 3 == k).count() as u64)
            .sum()
    };
    assert_eq!(
        (count(6), count(17), count(1)),
        (expected(0), expected(1), expected(2))
    );
    assert_eq!(u64::from(dropped), expected(1));
}

#[test]
fn socket_filter_with_legacy_loads_counts_exactly_across_threads() {
    // Keep up to 65535 bytes (whole packets) except UDP (0 bytes: dropped).
    count_by_protocol(
        ProgramType::SocketFilter,
        "ldabsb 23\nmov %r6, %r0",
        0xffff,
        0,
    );
}

#[test]
fn tc_program_counts_exactly_across_threads() {
    // TC_ACT_OK (0) or TC_ACT_SHOT (2) for UDP.
    count_by_protocol(
        ProgramType::SchedCls,
        "ldxw %r2, [%r9+76]\nldxw %r3, [%r9+80]\nmov %r4, %r2\nadd %r4, 24\nmov %r6, 0\njgt %r4, %r3, +1\nldxb %r6, [%r2+23]",
        0,
        2,
    );
}
