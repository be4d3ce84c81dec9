// SPDX-License-Identifier: GPL-2.0

//! rust_mempool: a slab cache with a `mempool` on it, live stats and controls in sysfs.
//!
//! Reproduces the classic C example (`kmem_cache_create("MyselfCache", 10240, ...)`,
//! `mempool_create(6, mempool_alloc_slab, mempool_free_slab, cache)`) behind safe
//! wrappers: [`Cache`], [`Pool`] and the RAII [`PoolElement`]. The C shim
//! (`rust_mempool_shim.c`) only covers macros, inlines and the sysfs table.
//!
//! The point of a mempool: `min_nr` elements stay reserved, so allocations still
//! succeed while the slab allocator fails. `/sys/kernel/rust_mempool/` shows it live.

use core::ffi::c_void;
use core::fmt::Write;
use core::ptr::NonNull;
use kernel::{
    alloc::flags::GFP_KERNEL,
    bindings,
    error::{from_err_ptr, to_result},
    ffi::{c_char, c_int, c_uint},
    new_mutex,
    page::PAGE_SIZE,
    prelude::*,
    sync::Mutex,
    time::{Instant, Monotonic},
};

/// Parameter limits shared with mempoolctl (`module/limits.rs`).
#[allow(dead_code, unreachable_pub)]
mod limits {
    include!("limits.rs");
}
use limits::*;

module! {
    type: RustMempool,
    name: "rust_mempool",
    authors: ["mempoolctl developers"],
    description: "Slab cache and mempool with live stats in /sys/kernel/rust_mempool",
    license: "GPL",
    params: {
        min_nr: u32 {
            default: crate::limits::MIN_NR_DEFAULT,
            description: "Elements the mempool keeps in reserve (1..=4096)",
        },
        object_size: u32 {
            default: crate::limits::OBJECT_SIZE_DEFAULT,
            description: "Slab object size in bytes (8..=131072)",
        },
    },
}

/// GFP flags for allocations made through the C API (`Flags::as_raw` is crate-private).
#[derive(Clone, Copy)]
struct Gfp(bindings::gfp_t);

/// Never sleeps: a pool allocation fails at once when slab and reserve are both empty.
const GFP_NOWAIT: Gfp = Gfp(bindings::GFP_NOWAIT);

/// Name of the slab cache, also its `/sys/kernel/slab/` directory.
const CACHE_NAME: &CStr = c"rust_mempool";
/// Name of the sysfs directory under `/sys/kernel/`.
const SYSFS_NAME: &CStr = c"rust_mempool";

mod shim {
    use super::*;

    extern "C" {
        pub(crate) fn rmp_cache_create(
            name: *const c_char,
            size: c_uint,
        ) -> *mut bindings::kmem_cache;
        pub(crate) fn rmp_pool_create(
            min_nr: c_int,
            cache: *mut bindings::kmem_cache,
        ) -> *mut bindings::mempool;
        pub(crate) fn rmp_pool_curr_nr(pool: *mut bindings::mempool) -> c_int;
        pub(crate) fn rmp_pool_min_nr(pool: *mut bindings::mempool) -> c_int;
        pub(crate) fn rmp_kmalloc(size: usize, flags: bindings::gfp_t) -> *mut c_void;
        pub(crate) fn rmp_cache_alloc(
            cache: *mut bindings::kmem_cache,
            flags: bindings::gfp_t,
        ) -> *mut c_void;
        pub(crate) fn rmp_pool_alloc(
            pool: *mut bindings::mempool,
            flags: bindings::gfp_t,
        ) -> *mut c_void;
        pub(crate) fn rmp_cond_resched();
        pub(crate) fn rmp_write_log_allowed() -> bool;
        pub(crate) fn rmp_kmalloc_max_cache_size() -> usize;
        pub(crate) fn rmp_sysfs_create(
            name: *const c_char,
            ctx: *mut c_void,
            files: *const SysfsFile,
            count: c_uint,
        ) -> *mut c_void;
        pub(crate) fn rmp_sysfs_destroy(handle: *mut c_void);
    }

    /// `struct rmp_file`: one file of the sysfs directory, as the shim creates it.
    #[repr(C)]
    pub(crate) struct SysfsFile {
        pub(crate) name: *const c_char,
        pub(crate) mode: u16,
    }
}

/// Checks the load parameters; logs the offending one with its allowed range.
fn validate_params(min_nr: u32, object_size: u32) -> Result {
    if !(MIN_NR_MIN..=MIN_NR_MAX).contains(&min_nr) {
        pr_err!("invalid min_nr={min_nr}: allowed range is {MIN_NR_MIN}..={MIN_NR_MAX}\n");
        return Err(EINVAL);
    }
    if !(OBJECT_SIZE_MIN..=OBJECT_SIZE_MAX).contains(&object_size) {
        pr_err!("invalid object_size={object_size}: allowed range is {OBJECT_SIZE_MIN}..={OBJECT_SIZE_MAX} bytes\n");
        return Err(EINVAL);
    }
    check_reserve(min_nr, object_size, || true)
}

/// The reserve (`min_nr * object_size`) must stay below [`RESERVE_BYTES_MAX`].
/// A refusal is logged if `log_allowed()` agrees: a control file's writer
/// passes [`write_log_allowed`], so it cannot flood the log.
fn check_reserve(min_nr: u32, object_size: u32, log_allowed: impl FnOnce() -> bool) -> Result {
    let bytes = u64::from(min_nr) * u64::from(object_size);
    if bytes > RESERVE_BYTES_MAX {
        if log_allowed() {
            pr_err!(
                "invalid min_nr={min_nr} with object_size={object_size}: reserve of {bytes} bytes exceeds {RESERVE_BYTES_MAX}\n"
            );
        }
        return Err(EINVAL);
    }
    Ok(())
}

