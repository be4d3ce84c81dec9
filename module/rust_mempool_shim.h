/* SPDX-License-Identifier: GPL-2.0 */
/*
 * C shim of rust_mempool: only what Rust cannot call directly -- macros
 * (kmem_cache_create, mempool_create, kmalloc, kmem_cache_alloc,
 * mempool_alloc, cond_resched), the pool
 * lock, the log rate limit and sysfs attributes. All logic, and the list of
 * files, lives in Rust.
 */
#ifndef RUST_MEMPOOL_SHIM_H
#define RUST_MEMPOOL_SHIM_H

#include <linux/types.h>

struct kmem_cache;
struct mempool;

struct kmem_cache *rmp_cache_create(const char *name, unsigned int size);
struct mempool *rmp_pool_create(int min_nr, struct kmem_cache *cache);
int rmp_pool_curr_nr(struct mempool *pool);
int rmp_pool_min_nr(struct mempool *pool);
void *rmp_kmalloc(size_t size, gfp_t flags);
void *rmp_cache_alloc(struct kmem_cache *cache, gfp_t flags);
void *rmp_pool_alloc(struct mempool *pool, gfp_t flags);
void rmp_cond_resched(void);
/* Whether a line a control-file write causes may be logged: at most 10 per 5 s. */
bool rmp_write_log_allowed(void);

/* KMALLOC_MAX_CACHE_SIZE: above it kmalloc() takes whole pages. */
size_t rmp_kmalloc_max_cache_size(void);

/* One file of the sysfs directory, as Rust lists them. */
struct rmp_file {
	const char *name;
	umode_t mode;
};

/*
 * sysfs: /sys/kernel/<name>/ with @count files (the table is copied, the names
 * must stay valid); show/store land in Rust with the file's index in @files.
 */
void *rmp_sysfs_create(const char *name, void *ctx, const struct rmp_file *files,
		       unsigned int count);
void rmp_sysfs_destroy(void *handle);

/* Implemented in Rust. */
ssize_t rust_mempool_show(void *ctx, unsigned int index, char *buf);
ssize_t rust_mempool_store(void *ctx, unsigned int index, const char *buf, size_t len);

#endif
