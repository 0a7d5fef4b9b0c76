// SPDX-License-Identifier: GPL-2.0
/*
 * ringbuf_trace.c - tracing programs that report events through a ring
 * buffer, in the style of libbpf-bootstrap's "minimal" and "bootstrap"
 * examples.
 *
 * Exercises:
 *   - BPF_MAP_TYPE_RINGBUF (256 KiB) with reserve / submit and
 *     bpf_ringbuf_output;
 *   - SEC("tp/sched/sched_process_exec"): a tracepoint record read through
 *     a struct, including the __data_loc filename (offset in the low 16
 *     bits, length in the high 16) read with bpf_probe_read_kernel_str;
 *   - bpf_get_current_pid_tgid, bpf_get_current_comm, bpf_ktime_get_ns;
 *   - a `const volatile` .rodata filter (target_pid) set before loading;
 *   - SEC("kprobe/...") with the BPF_KPROBE macro (PT_REGS_PARM1/2 from
 *     struct pt_regs, x86_64 layout: build with -D__TARGET_ARCH_x86) and
 *     SEC("kretprobe/...") with BPF_KRETPROBE (PT_REGS_RC).
 */
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define TASK_COMM_LEN 16
#define MAX_FILENAME_LEN 32

enum event_kind {
	EVENT_EXEC = 1,
	EVENT_OPEN = 2,
	EVENT_OPEN_RET = 3,
};

/* One ring buffer record (80 bytes). */
struct event {
	__u32 kind;
	__u32 pid;	/* tgid: upper half of pid_tgid */
	__u32 tid;	/* lower half of pid_tgid */
	__s32 ret;	/* EVENT_OPEN_RET: the return value */
	__u64 ts_ns;
	__u64 arg;	/* EVENT_EXEC: old_pid; EVENT_OPEN: dfd */
	char comm[TASK_COMM_LEN];
	char filename[MAX_FILENAME_LEN];
};

/* The record of tracepoint sched/sched_process_exec. */
struct sched_process_exec_args {
	__u64 common;			/* 8 bytes of common fields */
	__u32 __data_loc_filename;	/* offset | length << 16 */
	__s32 pid;
	__s32 old_pid;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} rb SEC(".maps");

/* Set by the host before loading; 0 traces every process. */
const volatile int target_pid = 0;

static __always_inline int wanted(__u32 pid)
{
	return target_pid == 0 || pid == (__u32)target_pid;
}

static __always_inline void fill_task(struct event *e, __u32 kind)
{
	__u64 id = bpf_get_current_pid_tgid();

	e->kind = kind;
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->ts_ns = bpf_ktime_get_ns();
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
}

SEC("tp/sched/sched_process_exec")
int handle_exec(struct sched_process_exec_args *ctx)
{
	unsigned int fname_off = ctx->__data_loc_filename & 0xFFFF;
	struct event *e;

	if (!wanted(bpf_get_current_pid_tgid() >> 32))
		return 0;

	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e)
		return 0;

	fill_task(e, EVENT_EXEC);
	e->ret = 0;
	e->arg = ctx->old_pid;
	bpf_probe_read_kernel_str(&e->filename, sizeof(e->filename),
				  (void *)ctx + fname_off);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* long do_sys_openat2(int dfd, const char __user *filename,
 *                     struct open_how *how) */
SEC("kprobe/do_sys_openat2")
int BPF_KPROBE(trace_openat2, int dfd, const char *filename)
{
	struct event *e;

	if (!wanted(bpf_get_current_pid_tgid() >> 32))
		return 0;

	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e)
		return 0;

	fill_task(e, EVENT_OPEN);
	e->ret = 0;
	e->arg = dfd;
	bpf_probe_read_user_str(&e->filename, sizeof(e->filename), filename);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* The exit path builds the record on the stack and copies it with
 * bpf_ringbuf_output instead of reserving. */
SEC("kretprobe/do_sys_openat2")
int BPF_KRETPROBE(trace_openat2_ret, long ret)
{
	struct event e = {};

	if (!wanted(bpf_get_current_pid_tgid() >> 32))
		return 0;

	fill_task(&e, EVENT_OPEN_RET);
	e.ret = ret;
	bpf_ringbuf_output(&rb, &e, sizeof(e), 0);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
