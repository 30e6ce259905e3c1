#!/bin/sh
# Guest side of test/vm/devices.test.ts (q35, TCG): containers that use hot-plugged disks. The
# host watches the console and hot-plugs each disk through QMP when the agent logs that it is
# waiting for it ("waiting for device" ... "PCI path 02/00" / "SCSI disk 1:2" / "PCI path 04/00"),
# so every device arrives while the agent waits. One line per check:
#     VMTEST <name> ok|fail|skip <detail>
# Each container gets /dev/xvdb with the HOST's numbers (8:16) in Linux.Devices and must see the
# guest's, and must read the disk (its ext4 holds the marker text).
CTL_TIMEOUT=120
ROOTFS=/vmtest/bundle/rootfs
MARKER=kata-devices-marker-6f1d
. /vmtest/guest-lib.sh
wait_for_proc

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

# spec_file CID [MOUNT_POINT]: the bundle's config.json with a command that prints the file of the
# storage (bound at /data), the numbers of /dev/xvdb and the /data mount; the storage at
# MOUNT_POINT (if given) bound read-only at /data.
spec_file() {
	bind=""
	[ -n "$2" ] && bind="{\"destination\": \"/data\", \"type\": \"bind\", \"source\": \"$2\", \"options\": [\"rbind\", \"ro\"]},"
	sed -e 's|"tail",|"sh", "-c",|' \
		-e "s|\"/dev/zero\"|\"cat /data/hello.txt; stat -c %t:%T /dev/xvdb; grep ' /data ' /proc/mounts\"|" \
		-e 's|"path": "rootfs"|"path": "/vmtest/bundle/rootfs"|' \
		-e "s|/vmtest/oom|/vmtest/$1|" \
		-e "s|\"mounts\": \\[|\"mounts\": [ $bind|" \
		/vmtest/bundle/config.json >"/tmp/$1.json"
	echo "/tmp/$1.json"
}

# run_with_device CHECK CID DEVICE_JSON STORAGE_JSON MOUNT_POINT GUEST_NAME_CMD [MOUNT_OPT]: a
# container with the disk as /dev/xvdb (Linux.Devices holds the host's 8:16) and as a storage
# mounted at MOUNT_POINT reads the file on it and the numbers of its node (and finds MOUNT_OPT in
# the options of its /data mount).
run_with_device() {
	check="$1"; cid="$2"; device="$3"; storage="$4"; mp="$5"; find_name="$6"; want_opt="$7"
	out="$(ctl -c "CreateContainer cid=$cid spec=$(spec_file "$cid" "$mp") OCI.Linux.Devices=json://{\"Path\":\"/dev/xvdb\",\"Type\":\"b\",\"Major\":8,\"Minor\":16,\"FileMode\":432} devices=json://$device storages=json://$storage" \
		-c "StartContainer cid=$cid" -c "ReadAll cid=$cid" -c "WaitProcess cid=$cid" -c "RemoveContainer cid=$cid" 2>&1)"
	name="$(eval "$find_name")"
	if [ -z "$name" ] || [ ! -e "/sys/class/block/$name" ]; then
		report "$check" fail "no guest device found ($find_name): $(echo "$out" | oneline)"
		return
	fi
	want="$(dev_numbers "$name")"
	data="$(echo "$out" | grep -v '^[A-Za-z]*: ')" # the container's stdout, without ctl's reply lines
	file="$(echo "$data" | head -n 1)"
	got="$(echo "$data" | sed -n 2p)"
	mnt="$(echo "$data" | sed -n 3p)"
	if ! echo "$out" | grep -q '^WaitProcess: {"status":0}'; then
		report "$check" fail "container failed: $(echo "$out" | oneline)"
	elif [ "$file" != "$MARKER" ]; then
		report "$check" fail "the storage's file read '$file': $(echo "$out" | oneline)"
	elif [ "$got" != "$want" ]; then
		report "$check" fail "container saw /dev/xvdb as $got, guest $name is $want: $(echo "$out" | oneline)"
	elif [ -n "$want_opt" ] && ! echo "$mnt" | grep -q "$want_opt"; then
		report "$check" fail "/data is not mounted with $want_opt: $mnt"
	elif grep -q " $mp " /proc/self/mountinfo; then
		report "$check" fail "$mp still mounted after RemoveContainer"
	else
		report "$check" ok "guest $name ($want) as /dev/xvdb; storage at $mp read by the container${want_opt:+ (mounted $want_opt)}, released on remove"
	fi
}

STOR=/run/kata-containers/sandbox/storage

