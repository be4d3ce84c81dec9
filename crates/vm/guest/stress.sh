# stress: 20 insmod/rmmod and 10 mempoolctl load/unload cycles, 8 concurrent
# processes on 2+ CPUs, unload while holding.
kmemleak_on_demand

timed stress_insmod_cycles
# --- 20 insmod/rmmod cycles: every min_nr from 1 to 16 and every object
# size of 1 to 5 KiB below at least once (each cycle ~0.4 s under TCG with
# KASAN and lockdep). Every pair once took 80 cycles, 25 s more per run,
# though no limit involves both values in these ranges; a per-cycle leak
# shows after one cycle in the slab and kmemleak checks.
fails=0
i=0
while [ $i -lt 20 ]; do
	insmod $KO min_nr=$((i % 16 + 1)) object_size=$(((i % 5 + 1) * 1024)) || fails=$((fails + 1))
	rmmod $MODULE || fails=$((fails + 1))
	i=$((i + 1))
done
figure insmod_cycles $i
check_eq "$i insmod/rmmod cycles without a failure" 0 echo $fails
check_absent "no cache left after the cycles" $SLAB

timed stress_mempoolctl_cycles
# --- mempoolctl's own load/unload, which verifies every exit
n=0
while [ $n -lt 10 ] && mempoolctl -q load --min-nr 6 && mempoolctl -q unload; do
	n=$((n + 1))
done
figure mempoolctl_cycles $n
check_eq "10 mempoolctl load/unload cycles, each verified" 10 echo $n

timed stress_concurrency
# --- 8 concurrent processes: hold/release/read/resize for a fixed count.
# Each records the CPU it ran each round on (field 39 of /proc/self/stat)
# and the operations that succeeded: the figures count what really ran.
check "load for concurrency" insmod $KO min_nr=4
rm -f /tmp/cpus.* /tmp/ops.*
for p in 1 2 3 4 5 6 7 8; do
	(
		j=0
		ops=0
		while [ $j -lt 25 ]; do
			echo 2 >$SYSFS/hold && ops=$((ops + 1))
			# Every 5th round through mempoolctl (its sysfs reads racing the
			# writers); the others read in_use with the shell's own read: a
			# process start costs tens of milliseconds under TCG.
			if [ $((j % 5)) -eq 0 ]; then
				mempoolctl stats >/dev/null && ops=$((ops + 1))
			else
				read -r in_use <$SYSFS/in_use && ops=$((ops + 1))
			fi
			echo 2 >$SYSFS/release && ops=$((ops + 1))
			echo $((2 + p % 3)) >$SYSFS/resize && ops=$((ops + 1))
			read -r st </proc/self/stat
			set -- $st
			echo "${39}" >>/tmp/cpus.$p
			j=$((j + 1))
		done
		echo $ops >/tmp/ops.$p
	) &
done
wait
ops=0
# A worker that wrote no count adds 0 (and fails the check), never an empty
# operand: that would be a syntax error ending this shell, PID 1.
for p in 1 2 3 4 5 6 7 8; do
	n=
	read -r n </tmp/ops.$p
	ops=$((ops + ${n:-0}))
done
figure concurrent_ops $ops
check_eq "concurrent: 800 operations succeeded" 800 echo $ops
online=$(grep -c '^processor' /proc/cpuinfo)
for c in $(cat /tmp/cpus.* | sort -un); do
	figure "rounds_on_cpu$c" "$(cat /tmp/cpus.* | grep -cx "$c")"
done
used=$(cat /tmp/cpus.* | sort -u | wc -l)
if [ "$used" -ge 2 ]; then
	report ok "concurrent: the 8 processes ran on $used CPUs"
else
	report fail "concurrent: the 8 processes ran on 2 or more CPUs" \
		"all rounds ran on $used CPU of $online online (boot with 2 or more vCPUs: mempoolctl vm --cpus 2)"
fi
check_value "concurrent: alloc_total 400" 400 $SYSFS/alloc_total
check_value "concurrent: free_total 400" 400 $SYSFS/free_total
check_value "concurrent: in_use 0" 0 $SYSFS/in_use
check_consistent "concurrent: counters consistent"

# --- unload while elements are held
check "hold 16 (beyond the reserve)" write_to $SYSFS/hold 16
check_consistent "holding: counters consistent"
check "unload while holding 16" mempoolctl unload
check_log "unload released all 16" "$MODULE: unload: released 16 held"
check_absent "slab cache gone" $SLAB

check_no_leaks "kmemleak: no leaks after stress"
