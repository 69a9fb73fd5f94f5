// SPDX-License-Identifier: GPL-2.0
/*
 * A struct_ops map with one program the verifier rejects, for the loader's
 * report of a struct_ops rejection: the verifier's reason must be told for
 * the program, not only that its map could not be created.
 *
 * Expected behaviour: bad_ops_cong_avoid (member cong_avoid of the
 * tcp_congestion_ops `bpfkit_bad_ops`) dereferences the result of a lookup in
 * `seen` (hash map) without checking it for NULL; the verifier rejects it
 * with the log line
 *   R0 invalid mem access 'map_value_or_null'
 * bad_ops_ssthresh and bad_ops_undo_cwnd are valid, but their map cannot be
 * created without cong_avoid, so they are not loaded either.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, u32);
	__type(value, u64);
} seen SEC(".maps");

SEC("struct_ops")
u32 BPF_PROG(bad_ops_ssthresh, struct sock *sk)
{
	return 2;
}

SEC("struct_ops")
void BPF_PROG(bad_ops_cong_avoid, struct sock *sk, u32 ack, u32 acked)
{
	u32 key = ack;
	u64 *count = bpf_map_lookup_elem(&seen, &key);

	*count += acked;
}

SEC("struct_ops")
u32 BPF_PROG(bad_ops_undo_cwnd, struct sock *sk)
{
	return 2;
}

SEC(".struct_ops.link")
struct tcp_congestion_ops bpfkit_bad_ops = {
	.ssthresh = (void *)bad_ops_ssthresh,
	.cong_avoid = (void *)bad_ops_cong_avoid,
	.undo_cwnd = (void *)bad_ops_undo_cwnd,
	.name = "bpfkit_bad_ops",
};
