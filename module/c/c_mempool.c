// SPDX-License-Identifier: GPL-2.0
/*
 * c_mempool: a slab cache with a mempool on it, live stats and controls in sysfs.
 *
 * The C twin of rust_mempool (module/rust_mempool_main.rs): the same
 * parameters, limits (c_mempool_limits.h mirrors module/limits.rs), log lines
 * and sysfs ABI (module/Documentation/ABI/testing/sysfs-kernel-rust_mempool), under
 * its own names so both modules can be loaded at once: module, slab cache and
 * /sys/kernel/ directory are all "c_mempool".
 *
 * At its heart is the classic C example: kmem_cache_create(), mempool_create()
 * with mempool_alloc_slab/mempool_free_slab, printk of kmem_cache_size() and
 * min_nr, and mempool_destroy() then kmem_cache_destroy() on exit.
 *
 * The point of a mempool: min_nr elements stay reserved, so allocations still
 * succeed while the slab allocator fails. /sys/kernel/c_mempool/ shows it live.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/kobject.h>
#include <linux/ktime.h>
#include <linux/lockdep.h>
#include <linux/math64.h>
#include <linux/mempool.h>
#include <linux/minmax.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/ratelimit.h>
#include <linux/overflow.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/stringify.h>
#include <linux/sysfs.h>

#include "c_mempool_limits.h"

/* Name of the slab cache, also its /sys/kernel/slab/ directory. */
#define CACHE_NAME "c_mempool"
/* Name of the sysfs directory under /sys/kernel/. */
#define SYSFS_NAME "c_mempool"

/* Set once at load; perm 0 as in rust_mempool: published via sysfs below. */
static unsigned int min_nr = MEMPOOL_MIN_NR_DEFAULT;
module_param(min_nr, uint, 0);
MODULE_PARM_DESC(min_nr, "Elements the mempool keeps in reserve ("
		 __stringify(MEMPOOL_MIN_NR_MIN) "..=" __stringify(MEMPOOL_MIN_NR_MAX) ")");

static unsigned int object_size = MEMPOOL_OBJECT_SIZE_DEFAULT;
/*
 * Not module_param(): its type check defines __check_object_size(), which
 * collides with hardened usercopy's function of that name
 * (CONFIG_HARDENED_USERCOPY=y, as in Debian's kernels).
 */
module_param_cb(object_size, &param_ops_uint, &object_size, 0);
__MODULE_PARM_TYPE(object_size, "uint");
MODULE_PARM_DESC(object_size, "Slab object size in bytes ("
		 __stringify(MEMPOOL_OBJECT_SIZE_MIN) "..="
		 __stringify(MEMPOOL_OBJECT_SIZE_MAX) ")");

/*
 * Keeping the cache unmerged is our one addition to the classic example:
 * merged into an existing same-sized cache, /sys/kernel/slab/c_mempool becomes
 * a symlink to a shared :A-0010240 directory whose figures are not ours, and
 * its per-cache failslab switch refuses (-EINVAL), so the mempool guarantee
 * cannot be shown. SLAB_NO_MERGE says so since 6.5. Before it (Debian 12's
 * 6.1 kernel) SLAB_NOLEAKTRACE is the one flag that keeps a cache apart
 * without debugging costs, at the price that kmemleak does not track the
 * elements; slub still reports any left at kmem_cache_destroy(). Never a
 * constructor: mempool_alloc_slab() BUGs on a cache with one (CONFIG_DEBUG_VM).
 */
#ifdef SLAB_NO_MERGE
#define C_MEMPOOL_NO_MERGE SLAB_NO_MERGE
#else
#define C_MEMPOOL_NO_MERGE SLAB_NOLEAKTRACE
#endif

enum c_mempool_contender {
	BENCH_MEMPOOL,
	BENCH_CACHE,
	BENCH_KMALLOC,
	BENCH_CONTENDERS
};

/* A contender's figures over a run's chunks, ns per pair; 0 until a run succeeds. */
struct c_mempool_figures {
	u64 min_ns;
	u64 median_ns;
};

/* The last successful run of bench (bench_mempool: the mempool's figures alone). */
struct c_mempool_bench {
	unsigned int pairs;	/* 0 before the first */
	struct c_mempool_figures fig[BENCH_CONTENDERS];
	u64 clock_step_ns;	/* what the run was checked against (logged only) */
};

