//! The `bpfbox` command line: each subcommand's output, the exit statuses
//! (1 run-time failure, 2 usage, 3 input that cannot be loaded) and their
//! one-line messages.

use crate::spawn;
use std::path::{Path, PathBuf};
use std::process::Output;

/// A scratch directory for one test, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("bpfbox-cli-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    /// Writes `contents` to `name` in the directory; returns its path.
    fn file(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn bpfbox(args: &[&str]) -> Output {
    let mut command = spawn::command(env!("CARGO_BIN_EXE_bpfbox"));
    command.args(args);
    spawn::output(&mut command, b"")
}

fn path(path: &Path) -> &str {
    path.to_str().expect("temp paths are UTF-8")
}

/// Asserts exit status `code` with exactly `stdout` and `stderr`.
#[track_caller]
fn assert_output(output: &Output, code: i32, stdout: &str, stderr: &str) {
    assert_eq!(
        (
            output.status.code(),
            spawn::stdout(output).as_str(),
            spawn::stderr(output).as_str()
        ),
        (Some(code), stdout, stderr)
    );
}

/// Asserts a failure with exit status `code`, nothing on stdout and a
/// single line on stderr starting with `prefix`.
#[track_caller]
fn assert_error(output: &Output, code: i32, prefix: &str) {
    let stderr = spawn::stderr(output);
    assert_eq!(output.status.code(), Some(code), "{stderr}");
    assert!(spawn::stdout(output).is_empty());
    assert!(
        stderr.starts_with(prefix),
        "{stderr:?} does not start with {prefix:?}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
}

const FORTY_TWO: &str = "mov %r0, 42\nexit\n";
const FORTY_TWO_BYTES: [u8; 16] = [0xb7, 0, 0, 0, 42, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0];

#[test]
fn asm_writes_raw_bytecode() {
    let dir = TempDir::new("asm");
    let input = dir.file("prog.s", FORTY_TWO);
    let output = dir.0.join("prog.bin");
    assert_output(
        &bpfbox(&["asm", path(&input), "-o", path(&output)]),
        0,
        "",
        "",
    );
    assert_eq!(std::fs::read(&output).unwrap(), FORTY_TWO_BYTES);
}

#[test]
fn disasm_prints_one_instruction_per_line() {
    let dir = TempDir::new("disasm");
    let bin = dir.file("prog.bin", FORTY_TWO_BYTES);
    assert_output(&bpfbox(&["disasm", path(&bin)]), 0, "r0 = 0x2a\nexit\n", "");
    let conformance = bpfbox(&["disasm", path(&bin), "--syntax", "conformance"]);
    assert_output(&conformance, 0, "mov %r0, 42\nexit\n", "");
    // Assembler text is read by its extension too.
    let text = dir.file("prog.asm", FORTY_TWO);
    assert_output(
        &bpfbox(&["disasm", path(&text)]),
        0,
        "r0 = 0x2a\nexit\n",
        "",
    );
}

#[test]
fn asm_and_disasm_round_trip_through_files() {
    let dir = TempDir::new("round-trip");
    let source = "\
        mov %r0, 0\n\
        ldxb %r2, [%r1+3]\n\
        lddw %r3, 0x1122334455667788\n\
        loop:\n\
        add32 %r0, %r2\n\
        sub %r2, 1\n\
        jsgt %r2, 0, loop\n\
        stxdw [%r10-8], %r3\n\
        lock fetch add [%r10-8], %r0\n\
        call local done\n\
        exit\n\
        done:\n\
        be16 %r0\n\
        exit\n";
    let first = dir.0.join("first.bin");
    assert_output(
        &bpfbox(&["asm", path(&dir.file("in.s", source)), "-o", path(&first)]),
        0,
        "",
        "",
    );
    let listing = bpfbox(&["disasm", "--syntax", "conformance", path(&first)]);
    assert_eq!(listing.status.code(), Some(0));
    let text = dir.file("listing.s", &listing.stdout);
    let second = dir.0.join("second.bin");
    assert_output(
        &bpfbox(&["asm", path(&text), "-o", path(&second)]),
        0,
        "",
        "",
    );
    assert_eq!(
        std::fs::read(&first).unwrap(),
        std::fs::read(&second).unwrap()
    );
}

#[test]
fn run_prints_r0_in_hex() {
    let dir = TempDir::new("run");
    assert_output(
        &bpfbox(&["run", path(&dir.file("p.s", FORTY_TWO))]),
        0,
        "0x2a\n",
        "",
    );
    assert_output(
        &bpfbox(&["run", path(&dir.file("p.bin", FORTY_TWO_BYTES))]),
        0,
        "0x2a\n",
        "",
    );
    let other = dir.file("p.txt", FORTY_TWO);
    assert_output(
        &bpfbox(&["run", "--format", "asm", path(&other)]),
        0,
        "0x2a\n",
        "",
    );
    // Helper 5 of the conformance table returns its argument.
    let helper = dir.file("h.s", "mov %r1, 7\ncall 5\nexit");
    assert_output(
        &bpfbox(&["run", "--type", "conformance", path(&helper)]),
        0,
        "0x7\n",
        "",
    );
}

#[test]
fn run_takes_memory_as_hex_or_from_a_file() {
    let dir = TempDir::new("run-mem");
    // r0 = mem[2] + len
    let prog = dir.file("p.s", "ldxb %r0, [%r1+2]\nadd %r0, %r2\nexit");
    let prog = path(&prog);
    assert_output(
        &bpfbox(&["run", prog, "--mem", "00 01 f0"]),
        0,
        "0xf3\n",
        "",
    );
    assert_output(&bpfbox(&["run", prog, "--mem", "0001f0"]), 0, "0xf3\n", "");
    assert_output(
        &bpfbox(&["run", prog, "--mem", "00  01f0 00  "]),
        0,
        "0xf4\n",
        "",
    );
    let mem = dir.file("mem.bin", [0u8, 1, 0xf0, 0, 0]);
    assert_output(
        &bpfbox(&["run", prog, "--mem-file", path(&mem)]),
        0,
        "0xf5\n",
        "",
    );
}

#[test]
fn trace_prints_each_instruction_and_the_registers_it_changed() {
    let dir = TempDir::new("trace");
    let prog = dir.file("p.s", "mov %r0, 1\nmov %r1, %r0\nexit");
    let output = bpfbox(&["run", "--trace", path(&prog)]);
    assert_output(
        &output,
        0,
        "0x1\n",
        "0: r0 = 0x1 ; r0 = 0x1\n1: r1 = r0 ; r1 = 0x1\n2: exit\n",
    );
    // Packet programs trace too: r1 is the context, r2 the packet's start.
    let prog = dir.file("x.s", "ldxw %r2, [%r1+0]\nmov %r0, 2\nexit");
    let output = bpfbox(&[
        "run",
        "--trace",
        "--type",
        "xdp",
        "--packet",
        "00",
        path(&prog),
    ]);
    assert_eq!(spawn::stdout(&output), "0x2\n");
    let stderr = spawn::stderr(&output);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{stderr}");
    assert!(
        lines[0].starts_with("0: w2 = *(u32 *)(r1 + 0x0) ; r2 = 0x"),
        "{stderr}"
    );
    assert_eq!(lines[1..], ["1: r0 = 0x2 ; r0 = 0x2", "2: exit"]);
}

#[test]
fn run_time_failures_exit_1() {
    let dir = TempDir::new("exit-1");
    let oob = dir.file("oob.s", "ldxw %r0, [%r1+1]\nexit");
    let output = bpfbox(&["run", path(&oob), "--mem", "00 00 00 00"]);
    assert_error(&output, 1, "error: pc 0: out-of-bounds 4-byte read at 0x");

    let spin = dir.file("spin.s", "mov %r0, 0\nja -1\nexit");
    let output = bpfbox(&["run", path(&spin), "--budget", "5"]);
    assert_output(
        &output,
        1,
        "",
        "error: pc 1: instruction budget of 5 exhausted after 5 instructions\n",
    );
}

#[test]
fn usage_errors_exit_2() {
    let dir = TempDir::new("exit-2");
    let prog = dir.file("p.s", FORTY_TWO);
    let prog = path(&prog);
    for args in [
        &["frob"][..],
        &["run"][..],
        &["asm", prog][..],
        &["run", prog, "--budget", "5", "--no-budget"][..],
        &["run", prog, "--mem", "00", "--mem-file", prog][..],
        &["disasm", prog, "--syntax", "intel"][..],
    ] {
        let output = bpfbox(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = spawn::stderr(&output);
        assert!(stderr.starts_with("error: "), "{args:?}");
        // clap's usage errors too are one line.
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
    let output = bpfbox(&["run", prog, "--mem", "00 1"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = spawn::stderr(&output);
    assert!(
        stderr.contains("`1` is not a sequence of two-digit hex bytes"),
        "{stderr}"
    );

    let text = dir.file("p.txt", FORTY_TWO);
    let want = format!(
        "error: cannot tell the format of `{}` from its name (.bin/.raw, .s/.asm or .o); pass --format raw|asm|elf\n",
        path(&text)
    );
    assert_output(&bpfbox(&["run", path(&text)]), 2, "", &want);
}

#[test]
fn inputs_that_cannot_be_loaded_exit_3() {
    let dir = TempDir::new("exit-3");
    let missing = dir.0.join("missing.bin");
    assert_error(
        &bpfbox(&["run", path(&missing)]),
        3,
        &format!("error: {}: ", path(&missing)),
    );

    let odd = dir.file("odd.bin", [0x95, 0, 0, 0]);
    let output = bpfbox(&["disasm", path(&odd)]);
    let want = format!(
        "error: {}: instruction 0: program length 4 is not a multiple of 8 bytes\n",
        path(&odd)
    );
    assert_output(&output, 3, "", &want);

    let bad = dir.file("bad.s", "mov %r0, 1\nfrob %r0\nexit");
    let output = bpfbox(&["asm", path(&bad), "-o", path(&dir.0.join("out.bin"))]);
    let want = format!("error: {}: line 2: unknown mnemonic `frob`\n", path(&bad));
    assert_output(&output, 3, "", &want);

    // Helper 7 is Linux's get_prandom_u32, not in the conformance table.
    let helper = dir.file("helper.s", "call 7\nexit");
    let output = bpfbox(&["run", "--type", "conformance", path(&helper)]);
    let want = format!(
        "error: {}: instruction 0: unknown helper 7\n",
        path(&helper)
    );
    assert_output(&output, 3, "", &want);
    let helper = dir.file("helper1000.s", "call 1000\nexit");
    let want = format!(
        "error: {}: instruction 0: unknown helper 1000\n",
        path(&helper)
    );
    assert_output(&bpfbox(&["run", path(&helper)]), 3, "", &want);

    let prog = dir.file("p.s", FORTY_TWO);
    let unwritable = dir.0.join("no-such-dir").join("out.bin");
    assert_error(
        &bpfbox(&["asm", path(&prog), "-o", path(&unwritable)]),
        3,
        &format!("error: {}: ", path(&unwritable)),
    );
}

/// An Ethernet + IPv4 (IHL 5) + 20-byte L4 header, 60 bytes in all, as hex.
fn ipv4_packet(ethertype: u16, protocol: u8, dst_port: u16) -> String {
    let mut p = [0u8; 60];
    p[12..14].copy_from_slice(&ethertype.to_be_bytes());
    p[14] = 0x45;
    p[23] = protocol;
    p[36..38].copy_from_slice(&dst_port.to_be_bytes());
    p.iter().map(|b| format!("{b:02x}")).collect()
}

/// XDP: drops TCP to port 22 (1, XDP_DROP), passes the rest (2); counts
/// packets per IP protocol in hash map 0 (u32 -> u64) and verdicts in
/// array map 1 (u32 -> u64).
const XDP_PORT_FILTER: &str = "
    mov %r6, 2
    ldxw %r2, [%r1+0]
    ldxw %r3, [%r1+4]
    mov %r4, %r2
    add %r4, 38
    jgt %r4, %r3, count_verdict
    ldxb %r7, [%r2+23]
    ldxh %r8, [%r2+36]
    stxw [%r10-4], %r7
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
    mov %r4, 0
    call 2
    ja decide
add_one:
    mov %r1, 1
    lock add [%r0+0], %r1
decide:
    jne %r7, 6, count_verdict
    jne %r8, 0x1600, count_verdict
    mov %r6, 1
count_verdict:
    stxw [%r10-4], %r6
    lddw %r1, map_by_fd(1)
    mov %r2, %r10
    add %r2, -4
    call 1
    jeq %r0, 0, out
    mov %r1, 1
    lock add [%r0+0], %r1
out:
    mov %r0, %r6
    exit
";

#[test]
fn xdp_drops_by_port_and_counts_in_maps_over_repeated_runs() {
    let dir = TempDir::new("xdp");
    let prog = dir.file("xdp.s", XDP_PORT_FILTER);
    let maps = [
        "--map",
        "counts:hash:4:8:16",
        "--map",
        "verdicts:array:4:8:4",
    ];
    let ssh = ipv4_packet(0x0800, 6, 22);
    let mut args = vec!["run", path(&prog), "--type", "xdp", "--packet", &ssh];
    args.extend(maps);
    args.extend(["--repeat", "3", "--dump-maps"]);
    assert_output(
        &bpfbox(&args),
        0,
        "0x1\n\
         map counts (hash): 06000000 = 0300000000000000\n\
         map verdicts (array): 00000000 = 0000000000000000\n\
         map verdicts (array): 01000000 = 0300000000000000\n\
         map verdicts (array): 02000000 = 0000000000000000\n\
         map verdicts (array): 03000000 = 0000000000000000\n",
        "",
    );
    // Another port passes; the same from a file, without --dump-maps.
    let dns = dir.file("dns.bin", hex_bytes(&ipv4_packet(0x0800, 17, 53)));
    let mut args = vec!["run", path(&prog), "--type", "xdp"];
    args.extend(["--packet-file", path(&dns)]);
    args.extend(maps);
    assert_output(&bpfbox(&args), 0, "0x2\n", "");
    args.push("--dump-maps");
    assert_output(
        &bpfbox(&args),
        0,
        "0x2\n\
         map counts (hash): 11000000 = 0100000000000000\n\
         map verdicts (array): 00000000 = 0000000000000000\n\
         map verdicts (array): 01000000 = 0000000000000000\n\
         map verdicts (array): 02000000 = 0100000000000000\n\
         map verdicts (array): 03000000 = 0000000000000000\n",
        "",
    );
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn hash_keys_dump_sorted_and_queues_in_pop_order() {
    let dir = TempDir::new("dump");
    // Inserts keys 3, 1, 2 into the hash (value = key * 16) and pushes 11
    // then 22 onto the queue; the per-CPU array gets 5 at index 1.
    let prog = dir.file(
        "p.s",
        "
        mov %r6, 3
    again:
        stxw [%r10-4], %r6
        mov %r1, %r6
        lsh %r1, 4
        stxw [%r10-8], %r1
        lddw %r1, map_by_fd(0)
        mov %r2, %r10
        add %r2, -4
        mov %r3, %r10
        add %r3, -8
        mov %r4, 0
        call 2
        jeq %r6, 2, done
        jeq %r6, 3, one
        mov %r6, 2
        ja again
    one:
        mov %r6, 1
        ja again
    done:
        stw [%r10-8], 11
        lddw %r1, map_by_fd(1)
        mov %r2, %r10
        add %r2, -8
        mov %r3, 0
        call 87
        stw [%r10-8], 22
        lddw %r1, map_by_fd(1)
        mov %r2, %r10
        add %r2, -8
        mov %r3, 0
        call 87
        stw [%r10-4], 1
        lddw %r1, map_by_fd(2)
        mov %r2, %r10
        add %r2, -4
        call 1
        jeq %r0, 0, out
        stw [%r0+0], 5
    out:
        mov %r0, 0
        exit
        ",
    );
    let output = bpfbox(&[
        "run",
        path(&prog),
        "--map",
        "h:hash:4:4:8",
        "--map",
        "q:queue:0:4:4",
        "--map",
        "pc:percpu_array:4:4:2",
        "--map",
        "ring:ringbuf:0:0:4096",
        "--map",
        "xsk:xskmap:4:4:1",
        "--dump-maps",
    ]);
    assert_output(
        &output,
        0,
        "0x0\n\
         map h (hash): 01000000 = 10000000\n\
         map h (hash): 02000000 = 20000000\n\
         map h (hash): 03000000 = 30000000\n\
         map q (queue): 0b000000\n\
         map q (queue): 16000000\n\
         map pc (percpu_array): 00000000 = 00000000\n\
         map pc (percpu_array): 01000000 = 05000000\n\
         map xsk (xskmap): cannot dump: xskmap map: lookup is not supported\n",
        "",
    );
}

#[test]
fn socket_filter_reads_the_packet_with_legacy_loads() {
    let dir = TempDir::new("socket");
    // Keep IPv4 TCP whole (-1), drop the rest (0).
    let prog = dir.file(
        "sock.s",
        "
        ldabsh 12
        jne %r0, 0x0800, drop
        ldabsb 23
        jne %r0, 6, drop
        mov %r0, -1
        exit
    drop:
        mov %r0, 0
        exit
        ",
    );
    let run = |kind: &str, packet: &str| {
        bpfbox(&["run", path(&prog), "--type", kind, "--packet", packet])
    };
    let tcp = ipv4_packet(0x0800, 6, 80);
    assert_output(&run("socket", &tcp), 0, "0xffffffffffffffff\n", "");
    // The kernel's name for the type works too.
    assert_output(&run("socket_filter", &tcp), 0, "0xffffffffffffffff\n", "");
    let arp = ipv4_packet(0x0806, 6, 80);
    assert_output(&run("socket", &arp), 0, "0x0\n", "");
    assert_output(&run("socket", &ipv4_packet(0x0800, 17, 80)), 0, "0x0\n", "");
}

#[test]
fn tc_shows_the_rewritten_packet_changed_fields_and_redirect() {
    let dir = TempDir::new("tc");
    // mark += 1, cb[0] = 7, first packet byte = 0xaa, redirect(3, BPF_F_INGRESS).
    let prog = dir.file(
        "tc.s",
        "
        mov %r6, %r1
        ldxw %r2, [%r6+8]
        add %r2, 1
        stxw [%r6+8], %r2
        stw [%r6+48], 7
        ldxw %r2, [%r6+76]
        ldxw %r3, [%r6+80]
        mov %r4, %r2
        add %r4, 1
        jgt %r4, %r3, out
        stb [%r2+0], 0xaa
        mov %r1, 3
        mov %r2, 1
        call 23
    out:
        exit
        ",
    );
    let prog = path(&prog);
    let packet = "00112233445566778899aabb0800";
    assert_output(
        &bpfbox(&[
            "run",
            prog,
            "--type",
            "sched_cls",
            "--packet",
            packet,
            "--field",
            "mark=5",
        ]),
        0,
        "0x7\n\
         packet: aa112233445566778899aabb0800\n\
         field mark = 0x6\n\
         field cb[0] = 0x7\n\
         redirect: ifindex 3 flags 0x1\n",
        "",
    );
    // A field set to the value the program writes has not changed.
    assert_output(
        &bpfbox(&[
            "run",
            prog,
            "--type",
            "tc",
            "--packet",
            "00",
            "--field",
            "mark=0x10",
            "--field",
            "cb[0]=7",
        ]),
        0,
        "0x7\npacket: aa\nfield mark = 0x11\nredirect: ifindex 3 flags 0x1\n",
        "",
    );
}

#[test]
fn trace_printk_lines_come_from_every_run() {
    let dir = TempDir::new("printk");
    // XDP: the format string is the packet; the argument ingress_ifindex.
    let prog = dir.file(
        "printk.s",
        "
        mov %r6, %r1
        ldxw %r1, [%r6+0]
        ldxw %r2, [%r6+4]
        mov %r3, %r1
        add %r3, 6
        jgt %r3, %r2, out
        mov %r2, 6
        ldxw %r3, [%r6+12]
        call 6
    out:
        mov %r0, 2
        exit
        ",
    );
    // "n=%d\n\0"
    let output = bpfbox(&[
        "run",
        path(&prog),
        "--type",
        "xdp",
        "--packet",
        "6e 3d 25 64 0a 00",
        "--field",
        "ingress_ifindex=5",
        "--repeat",
        "2",
    ]);
    assert_output(&output, 0, "0x2\ntrace: n=5\ntrace: n=5\n", "");

    // A buffer program with the format on its stack: "x\t%u\\\n\0"; the
    // tab and backslash are escaped, the trailing newline dropped.
    let prog = dir.file(
        "stack.s",
        "
        lddw %r1, 0x00000a5c75250978
        stxdw [%r10-8], %r1
        mov %r1, %r10
        add %r1, -8
        mov %r2, 7
        mov %r3, 42
        call 6
        exit
        ",
    );
    assert_output(
        &bpfbox(&["run", path(&prog)]),
        0,
        "0x6\ntrace: x\\t42\\\\\n",
        "",
    );
}

#[test]
fn each_run_prints_its_trace_ring_buffer_records_and_perf_events() {
    let dir = TempDir::new("events");
    // n = map 0 [0]++ (old value in r7); trace_printk("%u", n); mem[0] = n;
    // ringbuf_output(mem[0..2]); perf_event_output(mem[1..2]); mem[1] = 9.
    let prog = dir.file(
        "events.s",
        "
        mov %r6, %r1
        stw [%r10-4], 0
        lddw %r1, map_by_fd(0)
        mov %r2, %r10
        add %r2, -4
        call 1
        jeq %r0, 0, fail
        mov %r7, 1
        lock fetch add [%r0+0], %r7
        stw [%r10-16], 0x7525
        mov %r1, %r10
        add %r1, -16
        mov %r2, 3
        mov %r3, %r7
        call 6
        stxb [%r6+0], %r7
        lddw %r1, map_by_fd(1)
        mov %r2, %r6
        mov %r3, 2
        mov %r4, 0
        call 130
        mov %r1, %r6
        lddw %r2, map_by_fd(2)
        lddw %r3, 0xffffffff
        mov %r4, %r6
        add %r4, 1
        mov %r5, 1
        call 25
        stb [%r6+1], 9
        exit
    fail:
        mov %r0, -1
        exit
        ",
    );
    let output = bpfbox(&[
        "run",
        path(&prog),
        "--mem",
        "05 06",
        "--map",
        "n:array:4:8:1",
        "--map",
        "events:ringbuf:0:0:4096",
        "--map",
        "out:perf_event_array:4:4:1",
        "--repeat",
        "2",
        "--dump-maps",
    ]);
    assert_output(
        &output,
        0,
        "0x0\n\
         mem: 0109\n\
         trace: 0\n\
         ringbuf events: 0006\n\
         perf out cpu 0: 06\n\
         trace: 1\n\
         ringbuf events: 0106\n\
         perf out cpu 0: 06\n\
         map n (array): 00000000 = 0200000000000000\n",
        "",
    );
}

#[test]
fn tracing_programs_read_their_context_bytes() {
    let dir = TempDir::new("tracing");
    let first = dir.file("first.s", "ldxdw %r0, [%r1+0]\nexit");
    // A kprobe's context is zero-padded to struct pt_regs.
    assert_output(
        &bpfbox(&["run", path(&first), "--type", "kprobe", "--ctx", "2a"]),
        0,
        "0x2a\n",
        "",
    );
    let second = dir.file("second.s", "ldxdw %r0, [%r1+8]\nexit");
    let ctx = dir.file("ctx.bin", [0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
    for kind in ["tracepoint", "raw_tracepoint"] {
        assert_output(
            &bpfbox(&[
                "run",
                path(&second),
                "--type",
                kind,
                "--ctx-file",
                path(&ctx),
            ]),
            0,
            "0x807060504030201\n",
            "",
        );
    }
    // Other context sizes are the host's choice; reading past them faults.
    let output = bpfbox(&["run", path(&second), "--type", "tracepoint", "--ctx", "00"]);
    assert_error(&output, 1, "error: pc 0: out-of-bounds 8-byte read at 0x");
}

#[test]
fn repeated_runs_share_maps_and_a_failing_run_names_itself() {
    let dir = TempDir::new("repeat");
    // Counts runs in map 0; the second run reads out of its stack.
    let prog = dir.file(
        "p.s",
        "
        stw [%r10-4], 0
        lddw %r1, map_by_fd(0)
        mov %r2, %r10
        add %r2, -4
        call 1
        jeq %r0, 0, out
        mov %r1, 1
        lock fetch add [%r0+0], %r1
        jne %r1, 1, out
        ldxdw %r0, [%r10+8]
    out:
        mov %r0, 0
        exit
        ",
    );
    let run = |repeat: &str| {
        bpfbox(&[
            "run",
            path(&prog),
            "--map",
            "n:array:4:8:1",
            "--repeat",
            repeat,
            "--dump-maps",
        ])
    };
    assert_output(
        &run("1"),
        0,
        "0x0\nmap n (array): 00000000 = 0100000000000000\n",
        "",
    );
    assert_error(
        &run("3"),
        1,
        "error: run 2 of 3: pc 10: out-of-bounds 8-byte read at 0x",
    );
}

#[test]
fn run_usage_errors_exit_2_with_their_message() {
    let dir = TempDir::new("run-exit-2");
    let prog = dir.file("p.s", FORTY_TWO);
    let prog = path(&prog);
    let cases: &[(&[&str], &str)] = &[
        (
            &["--type", "frob"],
            "error: invalid value 'frob' for '--type <TYPE>': unknown program type `frob` (one of socket, kprobe, tc, tc_action, tracepoint, xdp, cgroup_skb, raw_tracepoint, buffer, conformance)\n",
        ),
        (
            &["--engine", "jit"],
            "error: the JIT is not in this build yet\n",
        ),
        (
            &["--packet", "00"],
            "error: --packet is not an input of buffer programs; they take --mem or --mem-file\n",
        ),
        (
            &["--type", "conformance", "--ctx", "00"],
            "error: --ctx is not an input of conformance programs; they take --mem or --mem-file\n",
        ),
        (
            &["--type", "xdp", "--mem", "00"],
            "error: --mem is not an input of xdp programs; they take --packet or --packet-file\n",
        ),
        (
            &["--type", "kprobe", "--packet-file", prog],
            "error: --packet-file is not an input of kprobe programs; they take --ctx or --ctx-file\n",
        ),
        (
            &["--field", "mark=1"],
            "error: --field is not an input of buffer programs; they take --mem or --mem-file\n",
        ),
        (
            &["--type", "xdp"],
            "error: xdp programs need a packet: give --packet or --packet-file\n",
        ),
        (
            &["--type", "tracepoint"],
            "error: tracepoint programs need their context: give --ctx or --ctx-file\n",
        ),
        (
            &["--type", "tc", "--packet", "00", "--field", "colour=1"],
            "error: --field colour: __sk_buff has no such 4-byte field\n",
        ),
        (
            &["--type", "xdp", "--packet", "00", "--field", "mark=1"],
            "error: --field mark: xdp_md has no such 4-byte field\n",
        ),
        (
            &["--type", "tc", "--packet", "00", "--field", "len=1"],
            "error: --field len: the run sets it from the packet\n",
        ),
        (
            &["--type", "tc", "--packet", "00", "--field", "mark"],
            "error: invalid value 'mark' for '--field <NAME=VALUE>': expected NAME=VALUE\n",
        ),
        (
            &["--type", "kprobe", "--ctx", &"00".repeat(169)],
            "error: the context of kprobe programs (struct pt_regs) is at most 168 bytes, not 169\n",
        ),
        (
            &["--repeat", "0"],
            "error: invalid value '0' for '--repeat <N>': 0 is not in 1..18446744073709551615\n",
        ),
        (
            &["--map", "a:hash:4:8"],
            "error: invalid value 'a:hash:4:8' for '--map <SPEC>': expected NAME:TYPE:KEY_SIZE:VALUE_SIZE:MAX_ENTRIES[:FLAGS]\n",
        ),
        (
            &["--map", "a:hash:4:8:1:0:0"],
            "error: invalid value 'a:hash:4:8:1:0:0' for '--map <SPEC>': expected NAME:TYPE:KEY_SIZE:VALUE_SIZE:MAX_ENTRIES[:FLAGS]\n",
        ),
        (
            &["--map", "a b:hash:4:8:1"],
            "error: invalid value 'a b:hash:4:8:1' for '--map <SPEC>': map name `a b` is not letters, digits, `_` and `.`\n",
        ),
        (
            &["--map", "a:hash:four:8:1"],
            "error: invalid value 'a:hash:four:8:1' for '--map <SPEC>': KEY_SIZE `four` is not a 32-bit number\n",
        ),
        (
            &["--map", "a:hash:4:8:0x100000000"],
            "error: invalid value 'a:hash:4:8:0x100000000' for '--map <SPEC>': MAX_ENTRIES `0x100000000` is not a 32-bit number\n",
        ),
        (
            &["--map", "a:hash:4:8:1", "--map", "a:array:4:8:1"],
            "error: --map a: the name is given twice\n",
        ),
    ];
    for (args, want) in cases {
        let mut all = vec!["run", prog];
        all.extend_from_slice(args);
        assert_output(&bpfbox(&all), 2, "", want);
    }
    // An unknown map type lists the names.
    let output = bpfbox(&["run", prog, "--map", "a:hashtable:4:8:1"]);
    assert_error(
        &output,
        2,
        "error: invalid value 'a:hashtable:4:8:1' for '--map <SPEC>': unknown map type `hashtable` (one of hash, array, ",
    );
}

#[test]
fn maps_and_programs_the_library_refuses_exit_3() {
    let dir = TempDir::new("run-exit-3");
    let prog = dir.file("p.s", FORTY_TWO);
    let prog = path(&prog);
    for (spec, want) in [
        (
            "a:array:8:8:1",
            "error: --map a: array map: key_size 8 is invalid: array keys are 4 bytes\n",
        ),
        (
            "r:ringbuf:0:0:4097",
            "error: --map r: ringbuf map: max_entries 4097 is invalid: must be a power of 2 and a multiple of the 4096-byte page\n",
        ),
        (
            "s:struct_ops:4:8:1",
            "error: --map s: struct_ops map: creating this map type is not supported\n",
        ),
    ] {
        assert_output(&bpfbox(&["run", prog, "--map", spec]), 3, "", want);
    }
    // All maps together stay under 256 MiB.
    let output = bpfbox(&[
        "run",
        prog,
        "--map",
        "a:array:4:65536:2048",
        "--map",
        "b:array:4:65536:2048",
    ]);
    assert_error(&output, 3, "error: --map b: the maps would take ");

    // A map index past the maps given; a helper the type may not call.
    let second = dir.file("second.s", "lddw %r1, map_by_fd(1)\nmov %r0, 0\nexit");
    let output = bpfbox(&["run", path(&second), "--map", "a:hash:4:4:1"]);
    let want = format!(
        "error: {}: instruction 0: no map at index 1\n",
        path(&second)
    );
    assert_output(&output, 3, "", &want);
    let helper = dir.file("helper.s", "call 26\nexit");
    let output = bpfbox(&["run", path(&helper), "--type", "xdp", "--packet", "00"]);
    let want = format!(
        "error: {}: instruction 0: helper skb_load_bytes is not allowed in xdp programs\n",
        path(&helper)
    );
    assert_output(&output, 3, "", &want);

    let missing = dir.0.join("missing.bin");
    assert_error(
        &bpfbox(&[
            "run",
            prog,
            "--type",
            "xdp",
            "--packet-file",
            path(&missing),
        ]),
        3,
        &format!("error: {}: ", path(&missing)),
    );
}

#[test]
fn buffer_programs_show_changed_memory_and_get_linux_helpers() {
    let dir = TempDir::new("buffer");
    let prog = dir.file("p.s", "stb [%r1+1], 0xee\nmov %r0, 0\nexit");
    assert_output(
        &bpfbox(&["run", path(&prog), "--mem", "00 11 22"]),
        0,
        "0x0\nmem: 00ee22\n",
        "",
    );
    // Linux helper 8, get_smp_processor_id: runs use CPU 0.
    let cpu = dir.file("cpu.s", "mov %r0, 7\ncall 8\nexit");
    assert_output(&bpfbox(&["run", path(&cpu)]), 0, "0x0\n", "");
}

/// An object of `tests/bpf/`.
fn object(name: &str) -> String {
    format!("{}/tests/bpf/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn info_lists_programs_maps_and_relocations() {
    let output = bpfbox(&["info", &object("tailcalls.o")]);
    assert_output(
        &output,
        0,
        "license: GPL\n\
         programs: 4\n\
         \x20 prog_a  section xdp  type xdp  12 instructions\n\
         \x20 prog_c  section xdp  type xdp  12 instructions\n\
         \x20 xdp_dispatch  section xdp  type xdp  12 instructions\n\
         \x20 xdp_tail_empty  section xdp  type xdp  6 instructions\n\
         maps: 2\n\
         \x20 jmp_table  prog_array  key 4  value 4  max_entries 4  flags 0x0  (.maps)\n\
         \x20 hits  array  key 4  value 8  max_entries 4  flags 0x0  (.maps)\n\
         relocations: R_BPF_64_64 4, R_BPF_64_ABS64 16, R_BPF_64_ABS32 61, R_BPF_64_NODYLD32 27, CO-RE 0\n",
        "",
    );
    let output = bpfbox(&["info", &object("kernel_only.o")]);
    let stdout = spawn::stdout(&output);
    assert!(
        stdout.contains("  kconfig_gate  section xdp  type xdp  12 instructions  uses .kconfig extern LINUX_KERNEL_VERSION  uses .kconfig extern CONFIG_HZ\n"),
        "{stdout}"
    );
}

#[test]
fn run_chooses_a_program_of_an_object() {
    // The entry program tail-calls slot 2 (`prog_c`, which returns 3).
    let output = bpfbox(&[
        "run",
        &object("tailcalls.o"),
        "--function",
        "xdp_dispatch",
        "--packet",
        "02",
        "--dump-maps",
    ]);
    assert_output(
        &output,
        0,
        "0x3\n\
         map jmp_table (prog_array): cannot dump: prog_array map: lookup (use Map::program) is not supported\n\
         map hits (array): 00000000 = 0000000000000000\n\
         map hits (array): 01000000 = 0000000000000000\n\
         map hits (array): 02000000 = 0100000000000000\n\
         map hits (array): 03000000 = 0000000000000000\n",
        "",
    );
    let tailcalls = object("tailcalls.o");
    assert_output(
        &bpfbox(&["run", &tailcalls, "--packet", "02"]),
        2,
        "",
        &format!("error: {tailcalls}: several programs match; choose with --section and --function (programs: xdp/prog_a, xdp/prog_c, xdp/xdp_dispatch, xdp/xdp_tail_empty)\n"),
    );
    assert_output(
        &bpfbox(&[
            "run",
            &tailcalls,
            "--function",
            "xdp_dispatch",
            "--packet",
            "02",
            "--map",
            "m:array:4:4:1",
        ]),
        2,
        "",
        "error: --map: an ELF object defines its own maps\n",
    );
    // Globals set before load, trace lines from .rodata strings.
    let mut ctx = "00".repeat(16);
    ctx += "0100000000000000";
    ctx += &"00".repeat(8);
    ctx += "0c00000000000000";
    let output = bpfbox(&[
        "run",
        &object("globals.o"),
        "--function",
        "handle_write",
        "--ctx",
        &ctx,
        "--global",
        "filter_pid=00000000",
    ]);
    assert_output(
        &output,
        0,
        "0x0\ntrace: hello 0\ntrace: fd 1 count 12 weight 15\ntrace: write 6 by 0: weight 15, sum 4111\ntrace: tag globals\n",
        "",
    );
    let dir = TempDir::new("elf-options");
    let program = dir.file("p.s", FORTY_TWO);
    assert_error(
        &bpfbox(&["run", path(&program), "--section", "xdp"]),
        2,
        "error: --section needs an ELF object",
    );
}

#[test]
fn disasm_of_an_object_shows_relocations() {
    let output = bpfbox(&[
        "disasm",
        &object("tailcalls.o"),
        "--function",
        "xdp_dispatch",
    ]);
    assert_output(
        &output,
        0,
        "xdp/xdp_dispatch:\n\
         \x20   0: w0 = 0x0\n\
         \x20   1: w3 = *(u32 *)(r1 + 0x4)\n\
         \x20   2: w2 = *(u32 *)(r1 + 0x0)\n\
         \x20   3: r4 = r2\n\
         \x20   4: r4 += 0x1\n\
         \x20   5: if r4 > r3 goto +0x5\n\
         \x20   6: w3 = *(u8 *)(r2 + 0x0)\n\
         \x20   7: ld_pseudo\tr2, 0x5, 0x0\n\
         \x20      R_BPF_64_64  jmp_table\n\
         \x20   9: call 0xc\n\
         \x20  10: w0 = 0x2\n\
         \x20  11: exit\n",
        "",
    );
}
