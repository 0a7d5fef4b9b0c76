// SPDX-License-Identifier: GPL-2.0
/*
 * globals.c - global variables of every kind libbpf turns into internal
 * maps, and bpf_printk().
 *
 * Exercises:
 *   - .data: an initialised global (counter = 5) the program increments;
 *   - .bss: zero globals the program writes for the host to read back;
 *   - .rodata: a `const volatile` knob the host may set before loading
 *     (filter_pid, as libbpf-bootstrap does) and a `static const` table
 *     indexed at run time (fd_bonus, 12 bytes); bpf_printk's formats;
 *   - .rodata.cst32: a second `static const` table (fd_weight, 32 bytes)
 *     that clang puts in a mergeable-constant section of its own, which
 *     libbpf treats as one more read-only data section;
 *   - .rodata.str1.1: string literals passed by pointer (bpf_trace_printk
 *     called directly with a literal format, and a %s argument);
 *   - .data.custom: a variable in a custom data section (its own map);
 *   - bpf_printk with 1 and 3 arguments (bpf_trace_printk, helper 6; the
 *     format is a static const array in .rodata) and with 4 arguments
 *     (bpf_trace_vprintk, helper 177, arguments in a u64 array on the stack);
 *   - two programs sharing the same global data: a tracepoint (tp/...) and a
 *     raw tracepoint (raw_tracepoint/...).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* The record of tracepoint syscalls/sys_enter_write, as its format file
 * describes it: 8 bytes of common fields, then the syscall number and the
 * three arguments, each widened to 8 bytes. */
struct sys_enter_write_args {
	__u64 common;
	__s32 syscall_nr;
	__u32 pad;
	__u64 fd;
	__u64 buf;
	__u64 count;
};

/* x86_64 syscall number of write(2). */
#define NR_write 1

/* .data */
__u64 counter = 5;

/* .bss */
__u64 last_count;
__u32 last_pid;
__u32 raw_writes;

/* .rodata: set by the host before loading; 0 means "every process". */
const volatile __u32 filter_pid = 0;

/* .rodata.cst32: weights by file descriptor (low 3 bits). */
static const __u32 fd_weight[8] = { 1, 10, 100, 1000, 3, 30, 300, 3000 };

/* .rodata: a bonus by file descriptor modulo 3. */
static const __u32 fd_bonus[3] = { 0, 5, 50 };

/* .data.custom */
__u32 weight_sum SEC(".data.custom") = 0x1000;

SEC("tp/syscalls/sys_enter_write")
int handle_write(struct sys_enter_write_args *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	__u32 weight;
	__u64 n;

	if (filter_pid && pid != filter_pid)
		return 0;

	n = __sync_add_and_fetch(&counter, 1);
	last_count = ctx->count;
	last_pid = pid;
	weight = fd_weight[ctx->fd & 7] + fd_bonus[ctx->fd % 3];
	weight_sum += weight;

	bpf_printk("hello %d", pid);
	bpf_printk("fd %d count %d weight %u", (int)ctx->fd, (int)ctx->count,
		   weight);
	bpf_printk("write %llu by %u: weight %u, sum %u", n, pid, weight,
		   weight_sum);
	/* A literal format: the string lives in .rodata.str1.1. */
	bpf_trace_printk("tag %s", sizeof("tag %s"), "globals");
	return 0;
}

SEC("raw_tracepoint/sys_enter")
int count_raw_writes(struct bpf_raw_tracepoint_args *ctx)
{
	/* sys_enter(struct pt_regs *regs, long id) */
	if (ctx->args[1] == NR_write)
		raw_writes++;
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
