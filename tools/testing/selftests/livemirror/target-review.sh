#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# livemirror: the kernel review's smaller findings at b790ef5, one check
# each, so that each fails on the module as it was and passes after:
#   M3  a PREPARED member cannot be resumed by a bare 'dmsetup resume';
#   M2  after a metadata failure, a write mirrored without a mark is
#       flushed to the destination by the next table too;
#   L1  a region count above the bitmap limit is refused with a message,
#       without a kvmalloc WARN;
#   L3  regions above 1 GiB are refused;
#   L4  a table whose resume failed copies nothing while suspended;
#   L5  a read-only table is refused and writes nothing;
#   L11 io_hints: discard granularity is the region, discards are bounded;
#   H1  (in core) a live log is shared only by a reload of the same device
#       over the same legs: a replaced or swapped destination, a second
#       device and a second target on the same metadata are refused.
. "$(dirname "$0")/lib.sh"
lm_require_guest
lm_plan 23

lm_ok "modules load" lm_load_modules
modprobe loop

W=$(mktemp -d /dev/shm/review.XXXXXX)
lm_on_exit "rm -rf $W"
mkloop() { truncate -s "$2" "$W/$1.img" && losetup -f --show "$W/$1.img"; }
loops=()
newloop() { local d; d=$(mkloop "$1" "$2") || return 1; loops+=("$d"); echo "$d"; }
lm_on_exit 'for l in "${loops[@]}"; do losetup -d $l; done'

# ---- M3: PREPARED is enforced ---------------------------------------------
lm_slice m3-m 1 && lm_slice m3-s 8 && lm_slice m3-d 8
lm_fill /dev/mapper/m3-s
dmsetup create m3 --table "0 $((8 * 2048)) livemirror /dev/mapper/m3-m /dev/mapper/m3-s /dev/mapper/m3-d 128"
lm_on_exit "dmsetup remove --retry m3"
lm_wait_state m3 synced 120
dmsetup suspend m3
G=0123456789abcdef0123456789abcdef
lm_ok "M3: prepare message accepted while suspended" \
	dmsetup message m3 0 prepare $G $G 2 1
lm_not "M3: a bare resume of a PREPARED member is refused" dmsetup resume m3
suspended() { dmsetup info -c --noheadings -o suspended m3 | grep -q Suspended; }
lm_ok "M3: the member stays suspended" suspended
# Its coordinator may already have switched the group to the destinations:
# cancelling this member alone would leave the group split.
lm_not "M3: cancel of a PREPARED member is refused" dmsetup message m3 0 cancel
lm_eq "M3: (not cancelled)" synced "$(lm_field m3 state)"
lm_ok "M3: abort_prepare, then resume works" \
	eval "dmsetup message m3 0 abort_prepare && dmsetup resume m3"

# ---- M2: the unmarked state survives a reload ------------------------------
# Legs on loop devices (blk-mq, so flushes are counted in the stat file);
# the metadata on a dm-linear that is swapped to dm-error.
S=$(newloop m2s 16M) D=$(newloop m2d 16M) MB=$(newloop m2m 1M)
flushes() { awk '{ print $16 }' "/sys/block/$(basename "$1")/stat"; }
dmsetup create m2-m --table "0 2048 linear $MB 0"
lm_on_exit "dmsetup remove --retry m2-m"
N2=$((16 * 2048))
T2="0 $N2 livemirror /dev/mapper/m2-m $S $D 128"
dmsetup create m2 --table "$T2"
lm_on_exit "dmsetup remove --retry m2"
lm_wait_state m2 synced 120
q=/sys/block/$(dmsetup info -c --noheadings -o blkdevname m2 | tr -d ' ')/queue
lm_eq "L11: discard granularity is the region (64 KiB)" 65536 "$(cat $q/discard_granularity)"
lm_ok "L11: discards are bounded to 1024 regions ($(cat $q/discard_max_bytes) bytes)" \
	test "$(cat $q/discard_max_bytes)" -le $((1024 * 65536))
sleep 4		# lazy clear: every region clean
dmsetup suspend m2-m && dmsetup load m2-m --table "0 2048 error" && dmsetup resume m2-m
# a write to a clean region: its mark fails, it is mirrored unmarked
dd if=/dev/urandom of=/dev/mapper/m2 bs=4k count=1 seek=100 oflag=direct status=none
lm_eq "M2: the log is failed after the write" failed "$(lm_field m2 state)"
f0=$(flushes "$D")
dmsetup load m2 --table "$T2" && dmsetup suspend m2 && dmsetup resume m2
f1=$(flushes "$D")
lm_ok "M2: the reload's suspend flushed the destination ($f0 -> $f1)" test "$f1" -gt "$f0"
# a guest flush through the new table must reach the destination
blockdev --flushbufs /dev/mapper/m2
python3 -c "import os; fd = os.open('/dev/mapper/m2', os.O_WRONLY); os.fsync(fd)"
f2=$(flushes "$D")
lm_ok "M2: a flush through the reloaded table reaches the destination ($f1 -> $f2)" test "$f2" -gt "$f1"

