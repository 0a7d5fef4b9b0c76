//! Every error the decoder and the assembler report, each pinned to its
//! exact kind and location (pc or line).

use bpfbox_isa::asm::{assemble, assemble_instructions, AsmError, AsmErrorKind};
use bpfbox_isa::{DecodeError, DecodeErrorKind, Program, RawInsn, MAX_PROGRAM_SLOTS};

fn raw(opcode: u8, dst: u8, src: u8, off: i16, imm: i32) -> RawInsn {
    RawInsn {
        opcode,
        dst,
        src,
        off,
        imm,
    }
}

const EXIT: RawInsn = RawInsn {
    opcode: 0x95,
    dst: 0,
    src: 0,
    off: 0,
    imm: 0,
};

fn decode(slots: &[RawInsn]) -> Result<Program, DecodeError> {
    Program::from_raw(slots.to_vec())
}

/// The error of decoding `slots`, as (pc, kind).
fn decode_error(slots: &[RawInsn]) -> (usize, DecodeErrorKind) {
    let error = decode(slots).expect_err("decoding should fail");
    (error.pc, error.kind)
}

fn reserved(field: &'static str, value: i64) -> DecodeErrorKind {
    DecodeErrorKind::ReservedField { field, value }
}

// ---- Decoder -------------------------------------------------------------

#[test]
fn odd_length() {
    let error = Program::from_bytes(&[0x95, 0, 0, 0, 0, 0, 0, 0, 0]).unwrap_err();
    assert_eq!(
        error,
        DecodeError {
            pc: 1,
            kind: DecodeErrorKind::OddLength(9)
        }
    );
}

#[test]
fn empty() {
    assert_eq!(decode_error(&[]), (0, DecodeErrorKind::Empty));
}

#[test]
fn too_long() {
    let slots = vec![EXIT; MAX_PROGRAM_SLOTS + 1];
    assert_eq!(
        decode_error(&slots),
        (
            MAX_PROGRAM_SLOTS,
            DecodeErrorKind::TooLong {
                len: MAX_PROGRAM_SLOTS + 1,
                limit: MAX_PROGRAM_SLOTS
            }
        )
    );
}

#[test]
fn unknown_opcodes() {
    // ALU64 operation 0xf0 does not exist.
    assert_eq!(
        decode_error(&[raw(0xf7, 0, 0, 0, 0), EXIT]),
        (0, DecodeErrorKind::UnknownOpcode(0xf7))
    );
    // LDX has no ABS mode; JMP32 has no call; a 64-bit `be` does not exist.
    for opcode in [0x21, 0x86, 0xdf] {
        assert_eq!(
            decode_error(&[EXIT, raw(opcode, 0, 0, 0, 0), EXIT]),
            (1, DecodeErrorKind::UnknownOpcode(opcode)),
            "{opcode:#x}"
        );
    }
}

#[test]
fn newer_than_rfc_instructions_are_named() {
    let cases = [
        (raw(0xe5, 0, 0, 0, 0), "may_goto"),
        (raw(0xdb, 0, 1, 0, 0x100), "load-acquire"),
        (raw(0xdb, 1, 2, 0, 0x110), "store-release"),
        (raw(0xbf, 1, 2, 1, 0), "addr_space_cast"),
    ];
    for (slot, name) in cases {
        assert_eq!(
            decode_error(&[slot, EXIT]),
            (0, DecodeErrorKind::NewerThanRfc(name))
        );
    }
}

#[test]
fn reserved_fields() {
    // mov r0, 1 with a source register set.
    assert_eq!(
        decode_error(&[raw(0xb7, 0, 1, 0, 1), EXIT]),
        (0, reserved("src", 1))
    );
    // add r0, r1 with an immediate set.
    assert_eq!(
        decode_error(&[raw(0x0f, 0, 1, 0, 7), EXIT]),
        (0, reserved("imm", 7))
    );
    // add r0, 1 with an offset; division with an offset other than 0 or 1.
    assert_eq!(
        decode_error(&[raw(0x07, 0, 0, 3, 1), EXIT]),
        (0, reserved("off", 3))
    );
    assert_eq!(
        decode_error(&[raw(0x3f, 0, 1, 2, 0), EXIT]),
        (0, reserved("off", 2))
    );
    // exit with an immediate.
    assert_eq!(
        decode_error(&[raw(0x95, 0, 0, 0, 1)]),
        (0, reserved("imm", 1))
    );
    // A call whose src names no kind of call.
    assert_eq!(
        decode_error(&[raw(0x85, 0, 3, 0, 1), EXIT]),
        (0, reserved("src", 3))
    );
}