/// A slab cache created by this module.
///
/// # Invariants
///
/// `ptr` is a live cache returned by `kmem_cache_create`; it is destroyed only in `drop`.
struct Cache {
    ptr: NonNull<bindings::kmem_cache>,
}

// SAFETY: the slab allocator synchronises all operations on a cache internally.
unsafe impl Send for Cache {}
// SAFETY: as above; `&Cache` only allows alloc/free/size queries, which are thread-safe.
unsafe impl Sync for Cache {}

impl Cache {
    fn new(name: &'static CStr, object_size: u32) -> Result<Self> {
        // SAFETY: `name` is a static NUL-terminated string; the size was validated.
        let ptr = unsafe { shim::rmp_cache_create(name.as_char_ptr(), object_size) };
        let Some(ptr) = NonNull::new(ptr) else {
            pr_err!("kmem_cache_create({name:?}, {object_size}) failed\n");
            return Err(ENOMEM);
        };
        // INVARIANT: `ptr` is the live cache just created.
        Ok(Self { ptr })
    }

    /// What `kmem_cache_size()` reports: the object size the cache serves.
    fn object_size(&self) -> u32 {
        // SAFETY: `self.ptr` is live by the type invariant.
        unsafe { bindings::kmem_cache_size(self.ptr.as_ptr()) }
    }

    /// One object straight from the cache (bypassing any pool); freed on drop.
    fn alloc(&self, flags: Gfp) -> Option<CacheObject<'_>> {
        // SAFETY: `self.ptr` is live by the type invariant. Through the C macro,
        // so allocation profiling (/proc/allocinfo) sees it as it sees the C twin's.
        let ptr = unsafe { shim::rmp_cache_alloc(self.ptr.as_ptr(), flags.0) };
        NonNull::new(ptr).map(|ptr| CacheObject { ptr, cache: self })
    }
}

impl Drop for Cache {
    fn drop(&mut self) {
        // SAFETY: `self.ptr` is live and destroyed once. `CacheObject` and
        // `PoolElement` borrow the cache, so none is alive; elements turned raw
        // (`into_raw`, the held list) went back before the `Pool` owning the cache
        // dropped (`Inner`'s drop). One missed would be a leak slub reports here,
        // not a use after free: the cache then stays.
        unsafe { bindings::kmem_cache_destroy(self.ptr.as_ptr()) };
        pr_info!("kmem_cache_destroy done\n");
    }
}

/// An object of a [`Cache`], returned to it on drop.
struct CacheObject<'a> {
    ptr: NonNull<c_void>,
    cache: &'a Cache,
}

impl Drop for CacheObject<'_> {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from `kmem_cache_alloc` on this live cache and is freed once.
        unsafe { bindings::kmem_cache_free(self.cache.ptr.as_ptr(), self.ptr.as_ptr()) };
    }
}

/// A slab-backed mempool, which owns its cache so the cache outlives it.
///
/// # Invariants
///
/// `ptr` is a live pool from `mempool_create` whose elements come from `cache`;
/// it is destroyed only in `drop`, before `cache`.
struct Pool {
    ptr: NonNull<bindings::mempool>,
    cache: Cache,
}

// SAFETY: mempool operations take the pool's own spinlock.
unsafe impl Send for Pool {}
// SAFETY: as above.
unsafe impl Sync for Pool {}

impl Pool {
    fn new(min_nr: u32, cache: Cache) -> Result<Self> {
        let nr = c_int::try_from(min_nr).map_err(|_| EINVAL)?;
        // SAFETY: `cache.ptr` is live; `nr` was validated to be >= 1.
        let ptr = unsafe { shim::rmp_pool_create(nr, cache.ptr.as_ptr()) };
        let Some(ptr) = NonNull::new(ptr) else {
            pr_err!("mempool_create({min_nr}) failed: could not preallocate the reserve\n");
            return Err(ENOMEM);
        };
        // INVARIANT: `ptr` is the live pool just created on `cache`.
        Ok(Self { ptr, cache })
    }

    fn cache(&self) -> &Cache {
        &self.cache
    }

    /// Elements now in the reserve (read under the pool lock).
    fn curr_nr(&self) -> u32 {
        // SAFETY: `self.ptr` is live by the type invariant.
        let nr = unsafe { shim::rmp_pool_curr_nr(self.ptr.as_ptr()) };
        u32::try_from(nr).unwrap_or(0)
    }

    fn min_nr(&self) -> u32 {
        // SAFETY: `self.ptr` is live by the type invariant.
        let nr = unsafe { shim::rmp_pool_min_nr(self.ptr.as_ptr()) };
        u32::try_from(nr).unwrap_or(0)
    }

