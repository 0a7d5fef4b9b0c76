// SPDX-License-Identifier: GPL-2.0
/*
 * maps_legacy.c - maps defined the pre-BTF way, as records in SEC("maps").
 *
 * Exercises:
 *   - the legacy "maps" section: an array of struct bpf_map_def records
 *     (5 x u32 = 20 bytes each), one symbol per map; the loader finds the
 *     record size as section size / number of map symbols;
 *   - no BTF for these maps (the map types carry no key/value types);
 *   - the old SEC("version") section (a u32 kernel version code);
 *   - a kprobe (SEC("kprobe/do_sys_open"), BPF_PROG_TYPE_KPROBE) reading its
 *     third argument from struct pt_regs with PT_REGS_PARM3 (rdx).
 *
 * libbpf-dev no longer defines struct bpf_map_def, so it is declared here
 * with the layout the kernel samples used.
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
};

#define OPEN_TOTAL 0	/* open_count slot: every call */
#define OPEN_CREAT 1	/* open_count slot: calls with O_CREAT */
#define O_ACCMODE_BITS 3
#define O_CREAT_BIT 0100

/* Calls of do_sys_open, in slots OPEN_TOTAL and OPEN_CREAT. */
struct bpf_map_def SEC("maps") open_count = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 4,
};

/* Calls by access mode (flags & O_ACCMODE: 0 read, 1 write, 2 read-write). */
struct bpf_map_def SEC("maps") mode_count = {
	.type = BPF_MAP_TYPE_HASH,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 16,
	.map_flags = BPF_F_NO_PREALLOC,
};

static __always_inline void bump(struct bpf_map_def *map, __u32 key)
{
	__u64 one = 1, *value;

	value = bpf_map_lookup_elem(map, &key);
	if (value)
		__sync_fetch_and_add(value, 1);
	else
		bpf_map_update_elem(map, &key, &one, BPF_NOEXIST);
}

/* long do_sys_open(int dfd, const char __user *filename, int flags,
 *                  umode_t mode) */
SEC("kprobe/do_sys_open")
int count_open(struct pt_regs *ctx)
{
	int flags = (int)PT_REGS_PARM3(ctx);

	bump(&open_count, OPEN_TOTAL);
	if (flags & O_CREAT_BIT)
		bump(&open_count, OPEN_CREAT);
	bump(&mode_count, flags & O_ACCMODE_BITS);
	return 0;
}

char _license[] SEC("license") = "GPL";
__u32 _version SEC("version") = 0x060100;	/* KERNEL_VERSION(6, 1, 0) */
