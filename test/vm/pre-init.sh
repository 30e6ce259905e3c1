#!/bin/sh
# VM-test pre-init: the kernel runs this first (cmdline rdinit=/pre-init) as PID 1, from the
# initramfs built by test/vm/initramfs.ts. It does only what a plain Kata initrd cannot do for a
# test: load the vsock modules this kernel has as modules, start the guest-side test script, then
# exec the agent (/sbin/init, installed by osbuilder-hook) so that the agent is PID 1.
#
# It mounts proc, sysfs and devtmpfs because busybox and insmod need them, and because a
# `bun build --compile` binary reads /proc/self/exe to find its embedded program. The real agent
# mounts them itself in init mode and skips what is already mounted.
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

# The guest script outlives us (we exec the agent next): it becomes the agent's child.
if [ -x /vmtest/guest-test.sh ]; then
	/vmtest/guest-test.sh </dev/null >/dev/console 2>&1 &
fi

say "preinit_exec_uptime=$(cut -d' ' -f1 /proc/uptime)"
exec /sbin/init
