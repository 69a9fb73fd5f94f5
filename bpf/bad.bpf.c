// SPDX-License-Identifier: GPL-2.0
/*
 * An object with one program the verifier rejects and one it accepts, for
 * the loader's error path: the error must name the rejected program and
 * carry the verifier's log, and with the rejected program's autoload off
 * the object must load with the other program alone.
 *
 * Expected behaviour (good_checked is the object's first program):
 *   bad_null_deref (tracepoint/syscalls/sys_enter_getpid) dereferences the
 *     result of a lookup in `by_tgid` (hash map) without checking it for
 *     NULL; the verifier rejects it with the log line
 *       R0 invalid mem access 'map_value_or_null'
 *     (a hash map: since Linux 6.14 the verifier knows that an array lookup
 *     with a constant in-range key cannot fail, so an array would pass);
 *   good_checked (tracepoint/syscalls/sys_enter_getppid) does its lookup in
 *     `values` (array map, 1 slot) with the NULL check and loads; attached,
 *     every getppid() adds 1 to values[0].
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, u32);
	__type(value, u64);
} by_tgid SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} values SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int good_checked(void *ctx)
{
	u32 zero = 0;
	u64 *value = bpf_map_lookup_elem(&values, &zero);

	if (value)
		__sync_fetch_and_add(value, 1);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getpid")
int bad_null_deref(void *ctx)
{
	u32 tgid = bpf_get_current_pid_tgid() >> 32;
	u64 *value = bpf_map_lookup_elem(&by_tgid, &tgid);

	/* Missing: if (!value) return 0; */
	*value += 1;
	return 0;
}
