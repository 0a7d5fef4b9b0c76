// SPDX-License-Identifier: GPL-2.0
/*
 * cpu_versions.c - one computation that compiles to different instructions
 * for each BPF CPU version; build.sh builds it as cpu_v1.o .. cpu_v4.o
 * (-mcpu=v1 .. v4). All four return the same checksum for the same packet.
 *
 * What differs between the builds:
 *   v1  64-bit ALU and jumps only; unsigned compares against constants go
 *       through jgt/jge with swapped registers; sign extension by shifts;
 *       byte swaps with be16/be32/be64; only the non-fetching atomic add
 *       (lock xadd) - the fetching atomics are emulated non-atomically;
 *       signed division and modulo emulated with unsigned ones.
 *   v2  adds jlt/jle/jslt/jsle.
 *   v3  adds 32-bit ALU (w registers) and 32-bit jumps (jmp32), and the
 *       fetching atomics: atomic_fetch_add/or/and/xor, xchg, cmpxchg.
 *   v4  adds sign-extending loads (ldxsb/ldxsh/ldxsw), movsx, bswap16/32/64,
 *       sdiv/smod (32 and 64 bit).
 *
 * The program (SEC("xdp") cpu_checksum) reads the first 32 bytes of the
 * packet and returns a 31-bit checksum of them (XDP_ABORTED, 0, if the
 * packet is shorter). The atomics operate on a stack slot.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define INPUT_LEN 32

static __always_inline __s64 sdiv64(__s64 a, __s64 b)
{
#if __BPF_FEATURE_SDIV_SMOD
	return a / b;
#else
	__u64 ua = a < 0 ? -(__u64)a : (__u64)a;
	__u64 ub = b < 0 ? -(__u64)b : (__u64)b;
	__u64 q = ua / ub;

	return (a < 0) != (b < 0) ? -(__s64)q : (__s64)q;
#endif
}

static __always_inline __s64 smod64(__s64 a, __s64 b)
{
#if __BPF_FEATURE_SDIV_SMOD
	return a % b;
#else
	__u64 ua = a < 0 ? -(__u64)a : (__u64)a;
	__u64 ub = b < 0 ? -(__u64)b : (__u64)b;
	__u64 r = ua % ub;

	return a < 0 ? -(__s64)r : (__s64)r;
#endif
}

static __always_inline __s32 sdiv32(__s32 a, __s32 b)
{
#if __BPF_FEATURE_SDIV_SMOD
	return a / b;
#else
	__u32 ua = a < 0 ? -(__u32)a : (__u32)a;
	__u32 ub = b < 0 ? -(__u32)b : (__u32)b;
	__u32 q = ua / ub;

	return (a < 0) != (b < 0) ? -(__s32)q : (__s32)q;
#endif
}

static __always_inline __s32 smod32(__s32 a, __s32 b)
{
#if __BPF_FEATURE_SDIV_SMOD
	return a % b;
#else
	__u32 ua = a < 0 ? -(__u32)a : (__u32)a;
	__u32 ub = b < 0 ? -(__u32)b : (__u32)b;
	__u32 r = ua % ub;

	return a < 0 ? -(__s32)r : (__s32)r;
#endif
}

/* Returns the old value of *cell, like the fetching atomics. */
static __always_inline __u64 fetch_or(__u64 *cell, __u64 v)
{
#if __BPF_CPU_VERSION__ >= 3
	return __sync_fetch_and_or(cell, v);
#else
	__u64 old = *cell;

	*cell = old | v;
	return old;
#endif
}

static __always_inline __u64 fetch_and(__u64 *cell, __u64 v)
{
#if __BPF_CPU_VERSION__ >= 3
	return __sync_fetch_and_and(cell, v);
#else
	__u64 old = *cell;

	*cell = old & v;
	return old;
#endif
}

static __always_inline __u64 fetch_xor(__u64 *cell, __u64 v)
{
#if __BPF_CPU_VERSION__ >= 3
	return __sync_fetch_and_xor(cell, v);
#else
	__u64 old = *cell;

	*cell = old ^ v;
	return old;
#endif
}

static __always_inline __u64 fetch_add(__u64 *cell, __u64 v)
{
#if __BPF_CPU_VERSION__ >= 3
	return __sync_fetch_and_add(cell, v);
#else
	__u64 old = *cell;

	*cell = old + v;
	return old;
#endif
}

