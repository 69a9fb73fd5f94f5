// SPDX-License-Identifier: GPL-2.0
/*
 * bpfkit_testmod - test kernel module for the bpfkit eBPF loader.
 *
 * Provides, through its module BTF:
 *   - module-only types for CO-RE tests (struct bpfkit_testmod_point, ...),
 *   - per-cpu variables for typed-ksym tests,
 *   - kfuncs (scalar, pointer-to-struct, acquire/release),
 *   - a module-defined struct_ops type (struct bpfkit_testmod_ops),
 * and sysfs files under /sys/kernel/bpfkit_testmod/ to drive the
 * struct_ops callbacks and observe kfunc side effects.  See README.md.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/bitops.h>
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/kobject.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#include "bpfkit_testmod.h"

/* ------------------------------------------------------------------ */
/* Variables                                                           */
/* ------------------------------------------------------------------ */

DEFINE_PER_CPU(struct bpfkit_testmod_point, bpfkit_testmod_pcpu_point);
DEFINE_PER_CPU(u64, bpfkit_testmod_pcpu_u64);

struct bpfkit_testmod_point bpfkit_testmod_point_global = {
	.x = -7,
	.y = 100000000000LL,
	.tag = 0x5a,
	.mode = 3,
	.kind = 5,
	.flags = 17,
	.level = 200,
	.half = { .lo = 1, .hi = 2 },
	.hist = { 1, 2, 3, 4 },
	.label = "bpfkit",
};

static void bpfkit_testmod_init_percpu(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct bpfkit_testmod_point *p =
			per_cpu_ptr(&bpfkit_testmod_pcpu_point, cpu);
		int i;

		memset(p, 0, sizeof(*p));
		p->x = cpu;
		p->y = 1000000LL + cpu;
		p->tag = (u8)(0xc0 + cpu);
		p->mode = 1;
		p->kind = cpu & 7;
		p->flags = 3;
		p->level = 0x7f;
		p->raw = 0xdead0000u | (u32)(cpu & 0xffff);
		for (i = 0; i < ARRAY_SIZE(p->hist); i++)
			p->hist[i] = cpu + i;
		strscpy(p->label, "pcpu", sizeof(p->label));

		*per_cpu_ptr(&bpfkit_testmod_pcpu_u64, cpu) =
			0xb0f0000000ULL + cpu;
	}
}

/* Observable side effects of the kfuncs. */
static atomic64_t bpfkit_recorded_last = ATOMIC64_INIT(0);
static atomic64_t bpfkit_recorded_count = ATOMIC64_INIT(0);

/* Fixed object pool for the acquire/release pair (usable in any context). */
static struct bpfkit_testmod_obj bpfkit_objs[BPFKIT_TESTMOD_NR_OBJS];
static unsigned long bpfkit_objs_used;
static atomic_t bpfkit_objs_live = ATOMIC_INIT(0);
static atomic64_t bpfkit_objs_total = ATOMIC64_INIT(0);

/* ------------------------------------------------------------------ */
/* kfuncs                                                              */
/* ------------------------------------------------------------------ */

__bpf_kfunc_start_defs();

/* Scalars only. */
__bpf_kfunc u64 bpfkit_testmod_add(u64 a, u64 b)
{
	return a + b;
}

/*
 * Pointer to a struct of scalars: the verifier accepts a pointer to
 * initialized memory of sizeof(struct bpfkit_testmod_point) bytes (e.g. a
 * struct on the BPF stack) or a trusted PTR_TO_BTF_ID of this type (e.g.
 * the argument of the ->inspect struct_ops callback).
 */
__bpf_kfunc u64 bpfkit_testmod_point_sum(const struct bpfkit_testmod_point *p)
{
	u64 sum;
	int i;

	sum = (u64)(s64)p->x + (u64)p->y + p->tag + p->mode + p->kind +
	      p->flags + p->level + p->raw;
	for (i = 0; i < ARRAY_SIZE(p->hist); i++)
		sum += p->hist[i];
	return sum;
}

/* Side effect visible in /sys/kernel/bpfkit_testmod/recorded. */
__bpf_kfunc void bpfkit_testmod_record(u64 v)
{
	atomic64_set(&bpfkit_recorded_last, v);
	atomic64_inc(&bpfkit_recorded_count);
}

