// SPDX-License-Identifier: GPL-2.0
/*
 * C shim of rust_mempool; see rust_mempool_shim.h for why it exists.
 */
#include <linux/kobject.h>
#include <linux/mempool.h>
#include <linux/ratelimit.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/sysfs.h>

#include "rust_mempool_shim.h"

struct kmem_cache *rmp_cache_create(const char *name, unsigned int size)
{
	/*
	 * SLAB_NO_MERGE: otherwise a same-sized cache absorbs ours and its sysfs
	 * figures and failslab switch are no longer the module's own.
	 */
	return kmem_cache_create(name, size, 0, SLAB_HWCACHE_ALIGN | SLAB_NO_MERGE, NULL);
}

struct mempool *rmp_pool_create(int min_nr, struct kmem_cache *cache)
{
	return mempool_create(min_nr, mempool_alloc_slab, mempool_free_slab, cache);
}

int rmp_pool_curr_nr(struct mempool *pool)
{
	unsigned long flags;
	int nr;

	spin_lock_irqsave(&pool->lock, flags);
	nr = pool->curr_nr;
	spin_unlock_irqrestore(&pool->lock, flags);
	return nr;
}

int rmp_pool_min_nr(struct mempool *pool)
{
	unsigned long flags;
	int nr;

	spin_lock_irqsave(&pool->lock, flags);
	nr = pool->min_nr;
	spin_unlock_irqrestore(&pool->lock, flags);
	return nr;
}

void *rmp_kmalloc(size_t size, gfp_t flags)
{
	return kmalloc(size, flags);
}

/*
 * The allocation macros (kmem_cache_alloc, mempool_alloc) wrap the _noprof
 * functions in alloc_hooks(): called from here, /proc/allocinfo accounts the
 * Rust module's allocations at this file, as it does the C twin's at its own.
 */
void *rmp_cache_alloc(struct kmem_cache *cache, gfp_t flags)
{
	return kmem_cache_alloc(cache, flags);
}

void *rmp_pool_alloc(struct mempool *pool, gfp_t flags)
{
	return mempool_alloc(pool, flags);
}

void rmp_cond_resched(void)
{
	cond_resched();
}

/* Any writer of a control file must not be able to flood the kernel log. */
static DEFINE_RATELIMIT_STATE(rmp_refusals, 5 * HZ, 10);

bool rmp_refusal_log_allowed(void)
{
	return __ratelimit(&rmp_refusals);
}

struct rmp_sysfs {
	struct kobject *kobj;
	void *ctx;
};

/* The module creates exactly one directory; the callbacks find its context here. */
static struct rmp_sysfs rmp_sysfs_instance;

static ssize_t rmp_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	return rust_mempool_show(rmp_sysfs_instance.ctx, attr->attr.name, buf);
}

static ssize_t rmp_store(struct kobject *kobj, struct kobj_attribute *attr, const char *buf,
			 size_t len)
{
	return rust_mempool_store(rmp_sysfs_instance.ctx, attr->attr.name, buf, len);
}

#define RMP_RO(n) static struct kobj_attribute rmp_attr_##n = __ATTR(n, 0444, rmp_show, NULL)
#define RMP_WO(n) static struct kobj_attribute rmp_attr_##n = __ATTR(n, 0200, NULL, rmp_store)

RMP_RO(min_nr);
RMP_RO(curr_nr);
RMP_RO(object_size);
RMP_RO(cache_object_size);
RMP_RO(cache_name);
RMP_RO(in_use);
RMP_RO(alloc_total);
RMP_RO(free_total);
RMP_RO(alloc_failed);
RMP_RO(reserve_served);
RMP_RO(reserve_refilled);
RMP_RO(bench_result);
RMP_RO(bench_mempool_result);
RMP_WO(hold);
RMP_WO(release);
RMP_WO(resize);
RMP_WO(bench);
RMP_WO(bench_mempool);

static struct attribute *rmp_attrs[] = {
	&rmp_attr_min_nr.attr,
	&rmp_attr_curr_nr.attr,
	&rmp_attr_object_size.attr,
	&rmp_attr_cache_object_size.attr,
	&rmp_attr_cache_name.attr,
	&rmp_attr_in_use.attr,
	&rmp_attr_alloc_total.attr,
	&rmp_attr_free_total.attr,
	&rmp_attr_alloc_failed.attr,
	&rmp_attr_reserve_served.attr,
	&rmp_attr_reserve_refilled.attr,
	&rmp_attr_bench_result.attr,
	&rmp_attr_bench_mempool_result.attr,
	&rmp_attr_hold.attr,
	&rmp_attr_release.attr,
	&rmp_attr_resize.attr,
	&rmp_attr_bench.attr,
	&rmp_attr_bench_mempool.attr,
	NULL,
};

static const struct attribute_group rmp_group = {
	.attrs = rmp_attrs,
};

void *rmp_sysfs_create(const char *name, void *ctx)
{
	struct rmp_sysfs *s = &rmp_sysfs_instance;
	int err;

	if (s->kobj)
		return ERR_PTR(-EBUSY);
	s->ctx = ctx;
	s->kobj = kobject_create_and_add(name, kernel_kobj);
	if (!s->kobj)
		return ERR_PTR(-ENOMEM);
	err = sysfs_create_group(s->kobj, &rmp_group);
	if (err) {
		kobject_put(s->kobj);
		s->kobj = NULL;
		return ERR_PTR(err);
	}
	return s;
}

void rmp_sysfs_destroy(void *handle)
{
	struct rmp_sysfs *s = handle;

	/* Removal drains in-flight show/store calls: none runs after this returns. */
	sysfs_remove_group(s->kobj, &rmp_group);
	kobject_put(s->kobj);
	s->kobj = NULL;
	s->ctx = NULL;
}
