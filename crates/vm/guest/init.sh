#!/bin/busybox sh
# PID 1 of the mempoolctl test guest: mount the pseudo filesystems, run
# /scenario.sh with the helpers of /lib/mempoolctl-test.sh, report, power off.
# The host links every applet into /bin; install them here only if it could not.
[ -e /bin/mount ] || /bin/busybox --install -s /bin
export PATH=/bin:/sbin
# The console is captured into logs: no colour escapes (the kernel sets TERM=linux).
export NO_COLOR=1
# One process for all of /etc/fstab (under TCG each process start costs ~0.1 s).
mount -a
# Results channel (second serial port): TAP lines and the verdict, kept apart
# from kernel messages, which only go to the console on ttyS0.
exec 3>/dev/ttyS1
# Console gets warnings and worse only: info lines would repeat what mempoolctl
# prints. finish() sends the whole kernel log to the results channel, which the
# host scans for reports too.
echo 5 >/proc/sys/kernel/printk
[ -r /etc/mempoolctl-guest.env ] && . /etc/mempoolctl-guest.env
. /lib/mempoolctl-test.sh
echo "mempoolctl-guest: kernel $RELEASE, scenario starting"
read -r up _ </proc/uptime
figure seconds_boot_to_init "${up%.*}"
# How the kernel was entered, in its own words: boot protocol 0x020c is QEMU's
# PVH entry into a vmlinux (mempoolctl vm boots one when the image's build tree
# has it); a bzImage carries its own header's version.
read -r proto 2>/dev/null </sys/kernel/boot_params/version && echo "# boot_protocol $proto" >&3
clock_line
. /scenario.sh
finish
