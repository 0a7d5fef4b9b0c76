// SPDX-License-Identifier: GPL-2.0
/*
 * maps_legacy_ext.c - legacy SEC("maps") records of a larger size.
 *
 * Exercises: the same "maps" section as maps_legacy.c, but with the
 * 7-field record some loaders (iproute2, the old samples' bpf_load.c)
 * accepted: inner_map_idx and numa_node appended, 28 bytes per map. A loader
 * must take the record size from the section (size / number of map
 * symbols), read the 5 fields it knows and accept the extra zero fields.
 * Three maps, a kprobe and a kretprobe on ksys_read.
 */
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
	unsigned int inner_map_idx;
	unsigned int numa_node;
};

/* Calls per CPU (slot 0). */
struct bpf_map_def SEC("maps") read_calls = {
	.type = BPF_MAP_TYPE_PERCPU_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 1,
};

/* Bytes asked for, by thread group id (upper half of pid_tgid). */
struct bpf_map_def SEC("maps") read_bytes = {
	.type = BPF_MAP_TYPE_LRU_HASH,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 1024,
	.numa_node = 0,
};

/* Sum of the return values (bytes read, or -errno), slot 0. */
struct bpf_map_def SEC("maps") read_ret = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__s64),
	.max_entries = 1,
};

/* ssize_t ksys_read(unsigned int fd, char __user *buf, size_t count) */
SEC("kprobe/ksys_read")
int read_entry(struct pt_regs *ctx)
{
	__u32 zero = 0, tgid = bpf_get_current_pid_tgid() >> 32;
	__u64 count = PT_REGS_PARM3(ctx);
	__u64 *calls, *bytes;

	calls = bpf_map_lookup_elem(&read_calls, &zero);
	if (calls)
		*calls += 1;

	bytes = bpf_map_lookup_elem(&read_bytes, &tgid);
	if (bytes)
		__sync_fetch_and_add(bytes, count);
	else
		bpf_map_update_elem(&read_bytes, &tgid, &count, BPF_ANY);
	return 0;
}

SEC("kretprobe/ksys_read")
int read_exit(struct pt_regs *ctx)
{
	__u32 zero = 0;
	__s64 ret = PT_REGS_RC(ctx);
	__s64 *sum;

	sum = bpf_map_lookup_elem(&read_ret, &zero);
	if (sum)
		__sync_fetch_and_add(sum, ret);
	return 0;
}

char _license[] SEC("license") = "GPL";
