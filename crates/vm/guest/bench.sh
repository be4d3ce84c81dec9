# bench: figures for `cargo xtask bench` (meant for the lean kernel). Each
# `# measure NAME=N` line on the results channel is one sample; the host
# computes min/median/max and the ratios.
measure() {
	echo "# measure $1=$2" >&3
}

# Centiseconds since boot (busybox has no nanosecond clock; loops are long enough).
now_cs() {
	read up _ </proc/uptime
	echo "${up%.*}${up#*.}"
}

RUST_KO=/lib/modules/$(uname -r)/extra/rust_mempool.ko
C_KO=/lib/modules/$(uname -r)/extra/c_mempool.ko
ROUNDS=${BENCH_ROUNDS:-5}
PAIRS=${BENCH_PAIRS:-200000}
CYCLES=${BENCH_CYCLES:-100}
measure uptime_at_scenario_cs "$(now_cs)"

# --- in the kernel: both twins loaded, the same object size, alternating rounds
check "load rust_mempool" insmod $RUST_KO min_nr=6 object_size=10240
check "load c_mempool" insmod $C_KO min_nr=6 object_size=10240
r=0
while [ $r -lt $ROUNDS ]; do
	for m in rust_mempool c_mempool; do
		echo $PAIRS >/sys/kernel/$m/bench || report fail "bench $m round $r" "write failed"
		set -- $(tr ' =' '\n\n' </sys/kernel/$m/bench_result)
		# pairs N mempool_ns N cache_ns N kmalloc_ns N
		measure "$m.mempool_ns" "$4"
		measure "$m.cache_ns" "$6"
		measure "$m.kmalloc_ns" "$8"
	done
	r=$((r + 1))
done
# --- the reserve path: failslab fails every allocation from both caches, so
# each mempool_alloc falls back to the reserve and each free refills it
FS=/sys/kernel/debug/failslab
check "failslab on both caches" sh -c "
	echo Y > $FS/cache-filter && echo N > $FS/task-filter && echo 0 > $FS/space &&
	echo 1 > $FS/interval && echo -1 > $FS/times && echo 0 > $FS/verbose &&
	echo 1 > /sys/kernel/slab/rust_mempool/failslab && echo 1 > /sys/kernel/slab/c_mempool/failslab &&
	echo 100 > $FS/probability"
r=0
while [ $r -lt $ROUNDS ]; do
	for m in rust_mempool c_mempool; do
		echo $PAIRS >/sys/kernel/$m/bench_mempool || report fail "bench_mempool $m round $r" "write failed"
		set -- $(tr ' =' '\n\n' </sys/kernel/$m/bench_mempool_result)
		measure "$m.reserve_ns" "$4"
	done
	r=$((r + 1))
done
check "failslab off" sh -c "echo 0 > $FS/probability && echo 0 > /sys/kernel/slab/rust_mempool/failslab &&
	echo 0 > /sys/kernel/slab/c_mempool/failslab && echo N > $FS/cache-filter"
check "unload both" sh -c "rmmod rust_mempool && rmmod c_mempool"

# --- userspace: mempoolctl against the plain tools, same .ko, same loop
t0=$(now_cs)
i=0
while [ $i -lt $CYCLES ]; do
	insmod $KO && rmmod $MODULE
	i=$((i + 1))
done
t1=$(now_cs)
i=0
while [ $i -lt $CYCLES ]; do
	mempoolctl -q load && mempoolctl -q unload
	i=$((i + 1))
done
t2=$(now_cs)
i=0
while [ $i -lt $CYCLES ]; do
	mempoolctl --version >/dev/null && busybox true
	i=$((i + 1))
done
t3=$(now_cs)
i=0
while [ $i -lt $CYCLES ]; do
	mempoolctl -q status && mempoolctl -q status
	i=$((i + 1))
done
t4=$(now_cs)
i=0
while [ $i -lt $CYCLES ]; do
	mempoolctl -q load && rmmod $MODULE
	i=$((i + 1))
done
t5=$(now_cs)
i=0
while [ $i -lt $CYCLES ]; do
	insmod $KO && mempoolctl -q unload
	i=$((i + 1))
done
t6=$(now_cs)
measure insmod_rmmod_us $(((t1 - t0) * 10000 / CYCLES))
measure mempoolctl_load_unload_us $(((t2 - t1) * 10000 / CYCLES))
# What starting the two processes alone costs (mempoolctl is a 5 MB static binary).
measure process_start_us $(((t3 - t2) * 10000 / CYCLES))
# Two runs with settings, config file and sysfs reads but no module operation.
measure mempoolctl_status_twice_us $(((t4 - t3) * 10000 / CYCLES))
# Each half of the cycle on its own, the other half done by busybox.
measure mempoolctl_load_rmmod_us $(((t5 - t4) * 10000 / CYCLES))
measure insmod_mempoolctl_unload_us $(((t6 - t5) * 10000 / CYCLES))

check "load for stats timing" insmod $KO
t0=$(now_cs)
i=0
while [ $i -lt $CYCLES ]; do
	cat $SYSFS/min_nr $SYSFS/curr_nr $SYSFS/object_size $SYSFS/cache_object_size $SYSFS/cache_name \
		$SYSFS/in_use $SYSFS/alloc_total $SYSFS/free_total $SYSFS/alloc_failed $SYSFS/reserve_served \
		$SYSFS/reserve_refilled $SYSFS/bench_result >/dev/null
	i=$((i + 1))
done
t1=$(now_cs)
i=0
while [ $i -lt $CYCLES ]; do
	mempoolctl stats >/dev/null
	i=$((i + 1))
done
t2=$(now_cs)
measure cat_sysfs_us $(((t1 - t0) * 10000 / CYCLES))
measure mempoolctl_stats_us $(((t2 - t1) * 10000 / CYCLES))
check "unload after timing" rmmod $MODULE