/* Acquire: returns a referenced object or NULL when the pool is empty. */
__bpf_kfunc struct bpfkit_testmod_obj *bpfkit_testmod_obj_acquire(u64 tag)
{
	int i;

	for (i = 0; i < BPFKIT_TESTMOD_NR_OBJS; i++) {
		struct bpfkit_testmod_obj *obj = &bpfkit_objs[i];

		if (test_and_set_bit(i, &bpfkit_objs_used))
			continue;
		WRITE_ONCE(obj->tag, tag);
		WRITE_ONCE(obj->slot, i);
		WRITE_ONCE(obj->magic, BPFKIT_TESTMOD_OBJ_MAGIC);
		atomic_inc(&bpfkit_objs_live);
		atomic64_inc(&bpfkit_objs_total);
		return obj;
	}
	return NULL;
}

/* Release: gives the object back to the pool. */
__bpf_kfunc void bpfkit_testmod_obj_release(struct bpfkit_testmod_obj *obj)
{
	unsigned long slot;

	if (!obj)
		return;
	slot = obj - bpfkit_objs;
	if (WARN_ON_ONCE(slot >= BPFKIT_TESTMOD_NR_OBJS))
		return;
	WRITE_ONCE(obj->magic, 0);
	atomic_dec(&bpfkit_objs_live);
	clear_bit(slot, &bpfkit_objs_used);
}

__bpf_kfunc_end_defs();

BTF_KFUNCS_START(bpfkit_testmod_kfunc_ids)
BTF_ID_FLAGS(func, bpfkit_testmod_add)
BTF_ID_FLAGS(func, bpfkit_testmod_point_sum)
BTF_ID_FLAGS(func, bpfkit_testmod_record)
BTF_ID_FLAGS(func, bpfkit_testmod_obj_acquire, KF_ACQUIRE | KF_RET_NULL)
BTF_ID_FLAGS(func, bpfkit_testmod_obj_release, KF_RELEASE)
BTF_KFUNCS_END(bpfkit_testmod_kfunc_ids)

static const struct btf_kfunc_id_set bpfkit_testmod_kfunc_set = {
	.owner = THIS_MODULE,
	.set = &bpfkit_testmod_kfunc_ids,
};

/* ------------------------------------------------------------------ */
/* struct_ops                                                          */
/* ------------------------------------------------------------------ */

/*
 * The active ops.  Registration, unregistration and every call into the
 * ops happen with bpfkit_ops_mutex held, so callbacks may be sleepable
 * programs and unreg cannot complete while a callback is running.
 */
static DEFINE_MUTEX(bpfkit_ops_mutex);
static struct bpfkit_testmod_ops *bpfkit_active_ops;
static u64 bpfkit_registrations;

static int bpfkit_last_result;
static bool bpfkit_have_result;
static u64 bpfkit_last_inspect;
static bool bpfkit_have_inspect;

/* CFI stubs; their names (<type>__<member>) are what the kernel looks up. */
static int bpfkit_testmod_ops__compute(int a, int b)
{
	return 0;
}

static void bpfkit_testmod_ops__note(u64 v)
{
}

static u64 bpfkit_testmod_ops__inspect(const struct bpfkit_testmod_point *p)
{
	return 0;
}

static struct bpfkit_testmod_ops bpfkit_testmod_ops_stubs = {
	.compute = bpfkit_testmod_ops__compute,
	.note = bpfkit_testmod_ops__note,
	.inspect = bpfkit_testmod_ops__inspect,
};

static bool bpfkit_ops_is_valid_access(int off, int size,
				       enum bpf_access_type type,
				       const struct bpf_prog *prog,
				       struct bpf_insn_access_aux *info)
{
	return bpf_tracing_btf_ctx_access(off, size, type, prog, info);
}

static const struct bpf_verifier_ops bpfkit_ops_verifier_ops = {
	.get_func_proto = bpf_base_func_proto,
	.is_valid_access = bpfkit_ops_is_valid_access,
};

static int bpfkit_ops_init(struct btf *btf)
{
	return 0;
}

static int bpfkit_ops_init_member(const struct btf_type *t,
				  const struct btf_member *member,
				  void *kdata, const void *udata)
{
	const struct bpfkit_testmod_ops *uops = udata;
	struct bpfkit_testmod_ops *kops = kdata;
	u32 moff = __btf_member_bit_offset(t, member) / 8;

	if (moff == offsetof(struct bpfkit_testmod_ops, name)) {
		if (strnlen(uops->name, sizeof(uops->name)) >=
		    sizeof(uops->name))
			return -EINVAL;
		memcpy(kops->name, uops->name, sizeof(kops->name));
		return 1;
	}
	/* function pointers: let the struct_ops core handle them */
	return 0;
}

static int bpfkit_ops_validate(void *kdata)
{
	const struct bpfkit_testmod_ops *ops = kdata;

	return ops->compute ? 0 : -EINVAL;
}

