#!/bin/sh
# Guest side of test/vm/storage.test.ts: the runtime's shared-fs storage for real. The host
# shares a directory as "kataShared" (vmtest.share=9p: -virtfs; virtio-fs: virtiofsd +
# vhost-user-fs-pci); CreateSandbox with the storage the runtime sends must mount it at
# /run/kata-containers/shared/containers/, and a container must run from a rootfs in it and print
# the token the host wrote there (vmtest.token=). One line per check:
#     VMTEST <name> ok|fail <detail>
SHARED=/run/kata-containers/shared/containers
. /vmtest/guest-lib.sh
wait_for_proc
SHARE="$(param vmtest.share 9p)"
TOKEN="$(param vmtest.token none)"

start="$(date +%s)"
until ctl -c Check >/dev/null 2>&1; do
	if [ $(($(date +%s) - start)) -ge 90 ]; then report share_agent fail "no answer within 90s"; exit 1; fi
	sleep 0.5
done
report share_agent ok "after $(($(date +%s) - start))s"

if [ "$SHARE" = virtio-fs ]; then
	storage='{"driver":"virtio-fs","source":"kataShared","fstype":"virtiofs","options":[],"mount_point":"'$SHARED'/"}'
	fstype=virtiofs
else
	storage='{"driver":"9p","source":"kataShared","fstype":"9p","options":["trans=virtio,version=9p2000.L,cache=mmap","nodev"],"mount_point":"'$SHARED'/"}'
	fstype=9p
fi
echo '{"sandbox_id":"share-vmtest","hostname":"share","storages":['"$storage"',{"driver":"ephemeral","source":"shm","fstype":"tmpfs","options":["noexec","nosuid","nodev","mode=1777","size=67108864"],"mount_point":"/run/kata-containers/sandbox/shm"}]}' >/tmp/sandbox.json

out="$(ctl -c "CreateSandbox file:///tmp/sandbox.json" 2>&1)"
line="$(grep " $SHARED $fstype " /proc/mounts)"
if [ -z "$line" ]; then
	report share_mount fail "no $fstype at $SHARED: $(echo "$out" | oneline) | $(grep kata /proc/mounts | oneline)"
else
	report share_mount ok "$line"
fi

out="$(ctl -c "CreateContainer cid=hostfs rootfs=$SHARED/hostfs/rootfs cmd=\"cat /token\"" -c "StartContainer cid=hostfs" -c "ReadAll cid=hostfs" -c "WaitProcess cid=hostfs" 2>&1)"
bundle="$(cat /run/kata-containers/hostfs/config.json 2>/dev/null | grep -c '"path":"/run/kata-containers/hostfs/rootfs"')"
rm_out="$(ctl -c "RemoveContainer cid=hostfs" 2>&1)"
if ! echo "$out" | grep -qx "$TOKEN"; then
	report share_container fail "token $TOKEN not read: $(echo "$out" | tail -n 5 | oneline)"
elif [ "$bundle" != 1 ]; then
	report share_container fail "bundle config.json missing or without its rootfs"
elif [ -e /run/kata-containers/hostfs ]; then
	report share_container fail "bundle left after RemoveContainer: $(echo "$rm_out" | oneline)"
else
	report share_container ok "read the host's token from a rootfs on $fstype; bundle made and removed"
fi
# DestroySandbox powers the guest off, often before ctl could print: the host checks the agent's
# "storage released" log lines and the power-off instead.
echo "VMTEST share_destroy_sent=1"
ctl -c DestroySandbox >/dev/null 2>&1
