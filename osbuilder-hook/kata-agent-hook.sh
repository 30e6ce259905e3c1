#!/usr/bin/env bash
# Installs our TypeScript kata-agent (one `bun build --compile` binary, which is also kata-agent-ctl)
# into a guest rootfs the way Kata's osbuilder lays out its own agent, and optionally packs an initrd.
#
#   kata-agent-hook.sh ROOTFS_DIR [--agent PATH] [--init yes|no] [--initrd OUT.img] [--image OUT.img]
#
#   AGENT_INIT=no  (default) /usr/bin/kata-agent + systemd units (kata-agent.service wanted by
#                  kata-containers.target, which basic.target wants); systemd is the guest's init.
#   AGENT_INIT=yes the agent is /sbin/init (initrd images; the agent is PID 1). /init is a ~9 KiB
#                  static shim that mounts /proc and execs /sbin/init, because a Bun binary aborts
#                  before any JavaScript runs when /proc is missing (see init-shim.c). With
#                  --init-shim no, /init -> /sbin/init as in Kata's own images.
#                  With --image (disk layout): the kernel starts /sbin/init from a disk root, so
#                  /sbin/init is the shim, the agent is /sbin/kata-agent, and /init -> /sbin/init
#                  (the same tree then boots as an initrd too).
# --image packs the rootfs into a Kata rootfs disk image (rootfs-image.sh: MBR, DAX header, ext4).
# In both modes a kata-agent-ctl symlink sits next to the binary, and the shared libraries the binary
# needs (ldd, including the dynamic loader) are copied to the same paths unless the rootfs has them.
# Running it twice gives the same rootfs.
set -euo pipefail

prog="${0##*/}"
script_dir="$(cd "$(dirname "$0")" && pwd)"

die() { echo "$prog: error: $*" >&2; exit 1; }
info() { echo "$prog: $*" >&2; }
usage() {
	cat >&2 <<EOF
usage: $prog ROOTFS_DIR [--agent PATH] [--init yes|no] [--init-shim yes|no] [--initrd OUT.img] [--image OUT.img]
  --agent PATH       agent binary (default: \$AGENT_SOURCE_BIN or <repo>/dist/kata-agent)
  --init yes|no      install the agent as /sbin/init (default: \$AGENT_INIT or "no")
  --init-shim yes|no with --init yes: /init mounts /proc then execs /sbin/init (default: \$AGENT_INIT_SHIM
                     or "yes"; needs a C compiler, \$CC or cc); "no": /init -> /sbin/init
  --initrd OUT.img also pack ROOTFS_DIR as a gzip'd newc cpio initrd (gzip level: \$INITRD_GZIP_LEVEL, default 6;
                   0 = no compression: bigger, but the kernel skips inflating it, faster under emulation)
  --image OUT.img  also pack ROOTFS_DIR as a Kata rootfs disk image (virtio-blk or NVDIMM/DAX root; see
                   rootfs-image.sh; env ROOT_FREE_SPACE, BLOCK_SIZE); with --init yes the disk layout applies
EOF
	exit "${1:-2}"
}

rootfs=""
agent="${AGENT_SOURCE_BIN:-$script_dir/../dist/kata-agent}"
init="${AGENT_INIT:-no}"
initrd=""
image=""
init_shim="${AGENT_INIT_SHIM:-yes}"
while [ $# -gt 0 ]; do
	case "$1" in
	--agent) [ $# -ge 2 ] || die "--agent needs a path"; agent="$2"; shift 2 ;;
	--agent=*) agent="${1#*=}"; shift ;;
	--init) [ $# -ge 2 ] || die "--init needs yes or no"; init="$2"; shift 2 ;;
	--init=*) init="${1#*=}"; shift ;;
	--init-shim) [ $# -ge 2 ] || die "--init-shim needs yes or no"; init_shim="$2"; shift 2 ;;
	--init-shim=*) init_shim="${1#*=}"; shift ;;
	--initrd) [ $# -ge 2 ] || die "--initrd needs an output path"; initrd="$2"; shift 2 ;;
	--initrd=*) initrd="${1#*=}"; shift ;;
	--image) [ $# -ge 2 ] || die "--image needs an output path"; image="$2"; shift 2 ;;
	--image=*) image="${1#*=}"; shift ;;
	-h | --help) usage 0 ;;
	-*) die "unknown option: $1 (see --help)" ;;
	*) [ -z "$rootfs" ] || die "more than one ROOTFS_DIR given: '$rootfs' and '$1'"; rootfs="$1"; shift ;;
	esac
done