static int bpfkit_ops_reg(void *kdata, struct bpf_link *link)
{
	int err = 0;

	if (bpfkit_ops_validate(kdata))
		return -EINVAL;

	mutex_lock(&bpfkit_ops_mutex);
	if (bpfkit_active_ops) {
		err = -EEXIST;
	} else {
		bpfkit_active_ops = kdata;
		bpfkit_registrations++;
	}
	mutex_unlock(&bpfkit_ops_mutex);
	return err;
}

static void bpfkit_ops_unreg(void *kdata, struct bpf_link *link)
{
	mutex_lock(&bpfkit_ops_mutex);
	if (bpfkit_active_ops == kdata)
		bpfkit_active_ops = NULL;
	mutex_unlock(&bpfkit_ops_mutex);
}

static int bpfkit_ops_update(void *kdata, void *old_kdata,
			     struct bpf_link *link)
{
	int err = 0;

	if (bpfkit_ops_validate(kdata))
		return -EINVAL;

	mutex_lock(&bpfkit_ops_mutex);
	if (bpfkit_active_ops != old_kdata) {
		err = -ENOENT;
	} else {
		bpfkit_active_ops = kdata;
		bpfkit_registrations++;
	}
	mutex_unlock(&bpfkit_ops_mutex);
	return err;
}

static struct bpf_struct_ops bpfkit_testmod_struct_ops = {
	.verifier_ops = &bpfkit_ops_verifier_ops,
	.init = bpfkit_ops_init,
	.init_member = bpfkit_ops_init_member,
	.reg = bpfkit_ops_reg,
	.unreg = bpfkit_ops_unreg,
	.update = bpfkit_ops_update,
	.validate = bpfkit_ops_validate,
	.cfi_stubs = &bpfkit_testmod_ops_stubs,
	.name = "bpfkit_testmod_ops",
	.owner = THIS_MODULE,
};

/* ------------------------------------------------------------------ */
/* sysfs: /sys/kernel/bpfkit_testmod/                                  */
/* ------------------------------------------------------------------ */

static struct kobject *bpfkit_kobj;

/* trigger (write "A" or "A B"): result = ops->compute(A, B); ops->note(result) */
static ssize_t trigger_store(struct kobject *kobj, struct kobj_attribute *attr,
			     const char *buf, size_t count)
{
	struct bpfkit_testmod_ops *ops;
	int a, b = 0, n, err, res;

	n = sscanf(buf, "%d %d", &a, &b);
	if (n < 1)
		return -EINVAL;

	err = mutex_lock_interruptible(&bpfkit_ops_mutex);
	if (err)
		return err;
	ops = bpfkit_active_ops;
	if (!ops) {
		err = -ENOENT;
		goto out;
	}
	if (!ops->compute) {
		err = -EOPNOTSUPP;
		goto out;
	}
	res = ops->compute(a, b);
	bpfkit_last_result = res;
	bpfkit_have_result = true;
	if (ops->note)
		ops->note((u64)(s64)res);
out:
	mutex_unlock(&bpfkit_ops_mutex);
	return err ? err : count;
}

static ssize_t result_show(struct kobject *kobj, struct kobj_attribute *attr,
			   char *buf)
{
	ssize_t ret;

	mutex_lock(&bpfkit_ops_mutex);
	if (bpfkit_have_result)
		ret = sysfs_emit(buf, "%d\n", bpfkit_last_result);
	else
		ret = -ENODATA;
	mutex_unlock(&bpfkit_ops_mutex);
	return ret;
}

/* inspect (write anything): inspect_result = ops->inspect(&point_global) */
static ssize_t inspect_store(struct kobject *kobj, struct kobj_attribute *attr,
			     const char *buf, size_t count)
{
	struct bpfkit_testmod_ops *ops;
	int err;

	err = mutex_lock_interruptible(&bpfkit_ops_mutex);
	if (err)
		return err;
	ops = bpfkit_active_ops;
	if (!ops) {
		err = -ENOENT;
		goto out;
	}
	if (!ops->inspect) {
		err = -EOPNOTSUPP;
		goto out;
	}
	bpfkit_last_inspect = ops->inspect(&bpfkit_testmod_point_global);
	bpfkit_have_inspect = true;
out:
	mutex_unlock(&bpfkit_ops_mutex);
	return err ? err : count;
}

static ssize_t inspect_result_show(struct kobject *kobj,
				   struct kobj_attribute *attr, char *buf)
{
	ssize_t ret;

	mutex_lock(&bpfkit_ops_mutex);
	if (bpfkit_have_inspect)
		ret = sysfs_emit(buf, "%llu\n", bpfkit_last_inspect);
	else
		ret = -ENODATA;
	mutex_unlock(&bpfkit_ops_mutex);
	return ret;
}

