/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bpfkit_testmod: types and symbols the bpfkit test kernel module exposes
 * through its BTF (/sys/kernel/btf/bpfkit_testmod).  See README.md.
 *
 * Kernel-side header only.  BPF programs must declare the module types
 * themselves (they are not in vmlinux.h), preferably with
 * __attribute__((preserve_access_index)) so CO-RE relocates field accesses
 * against the module BTF.
 */
#ifndef BPFKIT_TESTMOD_H
#define BPFKIT_TESTMOD_H

#include <linux/types.h>
#include <linux/percpu-defs.h>

/*
 * A module-only struct (not in vmlinux) for CO-RE tests: members of
 * several sizes, padding, bitfields, an anonymous union containing a
 * named struct, and arrays.  Contains scalars only, so a pointer to a
 * BPF-stack copy can be passed to bpfkit_testmod_point_sum().
 */
struct bpfkit_testmod_point {
	s32 x;			/* offset 0 */
	s64 y;			/* offset 8 (4 bytes of padding before) */
	u8 tag;			/* offset 16 */
	u8 mode;		/* offset 17 */
	u16 kind : 3;		/* bitfield, bits 144..146 (byte 18) */
	u16 flags : 5;		/* bitfield, bits 147..151 */
	u16 level : 8;		/* bitfield, bits 152..159 (byte 19) */
	union {			/* anonymous union, offset 20 */
		u32 raw;
		struct {
			u16 lo;
			u16 hi;
		} half;
	};
	u32 hist[4];		/* offset 24 */
	char label[8];		/* offset 40 */
};				/* size 48 */

/* Object handed out by the acquire/release kfunc pair. */
struct bpfkit_testmod_obj {
	u64 tag;		/* value passed to bpfkit_testmod_obj_acquire() */
	u32 slot;		/* index in the module's fixed pool */
	u32 magic;		/* always BPFKIT_TESTMOD_OBJ_MAGIC */
};

#define BPFKIT_TESTMOD_OBJ_MAGIC	0xb9f0b1ec
#define BPFKIT_TESTMOD_NR_OBJS		16

/* The module-defined struct_ops type. */
struct bpfkit_testmod_ops {
	/* required; called by a write to .../trigger */
	int (*compute)(int a, int b);
	/* optional; called with the result of compute() after each trigger */
	void (*note)(u64 v);
	/* optional; called by a write to .../inspect with a trusted pointer
	 * to bpfkit_testmod_point_global */
	u64 (*inspect)(const struct bpfkit_testmod_point *p);
	/* copied by init_member; shown in .../active */
	char name[16];
};

/* Per-cpu variables (VARs in the module BTF's .data..percpu DATASEC). */
DECLARE_PER_CPU(struct bpfkit_testmod_point, bpfkit_testmod_pcpu_point);
DECLARE_PER_CPU(u64, bpfkit_testmod_pcpu_u64);

/* The global point handed to ops->inspect(). */
extern struct bpfkit_testmod_point bpfkit_testmod_point_global;

/* kfuncs (registered for BPF_PROG_TYPE_UNSPEC, i.e. every program type) */
u64 bpfkit_testmod_add(u64 a, u64 b);
u64 bpfkit_testmod_point_sum(const struct bpfkit_testmod_point *p);
void bpfkit_testmod_record(u64 v);
struct bpfkit_testmod_obj *bpfkit_testmod_obj_acquire(u64 tag);
void bpfkit_testmod_obj_release(struct bpfkit_testmod_obj *obj);

#endif /* BPFKIT_TESTMOD_H */
