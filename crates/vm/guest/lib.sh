# Helpers for guest scenarios (busybox sh). Each check is one TAP line on fd 3.
T=0
FAILED=0
KMEMLEAK=/sys/kernel/debug/kmemleak
# The module under test (init sources /etc/mempoolctl-guest.env).
MODULE=${MODULE:-rust_mempool}
SYSFS=/sys/kernel/$MODULE
SLAB=/sys/kernel/slab/$MODULE
# `uname -r` without a process.
RELEASE=
read -r RELEASE 2>/dev/null </proc/sys/kernel/osrelease
KO=/lib/modules/$RELEASE/extra/$MODULE.ko
# The same module with another kernel's vermagic (written by the host).
BAD_KO=/lib/modules/$RELEASE/bad-vermagic/$MODULE.ko
BAD_INPUTS=0
# Where checks keep a command's output: the guest's own tmpfs (host tests of
# this library point it at their private directory).
SCRATCH=${SCRATCH:-/tmp}

# While SKIP_REASON is set, every check is reported as skipped with that
# reason and its command is not run: a part of a scenario this kernel cannot
# support (failslab, kmemleak) is counted and shown, never dropped.
SKIP_REASON=
SKIPPED=0
skip() { # NAME REASON
	T=$((T + 1))
	SKIPPED=$((SKIPPED + 1))
	echo "ok $T - $1 # SKIP $2" >&3
	clock_line
	echo ">>> skip $T - $1: $2"
}
skipping() { # NAME: true (and the check reported skipped) while SKIP_REASON is set
	[ -n "$SKIP_REASON" ] || return 1
	skip "$1" "$SKIP_REASON"
}

report() { # ok|fail NAME [DETAIL]
	T=$((T + 1))
	if [ "$1" = ok ]; then
		echo "ok $T - $2" >&3
		echo ">>> ok $T - $2"
	else
		FAILED=$((FAILED + 1))
		echo "not ok $T - $2 # $3" >&3
		echo ">>> NOT OK $T - $2: $3"
	fi
	clock_line
}

# clock_line: the guest's uptime on the results channel, at the scenario's
# start and after each check: the host times each check from these (JUnit's
# time, `mempoolctl vm`'s slowest checks).
clock_line() {
	uptime_cs
	echo "# uptime_cs $UPTIME_CS" >&3
}

# check NAME CMD...: passes when CMD exits 0.
check() {
	skipping "$1" && return 0
	name=$1
	shift
	echo "\$ $*"
	"$@"
	rc=$?
	if [ $rc -eq 0 ]; then report ok "$name"; else report fail "$name" "exit status $rc"; fi
}

# check_eq NAME EXPECTED CMD...: passes when CMD prints exactly EXPECTED.
check_eq() {
	skipping "$1" && return 0
	name=$1
	want=$2
	shift 2
	got=$("$@" 2>&1)
	echo "\$ $* -> $got"
	if [ "$got" = "$want" ]; then report ok "$name"; else report fail "$name" "expected '$want', got '$got'"; fi
}

# check_prints NAME CMD... -- PATTERN...: CMD exits 0 and, for each PATTERN
# (a shell glob matched against whole lines), prints a line matching it.
# Its output goes to a file and is matched by the shell itself: no `sh -c`,
# `tee` or `grep` processes around CMD.
check_prints() {
	skipping "$1" && return 0
	name=$1
	shift
	_k=0
	_shown=
	for _arg; do
		[ "$_arg" = -- ] && break
		_k=$((_k + 1))
		_shown="$_shown $_arg"
	done
	if [ $_k -ge $# ]; then
		report fail "$name" "check_prints: no -- before the patterns"
		return 0
	fi
	_cmd=
	_i=1
	while [ $_i -le $_k ]; do
		_cmd="$_cmd \"\${$_i}\""
		_i=$((_i + 1))
	done
	echo "\$$_shown"
	eval "$_cmd" >"$SCRATCH/prints.out" 2>&1
	rc=$?
	shift $((_k + 1))
	while IFS= read -r _line || [ -n "$_line" ]; do echo "$_line"; done <"$SCRATCH/prints.out"
	if [ $rc -ne 0 ]; then
		report fail "$name" "exit status $rc"
		return 0
	fi
	for _pat; do
		_found=
		while IFS= read -r _line || [ -n "$_line" ]; do
			case $_line in $_pat)
				_found=1
				break
				;;
			esac
		done <"$SCRATCH/prints.out"
		if [ -z "$_found" ]; then
			report fail "$name" "no line of its output matches '$_pat'"
			return 0
		fi
	done
	report ok "$name"
}

