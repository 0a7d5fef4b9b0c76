// SPDX-License-Identifier: GPL-2.0
/*
 * core_kernel.c - CO-RE (compile once, run everywhere) against kernel
 * types, with the program's own vmlinux.h-style declarations.
 *
 * The structs below are this program's idea of the kernel's types: only
 * the members it uses, in its own order, marked preserve_access_index so
 * that clang records a CO-RE relocation (in .BTF.ext) for every access. The
 * "kernel" these relocations are resolved against is fake_kernel.c, whose
 * raw BTF build.sh writes to fake_kernel.btf: there the members sit at
 * other offsets, among extra members and bitfields.
 *
 * Exercises:
 *   - raw_tracepoint/sched_process_exec: BPF_CORE_READ through a task
 *     pointer from the context (bpf_probe_read_kernel with a relocated
 *     offset), a two-step read (task->real_parent->tgid),
 *     BPF_CORE_READ_STR_INTO, BPF_CORE_READ_BITFIELD_PROBED (byte offset,
 *     byte size, left/right shift and signedness relocations), and
 *     bpf_core_field_exists on a member the fake kernel has (__state) and
 *     on one it lacks (the pre-5.14 `state`, through a ___flavor struct);
 *   - tp/sched/sched_process_exec: a tracepoint record struct with
 *     preserve_access_index, read directly from the context (the loads'
 *     offsets are relocated);
 *   - tp_btf/sched_process_exec: direct (BTF pointer) loads from the task,
 *     relocated in the load instructions themselves.
 */
#include <linux/types.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#define TASK_COMM_LEN 16
#define FILENAME_LEN 32

/* ---- the program's view of kernel types ---- */

/* From enum bpf_map_type, as vmlinux.h would provide it. */
enum bpf_map_type {
	BPF_MAP_TYPE_ARRAY = 2,
};

struct task_struct {
	int pid;
	int tgid;
	char comm[TASK_COMM_LEN];
	struct task_struct *real_parent;
	unsigned int __state;
	unsigned int in_execve:1;
	unsigned int in_iowait:1;
} __attribute__((preserve_access_index));

/* Kernels before 5.14 had `long state` instead of `__state`. */
struct task_struct___pre514 {
	long state;
} __attribute__((preserve_access_index));

struct trace_entry {
	unsigned short type;
	unsigned char flags;
	unsigned char preempt_count;
	int pid;
} __attribute__((preserve_access_index));

/* Not the kernel's member order (that is ent, __data_loc_filename, pid,
 * old_pid). */
struct trace_event_raw_sched_process_exec {
	struct trace_entry ent;
	int pid;
	int old_pid;
	unsigned int __data_loc_filename;
} __attribute__((preserve_access_index));

struct bpf_raw_tracepoint_args {
	__u64 args[0];
};

/* ---- results, read back by the host ---- */

/* exec_task slot 0: core_exec (raw_tracepoint); slot 1: core_exec_btf. */
struct exec_info {
	__s32 pid;
	__s32 tgid;
	__s32 ppid;		/* real_parent->tgid */
	__u32 state;
	__u32 in_execve;
	__u32 in_iowait;
	__u32 has_state_old;	/* bpf_core_field_exists(pre-5.14 state) */
	__u32 has_state_new;	/* bpf_core_field_exists(__state) */
	char comm[TASK_COMM_LEN];
};

/* exec_tp slot 0: core_exec_tp. */
struct exec_record {
	__s32 pid;
	__s32 old_pid;
	__u32 data_loc;
	__u32 filename_ret;	/* bpf_probe_read_kernel_str's return */
	char filename[FILENAME_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct exec_info);
	__uint(max_entries, 2);
} exec_task SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct exec_record);
	__uint(max_entries, 1);
} exec_tp SEC(".maps");

static __always_inline struct exec_info *slot(__u32 key)
{
	return bpf_map_lookup_elem(&exec_task, &key);
}

/* raw tracepoint sched_process_exec(struct task_struct *p, pid_t old_pid,
 * struct linux_binprm *bprm) */
SEC("raw_tracepoint/sched_process_exec")
int core_exec(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *task = (struct task_struct *)ctx->args[0];
	struct exec_info *info = slot(0);

	if (!info)
		return 0;

	info->pid = BPF_CORE_READ(task, pid);
	info->tgid = BPF_CORE_READ(task, tgid);
	info->ppid = BPF_CORE_READ(task, real_parent, tgid);
	BPF_CORE_READ_STR_INTO(&info->comm, task, comm);

	info->has_state_new = bpf_core_field_exists(task->__state);
	info->has_state_old = bpf_core_field_exists(
		((struct task_struct___pre514 *)task)->state);
	if (bpf_core_field_exists(task->__state))
		info->state = BPF_CORE_READ(task, __state);
	else
		info->state = BPF_CORE_READ(
			(struct task_struct___pre514 *)task, state);

	info->in_execve = BPF_CORE_READ_BITFIELD_PROBED(task, in_execve);
	info->in_iowait = BPF_CORE_READ_BITFIELD_PROBED(task, in_iowait);
	return 0;
}

SEC("tp/sched/sched_process_exec")
int core_exec_tp(struct trace_event_raw_sched_process_exec *ctx)
{
	__u32 key = 0;
	struct exec_record *rec = bpf_map_lookup_elem(&exec_tp, &key);
	unsigned int loc;

	if (!rec)
		return 0;
	loc = ctx->__data_loc_filename;
	rec->pid = ctx->pid;
	rec->old_pid = ctx->old_pid;
	rec->data_loc = loc;
	rec->filename_ret = bpf_probe_read_kernel_str(
		rec->filename, sizeof(rec->filename), (void *)ctx + (loc & 0xffff));
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(core_exec_btf, struct task_struct *p, int old_pid)
{
	struct exec_info *info = slot(1);

	if (!info)
		return 0;
	info->pid = p->pid;
	info->tgid = p->tgid;
	info->ppid = p->real_parent->tgid;
	info->state = p->__state;
	bpf_probe_read_kernel(info->comm, sizeof(info->comm), p->comm);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