/*
 * Everything the module owns. @lock plays the part of rust_mempool's
 * Mutex<Inner>: every sysfs show and store runs under it, so the counters are
 * consistent with each other and reserve_served/reserve_refilled are exact
 * (only this module allocates from its pool, always under @lock).
 * Invariant: alloc_total - free_total == held_len.
 */
struct c_mempool {
	struct mutex lock;	/* guards all but @kobj; held by every show/store */
	struct kmem_cache *cache;
	mempool_t *pool;
	unsigned int object_size;
	void **held;		/* elements taken by hold, held_cap slots */
	size_t held_len;
	size_t held_cap;
	u64 alloc_total;
	u64 free_total;
	u64 alloc_failed;
	u64 reserve_served;
	u64 reserve_refilled;
	struct c_mempool_bench bench;
	struct c_mempool_bench bench_mempool_only;
	struct kobject *kobj;	/* /sys/kernel/c_mempool, not under @lock */
};

static struct c_mempool c_mempool = {
	.lock = __MUTEX_INITIALIZER(c_mempool.lock),
};

/*
 * Any writer of a control file must not be able to flood the kernel log:
 * every line a write causes (bad input, or a write that fails) goes through
 * this one limit, at most 10 lines per 5 s for all control files together.
 * Its "N callbacks suppressed" line names the module, as rust_mempool's does.
 */
static DEFINE_RATELIMIT_STATE(c_mempool_write_log, 5 * HZ, 10);

static bool c_mempool_write_log_allowed(void)
{
	return ___ratelimit(&c_mempool_write_log, KBUILD_MODNAME);
}

/*
 * The reserve (min_nr * object_size) must stay within MEMPOOL_RESERVE_BYTES_MAX.
 * A refusal is logged always at load, within the write limit for a control
 * file's writer (@from_write), so it cannot flood the log.
 */
static int c_mempool_check_reserve(unsigned int nr, unsigned int size, bool from_write)
{
	u64 bytes = (u64)nr * size;

	if (bytes > MEMPOOL_RESERVE_BYTES_MAX) {
		if (!from_write || c_mempool_write_log_allowed())
			pr_err("invalid min_nr=%u with object_size=%u: reserve of %llu bytes exceeds %llu\n",
			       nr, size, bytes, (u64)MEMPOOL_RESERVE_BYTES_MAX);
		return -EINVAL;
	}
	return 0;
}

/* Checks the load parameters; logs the offending one with its allowed range. */
static int c_mempool_validate_params(unsigned int nr, unsigned int size)
{
	if (nr < MEMPOOL_MIN_NR_MIN || nr > MEMPOOL_MIN_NR_MAX) {
		pr_err("invalid min_nr=%u: allowed range is %u..=%u\n",
		       nr, MEMPOOL_MIN_NR_MIN, MEMPOOL_MIN_NR_MAX);
		return -EINVAL;
	}
	if (size < MEMPOOL_OBJECT_SIZE_MIN || size > MEMPOOL_OBJECT_SIZE_MAX) {
		pr_err("invalid object_size=%u: allowed range is %u..=%u bytes\n",
		       size, MEMPOOL_OBJECT_SIZE_MIN, MEMPOOL_OBJECT_SIZE_MAX);
		return -EINVAL;
	}
	return c_mempool_check_reserve(nr, size, false);
}

/* Elements in the reserve now; pool->lock guards curr_nr and min_nr. */
static int c_mempool_curr_nr(mempool_t *pool)
{
	unsigned long flags;
	int nr;

	spin_lock_irqsave(&pool->lock, flags);
	nr = pool->curr_nr;
	spin_unlock_irqrestore(&pool->lock, flags);
	return nr;
}

static int c_mempool_min_nr(mempool_t *pool)
{
	unsigned long flags;
	int nr;

	spin_lock_irqsave(&pool->lock, flags);
	nr = pool->min_nr;
	spin_unlock_irqrestore(&pool->lock, flags);
	return nr;
}

/*
 * Makes room for @additional more held elements, growing like rust_mempool's
 * KVVec: kvmalloc, as up to HELD_BYTES_MAX / (OBJECT_SIZE_MIN + 8) pointers are
 * too many for one kmalloc (moved by hand: kvrealloc's signature changed in 6.12).
 */