# log_count TEXT: prints how many kernel log lines contain TEXT (a fixed
# string); log_counts TEXT...: each count, space-separated.
log_count() {
	dmesg | grep -cF -- "$1"
}
log_counts() {
	_counts=
	for _text in "$@"; do
		_counts="$_counts $(log_count "$_text")"
	done
	echo ${_counts# }
}

# check_value NAME WANT FILE: FILE (one value, as a sysfs file holds) reads
# WANT. Read by the shell itself: a process costs about 0.1 s under TCG with
# KASAN and kmemleak.
check_value() {
	skipping "$1" && return 0
	slurp "$3" 2>/dev/null
	echo "\$ read $3 -> $OUT"
	if [ "$OUT" = "$2" ]; then report ok "$1"; else report fail "$1" "expected '$2', got '$OUT'"; fi
}

# check_log NAME PATTERN: passes when the kernel log has a line matching PATTERN.
check_log() {
	skipping "$1" && return 0
	if dmesg | grep -q -- "$2"; then report ok "$1"; else report fail "$1" "no kernel log line matches '$2'"; fi
}

# failure_status NAME RC: true when RC is an exit status a failing command
# can have (1..255). Otherwise the check NAME fails as malformed, and its
# caller runs nothing: a mistyped RC must never let a check pass.
failure_status() {
	case "$2" in
	'' | *[!0-9]*) ;;
	*) [ "$2" -ge 1 ] 2>/dev/null && [ "$2" -le 255 ] && return 0 ;;
	esac
	report fail "$1" "malformed check: '$2' is no exit status of a failing command (1..255)"
	return 1
}

# check_msg NAME RC TEXT CMD...: CMD must exit with status RC and its output
# contain TEXT (a fixed string; matched by the shell itself, no process
# besides CMD).
check_msg() {
	skipping "$1" && return 0
	name=$1
	want_rc=$2
	want=$3
	shift 3
	failure_status "$name" "$want_rc" || return 0
	"$@" >"$SCRATCH/msg.out" 2>&1
	rc=$?
	echo "\$ $*   (must fail with $want_rc: $rc)"
	slurp "$SCRATCH/msg.out"
	echo "$OUT"
	if [ $rc -eq 0 ]; then
		report fail "$name" "succeeded but must fail"
	elif [ $rc -ne "$want_rc" ]; then
		report fail "$name" "exit status $rc, expected $want_rc: $OUT"
	else
		case "$OUT" in
		*"$want"*) report ok "$name" ;;
		*) report fail "$name" "exit status $rc, but the output lacks '$want'" ;;
		esac
	fi
}

# Every readable value of the module and whether it and its cache exist, in
# $STATE. Shell builtins only: under TCG each process costs tens of
# milliseconds, and this runs twice per refused input.
state() {
	STATE=
	if [ -d $SYSFS ]; then
		# Own names: shell variables are global, and callers loop over f and v.
		for _state_f in min_nr curr_nr object_size cache_object_size cache_name \
			in_use alloc_total free_total bench_kmalloc_backend \
			alloc_failed reserve_served reserve_refilled bench_pairs \
			bench_mempool_min_ns bench_mempool_median_ns bench_cache_min_ns \
			bench_cache_median_ns bench_kmalloc_min_ns bench_kmalloc_median_ns \
			bench_mempool_only_pairs bench_mempool_only_min_ns \
			bench_mempool_only_median_ns; do
			_state_v=
			read -r _state_v <$SYSFS/$_state_f
			STATE="$STATE $_state_f=$_state_v"
		done
	fi
	[ -d /sys/module/$MODULE ] && STATE="$STATE module-loaded"
	[ -e $SLAB ] && STATE="$STATE slab"
}

