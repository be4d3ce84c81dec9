#!/bin/busybox sh
# PID 1 of the mempoolctl test guest: mount the pseudo filesystems, run
# /scenario.sh with the helpers of /lib/mempoolctl-test.sh, report, power off.
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
# The console is captured into logs: no colour escapes (the kernel sets TERM=linux).
export NO_COLOR=1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
grep -q ' /dev ' /proc/mounts || mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmpfs /tmp
# Results channel (second serial port): TAP lines and the verdict, kept apart
# from kernel messages, which only go to the console on ttyS0.
exec 3>/dev/ttyS1
# Console gets warnings and worse only: info lines would repeat what mempoolctl
# prints. finish() sends the whole kernel log to the results channel, which the
# host scans for reports too.
dmesg -n 5
[ -r /etc/mempoolctl-guest.env ] && . /etc/mempoolctl-guest.env
. /lib/mempoolctl-test.sh
echo "mempoolctl-guest: kernel $(uname -r), scenario starting"
read -r up _ </proc/uptime
figure seconds_boot_to_init "${up%.*}"
. /scenario.sh
finish
