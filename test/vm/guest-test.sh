#!/bin/sh
# Guest-side checks, run inside the VM by /pre-init in the background just before it execs the
# agent. Every check prints exactly one line to the console:
#     VMTEST <name> ok|fail|skip <detail>
# and facts are printed as `VMTEST key=value`; test/vm/qemu.ts parses both. These markers are
# ours, not the agent's: with agent.log_vport the agent's own logs leave the console.
# Kernel cmdline knobs: vmtest.mode=agent|standin, vmtest.wait=SECONDS (how long to wait for the
# agent); agent.debug_console_vport= and agent.log_vport= are read from the cmdline too.
#
# What the initramfs (test/vm/initramfs.ts) provides for the containers:
#   /vmtest/bundle/rootfs        busybox with its applets
#   /vmtest/bundle/config.json   `runc spec`-like, runs `tail /dev/zero` under a memory limit
#   /vmtest/bundle/memory-limit  that limit in bytes; /vmtest/bundle/cgroup its cgroupsPath

CTL_TIMEOUT=40
VSOCK_CAT="/sbin/init vsock-cat"      # busybox has no vsock client; the agent binary has one
BUNDLE=/vmtest/bundle
. /vmtest/guest-lib.sh
wait_for_proc
MODE="$(param vmtest.mode agent)"
WAIT_SECS="$(param vmtest.wait 90)"
DEBUG_CONSOLE_VPORT="$(param agent.debug_console_vport 0)"
LOG_VPORT="$(param agent.log_vport 0)"

real_agent_only() { # real_agent_only NAME: the stand-in speaks no ttRPC; skip what needs the agent
	if [ "$MODE" = standin ]; then
		report "$1" skip "stand-in agent"
		return 1
	fi
	return 0
}

echo "VMTEST guest_script_start_uptime=$(uptime_s) mode=$MODE"

# 1. The agent answers Health.Check (SERVING) over vsock loopback. Polled often: the host reports
#    the time from QEMU start to this marker.
check_agent_ready() {
	start="$(date +%s)"
	attempts=0
	while :; do
		attempts=$((attempts + 1))
		if out="$(ctl -c Check 2>&1)"; then
			echo "VMTEST agent_ready_uptime=$(uptime_s) attempts=$attempts"
			if [ "$MODE" = standin ] || echo "$out" | grep -q SERVING; then
				report agent_check ok "after $(($(date +%s) - start))s: $(echo "$out" | oneline)"
				return 0
			fi
			report agent_check fail "answered without SERVING: $(echo "$out" | oneline)"
			return 1
		fi
		if [ $(($(date +%s) - start)) -ge "$WAIT_SECS" ]; then
			report agent_check fail "no answer on $SERVER within ${WAIT_SECS}s: $(echo "$out" | tail -n 3 | oneline)"
			return 1
		fi
		sleep 0.2
	done
}

# 2. The agent is PID 1 (pre-init exec'd /init, the shim exec'd /sbin/init).
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
		report cgroup2 fail "no cgroup2 on /sys/fs/cgroup: $(grep cgroup /proc/mounts | oneline)"
	elif ! grep -qw memory /sys/fs/cgroup/cgroup.controllers; then
		report cgroup2 fail "memory controller missing: $(cat /sys/fs/cgroup/cgroup.controllers)"
	else
		report cgroup2 ok "controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
	fi
}

# 4. CreateSandbox, then a busybox container through its whole life with agent-ctl's short forms.
#    The expected words are computed by the container's shell (hello-42, exit 3), so they cannot
#    come from our command line; pid=1 shows it runs in its own PID namespace. The last call, on
#    the removed container, must fail: ctl stops there with exit 1.
check_container_lifecycle() {
	real_agent_only container_lifecycle || return 0
	out="$(ctl -c "CreateSandbox sid=sb-vmtest hostname=vmtest" \
		-c "CreateContainer cid=hello rootfs=$BUNDLE/rootfs cmd=\"sh -c 'echo hello-\$((6*7)) pid=\$\$; exit 3'\"" \
		-c "StartContainer cid=hello" -c "ReadAll cid=hello" -c "WaitProcess cid=hello" -c "RemoveContainer cid=hello" \
		-c "WaitProcess cid=hello" 2>&1)"
	rc=$?
	if ! echo "$out" | grep -qx 'hello-42 pid=1'; then
		report container_lifecycle fail "output 'hello-42 pid=1' not read (ctl exit $rc): $(echo "$out" | tail -n 6 | oneline)"
	elif ! echo "$out" | grep -q '^WaitProcess: {"status":3}'; then
		report container_lifecycle fail "WaitProcess is not exit code 3: $(echo "$out" | grep WaitProcess | oneline)"
	elif ! echo "$out" | grep -q '^RemoveContainer: '; then
		report container_lifecycle fail "RemoveContainer: $(echo "$out" | tail -n 3 | oneline)"
	elif [ $rc -ne 1 ] || ! echo "$out" | tail -n 1 | grep -q 'WaitProcess: error: rpc error'; then
		report container_lifecycle fail "the removed container still answers (ctl exit $rc): $(echo "$out" | tail -n 1 | oneline)"
	else
		report container_lifecycle ok "read 'hello-42 pid=1', WaitProcess status 3, removed ($(echo "$out" | tail -n 1 | sed 's/.*code = //' | oneline))"
	fi
}