static int c_mempool_held_reserve(struct c_mempool *s, size_t additional)
{
	size_t cap;
	void **held;

	if (s->held_cap - s->held_len >= additional)
		return 0;
	if (check_add_overflow(s->held_len, additional, &cap))
		return -ENOMEM;
	cap = max(s->held_cap * 2, cap);
	held = kvmalloc_array(cap, sizeof(*held), GFP_KERNEL);
	if (!held)
		return -ENOMEM;
	if (s->held_len)
		memcpy(held, s->held, s->held_len * sizeof(*held));
	kvfree(s->held);
	s->held = held;
	s->held_cap = cap;
	return 0;
}

/* Yields the CPU every 1024th iteration of a long loop under the mutex. */
static void c_mempool_resched_every(size_t i)
{
	if (i % 1024 == 1023)
		cond_resched();
}

/*
 * Allocates @n elements without sleeping and keeps them. Served from the slab
 * first, then from the reserve; once both are exhausted it stops with -ENOMEM,
 * keeping what it got. GFP_NOWAIT, never GFP_KERNEL: mempool_alloc() with a
 * sleeping mask never fails, it waits (forever) for an element to come back.
 */
static int c_mempool_hold(struct c_mempool *s, unsigned int n)
{
	unsigned int i;
	u64 bytes;
	int err;

	lockdep_assert_held(&s->lock);
	/* Each held element pins its object and its slot in s->held. */
	bytes = ((u64)s->held_len + n) * (s->object_size + sizeof(*s->held));
	if (bytes > MEMPOOL_HELD_BYTES_MAX) {
		if (c_mempool_write_log_allowed())
			pr_err("hold: %u more would pin %llu bytes with their pointers, above the %llu-byte cap; release some first\n",
			       n, bytes, (u64)MEMPOOL_HELD_BYTES_MAX);
		return -ENOSPC;
	}
	err = c_mempool_held_reserve(s, n);
	if (err)
		return err;
	for (i = 0; i < n; i++) {
		int before;
		void *element;

		c_mempool_resched_every(i);
		before = c_mempool_curr_nr(s->pool);
		element = mempool_alloc(s->pool, GFP_NOWAIT);

		if (!element) {
			s->alloc_failed++;
			if (c_mempool_write_log_allowed())
				pr_warn("hold: element %u of %u failed: slab and reserve exhausted\n",
					i + 1, n);
			return -ENOMEM;
		}
		/*
		 * Only this module allocates from the pool, under s->lock, so a
		 * drop in curr_nr across the call means the reserve served it.
		 */
		if (c_mempool_curr_nr(s->pool) < before)
			s->reserve_served++;
		s->held[s->held_len++] = element;
		s->alloc_total++;
	}
	return 0;
}

/* Returns the last @count held elements to the pool; @count <= held_len. */
static void c_mempool_free_held(struct c_mempool *s, size_t count)
{
	lockdep_assert_held(&s->lock);
	while (count--) {
		void *element = s->held[--s->held_len];
		int before = c_mempool_curr_nr(s->pool);

		c_mempool_resched_every(count);
		mempool_free(element, s->pool);
		if (c_mempool_curr_nr(s->pool) > before)
			s->reserve_refilled++;
		s->free_total++;
	}
}

static int c_mempool_release(struct c_mempool *s, size_t count)
{
	lockdep_assert_held(&s->lock);
	if (count > s->held_len) {
		if (c_mempool_write_log_allowed())
			pr_err("release: %zu requested but only %zu held\n", count, s->held_len);
		return -EINVAL;
	}
	c_mempool_free_held(s, count);
	return 0;
}

static int c_mempool_resize(struct c_mempool *s, unsigned int new_min_nr)
{
	int old, err;

	lockdep_assert_held(&s->lock);
	err = c_mempool_check_reserve(new_min_nr, s->object_size, true);
	if (err)
		return err;
	/* mempool_resize() BUG()s on 0; resize_store() already refused it. */
	if (new_min_nr < MEMPOOL_MIN_NR_MIN)
		return -EINVAL;
	old = c_mempool_min_nr(s->pool);
	/* May sleep; growing refills best-effort (0 even if short: see curr_nr). */
	err = mempool_resize(s->pool, new_min_nr);
	if (err) {
		if (c_mempool_write_log_allowed())
			pr_err("resize: mempool_resize(%u) failed: %pe\n", new_min_nr, ERR_PTR(err));
		return err;
	}
	pr_info("resize: min_nr %d -> %u, curr_nr = %d\n",
		old, new_min_nr, c_mempool_curr_nr(s->pool));
	return 0;
}

static const char *const c_mempool_contender_names[] = {
	[BENCH_MEMPOOL] = "mempool",
	[BENCH_CACHE] = "cache",
	[BENCH_KMALLOC] = "kmalloc",
};

