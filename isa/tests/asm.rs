//! The assembler dialect and the conformance printer: what each spelling
//! encodes to, the forms the official bpf_conformance files use, and the
//! printed text of every instruction kind.

use bpfbox_isa::asm::{assemble, assemble_instructions};
use bpfbox_isa::disasm::{disassemble, format_instruction, Syntax};
use bpfbox_isa::{CallTarget, Instruction, Program};

/// The bytes of a program as space-separated hex, one slot per line.
fn hex(program: &Program) -> Vec<String> {
    program
        .slots()
        .iter()
        .map(|slot| {
            slot.to_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// The slots `line` assembles to (the program is completed by `exit`).
fn encode(line: &str) -> Vec<String> {
    let program = assemble(&format!("{line}\nexit")).unwrap_or_else(|e| panic!("{line}: {e}"));
    let mut slots = hex(&program);
    slots.pop();
    slots
}

#[test]
fn encodings() {
    let cases: &[(&str, &[&str])] = &[
        ("mov %r0, 1", &["b7 00 00 00 01 00 00 00"]),
        ("mov32 %r0, -1", &["b4 00 00 00 ff ff ff ff"]),
        ("mov r1, 0xffffffff", &["b7 01 00 00 ff ff ff ff"]),
        ("add %r1, %r2", &["0f 21 00 00 00 00 00 00"]),
        ("sdiv32 %r1, 3", &["34 01 01 00 03 00 00 00"]),
        ("smod %r1, %r2", &["9f 21 01 00 00 00 00 00"]),
        ("movsx864 %r1, %r2", &["bf 21 08 00 00 00 00 00"]),
        ("movsx1632 %r1, %r2", &["bc 21 10 00 00 00 00 00"]),
        ("movsx3264 %r1, %r2", &["bf 21 20 00 00 00 00 00"]),
        ("neg32 %r3", &["84 03 00 00 00 00 00 00"]),
        ("le16 %r3", &["d4 03 00 00 10 00 00 00"]),
        ("be64 %r3", &["dc 03 00 00 40 00 00 00"]),
        ("bswap32 %r3", &["d7 03 00 00 20 00 00 00"]),
        ("swap32 %r3", &["d7 03 00 00 20 00 00 00"]),
        (
            "lddw %r0, 0x1122334455667788",
            &["18 00 00 00 88 77 66 55", "00 00 00 00 44 33 22 11"],
        ),
        (
            "lddw %r0, -2",
            &["18 00 00 00 fe ff ff ff", "00 00 00 00 ff ff ff ff"],
        ),
        (
            "lddw %r0, 18446744073709551615",
            &["18 00 00 00 ff ff ff ff", "00 00 00 00 ff ff ff ff"],
        ),
        (
            "lddw %r1, map_by_fd(3)",
            &["18 11 00 00 03 00 00 00", "00 00 00 00 00 00 00 00"],
        ),
        (
            "lddw %r1, map_val(map_by_idx(2)) + 8",
            &["18 61 00 00 02 00 00 00", "00 00 00 00 08 00 00 00"],
        ),
        (
            "lddw %r1, var_addr(-1) - 4",
            &["18 31 00 00 ff ff ff ff", "00 00 00 00 fc ff ff ff"],
        ),
        ("ldxw %r0, [%r1+4]", &["61 10 04 00 00 00 00 00"]),
        ("ldxdw r0, [r10-8]", &["79 a0 f8 ff 00 00 00 00"]),
        ("ldxsh %r0, [%r1]", &["89 10 00 00 00 00 00 00"]),
        ("ldxb %r0, [ %r1 + 0x10 ]", &["71 10 10 00 00 00 00 00"]),
        ("stw [%r1+0], 5", &["62 01 00 00 05 00 00 00"]),
        ("stdw [%r10-4], 0xCCBBAA99", &["7a 0a fc ff 99 aa bb cc"]),
        ("stxb [%r1+2], %r3", &["73 31 02 00 00 00 00 00"]),
        ("ldabsh 12", &["28 00 00 00 0c 00 00 00"]),
        ("ldindw %r1, -4", &["40 10 00 00 fc ff ff ff"]),
        ("lock add [%r1+0], %r2", &["db 21 00 00 00 00 00 00"]),
        ("lock fetch or32 [%r1], %r2", &["c3 21 00 00 41 00 00 00"]),
        ("lock xchg [%r1], %r2", &["db 21 00 00 e1 00 00 00"]),
        ("lock fetch xchg [%r1], %r2", &["db 21 00 00 e1 00 00 00"]),
        ("lock cmpxchg32 [%r1-8], %r2", &["c3 21 f8 ff f1 00 00 00"]),
        ("ja +0", &["05 00 00 00 00 00 00 00"]),
        ("ja32 +0", &["06 00 00 00 00 00 00 00"]),
        ("jeq %r1, 5, +0", &["15 01 00 00 05 00 00 00"]),
        ("jsgt32 %r1, %r2, +0", &["6e 21 00 00 00 00 00 00"]),
        ("jset %r1, -0x80000000, +0", &["45 01 00 00 00 00 00 80"]),
        ("call 5", &["85 00 00 00 05 00 00 00"]),
        ("call helper 5", &["85 00 00 00 05 00 00 00"]),
        ("call runtime 0x2a", &["85 20 00 00 2a 00 00 00"]),
        ("call %r2", &["8d 02 00 00 00 00 00 00"]),
        ("callx r2", &["8d 02 00 00 00 00 00 00"]),
        ("call local +0", &["85 10 00 00 00 00 00 00"]),
    ];
    for (line, slots) in cases {
        assert_eq!(encode(line), *slots, "{line}");
    }
}

#[test]
fn official_test_file_forms() {
    // Bare registers, `lock fetch add32`, and the implicit `exit` label
    // (the first exit instruction), as in lock_fetch_add32.data.
    let text = "\
lddw r0, 0x123456789abcdef0
stxdw [r10-8], r0
mov r1, 1
lock fetch add32 [r10-8], r1
jne32 r1, r0, exit
ldxdw r1, [r10-8]
lddw r0, 0x123456789abcdef1
jne r0, r1, exit
mov r0, 0
exit
";
    let program = assemble(text).unwrap();
    let jumps: Vec<i16> = program
        .instructions()
        .iter()
        .filter_map(|l| match l.insn {
            Instruction::Jump { off, .. } => Some(off),
            _ => None,
        })
        .collect();
    assert_eq!(jumps, [5, 1]);

    // Named local calls and comments, as in call_local.data.
    let text = "\
# r1-r5 are passed to the callee
mov %r1, 1
call local func1
exit
func1:
mov %r0, %r1 // comments in three styles
exit ; the last one
";
    let program = assemble(text).unwrap();
    assert_eq!(
        program.instructions()[1].insn,
        Instruction::Call(CallTarget::Local(1))
    );
    assert_eq!(program.subprograms(), [0, 3]);
}

#[test]
fn labels_may_share_a_line_and_override_exit() {
    let program = assemble("ja exit\nexit\nexit: mov %r0, 2\nexit").unwrap();
    assert_eq!(
        program.instructions()[0].insn,
        Instruction::Ja {
            offset: 1,
            long: false
        }
    );
    let program = assemble("top: loop: ja top\nexit").unwrap();
    assert_eq!(
        program.instructions()[0].insn,
        Instruction::Ja {
            offset: -1,
            long: false
        }
    );
}

#[test]
fn code_addresses_take_labels() {
    let program = assemble("lddw %r1, code_addr(callback)\nexit\ncallback:\nexit").unwrap();
    assert_eq!(program.subprograms(), [0, 3]);
    assert_eq!(
        disassemble(&program, Syntax::Conformance).lines().next(),
        Some("lddw %r1, code_addr(+2)")
    );
}

#[test]
fn conformance_text_of_every_kind() {
    let text = "\
add32 %r1, -1
movsx1664 %r2, %r3
neg %r4
bswap16 %r5
lddw %r6, 0x8000000000000000
lddw %r6, map_val(map_by_fd(1)) - 2147483648
ldxsw %r7, [%r10-512]
stdw [%r1+0], 0
stxh [%r1+32767], %r2
lock fetch xor [%r1-8], %r3
lock cmpxchg32 [%r1+4], %r3
ldabsb -1
ldindh %r2, 7
ja -1
ja32 +0
jsle32 %r1, %r2, -3
jlt %r1, 4294967295, +0
call 7
call local -18
call runtime -5
call %r9
exit
";
    // Immediates print signed.
    let expected = text.replace("4294967295", "-1");
    let program = assemble(text).unwrap();
    assert_eq!(disassemble(&program, Syntax::Conformance), expected);
}

#[test]
fn llvm_text_of_a_few_kinds() {
    let program = assemble(
        "mov %r0, 1\nldxw %r2, [%r1+4]\nadd32 %r0, 1\njgt %r1, %r2, +2\nlddw %r0, 0x1122334455667788\nexit",
    )
    .unwrap();
    let text = disassemble(&program, Syntax::Llvm);
    assert_eq!(
        text,
        "r0 = 0x1\nw2 = *(u32 *)(r1 + 0x4)\nw0 += 0x1\nif r1 > r2 goto +0x2\nr0 = 0x1122334455667788 ll\nexit\n"
    );
    let insn = program.instructions()[3].insn;
    assert_eq!(
        format_instruction(&insn, 3, Syntax::Conformance),
        "jgt %r1, %r2, +2"
    );
}

#[test]
fn thirty_two_bit_operands_keep_their_low_half() {
    let insns =
        assemble_instructions("mov32 %r1, 0x876543210\njne32 %r1, 0x100000001, +0").unwrap();
    assert_eq!(insns[0].encode().0.imm, 0x7654_3210);
    assert_eq!(insns[1].encode().0.imm, 1);
    // A 64-bit operation would sign-extend the field: the value must fit.
    assert!(assemble_instructions("mov %r1, 0x876543210").is_err());
    assert!(assemble_instructions("mov32 %r1, 0x10000000000000000").is_err());
}
