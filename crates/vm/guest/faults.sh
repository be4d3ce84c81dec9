# faults: every bad input gets a clear error and changes nothing; the mempool
# guarantee under failslab; non-root users; random bytes at every control file.
timed faults
kmemleak_on_demand

# --- bad load parameters, straight to the kernel: refused, nothing half-loaded
for p in min_nr=0 min_nr=-1 min_nr=4097 min_nr=2147483648 min_nr=abc min_nr= min_nr=6x object_size=0 object_size=7 object_size=99999999 object_size=abc "min_nr=4096 object_size=131072"; do
	check_refused "insmod $p refused: EINVAL" 22 "Invalid argument" insmod $KO $p
	check_absent "no cache left after $p" $SLAB
done
check_log "min_nr=0: the module names parameter and range" "$MODULE: invalid min_nr=0: allowed range is 1..=4096"
check_log "object_size=0: the module names parameter and range" "$MODULE: invalid object_size=0: allowed range is 8..=131072"
check_log "oversized reserve explained" "exceeds 67108864"
check_log "min_nr=abc: refused by the kernel's parameter parser" "\`abc' invalid for parameter \`min_nr'"

# --- the same through mempoolctl: refused before the kernel, with the range
# (four of them are usage errors, exit 2, that never reach the range check)
check_refused "mempoolctl load --min-nr 0: out of range" 1 "min_nr=0 is out of range: allowed 1..=4096" mempoolctl load --min-nr 0
check_refused "mempoolctl load --min-nr 2147483648: out of range" 1 "min_nr=2147483648 is out of range" mempoolctl load --min-nr 2147483648
check_refused "mempoolctl load --object-size 0: out of range" 1 "object_size=0 is out of range: allowed 8..=131072 bytes" mempoolctl load --object-size 0
check_refused "mempoolctl load --object-size 99999999: out of range" 1 "object_size=99999999 is out of range" mempoolctl load --object-size 99999999
check_refused "mempoolctl load: a reserve above 64 MiB" 1 "bytes of reserve exceeds the 67108864-byte limit" mempoolctl load --min-nr 4096 --object-size 131072
check_refused "mempoolctl load --min-nr -1: usage error" 2 "unexpected argument '-1' found" mempoolctl load --min-nr -1
check_refused "mempoolctl load --min-nr abc: usage error" 2 "invalid value 'abc' for '--min-nr" mempoolctl load --min-nr abc
check_refused "mempoolctl load --min-nr=: usage error" 2 "'--min-nr" mempoolctl load --min-nr=
check_refused "mempoolctl load --object-size x: usage error" 2 "invalid value 'x' for '--object-size" mempoolctl load --object-size x
check_msg "a bad MEMPOOLCTL_MIN_NR names its source" 1 "from \$MEMPOOLCTL_MIN_NR" env MEMPOOLCTL_MIN_NR=9999 mempoolctl load
check_msg "wrong vermagic: ENOEXEC with both vermagics" 1 "the kernel's vermagic:" mempoolctl load --ko $BAD_KO
check_msg "wrong vermagic: the .ko's vermagic shown too" 1 "the .ko's vermagic:" mempoolctl load --ko $BAD_KO
check_absent "nothing loaded by the bad .ko" /sys/module/$MODULE
check_msg "missing .ko: named, with the fix" 1 "mempoolctl build" mempoolctl load --ko /nonexistent.ko
check_msg "unload when absent" 1 "is not loaded" mempoolctl unload
check_msg "rmmod when absent: ENOENT" 1 "can't unload module '$MODULE': No such file or directory" rmmod $MODULE

# --- loading twice: EEXIST with the current parameters
check "load min_nr=5" mempoolctl load --min-nr 5 --object-size 4096
check_msg "load twice: shows the loaded parameters" 1 "loaded now with min_nr=5 object_size=4096" mempoolctl load --min-nr 6
check_refused "insmod twice refused: EEXIST" 17 "File exists" insmod $KO
check_value "still min_nr 5" 5 $SYSFS/min_nr