/* Above the largest kmalloc cache, kmalloc() takes whole pages: bench times that. */
static bool c_mempool_kmalloc_takes_pages(struct c_mempool *s)
{
	return s->object_size > KMALLOC_MAX_CACHE_SIZE;
}

/* One alloc+free pair; always inlined so each timing loop is specialised. */
static __always_inline bool c_mempool_pair(struct c_mempool *s, enum c_mempool_contender k)
{
	void *p;

	switch (k) {
	case BENCH_MEMPOOL:
		p = mempool_alloc(s->pool, GFP_NOWAIT);
		if (!p)
			return false;
		mempool_free(p, s->pool);
		return true;
	case BENCH_CACHE:
		p = kmem_cache_alloc(s->cache, GFP_NOWAIT);
		if (!p)
			return false;
		kmem_cache_free(s->cache, p);
		return true;
	default:
		p = kmalloc(s->object_size, GFP_NOWAIT);
		if (!p)
			return false;
		kfree(p);
		return true;
	}
}

/* @n pairs through @k with nothing else in the timed window: the ns they took. */
static int c_mempool_time_chunk(struct c_mempool *s, const char *what,
				enum c_mempool_contender k, unsigned int n, u64 *ns)
{
	ktime_t start = ktime_get();
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (!c_mempool_pair(s, k)) {
			if (c_mempool_write_log_allowed())
				pr_err("%s: %s allocation failed\n", what, c_mempool_contender_names[k]);
			return -ENOMEM;
		}
	}
	*ns = max_t(s64, ktime_to_ns(ktime_sub(ktime_get(), start)), 0);
	return 0;
}

/* Readings c_mempool_clock_step() takes at most, and the ticks it waits for. */
#define CLOCK_READS_MAX 1000000
#define CLOCK_TICKS 8

/*
 * The least difference between two consecutive readings of the monotonic
 * clock over a few of its ticks, in ns: its resolution as a timer sees it (the
 * cost of a reading included). 0 if it never moved.
 */
static u64 c_mempool_clock_step(void)
{
	ktime_t last = ktime_get(), now;
	unsigned int i, ticks = 0;
	u64 step = 0;
	s64 d;

	for (i = 0; i < CLOCK_READS_MAX && ticks < CLOCK_TICKS; i++) {
		now = ktime_get();
		d = ktime_to_ns(ktime_sub(now, last));
		if (d > 0) {
			step = step ? min_t(u64, step, d) : d;
			ticks++;
		}
		last = now;
	}
	return step;
}

/*
 * Refuses (-ERANGE) a run the clock could not time: a chunk (@ns for @n
 * pairs, the shortest) spanning fewer than MEMPOOL_BENCH_CLOCK_STEPS_MIN clock
 * steps, or under 1 ns a pair. The rate-limited line says which, and what
 * count would do.
 */
static int c_mempool_check_resolution(const char *what, u64 step, u64 ns, unsigned int n)
{
	u64 needed = step * MEMPOOL_BENCH_CLOCK_STEPS_MIN, least;

	if (step && ns >= needed && ns >= n)
		return 0;
	if (!c_mempool_write_log_allowed())
		return -ERANGE;
	if (!step) {
		pr_err("%s: the clock did not move in %u readings: nothing can be timed\n",
		       what, CLOCK_READS_MAX);
	} else if (ns < n) {
		pr_err("%s: a chunk of %u pairs took %llu ns, under 1 ns a pair: the clock is not keeping time; no figure\n",
		       what, n, ns);
	} else {
		/* Pairs a chunk needs at this speed, times the chunks. */
		least = DIV64_U64_ROUND_UP(needed, div_u64(ns, n)) * MEMPOOL_BENCH_CHUNKS;
		if (least <= MEMPOOL_BENCH_MAX)
			pr_err("%s: a chunk of %u pairs took %llu ns, under %u steps of the clock (%llu ns each): too short to time; write at least %llu pairs\n",
			       what, n, ns, MEMPOOL_BENCH_CLOCK_STEPS_MIN, step, least);
		else
			pr_err("%s: a chunk of %u pairs took %llu ns, under %u steps of the clock (%llu ns each): no count up to %u is enough for this clocksource\n",
			       what, n, ns, MEMPOOL_BENCH_CLOCK_STEPS_MIN, step, MEMPOOL_BENCH_MAX);
	}
	return -ERANGE;
}

