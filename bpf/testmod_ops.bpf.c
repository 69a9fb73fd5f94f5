// SPDX-License-Identifier: GPL-2.0
/*
 * A BPF implementation of the bpfkit_testmod module's struct_ops type
 * (struct bpfkit_testmod_ops, see testmod/README.md).
 *
 * Exercises, against the module BTF of bpfkit_testmod:
 *   - struct_ops of a module-defined type (.struct_ops.link map),
 *   - module kfunc calls (scalar, pointer-to-stack struct, trusted
 *     PTR_TO_BTF_ID argument, acquire/release),
 *   - CO-RE field relocations (incl. bitfields and an anonymous union)
 *     against a module-only struct,
 *   - typed __ksym per-cpu variables defined by a module.
 *
 * Expected behaviour (module loaded, this object registered):
 *   echo "A B" > /sys/kernel/bpfkit_testmod/trigger
 *     result   = A + B + 100 + A * B      (e.g. "6 7" -> 155)
 *     recorded = "<n> <result>"           (note() calls bpfkit_testmod_record)
 *   echo 1 > /sys/kernel/bpfkit_testmod/inspect
 *     inspect_result = 100000131391       (sum of bpfkit_testmod_point_global)
 *     or a small error code 1..6 telling which check failed.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

/* Module types: local definitions, relocated by CO-RE against module BTF. */
struct bpfkit_testmod_point {
	s32 x;
	s64 y;
	u8 tag;
	u8 mode;
	u16 kind : 3;
	u16 flags : 5;
	u16 level : 8;
	union {
		u32 raw;
		struct {
			u16 lo;
			u16 hi;
		} half;
	};
	u32 hist[4];
	char label[8];
} __attribute__((preserve_access_index));

struct bpfkit_testmod_obj {
	u64 tag;
	u32 slot;
	u32 magic;
} __attribute__((preserve_access_index));

struct bpfkit_testmod_ops {
	int (*compute)(int a, int b);
	void (*note)(u64 v);
	u64 (*inspect)(const struct bpfkit_testmod_point *p);
	char name[16];
};

#define BPFKIT_TESTMOD_OBJ_MAGIC 0xb9f0b1ec

/* Module kfuncs. */
extern u64 bpfkit_testmod_add(u64 a, u64 b) __ksym;
extern u64 bpfkit_testmod_point_sum(const struct bpfkit_testmod_point *p) __ksym;
extern void bpfkit_testmod_record(u64 v) __ksym;
extern struct bpfkit_testmod_obj *bpfkit_testmod_obj_acquire(u64 tag) __ksym;
extern void bpfkit_testmod_obj_release(struct bpfkit_testmod_obj *obj) __ksym;

/* Module per-cpu variables (typed ksyms). */
extern const struct bpfkit_testmod_point bpfkit_testmod_pcpu_point __ksym;
extern const u64 bpfkit_testmod_pcpu_u64 __ksym;

char LICENSE[] SEC("license") = "GPL";

SEC("struct_ops/compute")
int BPF_PROG(bpfkit_compute, int a, int b)
{
	struct bpfkit_testmod_point p;

	__builtin_memset(&p, 0, sizeof(p));
	p.x = a;
	p.y = b;
	p.hist[3] = 100;

	/* point_sum(&p) = a + b + 100, passed as a pointer to BPF stack */
	return (int)bpfkit_testmod_add(bpfkit_testmod_point_sum(&p),
				       (u64)(s64)(a * b));
}

SEC("struct_ops/note")
void BPF_PROG(bpfkit_note, u64 v)
{
	bpfkit_testmod_record(v);
}

SEC("struct_ops/inspect")
u64 BPF_PROG(bpfkit_inspect, const struct bpfkit_testmod_point *pt)
{
	const struct bpfkit_testmod_point *pc;
	struct bpfkit_testmod_obj *obj;
	const u64 *pv;
	u64 sum, ksum, otag;
	u32 magic, cpu;
	int i;

	/* CO-RE reads straight from the trusted pointer */
	sum = (u64)(s64)pt->x + (u64)pt->y + pt->tag + pt->mode;
	sum += BPF_CORE_READ_BITFIELD(pt, kind);
	sum += BPF_CORE_READ_BITFIELD(pt, flags);
	sum += BPF_CORE_READ_BITFIELD(pt, level);
	sum += pt->raw;
	for (i = 0; i < 4; i++)
		sum += pt->hist[i];
	if (pt->half.lo != 1 || pt->half.hi != 2)
		return 1;

	/* the same pointer handed to a kfunc as a trusted PTR_TO_BTF_ID */
	ksum = bpfkit_testmod_point_sum(pt);
	if (ksum != sum)
		return 2;

	/* acquire/release */
	obj = bpfkit_testmod_obj_acquire(sum);
	if (!obj)
		return 3;
	otag = obj->tag;
	magic = obj->magic;
	bpfkit_testmod_obj_release(obj);
	if (otag != sum || magic != BPFKIT_TESTMOD_OBJ_MAGIC)
		return 4;

	/* module per-cpu variables */
	cpu = bpf_get_smp_processor_id();
	pv = bpf_this_cpu_ptr(&bpfkit_testmod_pcpu_u64);
	if (*pv != 0xb0f0000000ULL + cpu)
		return 5;
	pc = bpf_this_cpu_ptr(&bpfkit_testmod_pcpu_point);
	if (pc->x != (s32)cpu || pc->y != 1000000LL + cpu ||
	    BPF_CORE_READ_BITFIELD(pc, level) != 0x7f)
		return 6;

	return sum;
}

SEC(".struct_ops.link")
struct bpfkit_testmod_ops bpfkit_ops = {
	.compute = (void *)bpfkit_compute,
	.note = (void *)bpfkit_note,
	.inspect = (void *)bpfkit_inspect,
	.name = "bpfkit_bpf",
};
