#!/usr/bin/env bash
# Packs a guest rootfs directory into a Kata rootfs disk image, laid out like Kata's
# tools/osbuilder/image-builder/image_builder.sh, so one file boots both as a virtio-blk root
# (root=/dev/vda1) and as an NVDIMM with DAX (root=/dev/pmem0p1 rootflags=dax):
#
#   0 .. 512 B    MBR #1: one Linux partition, 3 MiB .. size-1 MiB
#   4 KiB         NVDIMM PFN info block (struct nd_pfn_sb): data offset 2 MiB, 2 MiB alignment,
#                 memmap in guest RAM (PFN_MODE_RAM). The guest's nd_pmem finds it and exposes the
#                 namespace from 2 MiB on as /dev/pmem0, in fsdax mode.
#   2 MiB         MBR #2: the same partition, seen from 2 MiB: 1 MiB .. size-3 MiB
#   3 MiB         ext4, 4 KiB blocks (DAX needs block size = page size), 3 % reserved blocks
#   size          a multiple of 128 MiB (memory hotplug granularity, as Kata pads it)
#
# A virtio-blk guest reads MBR #1, a DAX guest reads MBR #2: both find the same ext4 at 3 MiB.
# No loop device or mount: mkfs.ext4 -d populates the filesystem from the directory.
#
#   rootfs-image.sh ROOTFS_DIR OUT.img
# Env: ROOT_FREE_SPACE (MiB of extra free space, default 0), BLOCK_SIZE (default 4096; DAX needs
# 4096), IMAGE_ALIGN_MB (default 128).
set -euo pipefail

prog="${0##*/}"
die() { echo "$prog: error: $*" >&2; exit 1; }
info() { echo "$prog: $*" >&2; }

[ $# -eq 2 ] || die "usage: $prog ROOTFS_DIR OUT.img"
rootfs="$1"
image="$2"
[ -d "$rootfs" ] || die "ROOTFS_DIR '$rootfs' is not a directory"
for tool in mkfs.ext4 e2fsck sfdisk dd od du; do
	command -v "$tool" >/dev/null || die "$tool not found (packages: e2fsprogs, fdisk, coreutils)"
done
free_mib="${ROOT_FREE_SPACE:-0}"
block_size="${BLOCK_SIZE:-4096}"
align_mib="${IMAGE_ALIGN_MB:-128}"
case "$free_mib" in '' | *[!0-9]*) die "ROOT_FREE_SPACE must be a number of MiB, got '$free_mib'" ;; esac
case "$block_size" in 1024 | 2048 | 4096) ;; *) die "BLOCK_SIZE must be 1024, 2048 or 4096, got '$block_size'" ;; esac
case "$align_mib" in '' | *[!0-9]* | 0) die "IMAGE_ALIGN_MB must be a positive number, got '$align_mib'" ;; esac
[ "$block_size" = 4096 ] || info "warning: BLOCK_SIZE=$block_size: the kernel refuses DAX on it (virtio-blk only)"

readonly MiB=1048576
readonly part_start_mib=3 # Kata: rootfs_start (1 MiB) + dax_header_sz (2 MiB)
readonly dax_offset_mib=2 # where /dev/pmem0 starts inside the file (the info block's dataoff)
readonly tail_mib=1       # Kata's partition ends 1 MiB before the end of the image

# Size: what the files take, plus ext4's own metadata (inode tables, the journal, 3 % reserved):
# 20 % + 24 MiB covers it for rootfs sizes from a few MiB to GiBs; mkfs -d says so if not, and
# we retry one alignment step larger.
rootfs_mib=$(du -s -B "$MiB" "$rootfs" | cut -f1)
want_mib=$((part_start_mib + rootfs_mib + rootfs_mib / 5 + 24 + free_mib + tail_mib))
image_mib=$(((want_mib + align_mib - 1) / align_mib * align_mib))

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# The ext4 filesystem, in a file of exactly the partition's size (sparse: it costs what is written).
build_fs() {
	local fs_mib=$1
	rm -f "$tmp/fs.img"
	# -T default: the same inode size/ratio for every image size (mke2fs would pick "small",
	# 128-byte inodes, below 512 MiB); -m 3: Kata's reserved-blocks percentage; root-owned files
	# whoever builds (-E root_owner only sets the root directory, -d copies the files' owners).
	mkfs.ext4 -q -F -T default -b "$block_size" -m 3 -E root_owner=0:0 -d "$rootfs" "$tmp/fs.img" "$((fs_mib * 1024))k" >"$tmp/mkfs.err" 2>&1
}
for attempt in 1 2 3; do
	if build_fs $((image_mib - part_start_mib - tail_mib)); then break; fi
	[ $attempt -lt 3 ] || die "mkfs.ext4 -d failed for a ${image_mib} MiB image: $(cat "$tmp/mkfs.err")"
	info "mkfs.ext4 -d did not fit in ${image_mib} MiB, trying $((image_mib + align_mib)) MiB"
	image_mib=$((image_mib + align_mib))