/* Pairs per chunk of a run: MEMPOOL_BENCH_CHUNKS chunks, fewer for a short run. */
static unsigned int c_mempool_chunk_len(unsigned int pairs)
{
	return max(DIV_ROUND_UP(pairs, MEMPOOL_BENCH_CHUNKS), 1U);
}

static int c_mempool_cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/*
 * Times the first @contenders contenders over @pairs pairs each, into @out:
 * an untimed warm-up chunk of each, then MEMPOOL_BENCH_CHUNKS chunks (fewer
 * for a short run) with their order rotating (none always runs first, on a
 * cache the one before it warmed), rescheduling only between chunks. Figures:
 * the fastest and the median chunk (the upper middle of an even count).
 */
static int c_mempool_run_bench(struct c_mempool *s, const char *what, unsigned int pairs,
			       unsigned int contenders, struct c_mempool_bench *out)
{
	u64 samples[BENCH_CONTENDERS][MEMPOOL_BENCH_CHUNKS];
	unsigned int len = c_mempool_chunk_len(pairs);
	unsigned int chunks = DIV_ROUND_UP(pairs, len), shortest_n = 1;
	u64 step = c_mempool_clock_step(), shortest = U64_MAX, ns;
	unsigned int c, j, k, n;
	int err;

	lockdep_assert_held(&s->lock);
	for (k = 0; k < contenders; k++) {
		err = c_mempool_time_chunk(s, what, k, len, &ns);
		if (err)
			return err;
		cond_resched();
	}
	for (c = 0; c < chunks; c++) {
		n = min(len, pairs - c * len);
		for (j = 0; j < contenders; j++) {
			k = (c + j) % contenders;
			err = c_mempool_time_chunk(s, what, k, n, &ns);
			if (err)
				return err;
			/* The least (ns, n), as rust_mempool picks it. */
			if (ns < shortest || (ns == shortest && n < shortest_n)) {
				shortest = ns;
				shortest_n = n;
			}
			samples[k][c] = div_u64(ns, n);
		}
		/* Process context, only a sleeping mutex held. */
		cond_resched();
	}
	err = c_mempool_check_resolution(what, step, shortest, shortest_n);
	if (err)
		return err;
	memset(out, 0, sizeof(*out));
	out->pairs = pairs;
	out->clock_step_ns = step;
	for (k = 0; k < contenders; k++) {
		sort(samples[k], chunks, sizeof(u64), c_mempool_cmp_u64, NULL);
		out->fig[k].min_ns = samples[k][0];
		out->fig[k].median_ns = samples[k][chunks / 2];
	}
	return 0;
}

static int c_mempool_bench(struct c_mempool *s, unsigned int pairs)
{
	struct c_mempool_bench b;
	struct c_mempool_figures *f = b.fig;
	int err;

	err = c_mempool_run_bench(s, "bench", pairs, BENCH_CONTENDERS, &b);
	if (err)
		return err;
	pr_info("bench: %u pairs in %u chunks (clock step %llu ns), ns per pair min/median: mempool %llu/%llu, cache %llu/%llu, kmalloc %llu/%llu (%s)\n",
		pairs, DIV_ROUND_UP(pairs, c_mempool_chunk_len(pairs)), b.clock_step_ns,
		f[BENCH_MEMPOOL].min_ns, f[BENCH_MEMPOOL].median_ns,
		f[BENCH_CACHE].min_ns, f[BENCH_CACHE].median_ns,
		f[BENCH_KMALLOC].min_ns, f[BENCH_KMALLOC].median_ns,
		c_mempool_kmalloc_takes_pages(s) ?
		"page allocator: above the kmalloc caches" : "kmalloc cache");
	s->bench = b;
	return 0;
}

/*
 * Times pairs through the mempool alone. With failslab failing the cache,
 * every allocation is served by the reserve and every free refills it: the
 * reserve path, which bench cannot time because its raw-cache contender fails
 * then.
 */
static int c_mempool_bench_mempool(struct c_mempool *s, unsigned int pairs)
{
	struct c_mempool_bench b;
	int err;

	err = c_mempool_run_bench(s, "bench_mempool", pairs, 1, &b);
	if (err)
		return err;
	pr_info("bench_mempool: %u pairs in %u chunks (clock step %llu ns), ns per pair min/median: mempool %llu/%llu\n",
		pairs, DIV_ROUND_UP(pairs, c_mempool_chunk_len(pairs)), b.clock_step_ns,
		b.fig[BENCH_MEMPOOL].min_ns, b.fig[BENCH_MEMPOOL].median_ns);
	s->bench_mempool_only = b;
	return 0;
}

