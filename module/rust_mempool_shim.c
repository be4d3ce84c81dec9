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

/*
 * Any writer of a control file must not be able to flood the kernel log:
 * every line a write causes (bad input, or a write that fails) goes through
 * this one limit, at most 10 lines per 5 s for all control files together.
 * Its "N callbacks suppressed" line names the module, as c_mempool's does.
 */
static DEFINE_RATELIMIT_STATE(rmp_write_log, 5 * HZ, 10);

bool rmp_write_log_allowed(void)
{
	return ___ratelimit(&rmp_write_log, KBUILD_MODNAME);
}

size_t rmp_kmalloc_max_cache_size(void)
{
	return KMALLOC_MAX_CACHE_SIZE;
}

/* A file of the directory; show/store hand @index (its place in Rust's table) to Rust. */
struct rmp_attr {
	struct kobj_attribute ka;
	unsigned int index;
};

struct rmp_sysfs {
	struct kobject *kobj;
	void *ctx;
	struct rmp_attr *files;
	struct attribute **attrs;	/* NULL-terminated, into @files */
	struct attribute_group group;
};

/* The module creates exactly one directory; the callbacks find its context here. */
static struct rmp_sysfs rmp_sysfs_instance;

static ssize_t rmp_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	struct rmp_attr *a = container_of(attr, struct rmp_attr, ka);

	return rust_mempool_show(rmp_sysfs_instance.ctx, a->index, buf);
}

static ssize_t rmp_store(struct kobject *kobj, struct kobj_attribute *attr, const char *buf,
			 size_t len)
{
	struct rmp_attr *a = container_of(attr, struct rmp_attr, ka);

	return rust_mempool_store(rmp_sysfs_instance.ctx, a->index, buf, len);
}

static void rmp_sysfs_free(struct rmp_sysfs *s)
{
	kfree(s->attrs);
	kfree(s->files);
	s->attrs = NULL;
	s->files = NULL;
	s->ctx = NULL;
}

void *rmp_sysfs_create(const char *name, void *ctx, const struct rmp_file *files,
		       unsigned int count)
{
	struct rmp_sysfs *s = &rmp_sysfs_instance;
	unsigned int i;
	int err;

	if (s->kobj)
		return ERR_PTR(-EBUSY);
	s->files = kcalloc(count, sizeof(*s->files), GFP_KERNEL);
	s->attrs = kcalloc(count + 1, sizeof(*s->attrs), GFP_KERNEL);
	if (!s->files || !s->attrs) {
		rmp_sysfs_free(s);
		return ERR_PTR(-ENOMEM);
	}
	for (i = 0; i < count; i++) {
		struct rmp_attr *a = &s->files[i];

		/* Attributes not in static storage need a lockdep key. */
		sysfs_attr_init(&a->ka.attr);
		a->ka.attr.name = files[i].name;
		a->ka.attr.mode = files[i].mode;
		a->ka.show = files[i].mode & 0444 ? rmp_show : NULL;
		a->ka.store = files[i].mode & 0222 ? rmp_store : NULL;
		a->index = i;
		s->attrs[i] = &a->ka.attr;
	}
	s->group.attrs = s->attrs;
	s->ctx = ctx;
	s->kobj = kobject_create_and_add(name, kernel_kobj);
	if (!s->kobj) {
		rmp_sysfs_free(s);
		return ERR_PTR(-ENOMEM);
	}
	err = sysfs_create_group(s->kobj, &s->group);
	if (err) {
		kobject_put(s->kobj);
		s->kobj = NULL;
		rmp_sysfs_free(s);
		return ERR_PTR(err);
	}
	return s;
}

void rmp_sysfs_destroy(void *handle)
{
	struct rmp_sysfs *s = handle;

	/* Removal drains in-flight show/store calls: none runs after this returns. */
	sysfs_remove_group(s->kobj, &s->group);
	kobject_put(s->kobj);
	s->kobj = NULL;
	rmp_sysfs_free(s);
}