# write_to FILE VALUE: the shell's own echo into FILE (no process; a refused
# write makes it exit 1 with the errno on stderr).
write_to() {
	echo "$2" >"$1"
}

# FILE's lines joined by spaces, in $OUT (builtins only).
slurp() {
	OUT=
	while IFS= read -r _slurp_line || [ -n "$_slurp_line" ]; do
		OUT="$OUT$_slurp_line "
	done <"$1"
	OUT=${OUT% }
}

# check_refused NAME RC REASON CMD...: CMD must exit with status RC, print
# REASON (each of its lines, fixed strings), and leave every value as it was.
# A bad input: counted in the bad_inputs figure when the check passes.
check_refused() {
	_refused_failed=$FAILED
	check_fails_cleanly "$@"
	# Counted once verified: refused with its status and reason, nothing changed.
	[ -n "$SKIP_REASON" ] || [ $FAILED -ne $_refused_failed ] || BAD_INPUTS=$((BAD_INPUTS + 1))
}

# check_fails_cleanly NAME RC REASON CMD...: as check_refused, for a good
# input that an injected fault makes fail (not counted as a bad input).
check_fails_cleanly() {
	skipping "$1" && return 0
	name=$1
	want_rc=$2
	want=$3
	shift 3
	failure_status "$name" "$want_rc" || return 0
	state
	before=$STATE
	"$@" >"$SCRATCH/refused.out" 2>&1
	rc=$?
	state
	slurp "$SCRATCH/refused.out"
	echo "\$ $*   (must be refused: $rc) $OUT"
	if [ $rc -eq 0 ]; then
		report fail "$name" "accepted"
	elif [ $rc -ne "$want_rc" ]; then
		report fail "$name" "exit status $rc, expected $want_rc: $OUT"
	else
		_lacks=
		while IFS= read -r _want; do
			case "$OUT" in *"$_want"*) ;; *) _lacks=$_want && break ;; esac
		done <<EOF
$want
EOF
		if [ -n "$_lacks" ]; then
			report fail "$name" "exit status $rc, but the output lacks '$_lacks': $OUT"
		elif [ "$before" != "$STATE" ]; then
			report fail "$name" "state changed:$before ->$STATE"
		else
			report ok "$name"
		fi
	fi
}

# Allocation profiling (CONFIG_MEM_ALLOC_PROFILING) counts the live bytes of
# every allocation site in /proc/allocinfo, the module's own sites marked
# "[$MODULE]": a count kept by the kernel, not by the module. The module's
# elements (allocated at its sites through mempool_create, mempool_alloc and
# their refills, each taking one slot of its cache: slab_size bytes) must
# number exactly curr_nr + in_use, whether the slab or the reserve served them.
ALLOCINFO=/proc/allocinfo
# check_elements NAME: that count equals curr_nr + in_use. A site's bytes are
# divided by the slot size, so its other allocations (mempool_create's pool
# and its array of pointers, the module's tables) must stay under one slot at
# each site: at 10240-byte objects they do.
check_elements() {
	skipping "$1" && return 0
	_profiling=0
	read -r _profiling 2>/dev/null </proc/sys/vm/mem_profiling
	if [ ! -r $ALLOCINFO ] || [ "$_profiling" != 1 ]; then
		skip "$1" "allocation profiling is not on in this kernel (CONFIG_MEM_ALLOC_PROFILING and vm.mem_profiling=1: the test kernel has both)"
		return 0
	fi
	_slot=0
	read -r _slot <$SLAB/slab_size
	if [ "$_slot" -le 0 ]; then
		report fail "$1" "no slot size in $SLAB/slab_size"
		return 0
	fi
	read -r _curr <$SYSFS/curr_nr
	read -r _used <$SYSFS/in_use
	_elements=0
	# One grep, not the shell's `read` over the whole file: that reads a byte
	# per system call, about 2 s for all of /proc/allocinfo under TCG. Exit 1
	# (no line) is a count of 0; 2 is an error.
	grep -F "[$MODULE]" $ALLOCINFO >"$SCRATCH/allocinfo.module"
	if [ $? -gt 1 ]; then
		report fail "$1" "could not read $ALLOCINFO"
		return 0
	fi
	# Lines: bytes calls file:line [module] func:name [accurate:no]
	while read -r _bytes _calls _site _mod _rest; do
		[ "$_mod" = "[$MODULE]" ] || continue
		echo "  $_bytes $_calls $_site $_rest"
		_elements=$((_elements + _bytes / _slot))
	done <"$SCRATCH/allocinfo.module"
	echo "\$ /proc/allocinfo: $_elements slots of $_slot B live at $MODULE's sites; curr_nr $_curr, in_use $_used"
	if [ "$_elements" -eq $((_curr + _used)) ]; then report ok "$1"; else
		report fail "$1" "the kernel counts $_elements elements, curr_nr + in_use = $((_curr + _used))"
	fi
}

