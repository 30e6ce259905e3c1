#!/bin/sh
# Guest-side checks of the network RPCs (test/vm/network.test.ts boots with this script instead of
# guest-test.sh). The VM has one virtio-net-pci NIC with a fixed MAC at PCI slot 02 on a user-mode
# netdev with restrict=on: nothing leaves QEMU, and nothing is sent anyway (configure + read back).
# Markers as in guest-test.sh: `VMTEST <name> ok|fail <detail>`.
CTL_TIMEOUT=40
. /vmtest/guest-lib.sh
wait_for_proc
MAC="$(param vmtest.net_mac 02:00:00:00:00:05)"
PCI="$(param vmtest.net_pci 02)"

start="$(date +%s)"
until out="$(ctl -c Check 2>&1)" && echo "$out" | grep -q SERVING; do
	if [ $(($(date +%s) - start)) -ge 60 ]; then
		report agent_check fail "no SERVING within 60s: $(echo "$out" | tail -n 2 | oneline)"
		ctl -c DestroySandbox >/dev/null 2>&1
		exit 1
	fi
	sleep 0.2
done
report agent_check ok "after $(($(date +%s) - start))s"

# lo: the agent as PID 1 brought it up (Kata's handle_localhost); nobody else did.
if ip link show lo | head -n 1 | grep -q '[<,]UP[,>]'; then
	report lo_up ok "$(ip link show lo | head -n 1 | oneline)"
else
	report lo_up fail "$(ip link show lo | oneline)"
fi

before=""
for d in /sys/class/net/*; do
	[ "$(cat "$d/address" 2>/dev/null)" = "$MAC" ] && before="${d##*/}"
done
echo "VMTEST net_name_before=${before:-none}"

# What the Go runtime sends for a pod's NIC: by MAC, with the guest PCI path, then its routes.
iface="{\"interface\":{\"name\":\"pod0\",\"hwAddr\":\"$MAC\",\"devicePath\":\"$PCI\",\"mtu\":1400,\"IPAddresses\":[{\"family\":0,\"address\":\"10.0.2.15\",\"mask\":\"24\"}]}}"
routes='{"routes":{"Routes":[{"dest":"","gateway":"10.0.2.2","device":"pod0","family":0},{"dest":"10.0.2.0/24","device":"pod0","source":"10.0.2.15","scope":253,"family":0}]}}'
out="$(ctl -c "UpdateInterface json://$iface" -c "UpdateRoutes json://$routes" -c ListInterfaces -c ListRoutes \
	-c 'UpdateInterface json://{"interface":{"name":"eth9","hwAddr":"02:00:00:00:99:99"}}' 2>&1)"
rc=$?
addr="$(ip addr show pod0 2>&1)"
route="$(ip route 2>&1)"
if [ -z "$before" ]; then
	report net_update_interface fail "no link with MAC $MAC before the call"
elif ! echo "$out" | grep -q '^UpdateInterface: {.*"name":"pod0"'; then
	report net_update_interface fail "ctl exit $rc: $(echo "$out" | head -n 3 | oneline)"
elif ! echo "$addr" | grep -q 'inet 10.0.2.15/24' || ! echo "$addr" | head -n 1 | grep -q 'mtu 1400' || ! echo "$addr" | head -n 1 | grep -q '[<,]UP[,>]'; then
	report net_update_interface fail "ip addr show pod0: $(echo "$addr" | oneline)"
elif [ -e "/sys/class/net/$before" ] && [ "$before" != pod0 ]; then
	report net_update_interface fail "$before still exists after the rename"
else
	report net_update_interface ok "$before -> pod0 (PCI $PCI): $(echo "$addr" | grep -E 'mtu|inet ' | oneline)"
fi
if echo "$route" | grep -q '^default via 10.0.2.2 dev pod0' && echo "$route" | grep -q '^10.0.2.0/24 dev pod0' \
	&& echo "$out" | grep -q '^UpdateRoutes: .*"gateway":"10.0.2.2"'; then
	report net_routes ok "$(echo "$route" | oneline)"
else
	report net_routes fail "ip route: $(echo "$route" | oneline); ctl: $(echo "$out" | grep UpdateRoutes | oneline)"
fi
if echo "$out" | grep -q '^ListInterfaces: .*"name":"pod0"' && echo "$out" | grep -q '^ListRoutes: .*"device":"pod0"'; then
	report net_list ok "ListInterfaces and ListRoutes show pod0"
else
	report net_list fail "$(echo "$out" | grep '^List' | oneline)"
fi
if [ $rc -ne 0 ] && echo "$out" | tail -n 1 | grep -q 'Link not found'; then
	report net_link_not_found ok "$(echo "$out" | tail -n 1 | oneline)"
else
	report net_link_not_found fail "ctl exit $rc: $(echo "$out" | tail -n 1 | oneline)"
fi

# Kata's VFIO case: the NIC at devicePath shows another MAC than the runtime's; the agent gives it
# the requested one, then finds it by that MAC.
NEWMAC=02:00:00:00:00:06
out="$(ctl -c "UpdateInterface json://{\"interface\":{\"name\":\"pod0\",\"hwAddr\":\"$NEWMAC\",\"devicePath\":\"$PCI\",\"mtu\":1400,\"IPAddresses\":[{\"family\":0,\"address\":\"10.0.2.15\",\"mask\":\"24\"}]}}" 2>&1)"
now="$(cat /sys/class/net/pod0/address 2>&1)"
if [ "$now" = "$NEWMAC" ] && echo "$out" | grep -q "\"hwAddr\":\"$NEWMAC\""; then
	report net_mac_by_pci ok "pod0 now $now"
else
	report net_mac_by_pci fail "pod0 address $now: $(echo "$out" | oneline)"
fi

# This guest image has no iptables: GetIPTables must say so (FAILED_PRECONDITION), not crash.
out="$(ctl -c "GetIPTables" 2>&1)"
if echo "$out" | grep -q 'FAILED_PRECONDITION.*iptables-save is not in the guest image'; then
	report net_iptables_missing ok "$(echo "$out" | oneline)"
else
	report net_iptables_missing fail "$(echo "$out" | oneline)"
fi

echo "VMTEST guest_script_done_uptime=$(cut -d' ' -f1 /proc/uptime)"
destroy_sandbox
