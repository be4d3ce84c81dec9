# Helpers for guest scenarios (busybox sh). Each check is one TAP line on fd 3.
T=0
FAILED=0
KMEMLEAK=/sys/kernel/debug/kmemleak
SYSFS=/sys/kernel/rust_mempool

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
}

# check NAME CMD...: passes when CMD exits 0.
check() {
	name=$1
	shift
	echo "\$ $*"
	"$@"
	rc=$?
	if [ $rc -eq 0 ]; then report ok "$name"; else report fail "$name" "exit status $rc"; fi
}

# check_fails NAME CMD...: passes when CMD exits non-zero.
check_fails() {
	name=$1
	shift
	echo "\$ $*   (must fail)"
	"$@"
	rc=$?
	if [ $rc -ne 0 ]; then report ok "$name"; else report fail "$name" "succeeded but must fail"; fi
}

# check_eq NAME EXPECTED CMD...: passes when CMD prints exactly EXPECTED.
check_eq() {
	name=$1
	want=$2
	shift 2
	got=$("$@" 2>&1)
	echo "\$ $* -> $got"
	if [ "$got" = "$want" ]; then report ok "$name"; else report fail "$name" "expected '$want', got '$got'"; fi
}

# check_log NAME PATTERN: passes when the kernel log has a line matching PATTERN.
check_log() {
	if dmesg | grep -q -- "$2"; then report ok "$1"; else report fail "$1" "no kernel log line matches '$2'"; fi
}

# check_absent NAME PATH: passes when PATH does not exist.
check_absent() {
	if [ -e "$2" ]; then report fail "$1" "$2 still exists"; else report ok "$1"; fi
}

# Drop boot-time kmemleak noise; scans only on demand from here on.
kmemleak_reset() {
	[ -w $KMEMLEAK ] || return 0
	echo scan=off >$KMEMLEAK
	echo scan >$KMEMLEAK
	echo scan >$KMEMLEAK
	echo clear >$KMEMLEAK
}

# An object is reported once unreferenced for 5 s and seen by two scans.
check_no_leaks() {
	if [ ! -w $KMEMLEAK ]; then
		report fail "$1" "kmemleak not available in this kernel"
		return
	fi
	echo scan >$KMEMLEAK
	sleep 6
	echo scan >$KMEMLEAK
	leaks=$(cat $KMEMLEAK)
	if [ -z "$leaks" ]; then report ok "$1"; else
		echo "$leaks"
		report fail "$1" "kmemleak reports suspected leaks"
	fi
}

finish() {
	dmesg | sed 's/^/# kmsg /' >&3
	echo "1..$T" >&3
	if [ $FAILED -eq 0 ]; then verdict=pass; else verdict=fail; fi
	echo "VERDICT $verdict tests=$T failed=$FAILED" >&3
	echo "mempoolctl-guest: $verdict ($T checks, $FAILED failed)"
	sync
	reboot -f
}
