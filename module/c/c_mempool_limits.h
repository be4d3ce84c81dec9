/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Parameter limits of c_mempool: the C spelling of module/limits.rs, value for
 * value (a unit test parses this file and compares it with limits.rs). Keep one
 * "#define NAME value" per line, plain integer literals, comments above.
 */
#ifndef C_MEMPOOL_LIMITS_H
#define C_MEMPOOL_LIMITS_H

/* Smallest min_nr: mempool_resize() BUG()s on 0, and a pool of 0 is no pool. */
#define MEMPOOL_MIN_NR_MIN 1
/* Largest min_nr (reserve elements). */
#define MEMPOOL_MIN_NR_MAX 4096
/* Smallest object size in bytes (a slab object must hold a free pointer). */
#define MEMPOOL_OBJECT_SIZE_MIN 8
/* Largest object size in bytes: 128 KiB (128 * 1024), an order-5 slab. */
#define MEMPOOL_OBJECT_SIZE_MAX 131072
/* Upper bound on min_nr * object_size, the memory the reserve pins: 64 MiB (64 * 1024 * 1024). */
#define MEMPOOL_RESERVE_BYTES_MAX 67108864
/* Most elements one write to hold may ask for. */
#define MEMPOOL_HOLD_MAX 65536
/*
 * Upper bound on in_use * (object_size + a pointer), the bytes all held
 * elements and the array of pointers to them pin together: 256 MiB
 * (256 * 1024 * 1024; alignment and the array's spare capacity on top).
 */
#define MEMPOOL_HELD_BYTES_MAX 268435456
/* Most alloc+free pairs one write to bench may ask for. */
#define MEMPOOL_BENCH_MAX 1000000
/* Chunks a bench run is timed in (fewer when it has fewer pairs). */
#define MEMPOOL_BENCH_CHUNKS 16
/* Least clock steps a timed chunk must span, or the run is refused. */
#define MEMPOOL_BENCH_CLOCK_STEPS_MIN 100
/* Default min_nr, as in the classic C example. */
#define MEMPOOL_MIN_NR_DEFAULT 6
/* Default object size, as in the classic C example. */
#define MEMPOOL_OBJECT_SIZE_DEFAULT 10240

#endif /* C_MEMPOOL_LIMITS_H */