static __always_inline __u64 exchange(__u64 *cell, __u64 v)
{
#if __BPF_CPU_VERSION__ >= 3
	return __sync_lock_test_and_set(cell, v);
#else
	__u64 old = *cell;

	*cell = v;
	return old;
#endif
}

static __always_inline __u64 cmpxchg(__u64 *cell, __u64 expected, __u64 v)
{
#if __BPF_CPU_VERSION__ >= 3
	return __sync_val_compare_and_swap(cell, expected, v);
#else
	__u64 old = *cell;

	if (old == expected)
		*cell = v;
	return old;
#endif
}

static __always_inline __u32 read32(const __u8 *p)
{
	return p[0] | (__u32)p[1] << 8 | (__u32)p[2] << 16 | (__u32)p[3] << 24;
}

static __always_inline __u64 read64(const __u8 *p)
{
	return read32(p) | (__u64)read32(p + 4) << 32;
}

/* The checksum of the INPUT_LEN bytes at p. */
static __always_inline __u32 checksum(const __u8 *p)
{
	const __s8 *sp = (const __s8 *)p;
	const __s16 *sh = (const __s16 *)p;
	const __s32 *sw = (const __s32 *)p;
	__u64 acc = 0x0123456789abcdefULL;
	__u64 cell;
	__u32 w, x;
	__s64 a, b;
	__s32 a32, b32;
	int i;

	/* Sign-extending loads: ldxsb/ldxsh/ldxsw on v4. */
#pragma clang loop unroll(full)
	for (i = 0; i < 8; i++)
		acc += (__s64)sp[i] * (i + 1);
	acc ^= (__s64)sh[4];
	acc += (__s64)sw[3];

	/* movsx: sign extension of values already in registers. */
	acc ^= (__u64)(__s64)(__s8)(acc + 0x5a);
	acc += (__u64)(__s64)(__s16)(acc * 7);
	acc ^= (__u64)(__s64)(__s32)(acc ^ 0x1234);

	/* 32-bit arithmetic and compares (jmp32 from v3 on). */
	w = read32(p + 16);
	x = read32(p + 20);
	if (w > x)
		acc += w - x;
	else
		acc += x - w;
	if ((__s32)w < (__s32)x)
		acc ^= 0x55;
	if (w < 0x40000000u)
		acc += 7;
	if ((__s32)x <= -1000)
		acc ^= 0xa00;

	/* Byte swaps: bswap on v4, be16/be32/be64 before. */
	acc += __builtin_bswap16((__u16)w);
	acc ^= __builtin_bswap32(x);
	acc += __builtin_bswap64(read64(p + 24));

	/* Signed division and modulo: sdiv/smod on v4, emulated before.
	 * The divisors are 4k + 6: never 0 and never -1. The remainders
	 * take other dividends than the quotients, so that LLVM does not
	 * rewrite a % b as a - a / b * b. */
	a = (__s64)read64(p + 8);
	b = (__s64)sp[30] * 4 + 6;
	acc += (__u64)sdiv64(a, b);
	acc ^= (__u64)smod64(a ^ 0x5a5a, b);
	a32 = (__s32)w;
	b32 = (__s32)sp[31] * 4 + 6;
	acc += (__u64)(__s64)sdiv32(a32, b32);
	acc ^= (__u64)(__s64)smod32(a32 + 77, b32);

	/* Atomics on a stack slot. */
	cell = acc;
	acc += fetch_add(&cell, 0x1111);
	acc ^= fetch_or(&cell, 0xf0f0);
	acc += fetch_and(&cell, 0xffff00ffffULL);
	acc ^= fetch_xor(&cell, 0x3c3c3c3c);
	acc += exchange(&cell, acc >> 7);
	acc ^= cmpxchg(&cell, acc >> 7, 12345);
	acc += cmpxchg(&cell, 0, 999);	/* fails: cell is 12345 or acc >> 7 */
	__sync_fetch_and_add(&cell, 3);	/* lock xadd, result unused */
	acc += cell;

	acc ^= acc >> 32;
	return (__u32)(acc & 0x7fffffff);
}

#ifndef CPU_VERSIONS_HOST_TEST
SEC("xdp")
int cpu_checksum(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;

	if (data + INPUT_LEN > data_end)
		return XDP_ABORTED;
	return checksum(data);
}

char _license[] SEC("license") = "GPL";
#endif
