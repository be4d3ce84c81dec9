# bench: figures for `cargo xtask bench` (meant for the lean kernel). Each
# `# measure NAME=N` line on the results channel is one sample; the host
# computes min/median/max and the ratios.
measure() {
	echo "# measure $1=$2" >&3
}

RUST_KO=/lib/modules/$RELEASE/extra/rust_mempool.ko
C_KO=/lib/modules/$RELEASE/extra/c_mempool.ko
ROUNDS=${BENCH_ROUNDS:-5}
PAIRS=${BENCH_PAIRS:-200000}
CYCLES=${BENCH_CYCLES:-100}
uptime_cs
measure uptime_at_scenario_cs "$UPTIME_CS"

# --- in the kernel: both twins loaded, the same object size, alternating rounds
# Every bench call on CPU 0, so both twins time the same CPU's slabs: unpinned,
# the twins' ratio swung from 0.50x to 1.63x between runs, pinned 0.93x-1.13x.
taskset -p 1 $$ >/dev/null
check "load rust_mempool" insmod $RUST_KO min_nr=6 object_size=10240
check "load c_mempool" insmod $C_KO min_nr=6 object_size=10240
# twins_in_round R: the two modules, the one that goes first alternating with
# the round, so neither twin always runs right after the other's bench.
twins_in_round() {
	if [ $(($1 % 2)) -eq 0 ]; then echo rust_mempool c_mempool; else echo c_mempool rust_mempool; fi
}
r=0
while [ $r -lt $ROUNDS ]; do
	for m in $(twins_in_round $r); do
		# A round's sample: its median chunk (ns per pair); none from a failed run,
		# whose files still hold the run before.
		if echo $PAIRS >/sys/kernel/$m/bench; then
			for k in mempool cache kmalloc; do
				read -r ns </sys/kernel/$m/bench_${k}_median_ns
				measure "$m.${k}_ns" "$ns"
			done
		else
			report fail "bench $m round $r" "write failed"
		fi
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
	for m in $(twins_in_round $r); do
		if echo $PAIRS >/sys/kernel/$m/bench_mempool; then
			read -r ns </sys/kernel/$m/bench_mempool_only_median_ns
			measure "$m.reserve_ns" "$ns"
		else
			report fail "bench_mempool $m round $r" "write failed"
		fi
	done
	r=$((r + 1))
done
check "failslab off" sh -c "echo 0 > $FS/probability && echo 0 > /sys/kernel/slab/rust_mempool/failslab &&
	echo 0 > /sys/kernel/slab/c_mempool/failslab && echo N > $FS/cache-filter"
check "unload both" sh -c "rmmod rust_mempool && rmmod c_mempool"

# --- userspace: mempoolctl against the plain tools, same .ko, same loop
# Timed in hundredths of a second (busybox has no finer clock; the loops are
# long enough).
# per_cycle NAME CMDS: run the shell commands CMDS $CYCLES times (eval: no
# extra process per round) and report the time per round in microseconds;
# a failed round fails the run and leaves no figure (it timed a failure).
per_cycle() {
	uptime_cs
	t0=$UPTIME_CS
	i=0
	failed=0
	while [ $i -lt $CYCLES ]; do
		eval "$2" || failed=$((failed + 1))
		i=$((i + 1))
	done
	uptime_cs
	t1=$UPTIME_CS
	if [ $failed -eq 0 ]; then
		measure "$1" $(((t1 - t0) * 10000 / CYCLES))
	else
		report fail "$1" "$failed of $CYCLES rounds failed: no figure"
	fi
}

per_cycle insmod_rmmod_us 'insmod $KO && rmmod $MODULE'
per_cycle mempoolctl_load_unload_us 'mempoolctl -q load && mempoolctl -q unload'
# What starting the two processes alone costs (mempoolctl is a 5 MB static binary).
per_cycle process_start_us 'mempoolctl --version >/dev/null && busybox true'
# Two runs with settings, config file and sysfs reads but no module operation
# (none is loaded here: each must exit 4, "not loaded", as documented).
per_cycle mempoolctl_status_twice_us 'mempoolctl -q status; [ $? = 4 ] && mempoolctl -q status; [ $? = 4 ]'
# Each half of the cycle on its own, the other half done by busybox.
per_cycle mempoolctl_load_rmmod_us 'mempoolctl -q load && rmmod $MODULE'
per_cycle insmod_mempoolctl_unload_us 'insmod $KO && mempoolctl -q unload'

check "load for stats timing" insmod $KO
# The files stats reads (no bench run yet: the figures' files are skipped).
per_cycle cat_sysfs_us 'cat $SYSFS/min_nr $SYSFS/curr_nr $SYSFS/object_size $SYSFS/cache_object_size \
	$SYSFS/cache_name $SYSFS/in_use $SYSFS/alloc_total $SYSFS/free_total $SYSFS/alloc_failed \
	$SYSFS/reserve_served $SYSFS/reserve_refilled $SYSFS/bench_pairs $SYSFS/bench_mempool_only_pairs \
	$SLAB/objects $SLAB/total_objects $SLAB/slabs $SLAB/object_size $SLAB/slab_size \
	$SLAB/objs_per_slab $SLAB/order >/dev/null'
per_cycle mempoolctl_stats_us 'mempoolctl stats >/dev/null'
check "unload after timing" rmmod $MODULE
