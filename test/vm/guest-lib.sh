# Shared by the guest scripts (sourced as /vmtest/guest-lib.sh; initramfs.ts copies it next to
# the guest script). A script may set CTL_TIMEOUT before sourcing. Every check prints one line:
#     VMTEST <name> ok|fail|skip <detail>
# and facts `VMTEST key=value`; test/vm/qemu.ts parses both.

CTL="/sbin/kata-agent-ctl"          # osbuilder-hook (AGENT_INIT=yes) links it next to the agent
SERVER="vsock://1:1024"              # agent.server_addr=vsock://-1:1024, reached via vsock loopback
CTL_TIMEOUT="${CTL_TIMEOUT:-60}"     # seconds per ctl invocation (Bun under TCG is slow to start)
export PATH=/bin:/sbin:/usr/bin:/usr/sbin

# pre-init unmounted /proc before handing over to /init; wait until the shim/agent remounts it.
wait_for_proc() {
	tries=0
	until [ -r /proc/cmdline ]; do
		tries=$((tries + 1))
		if [ $tries -gt 600 ]; then echo "VMTEST proc_mounted fail /proc not mounted after 60s"; exit 1; fi
		sleep 0.1
	done
}
param() { # param NAME DEFAULT: value of NAME=... on the kernel cmdline
	for word in $(cat /proc/cmdline); do
		case "$word" in "$1="*) echo "${word#*=}"; return ;; esac
	done
	echo "$2"
}
uptime_s() { cut -d' ' -f1 /proc/uptime; }
report() { # report NAME ok|fail|skip DETAIL...
	name="$1"; status="$2"; shift 2
	echo "VMTEST $name $status $*"
}
oneline() { tr '\n' ' ' | cut -c1-400; }
ctl() { # ctl -c CMD [-c CMD]...: one connection, the commands in order
	# Without BUN_JSC_* options from the kernel command line: ctl is a Bun program too, and a test
	# may pass an option the agent's init shim is meant to drop (test/vm/image.test.ts).
	timeout "$CTL_TIMEOUT" env $(env | sed -n 's/^\(BUN_JSC_[A-Za-z0-9_]*\)=.*/-u \1/p') $CTL connect --server-address "$SERVER" "$@"
}

# DestroySandbox, reported as the answer's line arrives: the agent powers the VM off as soon as
# the client hangs up, which may be before a later `echo` runs.
destroy_sandbox() {
	ctl -c DestroySandbox 2>&1 | {
		seen=""
		while IFS= read -r line; do
			case "$line" in
			DestroySandbox:*) report destroy_sandbox ok "answered; power-off expected"; seen=1 ;;
			*) last="$line" ;;
			esac
		done
		[ -n "$seen" ] || report destroy_sandbox fail "$(echo "$last" | oneline)"
	}
}