    /// `mempool_alloc`. Pass a non-sleeping `flags` (GFP_NOWAIT) unless an
    /// endless wait for a free element is acceptable: GFP_KERNEL never fails.
    fn alloc(&self, flags: Gfp) -> Option<PoolElement<'_>> {
        // SAFETY: `self.ptr` is live by the type invariant. Through the C macro,
        // as for the cache.
        let ptr = unsafe { shim::rmp_pool_alloc(self.ptr.as_ptr(), flags.0) };
        NonNull::new(ptr).map(|ptr| PoolElement { ptr, pool: self })
    }

    /// `mempool_resize`; `new_min_nr` is checked here too, since 0 would BUG().
    fn resize(&self, new_min_nr: u32) -> Result {
        if new_min_nr < MIN_NR_MIN {
            return Err(EINVAL);
        }
        let nr = c_int::try_from(new_min_nr).map_err(|_| EINVAL)?;
        // SAFETY: `self.ptr` is live; `nr >= 1` as `mempool_resize` requires; we may sleep here.
        to_result(unsafe { bindings::mempool_resize(self.ptr.as_ptr(), nr) })
    }

    /// Re-wraps a pointer from [`PoolElement::into_raw`].
    ///
    /// # Safety
    ///
    /// `ptr` must come from `into_raw` on an element of this pool, at most once.
    unsafe fn element_from_raw(&self, ptr: NonNull<c_void>) -> PoolElement<'_> {
        PoolElement { ptr, pool: self }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // SAFETY: `self.ptr` is live and destroyed once. No `PoolElement` is alive
        // (they borrow the pool), and `Inner`'s drop returned the raw ones (the held
        // list) first. `cache` is destroyed after this, as a field.
        unsafe { bindings::mempool_destroy(self.ptr.as_ptr()) };
        pr_info!("mempool_destroy done\n");
    }
}

/// An element of a [`Pool`]; goes back to the pool (refilling the reserve) on drop.
struct PoolElement<'a> {
    ptr: NonNull<c_void>,
    pool: &'a Pool,
}

impl PoolElement<'_> {
    /// Gives up the RAII guard, for storage next to the pool.
    fn into_raw(self) -> NonNull<c_void> {
        let ptr = self.ptr;
        core::mem::forget(self);
        ptr
    }
}

impl Drop for PoolElement<'_> {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from `mempool_alloc` on this live pool and is freed once.
        unsafe { bindings::mempool_free(self.ptr.as_ptr(), self.pool.ptr.as_ptr()) };
    }
}

/// Memory from `kmalloc`, freed on drop (the bench's third contender).
struct KmallocBuf(NonNull<c_void>);

impl KmallocBuf {
    fn new(size: usize, flags: Gfp) -> Option<Self> {
        // SAFETY: plain kmalloc; any size is acceptable (NULL on failure).
        NonNull::new(unsafe { shim::rmp_kmalloc(size, flags.0) }).map(Self)
    }
}

impl Drop for KmallocBuf {
    fn drop(&mut self) {
        // SAFETY: the pointer came from kmalloc and is freed once.
        unsafe { bindings::kfree(self.0.as_ptr()) };
    }
}

/// Yields the CPU every 1024th iteration of a long loop under the mutex.
fn resched_every(i: impl Into<u64>) {
    if i.into() % 1024 == 1023 {
        // SAFETY: process context (a sysfs store), only a sleeping mutex held.
        unsafe { shim::rmp_cond_resched() };
    }
}

/// A `bench` contender: one alloc+free pair through one allocator. `bench`
/// times all three, `bench_mempool` the first alone.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Contender {
    Mempool,
    Cache,
    Kmalloc,
}

impl Contender {
    const ALL: [Self; 3] = [Self::Mempool, Self::Cache, Self::Kmalloc];

    fn name(self) -> &'static str {
        match self {
            Self::Mempool => "mempool",
            Self::Cache => "cache",
            Self::Kmalloc => "kmalloc",
        }
    }
}

/// One contender's figures over the chunks of a run, in ns per pair: zero
/// until a run succeeds (a figure under 1 ns is refused, never stored).
#[derive(Clone, Copy, Default)]
struct Figures {
    min_ns: u64,
    median_ns: u64,
}

/// The last successful run of `bench` (or `bench_mempool`, whose figures
/// are the mempool's alone): `pairs` is 0 before the first.
#[derive(Clone, Copy, Default)]
struct BenchResult {
    pairs: u32,
    /// Indexed by [`Contender`].
    figures: [Figures; 3],
    /// The clock's step the run was checked against (logged, not in sysfs).
    clock_step_ns: u64,
}

impl BenchResult {
    fn of(&self, k: Contender) -> Figures {
        self.figures.get(k as usize).copied().unwrap_or_default()
    }
}

/// How a run of `pairs` pairs is cut: [`BENCH_CHUNKS`] chunks of `len`
/// pairs (fewer for a short run), the last one possibly shorter.
#[derive(Clone, Copy)]
struct Chunks {
    pairs: u32,
    len: u32,
}

impl Chunks {
    fn new(pairs: u32) -> Self {
        Self {
            pairs,
            len: pairs.div_ceil(BENCH_CHUNKS).max(1),
        }
    }

    fn count(self) -> u32 {
        self.pairs.div_ceil(self.len)
    }

    fn len_of(self, chunk: u32) -> u32 {
        self.len
            .min(self.pairs.saturating_sub(chunk.saturating_mul(self.len)))
    }
}

/// Per-chunk ns per pair of one contender.
struct Samples {
    ns: [u64; BENCH_CHUNKS as usize],
    len: usize,
}

impl Samples {
    const fn new() -> Self {
        Self {
            ns: [0; BENCH_CHUNKS as usize],
            len: 0,
        }
    }

    fn push(&mut self, ns_per_pair: u64) {
        if let Some(slot) = self.ns.get_mut(self.len) {
            *slot = ns_per_pair;
            self.len += 1;
        }
    }

    /// The fastest chunk and the median one (the upper middle of an even count).
    fn figures(&mut self) -> Figures {
        let taken = self.ns.get_mut(..self.len).unwrap_or_default();
        taken.sort_unstable();
        Figures {
            min_ns: taken.first().copied().unwrap_or(0),
            median_ns: taken.get(taken.len() / 2).copied().unwrap_or(0),
        }
    }
}

