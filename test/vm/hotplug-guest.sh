#!/bin/sh
# Guest side of test/vm/hotplug.test.ts (run by /pre-init in the background, like guest-test.sh).
# Checks, each printed once as `VMTEST <name> ok|fail <detail>`:
#   agent_check      the agent answers Check on vsock://1:1024
#   pause_container  the pause container as containerd 2.x + the Kata runtime shape it: user 65535,
#                    oomScoreAdj -998, NoNewPrivileges, read-only root, namespaced sysctls with
#                    /proc/sys read-only, namespaces [ipc, uts, mount]; and an ExecProcess in it
#   cpu_hotplug      after the host's QMP device_add of a CPU: OnlineCPUMem{nb_cpus:2, cpu_only}
#                    brings it online (/sys/devices/system/cpu/online grows)
#   mem_hotplug      after the host's pc-dimm: OnlineCPUMem{wait:false, nb_cpus:0, cpu_only:false}
#                    (what the runtime sends after every update) onlines it (MemTotal grows)
#   mem_online_rpc   a hot-plugged block taken offline again comes back through OnlineCPUMem
#   (then DestroySandbox, which powers the VM off: the host checks that)
# Facts: `VMTEST hotplug_ready=1 ...` tells the host to plug the CPU and the DIMM now.
. /vmtest/guest-lib.sh
wait_for_proc
memtotal() { sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo; }
offline_blocks() { for f in /sys/devices/system/memory/memory*/online; do [ "$(cat "$f")" = 0 ] && echo "$f"; done; }

start="$(date +%s)"
until out="$(ctl -c Check 2>&1)" && echo "$out" | grep -q SERVING; do
	if [ $(($(date +%s) - start)) -ge 90 ]; then
		report agent_check fail "no SERVING within 90s: $(echo "$out" | tail -n 2 | oneline)"
		poweroff -f
	fi
	sleep 0.5
done
report agent_check ok "after $(($(date +%s) - start))s"

# The pause container, as the runtime sends it (exec_id = container id, namespaces ipc/uts/mount).
mkdir -p /tmp/pause
cat >/tmp/pause/config.json <<'EOF'
{
  "ociVersion": "1.1.0",
  "process": {
    "user": { "uid": 65535, "gid": 65535 },
    "args": ["sleep", "100000"],
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
    "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"],
      "effective": ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"],
      "permitted": ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]
    },
    "noNewPrivileges": true,
    "oomScoreAdj": -998
  },
  "root": { "path": "/vmtest/bundle/rootfs", "readonly": true },
  "hostname": "pause-pod",
  "mounts": [
    { "destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"] },
    { "destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"] },
    { "destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
    { "destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"] },
    { "destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"] }
  ],
  "linux": {
    "sysctl": { "net.ipv4.ip_unprivileged_port_start": "0", "net.ipv4.ping_group_range": "0 2147483647" },
    "resources": { "cpu": { "shares": 2 } },
    "cgroupsPath": "/kubepods/pod-vmtest/pause",
    "namespaces": [{ "type": "ipc" }, { "type": "uts" }, { "type": "mount" }],
    "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
  }
}
EOF
cat >/vmtest/bundle/rootfs/probe.sh <<'EOF'
grep -E '^(Uid|NoNewPrivs)' /proc/1/status | tr -s '\t ' '  '
cat /proc/1/oom_score_adj /proc/sys/net/ipv4/ip_unprivileged_port_start
hostname
touch /x 2>/dev/null || echo rootro
EOF
out="$(ctl -c "CreateSandbox sid=pod-hotplug hostname=pause-pod" -c "CreateContainer cid=pause bundle=/tmp/pause" \
	-c "StartContainer cid=pause" -c "ExecProcess cid=pause exec_id=probe cmd=\"sh /probe.sh\"" \
	-c "ReadAll cid=pause exec_id=probe" -c "WaitProcess cid=pause exec_id=probe" 2>&1)"
rc=$?
if [ $rc -ne 0 ]; then
	report pause_container fail "ctl exit $rc: $(echo "$out" | tail -n 4 | oneline)"
elif ! echo "$out" | grep -q '^Uid: 65535 65535 65535 65535'; then
	report pause_container fail "init not running as 65535: $(echo "$out" | oneline)"
elif ! echo "$out" | grep -qx -- '-998'; then
	report pause_container fail "oom_score_adj is not -998: $(echo "$out" | oneline)"
elif ! echo "$out" | grep -qx '0'; then
	report pause_container fail "sysctl net.ipv4.ip_unprivileged_port_start is not 0: $(echo "$out" | oneline)"
elif ! echo "$out" | grep -qx 'rootro' || ! echo "$out" | grep -qx 'pause-pod'; then
	report pause_container fail "read-only root or hostname wrong: $(echo "$out" | oneline)"
else
	report pause_container ok "uid 65535, oom_score_adj -998, sysctls written under a read-only /proc/sys, exec joined its pid namespace: $(echo "$out" | grep -E '^(Uid|NoNewPrivs|-998|0)' | oneline)"
fi