/*
 * Parses a decimal count written to a control file, as kstrtouint() does (an
 * optional '+', one trailing newline), within @lo..=@hi. kstrtouint() stops at
 * a NUL, so a write with one inside is refused whole, as rust_mempool does.
 */
static bool c_mempool_parse_count(const char *buf, size_t len, unsigned int lo,
				  unsigned int hi, unsigned int *out)
{
	if (strnlen(buf, len) != len || kstrtouint(buf, 10, out))
		return false;
	return *out >= lo && *out <= hi;
}

/*
 * Logs a refused control-file write (its length, never its bytes) at most 10
 * times per 5 s for all control files: no writer can flood the kernel log.
 */
static int c_mempool_refuse(const char *attr, size_t len, const char *expected)
{
	if (c_mempool_write_log_allowed())
		pr_err("%s: invalid input (%zu bytes): expected %s\n", attr, len, expected);
	return -EINVAL;
}

/* sysfs: /sys/kernel/c_mempool/, same files, modes and formats as rust_mempool's. */

#define C_MEMPOOL_SHOW(_name, _fmt, _value)					\
static ssize_t _name##_show(struct kobject *kobj, struct kobj_attribute *attr,	\
			    char *buf)						\
{										\
	struct c_mempool *s = &c_mempool;					\
	ssize_t ret;								\
										\
	mutex_lock(&s->lock);							\
	ret = sysfs_emit(buf, _fmt "\n", _value);				\
	mutex_unlock(&s->lock);							\
	return ret;								\
}										\
static struct kobj_attribute _name##_attr = __ATTR_RO(_name)

C_MEMPOOL_SHOW(min_nr, "%d", c_mempool_min_nr(s->pool));
C_MEMPOOL_SHOW(curr_nr, "%d", c_mempool_curr_nr(s->pool));
C_MEMPOOL_SHOW(object_size, "%u", s->object_size);
C_MEMPOOL_SHOW(cache_object_size, "%u", kmem_cache_size(s->cache));
C_MEMPOOL_SHOW(cache_name, "%s", CACHE_NAME);
C_MEMPOOL_SHOW(in_use, "%zu", s->held_len);
C_MEMPOOL_SHOW(alloc_total, "%llu", s->alloc_total);
C_MEMPOOL_SHOW(free_total, "%llu", s->free_total);
C_MEMPOOL_SHOW(alloc_failed, "%llu", s->alloc_failed);
C_MEMPOOL_SHOW(reserve_served, "%llu", s->reserve_served);
C_MEMPOOL_SHOW(reserve_refilled, "%llu", s->reserve_refilled);

C_MEMPOOL_SHOW(bench_pairs, "%u", s->bench.pairs);
C_MEMPOOL_SHOW(bench_mempool_min_ns, "%llu", s->bench.fig[BENCH_MEMPOOL].min_ns);
C_MEMPOOL_SHOW(bench_mempool_median_ns, "%llu", s->bench.fig[BENCH_MEMPOOL].median_ns);
C_MEMPOOL_SHOW(bench_cache_min_ns, "%llu", s->bench.fig[BENCH_CACHE].min_ns);
C_MEMPOOL_SHOW(bench_cache_median_ns, "%llu", s->bench.fig[BENCH_CACHE].median_ns);
C_MEMPOOL_SHOW(bench_kmalloc_min_ns, "%llu", s->bench.fig[BENCH_KMALLOC].min_ns);
C_MEMPOOL_SHOW(bench_kmalloc_median_ns, "%llu", s->bench.fig[BENCH_KMALLOC].median_ns);
C_MEMPOOL_SHOW(bench_kmalloc_backend, "%s", c_mempool_kmalloc_takes_pages(s) ? "pages" : "slab");
C_MEMPOOL_SHOW(bench_mempool_only_pairs, "%u", s->bench_mempool_only.pairs);
C_MEMPOOL_SHOW(bench_mempool_only_min_ns, "%llu", s->bench_mempool_only.fig[BENCH_MEMPOOL].min_ns);
C_MEMPOOL_SHOW(bench_mempool_only_median_ns, "%llu",
	       s->bench_mempool_only.fig[BENCH_MEMPOOL].median_ns);

/*
 * A control file taking one count in @_lo..=@_hi: a refusal (rate-limited)
 * names what was expected; a count runs @_op(s, count) under the lock.
 */
