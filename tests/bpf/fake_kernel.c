// SPDX-License-Identifier: GPL-2.0
/*
 * fake_kernel.c - not a program: the type definitions of a made-up kernel,
 * whose BTF stands in for /sys/kernel/btf/vmlinux when core_kernel.o and
 * core_ctx.o are relocated. build.sh compiles it with -g and extracts the
 * raw .BTF section into fake_kernel.btf.
 *
 * The layouts differ on purpose from the programs' local declarations:
 * other member order, extra members, bitfields at other bit positions, and
 * no pre-5.14 `state` member in task_struct (only `__state`). The two
 * functions at the end only make clang emit BTF for the types (as FUNCs
 * taking pointers to them, the way vmlinux BTF describes kernel
 * functions); nothing calls them.
 *
 * Offsets on x86_64 / BPF (LP64):
 *   struct task_struct (80 bytes)
 *     __state 0, flags 4, stack 8, utime 16, pid 24, tgid 28,
 *     bitfields in the unsigned int at 32: sched_reset_on_fork bit 256,
 *     sched_contributes_to_load 257, sched_migrated 258, in_execve 259,
 *     in_iowait 260; real_parent 40, parent 48, comm 56 (16 bytes),
 *     start_time 72
 *   struct trace_event_raw_sched_process_exec (20 bytes)
 *     ent 0 (struct trace_entry, 8 bytes), __data_loc_filename 8, pid 12,
 *     old_pid 16, __data 20 (flexible)
 *   struct __sk_buff: the uapi layout of linux/bpf.h (len 0, mark 8,
 *     protocol 16, ...)
 */
#include <linux/bpf.h>

struct task_struct {
	unsigned int __state;
	unsigned int flags;
	void *stack;
	__u64 utime;
	int pid;
	int tgid;
	unsigned int sched_reset_on_fork:1;
	unsigned int sched_contributes_to_load:1;
	unsigned int sched_migrated:1;
	unsigned int in_execve:1;
	unsigned int in_iowait:1;
	struct task_struct *real_parent;
	struct task_struct *parent;
	char comm[16];
	__u64 start_time;
};

struct trace_entry {
	unsigned short type;
	unsigned char flags;
	unsigned char preempt_count;
	int pid;
};

struct trace_event_raw_sched_process_exec {
	struct trace_entry ent;
	__u32 __data_loc_filename;
	int pid;
	int old_pid;
	char __data[];
};

int sched_process_exec_probe(struct task_struct *p,
			     struct trace_event_raw_sched_process_exec *rec)
{
	return p->pid + rec->pid;
}

int sk_filter_probe(struct __sk_buff *skb)
{
	return skb->len;
}