/* active: "0" when nothing is registered, else "1 <name>" */
static ssize_t active_show(struct kobject *kobj, struct kobj_attribute *attr,
			   char *buf)
{
	ssize_t ret;

	mutex_lock(&bpfkit_ops_mutex);
	if (bpfkit_active_ops)
		ret = sysfs_emit(buf, "1 %s\n", bpfkit_active_ops->name);
	else
		ret = sysfs_emit(buf, "0\n");
	mutex_unlock(&bpfkit_ops_mutex);
	return ret;
}

static ssize_t registrations_show(struct kobject *kobj,
				  struct kobj_attribute *attr, char *buf)
{
	ssize_t ret;

	mutex_lock(&bpfkit_ops_mutex);
	ret = sysfs_emit(buf, "%llu\n", bpfkit_registrations);
	mutex_unlock(&bpfkit_ops_mutex);
	return ret;
}

/* recorded: "<count> <last value>" of bpfkit_testmod_record() calls */
static ssize_t recorded_show(struct kobject *kobj, struct kobj_attribute *attr,
			     char *buf)
{
	return sysfs_emit(buf, "%lld %llu\n",
			  (long long)atomic64_read(&bpfkit_recorded_count),
			  (u64)atomic64_read(&bpfkit_recorded_last));
}

/* objs: "<live> <total acquired>" for the acquire/release pair */
static ssize_t objs_show(struct kobject *kobj, struct kobj_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%d %lld\n", atomic_read(&bpfkit_objs_live),
			  (long long)atomic64_read(&bpfkit_objs_total));
}

static struct kobj_attribute trigger_attr = __ATTR_WO(trigger);
static struct kobj_attribute result_attr = __ATTR_RO(result);
static struct kobj_attribute inspect_attr = __ATTR_WO(inspect);
static struct kobj_attribute inspect_result_attr = __ATTR_RO(inspect_result);
static struct kobj_attribute active_attr = __ATTR_RO(active);
static struct kobj_attribute registrations_attr = __ATTR_RO(registrations);
static struct kobj_attribute recorded_attr = __ATTR_RO(recorded);
static struct kobj_attribute objs_attr = __ATTR_RO(objs);

static struct attribute *bpfkit_attrs[] = {
	&trigger_attr.attr,
	&result_attr.attr,
	&inspect_attr.attr,
	&inspect_result_attr.attr,
	&active_attr.attr,
	&registrations_attr.attr,
	&recorded_attr.attr,
	&objs_attr.attr,
	NULL,
};

static const struct attribute_group bpfkit_attr_group = {
	.attrs = bpfkit_attrs,
};

/* ------------------------------------------------------------------ */
/* module init/exit                                                    */
/* ------------------------------------------------------------------ */

static int __init bpfkit_testmod_init(void)
{
	int err;

	bpfkit_testmod_init_percpu();

	err = register_btf_kfunc_id_set(BPF_PROG_TYPE_UNSPEC,
					&bpfkit_testmod_kfunc_set);
	if (err) {
		pr_err("register_btf_kfunc_id_set failed: %d\n", err);
		return err;
	}

	err = register_bpf_struct_ops(&bpfkit_testmod_struct_ops,
				      bpfkit_testmod_ops);
	if (err) {
		pr_err("register_bpf_struct_ops failed: %d\n", err);
		return err;
	}

	bpfkit_kobj = kobject_create_and_add("bpfkit_testmod", kernel_kobj);
	if (!bpfkit_kobj)
		return -ENOMEM;
	err = sysfs_create_group(bpfkit_kobj, &bpfkit_attr_group);
	if (err) {
		kobject_put(bpfkit_kobj);
		bpfkit_kobj = NULL;
		return err;
	}

	pr_info("loaded\n");
	return 0;
}

static void __exit bpfkit_testmod_exit(void)
{
	/*
	 * A registered struct_ops map holds a reference on this module, so
	 * nothing can be active here; the kfunc set and the struct_ops type
	 * go away together with the module BTF.
	 */
	WARN_ON_ONCE(READ_ONCE(bpfkit_active_ops));
	sysfs_remove_group(bpfkit_kobj, &bpfkit_attr_group);
	kobject_put(bpfkit_kobj);
	pr_info("unloaded\n");
}

module_init(bpfkit_testmod_init);
module_exit(bpfkit_testmod_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("bpfkit developers");
MODULE_DESCRIPTION("bpfkit test module: module BTF types, per-cpu vars, kfuncs, struct_ops");