#[test]
fn bad_registers() {
    assert_eq!(
        decode_error(&[raw(0xb7, 11, 0, 0, 1), EXIT]),
        (0, DecodeErrorKind::BadRegister(11))
    );
    assert_eq!(
        decode_error(&[EXIT, raw(0x0f, 1, 12, 0, 0), EXIT]),
        (1, DecodeErrorKind::BadRegister(12))
    );
}

#[test]
fn writes_to_r10() {
    let cases = [
        // mov r10, 1 (ALU).
        vec![raw(0xb7, 10, 0, 0, 1), EXIT],
        // ldxw r10, [r1] (LDX).
        vec![raw(0x61, 10, 1, 0, 0), EXIT],
        // lddw r10, 1.
        vec![raw(0x18, 10, 0, 0, 1), raw(0, 0, 0, 0, 0), EXIT],
        // lock fetch add [r1], r10: the old value would land in r10.
        vec![raw(0xdb, 1, 10, 0, 0x01), EXIT],
    ];
    for slots in cases {
        assert_eq!(decode_error(&slots), (0, DecodeErrorKind::WriteToR10));
    }
}

#[test]
fn error_precedence_names_the_real_fault() {
    // An unknown ALU operation is unknown even when its dst is r10.
    assert_eq!(
        decode_error(&[raw(0xf7, 10, 0, 0, 0), EXIT]),
        (0, DecodeErrorKind::UnknownOpcode(0xf7))
    );
    // The JMP32 form of may_goto's opcode is simply unknown.
    assert_eq!(
        decode_error(&[raw(0xe6, 0, 0, 0, 0), EXIT]),
        (0, DecodeErrorKind::UnknownOpcode(0xe6))
    );
    // cmpxchg writes r0, not its source: r10 as the source decodes.
    assert!(decode(&[raw(0xdb, 1, 10, 0, 0xf1), EXIT]).is_ok());
    // Other fetching atomics write their source.
    assert_eq!(
        decode_error(&[raw(0xdb, 1, 10, 0, 0xe1), EXIT]),
        (0, DecodeErrorKind::WriteToR10)
    );
}

#[test]
fn bad_atomic_operations() {
    assert_eq!(
        decode_error(&[raw(0xdb, 1, 2, 0, 0x02), EXIT]),
        (0, DecodeErrorKind::BadAtomicOp(0x02))
    );
    // Exchange without its fetch bit.
    assert_eq!(
        decode_error(&[raw(0xc3, 1, 2, 0, 0xe0), EXIT]),
        (0, DecodeErrorKind::BadAtomicOp(0xe0))
    );
}

#[test]
fn bad_swap_width() {
    assert_eq!(
        decode_error(&[raw(0xd4, 1, 0, 0, 8), EXIT]),
        (0, DecodeErrorKind::BadSwapWidth(8))
    );
}

#[test]
fn lddw_errors() {
    assert_eq!(
        decode_error(&[raw(0x18, 1, 7, 0, 0), raw(0, 0, 0, 0, 0), EXIT]),
        (0, DecodeErrorKind::BadLddwSource(7))
    );
    assert_eq!(
        decode_error(&[EXIT, raw(0x18, 1, 0, 0, 0)]),
        (1, DecodeErrorKind::LddwTruncated)
    );
    // The second slot may only carry an imm; the error names that slot.
    assert_eq!(
        decode_error(&[raw(0x18, 1, 0, 0, 0), raw(0, 1, 0, 0, 0), EXIT]),
        (1, DecodeErrorKind::BadLddwSecondSlot)
    );
    assert_eq!(
        decode_error(&[raw(0x18, 1, 0, 0, 0), EXIT]),
        (1, DecodeErrorKind::BadLddwSecondSlot)
    );
}