# 5. A container from a bundle whose config.json sets a cgroup v2 memory limit; `tail /dev/zero`
#    buffers an endless line and must be OOM-killed: WaitProcess 137 (128 + SIGKILL), memory.max
#    and memory.events of its cgroup say why, and RemoveContainer deletes the cgroup.
check_container_oom() {
	real_agent_only container_oom || return 0
	limit="$(cat $BUNDLE/memory-limit)"
	cg="/sys/fs/cgroup/$(cat $BUNDLE/cgroup)"
	out="$(ctl -c "CreateContainer cid=oom bundle=$BUNDLE" -c "StartContainer cid=oom" -c "WaitProcess cid=oom" 2>&1)"
	rc=$?
	memmax="$(cat "$cg/memory.max" 2>&1)"
	oomkills="$(sed -n 's/^oom_kill //p' "$cg/memory.events" 2>&1)"
	peak="$(cat "$cg/memory.peak" 2>/dev/null || echo n/a)"
	rmout="$(ctl -c "RemoveContainer cid=oom" 2>&1)"
	rmrc=$?
	if [ $rc -ne 0 ]; then
		report container_oom fail "ctl exit $rc: $(echo "$out" | tail -n 4 | oneline)"
	elif ! echo "$out" | grep -q '^WaitProcess: {"status":137}'; then
		report container_oom fail "WaitProcess is not 137: $(echo "$out" | grep WaitProcess | oneline)"
	elif [ "$memmax" != "$limit" ]; then
		report container_oom fail "$cg/memory.max=$memmax (expected $limit)"
	elif [ -z "$oomkills" ] || [ "$oomkills" -lt 1 ]; then
		report container_oom fail "memory.events oom_kill=$oomkills"
	elif [ $rmrc -ne 0 ]; then
		report container_oom fail "RemoveContainer: $(echo "$rmout" | tail -n 3 | oneline)"
	elif [ -d "$cg" ]; then
		report container_oom fail "$cg still exists after RemoveContainer"
	else
		report container_oom ok "WaitProcess 137, memory.max=$memmax oom_kill=$oomkills peak=$peak, cgroup removed"
	fi
}

# 6. Debug console on a vsock port: a shell answers a command (the answer, dbg-42, is computed by
#    the shell; the pty's echo of our input shows only the expression).
check_debug_console() {
	real_agent_only debug_console || return 0
	if [ "$DEBUG_CONSOLE_VPORT" = 0 ]; then
		report debug_console fail "boot with agent.debug_console_vport=PORT"
		return 0
	fi
	start="$(date +%s)"
	out="$(echo 'echo dbg-$((40+2)); exit' | timeout 40 $VSOCK_CAT 1 "$DEBUG_CONSOLE_VPORT" --timeout 30000 2>&1)"
	rc=$?
	took=$(($(date +%s) - start))
	if ! echo "$out" | grep -q dbg-42; then
		report debug_console fail "exit $rc after ${took}s: $(echo "$out" | tail -n 3 | oneline)"
	elif [ $took -ge 25 ]; then
		# `exit` must end the session: the agent closes the connection when the shell is gone.
		report debug_console fail "answered, but the connection stayed open ${took}s after exit"
	else
		report debug_console ok "shell on vport $DEBUG_CONSOLE_VPORT answered dbg-42, connection closed on exit (${took}s)"
	fi
}

# 7. Log vport: the agent streams its JSON log lines (kept since boot) to a reader. The debug
#    console's connection, a moment ago, must be among them: the stream is live, not a leftover.
check_log_vport() {
	real_agent_only log_vport || return 0
	if [ "$LOG_VPORT" = 0 ]; then
		report log_vport fail "boot with agent.log_vport=PORT"
		return 0
	fi
	out="$(timeout 20 $VSOCK_CAT 1 "$LOG_VPORT" --timeout 1500 </dev/null 2>&1)"
	total="$(echo "$out" | grep -c .)"
	json="$(echo "$out" | grep -c '^{.*"level":"[A-Z]*".*}$')"
	if [ "$json" -lt 3 ] || [ "$json" -ne "$total" ]; then
		report log_vport fail "$json JSON lines with \"level\" of $total: $(echo "$out" | grep -v '"level"' | head -n 3 | oneline)"
	elif ! echo "$out" | grep -q '"msg":"debug console connection"'; then
		report log_vport fail "no 'debug console connection' line among $json: $(echo "$out" | tail -n 2 | oneline)"
	elif ! echo "$out" | grep -q '"msg":"starting kata-agent"'; then
		# Lines logged before the configuration was read are held and sent to the port too.
		report log_vport fail "the start-up line (logged before the port existed) is missing: $(echo "$out" | head -n 2 | oneline)"
	else
		report log_vport ok "$json JSON lines with \"level\", from the start-up line to the debug console's connection"
	fi
}

# 8. DestroySandbox: the agent answers, then powers the VM off (the host sees QEMU exit).
check_destroy_sandbox() {
	echo "VMTEST guest_script_done_uptime=$(uptime_s)"
	destroy_sandbox
}

if check_agent_ready; then
	check_pid1
	check_cgroup2
	check_container_lifecycle
	check_container_oom
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