/// Readings of the clock [`clock_step_ns`] takes at most, and the ticks it waits for.
const CLOCK_READS_MAX: u32 = 1_000_000;
const CLOCK_TICKS: u32 = 8;

/// The least difference between two consecutive readings of the monotonic
/// clock over a few of its ticks, in ns: its resolution as a timer sees it
/// (the cost of a reading included). `None` if it never moved.
fn clock_step_ns() -> Option<u64> {
    let mut step: Option<u64> = None;
    let mut ticks = 0;
    let mut last = Instant::<Monotonic>::now();
    for _ in 0..CLOCK_READS_MAX {
        let now = Instant::<Monotonic>::now();
        if let Ok(d @ 1..) = u64::try_from((now - last).as_nanos()) {
            step = Some(step.map_or(d, |s| s.min(d)));
            ticks += 1;
            if ticks == CLOCK_TICKS {
                break;
            }
        }
        last = now;
    }
    step
}

/// Refuses (`ERANGE`) a run the clock could not time: a chunk that spans
/// fewer than [`BENCH_CLOCK_STEPS_MIN`] clock steps, or under 1 ns a pair. The
/// log line (rate-limited) says which, and what count would do.
fn check_resolution(what: &str, step: Option<u64>, shortest: (u64, u32)) -> Result {
    let (ns, n) = shortest;
    let Some(step) = step else {
        if write_log_allowed() {
            pr_err!("{what}: the clock did not move in {CLOCK_READS_MAX} readings: nothing can be timed\n");
        }
        return Err(ERANGE);
    };
    let needed = step.saturating_mul(BENCH_CLOCK_STEPS_MIN);
    if ns >= needed && ns >= u64::from(n) {
        return Ok(());
    }
    if !write_log_allowed() {
        return Err(ERANGE);
    }
    if ns < u64::from(n) {
        pr_err!("{what}: a chunk of {n} pairs took {ns} ns, under 1 ns a pair: the clock is not keeping time; no figure\n");
        return Err(ERANGE);
    }
    // Pairs a chunk needs at this speed, times the chunks.
    let per_pair = ns / u64::from(n);
    let least = needed
        .div_ceil(per_pair)
        .saturating_mul(u64::from(BENCH_CHUNKS));
    if least <= u64::from(BENCH_MAX) {
        pr_err!("{what}: a chunk of {n} pairs took {ns} ns, under {BENCH_CLOCK_STEPS_MIN} steps of the clock ({step} ns each): too short to time; write at least {least} pairs\n");
    } else {
        pr_err!("{what}: a chunk of {n} pairs took {ns} ns, under {BENCH_CLOCK_STEPS_MIN} steps of the clock ({step} ns each): no count up to {BENCH_MAX} is enough for this clocksource\n");
    }
    Err(ERANGE)
}

/// Everything behind the module's mutex.
///
/// # Invariants
///
/// Every pointer in `held` came from [`PoolElement::into_raw`] on `pool` and is
/// owned here; `alloc_total - free_total == held.len()`.
struct Inner {
    /// Held elements: up to `HELD_BYTES_MAX / (OBJECT_SIZE_MIN + 8)` pointers,
    /// too many for one kmalloc, so vmalloc-backed when large.
    held: KVVec<NonNull<c_void>>,
    pool: Pool,
    object_size: u32,
    alloc_total: u64,
    free_total: u64,
    alloc_failed: u64,
    reserve_served: u64,
    reserve_refilled: u64,
    bench: BenchResult,
    /// The last `bench_mempool`: the mempool's figures alone.
    bench_mempool_only: BenchResult,
    /// Set once `/sys/kernel/rust_mempool` exists: only a module that loaded
    /// logs the `unload:` line (an init that fails after this state exists
    /// must not look like an unload).
    loaded: bool,
}

// SAFETY: the raw element pointers are owned data, only touched under the mutex.
unsafe impl Send for Inner {}

impl Inner {
    /// Allocates `n` elements without sleeping and keeps them. Served from the
    /// slab first, then from the reserve; once both are exhausted it stops with
    /// `ENOMEM`, keeping what it got.
    fn hold(&mut self, n: u32) -> Result {
        // Each held element pins its object and its slot in `held`.
        let per_element = u64::from(self.object_size) + core::mem::size_of::<NonNull<c_void>>() as u64;
        let bytes = (self.held.len() as u64 + u64::from(n)) * per_element;
        if bytes > HELD_BYTES_MAX {
            if write_log_allowed() {
                pr_err!(
                    "hold: {n} more would pin {bytes} bytes with their pointers, above the {HELD_BYTES_MAX}-byte cap; release some first\n"
                );
            }
            return Err(ENOSPC);
        }
        self.held.reserve(n as usize, GFP_KERNEL)?;
        for i in 0..n {
            resched_every(i);
            let before = self.pool.curr_nr();
            let Some(element) = self.pool.alloc(GFP_NOWAIT) else {
                self.alloc_failed += 1;
                if write_log_allowed() {
                    pr_warn!(
                        "hold: element {} of {n} failed: slab and reserve exhausted\n",
                        i + 1
                    );
                }
                return Err(ENOMEM);
            };
            // Only this module allocates from the pool, under this mutex, so a
            // drop in curr_nr across the call means the reserve served it.
            if self.pool.curr_nr() < before {
                self.reserve_served += 1;
            }
            let raw = element.into_raw();
            if let Err(e) = self.held.push_within_capacity(raw) {
                // Cannot happen after `reserve`; give the element back rather than leak it.
                // SAFETY: `raw` came from `into_raw` on this pool just above.
                drop(unsafe { self.pool.element_from_raw(e.0) });
                return Err(ENOMEM);
            }
            // INVARIANT: one more allocated, one more held.
            self.alloc_total += 1;
        }
        Ok(())
    }