# --- refused writes right after the load, in the rate limit's first window
# (nothing has been refused by this module instance yet): logged with their
# reason (the lines are counted, as earlier loads logged the same ones)
check "hold 2 so release has something" write_to $SYSFS/hold 2
resize_refusals=$(log_count "$MODULE: resize: invalid input (2 bytes): expected a min_nr 1..=4096")
release_refusals=$(log_count "$MODULE: release: 3 requested but only 2 held")
check_refused "release more than held: EINVAL" 1 "Invalid argument" write_to $SYSFS/release 3
check_refused "resize 0 (mempool_resize would hit its BUG_ON): EINVAL" 1 "Invalid argument" write_to $SYSFS/resize 0
check_refused "hold above 65536: EINVAL" 1 "Invalid argument" write_to $SYSFS/hold 65537
check_refused "release above 65536: EINVAL" 1 "Invalid argument" write_to $SYSFS/release 65537
check_refused "resize above 4096: EINVAL" 1 "Invalid argument" write_to $SYSFS/resize 4097
check_refused "bench above 1000000: EINVAL" 1 "Invalid argument" write_to $SYSFS/bench 1000001
check_refused "bench_mempool above 1000000: EINVAL" 1 "Invalid argument" write_to $SYSFS/bench_mempool 1000001
check_refused "mempoolctl resize 0 refused before the kernel: usage error" 2 "invalid value '0' for '<MIN_NR>': 0 is not in 1..=4096" mempoolctl resize 0
check_refused "mempoolctl release garbage: usage error" 2 "release takes a count 1..=65536 or \`all\`" mempoolctl release lots
check_eq "a refused write is logged with its reason" $((resize_refusals + 1)) log_count "$MODULE: resize: invalid input (2 bytes): expected a min_nr 1..=4096"
check_eq "releasing more than held is logged with both counts" $((release_refusals + 1)) log_count "$MODULE: release: 3 requested but only 2 held"

# --- floods (shell builtins: no process per write): every line a write causes
# is rate-limited, 10 per 5 s for all control files together, so a burst logs
# at most 10 per window it touches. The first flood starts in the window of
# the refusals above (at most 7 of its 10 used) or a later one: it logs at
# least one line; the second may find that window used up.
flood_total=0
check_flood() { # NAME FILE VALUE PATTERN [LEAST]
	skipping "$1" && return 0
	before=$(log_count "$4")
	uptime_cs
	t0=$UPTIME_CS
	i=0
	# One open file for all 300 write(2)s: sysfs hands each to the store
	# function whole, and a kernfs open under TCG with KASAN costs more than
	# the write. On the loop, not `exec`: a failed open then skips the loop
	# (and fails the check) instead of ending this shell, PID 1.
	while [ $i -lt 300 ]; do
		echo "$3" 2>/dev/null >&4
		i=$((i + 1))
	done 4>$SYSFS/$2
	uptime_cs
	flood_end=$UPTIME_CS
	logged=$(($(log_count "$4") - before))
	most=$((10 * ((UPTIME_CS - t0) / 500 + 2)))
	flood_total=$((flood_total + i))
	if [ $i -ne 300 ]; then
		report fail "$1" "could not write to $SYSFS/$2"
	elif [ $logged -ge "${5:-0}" ] && [ $logged -le $most ]; then
		report ok "$1: $i writes log $logged lines (at most $most in $((UPTIME_CS - t0)) cs)"
	else
		report fail "$1" "$i writes logged $logged lines, expected ${5:-0}..=$most in $((UPTIME_CS - t0)) cs"
	fi
}
check_flood "a burst of bad input is rate-limited" hold flood "$MODULE: hold: invalid input" 1
check_flood "a burst of failing writes (release 99 of 2 held) is rate-limited" release 99 "$MODULE: release: 99 requested but only 2 held"

