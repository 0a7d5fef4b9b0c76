// SPDX-License-Identifier: GPL-2.0
/*
 * kernel_only.c - externs only a real kernel can satisfy.
 *
 * Exercises:
 *   - kfuncs: `extern ... __ksym` functions (bpf_task_acquire,
 *     bpf_task_release) called from a tp_btf program. In the object they
 *     are undefined global symbols in no section; each call is
 *     `call -1` with an R_BPF_64_32 relocation against the extern, and the
 *     BTF has them as extern FUNCs in a ".ksyms" DATASEC;
 *   - a typed __ksym variable (bpf_prog_active, a per-CPU kernel
 *     variable): only its address is taken, with an ld_imm64
 *     (R_BPF_64_64 against the extern, BTF VAR in ".ksyms");
 *   - Kconfig externs: `extern ... __kconfig` (LINUX_KERNEL_VERSION,
 *     CONFIG_HZ as __weak): ld_imm64 (R_BPF_64_64) against undefined
 *     symbols, BTF VARs in a ".kconfig" DATASEC; libbpf would place them in
 *     a read-only internal map.
 *
 * A loader without a kernel must report each of these by name
 * (bpf_task_acquire, bpf_task_release, bpf_prog_active,
 * LINUX_KERNEL_VERSION, CONFIG_HZ) instead of loading the programs.
 */
#include <linux/types.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define KERNEL_VERSION(a, b, c) (((a) << 16) + ((b) << 8) + ((c) > 255 ? 255 : (c)))
#define XDP_DROP 1
#define XDP_PASS 2

struct task_struct {
	int pid;
} __attribute__((preserve_access_index));

extern struct task_struct *bpf_task_acquire(struct task_struct *p) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;

extern int bpf_prog_active __ksym;

extern int LINUX_KERNEL_VERSION __kconfig;
extern int CONFIG_HZ __kconfig __weak;

struct xdp_md;

__u64 seen_pid;
__u64 active_addr;

SEC("tp_btf/task_newtask")
int BPF_PROG(on_newtask, struct task_struct *task, __u64 clone_flags)
{
	struct task_struct *acquired;

	acquired = bpf_task_acquire(task);
	if (!acquired)
		return 0;
	seen_pid = acquired->pid;
	active_addr = (__u64)(long)&bpf_prog_active;
	bpf_task_release(acquired);
	return 0;
}

/* Passes only on kernels from 5.15 on with HZ >= 250. */
SEC("xdp")
int kconfig_gate(struct xdp_md *ctx)
{
	if (LINUX_KERNEL_VERSION < KERNEL_VERSION(5, 15, 0))
		return XDP_DROP;
	if (CONFIG_HZ && CONFIG_HZ < 250)
		return XDP_DROP;
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
