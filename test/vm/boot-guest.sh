#!/bin/sh
# Guest-side checks for a boot from the rootfs DISK IMAGE (virtio-blk or NVDIMM/DAX root), started
# by test/vm/loader-init.sh just before it hands over to /sbin/init (the osbuilder hook's shim,
# which execs the agent at /sbin/kata-agent). The same markers as guest-test.sh:
#     VMTEST <name> ok|fail|skip <detail>      VMTEST key=value
# Lighter than guest-test.sh (that one proves the agent's features on the initrd): here we prove
# the image boots the agent as PID 1 and a container runs from it. Knobs: vmtest.root_dax=1 (the
# root must be mounted with DAX), vmtest.wait=SECONDS, vmtest.bench=1 (first Check and memory
# only, then power off: the bench's boots use it for the initrd too, started by pre-init.sh).
BUNDLE=/vmtest/bundle
. /vmtest/guest-lib.sh
wait_for_proc
WAIT_SECS="$(param vmtest.wait 90)"
poweroff_now() { echo "VMTEST guest_script_done_uptime=$(cut -d' ' -f1 /proc/uptime)"; sync; poweroff -f; }

# 1. First Check with the static client (it polls every 5 ms): the host times this marker.
out="$(/vmtest/check-client $((WAIT_SECS * 1000)) 2>&1)"
case "$out" in
SERVING*)
	report agent_check ok "$out"
	# What the guest has left once it settled after the first answer (as the busybox anchor
	# guest, test/vm/busybox-init.sh, reads it 2 s after its ready line), for the bench's memory rows,
	# and where it went: the meminfo parts, and PID 1's (the agent's) resident set by kind.
	sleep 2
	echo "VMTEST mem_available_kb=$(sed -n 's/^MemAvailable: *\([0-9]*\).*/\1/p' /proc/meminfo)$(awk '/^(MemFree|Cached|AnonPages|Shmem|Slab|PageTables|KernelStack):/ { sub(":", "", $1); printf " mi_%s_kb=%s", tolower($1), $2 }' /proc/meminfo)"
	echo "VMTEST agent_rss_kb=$(awk '/^VmRSS:/ { print $2 }' /proc/1/status)$(awk '/^Rss(Anon|File|Shmem):/ { sub(":", "", $1); printf " agent_%s_kb=%s", tolower($1), $2 }' /proc/1/status)"
	;;
*)
	report agent_check fail "$out"
	poweroff_now
	;;
esac

[ "$(param vmtest.bench 0)" = 1 ] && poweroff_now

# 2. The agent is PID 1, started through the shim at /sbin/init.
exe="$(readlink /proc/1/exe)"
if [ "$exe" = /sbin/kata-agent ]; then report pid1 ok "/proc/1/exe=$exe"; else report pid1 fail "/proc/1/exe=$exe (expected /sbin/kata-agent)"; fi

# 3. The root is the image's partition, read-only as Kata mounts it, with DAX when asked for.
rootline="$(awk '$2 == "/" && $1 != "rootfs"' /proc/mounts | tail -n 1)"
want_dax="$(param vmtest.root_dax 0)"
case "$rootline" in
*" ext4 ro,"*)
	if [ "$want_dax" = 1 ] && ! echo "$rootline" | grep -q 'dax'; then
		report root_mount fail "no dax in: $rootline"
	else
		report root_mount ok "$rootline"
	fi
	;;
*) report root_mount fail "root is not a read-only ext4: $rootline" ;;
esac

# 4. A container runs from a busybox rootfs in the image: its shell computes the words we expect.
out="$(ctl -c "CreateSandbox sid=sb-image hostname=image" \
	-c "CreateContainer cid=hello rootfs=$BUNDLE/rootfs cmd=\"sh -c 'echo hello-\$((6*7)) pid=\$\$; exit 3'\"" \
	-c "StartContainer cid=hello" -c "ReadAll cid=hello" -c "WaitProcess cid=hello" -c "RemoveContainer cid=hello" 2>&1)"
rc=$?
if echo "$out" | grep -qx 'hello-42 pid=1' && echo "$out" | grep -q '^WaitProcess: {"status":3}'; then
	report container_run ok "read 'hello-42 pid=1', WaitProcess status 3"
else
	report container_run fail "ctl exit $rc: $(echo "$out" | tail -n 6 | oneline)"
fi

# 5. DestroySandbox powers the VM off. The agent may power off before ctl prints the answer, so
#    the host checks the proof itself: the agent's "shutting down" line (reason DestroySandbox) and
#    the kernel's power-down.
echo "VMTEST guest_script_done_uptime=$(cut -d' ' -f1 /proc/uptime)"
out="$(ctl -c DestroySandbox 2>&1)" || { report destroy_sandbox fail "$(echo "$out" | tail -n 3 | oneline)"; poweroff_now; }