# vmtest.devices=vfio (a boot with an emulated intel-iommu and an unbound "edu" PCI device in the
# root port at 00:02.0): a vfio-pci device named "<host BDF>=<guest PCI path>". The agent binds the
# guest device to vfio-pci, the container gets /dev/vfio/<group> in place of the host's node, and
# PCIDEVICE_* carries the guest address.
if grep -q 'vmtest.devices=vfio' /proc/cmdline; then
	out="$(ctl -c "CreateContainer cid=dvfio spec=$(spec_file dvfio "") cmd=\"sh -c 'ls /dev/vfio; echo \$PCIDEVICE_X; echo \$PCIDEVICE_X_INFO; stat -c %t:%T /dev/vfio/[0-9]*'\" env=PATH=/bin env=PCIDEVICE_X=0000:3b:00.1 env=PCIDEVICE_X_INFO=dev=0000:3b:00.1 OCI.Linux.Devices=json://{\"Path\":\"/dev/vfio/99\",\"Type\":\"c\",\"Major\":240,\"Minor\":99,\"FileMode\":432} devices=json://{\"type\":\"vfio-pci\",\"id\":\"vfio1\",\"container_path\":\"/dev/vfio/99\",\"options\":[\"0000:3b:00.1=02/00\"]}" \
		-c "StartContainer cid=dvfio" -c "ReadAll cid=dvfio" -c "WaitProcess cid=dvfio" -c "RemoveContainer cid=dvfio" 2>&1)"
	dev=/sys/bus/pci/devices/0000:01:00.0
	group="$(basename "$(readlink $dev/iommu_group 2>/dev/null)")"
	driver="$(basename "$(readlink $dev/driver 2>/dev/null)")"
	data="$(echo "$out" | grep -v '^[A-Za-z]*: ')"
	if ! echo "$out" | grep -q '^WaitProcess: {"status":0}'; then
		report vfio fail "container failed: $(echo "$out" | oneline)"
	elif [ "$driver" != vfio-pci ] || [ -z "$group" ]; then
		report vfio fail "0000:01:00.0 driver '$driver' group '$group': $(echo "$out" | oneline)"
	elif [ "$(echo "$data" | head -n 1)" != "$group" ]; then
		report vfio fail "container's /dev/vfio holds '$(echo "$data" | head -n 1)', guest group is $group"
	elif [ "$(echo "$data" | sed -n 2p)" != 0000:01:00.0 ] || [ "$(echo "$data" | sed -n 3p)" != dev=0000:01:00.0 ]; then
		report vfio fail "PCIDEVICE_X not rewritten: $(echo "$data" | oneline)"
	elif IFS=: read -r ma mi </sys/class/vfio/$group/dev && [ "$(echo "$data" | sed -n 4p)" != "$(printf '%x:%x' "$ma" "$mi")" ]; then
		report vfio fail "container's /dev/vfio/$group is $(echo "$data" | sed -n 4p), the guest's $ma:$mi"
	else
		report vfio ok "0000:01:00.0 bound to vfio-pci, container has /dev/vfio/$group ($(cat /sys/class/vfio/$group/dev 2>/dev/null)), PCIDEVICE_X=0000:01:00.0"
	fi
	ctl -c "DestroySandbox" >/dev/null 2>&1
	echo "VMTEST devices_guest_done=1"
	exit 0
fi
# 1. virtio-blk hot-plugged into the root port at 00:02.0 → PCI path 02/00
run_with_device blk_pci dblk '{"type":"blk","id":"02/00","container_path":"/dev/xvdb"}' \
	"{\"driver\":\"blk\",\"source\":\"02/00\",\"fstype\":\"ext4\",\"options\":[\"ro\"],\"mount_point\":\"$STOR/blk\"}" "$STOR/blk" \
	'ls /sys/devices/pci0000:00/0000:00:02.0/0000:01:00.0/virtio*/block/ 2>/dev/null | head -n 1'

# 2. scsi-hd hot-plugged at scsi-id 1, lun 2 on the virtio-scsi controller → SCSI address 1:2
run_with_device scsi dscsi '{"type":"scsi","id":"1:2","container_path":"/dev/xvdb"}' \
	"{\"driver\":\"scsi\",\"source\":\"1:2\",\"fstype\":\"ext4\",\"options\":[\"ro\"],\"mount_point\":\"$STOR/scsi\"}" "$STOR/scsi" \
	'ls /sys/class/scsi_disk/*:0:1:2/device/block/ 2>/dev/null | head -n 1'

# 3. nvdimm (cold-plugged, -machine nvdimm=on) → /dev/pmem0, mounted with dax. QEMU's nvdimm
#    comes up as a raw namespace, which has no DAX; what Kata's image tool (nsdax) writes at build
#    time is made here through sysfs: the namespace becomes fsdax (a PFN device, data at 2 MiB).
nd=/sys/bus/nd
pfn="$(cat $nd/devices/region0/pfn_seed 2>/dev/null)"
if echo namespace0.0 >$nd/drivers/nd_pmem/unbind && echo 2097152 >"$nd/devices/$pfn/align" &&
	echo pmem >"$nd/devices/$pfn/mode" && cat /proc/sys/kernel/random/uuid >"$nd/devices/$pfn/uuid" &&
	echo namespace0.0 >"$nd/devices/$pfn/namespace" && echo "$pfn" >$nd/drivers/nd_pmem/bind; then
	echo "VMTEST pmem_fsdax=$pfn dax=$(cat /sys/block/pmem0/queue/dax 2>/dev/null)"
else
	echo "VMTEST pmem_fsdax=failed"
fi
run_with_device nvdimm dpmem '{"type":"nvdimm","vm_path":"/dev/pmem0","container_path":"/dev/xvdb"}' \
	"{\"driver\":\"nvdimm\",\"source\":\"/dev/pmem0\",\"fstype\":\"ext4\",\"options\":[\"dax\",\"ro\"],\"mount_point\":\"$STOR/pmem\"}" "$STOR/pmem" 'echo pmem0' dax

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
