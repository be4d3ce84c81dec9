# stress: 1000 load/unload cycles, 8 concurrent processes, unload while holding.
kmemleak_reset

# --- 1000 insmod/rmmod cycles with varying parameters
fails=0
i=0
while [ $i -lt 1000 ]; do
	insmod $KO min_nr=$((i % 16 + 1)) object_size=$(((i % 5 + 1) * 1024)) || fails=$((fails + 1))
	rmmod $MODULE || fails=$((fails + 1))
	i=$((i + 1))
done
figure cycles 1000
check_eq "1000 insmod/rmmod cycles without a failure" 0 echo $fails
check_absent "no cache left after the cycles" $SLAB

# --- mempoolctl's own load/unload, which verifies every exit
check "50 mempoolctl load/unload cycles, each verified" sh -c '
	i=0
	while [ $i -lt 50 ]; do
		mempoolctl -q load --min-nr 6 && mempoolctl -q unload || exit 1
		i=$((i + 1))
	done'
figure cycles 50

# --- 8 concurrent processes: hold/release/stats/resize for a fixed count
check "load for concurrency" insmod $KO min_nr=4
for p in 1 2 3 4 5 6 7 8; do
	(
		j=0
		while [ $j -lt 25 ]; do
			echo 2 >$SYSFS/hold
			mempoolctl stats >/dev/null
			echo 2 >$SYSFS/release
			echo $((2 + p % 3)) >$SYSFS/resize
			j=$((j + 1))
		done
	) &
done
wait
figure concurrent_ops 800
check_eq "concurrent: alloc_total 400" 400 cat $SYSFS/alloc_total
check_eq "concurrent: free_total 400" 400 cat $SYSFS/free_total
check_eq "concurrent: in_use 0" 0 cat $SYSFS/in_use
check_consistent "concurrent: counters consistent"

# --- unload while elements are held
check "hold 16 (beyond the reserve)" sh -c "echo 16 > $SYSFS/hold"
check_consistent "holding: counters consistent"
check "unload while holding 16" mempoolctl unload
check_log "unload released all 16" "$MODULE: unload: released 16 held"
check_absent "slab cache gone" $SLAB

check_no_leaks "kmemleak: no leaks after stress"
