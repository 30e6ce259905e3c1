#!/bin/sh
# VM-test loader for disk-image roots: the kernel runs this from a tiny initramfs (busybox +
# modules, test/vm/image.ts) as /pre-init. Debian's kernel has virtio_blk, virtio_pci, ext4,
# libnvdimm, nd_pmem and nfit as modules (Kata's guest kernel builds them in), so something must
# load them before the root can be mounted; this does that and nothing more, then hands over the
# way the kernel itself would: root= mounted with rootflags= and rootfstype=, nothing else
# mounted, exec init= or /sbin/init as PID 1.
#
# Cmdline knobs: vmtest.script=PATH (inside the root) is started in the background, chrooted into
# the new root, before the hand-off (it becomes the new init's child, like test/vm/pre-init.sh's
# guest script); vmtest.stall=1 hangs here.
export PATH=/bin:/sbin
mkdir -p /proc /sys /dev /newroot
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

say() { echo "VMTEST $*" >/dev/console; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }
say "loader_uptime=$(uptime_s)"

failed=""
while read -r module; do
	[ -n "$module" ] || continue
	insmod "/modules/$module" 2>/dev/console || failed="$failed${failed:+,}${module%.ko}"
done </modules/load-order
if [ -z "$failed" ]; then say "loader_modules ok $(wc -l </modules/load-order) modules"; else say "loader_modules fail $failed"; fi

root="" flags="" fstype="ext4" init=/sbin/init script=""
for word in $(cat /proc/cmdline); do
	case "$word" in
	root=*) root="${word#root=}" ;;
	rootflags=*) flags="${word#rootflags=}" ;;
	rootfstype=*) fstype="${word#rootfstype=}" ;;
	init=*) init="${word#init=}" ;;
	vmtest.script=*) script="${word#*=}" ;;
	vmtest.stall=1) say "stalled_uptime=$(uptime_s)"; exec sleep 2147483647 ;;
	esac
done
# The kernel's cmdline parser would keep "a,b ro" together only when quoted; we pass the
# options comma-separated, with ro as its own word (as the kernel reads a bare `ro`).
mode=rw
grep -qw ro /proc/cmdline && mode=ro

tries=0
until [ -b "$root" ]; do
	tries=$((tries + 1))
	if [ $tries -gt 100 ]; then say "root_mounted fail $root did not appear in 10 s: $(ls /dev | tr '\n' ' ')"; exec sleep 2147483647; fi
	sleep 0.1
done
if ! mount -t "$fstype" -o "$mode${flags:+,$flags}" "$root" /newroot 2>/dev/console; then
	say "root_mounted fail mount -t $fstype -o $mode${flags:+,$flags} $root"
	# What the NVDIMM bus made of the device (namespace modes, pfn devices), for the post-mortem.
	for d in /sys/bus/nd/devices/*; do
		[ -e "$d" ] && echo "nd: ${d##*/} mode=$(cat "$d/mode" 2>/dev/null) driver=$(basename "$(readlink "$d/driver" 2>/dev/null)" 2>/dev/null) size=$(cat "$d/size" 2>/dev/null)" >/dev/console
	done
	exec sleep 2147483647
fi
say "root_mounted_uptime=$(uptime_s) root=$root"

if [ -n "$script" ] && [ -x "/newroot$script" ]; then
	chroot /newroot "$script" </dev/null >/dev/console 2>&1 &
fi
# Nothing of ours stays mounted in the new root: the agent finds what the kernel would leave.
umount -l /dev && umount -l /sys && umount -l /proc || say "loader_umount fail"
exec switch_root /newroot "$init"