# check_figures NAME PAIRS_FILE PAIRS PREFIX...: PAIRS_FILE holds PAIRS, and
# PREFIX_min_ns and PREFIX_median_ns hold one number each, 1 <= min <= median.
check_figures() {
	skipping "$1" && return 0
	name=$1
	pairs_file=$2
	want=$3
	shift 3
	slurp $SYSFS/$pairs_file
	if [ "$OUT" != "$want" ]; then
		report fail "$name" "$pairs_file is '$OUT', expected $want"
		return 0
	fi
	for _fig in "$@"; do
		slurp $SYSFS/${_fig}_min_ns
		min=$OUT
		slurp $SYSFS/${_fig}_median_ns
		med=$OUT
		echo "\$ $_fig: min $min, median $med ns per pair"
		case "$min,$med" in
		*[!0-9,]* | ,* | *,)
			report fail "$name" "$_fig: '$min' and '$med' must be one number each"
			return 0
			;;
		esac
		if [ "$min" -lt 1 ] || [ "$min" -gt "$med" ]; then
			report fail "$name" "$_fig: need 1 <= min ($min) <= median ($med)"
			return 0
		fi
	done
	report ok "$name"
}

# check_clock_rule NAME: `bench 1` (one pair, one chunk per contender) must
# obey the module's rule either way, judged from its own log line: refused
# with ERANGE when the shortest chunk spanned fewer than 100 clock steps,
# accepted when it spanned more. (Which one happens depends on how a pair's
# cost compares with a clock reading's on this kernel; a figure says which.)
check_clock_rule() {
	skipping "$1" && return 0
	if write_to $SYSFS/bench 1 2>"$SCRATCH/rule.err"; then
		line=$(dmesg | grep "$MODULE: bench: 1 pairs in 1 chunks" | tail -n 1)
		step=$(echo "$line" | sed -n 's/.*(clock step \([0-9]*\) ns).*/\1/p')
		took=$(echo "$line" | sed -n 's/.*mempool \([0-9]*\)\/.*cache \([0-9]*\)\/.*kmalloc \([0-9]*\)\/.*/\1 \2 \3/p' | tr ' ' '\n' | sort -n | head -n 1)
		verdict=accepted
	else
		grep -q "Numerical result out of range" "$SCRATCH/rule.err" || {
			report fail "$1" "refused, but not with ERANGE: $(cat "$SCRATCH/rule.err")"
			return 0
		}
		line=$(dmesg | grep "$MODULE: bench: a chunk of 1 pairs took" | tail -n 1)
		step=$(echo "$line" | sed -n 's/.* steps of the clock (\([0-9]*\) ns each).*/\1/p')
		took=$(echo "$line" | sed -n 's/.* took \([0-9]*\) ns, .*/\1/p')
		verdict=refused
	fi
	# Refused stores nothing (bench_pairs stays 0 on this fresh load), accepted 1.
	pairs=
	read -r pairs <$SYSFS/bench_pairs
	echo "\$ bench 1: $verdict, shortest chunk $took ns, clock step $step ns, bench_pairs $pairs: $line"
	figure "bench_1_$verdict" 1
	case "$step,$took" in
	*[!0-9,]* | ,* | *,) report fail "$1" "no figures in the log line: '$line'" ;;
	*)
		if [ "$step" -lt 1 ]; then
			report fail "$1" "$verdict with a clock step of $step ns: a clock that never moved times nothing"
		elif [ "$pairs" != "$([ $verdict = accepted ] && echo 1 || echo 0)" ]; then
			report fail "$1" "$verdict, but bench_pairs is '$pairs'"
		elif [ $verdict = refused ] && [ "$took" -lt $((100 * step)) ]; then
			report ok "$1"
		elif [ $verdict = accepted ] && [ "$took" -ge $((100 * step)) ]; then
			report ok "$1"
		else
			report fail "$1" "$verdict although its chunk of $took ns is $((took / step)) steps of $step ns"
		fi
		;;
	esac
}

