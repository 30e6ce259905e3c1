#!/bin/sh
# Guest-side checks, run inside the VM by /pre-init in the background just before it execs the
# agent. Every check prints exactly one line to the console:
#     VMTEST <name> ok|fail|skip <detail>
# and facts are printed as `VMTEST key=value`; test/vm/qemu.ts parses both.
# Kernel cmdline knobs: vmtest.mode=agent|standin, vmtest.pending=1 (run checks whose agent parts
# are still being written), vmtest.wait=SECONDS (how long to wait for the agent).

# ---- Integrator: the ctl invocation and addresses live here --------------------------------
# osbuilder-hook (AGENT_INIT=yes) puts the agent at /sbin/init and a kata-agent-ctl symlink next to it.
CTL="/sbin/kata-agent-ctl"            # alternative: CTL="/sbin/init ctl"
SERVER="vsock://1:1024"               # agent.server_addr=vsock://-1:1024, reached via vsock loopback (CID 1)
CTL_TIMEOUT=30                        # seconds per ctl invocation (Bun under TCG is slow to start)
# A vsock client for the debug-console and log vports: busybox has none and socat is not in the
# guest. Proposed: the agent binary offers `kata-agent vsock-cat CID PORT` (stdin->socket->stdout).
VSOCK_CAT=""                          # e.g. VSOCK_CAT="/sbin/init vsock-cat"
DEBUG_CONSOLE_VPORT=1026              # must match agent.debug_console_vport on the cmdline
LOG_VPORT=1025                        # must match agent.log_vport on the cmdline
# ---------------------------------------------------------------------------------------------

export PATH=/bin:/sbin:/usr/bin:/usr/sbin
# pre-init unmounted /proc before handing over to /init; wait until the shim/agent remounts it.
tries=0
until [ -r /proc/cmdline ]; do
	tries=$((tries + 1))
	if [ $tries -gt 600 ]; then echo "VMTEST proc_mounted fail /proc not mounted after 60s"; exit 1; fi
	sleep 0.1
done
cmdline="$(cat /proc/cmdline)"
knob() { # knob NAME DEFAULT: value of vmtest.NAME=... on the kernel cmdline
	for word in $cmdline; do
		case "$word" in "vmtest.$1="*) echo "${word#*=}"; return ;; esac
	done
	echo "$2"
}
MODE="$(knob mode agent)"
PENDING="$(knob pending 0)"
WAIT_SECS="$(knob wait 90)"

uptime_s() { cut -d' ' -f1 /proc/uptime; }
report() { # report NAME ok|fail|skip DETAIL...
	name="$1"; status="$2"; shift 2
	echo "VMTEST $name $status $*"
}
ctl() { # ctl -c CMD [-c CMD]...: one connection, the commands in order
	timeout "$CTL_TIMEOUT" $CTL connect --server-address "$SERVER" "$@"
}
pending() { # pending NAME WHY: a check whose agent side is not ready yet
	if [ "$MODE" = standin ]; then
		report "$1" skip "stand-in agent: $2"
		return 1
	fi
	if [ "$PENDING" != 1 ]; then
		report "$1" skip "pending (boot with vmtest.pending=1): $2"
		return 1
	fi
	return 0
}

echo "VMTEST guest_script_start_uptime=$(uptime_s) mode=$MODE"

# 1. The agent answers Health.Check over vsock loopback.
check_agent_ready() {
	start="$(date +%s)"
	while :; do
		if out="$(ctl -c Check 2>&1)"; then
			echo "VMTEST agent_ready_uptime=$(uptime_s)"
			report agent_check ok "after $(($(date +%s) - start))s"
			return 0
		fi
		if [ $(($(date +%s) - start)) -ge "$WAIT_SECS" ]; then
			report agent_check fail "no answer on $SERVER within ${WAIT_SECS}s: $(echo "$out" | tail -n 3 | tr '\n' ' ')"
			return 1
		fi
		sleep 1
	done
}

# 2. The agent is PID 1 (the pre-init script exec'd it).
check_pid1() {
	exe="$(readlink /proc/1/exe)"
	if [ "$exe" = /sbin/init ]; then
		report pid1 ok "/proc/1/exe=$exe"
	else
		report pid1 fail "/proc/1/exe=$exe (expected /sbin/init)"
	fi
}

# 3. A unified (v2) cgroup hierarchy on /sys/fs/cgroup with the memory controller.
check_cgroup2() {
	if ! grep -q '^cgroup2 /sys/fs/cgroup cgroup2 ' /proc/mounts; then
		report cgroup2 fail "no cgroup2 on /sys/fs/cgroup: $(grep cgroup /proc/mounts | tr '\n' ';')"
	elif ! grep -qw memory /sys/fs/cgroup/cgroup.controllers; then
		report cgroup2 fail "memory controller missing: $(cat /sys/fs/cgroup/cgroup.controllers)"
	else
		report cgroup2 ok "controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
	fi
}

