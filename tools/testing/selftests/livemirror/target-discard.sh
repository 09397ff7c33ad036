#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# livemirror: discards and write-zeroes on legs that support them.  Both
# legs are loop devices over tmpfs files, which punch holes for a discard,
# so the source then reads zeroes where the destination still holds the old
# bytes: the target must mark the regions and copy them again, and the
# legs must end identical.  Also checked: discards before a region was
# copied, unaligned discards, write-zeroes across regions, and fio verify
# data around a discarded range.
. "$(dirname "$0")/lib.sh"
lm_require_guest
lm_plan 16

lm_ok "modules load" lm_load_modules
modprobe loop

W=$(mktemp -d /dev/shm/discard.XXXXXX)
mkloop() { truncate -s "$2" "$W/$1.img" && losetup -f --show "$W/$1.img"; }
S=$(mkloop s 32M) D=$(mkloop d 32M) M=$(mkloop m 1M)
lm_on_exit "rm -rf $W"
lm_on_exit "losetup -d $S $D $M"
N=$((32 * 2048))
# zeroes DEV OFFSET LENGTH: the range reads back as zeroes (O_DIRECT, so no
# page cached before the discard can answer).
zeroes() {
	dd if="$1" iflag=direct,skip_bytes,count_bytes skip="$2" count="$3" bs=64k status=none |
		cmp -s - <(head -c "$3" /dev/zero)
}
R=128	# 64 KiB regions: 512 of them

lm_fill "$S"
dd if=/dev/urandom of="$D" bs=1M count=32 oflag=direct status=none
dmsetup create dc --table "0 $N livemirror $M $S $D $R"
lm_on_exit "dmsetup remove --retry dc"
lm_wait_state dc synced 120
lm_ok "synced, legs identical" lm_same "$S" "$D" $N

max=$(cat "/sys/block/$(dmsetup info -c --noheadings -o blkdevname dc | tr -d ' ')/queue/discard_max_bytes")
lm_ok "the device takes discards (discard_max_bytes $max)" test "$max" -gt 0

# Wait for the lazy clear: the discard must mark clean regions again.
for ((i = 0; i < 100; i++)); do [ "$(lm_field dc dirty)" = 0 ] && break; sleep 0.1; done
lm_eq "every region clean before the discard" 0 "$(lm_field dc dirty)"

# A region-aligned discard of 4 MiB at 1 MiB.
blkdiscard -o $((1 << 20)) -l $((4 << 20)) /dev/mapper/dc
src_zero=$(lm_sum "$S" $N)
lm_wait_state dc synced 60
lm_ok "aligned discard: the source range reads zeroes (hole punched)" \
	zeroes "$S" $((1 << 20)) $((4 << 20))
lm_ok "aligned discard: regions copied again, legs identical" lm_same "$S" "$D" $N
lm_eq "aligned discard: the source was not written after the discard" \
	"$src_zero" "$(lm_sum "$S" $N)"

# Unaligned: 100 KiB starting 4 KiB into a region, over three regions.
blkdiscard -o $((10 * 1048576 + 4096)) -l $((100 * 1024)) /dev/mapper/dc
lm_wait_state dc synced 60
lm_ok "unaligned discard: legs identical" lm_same "$S" "$D" $N

# Write-zeroes across regions (blkdiscard -z) goes the discard's way.
blkdiscard -z -o $((16 << 20)) -l $((2 << 20)) /dev/mapper/dc
lm_wait_state dc synced 60
lm_ok "write-zeroes across regions: the device reads zeroes" \
	zeroes /dev/mapper/dc $((16 << 20)) $((2 << 20))
lm_ok "write-zeroes across regions: legs identical" lm_same "$S" "$D" $N

# Write-zeroes inside one region is mirrored like a write (until 670fc08
# the destination clone walked the bvec table it does not have: an oops).
# Aligned on a region, then 8 KiB inside one; both with and without unmap.
dd if=/dev/urandom of=/dev/mapper/dc bs=64k count=2 seek=300 oflag=direct status=none
blkdiscard -z -o $((300 * 65536)) -l 65536 /dev/mapper/dc
fallocate -p -o $((301 * 65536 + 4096)) -l 8192 /dev/mapper/dc 2>/dev/null ||
	blkdiscard -z -o $((301 * 65536 + 4096)) -l 8192 /dev/mapper/dc
lm_ok "write-zeroes inside one region: the device reads zeroes" \
	bash -c "$(declare -f zeroes); zeroes /dev/mapper/dc $((300 * 65536)) 65536 &&
		zeroes /dev/mapper/dc $((301 * 65536 + 4096)) 8192"
lm_wait_state dc synced 60
dmsetup suspend dc
lm_ok "write-zeroes inside one region: legs identical" lm_same "$S" "$D" $N
dmsetup resume dc

# A discard while the copy has not reached the range, then the copy.
dmsetup remove dc
lm_fill "$S"
dd if=/dev/zero of="$M" bs=1M count=1 oflag=direct status=none
dmsetup create dc --table "0 $N livemirror $M $S $D $R 1 start_paused"
blkdiscard -o $((20 << 20)) -l $((8 << 20)) /dev/mapper/dc
dmsetup message dc 0 resume
lm_wait_state dc synced 120
lm_ok "discard before the copy: legs identical after it" lm_same "$S" "$D" $N

# Data written around a discarded range under fio verify survives, on
# both legs.
around() {
	fio --name=around --filename=/dev/mapper/dc --direct=1 --ioengine=libaio \
		--rw=randwrite --bs=4k --iodepth=4 --size=8m --offset=2m \
		--verify=crc32c --verify_state_save=0 --randrepeat=1 "$@" >/dev/null 2>&1
}
around --do_verify=0
blkdiscard -o $((12 << 20)) -l $((4 << 20)) /dev/mapper/dc
lm_wait_state dc synced 60
lm_ok "fio data beside the discarded range verifies" around --verify_only=1
lm_ok "after the fio writes and the discard: legs identical" lm_same "$S" "$D" $N
lm_eq "no destination errors" 0 "$(lm_field dc dest_errors)"

lm_exit
