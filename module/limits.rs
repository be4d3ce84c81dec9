// SPDX-License-Identifier: GPL-2.0
//
// Parameter limits of rust_mempool: the one definition shared by the module
// (included from rust_mempool_main.rs) and by mempoolctl (crates/modctl), so
// userspace refuses exactly what the kernel would refuse.

/// Smallest `min_nr`: `mempool_resize()` BUG()s on 0, and a pool of 0 is no pool.
pub const MIN_NR_MIN: u32 = 1;
/// Largest `min_nr` (reserve elements).
pub const MIN_NR_MAX: u32 = 4096;
/// Smallest object size in bytes (a slab object must hold a free pointer).
pub const OBJECT_SIZE_MIN: u32 = 8;
/// Largest object size in bytes (128 KiB: an order-5 slab).
pub const OBJECT_SIZE_MAX: u32 = 128 * 1024;
/// Upper bound on `min_nr * object_size`, the memory the reserve pins (64 MiB).
pub const RESERVE_BYTES_MAX: u64 = 64 * 1024 * 1024;
/// Most elements one write to `hold` may ask for.
pub const HOLD_MAX: u32 = 65536;
/// Upper bound on `in_use * (object_size + a pointer)`, the bytes all held
/// elements and the array of pointers to them pin together (256 MiB; the
/// slab's alignment and the array's spare capacity come on top): each write is
/// bounded by `HOLD_MAX`, the sum of many writes by this.
pub const HELD_BYTES_MAX: u64 = 256 * 1024 * 1024;
/// Most alloc+free pairs one write to `bench` may ask for.
pub const BENCH_MAX: u32 = 1_000_000;
/// Chunks a bench run is timed in (fewer when it has fewer pairs); its figures
/// are the fastest chunk and the median chunk, in ns per pair.
pub const BENCH_CHUNKS: u32 = 16;
/// Least steps of the kernel's clock a timed chunk must span: below it the
/// clock's resolution is more than 1% of the figure, and the run is refused.
pub const BENCH_CLOCK_STEPS_MIN: u64 = 100;
/// Default `min_nr`, as in the classic C example.
pub const MIN_NR_DEFAULT: u32 = 6;
/// Default object size, as in the classic C example.
pub const OBJECT_SIZE_DEFAULT: u32 = 10240;