[ -n "$rootfs" ] || usage
[ -d "$rootfs" ] || die "ROOTFS_DIR '$rootfs' is not a directory"
rootfs="$(cd "$rootfs" && pwd -P)"
[ "$rootfs" != / ] || die "refusing to install into the host's / (ROOTFS_DIR resolved to /)"
case "$init" in yes | no) ;; *) die "AGENT_INIT/--init must be yes or no, got '$init'" ;; esac
case "$init_shim" in yes | no) ;; *) die "AGENT_INIT_SHIM/--init-shim must be yes or no, got '$init_shim'" ;; esac
if [ -n "$image" ] && [ "$init" = yes ] && [ "$init_shim" = no ]; then
	die "--image with --init yes needs the shim: the kernel starts /sbin/init from a disk root, before /proc exists"
fi
[ -e "$agent" ] || die "agent binary '$agent' does not exist (build it with 'npm run build', or pass --agent)"
[ -f "$agent" ] && [ -x "$agent" ] || die "agent binary '$agent' is not an executable file"
gzip_level="${INITRD_GZIP_LEVEL:-6}"
case "$gzip_level" in [0-9]) ;; *) die "INITRD_GZIP_LEVEL must be 0..9, got '$gzip_level'" ;; esac
compress() { if [ "$gzip_level" = 0 ]; then cat; else gzip "-$gzip_level"; fi; }

