#!/bin/sh
# Guest side of test/vm/devices.test.ts (q35, TCG): containers that use hot-plugged disks. The
# host watches the console and hot-plugs each disk through QMP when the agent logs that it is
# waiting for it ("waiting for device" ... "PCI path 02/00" / "SCSI disk 1:2" / "PCI path 04/00"),
# so every device arrives while the agent waits. One line per check:
#     VMTEST <name> ok|fail|skip <detail>
# Each container gets /dev/xvdb with the HOST's numbers (8:16) in Linux.Devices and must see the
# guest's, and must read the disk (its ext4 holds the marker text).
CTL="/sbin/kata-agent-ctl"
SERVER="vsock://1:1024"
CTL_TIMEOUT=120
ROOTFS=/vmtest/bundle/rootfs
MARKER=kata-devices-marker-6f1d
export PATH=/bin:/sbin:/usr/bin:/usr/sbin

tries=0
until [ -r /proc/cmdline ]; do
	tries=$((tries + 1))
	if [ $tries -gt 600 ]; then echo "VMTEST proc_mounted fail /proc not mounted after 60s"; exit 1; fi
	sleep 0.1
done
report() { name="$1"; status="$2"; shift 2; echo "VMTEST $name $status $*"; }
oneline() { tr '\n' ' ' | cut -c1-400; }
ctl() { timeout "$CTL_TIMEOUT" $CTL connect --server-address "$SERVER" "$@"; }

start="$(date +%s)"
until ctl -c Check 2>/dev/null | grep -q SERVING; do
	if [ $(($(date +%s) - start)) -ge 120 ]; then report agent_check fail "no SERVING within 120s"; exit 1; fi
	sleep 0.5
done
report agent_check ok "after $(($(date +%s) - start))s"
ctl -c "CreateSandbox sid=sb-devices hostname=devices" >/dev/null 2>&1

# dev_numbers NAME: "major:minor" of /sys/class/block/NAME, in hex like stat's %t:%T
dev_numbers() {
	IFS=: read -r ma mi <"/sys/class/block/$1/dev"
	printf '%x:%x' "$ma" "$mi"
}

# run_with_device CHECK CID DEVICE_JSON GUEST_NAME_CMD: a container reads /dev/xvdb
run_with_device() {
	check="$1"; cid="$2"; device="$3"; find_name="$4"
	out="$(ctl -c "CreateContainer cid=$cid rootfs=$ROOTFS cmd=\"sh -c 'stat -c %t:%T /dev/xvdb; head -c 8388608 /dev/xvdb | grep -c -a $MARKER'\" OCI.Linux.Devices=json://{\"Path\":\"/dev/xvdb\",\"Type\":\"b\",\"Major\":8,\"Minor\":16,\"FileMode\":432} devices=json://$device" \
		-c "StartContainer cid=$cid" -c "ReadAll cid=$cid" -c "WaitProcess cid=$cid" -c "RemoveContainer cid=$cid" 2>&1)"
	name="$(eval "$find_name")"
	if [ -z "$name" ] || [ ! -e "/sys/class/block/$name" ]; then
		report "$check" fail "no guest device found ($find_name): $(echo "$out" | oneline)"
		return
	fi
	want="$(dev_numbers "$name")"
	data="$(echo "$out" | grep -v '^[A-Za-z]*: ')" # the container's stdout, without ctl's reply lines
	got="$(echo "$data" | head -n 1)"
	count="$(echo "$data" | sed -n 2p)"
	if ! echo "$out" | grep -q '^WaitProcess: {"status":0}'; then
		report "$check" fail "container failed: $(echo "$out" | oneline)"
	elif [ "$got" != "$want" ]; then
		report "$check" fail "container saw /dev/xvdb as $got, guest $name is $want: $(echo "$out" | oneline)"
	elif [ "${count:-0}" -lt 1 ]; then
		report "$check" fail "marker not read from /dev/xvdb: $(echo "$out" | oneline)"
	else
		report "$check" ok "guest $name ($want) as /dev/xvdb, marker read"
	fi
}

# 1. virtio-blk hot-plugged into the root port at 00:02.0 → PCI path 02/00
run_with_device blk_pci dblk '{"type":"blk","id":"02/00","container_path":"/dev/xvdb"}' \
	'ls /sys/devices/pci0000:00/0000:00:02.0/0000:01:00.0/virtio*/block/ 2>/dev/null | head -n 1'

# 2. scsi-hd hot-plugged at scsi-id 1, lun 2 on the virtio-scsi controller → SCSI address 1:2
run_with_device scsi dscsi '{"type":"scsi","id":"1:2","container_path":"/dev/xvdb"}' \
	'ls /sys/class/scsi_disk/*:0:1:2/device/block/ 2>/dev/null | head -n 1'

# 3. nvdimm (cold-plugged, -machine nvdimm=on) → /dev/pmem0
run_with_device nvdimm dpmem '{"type":"nvdimm","vm_path":"/dev/pmem0","container_path":"/dev/xvdb"}' 'echo pmem0'

# 4. AddSwap: a disk with a swap signature hot-plugged at 00:04.0 → PCIPath [4, 0]
out="$(ctl -c 'AddSwap json://{"PCIPath":[4,0]}' 2>&1)"
swapdev="$(ls /sys/devices/pci0000:00/0000:00:04.0/0000:03:00.0/virtio*/block/ 2>/dev/null | head -n 1)"
if [ -n "$swapdev" ] && grep -q "^/dev/$swapdev " /proc/swaps; then
	report add_swap ok "/dev/$swapdev in /proc/swaps"
else
	report add_swap fail "swap device '$swapdev' not in /proc/swaps: $(echo "$out" | oneline) $(cat /proc/swaps | oneline)"
fi

# 5. Memory hot-add: the agent onlines the new block (the kernel leaves it offline here)
online_blocks() { cat /sys/devices/system/memory/memory*/online | grep -c 1; }
before="$(online_blocks)"
echo "VMTEST hotplug_memory=ready online_before=$before"
i=0
while [ "$(online_blocks)" -le "$before" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
after="$(online_blocks)"
if [ "$after" -gt "$before" ]; then
	report memory_online ok "online blocks $before -> $after"
else
	report memory_online fail "online blocks stayed $before"
fi

ctl -c "DestroySandbox" >/dev/null 2>&1
echo "VMTEST devices_guest_done=1"
