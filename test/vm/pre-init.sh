#!/bin/sh
# VM-test pre-init: the kernel runs this first (cmdline rdinit=/pre-init) as PID 1, from the
# initramfs built by test/vm/initramfs.ts. It does only what a plain Kata initrd cannot do for a
# test: load the vsock modules this kernel has as modules, start the guest-side test script, then
# exec /init, so the agent starts exactly as in a Kata initrd (/init = osbuilder-hook's shim, which
# mounts /proc and execs /sbin/init = the agent) and is PID 1.
#
# It mounts proc, sysfs and devtmpfs for its own use and unmounts them again before the hand-off,
# so the agent finds nothing mounted, as in Kata. Knobs (kernel cmdline):
#   vmtest.handoff=PATH   what to exec (default /init; /sbin/init skips the shim)
#   vmtest.keep_mounts=1  leave proc/sys/dev mounted for the agent
#   vmtest.stall=1        never start the agent: hang here (the host's hard timeout must end it)
export PATH=/bin:/sbin:/usr/bin:/usr/sbin

mkdir -p /proc /sys /dev /run /tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

say() { echo "VMTEST $*" >/dev/console; }
say "preinit_uptime=$(cut -d' ' -f1 /proc/uptime)"

loaded=""
failed=""
while read -r module; do
	[ -n "$module" ] || continue
	if insmod "/lib/modules/vmtest/$module" 2>/dev/console; then
		loaded="$loaded${loaded:+,}${module%.ko}"
	else
		failed="$failed${failed:+,}${module%.ko}"
	fi
done </lib/modules/vmtest/load-order
if [ -z "$failed" ] && grep -q '^vsock_loopback ' /proc/modules; then
	say "modules ok $loaded"
else
	say "modules fail loaded=$loaded failed=$failed"
fi

handoff=/init
keep_mounts=0
for word in $(cat /proc/cmdline); do
	case "$word" in
	vmtest.handoff=*) handoff="${word#*=}" ;;
	vmtest.keep_mounts=*) keep_mounts="${word#*=}" ;;
	vmtest.stall=1)
		say "stalled_uptime=$(cut -d' ' -f1 /proc/uptime)"
		exec sleep 2147483647 ;;
	esac
done
say "preinit_exec_uptime=$(cut -d' ' -f1 /proc/uptime) handoff=$handoff keep_mounts=$keep_mounts"
if [ "$keep_mounts" != 1 ]; then
	# Lazy: nothing may hold them, but be sure the hand-off never fails on a busy mount. From here
	# on /dev/console is the node in the initramfs itself.
	umount -l /dev && umount -l /sys && umount -l /proc || echo "VMTEST preinit_umount fail" >/dev/console
fi

# The guest script outlives us (we exec the agent next): it becomes the agent's child. It waits
# for /proc to come back (the shim or the agent mounts it).
if [ -x /vmtest/guest-test.sh ]; then
	/vmtest/guest-test.sh </dev/null >/dev/console 2>&1 &
fi
exec "$handoff"