# A rootfs may contain absolute symlinks (e.g. lib64 -> /usr/lib64) that would resolve on the build
# host; refuse to write anywhere whose real location is outside the rootfs.
ensure_inside_rootfs() {
	local dir="$1" existing real
	# Check the deepest part that exists before creating anything below it.
	existing="$dir"
	while [ ! -e "$existing" ] && [ ! -L "$existing" ]; do existing="$(dirname "$existing")"; done
	real="$(cd "$existing" 2>/dev/null && pwd -P)" || die "'$existing' is not a usable directory"
	case "$real/" in "$rootfs"/*) ;; *) die "'$dir' resolves to '$real', outside the rootfs (absolute symlink in the rootfs?)" ;; esac
	mkdir -p "$dir"
}

# Copies a file into the rootfs, replacing whatever (file or symlink) is at the destination, so
# we never write through a symlink such as sbin/init -> /lib/systemd/systemd.
place_file() {
	local src="$1" dest="$2" mode="$3"
	ensure_inside_rootfs "$(dirname "$dest")"
	[ ! -d "$dest" ] || [ -L "$dest" ] || die "'$dest' is a directory"
	rm -f "$dest.hook-tmp"
	cp -L "$src" "$dest.hook-tmp"
	chmod "$mode" "$dest.hook-tmp"
	mv -f "$dest.hook-tmp" "$dest"
}

place_link() {
	local target="$1" link="$2"
	ensure_inside_rootfs "$(dirname "$link")"
	[ ! -d "$link" ] || [ -L "$link" ] || die "'$link' is a directory, cannot replace it by a symlink"
	ln -sfn "$target" "$link"
}

copy_shared_libraries() {
	local out lib
	# ldd exits non-zero for static binaries ("not a dynamic executable"): nothing to copy then.
	if ! out="$(LC_ALL=C ldd "$agent" 2>&1)"; then
		case "$out" in
		*"not a dynamic executable"* | *"statically linked"*) info "agent is static: no shared libraries to copy"; return ;;
		*) die "ldd $agent failed: $out" ;;
		esac
	fi
	case "$out" in *"not found"*) die "ldd cannot resolve all libraries of $agent: $out" ;; esac
	# Lines look like "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or, for the loader,
	# "/lib64/ld-linux-x86-64.so.2 (0x...)"; the vDSO has no path.
	for lib in $(printf '%s\n' "$out" | sed -n -e 's/^.*=> \(\/[^ ]*\).*$/\1/p' -e 's/^[[:space:]]*\(\/[^ ]*\) (0x.*$/\1/p' | sort -u); do
		if [ -e "$rootfs$lib" ]; then
			continue
		fi
		place_file "$lib" "$rootfs$lib" 0755
		info "copied $lib"
	done
}

write_systemd_units() {
	local unitdir="$rootfs/usr/lib/systemd/system"
	ensure_inside_rootfs "$unitdir"
	# Written from the behaviour Kata's image relies on: agent output on the console tty, the VM
	# powers off when the agent fails or stops, and the OOM killer leaves the agent alone.
	cat >"$unitdir/kata-agent.service" <<'EOF'
[Unit]
Description=Kata Containers guest agent (TypeScript on Bun)
Wants=kata-containers.target

[Service]
# The console tty is where the runtime collects agent logs when no log vport is used.
StandardOutput=tty
Type=simple
ExecStart=/usr/bin/kata-agent
# JavaScriptCore without its DFG JIT tier (less memory and CPU in the VM for ~7% of stdout
# throughput) and without the helper thread that keeps 512 KiB of heap blocks warm (init-shim.c
# says why; docs/PERFORMANCE.md has the figures).
Environment=BUN_JSC_useDFGJIT=0 BUN_JSC_useWarmUpMarkedBlocks=0
LimitNOFILE=1073741824
# Stopping the agent means the sandbox is gone: flush and power the VM off.
ExecStop=/bin/sync ; /usr/bin/systemctl --force poweroff
FailureAction=poweroff
OOMScoreAdjust=-997
EOF
	cat >"$unitdir/kata-containers.target" <<'EOF'
[Unit]
Description=Kata Containers guest agent target
Requires=basic.target
Requires=kata-agent.service
After=basic.target
AllowIsolate=yes
EOF
	chmod 0644 "$unitdir/kata-agent.service" "$unitdir/kata-containers.target"
	# Enablement as in Kata's images: basic.target pulls in kata-containers.target, which pulls
	# in the agent service.
	place_link /usr/lib/systemd/system/kata-containers.target \
		"$rootfs/etc/systemd/system/basic.target.wants/kata-containers.target"
	place_link /usr/lib/systemd/system/kata-agent.service \
		"$rootfs/etc/systemd/system/kata-containers.target.wants/kata-agent.service"
}

# Builds init-shim.c into a static, libc-free executable that execs AGENT and installs it at DEST.
install_init_shim() {
	local dest="$1" target="$2" cc="${CC:-cc}" tmp
	command -v "$cc" >/dev/null || die "--init-shim yes needs a C compiler ('$cc' not found; set CC, or pass --init-shim no)"
	tmp="$(mktemp -d)"
	# shellcheck disable=SC2064 # expand now: tmp is local
	trap "rm -rf '$tmp'" EXIT
	"$cc" -Os -static -nostdlib -ffreestanding -fno-stack-protector -fno-pie -no-pie \
		-fno-asynchronous-unwind-tables -Wl,--build-id=none -s -DAGENT_PATH="\"$target\"" \
		-o "$tmp/init" "$script_dir/init-shim.c" || die "compiling $script_dir/init-shim.c failed"
	place_file "$tmp/init" "$rootfs$dest" 0755
}

if [ "$init" = yes ] && [ -n "$image" ]; then
	# Disk layout: the kernel runs /sbin/init (a disk root) or /init (an initrd); both are the shim.
	place_file "$agent" "$rootfs/sbin/kata-agent" 0755
	place_link kata-agent "$rootfs/sbin/kata-agent-ctl"
	install_init_shim /sbin/init /sbin/kata-agent
	place_link /sbin/init "$rootfs/init"
	info "installed $agent as /sbin/kata-agent (/sbin/init = shim that mounts /proc, /init -> /sbin/init)"
elif [ "$init" = yes ]; then
	place_file "$agent" "$rootfs/sbin/init" 0755
	place_link init "$rootfs/sbin/kata-agent-ctl"
	if [ "$init_shim" = yes ]; then
		install_init_shim /init /sbin/init
		info "installed $agent as /sbin/init (/init = shim that mounts /proc, /sbin/kata-agent-ctl -> init)"
	else
		place_link /sbin/init "$rootfs/init"
		info "installed $agent as /sbin/init (/init -> /sbin/init, /sbin/kata-agent-ctl -> init)"
	fi
else
	place_file "$agent" "$rootfs/usr/bin/kata-agent" 0755
	place_link kata-agent "$rootfs/usr/bin/kata-agent-ctl"
	write_systemd_units
	info "installed $agent as /usr/bin/kata-agent with kata-agent.service and kata-containers.target"
fi
copy_shared_libraries

if [ -n "$initrd" ]; then
	mkdir -p "$(dirname "$initrd")"
	# Files owned by root in the image whoever builds it; write aside and rename so a failed pack
	# never leaves a truncated initrd behind.
	(cd "$rootfs" && find . | LC_ALL=C sort | cpio --quiet -H newc -o -R +0:+0 | compress) >"$initrd.hook-tmp" \
		|| { rm -f "$initrd.hook-tmp"; die "packing the initrd failed"; }
	mv -f "$initrd.hook-tmp" "$initrd"
	info "packed $initrd ($(du -k "$initrd" | cut -f1) KiB)"
fi

if [ -n "$image" ]; then
	"$script_dir/rootfs-image.sh" "$rootfs" "$image" || die "packing the disk image failed"
fi