#[test]
fn jump_errors() {
    // ja +5 in a two-slot program.
    assert_eq!(
        decode_error(&[raw(0x05, 0, 0, 5, 0), EXIT]),
        (0, DecodeErrorKind::JumpOutOfProgram { target: 6 })
    );
    // Backwards past the start.
    assert_eq!(
        decode_error(&[EXIT, raw(0x15, 1, 0, -3, 0)]),
        (1, DecodeErrorKind::JumpOutOfProgram { target: -1 })
    );
    // Onto the second slot of a lddw.
    assert_eq!(
        decode_error(&[
            raw(0x05, 0, 0, 1, 0),
            raw(0x18, 1, 0, 0, 0),
            raw(0, 0, 0, 0, 0),
            EXIT
        ]),
        (0, DecodeErrorKind::JumpIntoLddw { target: 2 })
    );
    // gotol into the sub-program that the local call at 0 starts at 3.
    assert_eq!(
        decode_error(&[raw(0x85, 0, 1, 0, 2), raw(0x06, 0, 0, 0, 1), EXIT, EXIT]),
        (1, DecodeErrorKind::JumpAcrossSubprogram { target: 3 })
    );
}

#[test]
fn call_target_errors() {
    assert_eq!(
        decode_error(&[raw(0x85, 0, 1, 0, 5), EXIT]),
        (0, DecodeErrorKind::BadCallTarget { target: 6 })
    );
    // Onto the second slot of a lddw.
    assert_eq!(
        decode_error(&[
            raw(0x85, 0, 1, 0, 2),
            EXIT,
            raw(0x18, 1, 0, 0, 0),
            raw(0, 0, 0, 0, 0),
            EXIT
        ]),
        (0, DecodeErrorKind::BadCallTarget { target: 3 })
    );
    // A code address before the program.
    assert_eq!(
        decode_error(&[raw(0x18, 1, 4, 0, -2), raw(0, 0, 0, 0, 0), EXIT]),
        (0, DecodeErrorKind::BadCallTarget { target: -1 })
    );
}

#[test]
fn code_addresses_count_from_the_slot_after_the_first() {
    // As the kernel and libbpf read it: target = pc + 1 + imm, even though
    // lddw has two slots. imm -1 names the lddw itself; imm 1 the exit.
    let program = decode(&[raw(0x18, 1, 4, 0, -1), raw(0, 0, 0, 0, 0), EXIT]).unwrap();
    assert_eq!(program.subprograms(), [0]);
    let program = decode(&[raw(0x18, 1, 4, 0, 1), raw(0, 0, 0, 0, 0), EXIT]).unwrap();
    assert_eq!(program.subprograms(), [0, 2]);
    assert_eq!(
        decode_error(&[raw(0x18, 1, 4, 0, 0), raw(0, 0, 0, 0, 0), EXIT]),
        (0, DecodeErrorKind::BadCallTarget { target: 1 })
    );
}

#[test]
fn errors_display_their_location() {
    let error = decode(&[raw(0xb7, 0, 0, 0, 1), raw(0xff, 0, 0, 0, 0)]).unwrap_err();
    assert_eq!(error.to_string(), "instruction 1: unknown opcode 0xff");
}

// ---- Assembler -----------------------------------------------------------

fn asm_error(text: &str) -> AsmError {
    assemble(text).expect_err("assembly should fail")
}

fn at(line: usize, kind: AsmErrorKind) -> AsmError {
    AsmError { line, kind }
}

fn expected(expected: &'static str, found: &str) -> AsmErrorKind {
    AsmErrorKind::ExpectedOperand {
        expected,
        found: found.to_string(),
    }
}