# ---- L1: region limit ---------------------------------------------------------
# 2^34 - 8 regions of 8 sectors: a bitmap of 2^31 bytes, over kvmalloc's
# INT_MAX.  It must be refused with a message (the runner fails the whole
# run on a WARN in the kernel log).
big=$(( (1 << 37) - 64 ))
dmsetup create l1-s --table "0 $big zero" && lm_on_exit "dmsetup remove --retry l1-s"
dmsetup create l1-d --table "0 $big zero" && lm_on_exit "dmsetup remove --retry l1-d"
lm_slice l1-m 1
out=$(dmsetup create l1 --table "0 $big livemirror /dev/mapper/l1-m /dev/mapper/l1-s /dev/mapper/l1-d 8" 2>&1)
rc=$?
[ $rc = 0 ] && lm_on_exit "dmsetup remove --retry l1"
lm_not "L1: 2^34 - 8 regions are refused" test $rc = 0
lm_ok "L1: the kernel says why (too many regions)" \
	eval "dmesg | tail -5 | grep -q 'too many regions'"

# ---- L3: regions above 1 GiB ------------------------------------------------
lm_slice l3-m 1 && lm_slice l3-s 4 && lm_slice l3-d 4
lm_not "L3: a region of 2^22 sectors (2 GiB) is refused" \
	dmsetup create l3 --table "0 8192 livemirror /dev/mapper/l3-m /dev/mapper/l3-s /dev/mapper/l3-d $((1 << 22))"
dmsetup remove l3 2>/dev/null

# ---- L5: a read-only table ----------------------------------------------------
lm_slice l5-m 1 && lm_slice l5-s 4 && lm_slice l5-d 4
lm_fill /dev/mapper/l5-s
before=$(lm_sum /dev/mapper/l5-m)
dmsetup create l5 --readonly --table "0 8192 livemirror /dev/mapper/l5-m /dev/mapper/l5-s /dev/mapper/l5-d 8" 2>/dev/null &&
	lm_on_exit "dmsetup remove --retry l5"
sleep 2
lm_eq "L5: a read-only table writes nothing to the metadata" "$before" "$(lm_sum /dev/mapper/l5-m)"

# ---- L4: no copy in a table whose resume failed --------------------------------
# Device l4 gets a table of two livemirror targets: A over fresh metadata,
# B over metadata whose state makes B's preresume fail, so that the device
# stays suspended: A must not copy meanwhile.  At b790ef5 B's log is shared
# with a live device l4b that cancels it after the load; a module that binds
# a live log to its device refuses that load, and B's log is then a
# PREPARED one, which a module that enforces PREPARED refuses to resume.
lm_slice l4a-m 1 && lm_slice l4a-s 16 && lm_slice l4a-d 16
lm_slice l4b-m 1 && lm_slice l4b-s 4 && lm_slice l4b-d 4
lm_fill /dev/mapper/l4a-s
B="livemirror /dev/mapper/l4b-m /dev/mapper/l4b-s /dev/mapper/l4b-d 8"
A="livemirror /dev/mapper/l4a-m /dev/mapper/l4a-s /dev/mapper/l4a-d 8"
dmsetup create l4b --table "0 8192 $B"
lm_wait_state l4b synced 60
dmsetup create l4 --notable
lm_on_exit "dmsetup remove --retry l4"
if printf '0 %d %s\n%d 8192 %s\n' $((16 * 2048)) "$A" $((16 * 2048)) "$B" | dmsetup load l4 2>/dev/null; then
	dmsetup suspend l4b && dmsetup message l4b 0 cancel
	how="cancelled by another device"
else
	dmsetup suspend l4b && dmsetup message l4b 0 prepare $G $G 2 1 && dmsetup remove l4b
	printf '0 %d %s\n%d 8192 %s\n' $((16 * 2048)) "$A" $((16 * 2048)) "$B" | dmsetup load l4
	how="prepared"
fi
dmsetup resume l4 2>/dev/null
sleep 3
zero_dest() { lm_same /dev/mapper/l4a-d <(head -c $((16 << 20)) /dev/zero) $((16 * 2048)); }
lm_ok "L4: nothing copied to A's destination while the device is suspended (B $how)" zero_dest
dmsetup resume l4b 2>/dev/null
dmsetup remove l4b 2>/dev/null
dmsetup remove l4 2>/dev/null

# ---- H1: a live log is bound to its device and legs ---------------------------
lm_slice h1-m 1 && lm_slice h1-s 8 && lm_slice h1-d 8 && lm_slice h1-d2 8
lm_fill /dev/mapper/h1-s
T="livemirror /dev/mapper/h1-m"
dmsetup create h1 --table "0 16384 $T /dev/mapper/h1-s /dev/mapper/h1-d 128"
lm_on_exit "dmsetup remove --retry h1"
lm_wait_state h1 synced 60
lm_not "H1: a reload with a replaced destination of the same size is refused" \
	dmsetup load h1 --table "0 16384 $T /dev/mapper/h1-s /dev/mapper/h1-d2 128"
lm_not "H1: a reload with swapped legs is refused" \
	dmsetup load h1 --table "0 16384 $T /dev/mapper/h1-d /dev/mapper/h1-s 128"
dmsetup clear h1
lm_not "H1: a second device on the same metadata is refused" \
	dmsetup create h1b --table "0 16384 $T /dev/mapper/h1-s /dev/mapper/h1-d2 128"
dmsetup remove h1b 2>/dev/null
lm_not "H1: two targets on one metadata in one table are refused" \
	dmsetup load h1 --table "0 16384 $T /dev/mapper/h1-s /dev/mapper/h1-d 128
16384 16384 $T /dev/mapper/h1-s /dev/mapper/h1-d 128"
dmsetup clear h1
lm_ok "H1: a reload of the same device over the same legs is accepted" \
	eval "dmsetup load h1 --table '0 16384 $T /dev/mapper/h1-s /dev/mapper/h1-d 128' && dmsetup resume h1"

lm_exit