    /// Returns `n` held elements to the pool (all of them for `None`).
    fn release(&mut self, n: Option<u32>) -> Result {
        let count = n.map_or(self.held.len(), |n| n as usize);
        if count > self.held.len() {
            if write_log_allowed() {
                pr_err!(
                    "release: {count} requested but only {} held\n",
                    self.held.len()
                );
            }
            return Err(EINVAL);
        }
        for i in 0..count {
            resched_every(i as u64);
            let Some(raw) = self.held.pop() else { break };
            let before = self.pool.curr_nr();
            // SAFETY: by the type invariant `raw` came from `into_raw` on this pool,
            // and popping it hands ownership over exactly once.
            drop(unsafe { self.pool.element_from_raw(raw) });
            if self.pool.curr_nr() > before {
                self.reserve_refilled += 1;
            }
            // INVARIANT: one fewer held, one more freed.
            self.free_total += 1;
        }
        Ok(())
    }

    fn resize(&mut self, new_min_nr: u32) -> Result {
        check_reserve(new_min_nr, self.object_size, write_log_allowed)?;
        let old = self.pool.min_nr();
        self.pool.resize(new_min_nr).inspect_err(|&e| {
            if write_log_allowed() {
                pr_err!("resize: mempool_resize({new_min_nr}) failed: {}\n", Pe(e));
            }
        })?;
        pr_info!(
            "resize: min_nr {old} -> {new_min_nr}, curr_nr = {}\n",
            self.pool.curr_nr()
        );
        Ok(())
    }

    /// Above the largest kmalloc cache, `kmalloc` takes whole pages: `bench` times that.
    fn kmalloc_takes_pages(&self) -> bool {
        // SAFETY: the shim's function returns a compile-time constant.
        self.object_size as usize > unsafe { shim::rmp_kmalloc_max_cache_size() }
    }

    /// One alloc+free pair through `k`.
    fn pair(&self, k: Contender) -> Result {
        let allocated = match k {
            Contender::Mempool => self.pool.alloc(GFP_NOWAIT).is_some(),
            Contender::Cache => self.pool.cache().alloc(GFP_NOWAIT).is_some(),
            Contender::Kmalloc => KmallocBuf::new(self.object_size as usize, GFP_NOWAIT).is_some(),
        };
        if allocated {
            Ok(())
        } else {
            Err(ENOMEM)
        }
    }

    /// `n` pairs through `k` with nothing else in the timed window: the ns they took.
    fn time_chunk(&self, what: &str, k: Contender, n: u32) -> Result<u64> {
        let start = Instant::<Monotonic>::now();
        for _ in 0..n {
            self.pair(k).inspect_err(|_| {
                if write_log_allowed() {
                    pr_err!("{what}: {} allocation failed\n", k.name());
                }
            })?;
        }
        Ok(u64::try_from(start.elapsed().as_nanos()).unwrap_or(0))
    }

    /// Times the first `contenders` of [`Contender::ALL`] over `pairs` pairs
    /// each: an untimed warm-up chunk of each, then chunk by chunk with their
    /// order rotating (none always runs first, on a cache the one before it
    /// warmed), rescheduling only between chunks. The result, or `ERANGE` when
    /// a chunk was too short for the clock (see [`check_resolution`]).
    fn run_bench(&self, what: &str, pairs: u32, contenders: usize) -> Result<BenchResult> {
        let contenders = Contender::ALL.get(..contenders).unwrap_or(&Contender::ALL);
        let chunks = Chunks::new(pairs);
        let step = clock_step_ns();
        for &k in contenders {
            self.time_chunk(what, k, chunks.len)?;
            // SAFETY: process context, only a sleeping mutex held.
            unsafe { shim::rmp_cond_resched() };
        }
        let mut samples = [Samples::new(), Samples::new(), Samples::new()];
        // The shortest chunk timed: (ns, pairs).
        let mut shortest = (u64::MAX, 1);
        for chunk in 0..chunks.count() {
            let n = chunks.len_of(chunk);
            for j in 0..contenders.len() {
                let turn = (chunk as usize + j) % contenders.len();
                let Some(&k) = contenders.get(turn) else {
                    continue;
                };
                let ns = self.time_chunk(what, k, n)?;
                shortest = shortest.min((ns, n));
                if let Some(s) = samples.get_mut(k as usize) {
                    s.push(ns / u64::from(n));
                }
            }
            // SAFETY: process context, only a sleeping mutex held.
            unsafe { shim::rmp_cond_resched() };
        }
        check_resolution(what, step, shortest)?;
        Ok(BenchResult {
            pairs,
            figures: samples.each_mut().map(|s| s.figures()),
            clock_step_ns: step.unwrap_or(0),
        })
    }

    fn bench(&mut self, pairs: u32) -> Result {
        let result = self.run_bench("bench", pairs, Contender::ALL.len())?;
        let [mempool, cache, kmalloc] = result.figures;
        let backend = if self.kmalloc_takes_pages() {
            "page allocator: above the kmalloc caches"
        } else {
            "kmalloc cache"
        };
        pr_info!(
            "bench: {pairs} pairs in {} chunks (clock step {} ns), ns per pair min/median: mempool {}/{}, cache {}/{}, kmalloc {}/{} ({backend})\n",
            Chunks::new(pairs).count(),
            result.clock_step_ns,
            mempool.min_ns,
            mempool.median_ns,
            cache.min_ns,
            cache.median_ns,
            kmalloc.min_ns,
            kmalloc.median_ns
        );
        self.bench = result;
        Ok(())
    }

