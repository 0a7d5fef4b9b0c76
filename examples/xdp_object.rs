//! An XDP program compiled by clang, loaded from its ELF object and run on
//! generated packets from several threads at once; the per-protocol counts
//! are read back through the host map API.
//!
//! The object is `tests/bpf/xdp_parse.o` (source `tests/bpf/xdp_parse.c`):
//! it parses Ethernet, VLAN, IPv4/IPv6, UDP and TCP, counts packets per IP
//! protocol in a hash map and drops UDP port 9 and TCP port 23.
//!
//! Run it with `cargo run --example xdp_object`.

use bpfbox::elf::{LoadOptions, Object};
use bpfbox::{Packet, RunState};

/// An Ethernet + IPv4 packet carrying a UDP (17) or TCP (6) header to `port`.
fn packet(protocol: u8, port: u16) -> Vec<u8> {
    let mut p = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
    p.extend_from_slice(&[0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, protocol, 0, 0]);
    p.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
    p.extend_from_slice(&40000u16.to_be_bytes());
    p.extend_from_slice(&port.to_be_bytes());
    // UDP length/checksum, or TCP seq/ack/data offset 5 (20-byte header).
    p.extend_from_slice(&[0, 8, 0, 0, 0, 0, 0, 0, 0x50, 0x02]);
    p.resize(64, 0);
    p
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/bpf/xdp_parse.o");
    let object = Object::parse(&std::fs::read(path)?)?;
    for program in object.programs() {
        println!(
            "program {} (section {}, {} instructions)",
            program.name,
            program.section,
            program.instructions.len()
        );
    }
    let loaded = object.load(&LoadOptions::default())?;
    let parser = loaded.program("xdp_parse_prog")?;

    // 4 threads × 1,000 packets: UDP to ports 53 and 9, TCP to 80 and 23.
    let threads: Vec<_> = (0..4u32)
        .map(|cpu| {
            let parser = parser.clone();
            std::thread::spawn(move || {
                let mut state = RunState::new();
                state.set_cpu(cpu);
                let mut dropped = 0;
                for i in 0..1000u16 {
                    let (protocol, port) =
                        [(17, 53), (17, 9), (6, 80), (6, 23)][usize::from(i % 4)];
                    let mut packet = Packet::new(&packet(protocol, port));
                    let outcome = parser.execute_packet(&mut state, &mut packet).expect("run");
                    dropped += u32::from(outcome.r0 == 1); // XDP_DROP
                }
                dropped
            })
        })
        .collect();
    let dropped: u32 = threads.into_iter().map(|t| t.join().expect("thread")).sum();

    let counts = loaded.map("proto_count")?;
    for (protocol, name) in [(6u32, "TCP"), (17, "UDP")] {
        let value = counts.lookup(&protocol.to_le_bytes())?.unwrap_or_default();
        let count = u64::from_le_bytes(value[..8].try_into()?);
        println!("{name}: {count} packets");
    }
    println!("dropped (UDP 9, TCP 23): {dropped} of 4000");
    Ok(())
}
