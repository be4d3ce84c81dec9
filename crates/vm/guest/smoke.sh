# Every feature of rust_mempool once, through sysfs and mempoolctl, then kmemleak.
KO=/lib/modules/$(uname -r)/extra/rust_mempool.ko
kmemleak_reset

# --- default load: what the C original logs, and every sysfs value
check "default load" insmod $KO
check_eq "min_nr default" 6 cat $SYSFS/min_nr
check_eq "object_size default" 10240 cat $SYSFS/object_size
check_eq "cache_object_size (kmem_cache_size)" 10240 cat $SYSFS/cache_object_size
check_eq "cache_name" rust_mempool cat $SYSFS/cache_name
check_eq "curr_nr: reserve preallocated" 6 cat $SYSFS/curr_nr
check_eq "in_use starts at 0" 0 cat $SYSFS/in_use
check_eq "alloc_total starts at 0" 0 cat $SYSFS/alloc_total
check_eq "bench_result before any bench" none cat $SYSFS/bench_result
check_log "init logs kmem_cache_size" "kmem_cache_size = 10240"
check_log "init logs min_nr and curr_nr" "min_nr = 6, curr_nr = 6"
check "slab cache is its own (SLAB_NO_MERGE)" sh -c '[ -d /sys/kernel/slab/rust_mempool ] && [ ! -L /sys/kernel/slab/rust_mempool ]'
check_eq "control files are root-only write" "--w-------" sh -c "ls -l $SYSFS/hold | cut -c1-10"
check "unload (default)" rmmod rust_mempool
check_absent "sysfs dir gone" $SYSFS
check_absent "slab cache gone" /sys/kernel/slab/rust_mempool
check_log "exit logs mempool_destroy" "mempool_destroy done"
check_log "exit logs kmem_cache_destroy" "kmem_cache_destroy done"

# --- explicit parameters
check "load min_nr=6 object_size=10240" insmod $KO min_nr=6 object_size=10240
check_eq "min_nr 6" 6 cat $SYSFS/min_nr
rmmod rust_mempool
check "load min_nr=3 object_size=100" insmod $KO min_nr=3 object_size=100
check_eq "min_nr 3" 3 cat $SYSFS/min_nr
check_eq "object_size 100" 100 cat $SYSFS/object_size
check_eq "cache rounds nothing off kmem_cache_size" 100 cat $SYSFS/cache_object_size
rmmod rust_mempool

# --- hold / release / resize / bench
check "load for exercise" insmod $KO min_nr=6
check "hold 3" sh -c "echo 3 > $SYSFS/hold"
check_eq "in_use 3" 3 cat $SYSFS/in_use
check_eq "alloc_total 3" 3 cat $SYSFS/alloc_total
check_eq "slab served them, reserve untouched" 6 cat $SYSFS/curr_nr
check "release all" sh -c "echo all > $SYSFS/release"
check_eq "in_use 0 after release" 0 cat $SYSFS/in_use
check_eq "free_total 3" 3 cat $SYSFS/free_total
check_fails "release more than held" sh -c "echo 1 > $SYSFS/release"
check "resize up to 10" sh -c "echo 10 > $SYSFS/resize"
check_eq "min_nr 10" 10 cat $SYSFS/min_nr
check_eq "curr_nr refilled to 10" 10 cat $SYSFS/curr_nr
check "resize down to 2" sh -c "echo 2 > $SYSFS/resize"
check_eq "min_nr 2" 2 cat $SYSFS/min_nr
check_eq "curr_nr shrunk to 2" 2 cat $SYSFS/curr_nr
check_fails "resize 0 refused (would BUG)" sh -c "echo 0 > $SYSFS/resize"
check_fails "resize -1 refused" sh -c "echo -1 > $SYSFS/resize"
check_fails "hold garbage refused" sh -c "echo abc > $SYSFS/hold"
check_eq "min_nr unchanged by bad input" 2 cat $SYSFS/min_nr
check "bench 2000" sh -c "echo 2000 > $SYSFS/bench"
check "bench_result has non-zero figures" sh -c "cat $SYSFS/bench_result; grep -Eq '^pairs=2000 mempool_ns=[1-9][0-9]* cache_ns=[1-9][0-9]* kmalloc_ns=[1-9][0-9]*$' $SYSFS/bench_result"
check "hold 4 then unload while holding" sh -c "echo 4 > $SYSFS/hold && rmmod rust_mempool"
check_log "unload released the held elements" "unload: released 4 held"
check_absent "slab cache gone after unload while holding" /sys/kernel/slab/rust_mempool