done
# Kata runs fsck -D after copying; -f checks the fresh filesystem, -D optimises its directories.
e2fsck -f -y -D "$tmp/fs.img" >"$tmp/fsck.out" 2>&1 || [ $? -le 1 ] || die "e2fsck of the new filesystem failed: $(cat "$tmp/fsck.out")"

# One MBR, written into a sparse file of the size the partition table describes. Both tables
# carry the same disk identifier, so the partition's PARTUUID is the same through vda and pmem0.
disk_id="0x$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"
write_mbr() { # write_mbr FILE DISK_MIB START_MIB
	local file=$1 disk_mib=$2 start_mib=$3
	rm -f "$file"
	truncate -s "$((disk_mib * MiB))" "$file"
	printf 'label: dos\nlabel-id: %s\nunit: sectors\nstart=%d, size=%d, type=83\n' "$disk_id" \
		$((start_mib * 2048)) $(((image_mib - part_start_mib - tail_mib) * 2048)) |
		sfdisk --quiet --no-reread --no-tell-kernel "$file" >"$tmp/sfdisk.out" 2>&1 ||
		die "sfdisk failed: $(cat "$tmp/sfdisk.out")"
}

# The PFN info block (Linux drivers/nvdimm/pfn.h, struct nd_pfn_sb, 4 KiB, little-endian): only
# the fields below are non-zero; the last 8 bytes are a Fletcher-64 (32-bit words) of the block.
le() { # le VALUE BYTES: the value as little-endian bytes
	local v=$1 n=$2 i out=""
	for ((i = 0; i < n; i++)); do out+="$(printf '\\x%02x' $(((v >> (8 * i)) & 255)))"; done
	printf '%b' "$out"
}
write_pfn_info() { # write_pfn_info FILE
	local block="$tmp/pfn.blk" dataoff=$((dax_offset_mib * MiB)) align=$((2 * MiB)) lo=0 hi=0 w
	{
		printf 'NVDIMM_PFN_INFO\0'           # 0: signature
		head -c 32 /dev/zero                 # 16: uuid, 32: parent_uuid (a label-less namespace has none)
		le 0 4                               # 48: flags
		le 1 2                               # 52: version_major
		le 2 2                               # 54: version_minor (2: the align field is valid)
		le "$dataoff" 8                      # 56: dataoff, from the namespace start
		le $(((image_mib * MiB - dataoff) / 4096)) 8 # 64: npfns
		le 1 4                               # 72: mode = PFN_MODE_RAM (struct pages in guest RAM)
		le 0 4                               # 76: start_pad
		le 0 4                               # 80: end_trunc
		le "$align" 4                        # 84: align
	} >"$block"
	# The sum runs over all 4096 bytes with the checksum field still zero (the kernel's
	# nd_sb_checksum), so the two trailing zero words count too.
	truncate -s 4096 "$block"
	for w in $(od -An -v -tu4 "$block"); do
		lo=$(((lo + w) & 0xffffffff))
		hi=$((hi + lo))
	done
	truncate -s 4088 "$block"
	le $(((hi << 32) | lo)) 8 >>"$block"
	[ "$(stat -c %s "$block")" = 4096 ] || die "PFN info block is not 4096 bytes"
	dd if="$block" of="$1" bs=4096 seek=1 conv=notrunc status=none
}

mkdir -p "$(dirname "$image")"
out="$image.hook-tmp" # beside the target: a failed build never leaves a half image behind
trap 'rm -rf "$tmp" "$out"' EXIT
write_mbr "$out" "$image_mib" "$part_start_mib"
write_pfn_info "$out"
write_mbr "$tmp/mbr2" "$((image_mib - dax_offset_mib))" "$((part_start_mib - dax_offset_mib))"
dd if="$tmp/mbr2" of="$out" bs=512 count=1 seek=$((dax_offset_mib * 2048)) conv=notrunc status=none
dd if="$tmp/fs.img" of="$out" bs=1M seek="$part_start_mib" conv=notrunc,sparse status=none
[ "$(stat -c %s "$out")" = $((image_mib * MiB)) ] || die "image size is not ${image_mib} MiB"
mv -f "$out" "$image"
info "packed $image: ${image_mib} MiB (rootfs ${rootfs_mib} MiB), ext4 at ${part_start_mib} MiB, DAX data at ${dax_offset_mib} MiB, disk id $disk_id"