#define C_MEMPOOL_STORE(_name, _lo, _hi, _expected, _op)			\
static ssize_t _name##_store(struct kobject *kobj, struct kobj_attribute *attr,	\
			     const char *buf, size_t len)			\
{										\
	struct c_mempool *s = &c_mempool;					\
	unsigned int n;								\
	int err;								\
										\
	if (!c_mempool_parse_count(buf, len, _lo, _hi, &n))			\
		return c_mempool_refuse(#_name, len, _expected);		\
	mutex_lock(&s->lock);							\
	err = _op(s, n);							\
	mutex_unlock(&s->lock);							\
	return err ?: len;							\
}										\
static struct kobj_attribute _name##_attr = __ATTR_WO(_name)

C_MEMPOOL_STORE(hold, 1, MEMPOOL_HOLD_MAX,
		"a count 1..=" __stringify(MEMPOOL_HOLD_MAX), c_mempool_hold);
C_MEMPOOL_STORE(resize, MEMPOOL_MIN_NR_MIN, MEMPOOL_MIN_NR_MAX,
		"a min_nr " __stringify(MEMPOOL_MIN_NR_MIN) "..=" __stringify(MEMPOOL_MIN_NR_MAX),
		c_mempool_resize);
C_MEMPOOL_STORE(bench, 1, MEMPOOL_BENCH_MAX,
		"a pair count 1..=" __stringify(MEMPOOL_BENCH_MAX), c_mempool_bench);
C_MEMPOOL_STORE(bench_mempool, 1, MEMPOOL_BENCH_MAX,
		"a pair count 1..=" __stringify(MEMPOOL_BENCH_MAX), c_mempool_bench_mempool);

/* release also takes `all`: every held element. */
static ssize_t release_store(struct kobject *kobj, struct kobj_attribute *attr,
			     const char *buf, size_t len)
{
	struct c_mempool *s = &c_mempool;
	/* Exactly `all`, as rust_mempool takes it (sysfs_streq would stop at a NUL). */
	bool all = (len == 3 && !memcmp(buf, "all", 3)) || (len == 4 && !memcmp(buf, "all\n", 4));
	unsigned int n = 0;
	int err;

	if (!all && !c_mempool_parse_count(buf, len, 1, MEMPOOL_HOLD_MAX, &n))
		return c_mempool_refuse("release", len,
					"a count 1..=" __stringify(MEMPOOL_HOLD_MAX) " or `all`");
	mutex_lock(&s->lock);
	err = c_mempool_release(s, all ? s->held_len : n);
	mutex_unlock(&s->lock);
	return err ?: len;
}

static struct kobj_attribute release_attr = __ATTR_WO(release);

static struct attribute *c_mempool_attrs[] = {
	&min_nr_attr.attr,
	&curr_nr_attr.attr,
	&object_size_attr.attr,
	&cache_object_size_attr.attr,
	&cache_name_attr.attr,
	&in_use_attr.attr,
	&alloc_total_attr.attr,
	&free_total_attr.attr,
	&alloc_failed_attr.attr,
	&reserve_served_attr.attr,
	&reserve_refilled_attr.attr,
	&bench_pairs_attr.attr,
	&bench_mempool_min_ns_attr.attr,
	&bench_mempool_median_ns_attr.attr,
	&bench_cache_min_ns_attr.attr,
	&bench_cache_median_ns_attr.attr,
	&bench_kmalloc_min_ns_attr.attr,
	&bench_kmalloc_median_ns_attr.attr,
	&bench_kmalloc_backend_attr.attr,
	&bench_mempool_only_pairs_attr.attr,
	&bench_mempool_only_min_ns_attr.attr,
	&bench_mempool_only_median_ns_attr.attr,
	&hold_attr.attr,
	&release_attr.attr,
	&resize_attr.attr,
	&bench_attr.attr,
	&bench_mempool_attr.attr,
	NULL,
};

static const struct attribute_group c_mempool_group = {
	.attrs = c_mempool_attrs,
};

static int c_mempool_sysfs_create(struct c_mempool *s)
{
	int err;

	s->kobj = kobject_create_and_add(SYSFS_NAME, kernel_kobj);
	if (!s->kobj) {
		err = -ENOMEM;
		goto err_log;
	}
	err = sysfs_create_group(s->kobj, &c_mempool_group);
	if (err)
		goto err_put;
	return 0;

err_put:
	kobject_put(s->kobj);
	s->kobj = NULL;
err_log:
	pr_err("creating /sys/kernel/\"%s\" failed: %pe\n", SYSFS_NAME, ERR_PTR(err));
	return err;
}

/* Removal drains in-flight show/store calls: none runs after this returns. */
static void c_mempool_sysfs_destroy(struct c_mempool *s)
{
	sysfs_remove_group(s->kobj, &c_mempool_group);
	kobject_put(s->kobj);
	s->kobj = NULL;
}

#ifdef MEMPOOL_FAULT_LEAK
/*
 * Test-only broken build (Kbuild MEMPOOL_FAULT=leak): lose one element so
 * kmem_cache_destroy() finds it. Proves the VM suite catches leaks.
 */
static void c_mempool_fault_leak(struct c_mempool *s)
{
	void *leaked = mempool_alloc(s->pool, GFP_NOWAIT);

	pr_debug("fault: leaking element %p\n", leaked);
}
#else
static inline void c_mempool_fault_leak(struct c_mempool *s)
{
}
#endif

/*
 * Gives the held elements back to the pool and logs the totals. Unload while
 * holding elements is legal: they go back before the pool dies.
 */
static void c_mempool_drop_state(struct c_mempool *s)
{
	size_t held;

	mutex_lock(&s->lock);
	c_mempool_fault_leak(s);
	held = s->held_len;
	c_mempool_free_held(s, held);
	pr_info("unload: released %zu held, alloc_total = %llu, free_total = %llu, alloc_failed = %llu, reserve_served = %llu\n",
		held, s->alloc_total, s->free_total, s->alloc_failed,
		s->reserve_served);
	mutex_unlock(&s->lock);
	kvfree(s->held);
	s->held = NULL;
	s->held_cap = 0;
}

/* No element is outstanding here: c_mempool_drop_state() returned them all. */
static void c_mempool_destroy_pool(struct c_mempool *s)
{
	mempool_destroy(s->pool);
	s->pool = NULL;
	pr_info("mempool_destroy done\n");
}

/* After the pool: every object of the cache is back, reserve included. */
static void c_mempool_destroy_cache(struct c_mempool *s)
{
	kmem_cache_destroy(s->cache);
	s->cache = NULL;
	pr_info("kmem_cache_destroy done\n");
}

static int __init c_mempool_init(void)
{
	struct c_mempool *s = &c_mempool;
	int err;

	err = c_mempool_validate_params(min_nr, object_size);
	if (err)
		return err;
	s->object_size = object_size;

	s->cache = kmem_cache_create(CACHE_NAME, object_size, 0,
				     SLAB_HWCACHE_ALIGN | C_MEMPOOL_NO_MERGE, NULL);
	if (!s->cache) {
		pr_err("kmem_cache_create(\"%s\", %u) failed\n", CACHE_NAME, object_size);
		return -ENOMEM;
	}
	pr_info("kmem_cache \"%s\" created: kmem_cache_size = %u\n",
		CACHE_NAME, kmem_cache_size(s->cache));

	s->pool = mempool_create(min_nr, mempool_alloc_slab, mempool_free_slab, s->cache);
	if (!s->pool) {
		pr_err("mempool_create(%u) failed: could not preallocate the reserve\n", min_nr);
		err = -ENOMEM;
		goto err_cache;
	}
	pr_info("mempool created: min_nr = %d, curr_nr = %d\n",
		c_mempool_min_nr(s->pool), c_mempool_curr_nr(s->pool));

	/* Last: once the files exist, writers can reach the state. */
	err = c_mempool_sysfs_create(s);
	if (err)
		goto err_pool;
	pr_info("loaded: /sys/kernel/" SYSFS_NAME " ready\n");
	return 0;

err_pool:
	/* No files ever existed, so nothing is held: no "unload:" line. */
	c_mempool_destroy_pool(s);
err_cache:
	c_mempool_destroy_cache(s);
	return err;
}

/* The only safe order: sysfs, held elements, pool (mempool_destroy), cache. */
static void __exit c_mempool_exit(void)
{
	struct c_mempool *s = &c_mempool;

	c_mempool_sysfs_destroy(s);
	c_mempool_drop_state(s);
	c_mempool_destroy_pool(s);
	c_mempool_destroy_cache(s);
}

module_init(c_mempool_init);
module_exit(c_mempool_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("mempoolctl developers");
MODULE_DESCRIPTION("Slab cache and mempool with live stats in /sys/kernel/c_mempool");