# check_consistent NAME: the counters agree (alloc_total - free_total = in_use).
check_consistent() {
	skipping "$1" && return 0
	a=
	f=
	u=
	read -r a <$SYSFS/alloc_total
	read -r f <$SYSFS/free_total
	read -r u <$SYSFS/in_use
	if [ -n "$a" ] && [ -n "$f" ] && [ -n "$u" ] && [ $((a - f)) -eq "$u" ]; then report ok "$1"; else
		report fail "$1" "alloc_total $a - free_total $f != in_use $u"
	fi
}

# figure NAME N: a count for the host's summary (summed over suites).
figure() {
	echo "# figure $1=$2" >&3
}

# uptime_cs: UPTIME_CS set to the time since boot in hundredths of a second.
uptime_cs() {
	# 0 where there is no /proc (cargo xtask count-checks' sandbox).
	UPTIME_CS=0.00
	read -r UPTIME_CS _ </proc/uptime
	centiseconds "${UPTIME_CS:-0.00}"
}

# centiseconds SECONDS: UPTIME_CS set to SECONDS ("0.97", /proc/uptime's two
# decimals) in hundredths, as a plain decimal. Gluing the digits ("097")
# would be octal to $(( )): a syntax error that ends this shell, PID 1,
# whenever `timed` (a scenario's start, `finish`) or another clock sum ran in
# the first second of a fast boot.
centiseconds() {
	UPTIME_CS=$((${1%.*} * 100 + 1${1#*.} - 100))
}

# sleep_until CS: sleeps until the uptime reaches CS hundredths of a second.
sleep_until() {
	uptime_cs
	[ "$1" -gt "$UPTIME_CS" ] || return 0
	sleep $((($1 - UPTIME_CS) / 100)).$(printf %02d $((($1 - UPTIME_CS) % 100)))
}

# forks_since_boot: FORKS set to the processes (and threads) the kernel has
# created since boot, from /proc/stat (shell builtins only: no process).
forks_since_boot() {
	while read -r key FORKS _; do
		[ "$key" = processes ] && return 0
	done </proc/stat
	FORKS=0
}

# timed NAME: guest seconds from here to the next `timed` (or the verdict)
# become the figure seconds_NAME, and the processes started meanwhile
# processes_NAME: where the scenario's time goes (under TCG with KASAN a
# process start costs about 0.1 s).
PHASE=
PHASE_T0=0
PHASE_F0=0
timed() {
	uptime_cs
	up=$((UPTIME_CS / 100))
	forks_since_boot
	if [ -n "$PHASE" ]; then
		figure "seconds_$PHASE" $((up - PHASE_T0))
		figure "processes_$PHASE" $((FORKS - PHASE_F0))
	fi
	PHASE=$1
	PHASE_T0=$up
	PHASE_F0=$FORKS
}

# kallsyms_ranges NAME...: the address ranges of the kernel's functions NAME
# into $RANGES, from one read of $KALLSYMS, which lists the kernel's symbols
# in address order: grep picks each function's line and the three after it.
# (Under TCG with KASAN the read alone takes about 3 s, one full busybox awk
# scan about 6 s; faults' init-fault checks took 12-16 s with an awk per
# range, 7 s with this.) Lines: "NAME START END" (END the next address above
# START; a function followed by more than three aliases gets none),
# "top ADDRESS" (_end: the kernel image's end; modules live above it),
# "text_top ADDRESS" (_einittext, for a kernel without CONFIG_KALLSYMS_ALL,
# which lists no _end) and "errname" if the kernel has that function.
KALLSYMS=/proc/kallsyms
RANGES="$SCRATCH/kallsyms.ranges"
kallsyms_ranges() {
	_names="_end|_einittext|errname"
	for _fn; do _names="$_names|$_fn"; done
	grep -E -A3 " ($_names)\$" $KALLSYMS | awk -v names="$*" '
		BEGIN { n = split(names, w, " "); for (i = 1; i <= n; i++) want[w[i]] = 1 }
		$1 == "--" { open = ""; next }
		open != "" && $1 != at {
			n = split(open, o, " ")
			for (i = 1; i <= n; i++) print o[i], at, $1
			open = ""
		}
		($3 in want) && !($3 in seen) { seen[$3] = 1; at = $1; open = open " " $3 }
		$3 == "_end" && NF == 3 { print "top", $1 }
		$3 == "_einittext" && NF == 3 { print "text_top", $1 }
		$3 == "errname" { print "errname" }' >$RANGES
}

# check_absent NAME PATH: passes when PATH does not exist.
check_absent() {
	skipping "$1" && return 0
	if [ -e "$2" ]; then report fail "$1" "$2 still exists"; else report ok "$1"; fi
}

# kmemleak scans only when a check asks (a kernel built with auto-scan would
# otherwise scan in the middle of one). No scans to drop boot-time suspects:
# any scan that finds one logs "N new suspected memory leaks", which fails
# the run wherever it appears, so such a reset hid nothing and cost two
# scans (4-6 s each under TCG with a 512 MiB guest).
kmemleak_on_demand() {
	[ -w $KMEMLEAK ] || return 0
	echo scan=off >$KMEMLEAK
}

# An object is reported once unreferenced for 5 s, and only if the last of
# two scans still finds it unreferenced. With DEFER_LEAK_SCAN set (the `all`
# scenario), the suites' own scans wait for one check at the end, which sees
# every suite's leaks (two scans and the wait: 9–14 s under KASAN and TCG).
check_no_leaks() {
	[ -z "$DEFER_LEAK_SCAN" ] || return 0
	timed kmemleak
	if [ ! -w $KMEMLEAK ]; then
		skip "$1" "kmemleak is not in this kernel (CONFIG_DEBUG_KMEMLEAK: the test kernel has it, distribution kernels do not)"
		return
	fi
	# The second scan starts once everything the scenario allocated before
	# the first is 5 s old (kmemleak's minimum age, counted to a scan's
	# start): the first scan's own seconds count towards the wait.
	uptime_cs
	first=$UPTIME_CS
	echo scan >$KMEMLEAK
	sleep_until $((first + 520))
	echo scan >$KMEMLEAK
	leaks=$(cat $KMEMLEAK)
	if [ -z "$leaks" ]; then
		figure leaks_found 0
		report ok "$1"
	else
		echo "$leaks"
		figure leaks_found "$(echo "$leaks" | grep -c '^unreferenced object')"
		report fail "$1" "kmemleak reports suspected leaks"
	fi
	echo clear >$KMEMLEAK
}

finish() {
	timed ""
	dmesg | sed 's/^/# kmsg /' >&3
	echo "1..$T" >&3
	if [ $FAILED -eq 0 ]; then verdict=pass; else verdict=fail; fi
	echo "VERDICT $verdict tests=$T failed=$FAILED" >&3
	# $FINISHED: the host gives QEMU a grace to exit from here on.
	echo "$FINISHED $verdict ($T checks, $FAILED failed, $SKIPPED skipped)"
	sync
	reboot -f
}
