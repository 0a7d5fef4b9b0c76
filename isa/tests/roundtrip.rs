//! Round trips between the representations of a program: typed
//! instructions, bytes, and the two text syntaxes. The strategies in
//! `common` generate every instruction form the decoder accepts.

mod common;

use bpfbox_isa::asm::assemble;
use bpfbox_isa::disasm::{disassemble, Syntax};
use bpfbox_isa::{Instruction, Program, RawInsn};
use proptest::prelude::*;

/// Encodes instructions into bytes.
fn encode(instructions: &[Instruction]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for insn in instructions {
        let (first, second) = insn.encode();
        bytes.extend(first.to_bytes());
        if let Some(second) = second {
            bytes.extend(second.to_bytes());
        }
    }
    bytes
}

/// Bytes close to a valid program: one field of one slot replaced by noise
/// (most of the time), or random slots.
fn near_valid_bytes() -> impl Strategy<Value = Vec<u8>> {
    let mutated = (
        common::program_instructions(),
        any::<prop::sample::Index>(),
        0u8..6,
        any::<u64>(),
    )
        .prop_map(|(instructions, slot, field, noise)| {
            let mut bytes = encode(&instructions);
            let start = slot.index(bytes.len() / 8) * 8;
            let mut raw = RawInsn::from_bytes(bytes[start..start + 8].try_into().unwrap());
            match field {
                0 => raw.opcode = noise as u8,
                1 => raw.dst = noise as u8 & 0x0f,
                2 => raw.src = noise as u8 & 0x0f,
                3 => raw.off = noise as i16,
                4 => raw.imm = noise as i32,
                _ => {}
            }
            bytes[start..start + 8].copy_from_slice(&raw.to_bytes());
            bytes
        });
    let random = (
        prop::collection::vec(any::<[u8; 8]>(), 0..8),
        prop::collection::vec(any::<u8>(), 0..2),
    )
        .prop_map(|(slots, trailing)| [slots.concat(), trailing].concat());
    prop_oneof![4 => mutated, 1 => random]
}

/// Pieces of the dialect, valid or not.
fn token() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "mov",
        "add32",
        "lddw",
        "ldxsb",
        "stxdw",
        "stw",
        "ja",
        "ja32",
        "jeq",
        "jsle32",
        "call",
        "local",
        "runtime",
        "helper",
        "exit",
        "lock",
        "fetch",
        "xchg32",
        "cmpxchg",
        "movsx3264",
        "be16",
        "bswap64",
        "ldabsw",
        "ldindh",
        "%r0",
        "%r1",
        "r10",
        "%r11",
        "r99",
        "%rx",
        "[%r1+4]",
        "[%r10-0x8]",
        "[%r1",
        "]",
        "[",
        ",",
        "+3",
        "-4",
        "+0x7fff",
        "-32769",
        "0x1122334455667788",
        "18446744073709551616",
        "-0x80000000",
        "0xffffffff",
        "label",
        "label:",
        "exit:",
        ":",
        "#",
        "//",
        ";",
        "map_by_fd(1)",
        "map_val(map_by_idx(2)) + 8",
        "code_addr(+1)",
        "code_addr(label)",
        "map_val(",
        ")",
        "(",
        "\t",
        "é",
    ])
}

/// Program text close to valid: a valid program's conformance text with a
/// few tokens replaced, deleted or inserted, or free-form soup.
fn near_valid_text() -> impl Strategy<Value = String> {
    let edit = (
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
        0u8..3,
        token(),
    );
    let mutated = (
        common::program_instructions(),
        prop::collection::vec(edit, 0..3),
    )
        .prop_map(|(instructions, edits)| {
            let program = Program::from_instructions(&instructions).unwrap();
            let text = disassemble(&program, Syntax::Conformance);
            let mut lines: Vec<Vec<String>> = text
                .lines()
                .map(|line| line.split(' ').map(str::to_string).collect())
                .collect();
            for (line, position, action, token) in edits {
                let words = &mut lines[line.index(text.lines().count())];
                let at = position.index(words.len() + 1);
                match action {
                    0 if at < words.len() => words[at] = token.to_string(),
                    1 if at < words.len() => {
                        words.remove(at);
                    }
                    _ => words.insert(at, token.to_string()),
                }
            }
            lines
                .iter()
                .map(|words| words.join(" "))
                .collect::<Vec<_>>()
                .join("\n")
        });
    let soup_line = prop_oneof![
        4 => prop::collection::vec(token(), 0..7).prop_map(|tokens| tokens.join(" ")),
        1 => ".{0,30}",
    ];
    let soup = prop::collection::vec(soup_line, 0..12).prop_map(|lines| lines.join("\n"));
    prop_oneof![3 => mutated, 1 => soup]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// (a) Encoding then decoding gives back the instruction, and the raw
    /// slots survive a trip through bytes.
    #[test]
    fn instruction_encode_decode(insn in common::instruction()) {
        let (first, second) = insn.encode();
        prop_assert_eq!(RawInsn::from_bytes(first.to_bytes()), first);
        prop_assert_eq!(Instruction::decode(first, second), Ok(insn));
    }

    /// (b) Printing a program in the conformance dialect and assembling the
    /// text gives back the same bytes; (d) the LLVM printer handles it too.
    #[test]
    fn program_conformance_text_round_trip(instructions in common::program_instructions()) {
        let program = Program::from_instructions(&instructions)
            .map_err(|e| TestCaseError::fail(format!("generated an invalid program: {e}")))?;
        prop_assert_eq!(program.instructions().len(), instructions.len());
        let text = disassemble(&program, Syntax::Conformance);
        let reassembled = assemble(&text)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(reassembled.to_bytes(), program.to_bytes(), "{}", text);
        let llvm = disassemble(&program, Syntax::Llvm);
        prop_assert_eq!(llvm.lines().count(), instructions.len());
    }

    /// (c) Decoding arbitrary bytes never panics; what decodes re-encodes to
    /// the same bytes and survives the text round trip.
    #[test]
    fn decoding_arbitrary_bytes(bytes in near_valid_bytes()) {
        if let Ok(program) = Program::from_bytes(&bytes) {
            prop_assert_eq!(program.to_bytes(), bytes);
            let text = disassemble(&program, Syntax::Conformance);
            prop_assert_eq!(assemble(&text).map(|p| p.to_bytes()), Ok(program.to_bytes()));
            let _ = disassemble(&program, Syntax::Llvm);
        }
    }

    /// The assembler rejects garbage with an error, never a panic; what it
    /// accepts round-trips through the conformance text.
    #[test]
    fn assembling_arbitrary_text(text in near_valid_text()) {
        if let Ok(program) = assemble(&text) {
            let again = disassemble(&program, Syntax::Conformance);
            prop_assert_eq!(assemble(&again), Ok(program));
        }
    }
}
