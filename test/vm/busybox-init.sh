#!/bin/sh
# The bench's anchor guest: busybox as PID 1 and nothing else. It does what the agent's guest does
# before serving (mounts, the same modules), says it is ready with the memory it has left, and
# powers off. As /pre-init of a busybox initrd or as /sbin/init of a busybox disk image
# (test/vm/image.ts), booted exactly like the agent's initrd or image.
export PATH=/bin:/sbin
mkdir -p /proc /sys /dev
[ -r /proc/uptime ] || mount -t proc proc /proc
[ -d /sys/kernel ] || mount -t sysfs sysfs /sys
[ -c /dev/null ] || mount -t devtmpfs devtmpfs /dev
if [ -r /lib/modules/vmtest/load-order ]; then
	while read -r module; do
		[ -n "$module" ] && insmod "/lib/modules/vmtest/$module"
	done </lib/modules/vmtest/load-order
fi
kb() { sed -n "s/^$1: *\([0-9]*\).*/\1/p" /proc/meminfo; }
echo "VMTEST busybox_ready_uptime=$(cut -d' ' -f1 /proc/uptime)" >/dev/console
# Memory is read once the guest has settled (module init sections and the loader's initramfs are
# freed asynchronously): the agent's guest reads it as long after its first Check.
sleep 2
echo "VMTEST mem_available_kb=$(kb MemAvailable)$(awk '/^(MemFree|Cached|AnonPages|Shmem|Slab|PageTables|KernelStack):/ { sub(":", "", $1); printf " mi_%s_kb=%s", tolower($1), $2 }' /proc/meminfo)" >/dev/console
sync
poweroff -f