cpus0="$(cat /sys/devices/system/cpu/online)"
mem0="$(memtotal)"
echo "VMTEST hotplug_ready=1 cpus_online=$cpus0 memtotal_kb=$mem0"
# Wait for the host's hot-plugged CPU (cpu1, offline) and memory (an offline block, or one the
# agent's uevent listener already onlined, as Kata's does: MemTotal grew).
start="$(date +%s)"
until [ -e /sys/devices/system/cpu/cpu1/online ] && { [ -n "$(offline_blocks)" ] || [ "$(memtotal)" -gt "$mem0" ]; }; do
	if [ $(($(date +%s) - start)) -ge 60 ]; then break; fi
	sleep 0.2
done
offline_at_plug="$(offline_blocks | wc -l)"
echo "VMTEST hotplug_seen=$(($(date +%s) - start))s cpu1=$(cat /sys/devices/system/cpu/cpu1/online 2>/dev/null || echo absent) offline_blocks=$offline_at_plug"

out="$(ctl -c "OnlineCPUMem nb_cpus=2 cpu_only=true wait=true" 2>&1)"
rc=$?
cpus1="$(cat /sys/devices/system/cpu/online)"
if [ $rc -ne 0 ]; then
	report cpu_hotplug fail "OnlineCPUMem: $(echo "$out" | tail -n 2 | oneline)"
elif [ "$cpus1" != "0-1" ]; then
	report cpu_hotplug fail "online CPUs $cpus0 -> $cpus1 (expected 0-1)"
else
	# The pause container's spec has a CPU section: its cgroup and every level above it (v2 here)
	# were given the new CPU list.
	cg=/sys/fs/cgroup/kubepods/pod-vmtest/pause
	sets="$(cat /sys/fs/cgroup/kubepods/cpuset.cpus /sys/fs/cgroup/kubepods/pod-vmtest/cpuset.cpus $cg/cpuset.cpus 2>&1 | oneline)"
	if [ "$sets" != "0-1 0-1 0-1 " ]; then
		report cpu_hotplug fail "online CPUs $cpus0 -> $cpus1, but the cpusets kubepods, pod-vmtest, pause are: $sets"
	else
		report cpu_hotplug ok "online CPUs $cpus0 -> $cpus1, nproc $(nproc), cpuset.cpus of kubepods/pod-vmtest/pause: $sets"
	fi
fi

out="$(ctl -c "OnlineCPUMem nb_cpus=0 cpu_only=false wait=false" 2>&1)"
rc=$?
start="$(date +%s)"
while [ "$(memtotal)" -le "$mem0" ] && [ $(($(date +%s) - start)) -lt 20 ]; do sleep 0.2; done
mem1="$(memtotal)"
if [ $rc -ne 0 ]; then
	report mem_hotplug fail "OnlineCPUMem: $(echo "$out" | tail -n 2 | oneline)"
elif [ "$mem1" -le "$mem0" ] || [ -n "$(offline_blocks)" ]; then
	report mem_hotplug fail "MemTotal ${mem0} -> ${mem1} kB, offline blocks left: $(offline_blocks | oneline)"
else
	by="OnlineCPUMem"
	[ "$offline_at_plug" = 0 ] && by="the agent's uevent listener (as Kata's), before OnlineCPUMem"
	report mem_hotplug ok "MemTotal ${mem0} -> ${mem1} kB (+$(( (mem1 - mem0) / 1024 )) MiB), onlined by $by"
fi

# OnlineCPUMem's own memory path on the real kernel: take the last hot-plugged block offline again
# (a hot-added block can go), then the runtime's OnlineCPUMem{nb_cpus:0, cpu_only:false} must
# bring it back.
block="$(ls -d /sys/devices/system/memory/memory* | sed 's/.*memory//' | sort -n | tail -n 1)"
f="/sys/devices/system/memory/memory$block/online"
if ! echo 0 >"$f" 2>/dev/null || [ "$(cat "$f")" != 0 ]; then
	report mem_online_rpc fail "could not take memory$block offline (online=$(cat "$f"))"
else
	mem2="$(memtotal)"
	out="$(ctl -c "OnlineCPUMem nb_cpus=0 cpu_only=false wait=true" 2>&1)"
	rc=$?
	if [ $rc -ne 0 ]; then
		report mem_online_rpc fail "OnlineCPUMem: $(echo "$out" | tail -n 2 | oneline)"
	elif [ "$(cat "$f")" != 1 ] || [ "$(memtotal)" -le "$mem2" ]; then
		report mem_online_rpc fail "memory$block online=$(cat "$f"), MemTotal $mem2 -> $(memtotal) kB"
	else
		report mem_online_rpc ok "memory$block offline (MemTotal $mem2 kB) -> online by OnlineCPUMem (MemTotal $(memtotal) kB)"
	fi
fi

# The agent powers off right after answering, often before this script could print anything:
# the host takes the power-off as the answer.
echo "VMTEST destroy_sandbox_sent=1"
if ! out="$(ctl -c DestroySandbox 2>&1)"; then
	report destroy_sandbox fail "$(echo "$out" | tail -n 3 | oneline)"
	poweroff -f
fi