#[test]
fn unknown_mnemonics() {
    assert_eq!(
        asm_error("mov %r0, 1\n\nfoo %r0\nexit"),
        at(3, AsmErrorKind::UnknownMnemonic("foo".into()))
    );
    assert_eq!(
        asm_error("lock nand [%r1], %r2"),
        at(1, AsmErrorKind::UnknownMnemonic("lock nand".into()))
    );
    assert_eq!(
        asm_error("lock fetch add64 [%r1], %r2"),
        at(1, AsmErrorKind::UnknownMnemonic("lock fetch add64".into()))
    );
    // 64-bit moves of a 32-bit source only exist in the 64-bit class.
    assert_eq!(
        asm_error("lock"),
        at(1, AsmErrorKind::UnknownMnemonic("lock".into()))
    );
    assert_eq!(
        asm_error("movsx3232 %r0, %r1"),
        at(1, AsmErrorKind::UnknownMnemonic("movsx3232".into()))
    );
}

#[test]
fn operand_counts() {
    let count = |mnemonic: &str, expected, found| AsmErrorKind::OperandCount {
        mnemonic: mnemonic.into(),
        expected,
        found,
    };
    assert_eq!(asm_error("mov %r0"), at(1, count("mov", 2, 1)));
    assert_eq!(asm_error("exit %r0"), at(1, count("exit", 0, 1)));
    assert_eq!(asm_error("neg %r0, 1"), at(1, count("neg", 1, 2)));
    assert_eq!(asm_error("jeq %r0, 1"), at(1, count("jeq", 3, 2)));
    assert_eq!(asm_error("call"), at(1, count("call", 1, 0)));
    assert_eq!(asm_error("call local a b"), at(1, count("call", 1, 3)));
    assert_eq!(asm_error("lock add [%r1]"), at(1, count("lock add", 2, 1)));
}

#[test]
fn operands_of_the_wrong_kind() {
    assert_eq!(asm_error("mov 1, %r0"), at(1, expected("a register", "1")));
    assert_eq!(
        asm_error("ldxw %r0, %r1"),
        at(1, expected("a memory operand like [%r1+4]", "%r1"))
    );
    assert_eq!(
        asm_error("ja 3"),
        at(1, expected("a signed offset (+N or -N) or a label", "3"))
    );
    assert_eq!(
        asm_error("call far 3"),
        at(1, expected("`helper`, `local` or `runtime`", "far"))
    );
    // Sign extension takes a register source.
    assert_eq!(
        asm_error("movsx864 %r0, 1"),
        at(1, expected("a register", "1"))
    );
    assert!(matches!(
        asm_error("lddw %r0, map_by_name(3)").kind,
        AsmErrorKind::ExpectedOperand { found, .. } if found == "map_by_name(3)"
    ));
}

#[test]
fn invalid_registers() {
    for register in ["%r11", "r11", "%rx", "%r", "%r01", "%r010", "%r1x"] {
        assert_eq!(
            asm_error(&format!("mov {register}, 1")),
            at(1, AsmErrorKind::InvalidRegister(register.into()))
        );
    }
}

#[test]
fn invalid_numbers() {
    for number in ["12abc", "0x", "0xg", "--1", "1.5"] {
        assert_eq!(
            asm_error(&format!("mov %r0, {number}")),
            at(1, AsmErrorKind::InvalidNumber(number.into()))
        );
    }
}

#[test]
fn immediates_out_of_range() {
    let out = |value: &str, bits| AsmErrorKind::ImmediateOutOfRange {
        value: value.into(),
        bits,
    };
    assert_eq!(
        asm_error("mov %r0, 0x100000000"),
        at(1, out("0x100000000", 32))
    );
    assert_eq!(
        asm_error("mov %r0, -2147483649"),
        at(1, out("-2147483649", 32))
    );
    assert_eq!(
        asm_error("stw [%r1], 4294967296"),
        at(1, out("4294967296", 32))
    );
    assert_eq!(
        asm_error("lddw %r0, 0x10000000000000000"),
        at(1, out("0x10000000000000000", 64))
    );
    assert_eq!(
        asm_error("lddw %r0, -9223372036854775809"),
        at(1, out("-9223372036854775809", 64))
    );
    // Far beyond any field, still an error rather than an overflow.
    assert_eq!(
        asm_error("call 999999999999999999999999999999999999999999"),
        at(1, out("999999999999999999999999999999999999999999", 32))
    );
}

#[test]
fn memory_offset_out_of_range() {
    assert_eq!(
        asm_error("ldxw %r0, [%r1+32768]\nexit"),
        at(
            1,
            AsmErrorKind::OffsetOutOfRange {
                offset: "+32768".into()
            }
        )
    );
}