# --- the same controls through mempoolctl
check "mempoolctl load" mempoolctl load --min-nr 6 --object-size 10240
check_fails "mempoolctl load twice (EEXIST explained)" mempoolctl load
check "mempoolctl status" mempoolctl status
check "mempoolctl hold 3" mempoolctl hold 3
check_eq "in_use 3 via mempoolctl" 3 cat $SYSFS/in_use
check "mempoolctl release all" mempoolctl release all
check "mempoolctl resize 8" mempoolctl resize 8
check_eq "min_nr 8 via mempoolctl" 8 cat $SYSFS/min_nr
check_fails "mempoolctl resize 0 refused before the kernel" mempoolctl resize 0
check "mempoolctl bench 1000" mempoolctl bench 1000
check "mempoolctl stats --json has schema 1 and curr_nr 8" sh -c 'mempoolctl stats --json | tee /tmp/s.json && grep -q "\"schema\": 1" /tmp/s.json && grep -q "\"curr_nr\": 8" /tmp/s.json'
check_fails "mempoolctl load --min-nr 0 refused before the kernel" mempoolctl load --min-nr 0
check "mempoolctl unload" mempoolctl unload
check_fails "mempoolctl unload when absent" mempoolctl unload

# --- the mempool guarantee: with the slab failing 100% (failslab on this cache
# only), exactly min_nr allocations still succeed, from the reserve
check "load for the guarantee" insmod $KO min_nr=6
FS=/sys/kernel/debug/failslab
check "failslab: fail every allocation from rust_mempool" sh -c "
	echo Y > $FS/cache-filter && echo 1 > /sys/kernel/slab/rust_mempool/failslab &&
	echo N > $FS/task-filter && echo 0 > $FS/space && echo 1 > $FS/interval &&
	echo -1 > $FS/times && echo 0 > $FS/verbose && echo 100 > $FS/probability"
check_fails "hold 7 with the slab failing: the 7th fails cleanly" sh -c "echo 7 > $SYSFS/hold"
check_eq "exactly min_nr elements were served" 6 cat $SYSFS/in_use
check_eq "all of them from the reserve" 6 cat $SYSFS/reserve_served
check_eq "reserve empty" 0 cat $SYSFS/curr_nr
check_eq "one failed allocation counted" 1 cat $SYSFS/alloc_failed
check "release all with the slab still failing" sh -c "echo all > $SYSFS/release"
check_eq "frees refilled the reserve" 6 cat $SYSFS/curr_nr
check_eq "reserve_refilled 6" 6 cat $SYSFS/reserve_refilled
check "failslab off" sh -c "echo 0 > $FS/probability && echo 0 > /sys/kernel/slab/rust_mempool/failslab && echo N > $FS/cache-filter"
check "hold 3 with the slab healthy" sh -c "echo 3 > $SYSFS/hold"
check_eq "slab served them: reserve_served unchanged" 6 cat $SYSFS/reserve_served
check_eq "reserve still full" 6 cat $SYSFS/curr_nr
check "unload after the guarantee test" rmmod rust_mempool

# --- 8 concurrent writers: hold/release/resize/read, counters stay consistent
check "load for concurrency" insmod $KO min_nr=4
for i in 1 2 3 4 5 6 7 8; do
	(
		j=0
		while [ $j -lt 25 ]; do
			echo 2 >$SYSFS/hold
			cat $SYSFS/curr_nr $SYSFS/in_use >/dev/null
			echo 2 >$SYSFS/release
			echo $((2 + i % 3)) >$SYSFS/resize
			j=$((j + 1))
		done
	) &
done
wait
check_eq "concurrent: alloc_total 400" 400 cat $SYSFS/alloc_total
check_eq "concurrent: free_total 400" 400 cat $SYSFS/free_total
check_eq "concurrent: in_use 0" 0 cat $SYSFS/in_use
check "unload after concurrency" rmmod rust_mempool

# --- bad parameters: refused by the module itself, nothing left behind
for p in min_nr=0 min_nr=4097 min_nr=2147483648 object_size=0 object_size=7 object_size=99999999 "min_nr=4096 object_size=131072"; do
	check_fails "refused: $p" insmod $KO $p
	check_absent "nothing left after $p" /sys/module/rust_mempool
done
check_log "min_nr=0 names parameter and range" "invalid min_nr=0: allowed range is 1..=4096"
check_log "object_size=0 names parameter and range" "invalid object_size=0: allowed range is 8..=131072"
check_log "reserve bound explained" "exceeds 67108864"
check_fails "refused: min_nr=-1 (kernel parser)" insmod $KO min_nr=-1
check_absent "no cache left behind" /sys/kernel/slab/rust_mempool

check_no_leaks "kmemleak: no leaks after all of the above"