    /// Times pairs through the mempool alone. With failslab failing the cache,
    /// every allocation is served by the reserve and every free refills it:
    /// the reserve path, which `bench` cannot time because its raw-cache
    /// contender fails then.
    fn bench_mempool(&mut self, pairs: u32) -> Result {
        let result = self.run_bench("bench_mempool", pairs, 1)?;
        let mempool = result.of(Contender::Mempool);
        pr_info!(
            "bench_mempool: {pairs} pairs in {} chunks (clock step {} ns), ns per pair min/median: mempool {}/{}\n",
            Chunks::new(pairs).count(),
            result.clock_step_ns,
            mempool.min_ns,
            mempool.median_ns
        );
        self.bench_mempool_only = result;
        Ok(())
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Test-only broken build (Kbuild MEMPOOL_FAULT=leak): lose one element so
        // kmem_cache_destroy finds it. Proves the VM suite catches leaks.
        #[cfg(mempool_fault_leak)]
        let _leaked = self.pool.alloc(GFP_NOWAIT).map(PoolElement::into_raw);
        let held = self.held.len();
        // Unload while holding elements is legal: they go back before the pool dies.
        if let Err(e) = self.release(None) {
            pr_err!("unload: releasing {held} held elements failed: {}\n", Pe(e));
        }
        if !self.loaded {
            return;
        }
        pr_info!(
            "unload: released {held} held, alloc_total = {}, free_total = {}, alloc_failed = {}, reserve_served = {}\n",
            self.alloc_total,
            self.free_total,
            self.alloc_failed,
            self.reserve_served
        );
    }
}

