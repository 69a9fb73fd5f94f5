// SPDX-License-Identifier: GPL-2.0
/*
 * Externs that live in kernel modules: nf_conntrack's XDP conntrack kfuncs,
 * the project's test module's kfunc and per-CPU variables, and a kfunc of a
 * module that is not loaded (fou). Checked in the VM.
 *
 * SEC("xdp") ct_lookup, run with BPF_PROG_TEST_RUN on any IPv4 frame: looks
 * up a UDP 10.0.0.1:1234 -> 10.0.0.2:53 connection with bpf_xdp_ct_lookup
 * (nf_conntrack), releasing it with bpf_ct_release if found; also calls
 * bpfkit_testmod_add (bpfkit_testmod): two modules' kfuncs in one program,
 * so two fd_array slots. Returns XDP_PASS. .bss:
 *   ct_error     opts.error after the lookup: -ENOENT (-2), no such flow
 *   ct_found     0
 *   xdp_sum      bpfkit_testmod_add(40, 2) = 42
 * SEC("syscall") testmod_values, run with BPF_PROG_TEST_RUN:
 *   sum          bpfkit_testmod_add(1000, 337) = 1337
 *   pcpu_u64     *bpf_this_cpu_ptr(&bpfkit_testmod_pcpu_u64)
 *                = 0xb0f0000000 + the CPU it ran on (cpu below)
 *   cpu          bpf_get_smp_processor_id()
 *   cpu0_point_y bpf_per_cpu_ptr(&bpfkit_testmod_pcpu_point, 0)->y = 1000000
 * SEC("tc") fou_encap calls bpf_skb_set_fou_encap, a kfunc of the fou
 * module, which the VM does not load: loading it must fail naming it (tests
 * turn it off otherwise).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

/* nf_conntrack's options struct (module BTF; struct nf_conn is in vmlinux.h). */
struct bpf_ct_opts {
	s32 netns_id;
	s32 error;
	u8 l4proto;
	u8 dir;
	u16 ct_zone_id;
	u8 ct_zone_dir;
	u8 reserved[3];
};

/* bpfkit_testmod's type (testmod/bpfkit_testmod.h), as far as read here. */
struct bpfkit_testmod_point {
	s32 x;
	s64 y;
} __attribute__((preserve_access_index));

/* fou's type. */
struct bpf_fou_encap {
	u16 sport;
	u16 dport;
};

extern struct nf_conn *bpf_xdp_ct_lookup(struct xdp_md *xdp_ctx, struct bpf_sock_tuple *bpf_tuple,
					 u32 tuple__sz, struct bpf_ct_opts *opts, u32 opts__sz) __ksym;
extern void bpf_ct_release(struct nf_conn *ct) __ksym;
extern u64 bpfkit_testmod_add(u64 a, u64 b) __ksym;
extern const u64 bpfkit_testmod_pcpu_u64 __ksym;
extern const struct bpfkit_testmod_point bpfkit_testmod_pcpu_point __ksym;
extern int bpf_skb_set_fou_encap(struct __sk_buff *skb_ctx, struct bpf_fou_encap *encap, int type) __ksym;

s64 ct_error;
u64 ct_found;
u64 xdp_sum;
u64 sum;
u64 pcpu_u64;
u64 cpu;
s64 cpu0_point_y;

SEC("xdp")
int ct_lookup(struct xdp_md *ctx)
{
	struct bpf_sock_tuple tuple = {};
	struct bpf_ct_opts opts = { .netns_id = -1, .l4proto = 17 };
	struct nf_conn *ct;

	tuple.ipv4.saddr = bpf_htonl(0x0a000001);
	tuple.ipv4.daddr = bpf_htonl(0x0a000002);
	tuple.ipv4.sport = bpf_htons(1234);
	tuple.ipv4.dport = bpf_htons(53);
	ct = bpf_xdp_ct_lookup(ctx, &tuple, sizeof(tuple.ipv4), &opts, sizeof(opts));
	if (ct) {
		ct_found = 1;
		bpf_ct_release(ct);
	}
	ct_error = opts.error;
	xdp_sum = bpfkit_testmod_add(40, 2);
	return XDP_PASS;
}

SEC("syscall")
int testmod_values(void *ctx)
{
	const u64 *v = bpf_this_cpu_ptr(&bpfkit_testmod_pcpu_u64);
	const struct bpfkit_testmod_point *p;

	sum = bpfkit_testmod_add(1000, 337);
	pcpu_u64 = *v;
	cpu = bpf_get_smp_processor_id();
	p = bpf_per_cpu_ptr(&bpfkit_testmod_pcpu_point, 0);
	if (p)
		cpu0_point_y = p->y;
	return 0;
}

SEC("tc")
int fou_encap(struct __sk_buff *skb)
{
	struct bpf_fou_encap encap = { .sport = 1, .dport = 2 };

	return bpf_skb_set_fou_encap(skb, &encap, 0);
}