#[test]
fn jumps_out_of_range() {
    assert_eq!(
        asm_error("exit\nja +32768"),
        at(
            2,
            AsmErrorKind::JumpOutOfRange {
                offset: 32768,
                bits: 16
            }
        )
    );
    assert_eq!(
        asm_error("call local -2147483649"),
        at(
            1,
            AsmErrorKind::JumpOutOfRange {
                offset: -2_147_483_649,
                bits: 32
            }
        )
    );
    // A label too far for a 16-bit offset; `ja32` reaches it.
    let filler = "mov %r0, 0\n".repeat(40_000);
    let text = format!("jeq %r0, 0, far\n{filler}far:\nexit");
    assert_eq!(
        asm_error(&text),
        at(
            1,
            AsmErrorKind::JumpOutOfRange {
                offset: 40_000,
                bits: 16
            }
        )
    );
    let text = format!("ja32 far\n{filler}far:\nexit");
    assert!(assemble(&text).is_ok());
}

#[test]
fn labels() {
    assert_eq!(
        asm_error("exit\nja nowhere"),
        at(2, AsmErrorKind::UnknownLabel("nowhere".into()))
    );
    assert_eq!(
        asm_error("call local missing\nexit"),
        at(1, AsmErrorKind::UnknownLabel("missing".into()))
    );
    assert_eq!(
        asm_error("start:\nexit\nstart: exit"),
        at(
            3,
            AsmErrorKind::DuplicateLabel {
                label: "start".into(),
                first_line: 1
            }
        )
    );
    assert_eq!(
        asm_error("1a: exit"),
        at(1, AsmErrorKind::InvalidLabel("1a".into()))
    );
    assert_eq!(
        asm_error("my label: exit"),
        at(1, AsmErrorKind::InvalidLabel("my label".into()))
    );
}

#[test]
fn decoder_verdicts_carry_the_line() {
    let invalid = |kind| AsmErrorKind::Invalid(kind);
    assert_eq!(
        asm_error("mov %r0, 1\n# r10 is read-only\nmov %r10, 1\nexit"),
        at(3, invalid(DecodeErrorKind::WriteToR10))
    );
    assert_eq!(
        asm_error("lddw %r10, 1\nexit"),
        at(1, invalid(DecodeErrorKind::WriteToR10))
    );
    assert_eq!(
        asm_error("ldxdw %r10, [%r1]\nexit"),
        at(1, invalid(DecodeErrorKind::WriteToR10))
    );
    // The lddw takes two slots; the jump after it is still on its own line.
    assert_eq!(
        asm_error("lddw %r0, 1\nja +5\nexit"),
        at(2, invalid(DecodeErrorKind::JumpOutOfProgram { target: 8 }))
    );
    // A label after the last instruction names a pc outside the program.
    assert_eq!(
        asm_error("ja end\nexit\nend:"),
        at(1, invalid(DecodeErrorKind::JumpOutOfProgram { target: 2 }))
    );
    assert_eq!(
        asm_error("call local +1\nexit"),
        at(1, invalid(DecodeErrorKind::BadCallTarget { target: 2 }))
    );
    // Nothing to assemble: reported on the last line.
    assert_eq!(asm_error(""), at(1, invalid(DecodeErrorKind::Empty)));
    assert_eq!(
        asm_error("# nothing\n\n; here\n"),
        at(3, invalid(DecodeErrorKind::Empty))
    );
}

#[test]
fn assemble_instructions_skips_the_decoder() {
    let instructions = assemble_instructions("mov %r10, 1\nja +5").unwrap();
    assert_eq!(instructions.len(), 2);
}

#[test]
fn errors_display_their_line() {
    assert_eq!(
        asm_error("exit\nexit\nfoo").to_string(),
        "line 3: unknown mnemonic `foo`"
    );
    assert_eq!(
        asm_error("mov %r11, 1").to_string(),
        "line 1: invalid register `%r11`"
    );
    assert_eq!(
        asm_error("mov %r10, 1").to_string(),
        "line 1: r10 is read-only"
    );
}