/// A `printf`-style writer into sysfs's one-page show buffer.
struct PageWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl Write for PageWriter<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(core::fmt::Error)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(core::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Parses a decimal count written to a control file as the C twin's
/// `kstrtouint(buf, 10, ...)` does: an optional `+`, digits, one trailing
/// newline (as `echo` adds); within `min..=max`.
fn parse_count(input: &[u8], min: u32, max: u32) -> Option<u32> {
    let text = input.strip_suffix(b"\n").unwrap_or(input);
    let digits = text.strip_prefix(b"+").unwrap_or(text);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value = digits.iter().try_fold(0u32, |acc, d| {
        acc.checked_mul(10)?.checked_add(u32::from(d - b'0'))
    })?;
    (min..=max).contains(&value).then_some(value)
}

/// Whether a line a control-file write causes may be logged: at most 10 per
/// 5 s for all control files together (the shim's rate limit), so no writer
/// can flood the kernel log, with bad input or with writes that fail.
fn write_log_allowed() -> bool {
    // SAFETY: the shim's function only consults its own static rate-limit state.
    unsafe { shim::rmp_write_log_allowed() }
}

/// Logs a refused control-file write (its length, never its bytes), rate
/// limited ([`write_log_allowed`]).
fn refuse(attr: &str, input: &[u8], expected: core::fmt::Arguments<'_>) -> Error {
    if write_log_allowed() {
        pr_err!(
            "{attr}: invalid input ({} bytes): expected {expected}\n",
            input.len()
        );
    }
    EINVAL
}

/// An error as the kernel's `%pe` prints it (`-ENOMEM`, or the number when it has no
/// name), so that both twins log the same line.
struct Pe(Error);

impl kernel::fmt::Display for Pe {
    fn fmt(&self, f: &mut kernel::fmt::Formatter<'_>) -> kernel::fmt::Result {
        match self.0.name().and_then(|name| name.to_str().ok()) {
            Some(name) => write!(f, "-{name}"),
            None => write!(f, "{}", self.0.to_errno()),
        }
    }
}

/// The files of `/sys/kernel/rust_mempool/`, one value each. The shim creates
/// them in the order of [`FILES`] and passes a file's index back to show/store.
#[derive(Clone, Copy)]
enum File {
    MinNr,
    CurrNr,
    ObjectSize,
    CacheObjectSize,
    CacheName,
    InUse,
    AllocTotal,
    FreeTotal,
    AllocFailed,
    ReserveServed,
    ReserveRefilled,
    BenchPairs,
    BenchMin(Contender),
    BenchMedian(Contender),
    BenchKmallocBackend,
    BenchMempoolOnlyPairs,
    BenchMempoolOnlyMin,
    BenchMempoolOnlyMedian,
    Hold,
    Release,
    Resize,
    Bench,
    BenchMempool,
}

/// The one list of the directory's files (the C twin's attribute table lists
/// the same names); the ABI is `Documentation/ABI/testing/sysfs-kernel-rust_mempool`.
const FILES: [(&CStr, File); 27] = [
    (c"min_nr", File::MinNr),
    (c"curr_nr", File::CurrNr),
    (c"object_size", File::ObjectSize),
    (c"cache_object_size", File::CacheObjectSize),
    (c"cache_name", File::CacheName),
    (c"in_use", File::InUse),
    (c"alloc_total", File::AllocTotal),
    (c"free_total", File::FreeTotal),
    (c"alloc_failed", File::AllocFailed),
    (c"reserve_served", File::ReserveServed),
    (c"reserve_refilled", File::ReserveRefilled),
    (c"bench_pairs", File::BenchPairs),
    (c"bench_mempool_min_ns", File::BenchMin(Contender::Mempool)),
    (
        c"bench_mempool_median_ns",
        File::BenchMedian(Contender::Mempool),
    ),
    (c"bench_cache_min_ns", File::BenchMin(Contender::Cache)),
    (
        c"bench_cache_median_ns",
        File::BenchMedian(Contender::Cache),
    ),
    (c"bench_kmalloc_min_ns", File::BenchMin(Contender::Kmalloc)),
    (
        c"bench_kmalloc_median_ns",
        File::BenchMedian(Contender::Kmalloc),
    ),
    (c"bench_kmalloc_backend", File::BenchKmallocBackend),
    (c"bench_mempool_only_pairs", File::BenchMempoolOnlyPairs),
    (c"bench_mempool_only_min_ns", File::BenchMempoolOnlyMin),
    (
        c"bench_mempool_only_median_ns",
        File::BenchMempoolOnlyMedian,
    ),
    (c"hold", File::Hold),
    (c"release", File::Release),
    (c"resize", File::Resize),
    (c"bench", File::Bench),
    (c"bench_mempool", File::BenchMempool),
];

impl File {
    /// Control files are written (by root only), the others read by anyone.
    fn mode(self) -> u16 {
        match self {
            Self::Hold | Self::Release | Self::Resize | Self::Bench | Self::BenchMempool => 0o200,
            _ => 0o444,
        }
    }

    fn at(index: c_uint) -> Option<Self> {
        FILES.get(index as usize).map(|&(_, file)| file)
    }
}

impl Inner {
    fn show(&self, file: File, w: &mut PageWriter<'_>) -> Result {
        let r = match file {
            File::MinNr => writeln!(w, "{}", self.pool.min_nr()),
            File::CurrNr => writeln!(w, "{}", self.pool.curr_nr()),
            File::ObjectSize => writeln!(w, "{}", self.object_size),
            File::CacheObjectSize => writeln!(w, "{}", self.pool.cache().object_size()),
            File::CacheName => writeln!(w, "{}", CACHE_NAME.to_str().unwrap_or("?")),
            File::InUse => writeln!(w, "{}", self.held.len()),
            File::AllocTotal => writeln!(w, "{}", self.alloc_total),
            File::FreeTotal => writeln!(w, "{}", self.free_total),
            File::AllocFailed => writeln!(w, "{}", self.alloc_failed),
            File::ReserveServed => writeln!(w, "{}", self.reserve_served),
            File::ReserveRefilled => writeln!(w, "{}", self.reserve_refilled),
            File::BenchPairs => writeln!(w, "{}", self.bench.pairs),
            File::BenchMin(k) => writeln!(w, "{}", self.bench.of(k).min_ns),
            File::BenchMedian(k) => writeln!(w, "{}", self.bench.of(k).median_ns),
            File::BenchKmallocBackend => match self.kmalloc_takes_pages() {
                true => writeln!(w, "pages"),
                false => writeln!(w, "slab"),
            },
            File::BenchMempoolOnlyPairs => writeln!(w, "{}", self.bench_mempool_only.pairs),
            File::BenchMempoolOnlyMin => {
                writeln!(
                    w,
                    "{}",
                    self.bench_mempool_only.of(Contender::Mempool).min_ns
                )
            }
            File::BenchMempoolOnlyMedian => {
                writeln!(
                    w,
                    "{}",
                    self.bench_mempool_only.of(Contender::Mempool).median_ns
                )
            }
            File::Hold | File::Release | File::Resize | File::Bench | File::BenchMempool => {
                return Err(EIO)
            }
        };
        r.map_err(|_| EINVAL)
    }

    fn store(&mut self, file: File, input: &[u8]) -> Result {
        match file {
            File::Hold => {
                let n = parse_count(input, 1, HOLD_MAX)
                    .ok_or_else(|| refuse("hold", input, format_args!("a count 1..={HOLD_MAX}")))?;
                self.hold(n)
            }
            File::Release => {
                if input == b"all" || input == b"all\n" {
                    return self.release(None);
                }
                let n = parse_count(input, 1, HOLD_MAX).ok_or_else(|| {
                    refuse(
                        "release",
                        input,
                        format_args!("a count 1..={HOLD_MAX} or `all`"),
                    )
                })?;
                self.release(Some(n))
            }
            File::Resize => {
                let n = parse_count(input, MIN_NR_MIN, MIN_NR_MAX).ok_or_else(|| {
                    refuse(
                        "resize",
                        input,
                        format_args!("a min_nr {MIN_NR_MIN}..={MIN_NR_MAX}"),
                    )
                })?;
                self.resize(n)
            }
            File::Bench => {
                let n = parse_count(input, 1, BENCH_MAX).ok_or_else(|| {
                    refuse("bench", input, format_args!("a pair count 1..={BENCH_MAX}"))
                })?;
                self.bench(n)
            }
            File::BenchMempool => {
                let n = parse_count(input, 1, BENCH_MAX).ok_or_else(|| {
                    refuse(
                        "bench_mempool",
                        input,
                        format_args!("a pair count 1..={BENCH_MAX}"),
                    )
                })?;
                self.bench_mempool(n)
            }
            _ => Err(EIO),
        }
    }
}

/// The state and the sysfs directory whose files reach it, pinned together:
/// the registration points into `state`, and [`PinnedDrop`] removes it,
/// draining every running show/store, before `state` drops. The order is the
/// type's, not a convention.
///
/// # Invariants
///
/// `sysfs` is a live registration whose callbacks reach `state`.
#[pin_data(PinnedDrop)]
struct Registration {
    #[pin]
    state: Mutex<Inner>,
    sysfs: NonNull<c_void>,
}

// SAFETY: the registration handle is only created and destroyed; the state is
// behind its mutex.
unsafe impl Send for Registration {}
// SAFETY: as above.
unsafe impl Sync for Registration {}

impl Registration {
    /// Pins `inner` and publishes `/sys/kernel/<name>/` on it.
    fn new(name: &'static CStr, inner: Inner) -> impl PinInit<Self, Error> {
        try_pin_init!(&this in Self {
            state <- new_mutex!(inner),
            sysfs: {
                // SAFETY: `state` is initialised above and pinned in `this`,
                // which outlives the registration (`PinnedDrop` removes it first).
                let state = unsafe { &raw const (*this.as_ptr()).state };
                let ctx = state.cast_mut().cast::<c_void>();
                // The shim copies the table; the names are static.
                let files = FILES.map(|(name, file)| shim::SysfsFile {
                    name: name.as_char_ptr(),
                    mode: file.mode(),
                });
                // SAFETY: `name` and the file names are static, `files` is
                // valid for the call; `ctx` stays valid until `PinnedDrop`.
                let handle = from_err_ptr(unsafe {
                    shim::rmp_sysfs_create(name.as_char_ptr(), ctx, files.as_ptr(), files.len() as c_uint)
                })
                    .inspect_err(|&e| pr_err!("creating /sys/kernel/{name:?} failed: {}\n", Pe(e)))?;
                let handle = NonNull::new(handle).ok_or(ENOMEM)?;
                // SAFETY: `state` is initialised (see above).
                unsafe { &*state }.lock().loaded = true;
                // INVARIANT: `handle` is the registration just made on `state`.
                handle
            },
        })
    }
}

#[pinned_drop]
impl PinnedDrop for Registration {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: by the type invariant `sysfs` is live; removal waits for
        // running show/store calls, so none reaches `state` after this.
        unsafe { shim::rmp_sysfs_destroy(self.sysfs.as_ptr()) };
    }
}