# 4. A busybox container: create, start, read its output, 64 MiB v2 memory limit, wait, remove.
check_container_lifecycle() {
	pending container_lifecycle "CreateContainer/StartContainer/ReadStdout/WaitProcess/RemoveContainer" || return 0
	cid=vmtest1
	rootfs="/run/vmtest/$cid/rootfs"
	mkdir -p "$rootfs/bin" "$rootfs/proc" "$rootfs/dev" "$rootfs/sys"
	cp /bin/busybox "$rootfs/bin/busybox"
	chroot "$rootfs" /bin/busybox --install -s /bin
	spec='{"Version":"1.0.2","Process":{"Args":["/bin/sh","-c","echo vmtest-hello; sleep 3"],"Env":["PATH=/bin"],"Cwd":"/","User":{"UID":0,"GID":0}},"Root":{"Path":"'"$rootfs"'"},"Hostname":"vmtest","Mounts":[{"destination":"/proc","source":"proc","type":"proc"}],"Linux":{"CgroupsPath":"/vmtest/'"$cid"'","Resources":{"Memory":{"Limit":67108864}},"Namespaces":[{"Type":"pid"},{"Type":"mount"},{"Type":"uts"},{"Type":"ipc"}]}}'
	if ! out="$(ctl -c "CreateSandbox json://{\"hostname\":\"vmtest\",\"sandbox_id\":\"sb-vmtest\"}" \
		-c "CreateContainer json://{\"container_id\":\"$cid\",\"exec_id\":\"$cid\",\"OCI\":$spec}" \
		-c "StartContainer json://{\"container_id\":\"$cid\"}" 2>&1)"; then
		report container_lifecycle fail "create/start: $(echo "$out" | tail -n 3 | tr '\n' ' ')"
		return 0
	fi
	memmax="$(cat "/sys/fs/cgroup/vmtest/$cid/memory.max" 2>/dev/null || echo missing)"
	out="$(ctl -c "ReadStdout json://{\"container_id\":\"$cid\",\"exec_id\":\"$cid\",\"len\":4096}" \
		-c "WaitProcess json://{\"container_id\":\"$cid\",\"exec_id\":\"$cid\"}" \
		-c "RemoveContainer json://{\"container_id\":\"$cid\",\"timeout\":0}" 2>&1)"
	rc=$?
	# ReadStdout's data is bytes: ctl may print it raw or base64 ("vmtest-hello\n" = dm10ZXN0LWhlbGxvCg==).
	if [ $rc -ne 0 ]; then
		report container_lifecycle fail "read/wait/remove: $(echo "$out" | tail -n 3 | tr '\n' ' ')"
	elif ! echo "$out" | grep -q -e vmtest-hello -e dm10ZXN0LWhlbGxvCg; then
		report container_lifecycle fail "output not seen: $(echo "$out" | tr '\n' ' ' | cut -c1-300)"
	elif [ "$memmax" != 67108864 ]; then
		report container_lifecycle fail "memory.max=$memmax (expected 67108864)"
	else
		report container_lifecycle ok "output read, memory.max=$memmax"
	fi
}

# 5. Debug console on a vsock port: a shell answers a command.
check_debug_console() {
	pending debug_console "needs agent.debug_console agent.debug_console_vport=$DEBUG_CONSOLE_VPORT and a vsock client" || return 0
	if [ -z "$VSOCK_CAT" ]; then
		report debug_console fail "no vsock client configured (VSOCK_CAT)"
		return 0
	fi
	out="$( (echo 'echo console-$((6*7))'; sleep 2; echo exit) | timeout 20 $VSOCK_CAT 1 "$DEBUG_CONSOLE_VPORT" 2>&1)"
	if echo "$out" | grep -q console-42; then
		report debug_console ok "shell answered on vport $DEBUG_CONSOLE_VPORT"
	else
		report debug_console fail "$(echo "$out" | tail -n 3 | tr '\n' ' ')"
	fi
}

# 6. Log vport: the agent streams its JSON log lines to the first connection.
check_log_vport() {
	pending log_vport "needs agent.log_vport=$LOG_VPORT and a vsock client" || return 0
	if [ -z "$VSOCK_CAT" ]; then
		report log_vport fail "no vsock client configured (VSOCK_CAT)"
		return 0
	fi
	out="$(timeout 5 $VSOCK_CAT 1 "$LOG_VPORT" </dev/null 2>&1 | head -n 5)"
	if echo "$out" | grep -q '"name":"kata-agent"'; then
		report log_vport ok "JSON log lines received"
	else
		report log_vport fail "$(echo "$out" | tail -n 2 | tr '\n' ' ')"
	fi
}

# 7. DestroySandbox: the agent answers, then powers the VM off (the host sees QEMU exit).
check_destroy_sandbox() {
	echo "VMTEST guest_script_done_uptime=$(uptime_s)"
	if out="$(ctl -c DestroySandbox 2>&1)"; then
		report destroy_sandbox ok "answered; power-off expected"
	else
		report destroy_sandbox fail "$(echo "$out" | tail -n 3 | tr '\n' ' ')"
	fi
}

if check_agent_ready; then
	check_pid1
	check_cgroup2
	check_container_lifecycle
	check_debug_console
	check_log_vport
	check_destroy_sandbox
else
	check_pid1
	check_cgroup2
	# Without an agent nothing will power the VM off: do it ourselves so the host does not wait
	# for its timeout (busybox poweroff works even when PID 1 is not busybox init).
	echo "VMTEST guest_script_done_uptime=$(uptime_s)"
	sync
	poweroff -f
fi