# --- garbage at every control file: EINVAL, nothing changed (written with the
# shell's echo, which reports a failed write; its printf only exits 1)
LONG=$(head -c 5000 /dev/zero | tr '\0' 7)
# 20 held: a release that parsed leniently (12abc as 12, " 7", 0x10, a count
# wrapped modulo 2^32 to 6) would succeed instead of being refused.
check "hold 18 more: 20 held while release gets garbage" write_to $SYSFS/hold 18
for f in hold release resize bench bench_mempool; do
	for v in abc "" -1 0 12abc 0x10 " 7" "4 4" 99999999999999999999 4294967302 "$LONG"; do
		shown=$v
		[ ${#v} -gt 24 ] && shown=${v%"${v#????????????????????????}"}
		check_refused "$f refuses '$shown': EINVAL" 1 "Invalid argument" write_to $SYSFS/$f "$v"
	done
done
check_consistent "counters consistent after bad writes"
check_value "still 20 held after the garbage" 20 $SYSFS/in_use

# --- unload while a sysfs file is open: the file goes stale, nothing crashes
exec 5<$SYSFS/in_use
check "unload while a stats file is open" mempoolctl unload
check_fails_cleanly "the stale file refuses reads: ENODEV" 1 "No such device" sh -c "cat <&5"
exec 5<&-

# --- a non-root user: refused with the reason, nothing changed
echo 1 >/proc/sys/kernel/dmesg_restrict
check_msg "non-root load: EPERM explained (no CAP_SYS_MODULE)" 1 "needs CAP_SYS_MODULE, which this process lacks; fix: run as root" su -s /bin/sh nobody -c "mempoolctl load --ko $KO"
check_absent "non-root load changed nothing" /sys/module/$MODULE
check "load as root" insmod $KO
check_msg "non-root unload: EPERM explained" 1 "needs root or CAP_SYS_MODULE" su -s /bin/sh nobody -c "mempoolctl unload"
check_msg "non-root hold: control files are root-only" 1 "writable by root only" su -s /bin/sh nobody -c "mempoolctl hold 1"
check_msg "non-root log under dmesg_restrict" 1 "dmesg_restrict" su -s /bin/sh nobody -c "mempoolctl log"
check_msg "non-root log --follow under dmesg_restrict: the same reason" 1 "dmesg_restrict" su -s /bin/sh nobody -c "mempoolctl log --follow"
check "non-root can read stats" su -s /bin/sh nobody -c "mempoolctl stats"
check_value "nothing held after the non-root attempts" 0 $SYSFS/in_use
echo 0 >/proc/sys/kernel/dmesg_restrict
check "unload after the non-root checks" rmmod $MODULE

# --- the mempool guarantee: with the slab failing 100% (failslab on this cache
# only), exactly min_nr allocations still succeed, from the reserve
FS=/sys/kernel/debug/failslab
[ -d $FS ] || SKIP_REASON="failslab is not in this kernel (CONFIG_FAILSLAB: the test kernel has it, distribution kernels do not)"
check "load for the guarantee" insmod $KO min_nr=6
check "failslab: fail every allocation from $MODULE" sh -c "
	echo Y > $FS/cache-filter && echo 1 > $SLAB/failslab &&
	echo N > $FS/task-filter && echo 0 > $FS/space && echo 1 > $FS/interval &&
	echo -1 > $FS/times && echo 0 > $FS/verbose && echo 100 > $FS/probability"
check_msg "hold 7 with the slab failing: the 7th fails cleanly (ENOMEM)" 1 "pool is exhausted" mempoolctl hold 7
check_value "exactly min_nr elements were served" 6 $SYSFS/in_use
check_value "all of them from the reserve" 6 $SYSFS/reserve_served
check_value "reserve empty" 0 $SYSFS/curr_nr
check_value "one failed allocation counted" 1 $SYSFS/alloc_failed
check_elements "allocation profiling: still the reserve's 6 elements, none new"
check "release all with the slab still failing" write_to $SYSFS/release all
check_value "frees refilled the reserve" 6 $SYSFS/curr_nr
check_value "reserve_refilled 6" 6 $SYSFS/reserve_refilled
check "bench_mempool with the slab failing: the reserve path" sh -c "echo 2000 > $SYSFS/bench_mempool && grep -qx 2000 $SYSFS/bench_mempool_only_pairs"
check_value "the reserve is full again after it" 6 $SYSFS/curr_nr
check_fails_cleanly "bench with the slab failing: its raw-cache contender cannot allocate (ENOMEM)" 1 "Cannot allocate memory" write_to $SYSFS/bench 10
# reserve_served and reserve_refilled count hold and release only (the ABI
# says so): bench's pairs move the reserve without being counted.
check_value "bench_mempool's pairs are not counted: reserve_served still 6" 6 $SYSFS/reserve_served
check "hold 6 with the slab failing: from the reserve again" write_to $SYSFS/hold 6
check_value "reserve empty again" 0 $SYSFS/curr_nr
check "failslab off" sh -c "echo 0 > $FS/probability && echo 0 > $SLAB/failslab && echo N > $FS/cache-filter"
check "bench_mempool 2000 with the slab healthy" write_to $SYSFS/bench_mempool 2000
check_value "its frees refilled the reserve: curr_nr 6" 6 $SYSFS/curr_nr
check_value "not counted: reserve_refilled still 6" 6 $SYSFS/reserve_refilled
check "release all: the slab takes them back" write_to $SYSFS/release all
check_eq "reserve_refilled still 6, curr_nr 6" "6 6" sh -c "echo \$(cat $SYSFS/reserve_refilled $SYSFS/curr_nr)"
check "hold 3 with the slab healthy" write_to $SYSFS/hold 3
check_value "slab served them: reserve_served unchanged (12)" 12 $SYSFS/reserve_served
check_value "reserve still full" 6 $SYSFS/curr_nr
check_elements "allocation profiling: 6 in the reserve and 3 new from the slab"
check "unload after the guarantee test" mempoolctl unload
SKIP_REASON=

# --- init's failure paths, each provoked once: the first slab allocation
# made under one kernel function fails (fail-nth 1, with failslab's stack
# filter set to that function's addresses; the module loader's own sysfs work
# excluded), during a `mempoolctl load`. Refused with ENOMEM and the module's
# reason, nothing left behind (module, slab cache, sysfs directory), no
# "unload:" line. A leak of the cache's objects (the reserve) shows at
# kmem_cache_destroy (a console report fails the run); kmalloc'd memory has
# only the kmemleak scan at the end, which can miss it: a shim that kept its
# attribute table on the kcalloc path below passed it (a stale copy of the
# pointer elsewhere still referenced it).
[ -e /proc/self/fail-nth ] && [ -e $FS/require-start ] ||
	SKIP_REASON="fail-nth with failslab's stack filter is not in this kernel (CONFIG_FAULT_INJECTION_STACKTRACE_FILTER: the test kernel has it, distribution kernels do not)"
[ -n "$SKIP_REASON" ] || kallsyms_ranges mod_sysfs_setup __kmem_cache_create_args \
	mempool_init_node kobject_create_and_add internal_create_group mempool_resize
# filter_on require|reject FIRST [LAST]: failslab's stack filter range set to
# the addresses from FIRST's start to LAST's end (default: FIRST's own).
filter_on() {
	_start=
	_end=
	while read -r _fn _s _e; do
		[ "$_fn" = "$2" ] && _start=$_s
		[ "$_fn" = "${3:-$2}" ] && _end=$_e
	done <$RANGES
	[ -n "$_start" ] && [ -n "$_end" ] && echo 0x$_start >$FS/$1-start && echo 0x$_end >$FS/$1-end
}
# filter_on_modules: failslab's require range set to the addresses above the
# kernel image, where modules live: a fault only where module code is on the
# stack.
filter_on_modules() {
	_top=
	_text_top=
	while read -r _fn _a; do
		[ "$_fn" = top ] && _top=$_a
		[ "$_fn" = text_top ] && _text_top=$_a
	done <$RANGES
	_top=${_top:-$_text_top}
	[ -n "$_top" ] && echo 0x$_top >$FS/require-start && echo 0xffffffffffffffff >$FS/require-end
}
# check_init_fault NAME FUNCTION|modules REASON: see above.
check_init_fault() {
	skipping "$1" && return 0
	if [ "$2" = modules ]; then filter_on_modules; else filter_on require "$2"; fi || {
		report fail "$1" "no address range for $2 in /proc/kallsyms (is it among kallsyms_ranges' names?)"
		return 0
	}
	check_fails_cleanly "$1" 1 "the kernel ran out of memory loading the module
the kernel said: $3" sh -c "echo 1 >/proc/self/fail-nth && exec mempoolctl load --min-nr 2 --object-size 64"
}
# with_stack_report CMD...: CMD run with failslab reporting its fault with the
# stack (verbose 2), the kernel's witness of where the fault was.
with_stack_report() {
	[ -n "$SKIP_REASON" ] || echo 2 >$FS/verbose
	"$@"
	[ -n "$SKIP_REASON" ] || echo 0 >$FS/verbose
}
init_faults_setup() {
	echo N >$FS/ignore-gfp-wait && echo N >$FS/cache-filter && echo N >$FS/task-filter &&
		echo 0 >$FS/probability && echo 0 >$FS/verbose && filter_on reject mod_sysfs_setup
}
# What %pe prints for ENOMEM: its name where the kernel has the table of names
# (CONFIG_SYMBOLIC_ERRNAME: errname() in /proc/kallsyms), else the number.
PE_ENOMEM=-12
[ -n "$SKIP_REASON" ] || ! grep -qx errname $RANGES || PE_ENOMEM=-ENOMEM
check "init faults: set up (fail-nth only; the module loader's sysfs excluded)" init_faults_setup
unload_lines=$(log_count "$MODULE: unload: released")
check_init_fault "init fails in kmem_cache_create: ENOMEM, the module's reason, nothing left" __kmem_cache_create_args "$MODULE: kmem_cache_create(\"$MODULE\", 64) failed"
check_init_fault "init fails in mempool_create: ENOMEM, the module's reason, nothing left" mempool_init_node "$MODULE: mempool_create(2) failed: could not preallocate the reserve"
check_init_fault "init fails creating its sysfs directory: ENOMEM, the module's reason, nothing left" kobject_create_and_add "$MODULE: creating /sys/kernel/\"$MODULE\" failed: $PE_ENOMEM"
# Its files: the first allocation under internal_create_group (what
# sysfs_create_group tail-calls). The loader's and the slab allocator's own
# groups (mod_sysfs_setup; kmem_cache_create's sysfs_slab_add) go through it
# too, so one reject range spans from mod_sysfs_setup to the end of
# __kmem_cache_create_args (kernel/ is linked before mm/; the module's own
# path, from do_init_module to kernfs and SLUB, lies outside it).
check "init faults: the loader's and the slab allocator's sysfs excluded" filter_on reject mod_sysfs_setup __kmem_cache_create_args
# (a stack's reliable frames only: "?" marks a guess of the unwinder)
group_faults=$(log_count "]  internal_create_group+")
with_stack_report check_init_fault "init fails creating its sysfs files: ENOMEM, the module's reason, nothing left" internal_create_group "$MODULE: creating /sys/kernel/\"$MODULE\" failed: $PE_ENOMEM"
check_eq "failslab's report shows that fault under internal_create_group" $((group_faults + 1)) log_count "]  internal_create_group+"
# The module's first allocation of its own (kmem_cache_create's and
# mempool_create's excluded by the same reject range): any allocation with
# module code on the stack. rust_mempool's is the shim's attribute table
# (kcalloc, before the directory); the C twin's table is static, so its first
# is the directory, checked above.
own_skip=$SKIP_REASON
[ "$MODULE" = rust_mempool ] ||
	SKIP_REASON=${SKIP_REASON:-"the C twin's attribute table is static: its first allocation of its own is the directory's, checked above"}
table_faults=$(log_count "]  rmp_sysfs_create+")
dir_faults=$(log_count "]  kobject_create_and_add+")
with_stack_report check_init_fault "init fails allocating its attribute table: ENOMEM, the module's reason, nothing left" modules "$MODULE: creating /sys/kernel/\"$MODULE\" failed: $PE_ENOMEM"
check_eq "failslab's report shows that fault in the shim's rmp_sysfs_create, before any kobject" "$((table_faults + 1)) $dir_faults" log_counts "]  rmp_sysfs_create+" "]  kobject_create_and_add+"
SKIP_REASON=$own_skip
check "init faults: only the loader's sysfs excluded again" filter_on reject mod_sysfs_setup
check_eq "no failed init logs an \"unload:\" line" "$unload_lines" log_count "$MODULE: unload: released"
# The same injection on a control file: mempool_resize's first allocation.
check "load for the resize fault" insmod $KO min_nr=2 object_size=64
check "resize fault: fail-nth within mempool_resize" filter_on require mempool_resize
check_fails_cleanly "resize 100 with its allocation failing: ENOMEM, min_nr unchanged" 1 "Cannot allocate memory" sh -c "echo 1 >/proc/self/fail-nth && echo 100 >$SYSFS/resize"
check_log "the failing mempool_resize is named, as %pe prints it" "$MODULE: resize: mempool_resize(100) failed: $PE_ENOMEM"
check "unload after the resize fault" mempoolctl unload
check "init faults: failslab as it was" sh -c "
	echo 0 >$FS/require-start && echo 0xffffffffffffffff >$FS/require-end &&
	echo 0 >$FS/reject-start && echo 0 >$FS/reject-end && echo Y >$FS/ignore-gfp-wait"
SKIP_REASON=

# --- what all holds pin together is capped (256 MiB), not only each write:
# 2048 elements of 128 KiB, 256 MiB of objects, are above the cap with their
# pointers, and refused before anything is allocated
check "load with 128 KiB objects" insmod $KO min_nr=1 object_size=131072
check "hold 2 x 128 KiB" write_to $SYSFS/hold 2
check_refused "2046 more (2048 in all: 256 MiB of objects, above the cap with their pointers): ENOSPC" 1 "No space left on device" write_to $SYSFS/hold 2046
# 2048 x (131072 + 8): each element with its pointer in the held array
check_log "the cap is named in the log" "$MODULE: hold: 2046 more would pin 268451840 bytes with their pointers, above the 268435456-byte cap"
check_refused "mempoolctl hold 2046: the cap explained" 1 "256 MiB cap" mempoolctl hold 2046
check_refused "resize 4096 x 128 KiB (a 512 MiB reserve): EINVAL" 1 "Invalid argument" write_to $SYSFS/resize 4096
check_flood "a burst of resizes above the reserve cap is rate-limited" resize 4096 "$MODULE: invalid min_nr=4096 with object_size=131072"
# The limit reports what it dropped when a later call finds the window over:
# one more refused write once the burst's last window has surely ended (5 s
# after the burst's end, which check_flood left in flood_end).
sleep_until $((flood_end + 510))
echo flood 2>/dev/null >$SYSFS/hold
check_log "the rate limit names the module when it drops lines" "$MODULE: [0-9]* callbacks suppressed"
figure flood_writes $flood_total
check "unload while holding 2" mempoolctl unload

# --- one rate limit for all control files: right after a load (the limit's
# first window, nothing refused yet), 6 bad writes at hold and 6 at release,
# interleaved, log 10 lines in all; a limit per file would log all 12
check "load for the shared rate limit" insmod $KO min_nr=2 object_size=64
set -- $(log_counts "$MODULE: hold: invalid input" "$MODULE: release: invalid input")
shared_before=$(($1 + $2))
for f in hold release hold release hold release hold release hold release hold release; do
	echo x 2>/dev/null >$SYSFS/$f
done
shared_logged() {
	set -- $(log_counts "$MODULE: hold: invalid input" "$MODULE: release: invalid input")
	echo $(($1 + $2 - shared_before))
}
check_eq "12 bad writes at two files log 10 lines: one limit for all control files" 10 shared_logged
check "unload after the shared rate limit" rmmod $MODULE

# --- random bytes at every control file (bounded): refused or applied, never a splat
check "load small for random writes" insmod $KO min_nr=4 object_size=64
# One `od` reads all the bytes; the shell's own printf writes each payload
# (one write(2) each, no process per write: under TCG with KASAN a process
# start costs about 0.1 s), into one open file per control file, as the
# floods do. Each line: 40 random bytes as octal numbers.
od -An -v -to1 -w40 -N4000 /dev/urandom >/tmp/random.octal
refusals=$(log_count "$MODULE: hold: invalid input (")
n=0
for f in hold release resize bench bench_mempool; do
	i=0
	while [ $i -lt 20 ] && read -r bytes; do
		# The shell's $RANDOM for the length (1-40 bytes), each byte as \NNN.
		len=$((RANDOM % 40 + 1))
		payload=
		for b in $bytes; do
			[ $len -gt 0 ] || break
			payload="$payload\\$b"
			len=$((len - 1))
		done
		printf "$payload" >&4 2>/dev/null
		i=$((i + 1))
		n=$((n + 1))
	done 4>$SYSFS/$f
done </tmp/random.octal
rm -f /tmp/random.octal
# The writes reached the module: it logged refusing some (the first 10 of a
# load are logged; a random payload parses as a count about once in 1000).
refusals=$(($(log_count "$MODULE: hold: invalid input (") - refusals))
echo "random writes: $refusals new 'hold: invalid input' lines"
check "random bytes reached the module: it logged refusing them at hold" [ $refusals -ge 1 ]
# Their results are not looked at one by one (only that nothing broke): their
# own figure, not counted as verified bad inputs.
figure random_writes $n
check_consistent "random bytes: counters consistent"
check "random bytes: module still answers" mempoolctl stats
check "unload after random bytes" mempoolctl unload

figure bad_inputs $BAD_INPUTS
check_no_leaks "kmemleak: no leaks after faults"