/// Recovers the state from a sysfs callback's context pointer.
///
/// # Safety
///
/// `ctx` must be the pointer registered by [`Registration::new`], still registered.
unsafe fn state_of<'a>(ctx: *mut c_void) -> &'a Mutex<Inner> {
    // SAFETY: per the contract, `ctx` points at the live `Mutex<Inner>`.
    unsafe { &*ctx.cast::<Mutex<Inner>>() }
}

/// Called by the C shim's `show` for every readable file, with the file's
/// index in [`FILES`].
///
/// # Safety
///
/// `ctx` must be the context registered by [`Registration::new`] while that
/// registration lives (sysfs drains readers before it is removed); `buf` must
/// be the PAGE_SIZE buffer sysfs hands to `show`.
#[no_mangle]
unsafe extern "C" fn rust_mempool_show(ctx: *mut c_void, index: c_uint, buf: *mut c_char) -> isize {
    let Some(file) = File::at(index) else {
        return EIO.to_errno() as isize;
    };
    // SAFETY: per the contract, the registration (and so the state) lives.
    let state = unsafe { state_of(ctx) };
    // SAFETY: per the contract, `buf` holds PAGE_SIZE writable bytes. One is
    // left unused: sysfs WARNs on a show that returns the whole page (as
    // sysfs_emit() never does).
    let page = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), PAGE_SIZE - 1) };
    let mut w = PageWriter { buf: page, len: 0 };
    match state.lock().show(file, &mut w) {
        Ok(()) => w.len as isize,
        Err(e) => e.to_errno() as isize,
    }
}

/// Called by the C shim's `store` for every control file, with the file's
/// index in [`FILES`].
///
/// # Safety
///
/// `ctx` must be the context registered by [`Registration::new`] while that
/// registration lives; `buf` must point at `len` readable bytes (what sysfs
/// hands `store`).
#[no_mangle]
unsafe extern "C" fn rust_mempool_store(
    ctx: *mut c_void,
    index: c_uint,
    buf: *const c_char,
    len: usize,
) -> isize {
    let Some(file) = File::at(index) else {
        return EIO.to_errno() as isize;
    };
    // SAFETY: per the contract, the registration (and so the state) lives.
    let state = unsafe { state_of(ctx) };
    // SAFETY: per the contract, `len` bytes at `buf` are readable.
    let input = unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), len) };
    match state.lock().store(file, input) {
        Ok(()) => len as isize,
        Err(e) => e.to_errno() as isize,
    }
}

/// The loaded module: its registration owns the state (see [`Registration`]).
#[pin_data]
struct RustMempool {
    #[pin]
    registration: Registration,
}

impl kernel::InPlaceModule for RustMempool {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            registration <- {
                let min_nr = module_parameters::min_nr.value();
                let object_size = module_parameters::object_size.value();
                validate_params(min_nr, object_size)?;
                let cache = Cache::new(CACHE_NAME, object_size)?;
                pr_info!(
                    "kmem_cache {:?} created: kmem_cache_size = {}\n",
                    CACHE_NAME,
                    cache.object_size()
                );
                let pool = Pool::new(min_nr, cache)?;
                pr_info!(
                    "mempool created: min_nr = {}, curr_nr = {}\n",
                    pool.min_nr(),
                    pool.curr_nr()
                );
                Registration::new(
                    SYSFS_NAME,
                    Inner {
                        held: KVVec::new(),
                        pool,
                        object_size,
                        alloc_total: 0,
                        free_total: 0,
                        alloc_failed: 0,
                        reserve_served: 0,
                        reserve_refilled: 0,
                        bench: BenchResult::default(),
                        bench_mempool_only: BenchResult::default(),
                        loaded: false,
                    },
                )
            },
        })
        .pin_chain(|_| {
            pr_info!("loaded: /sys/kernel/rust_mempool ready\n");
            Ok(())
        })
    }
}
